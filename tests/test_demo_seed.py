"""The demo study (SPEC 7, 8): one user per role, refused on a real database, seeded once."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.conftest import DEMO_PASSWORD, TEST_CONFIG
from tests.factories import make_user
from ucmsc_lims import create_app
from ucmsc_lims.auth.models import User
from ucmsc_lims.demo.seed import DEMO_USERS, DemoRefused, seed
from ucmsc_lims.extensions import db as _db

DEMO_USERNAMES = [username for username, *_ in DEMO_USERS]
FIRST_SEED: dict = {}  # engine -> the first `seed-demo --if-empty` run's result


def _usernames(session) -> list[str]:
    return sorted(session.scalars(sa.select(User.username)))


@pytest.fixture(scope="module")
def demo_app(database_factory):
    """A database seeded once, as `make run` does: `flask seed-demo --if-empty`."""
    app = create_app({**TEST_CONFIG, "DATABASE_URL": database_factory.new_database()})
    with app.app_context():  # as the `flask` command provides
        FIRST_SEED[database_factory.kind] = app.test_cli_runner().invoke(
            args=["seed-demo", "--if-empty"])
    yield app
    with app.app_context():
        _db.engine.dispose()


def test_seed_demo_if_empty_seeds_an_empty_database(demo_app, engine_kind):
    result = FIRST_SEED[engine_kind]

    assert result.exit_code == 0, result.output
    assert "Demo study seeded." in result.output
    assert f"password: {DEMO_PASSWORD}" in result.output


def test_the_demo_has_one_user_per_role(demo_app):
    with demo_app.app_context():
        users = {u.username: u for u in _db.session.scalars(sa.select(User))}
        blinded = {name for name in DEMO_USERNAMES if users[name].is_blinded}
        wards = {users["nurse"].home_ward, users["nurse2"].home_ward}

    assert set(DEMO_USERNAMES) <= set(users)  # domains may add helpers, e.g. a second verifier
    assert all(u.is_demo for u in users.values())
    assert wards == {"L-WARD-5A"}
    assert blinded == {"nurse", "nurse2", "investigator", "inspector", "admin"}


def test_each_demo_user_gets_an_api_token(demo_app):
    client = demo_app.test_client()
    answers = {
        username: client.post("/api/v1/auth/token",
                              json={"username": username, "password": DEMO_PASSWORD})
        for username in DEMO_USERNAMES
    }

    assert {u: r.status_code for u, r in answers.items()} == dict.fromkeys(DEMO_USERNAMES, 201)
    assert all(r.get_json()["token"] for r in answers.values())


def test_seed_demo_if_empty_does_not_seed_again(demo_app):
    with demo_app.app_context():
        before = _usernames(_db.session)
        again = demo_app.test_cli_runner().invoke(args=["seed-demo", "--if-empty"])
        after = _usernames(_db.session)

    assert again.exit_code == 0, again.output
    assert "Demo study seeded." not in again.output
    assert after == before


def test_the_demo_is_not_seeded_twice(demo_app):
    with demo_app.app_context(), pytest.raises(DemoRefused) as refusal:
        seed()

    assert str(refusal.value) == "The demo study is already seeded."


def test_the_demo_refuses_a_database_with_other_users(db):
    make_user("real.person", {"qa"})

    with pytest.raises(DemoRefused) as refusal:
        seed()

    assert str(refusal.value) == (
        "This database holds non-demo accounts: the demo will not seed it.")
    assert _usernames(db.session) == ["real.person"]


def test_seed_demo_refuses_a_real_database_from_the_command_line(committed_app):
    with committed_app.app_context():
        make_user("real.person", {"qa"})
        _db.session.commit()
        result = committed_app.test_cli_runner().invoke(args=["seed-demo", "--if-empty"])

    assert result.exit_code == 1
    assert "This database holds non-demo accounts: the demo will not seed it." in result.output
    with committed_app.app_context():
        assert _usernames(_db.session) == ["real.person"]
