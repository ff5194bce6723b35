"""On PostgreSQL the served app connects as a role that owns no table (core.privileges): it
works, and it cannot delete, truncate or alter the audit trail, nor lift its triggers."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from tests.conftest import DEMO_PASSWORD, TEST_CONFIG
from tests.factories import make_demo_users
from ucmsc_lims import create_app
from ucmsc_lims.core import audit
from ucmsc_lims.core.sealer import seal_pending
from ucmsc_lims.extensions import db

pytestmark = pytest.mark.committed


@pytest.fixture
def app_role(committed_app):
    """A fresh login role granted by `flask grant-app-role` on the committed app's database;
    yields its database URL."""
    with committed_app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("only PostgreSQL has roles")
        owner_url = db.engine.url
        role = f"ucmsc_app_{uuid.uuid4().hex[:8]}"
        granted = committed_app.test_cli_runner().invoke(
            args=["grant-app-role", role, "--password", "pw-of-the-app"])
    assert granted.exit_code == 0, granted.output
    yield owner_url.set(username=role, password="pw-of-the-app")
    owner = sa.create_engine(owner_url)
    try:
        with owner.begin() as conn:
            conn.exec_driver_sql(f"DROP OWNED BY {role}")
            conn.exec_driver_sql(f"DROP ROLE {role}")
    finally:
        owner.dispose()


def test_the_app_works_as_its_role_and_the_trail_is_out_of_its_reach(app_role):
    served = create_app({**TEST_CONFIG,
                         "DATABASE_URL": app_role.render_as_string(hide_password=False)})
    with served.app_context():
        audit.record(db.session, "test.as_app_role", ("thing", 1), new={"ok": True})
        db.session.commit()
        assert seal_pending(served) >= 1
        assert served.test_cli_runner().invoke(args=["audit", "checkpoint"]).exit_code == 0
        make_demo_users()
        db.session.commit()
    # Signing in prunes old attempts (auth.throttle): the one table it may delete from.
    signed_in = served.test_client().post("/login", data={"username": "qa",
                                                           "password": DEMO_PASSWORD})
    assert signed_in.status_code == 302, signed_in.get_data(as_text=True)[:300]
    with served.app_context():

        refusals = {}
        for statement in (
            "DELETE FROM audit_entry",
            "TRUNCATE audit_entry",
            "ALTER TABLE audit_entry DISABLE TRIGGER ALL",
            "DROP TRIGGER audit_entry_no_delete ON audit_entry",
            "UPDATE audit_checkpoint SET head_hash = head_hash",
            "CREATE TABLE sneaky (id integer)",
        ):
            with db.engine.connect() as conn, pytest.raises(sa.exc.DBAPIError) as refused:
                conn.exec_driver_sql(statement)
            refusals[statement] = str(refused.value.orig)
        db.engine.dispose()

    assert all("permission denied" in m or "must be owner" in m for m in refusals.values()), \
        refusals
