"""Transactions are whole on both engines: a released savepoint commits nothing by itself, and
on SQLite a request that may write holds the write lock from its start (core.sqlite)."""

from __future__ import annotations

import sqlalchemy as sa

from ucmsc_lims.core import audit
from ucmsc_lims.core.audit import AuditEntry
from ucmsc_lims.core.sqlite import begin_mode
from ucmsc_lims.extensions import db


def _count(app, action: str) -> int:
    with app.app_context(), db.engine.connect() as fresh:
        return fresh.scalar(
            sa.select(sa.func.count()).select_from(AuditEntry).where(AuditEntry.action == action)
        )


def test_a_released_savepoint_is_undone_when_its_transaction_rolls_back(committed_app):
    with committed_app.app_context():
        session = db.sessionmaker()
        try:
            # The savepoint is the transaction's first statement: on pysqlite's own handling
            # it opened SQLite's transaction, and its release committed the entry.
            with session.begin_nested():
                audit.record(session, "test.savepoint", ("thing", 1))
            session.rollback()
        finally:
            session.close()

    assert _count(committed_app, "test.savepoint") == 0


def test_work_after_a_released_savepoint_commits_with_it(committed_app):
    with committed_app.app_context():
        session = db.sessionmaker()
        try:
            with session.begin_nested():
                audit.record(session, "test.savepoint", ("thing", 1))
            audit.record(session, "test.after", ("thing", 1))
            session.commit()
        finally:
            session.close()

    assert (_count(committed_app, "test.savepoint"), _count(committed_app, "test.after")) == (1, 1)


def test_reading_requests_begin_deferred_and_everything_else_immediate(app):
    with app.test_request_context("/bags", method="GET"):
        assert begin_mode() == "DEFERRED"
    with app.test_request_context("/api/v1/infusions", method="POST"):
        assert begin_mode() == "IMMEDIATE"
    with app.app_context():  # the CLI, the sealer, jobs
        assert begin_mode() == "IMMEDIATE"
