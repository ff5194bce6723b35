"""How Flask-Login finds the user: the session for pages, the bearer token for the API."""

from __future__ import annotations

from ..core.db import utcnow
from ..extensions import db
from .models import User


def load_user(user_id: str) -> User | None:
    try:
        user = db.session.get(User, int(user_id))
    except ValueError:
        return None
    if user is None or not user.active or user.is_locked(utcnow()):
        return None
    return user
