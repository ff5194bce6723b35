"""The site's clock: times are stored in UTC and shown in the site's zone, named (SPEC 5)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

from .db import utcnow

DEFAULT_TIMEZONE = "Asia/Shanghai"


def site_zone() -> ZoneInfo:
    name = current_app.config.get("SITE_TIMEZONE") if has_app_context() else None
    return ZoneInfo(name or DEFAULT_TIMEZONE)


def site_now() -> datetime:
    return utcnow().astimezone(site_zone())


# The demo seeds a history (patients enrolled months ago): inside `as_of(day)`, the site's
# "today" is that day. Only demo seeding and tests use it; times stored stay the real UTC now.
_AS_OF: ContextVar[date | None] = ContextVar("site_today_as_of", default=None)


def site_today() -> date:
    return _AS_OF.get() or site_now().date()


@contextmanager
def as_of(day: date) -> Iterator[None]:
    token = _AS_OF.set(day)
    try:
        yield
    finally:
        _AS_OF.reset(token)


def local(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(site_zone())


def format_local(value: datetime | None, with_seconds: bool = False) -> str:
    """`2026-11-25 14:05 CST (Asia/Shanghai)`: the zone always named."""
    if value is None:
        return ""
    shown = local(value)
    pattern = "%Y-%m-%d %H:%M:%S" if with_seconds else "%Y-%m-%d %H:%M"
    return f"{shown.strftime(pattern)} {shown.tzname()} ({site_zone().key})"
