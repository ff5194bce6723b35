"""How Flask-Login finds the user: the session for pages, the bearer token for the API."""

from __future__ import annotations

from flask import session

from ..core.db import utcnow
from ..extensions import db
from .models import User

# The account's session epoch when this page session was opened (SPEC 6).
SESSION_EPOCH = "epoch"


def load_user(user_id: str) -> User | None:
    """The session's user, unless the account is inactive or locked, or its sessions were ended
    since this one was opened (sign-out, password reset, role change): then the request is
    anonymous and lands on the sign-in page, whatever cookie it carries."""
    try:
        user = db.session.get(User, int(user_id))
    except ValueError:
        return None
    if user is None or not user.active or user.is_locked(utcnow()):
        return None
    if session.get(SESSION_EPOCH) != user.session_epoch:
        return None
    return user
