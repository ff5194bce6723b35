"""Fixtures: one app per engine, the schema built by the migrations once per run into a template,
and every test in a transaction rolled back to a savepoint (the audit table refuses DELETE)."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import settings

from ucmsc_lims import PROJECT_ROOT, create_app
from ucmsc_lims.extensions import db as _db

settings.register_profile("ci", max_examples=40, deadline=None, derandomize=True)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))

PG_SERVER_URL = os.environ.get("TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
DEMO_PASSWORD = "demo-password-123"
ENGINES = [e for e in os.environ.get("TEST_ENGINES", "sqlite,postgresql").split(",") if e]

TEST_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "test-secret-key",
    "WTF_CSRF_ENABLED": False,
    "RATELIMIT_ENABLED": False,
    # Cheap Argon2 parameters in tests only; production uses RFC 9106 settings.
    "ARGON2_TIME_COST": 1,
    "ARGON2_MEMORY_COST": 64,
    "DEMO_PASSWORD": DEMO_PASSWORD,
    "SERVER_NAME": "lims.test",
    # The checkpoint key is the test's own; the checkpoint log is off unless a test names one.
    "AUDIT_CHECKPOINT_KEY": "test-checkpoint-key",
    "AUDIT_CHECKPOINT_LOG": "",
}


def migrate(app: Flask) -> None:
    cfg = Config(str(PROJECT_ROOT / "migrations" / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    with app.app_context():
        command.upgrade(cfg, "heads")


def _pg_url(name: str) -> str:
    return sa.make_url(PG_SERVER_URL).set(database=name).render_as_string(hide_password=False)


def _pg_admin(sql: str) -> None:
    engine = sa.create_engine(PG_SERVER_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(sql))
    finally:
        engine.dispose()


class DatabaseFactory:
    """Fresh databases cloned from a template migrated once in this run."""

    def __init__(self, kind: str, workdir: Path):
        self.kind = kind
        self.workdir = workdir
        self.run = uuid.uuid4().hex[:8]
        self.created: list[str] = []
        self.template_url = self._build_template()

    def _build_template(self) -> str:
        if self.kind == "sqlite":
            url = f"sqlite:///{self.workdir / 'template.sqlite3'}"
        else:
            name = f"ucmsc_tpl_{self.run}"
            _pg_admin(f'CREATE DATABASE "{name}"')
            self.created.append(name)
            url = _pg_url(name)
        app = create_app({**TEST_CONFIG, "DATABASE_URL": url})
        migrate(app)
        with app.app_context():
            _db.engine.dispose()
        return url

    def new_database(self) -> str:
        if self.kind == "sqlite":
            target = self.workdir / f"db-{uuid.uuid4().hex[:8]}.sqlite3"
            shutil.copy(self.workdir / "template.sqlite3", target)
            return f"sqlite:///{target}"
        name = f"ucmsc_test_{self.run}_{len(self.created)}"
        _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "ucmsc_tpl_{self.run}"')
        self.created.append(name)
        return _pg_url(name)

    def drop_all(self) -> None:
        if self.kind == "postgresql":
            for name in reversed(self.created):
                _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", params=ENGINES)
def database_factory(request, tmp_path_factory) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(request.param, tmp_path_factory.mktemp(request.param))
    yield factory
    factory.drop_all()


@pytest.fixture(scope="session")
def engine_kind(database_factory) -> str:
    return database_factory.kind


@pytest.fixture(scope="session")
def app(database_factory) -> Iterator[Flask]:
    app = create_app({**TEST_CONFIG, "DATABASE_URL": database_factory.new_database()})
    yield app
    with app.app_context():
        _db.engine.dispose()


@pytest.fixture
def db(app):
    """The request-scoped session, inside a transaction that the test's end rolls back.

    Code under test may commit: with `create_savepoint` a commit releases a savepoint only.
    """
    with app.app_context():
        engine = _db.engine
        connection = engine.connect()
        # On SQLite too this is a real BEGIN (core.sqlite), so savepoints nest inside it.
        outer = connection.begin()
        _db.sessionmaker.configure(bind=connection, join_transaction_mode="create_savepoint")
        try:
            yield _db
        finally:
            _db.session.close()
            _db.sessionmaker.configure(bind=engine)
            outer.rollback()
            connection.close()


@pytest.fixture
def committed_app(database_factory) -> Iterator[Flask]:
    """An app on a database of its own, for tests that need real commits (threads, locks)."""
    app = create_app({**TEST_CONFIG, "DATABASE_URL": database_factory.new_database()})
    yield app
    with app.app_context():
        _db.engine.dispose()


@pytest.fixture
def client(app, db) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def users(db) -> dict:
    """One user per demo role, as `make run` seeds them."""
    from tests.factories import make_demo_users

    return make_demo_users()


class AuthActions:
    def __init__(self, client: FlaskClient):
        self.client = client

    def login(self, username: str, password: str = DEMO_PASSWORD, ward: str = ""):
        return self.client.post(
            "/login", data={"username": username, "password": password, "ward": ward}
        )

    def logout(self):
        return self.client.post("/logout")


@pytest.fixture
def auth(client) -> AuthActions:
    return AuthActions(client)


@pytest.fixture
def login_as(client, users):
    """Sign the test client in as a demo role by its visible form."""

    def sign_in(username: str) -> FlaskClient:
        response = AuthActions(client).login(username)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return client

    return sign_in


class ApiClient:
    """A test client that sends a bearer token with every request."""

    def __init__(self, client: FlaskClient, token: str):
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def _call(self, method: str, path: str, **kwargs):
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return getattr(self.client, method)(path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs):
        return self._call("get", path, **kwargs)

    def post(self, path: str, **kwargs):
        return self._call("post", path, **kwargs)

    def delete(self, path: str, **kwargs):
        return self._call("delete", path, **kwargs)


@pytest.fixture
def api_client(client, users):
    def for_role(username: str) -> ApiClient:
        response = client.post(
            "/api/v1/auth/token", json={"username": username, "password": DEMO_PASSWORD}
        )
        assert response.status_code == 201, response.get_data(as_text=True)
        return ApiClient(client, response.get_json()["token"])

    return for_role


class QueryCounter:
    def __init__(self):
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def query_counter(db):
    """`with query_counter() as counted:` counts the SQL statements run inside the block."""

    @contextmanager
    def counting():
        counter = QueryCounter()

        def on_execute(conn, cursor, statement, *args):
            if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
                counter.statements.append(statement)

        engine = _db.engine
        sa.event.listen(engine, "before_cursor_execute", on_execute)
        try:
            yield counter
        finally:
            sa.event.remove(engine, "before_cursor_execute", on_execute)

    return counting
