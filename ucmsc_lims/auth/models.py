"""Accounts, their roles and their API tokens."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.db import Base, utcnow
from ..core.permissions import INSPECTOR, SEE_ARM, UNBLINDED_ROLES, permissions_for


class User(Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(80), unique=True)
    full_name: Mapped[str] = mapped_column(sa.String(200))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    # SPEC 6: page sessions carry the epoch they were opened in; bumping it ends every page
    # session of the account at once (sign-out, password reset, role change, lock-out).
    session_epoch: Mapped[int] = mapped_column(default=0, server_default="0")
    language: Mapped[str] = mapped_column(sa.String(10), default="en")
    # SPEC 8: each nurse account has a home ward (a location code).
    home_ward: Mapped[str | None] = mapped_column(sa.String(40))
    # ISBT 128 staff member id (SPEC 3) printed on the badge.
    staff_id: Mapped[str | None] = mapped_column(sa.String(20), unique=True)
    is_demo: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    roles: Mapped[list[UserRole]] = relationship(
        back_populates="user", lazy="selectin", cascade="all, delete-orphan",
        foreign_keys="UserRole.user_id",
    )

    # Flask-Login protocol.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)

    @property
    def role_names(self) -> frozenset[str]:
        return frozenset(r.role for r in self.roles)

    @property
    def permissions(self) -> frozenset[str]:
        granted = permissions_for(self.role_names)
        # SPEC 2: a QA co-signed, time-limited inspector grant is the one audited exception
        # to a blinded account (reports.inspection); checked once per request.
        if self.id and self.role_names == {INSPECTOR} and _inspection_grant_active(self.id):
            granted = granted | {SEE_ARM}
        return granted

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    @property
    def is_blinded(self) -> bool:
        """SPEC 2: blinded unless the account holds an unblinded role."""
        return not self.can(SEE_ARM)

    @property
    def is_unblinded_role(self) -> bool:
        return bool(self.role_names & UNBLINDED_ROLES)

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now


def _inspection_grant_active(user_id: int) -> bool:
    from flask import g, has_request_context

    from ..reports.inspection import active_grant_exists

    if not has_request_context():
        return active_grant_exists(user_id)
    key = (g.get("request_id"), user_id)
    cache = g.setdefault("_inspection_grants", {})
    if key not in cache:
        cache[key] = active_grant_exists(user_id)
    return cache[key]


class UserRole(Base):
    __tablename__ = "user_role"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), primary_key=True)
    role: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    granted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="roles", foreign_keys=[user_id])


class ApiToken(Base):
    """SPEC 6: a random 256-bit token, stored only as its SHA-256 digest (indexed)."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    digest: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(lazy="joined")


class SignInAttempt(Base):
    """One credential check from one client address (SPEC 6), kept only as long as the login
    rate limit and the back-off look back (auth.throttle prunes older rows).

    Not a GMP record: the audit trail keeps every failure for good."""

    __tablename__ = "sign_in_attempt"
    __table_args__ = (
        sa.Index("ix_sign_in_attempt_address_at", "address", "attempted_at"),
        sa.Index("ix_sign_in_attempt_username_at", "username", "attempted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(sa.String(64))
    username: Mapped[str] = mapped_column(sa.String(80))
    purpose: Mapped[str] = mapped_column(sa.String(60))
    succeeded: Mapped[bool]
    attempted_at: Mapped[datetime] = mapped_column(index=True)
