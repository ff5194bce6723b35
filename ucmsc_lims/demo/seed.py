"""Seed the demo study, and keep its 'today' current on every start (SPEC 8).

Each domain's `demo.py` adds its records in `seed(users)` and brings today up to date in
`refresh_today(users)`, run in domain order through the same services users call.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app

from ..auth import service as accounts
from ..auth.models import User
from ..domains import domain_modules
from ..extensions import db

DEMO_USERS = (
    # username, full name, roles, home ward
    ("technician", "Tian Wei (GMP technician)", {"technician"}, None),
    ("qa", "Qiao Li (QA)", {"qa"}, None),
    ("pharmacist", "Fang Min (pharmacist)", {"pharmacist"}, None),
    ("nurse", "Nie Hong (nurse)", {"nurse"}, "L-WARD-5A"),
    ("nurse2", "Niu Yan (nurse)", {"nurse"}, "L-WARD-5A"),
    ("investigator", "Dr. Ivy Zhang (investigator)", {"investigator"}, None),
    ("inspector", "Inez Park (inspector)", {"inspector"}, None),
    ("admin", "Adam Chen (administrator)", {"admin"}, None),
)



class DemoRefused(Exception):
    pass


def demo_users() -> dict[str, User]:
    rows = db.session.scalars(sa.select(User).where(User.is_demo.is_(True)))
    return {user.username: user for user in rows}


def seed(*, if_empty: bool = False) -> bool:
    """Seed once. Refuses a database that holds non-demo data (SPEC 7)."""
    has_real = db.session.scalar(sa.select(sa.func.count()).select_from(User).where(
        User.is_demo.is_(False)))
    if has_real:
        raise DemoRefused("This database holds non-demo accounts: the demo will not seed it.")
    if demo_users():
        if if_empty:
            return False
        raise DemoRefused("The demo study is already seeded.")
    password = current_app.config["DEMO_PASSWORD"]
    users = {}
    for username, full_name, roles, ward in DEMO_USERS:
        users[username] = accounts.create_user(
            username=username, full_name=full_name, password=password, roles=roles, by=None,
            home_ward=ward, is_demo=True,
        )
    db.session.flush()
    for demo in domain_modules("demo"):
        if hasattr(demo, "seed"):
            demo.seed(users)
            db.session.flush()
    return True


def refresh_today() -> None:
    """On a demo database, bring today's due doses up to date (no-op elsewhere)."""
    users = demo_users()
    if not users:
        return
    for demo in domain_modules("demo"):
        if hasattr(demo, "refresh_today"):
            demo.refresh_today(users)
            db.session.flush()
