"""Time-limited unblinded access for a GMP inspection (SPEC 2): granted by an admin, co-signed
by QA, audited, and over by itself at `ends_at`."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import User
from ..core.db import Base, utcnow
from ..core.esign import Signature


class InspectorGrant(Base):
    __tablename__ = "inspector_grant"
    __table_args__ = (
        sa.CheckConstraint("ends_at > starts_at", name="period"),
        sa.Index("ix_inspector_grant_inspector_period", "inspector_id", "ends_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    inspector_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    granted_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    reason: Mapped[str] = mapped_column(sa.Text)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    # QA's co-signature (meaning "inspector_grant"); the grant is not in force without it.
    cosigned_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("signature.id"))
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    revoke_reason: Mapped[str | None] = mapped_column(sa.Text)

    inspector: Mapped[User] = relationship(foreign_keys=[inspector_id], lazy="joined")
    granted_by: Mapped[User] = relationship(foreign_keys=[granted_by_id], lazy="joined")
    cosignature: Mapped[Signature | None] = relationship(lazy="joined")
    revoked_by: Mapped[User | None] = relationship(foreign_keys=[revoked_by_id])

    def state(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.cosigned_by_id is None:
            return "awaiting_cosignature" if now < self.ends_at else "lapsed"
        if now < self.starts_at:
            return "scheduled"
        if now >= self.ends_at:
            return "expired"
        return "active"
