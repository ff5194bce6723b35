"""The audit trail (SPEC 5): append-only entries, hash-chained by a sealer in commit order.

`record()` inserts an entry in the caller's transaction, so a rollback leaves neither the
change nor its entry. The chain is sealed just after commit by `seal()`: it takes committed
entries in commit order, gives each its place in the chain (`chain_seq`), the previous hash and
its own hash. Keeping the hash off the request path means no request waits on a chain lock
(SPEC 9), and the database triggers (migrations) allow exactly one UPDATE per entry: the one
that seals it. On PostgreSQL the sealer never passes an entry whose transaction may still be
open (it seals only entries of transactions older than the oldest one still open on this
database, or of its own).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

import sqlalchemy as sa
from flask import g, has_request_context
from sqlalchemy.orm import Mapped, Session, mapped_column

from .db import Base, utcnow

GENESIS_HASH = "0" * 64
# Key of the PostgreSQL advisory lock that serialises sealers across processes.
SEALER_LOCK_KEY = 0x5EA1
# Entries sealed per round on SQLite, where the sealer holds the database's only write lock.
SQLITE_ROUND = 500


class AuditEntry(Base):
    __tablename__ = "audit_entry"
    __table_args__ = (
        sa.Index("ix_audit_entry_entity", "entity_type", "entity_id"),
        # The audit page filtered by user, newest first (migration 0009).
        sa.Index("ix_audit_entry_username_id", "username", "id"),
        sa.Index(
            "ix_audit_entry_unsealed",
            "id",
            postgresql_where=sa.text("hash IS NULL"),
            sqlite_where=sa.text("hash IS NULL"),
        ),
    )

    # `id` is the entry's sequence number in insertion order.
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    user_id: Mapped[int | None] = mapped_column(index=True)
    username: Mapped[str | None] = mapped_column(sa.String(80))
    action: Mapped[str] = mapped_column(sa.String(80), index=True)
    entity_type: Mapped[str] = mapped_column(sa.String(40))
    entity_id: Mapped[str | None] = mapped_column(sa.String(80))
    old: Mapped[str | None] = mapped_column(sa.Text)
    new: Mapped[str | None] = mapped_column(sa.Text)
    reason: Mapped[str | None] = mapped_column(sa.Text)
    request_id: Mapped[str | None] = mapped_column(sa.String(64))
    # SPEC 5: entries that would tie a bag to a lot, donor, material or arm are absent from
    # the trail blinded users read.
    blinded_visible: Mapped[bool] = mapped_column(default=True)
    # PostgreSQL transaction id of the writer, so the sealer can wait for open transactions.
    txid: Mapped[int | None] = mapped_column(sa.BigInteger)
    chain_seq: Mapped[int | None] = mapped_column(unique=True)
    prev_hash: Mapped[str | None] = mapped_column(sa.String(64))
    hash: Mapped[str | None] = mapped_column(sa.String(64))


def _json_default(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def canonical_json(value: Any) -> str:
    """One spelling for a value, so the same content always hashes the same."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default
    )


def _entity_key(entity: Any) -> tuple[str, str | None]:
    if isinstance(entity, tuple):
        kind, ident = entity
        return kind, None if ident is None else str(ident)
    ident = getattr(entity, "audit_id", None) or sa.inspect(entity).identity
    if isinstance(ident, tuple):
        ident = ident[0] if len(ident) == 1 else ":".join(map(str, ident))
    return entity.__tablename__, None if ident is None else str(ident)


def _current_actor() -> Any:
    if not has_request_context():
        return None
    from flask_login import current_user

    return current_user if current_user and current_user.is_authenticated else None


def record(
    session: Session,
    action: str,
    entity: Any,
    *,
    old: dict | None = None,
    new: dict | None = None,
    reason: str | None = None,
    actor: Any = None,
    blinded_visible: bool = True,
) -> None:
    """Append one entry in the caller's transaction. `entity` is a mapped object or (kind, id).

    Flushes first so that a new entity has its id before the entry names it.
    """
    session.flush()
    entity_type, entity_id = _entity_key(entity)
    actor = actor if actor is not None else _current_actor()
    values: dict[str, Any] = {
        "at": transaction_time(session),
        "user_id": getattr(actor, "id", None),
        "username": getattr(actor, "username", None),
        "action": action,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "old": None if old is None else canonical_json(old),
        "new": None if new is None else canonical_json(new),
        "reason": reason,
        "request_id": g.get("request_id") if has_request_context() else None,
        "blinded_visible": blinded_visible,
    }
    session.execute(_insert_statement(session.get_bind().dialect.name), values)


def transaction_time(session: Session) -> datetime:
    """The time of the transaction's first entry, for every entry of that transaction.

    One change is one moment, and it must not tell more than that: entries a blinded reader
    cannot see are written beside the ones they can (a cell bag's link to its lot), so if each
    entry took its own clock reading, the microseconds between two visible entries would count
    the hidden ones between them (SPEC 5, blinding).
    """
    transaction = session.get_transaction()
    stamp = session.info.get("audit_transaction_time")
    if stamp is None or stamp[0] is not transaction:
        stamp = (transaction, utcnow())
        session.info["audit_transaction_time"] = stamp
    return stamp[1]


@cache
def _insert_statement(dialect: str) -> sa.Insert:
    """Built once: entries are written on every change, often several per request. On
    PostgreSQL the writer's transaction id goes with the entry, for the sealer."""
    statement = sa.insert(AuditEntry.__table__)
    if dialect == "postgresql":
        statement = statement.values(txid=sa.text("pg_current_xact_id()::text::bigint"))
    return statement


_HASHED_COLUMNS = (
    "id", "chain_seq", "at", "user_id", "username", "action", "entity_type", "entity_id",
    "old", "new", "reason", "request_id", "blinded_visible",
)


# The canonical spelling of `canonical_json`, built once: verification hashes a million entries.
_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default
)
_AT = _HASHED_COLUMNS.index("at")


def _content_hash(prev_hash: str, values: tuple) -> str:
    """`values` in _HASHED_COLUMNS order, with `at` already spelled as ISO 8601 UTC."""
    content = dict(zip(_HASHED_COLUMNS, values, strict=True))
    return hashlib.sha256((prev_hash + _CANONICAL.encode(content)).encode()).hexdigest()


def iso_utc(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def entry_hash(row: Any, prev_hash: str) -> str:
    """SHA-256 of the previous hash and the entry's canonical content (SPEC 5)."""
    values = [getattr(row, name) for name in _HASHED_COLUMNS]
    values[_AT] = iso_utc(row.at)
    return _content_hash(prev_hash, tuple(values))


# The oldest transaction still open on this database, read from the statement's own snapshot.
# Transactions of sessions on other databases of the same server are left out: they cannot hold
# entries of ours, and a long one there must not stall this chain (nor fail its verification).
# A session's 32-bit backend_xid is the low half of the snapshot's 64-bit transaction id.
_OLDEST_OPEN_HERE = """(
SELECT coalesce(min(running.xid::text::bigint),
                pg_snapshot_xmax(pg_current_snapshot())::text::bigint)
FROM pg_snapshot_xip(pg_current_snapshot()) AS running(xid)
WHERE running.xid::text::bigint % 4294967296 NOT IN (
    SELECT backend_xid::text::bigint FROM pg_stat_activity
    WHERE backend_xid IS NOT NULL AND datname IS DISTINCT FROM current_database()))"""


def _sealable(session: Session) -> sa.ColumnElement[bool]:
    if session.get_bind().dialect.name != "postgresql":
        # SQLite has one writer at a time, so ids are handed out in commit order and every
        # entry this connection can see is committed or its own.
        return AuditEntry.hash.is_(None)
    return AuditEntry.hash.is_(None) & (
        (AuditEntry.txid < sa.text(_OLDEST_OPEN_HERE))
        | (AuditEntry.txid == sa.text("pg_current_xact_id_if_assigned()::text::bigint"))
    )


def seal(session: Session, *, limit: int = 5000) -> int:
    """Hash unsealed committed entries onto the chain; returns how many were sealed.

    The caller commits. Two sealers are serialised before either reads: an advisory lock on
    PostgreSQL, the database's write lock on SQLite. Without it, a sealer that read the same
    entries as another and then its new head would number them after that head, leaving a gap
    in the chain. Should an update still find an entry sealed already, `SealRaced` says so and
    the caller rolls back.
    """
    lock_chain(session)
    if session.get_bind().dialect.name != "postgresql":
        # SQLite's one write lock is everyone's: hold it for a short round only, so requests
        # that write do not wait behind the sealer (`has_unsealed` lets a caller skip idle
        # rounds without taking it).
        limit = min(limit, SQLITE_ROUND)
    rows = session.execute(
        sa.select(AuditEntry).where(_sealable(session)).order_by(AuditEntry.id).limit(limit)
    ).scalars().all()
    if not rows:
        return 0
    head = session.execute(
        sa.select(AuditEntry.chain_seq, AuditEntry.hash)
        .where(AuditEntry.chain_seq.is_not(None))
        .order_by(AuditEntry.chain_seq.desc())
        .limit(1)
    ).first()
    seq, prev = (head.chain_seq, head.hash) if head else (0, GENESIS_HASH)
    updates = []
    for row in rows:
        seq += 1
        row_hash = entry_hash(_Sealed(row, seq), prev)
        updates.append({"b_id": row.id, "chain_seq": seq, "prev_hash": prev, "hash": row_hash})
        prev = row_hash
    # Expire the loaded rows so the ORM does not try to write them back itself.
    for row in rows:
        session.expunge(row)
    table = AuditEntry.__table__
    done = session.connection().execute(
        table.update()
        .where(table.c.id == sa.bindparam("b_id"), table.c.hash.is_(None))
        .values(
            chain_seq=sa.bindparam("chain_seq"),
            prev_hash=sa.bindparam("prev_hash"),
            hash=sa.bindparam("hash"),
        ),
        updates,
    )
    if done.rowcount != len(updates):
        raise SealRaced(f"{len(updates) - done.rowcount} of {len(updates)} entries were sealed "
                        "by another sealer meanwhile")
    return len(updates)


def lock_chain(session: Session) -> None:
    """Serialise whoever extends the chain (sealers, checkpoint writers) until the caller's
    transaction ends: an advisory lock on PostgreSQL; on SQLite the database's write lock, taken
    by a write that changes nothing, so the reads after it see the latest commit."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": SEALER_LOCK_KEY})
    else:
        session.execute(sa.text("UPDATE audit_entry SET hash = hash WHERE 0"))


def has_unsealed(session: Session) -> bool:
    return session.scalar(
        sa.select(AuditEntry.id).where(AuditEntry.hash.is_(None)).limit(1)
    ) is not None


class SealRaced(Exception):
    """Another sealer sealed some of the entries read: this round's numbering is void."""


class _Sealed:
    """A row seen as it will be once sealed: its chain position is part of what is hashed."""

    def __init__(self, row: AuditEntry, chain_seq: int):
        self._row = row
        self.chain_seq = chain_seq

    def __getattr__(self, name: str) -> Any:
        return getattr(self._row, name)


def _raw_at_type(session: Session) -> sa.types.TypeEngine:
    """SQLite hands back its stored text as is; PostgreSQL an aware datetime."""
    if session.get_bind().dialect.name == "sqlite":
        return sa.String()
    return sa.DateTime(timezone=True)


def _at_speller(session: Session):
    """How a raw `at` value becomes the ISO 8601 UTC text that was hashed at sealing."""
    if session.get_bind().dialect.name != "sqlite":
        return iso_utc

    def from_sqlite_text(text: str) -> str:
        # UTCDateTime stores naive UTC as "YYYY-MM-DD HH:MM:SS.ffffff".
        if len(text) == 26:
            return text.replace(" ", "T") + "+00:00"
        return iso_utc(datetime.fromisoformat(text).replace(tzinfo=UTC))

    return from_sqlite_text


@dataclass(frozen=True)
class Verification:
    ok: bool
    entries: int
    sealed: int
    unsealed: int
    first_bad_seq: int | None
    message: str


def verify(
    session: Session,
    *,
    max_unsealed_age: timedelta = timedelta(seconds=10),
    vouched: Mapping[int, str] | None = None,
    start_at: int = 1,
    reach: int = 0,
) -> Verification:
    """Walk the chain in order and recompute every hash (SPEC 5).

    Fails on the first entry whose hash, previous hash or chain position does not match, and
    when an entry has stayed unsealed longer than `max_unsealed_age`. `vouched` maps chain
    positions to the hashes signed checkpoints hold (core.checkpoints): a chain edited and
    re-hashed from an entry onwards no longer matches them. `start_at`, a vouched position,
    starts the walk there, trusting the checkpoint for what lies before it. `reach` is the
    length a checkpoint vouches for: a chain cut back below it fails.
    """
    vouched = vouched or {}
    unsealed_count, oldest_id, oldest_at = session.execute(
        sa.select(sa.func.count(), sa.func.min(AuditEntry.id), sa.func.min(AuditEntry.at)).where(
            AuditEntry.hash.is_(None)
        )
    ).one()
    # Plain driver rows: the ORM's per-row work would cost more than the hashing itself.
    table = AuditEntry.__table__
    at_column = sa.type_coerce(table.c.at, _raw_at_type(session))
    columns = [at_column if name == "at" else table.c[name] for name in _HASHED_COLUMNS]
    if start_at > 1 and start_at not in vouched:
        raise ValueError("a walk starts only at a position a checkpoint vouches for")
    result = session.connection().execute(
        sa.select(*columns, table.c.prev_hash, table.c.hash)
        .where(table.c.chain_seq >= start_at)
        .order_by(table.c.chain_seq)
        .execution_options(yield_per=20000)
    )
    spell_at = _at_speller(session)
    id_index, seq_index = _HASHED_COLUMNS.index("id"), _HASHED_COLUMNS.index("chain_seq")
    prev, expected_seq, sealed = GENESIS_HASH, start_at, start_at - 1
    for row in result:
        *values, row_prev, row_hash = row
        problem = None
        if values[seq_index] != expected_seq:
            problem = (f"entry {values[id_index]} is at chain position {values[seq_index]}, "
                       f"expected {expected_seq}")
        elif expected_seq in vouched and row_hash != vouched[expected_seq]:
            problem = (f"entry {values[id_index]} does not carry the hash the signed "
                       f"checkpoint at position {expected_seq} holds")
        elif expected_seq == start_at > 1:
            pass  # the checkpoint vouches for this entry and everything before it
        elif row_prev != prev:
            problem = f"entry {values[id_index]} does not follow the entry before it"
        else:
            values[_AT] = spell_at(values[_AT])
            if _content_hash(prev, tuple(values)) != row_hash:
                problem = f"entry {values[id_index]} was changed after it was sealed"
        if problem:
            result.close()
            total = session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) or 0
            return Verification(False, total, sealed, unsealed_count, values[id_index], problem)
        prev, expected_seq, sealed = row_hash, expected_seq + 1, sealed + 1
    if sealed < reach:
        total = sealed + unsealed_count
        return Verification(False, total, sealed, unsealed_count, None,
                            f"the chain ends at position {sealed}, but a signed checkpoint "
                            f"vouches for {reach} entries: entries were removed")

    stray = session.scalar(
        sa.select(sa.func.min(AuditEntry.id)).where(
            AuditEntry.hash.is_not(None), AuditEntry.chain_seq.is_(None)
        )
    )
    total = sealed + unsealed_count
    if stray is not None:
        return Verification(False, total, sealed, unsealed_count, stray,
                            f"entry {stray} carries a hash but no chain position")
    if oldest_at is not None and utcnow() - oldest_at > max_unsealed_age:
        return Verification(False, total, sealed, unsealed_count, oldest_id,
                            f"entry {oldest_id} has waited too long to be sealed")
    message = f"{sealed} entries verified" + (
        f"; {unsealed_count} recent entries not sealed yet" if unsealed_count else ""
    )
    return Verification(True, total, sealed, unsealed_count, None, message)
