"""Valid records built through the services, so tests exercise the rules users meet."""

from __future__ import annotations

from ucmsc_lims.auth import service as accounts
from ucmsc_lims.demo.seed import DEMO_USERS
from ucmsc_lims.extensions import db

DEMO_PASSWORD = "demo-password-123"


def make_user(username: str, roles: set[str], *, password: str = DEMO_PASSWORD,
              full_name: str | None = None, home_ward: str | None = None):
    user = accounts.create_user(
        username=username, full_name=full_name or username.title(), password=password,
        roles=roles, by=None, home_ward=home_ward,
    )
    db.session.flush()
    return user


def make_demo_users() -> dict:
    users = {}
    for username, full_name, roles, ward in DEMO_USERS:
        users[username] = make_user(username, roles, full_name=full_name, home_ward=ward)
    return users
