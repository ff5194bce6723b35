"""Account actions: create, roles, passwords, credential checks with back-off and lock-out,
page sessions and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from functools import cache

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload

from ..core import audit
from ..core.db import utcnow
from ..core.errors import AuthenticationFailed, DomainError, NotFound, NotPermitted
from ..core.permissions import ADMIN, BLINDED_ROLES, ROLES, UNBLINDED_ROLES
from ..extensions import client_address, db
from . import throttle
from .models import ApiToken, User, UserRole
from .passwords import burn_time, check_password, hash_password

CREDENTIALS_REFUSED = (
    "Wrong username or password, or the account is locked after repeated failures."
)


def validate_role_set(roles: set[str]) -> None:
    """SPEC 2: roles never mix blinded and unblinded groups; admin is held alone."""
    unknown = roles - set(ROLES)
    if unknown:
        raise DomainError(f"Unknown role: {', '.join(sorted(unknown))}.")
    if ADMIN in roles and len(roles) > 1:
        raise DomainError("The admin role is held alone.")
    if roles & BLINDED_ROLES and roles & UNBLINDED_ROLES:
        raise DomainError(
            "An account is either blinded or unblinded: "
            f"{', '.join(sorted(roles & UNBLINDED_ROLES))} cannot be combined with "
            f"{', '.join(sorted(roles & BLINDED_ROLES))}."
        )


def validate_password(password: str) -> None:
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        raise DomainError(
            f"The password must have at least {minimum} characters.",
            field_errors={"password": [f"At least {minimum} characters."]},
        )


def get_user_by_username(username: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.username == username))


def get_user_by_staff_id(staff_id: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.staff_id == staff_id))


def list_users() -> list[User]:
    return list(db.session.scalars(sa.select(User).order_by(User.username)))


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    return user


def create_user(
    *, username: str, full_name: str, password: str, roles: set[str], by: User | None,
    home_ward: str | None = None, is_demo: bool = False, language: str = "en",
) -> User:
    username = username.strip()
    if not username:
        raise DomainError("A username is required.", field_errors={"username": ["Required."]})
    if get_user_by_username(username) is not None:
        raise DomainError(f"The username '{username}' is taken.",
                          field_errors={"username": ["Taken."]})
    validate_password(password)
    validate_role_set(roles)
    user = User(
        username=username, full_name=full_name.strip() or username,
        password_hash=hash_password(password), home_ward=home_ward, is_demo=is_demo,
        language=language,
    )
    user.roles = [UserRole(role=r, granted_by_id=getattr(by, "id", None)) for r in sorted(roles)]
    db.session.add(user)
    audit.record(db.session, "user.created", user, actor=by,
                 new={"username": username, "roles": sorted(roles), "home_ward": home_ward})
    return user


def set_roles(user: User, roles: set[str], *, by: User, reason: str | None = None) -> User:
    """Grant and revoke roles. SPEC 2: nobody can change their own roles."""
    if by.id == user.id:
        raise NotPermitted("Nobody can change their own roles.")
    validate_role_set(roles)
    old = sorted(user.role_names)
    keep = [r for r in user.roles if r.role in roles]
    added = [UserRole(role=r, granted_by_id=by.id) for r in sorted(roles - user.role_names)]
    user.roles = keep + added
    audit.record(db.session, "user.roles_changed", user, actor=by,
                 old={"roles": old}, new={"roles": sorted(roles)}, reason=reason)
    if set(old) != roles:
        end_sessions(user, by=by, cause="roles_changed")
    return user


def reset_password(user: User, new_password: str, *, by: User) -> User:
    validate_password(new_password)
    user.password_hash = hash_password(new_password)
    user.failed_logins = 0
    user.locked_until = None
    audit.record(db.session, "user.password_reset", user, actor=by)
    end_sessions(user, by=by, cause="password_reset")
    return user


LANGUAGE_NAMES = {"en": "English", "zh_Hans": "简体中文"}


def set_language(user: User, language: str) -> User:
    """SPEC 8: each user picks the language of their pages."""
    if language not in current_app.config["LANGUAGES"]:
        raise DomainError(f"Unknown language '{language}'.")
    old = user.language
    user.language = language
    audit.record(db.session, "user.language_changed", user, actor=user,
                 old={"language": old}, new={"language": language})
    return user


def set_active(user: User, active: bool, *, by: User, reason: str) -> User:
    if by.id == user.id:
        raise NotPermitted("Nobody can deactivate their own account.")
    old = user.active
    user.active = active
    audit.record(db.session, "user.activated" if active else "user.deactivated", user,
                 actor=by, old={"active": old}, new={"active": active}, reason=reason)
    if old and not active:
        end_sessions(user, by=by, cause="deactivated")
    return user


def check_credentials(username: str, password: str, *, purpose: str) -> User:
    """Authenticate, with the back-off and lock-out of auth.throttle (SPEC 6).

    A refusal commits its own bookkeeping before raising: the failure must count even though
    the action it guarded is refused. Callers therefore check credentials before they change
    anything else in the request. An address over the rate limit or backed off is refused
    (429) before any password is checked.
    """
    now = utcnow()
    username = username.strip()[:80]
    address = client_address()
    if address is not None:
        throttle.refuse_when_throttled(address, username, purpose, now)
    user = get_user_by_username(username)
    if user is None:
        burn_time(password)
        if address is not None:
            throttle.record_attempt(address, username, purpose, succeeded=False, now=now)
        audit.record(db.session, "auth.failed", ("user_account", None),
                     new={"username": username, "purpose": purpose})
        db.session.commit()
        raise AuthenticationFailed(CREDENTIALS_REFUSED)
    if not user.active or user.is_locked(now) or not check_password(user.password_hash, password):
        if address is not None:
            throttle.record_attempt(address, username, purpose, succeeded=False, now=now)
        _count_failure(user, now, purpose, address)
        db.session.commit()
        raise AuthenticationFailed(CREDENTIALS_REFUSED)
    if address is not None:
        throttle.record_attempt(address, username, purpose, succeeded=True, now=now)
    if user.failed_logins:
        user.failed_logins = 0
    return user


def _count_failure(user: User, now: datetime, purpose: str, address: str | None) -> None:
    cfg = current_app.config
    if user.is_locked(now):
        audit.record(db.session, "auth.failed", user, actor=user,
                     new={"purpose": purpose, "locked": True})
        return
    user.failed_logins += 1
    if address is None:
        # Outside a request (the CLI) there is no address to back off: failures count
        # towards the lock-out directly.
        locked = user.failed_logins >= cfg["LOCKOUT_THRESHOLD"]
    else:
        locked = throttle.account_lock_due(user.username, now)
    if locked:
        user.locked_until = now + cfg["LOCKOUT_DURATION"]
        user.failed_logins = 0
    audit.record(db.session, "auth.locked" if locked else "auth.failed", user, actor=user,
                 new={"purpose": purpose, "failed_logins": user.failed_logins, "locked": locked})
    if locked:
        # Someone may know or be guessing the password: nothing opened before stays open.
        end_sessions(user, by=user, cause="locked")


def record_sign_in(user: User, *, via: str) -> None:
    audit.record(db.session, "auth.signed_in", user, actor=user, new={"via": via})


def record_sign_out(user: User) -> None:
    """One page session ended (the idle timeout): the account's other sessions stay open."""
    audit.record(db.session, "auth.signed_out", user, actor=user)


def sign_out(user: User) -> None:
    """SPEC 6: signing out ends every page session of the account on the server, so a copy of
    the session cookie no longer opens anything. API tokens stay: a device revokes its own
    with DELETE /api/v1/auth/token."""
    _next_session_epoch(user)
    record_sign_out(user)


def end_sessions(user: User, *, by: User | None, cause: str) -> None:
    """End every page session and revoke every live API token of `user`: their password,
    roles or standing changed, so nothing opened before may act on the old ones."""
    _next_session_epoch(user)
    revoked = db.session.execute(
        sa.update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session="fetch")
    ).rowcount
    audit.record(db.session, "auth.sessions_ended", user, actor=by,
                 new={"cause": cause, "tokens_revoked": revoked})


def _next_session_epoch(user: User) -> None:
    # Counted by the database, so two sign-outs at once both end what came before them.
    user.session_epoch = User.session_epoch + 1
    db.session.flush()


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_token(user: User) -> tuple[str, ApiToken]:
    raw = secrets.token_urlsafe(32)  # 256 random bits
    token = ApiToken(
        user=user, digest=_digest(raw),
        expires_at=utcnow() + current_app.config["API_TOKEN_LIFETIME"],
    )
    db.session.add(token)
    audit.record(db.session, "auth.token_issued", token, actor=user,
                 new={"expires_at": token.expires_at})
    return raw, token


@cache
def _token_by_digest() -> sa.Select:
    """Every API request reads its token, user and roles: one statement, built once."""
    return (sa.select(ApiToken).where(ApiToken.digest == sa.bindparam("digest"))
            .options(joinedload(ApiToken.user).joinedload(User.roles)))


def token_from_header(header: str | None) -> ApiToken | None:
    """The live token named by an `Authorization: Bearer ...` header, or None."""
    if not header:
        return None
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        return None
    token = db.session.execute(_token_by_digest(), {"digest": _digest(raw.strip())}
                               ).unique().scalar_one_or_none()
    now = utcnow()
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        return None
    if not token.user.active or token.user.is_locked(now):
        return None
    return token


def revoke_token(token: ApiToken, *, by: User) -> None:
    token.revoked_at = utcnow()
    audit.record(db.session, "auth.token_revoked", token, actor=by)
