"""Chunked bulk inserts for synthetic data: rows are plain dicts, written with one Core
`INSERT ... executemany` per chunk of about 10,000 rows.

The writer reads each table's columns from the models, so a column added later is filled with
its scalar default or NULL, and a required column nobody fills is named at once rather than
failing deep inside the database. Ids are handed out here (so foreign keys are known before a
row is written) and PostgreSQL sequences are moved past them after every flush.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..core.db import Base

CHUNK = 10_000


def table_of(model: type[Base]) -> sa.Table:
    return model.__table__  # type: ignore[return-value]


class BulkWriter:
    """Buffers rows per table and writes them in chunks, in the order the tables were first
    used (so a row is always written after the rows it refers to)."""

    def __init__(self, session: Session, *, now: datetime,
                 on_rows: Callable[[int], None] | None = None):
        self.session = session
        self.now = now
        self.on_rows = on_rows or (lambda n: None)
        self.is_postgresql = session.get_bind().dialect.name == "postgresql"
        self._buffers: dict[str, list[dict[str, Any]]] = {}
        self._tables: dict[str, sa.Table] = {}
        self._fillers: dict[str, dict[str, Any]] = {}
        self._next_ids: dict[str, int] = {}
        self._checked: set[str] = set()
        self.written: dict[str, int] = {}

    # --- ids -------------------------------------------------------------------------------------

    def next_id(self, model: type[Base]) -> int:
        table = table_of(model)
        name = table.name
        if name not in self._next_ids:
            highest = self.session.scalar(sa.select(sa.func.max(table.c.id)))
            self._next_ids[name] = (highest or 0) + 1
        value = self._next_ids[name]
        self._next_ids[name] = value + 1
        return value

    # --- rows ------------------------------------------------------------------------------------

    def _prepare(self, table: sa.Table) -> dict[str, Any]:
        """The value each column gets when a row leaves it out; required ones are refused."""
        fillers: dict[str, Any] = {}
        for column in table.columns:
            default = column.default
            if default is not None and getattr(default, "is_scalar", False):
                fillers[column.name] = default.arg
            elif default is not None and getattr(default, "is_callable", False):
                fillers[column.name] = self.now  # the models' only callable default: utcnow
            else:
                fillers[column.name] = None
        return fillers

    def declare(self, *models: type[Base]) -> None:
        """Fix the order tables are written in: referenced tables first."""
        for model in models:
            table = table_of(model)
            if table.name not in self._tables:
                self._tables[table.name] = table
                self._fillers[table.name] = self._prepare(table)
                self._buffers[table.name] = []

    def add(self, model: type[Base], row: dict[str, Any]) -> dict[str, Any]:
        table = table_of(model)
        name = table.name
        if name not in self._checked:
            self.declare(model)
            self._checked.add(name)
            unknown = set(row) - set(self._fillers[name])
            if unknown:
                raise ValueError(f"{name} has no column {', '.join(sorted(unknown))}")
            missing = [c.name for c in table.columns
                       if not c.nullable and self._fillers[name][c.name] is None
                       and c.name not in row]
            if missing:
                raise ValueError(f"{name}: synthetic rows leave out required {missing}")
        full = dict(self._fillers[name])
        full.update(row)
        buffer = self._buffers[name]
        buffer.append(full)
        if len(buffer) >= CHUNK:
            # Every table at once, in declared order, so no row precedes what it refers to.
            self.flush(sync=False)
        return full

    def _write(self, name: str) -> None:
        rows = self._buffers[name]
        if not rows:
            return
        self.session.execute(sa.insert(self._tables[name]), rows)
        self.written[name] = self.written.get(name, 0) + len(rows)
        self.on_rows(len(rows))
        self._buffers[name] = []

    def flush(self, *, sync: bool = True) -> None:
        """Write every buffered row, upstream tables first."""
        for name in list(self._buffers):
            self._write(name)
        if sync and self.is_postgresql:
            self.sync_sequences()

    def sync_sequences(self) -> None:
        """Ids were given here: move each PostgreSQL sequence past the highest one."""
        for name, next_id in self._next_ids.items():
            self.session.execute(
                sa.text("SELECT setval(pg_get_serial_sequence(:t, 'id'), :v, false)"),
                {"t": name, "v": next_id},
            )
