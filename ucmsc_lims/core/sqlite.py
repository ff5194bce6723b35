"""SQLite connection settings: foreign keys on, WAL so readers do not wait for the writer."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask


def _on_connect(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def enable_sqlite_pragmas(app: Flask) -> None:
    from ..extensions import db

    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _on_connect)
