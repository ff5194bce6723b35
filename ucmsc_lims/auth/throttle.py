"""Sign-in attempts per client address (SPEC 6): the login rate limit every worker and server
shares without Redis, the per-address back-off, and the rule for locking an account.

One table (`sign_in_attempt`) holds the recent credential checks. It serves three rules:

- the login rate limit (`LOGIN_RATE_LIMIT`, e.g. 20 a minute per address, on the login form
  and the token endpoint), counted here unless REDIS_URL is set (then Flask-Limiter counts in
  Redis);
- the back-off: `LOCKOUT_THRESHOLD` failures against one account from one address within
  `LOCKOUT_MINUTES` refuse that address for that account (429) until the oldest of them is
  `LOCKOUT_MINUTES` old. A refused attempt checks no password and counts towards nothing;
- the lock-out: the account locks for everyone only when its failures since its last success
  within `LOCKOUT_MINUTES` reach `LOCKOUT_THRESHOLD` and came from at least
  `LOCKOUT_ADDRESSES` addresses. One attacker at one address therefore backs off only
  themselves, and the nurse at the bedside still signs in.
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta
from functools import cache

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from limits import RateLimitItem, parse

from ..core.errors import DomainError
from ..extensions import db, login_limit_in_redis
from .models import SignInAttempt

# The purposes the login rate limit covers; e-signatures are guarded by the back-off only.
RATE_LIMITED_PURPOSES = frozenset({"sign_in", "api_token"})


class TooManyAttempts(DomainError):
    status = 429
    title = "Too many requests"


@cache
def _parsed_limit(text: str) -> RateLimitItem:
    return parse(text)


def refuse_when_throttled(address: str, username: str, purpose: str, now: datetime) -> None:
    """Raise TooManyAttempts before any password is checked, when the address is over the
    login rate limit or backed off for this account."""
    if purpose in RATE_LIMITED_PURPOSES and _counted_here():
        _serialise_address(address)
        limit = _parsed_limit(current_app.config["LOGIN_RATE_LIMIT"])
        window = timedelta(seconds=limit.get_expiry())
        recent = _latest(sa.and_(SignInAttempt.address == address,
                                 SignInAttempt.purpose.in_(RATE_LIMITED_PURPOSES),
                                 SignInAttempt.attempted_at > now - window), limit.amount)
        if len(recent) >= limit.amount:
            raise TooManyAttempts(_(
                "Too many sign-in attempts from your address. Try again in %(seconds)d "
                "seconds.", seconds=_seconds_until(recent[-1] + window, now)))
    cfg = current_app.config
    failures = _latest(_failures_since_success(
        SignInAttempt.address == address, username, now), cfg["LOCKOUT_THRESHOLD"])
    if len(failures) >= cfg["LOCKOUT_THRESHOLD"]:
        raise TooManyAttempts(_(
            "Too many failed sign-ins for this account from your address. Try again in "
            "%(seconds)d seconds.",
            seconds=_seconds_until(failures[-1] + cfg["LOCKOUT_DURATION"], now)))


def record_attempt(address: str, username: str, purpose: str, *, succeeded: bool,
                   now: datetime) -> None:
    """Keep one credential check, and drop the ones no rule looks back to any more."""
    session = db.session
    session.execute(sa.delete(SignInAttempt).where(SignInAttempt.attempted_at < now - _kept())
                    .execution_options(synchronize_session=False))
    session.add(SignInAttempt(address=address, username=username, purpose=purpose[:60],
                              succeeded=succeeded, attempted_at=now))
    session.flush()


def account_lock_due(username: str, now: datetime) -> bool:
    """The failure just recorded locks the account: enough failures, from enough addresses."""
    cfg = current_app.config
    count, addresses = db.session.execute(
        sa.select(sa.func.count(), sa.func.count(sa.distinct(SignInAttempt.address)))
        .where(_failures_since_success(sa.true(), username, now))
    ).one()
    return count >= cfg["LOCKOUT_THRESHOLD"] and addresses >= cfg["LOCKOUT_ADDRESSES"]


def _failures_since_success(scope, username: str, now: datetime):
    """Failures against `username` within LOCKOUT_MINUTES and after its last success, both
    within `scope` (one address, or all of them)."""
    since = now - current_app.config["LOCKOUT_DURATION"]
    last_success = (sa.select(sa.func.max(SignInAttempt.attempted_at))
                    .where(scope, SignInAttempt.username == username, SignInAttempt.succeeded)
                    .scalar_subquery())
    return sa.and_(scope, SignInAttempt.username == username, ~SignInAttempt.succeeded,
                   SignInAttempt.attempted_at > since,
                   SignInAttempt.attempted_at > sa.func.coalesce(
                       last_success, sa.literal(since, SignInAttempt.attempted_at.type)))


def _latest(condition, how_many: int) -> list[datetime]:
    """The times of the newest `how_many` attempts matching, newest first."""
    return list(db.session.scalars(
        sa.select(SignInAttempt.attempted_at).where(condition)
        .order_by(SignInAttempt.attempted_at.desc()).limit(how_many)))


def _counted_here() -> bool:
    return current_app.config.get("RATELIMIT_ENABLED", True) and not login_limit_in_redis()


def _serialise_address(address: str) -> None:
    """Two workers must not both admit the last attempt of a window. On SQLite a POST's
    transaction begins IMMEDIATE (core.sqlite), so writers already take turns; on PostgreSQL
    attempts from one address take turns on an advisory lock held until the attempt commits."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    digest = hashlib.sha256(f"sign-in:{address}".encode()).digest()
    key = int.from_bytes(digest[:8], "big", signed=True)
    db.session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def _kept() -> timedelta:
    limit = _parsed_limit(current_app.config["LOGIN_RATE_LIMIT"])
    return max(current_app.config["LOCKOUT_DURATION"], timedelta(seconds=limit.get_expiry()))


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, math.ceil((moment - now).total_seconds()))

