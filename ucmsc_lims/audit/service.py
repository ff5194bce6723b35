"""Read queries over the audit trail, redacted for blinded readers (SPEC 5).

What a blinded reader may know of the trail. Entries that would tie a bag to a lot, donor,
material or arm are absent for them, and nothing they see may count those absent entries:
the entries' ids and chain positions are global sequence numbers (the gap after a cell bag's
fill would count the hidden link to its lot), so blinded readers see neither, nor hashes
(two adjacent visible entries whose hashes link would show that nothing lies between them),
nor totals of the whole trail. They see a running number of their own view, times to the
second (one time per transaction, core.audit.transaction_time), and they page by a position
made of the time of the last entry shown and its rank among the entries of that moment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from ..core import checkpoints
from ..core.audit import AuditEntry, Verification
from ..extensions import db

PAGE_SIZE = 50


@dataclass(frozen=True)
class AuditFilter:
    username: str | None = None
    entity_type: str | None = None
    entity_id: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def filtered(filters: AuditFilter, *, blinded: bool) -> sa.Select:
    """The entries a reader may see that match the filters (SPEC 5: redacted when blinded)."""
    query = sa.select(AuditEntry)
    if blinded:
        query = query.where(AuditEntry.blinded_visible.is_(True))
    if filters.username:
        query = query.where(AuditEntry.username == filters.username)
    if filters.entity_type:
        query = query.where(AuditEntry.entity_type == filters.entity_type)
    if filters.entity_id:
        query = query.where(AuditEntry.entity_id == filters.entity_id)
    if filters.action:
        query = query.where(AuditEntry.action.startswith(filters.action, autoescape=True))
    if filters.since:
        query = query.where(AuditEntry.at >= filters.since)
    if filters.until:
        query = query.where(AuditEntry.at < filters.until)
    return query


def search(
    filters: AuditFilter, *, blinded: bool, before_id: int | None = None, limit: int = PAGE_SIZE
) -> list[AuditEntry]:
    """Newest first, paged by id (keyset), so deep pages cost the same as the first."""
    query = filtered(filters, blinded=blinded)
    if before_id:
        query = query.where(AuditEntry.id < before_id)
    return list(db.session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit)))


@dataclass(frozen=True)
class Position:
    """Where a blinded reader's page ended: the time of its last entry, that entry's rank
    among the entries of the same time (newest first), and how many rows came before."""

    at: datetime
    rank: int
    rows_before: int

    def token(self) -> str:
        stamp = (self.at - EPOCH) // timedelta(microseconds=1)
        return f"{stamp}.{self.rank}.{self.rows_before}"

    @classmethod
    def parse(cls, token: str | None) -> Position | None:
        """None for anything that is not a position this page wrote: the first page."""
        parts = (token or "").split(".")
        if len(parts) != 3 or not all(p.isdigit() and len(p) <= 18 for p in parts):
            return None
        stamp, rank, rows_before = map(int, parts)
        if rank < 1:
            return None
        try:
            at = EPOCH + timedelta(microseconds=stamp)
        except OverflowError:
            return None
        return cls(at, rank, rows_before)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class BlindedPage:
    entries: list[AuditEntry]
    first_row: int
    next: Position | None


def blinded_page(filters: AuditFilter, after: Position | None = None,
                 limit: int = PAGE_SIZE) -> BlindedPage:
    """A page of the blinded trail, newest first, paged by position rather than by id."""
    query = filtered(filters, blinded=True)
    rows_before = 0
    if after is not None:
        boundary = db.session.scalar(
            query.with_only_columns(AuditEntry.id).where(AuditEntry.at == after.at)
            .order_by(AuditEntry.id.desc()).offset(after.rank - 1).limit(1))
        if boundary is not None:
            query = query.where(AuditEntry.id < boundary)
            rows_before = after.rows_before
    entries = list(db.session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit)))
    following = None
    if len(entries) == limit:
        last = entries[-1]
        rank = db.session.scalar(
            filtered(filters, blinded=True).with_only_columns(sa.func.count())
            .where(AuditEntry.at == last.at, AuditEntry.id >= last.id))
        following = Position(last.at, rank or 1, rows_before + len(entries))
    return BlindedPage(entries, rows_before + 1, following)


def to_the_second(at: datetime) -> datetime:
    """The resolution of a time a blinded reader sees."""
    return at.replace(microsecond=0)


# -- the chain check, as a reader may know it ---------------------------------------------------


@dataclass(frozen=True)
class ChainReport:
    """A verification as its reader may read it: for blinded readers no count, position or
    entry number of the whole trail, whose hidden entries they must not be able to count."""

    ok: bool
    entries: int
    sealed: int | None
    unsealed: int | None
    first_bad_seq: int | None
    message: str
    full: bool
    checkpoint: CheckpointShown | None


@dataclass(frozen=True)
class CheckpointShown:
    at: datetime
    chain_seq: int | None
    mac: str


def check_chain(anchor: checkpoints.Anchor, *, blinded: bool, full: bool,
                max_unsealed_age: timedelta) -> ChainReport:
    result = checkpoints.verify_trail(db.session, anchor, max_unsealed_age=max_unsealed_age,
                                      full=full)
    last = checkpoints.latest(db.session)
    shown = None if last is None else CheckpointShown(
        last.at, None if blinded else last.chain_seq, last.mac)
    if not blinded:
        return ChainReport(result.ok, result.entries, result.sealed, result.unsealed,
                           result.first_bad_seq, result.message, full, shown)
    readable = db.session.scalar(
        sa.select(sa.func.count()).select_from(AuditEntry)
        .where(AuditEntry.blinded_visible.is_(True))) or 0
    return ChainReport(result.ok, readable, None, None, None, _blinded_message(result), full,
                       shown)


def _blinded_message(result: Verification) -> str:
    if result.ok:
        return _("The audit chain is intact.")
    return _("The audit chain is broken. Quality assurance can locate the entry.")
