"""The site's clock: times are stored in UTC and shown in the site's zone, named (SPEC 5)."""

from __future__ import annotations

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


def site_today() -> date:
    return site_now().date()


def local(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(site_zone())


def format_local(value: datetime | None, with_seconds: bool = False) -> str:
    """`2026-11-25 14:05 CST (Asia/Shanghai)`: the zone always named."""
    if value is None:
        return ""
    shown = local(value)
    pattern = "%Y-%m-%d %H:%M:%S" if with_seconds else "%Y-%m-%d %H:%M"
    return f"{shown.strftime(pattern)} {shown.tzname()} ({site_zone().key})"
