"""The main navigation: each entry shows only to users whose role grants its permission."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user


@dataclass(frozen=True)
class NavEntry:
    label: object  # a lazy string, translated when shown
    endpoint: str
    permission: str


# The foundation's entries; each domain's views module may add `NAV_ENTRIES`, shown first.
NAV: list[NavEntry] = [
    NavEntry(_l("Audit trail"), "audit.trail", "audit.read"),
    NavEntry(_l("Protocol"), "protocol.settings", "protocol.read"),
    NavEntry(_l("Users"), "auth.users", "users.manage"),
    NavEntry(_l("API"), "api_docs", "protocol.read"),
]


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str


def nav_items() -> list[NavItem]:
    if not current_user.is_authenticated:
        return []
    from .domains import domain_modules

    entries = [e for m in domain_modules("views") for e in getattr(m, "NAV_ENTRIES", ())]
    views = current_app.view_functions
    return [
        NavItem(str(entry.label), url_for(entry.endpoint))
        for entry in [*entries, *NAV]
        if entry.endpoint in views and current_user.can(entry.permission)
    ]


def has_endpoint(endpoint: str) -> bool:
    return endpoint in current_app.view_functions
