"""Fixtures of the blinding harness: the arm pair, committed, and a client per blinded role."""

from __future__ import annotations

import pytest

from tests.conftest import DEMO_PASSWORD
from tests.factories.custody import WARD

from .checks import walk
from .pair import build_pair


@pytest.fixture
def pair(db, users):
    built = build_pair(users)
    # Each step was its own request in real life; a refused request's rollback keeps them.
    db.session.commit()
    return built


@pytest.fixture
def signed_in(app, db, users):
    """`signed_in("nurse")` -> (page client, api client) for that user; made once per test."""
    made: dict[str, tuple] = {}

    def make(username: str):
        if username not in made:
            page = app.test_client()
            response = page.post("/login", data={
                "username": username, "password": DEMO_PASSWORD,
                "ward": WARD if username.startswith("nurse") else ""})
            assert response.status_code == 302, response.get_data(as_text=True)[:500]
            api = app.test_client()
            token = api.post("/api/v1/auth/token",
                             json={"username": username, "password": DEMO_PASSWORD})
            assert token.status_code == 201, token.get_data(as_text=True)
            api.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token.get_json()['token']}"
            made[username] = (page, api)
        return made[username]

    return make


@pytest.fixture
def fetched(app, pair, signed_in):
    """Every GET a blinded role can make of the pair, as each role, for each arm."""
    return walk(app, pair, signed_in)
