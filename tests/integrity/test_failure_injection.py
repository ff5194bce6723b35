"""SPEC 4.8, 5, 7: a request that fails at any of its writes leaves nothing of itself behind.

Each request below runs with a failure raised right after its k-th INSERT, UPDATE or DELETE,
for k = 1, 2, ... The answer must be a 500 and the database exactly as it was: every table's
rows (the audit trail and idempotency claims included) and every bag, lot and dose state. The
first run that ends before a k-th write went through as usual: it counted the request's writes
and shows the request still succeeds after all those failures.

The requests wait on records of their own in one committed starting state, built once per
engine and kept as a pristine copy (a file for SQLite, a template database for PostgreSQL). A
failed run that left the database as it found it is the starting state for the next k, so the
copy is restored only after a run that changed something.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.conftest import DEMO_PASSWORD, TEST_CONFIG, AuthActions, _pg_admin
from tests.factories import make_demo_users
from tests.factories.bagging import fill_materials, patient_in_arm, printed_bag
from tests.factories.custody import WARD, bag_on_ward
from tests.factories.manufacturing import make_bank, make_batch, pass_all_qc
from ucmsc_lims import create_app
from ucmsc_lims.bedside import service as bedside
from ucmsc_lims.extensions import db

WRITES = ("INSERT", "UPDATE", "DELETE")
MAX_WRITES = 200
SERVER_ERROR = "The server could not complete the request; nothing was changed."


class InjectedFailure(RuntimeError):
    """Stands for anything that breaks a request half-way: a lost connection, a full disk."""


class WriteCounter:
    """`after_cursor_execute` listener: counts the writes of one request and, when told to,
    raises right after the k-th (the statement has run, the request has not finished)."""

    def __init__(self) -> None:
        self.armed = False
        self.fail_after: int | None = None
        self.writes: list[str] = []

    def __call__(self, conn, cursor, statement: str, parameters, context, executemany) -> None:
        if not self.armed or not statement.lstrip().upper().startswith(WRITES):
            return
        self.writes.append(" ".join(statement.split())[:80])
        if len(self.writes) == self.fail_after:
            self.armed = False
            raise InjectedFailure(f"failure injected after write {self.fail_after}")


@dataclass
class Snapshot:
    """Every row of every table, and the states people read."""

    rows: dict[str, list[str]]
    states: dict[str, dict]

    def moved_since(self, before: Snapshot) -> list[str]:
        return [f"{kind} {key}: {before.states[kind].get(key)} -> {state}"
                for kind, states in self.states.items() for key, state in states.items()
                if before.states[kind].get(key) != state]

    def changes_since(self, before: Snapshot) -> list[str]:
        changed = []
        for table in sorted(before.rows.keys() | self.rows.keys()):
            old, new = before.rows.get(table, []), self.rows.get(table, [])
            if old != new:
                changed.append(f"{table} {len(old)}->{len(new)} rows"
                               f" ({len(set(new) - set(old))} new or changed)")
        return changed


@dataclass
class Bench:
    """One app on a committed database that can be put back to its starting state."""

    app: Flask
    kind: str
    restore: Callable[[], None]
    counter: WriteCounter
    refs: dict = field(default_factory=dict)
    clients: dict[str, FlaskClient] = field(default_factory=dict)
    tokens: dict[str, dict] = field(default_factory=dict)

    def snapshot(self) -> Snapshot:
        with self.app.app_context(), db.engine.connect() as conn:
            tables = sa.inspect(conn).get_table_names()
            rows = {t: sorted(repr(tuple(r)) for r in conn.execute(sa.text(f'SELECT * FROM "{t}"')))
                    for t in tables}
            states = {
                "bag": dict(conn.execute(sa.text("SELECT bag_id, status FROM bag")).all()),
                "lot": dict(conn.execute(sa.text("SELECT lot_id, state FROM lot")).all()),
                "dose": dict(conn.execute(sa.text("SELECT id, state FROM dose")).all()),
            }
        return Snapshot(rows, states)

    def run(self, request: Callable[[Bench], TestResponse],
            fail_after: int | None = None) -> tuple[TestResponse, list[str]]:
        self.counter.writes, self.counter.fail_after = [], fail_after
        self.counter.armed = True
        try:
            response = request(self)
        finally:
            self.counter.armed = False
        return response, list(self.counter.writes)


def _build_starting_state(app: Flask, bench: Bench) -> None:
    """One patient or lot waiting for each request, committed, and the callers signed in."""
    with app.app_context():
        users = make_demo_users()
        refs = bench.refs
        to_verify = bag_on_ward(users, "A")
        refs["verify"] = {"patient_code": to_verify[0].code, "bag_code": to_verify[1].code,
                          "weight_kg": 70.0}
        patient, bag = bag_on_ward(users, "B")
        refs["confirm"] = (_verified(users, patient, bag).id,
                           {"username": "nurse2", "password": DEMO_PASSWORD,
                            "patient_code": patient.code, "bag_code": bag.code})
        patient, bag = bag_on_ward(users, "A")
        verification = _verified(users, patient, bag)
        bedside.confirm(verification, username="nurse2", password=DEMO_PASSWORD,
                        patient_code=patient.code, bag_code=bag.code, by=users["nurse2"])
        refs["infuse"] = verification.id
        materials = fill_materials(users)
        batch = make_batch(users)
        label = printed_bag(users, patient_in_arm(users, "A"))
        refs["fill"] = {"label": label.code, "source": batch.lot_id,
                        "anticoagulant": materials.heparin.code, "saline": materials.saline.code,
                        "container": materials.container.code}
        lot = make_bank(users, state="qc_pending")
        pass_all_qc(lot, users)
        refs["release"] = lot.lot_id
        db.session.commit()
    token = app.test_client().post("/api/v1/auth/token",
                                   json={"username": "nurse", "password": DEMO_PASSWORD})
    bench.tokens["nurse"] = {"Authorization": f"Bearer {token.get_json()['token']}"}
    for username in ("technician", "qa"):
        client = app.test_client()
        assert AuthActions(client).login(username).status_code == 302
        bench.clients[username] = client


def _verified(users, patient, bag):
    verification = bedside.verify(
        patient_code=patient.code, bag_code=bag.code, weight_kg=70.0, by=users["nurse"],
        ward_code=WARD, identity_confirmed=True, bag_intact=True)
    db.session.flush()
    return verification


def _sqlite_copy(source: str, target: str) -> None:
    """SQLite's online backup: consistent whatever the WAL holds."""
    for suffix in ("", "-wal", "-shm"):
        Path(target + suffix).unlink(missing_ok=True)
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


@pytest.fixture(scope="module")
def bench(database_factory) -> Iterator[Bench]:
    url = database_factory.new_database()
    # A failure must reach the user as the 500 page or problem, as in production.
    app = create_app({**TEST_CONFIG, "DATABASE_URL": url, "PROPAGATE_EXCEPTIONS": False})
    counter = WriteCounter()
    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "after_cursor_execute", counter)
    database = sa.make_url(url).database
    pristine = f"{database}-pristine" if database_factory.kind == "sqlite" else f"{database}_p"

    def restore() -> None:
        engine.dispose()
        if database_factory.kind == "sqlite":
            _sqlite_copy(pristine, database)
        else:
            _pg_admin(f'DROP DATABASE "{database}" WITH (FORCE)')
            _pg_admin(f'CREATE DATABASE "{database}" TEMPLATE "{pristine}"')

    made = Bench(app=app, kind=database_factory.kind, restore=restore, counter=counter)
    _build_starting_state(app, made)
    engine.dispose()
    if database_factory.kind == "sqlite":
        _sqlite_copy(database, pristine)
    else:
        _pg_admin(f'CREATE DATABASE "{pristine}" TEMPLATE "{database}"')
        database_factory.created.append(pristine)
    yield made
    sa.event.remove(engine, "after_cursor_execute", counter)
    engine.dispose()


# --- the requests --------------------------------------------------------------------------------


def start_infusion(bench: Bench) -> TestResponse:
    return bench.app.test_client().post(
        "/api/v1/infusions", json={"verification_id": bench.refs["infuse"]},
        headers={**bench.tokens["nurse"], "Idempotency-Key": "device-3-start"})


def fill_bag(bench: Bench) -> TestResponse:
    return bench.clients["technician"].post("/bagging/fill", data=bench.refs["fill"])


def release_lot(bench: Bench) -> TestResponse:
    return bench.clients["qa"].post(f"/qc/release/{bench.refs['release']}",
                                    data={"sig-username": "qa", "sig-password": DEMO_PASSWORD})


def verify_at_bedside(bench: Bench) -> TestResponse:
    return bench.app.test_client().post(
        "/api/v1/bedside/verifications", json=bench.refs["verify"],
        headers={**bench.tokens["nurse"], "Idempotency-Key": "device-3-verify"})


def confirm_at_bedside(bench: Bench) -> TestResponse:
    verification_id, body = bench.refs["confirm"]
    return bench.app.test_client().post(
        f"/api/v1/bedside/verifications/{verification_id}/confirm", json=body,
        headers=bench.tokens["nurse"])


REQUESTS = {
    "infusion start": (start_infusion, 201),
    "fill scan": (fill_bag, 302),
    "signed QA lot release": (release_lot, 302),
    "bedside verification": (verify_at_bedside, 200),
    "second nurse's confirmation": (confirm_at_bedside, 200),
}


def _assert_server_error(response: TestResponse) -> None:
    assert response.status_code == 500, response.get_data(as_text=True)[:300]
    if response.is_json:
        assert response.get_json()["detail"] == SERVER_ERROR


@pytest.mark.parametrize("name", list(REQUESTS))
def test_a_failure_after_any_write_leaves_nothing_of_the_request(bench, name):
    request, success = REQUESTS[name]
    before = bench.snapshot()
    residue = []
    for k in range(1, MAX_WRITES + 1):
        response, writes = bench.run(request, fail_after=k)
        if len(writes) < k:
            break  # the request ended before a k-th write: it ran through, unharmed
        _assert_server_error(response)
        after = bench.snapshot()
        kept = after.changes_since(before) + after.moved_since(before)
        if kept:
            residue.append(f"failure after write {k} ({writes[k - 1]}): kept {kept}")
            bench.restore()
            before = bench.snapshot()
    assert not residue, f"{name} on {bench.kind}, {len(writes)} writes:\n" + "\n".join(residue)
    assert writes, "the request wrote nothing"
    assert response.status_code == success, response.get_data(as_text=True)[:500]
    assert bench.snapshot().changes_since(before), "the snapshot did not see the request's work"
