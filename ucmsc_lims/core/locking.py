"""Row locks for state changes: re-read a record under lock before moving its state.

Two requests that loaded the same bag or lot must not both move it from the state they saw:
the second would silently overwrite the first (a hold over an infusion that just started).
On PostgreSQL the row is locked until commit; SQLite serialises writers on its own.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session


def lock_for_update(session: Session, record: Any) -> None:
    """Flush pending changes, lock the record's row, then reload it as committed.

    The lock is taken on the primary key alone (`FOR UPDATE` cannot reach the outer joins of
    eager loads); the reload that follows runs after the lock, so it sees the latest state.
    """
    session.flush()
    mapper = sa.inspect(record).mapper
    keys = mapper.primary_key_from_instance(record)
    session.execute(
        sa.select(*mapper.primary_key)
        .where(*(column == key for column, key in zip(mapper.primary_key, keys, strict=True)))
        .with_for_update()
    )
    session.refresh(record)
