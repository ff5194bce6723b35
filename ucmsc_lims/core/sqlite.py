"""SQLite connections: real transactions, foreign keys on, WAL, and every commit synced to disk.

Transactions. Python's sqlite3 driver, left to itself, opens a transaction only before an
INSERT, UPDATE or DELETE and never before a SAVEPOINT: a savepoint taken first in a request
then opens SQLite's own transaction, and releasing it commits, whatever the request does
next. A request that failed after it could leave half a change on disk (an infusion row with
no audit entry). So the driver is told to stay out of the way (`isolation_level = None`) and
every transaction SQLAlchemy begins starts with an explicit BEGIN: a savepoint is then always
nested in a transaction that commits or rolls back whole. This is SQLAlchemy's documented
pysqlite recipe ("Serializable isolation / Savepoints / Transactional DDL").

Which BEGIN. A deferred transaction that read first and writes later cannot take the write
lock once another connection has committed since its read (SQLITE_BUSY_SNAPSHOT, answered at
once, no waiting): two workers would refuse each other's writes. A transaction that may write
therefore begins IMMEDIATE, taking the write lock at its start and waiting for it (the busy
timeout); one that only reads begins DEFERRED and never blocks a writer (WAL). A request with
a safe method (GET, HEAD, OPTIONS) reads; anything else, and all work outside a request (CLI,
sealer, jobs), may write. `read_only` marks a transaction outside a request that only reads.

Durability. `synchronous=FULL`: a signed record the user was told is saved must survive a
power cut, not only a crash of the server process (ALCOA+: enduring). It costs about 0.1 ms
a commit here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import sqlalchemy as sa
from flask import Flask, has_request_context, request

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_reading_only: ContextVar[bool] = ContextVar("sqlite_reading_only", default=False)


def apply_pragmas(dbapi_connection, _record=None) -> None:
    # SQLAlchemy begins and ends every transaction itself (see begin_transaction).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


def begin_mode() -> str:
    """IMMEDIATE for a transaction that may write, DEFERRED for one that only reads."""
    if _reading_only.get():
        return "DEFERRED"
    if has_request_context() and request.method in SAFE_METHODS:
        return "DEFERRED"
    return "IMMEDIATE"


def begin_transaction(connection: sa.Connection) -> None:
    connection.exec_driver_sql(f"BEGIN {begin_mode()}")


@contextmanager
def read_only() -> Iterator[None]:
    """Transactions begun inside this block only read: they take no write lock."""
    token = _reading_only.set(True)
    try:
        yield
    finally:
        _reading_only.reset(token)


def configure_engine(engine: sa.Engine) -> None:
    """Give an SQLite engine the product's connection settings; other engines are left as
    they are."""
    if engine.dialect.name != "sqlite":
        return
    sa.event.listen(engine, "connect", apply_pragmas)
    sa.event.listen(engine, "begin", begin_transaction)


def enable_sqlite_pragmas(app: Flask) -> None:
    from ..extensions import db

    with app.app_context():
        configure_engine(db.engine)
