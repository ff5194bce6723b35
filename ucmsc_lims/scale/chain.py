"""Audit entries for synthetic records, written already sealed (SPEC 5).

The triggers allow any INSERT; only UPDATEs are limited to the one that seals. So each entry
is hashed here, in Python, with the same `core.audit.entry_hash` the sealer and `verify` use,
continuing the chain from its sealed head, and inserted with its hash, previous hash and chain
position. Everything committed before is sealed first, so the chain stays one line.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..core import audit
from ..core.audit import GENESIS_HASH, AuditEntry, canonical_json, entry_hash
from ..extensions import db
from .bulk import BulkWriter
from .reference import Actor


class _Row:
    """The attributes `entry_hash` reads, as the database will return them."""

    __slots__ = (
        "action",
        "at",
        "blinded_visible",
        "chain_seq",
        "entity_id",
        "entity_type",
        "id",
        "new",
        "old",
        "reason",
        "request_id",
        "user_id",
        "username",
    )

    def __init__(self, values: dict[str, Any]):
        for name in self.__slots__:
            setattr(self, name, values[name])


def seal_everything() -> None:
    """Seal what earlier work left unsealed, so synthetic entries follow the sealed head."""
    while audit.seal(db.session):
        db.session.flush()
    unsealed = db.session.scalar(
        sa.select(sa.func.count()).select_from(AuditEntry).where(AuditEntry.hash.is_(None)))
    if unsealed:
        raise RuntimeError(
            f"{unsealed} audit entries cannot be sealed yet (a transaction is still open): "
            "stop the application before seeding at scale.")


class Chain:
    """Hands out ids and chain positions and hashes each entry onto the chain."""

    def __init__(self, writer: BulkWriter):
        self.writer = writer
        head = db.session.execute(
            sa.select(AuditEntry.chain_seq, AuditEntry.hash)
            .where(AuditEntry.chain_seq.is_not(None))
            .order_by(AuditEntry.chain_seq.desc()).limit(1)
        ).first()
        self.seq, self.prev = (head.chain_seq, head.hash) if head else (0, GENESIS_HASH)
        self.count = 0

    def record(self, action: str, entity: tuple[str, str], *, at: datetime, actor: Actor,
               old: dict | None = None, new: dict | None = None,
               blinded_visible: bool = True) -> None:
        self.seq += 1
        values = {
            "id": self.writer.next_id(AuditEntry), "chain_seq": self.seq, "at": at,
            "user_id": actor.id, "username": actor.username, "action": action,
            "entity_type": entity[0], "entity_id": entity[1],
            "old": None if old is None else canonical_json(old),
            "new": None if new is None else canonical_json(new),
            "reason": None, "request_id": None, "blinded_visible": blinded_visible,
        }
        digest = entry_hash(_Row(values), self.prev)
        values["prev_hash"], values["hash"] = self.prev, digest
        self.prev = digest
        self.count += 1
        self.writer.add(AuditEntry, values)
