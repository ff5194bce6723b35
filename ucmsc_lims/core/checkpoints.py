"""Signed checkpoints of the audit chain (SPEC 5, 9): they anchor it outside the database.

A hash chain proves that no entry changed since it was sealed, as long as nobody recomputes
it: whoever can bypass the triggers could delete the newest entries, or edit one and re-hash
everything after it, and the chain would still verify. So every so often the sealer writes a
checkpoint: the chain's length and head hash, signed with an HMAC key the database does not
hold (`AUDIT_CHECKPOINT_KEY`, or one generated into `instance/`), each checkpoint signing the
one before it. A chain cut back below a checkpoint, or re-hashed through one, fails
verification. Each checkpoint is also appended to a log file on the application host
(`AUDIT_CHECKPOINT_LOG`) and printed on every audit export, so removing checkpoints from the
database is caught too.

Checkpoints also bound the cost of a routine check: `verify_trail(full=False)` trusts the last
signed checkpoint and walks only the entries after it (SPEC 9: at most 1 s whatever the
chain's length); the full walk recomputes every entry and checks every checkpoint.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Mapped, Session, mapped_column

from . import audit
from .audit import GENESIS_HASH, AuditEntry, Verification
from .db import Base, utcnow

DEFAULT_INTERVAL = timedelta(minutes=1)


class AuditCheckpoint(Base):
    """Append-only, like the trail: the migration's triggers refuse UPDATE and DELETE."""

    __tablename__ = "audit_checkpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    # The chain's length when signed, and the hash of its last entry.
    chain_seq: Mapped[int] = mapped_column(unique=True)
    head_hash: Mapped[str] = mapped_column(sa.String(64))
    prev_mac: Mapped[str] = mapped_column(sa.String(64))
    # Which key signed it (a fingerprint, never the key), so a rotated key can be told apart.
    key_id: Mapped[str] = mapped_column(sa.String(16))
    mac: Mapped[str] = mapped_column(sa.String(64), unique=True)


@dataclass(frozen=True)
class Anchor:
    """Where to find the key and the log, and how often to sign."""

    key: bytes
    log_path: Path | None
    interval: timedelta = DEFAULT_INTERVAL

    @property
    def key_id(self) -> str:
        return hashlib.sha256(self.key).hexdigest()[:16]

    @classmethod
    def of(cls, app: Flask) -> Anchor:
        """From the app's configuration (config.py generates the key into `instance/`)."""
        config = app.config
        key = config["AUDIT_CHECKPOINT_KEY"]
        log = config.get("AUDIT_CHECKPOINT_LOG")
        seconds = config.get("AUDIT_CHECKPOINT_SECONDS", DEFAULT_INTERVAL.total_seconds())
        return cls(key.encode() if isinstance(key, str) else key,
                   Path(log) if log else None, timedelta(seconds=float(seconds)))


def _signed_content(chain_seq: int, head_hash: str, at: datetime, prev_mac: str) -> bytes:
    return audit.canonical_json({"chain_seq": chain_seq, "head_hash": head_hash,
                                 "at": audit.iso_utc(at), "prev_mac": prev_mac}).encode()


def sign(key: bytes, chain_seq: int, head_hash: str, at: datetime, prev_mac: str) -> str:
    return hmac.new(key, _signed_content(chain_seq, head_hash, at, prev_mac),
                    hashlib.sha256).hexdigest()


def is_genuine(checkpoint: AuditCheckpoint, key: bytes) -> bool:
    expected = sign(key, checkpoint.chain_seq, checkpoint.head_hash, checkpoint.at,
                    checkpoint.prev_mac)
    return hmac.compare_digest(expected, checkpoint.mac)


def latest(session: Session) -> AuditCheckpoint | None:
    return session.scalar(
        sa.select(AuditCheckpoint).order_by(AuditCheckpoint.chain_seq.desc()).limit(1))


def _head(session: Session) -> tuple[int, str] | None:
    row = session.execute(
        sa.select(AuditEntry.chain_seq, AuditEntry.hash)
        .where(AuditEntry.chain_seq.is_not(None))
        .order_by(AuditEntry.chain_seq.desc()).limit(1)
    ).first()
    return (row.chain_seq, row.hash) if row else None


def _genesis(session: Session) -> str | None:
    """The hash of the chain's first entry: tells this database's chain from another's."""
    return session.scalar(sa.select(AuditEntry.hash).where(AuditEntry.chain_seq == 1))


def is_due(session: Session, anchor: Anchor) -> bool:
    """The chain moved on since the last checkpoint, and that one is older than the
    interval."""
    head = _head(session)
    last = latest(session)
    if head is None or (last is not None and last.chain_seq >= head[0]):
        return False
    return last is None or utcnow() - last.at >= anchor.interval


def write(session: Session, anchor: Anchor, *, force: bool = False) -> AuditCheckpoint | None:
    """Sign the chain's head when it moved on and the last checkpoint is older than the
    interval (or at once with `force`). The caller commits. Writers are serialised with the
    sealers, so two servers never sign the same head twice."""
    audit.lock_chain(session)
    head, last, now = _head(session), latest(session), utcnow()
    if head is None or (last is not None and last.chain_seq >= head[0]):
        return None  # nothing new to sign
    if not force and not is_due(session, anchor):
        return None
    prev_mac = last.mac if last else GENESIS_HASH
    checkpoint = AuditCheckpoint(
        at=now, chain_seq=head[0], head_hash=head[1], prev_mac=prev_mac, key_id=anchor.key_id,
        mac=sign(anchor.key, head[0], head[1], now, prev_mac))
    session.add(checkpoint)
    session.flush()
    if anchor.log_path is not None:
        _append_to_log(anchor.log_path, checkpoint, _genesis(session))
    return checkpoint


def _append_to_log(path: Path, checkpoint: AuditCheckpoint, genesis: str | None) -> None:
    """One JSON line per checkpoint, appended (a crash between this and the commit leaves a
    line the database lacks: verification then asks for the missing checkpoint, which errs on
    the safe side)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = audit.canonical_json({"genesis": genesis, "chain_seq": checkpoint.chain_seq,
                                 "head_hash": checkpoint.head_hash,
                                 "at": audit.iso_utc(checkpoint.at), "mac": checkpoint.mac})
    with path.open("a", encoding="utf-8") as log:
        log.write(line + "\n")


def _last_logged(path: Path | None, genesis: str | None) -> dict | None:
    """The newest line of the log written for this database's chain."""
    if path is None or genesis is None or not path.exists():
        return None
    found = None
    with path.open(encoding="utf-8") as log:
        for line in log:
            try:
                item = json.loads(line)
            except ValueError:
                continue
            if item.get("genesis") == genesis:
                found = item
    return found


def verify_trail(session: Session, anchor: Anchor, *, max_unsealed_age: timedelta,
                 full: bool = True) -> Verification:
    """The chain checked against its signed checkpoints: every entry and every checkpoint
    (`full`), or the entries since the last genuine checkpoint."""
    if full:
        checkpoints = list(session.scalars(
            sa.select(AuditCheckpoint).order_by(AuditCheckpoint.chain_seq)))
        prev_mac = GENESIS_HASH
    else:
        last = latest(session)
        checkpoints = [last] if last else []
        prev_mac = last.prev_mac if last else GENESIS_HASH
    for checkpoint in checkpoints:
        if not is_genuine(checkpoint, anchor.key) or checkpoint.prev_mac != prev_mac:
            return _failed(session, f"the audit checkpoint signed at {audit.iso_utc(checkpoint.at)}"
                                    " is not genuine: checkpoints were altered or removed")
        prev_mac = checkpoint.mac
    logged = _last_logged(anchor.log_path, _genesis(session))
    if logged is not None:
        kept = session.scalar(sa.select(AuditCheckpoint.id).where(
            AuditCheckpoint.chain_seq == logged["chain_seq"],
            AuditCheckpoint.mac == logged["mac"]))
        if kept is None:
            return _failed(session, f"the audit checkpoint signed at {logged['at']} is in the "
                                    "checkpoint log but not in the database: the trail was cut "
                                    "back")
        if not checkpoints or checkpoints[-1].chain_seq < logged["chain_seq"]:
            checkpoints.append(session.get(AuditCheckpoint, kept))
    vouched = {c.chain_seq: c.head_hash for c in checkpoints}
    reach = max(vouched, default=0)
    start_at = 1 if full or not checkpoints else checkpoints[-1].chain_seq
    return audit.verify(session, max_unsealed_age=max_unsealed_age, vouched=vouched,
                        start_at=start_at, reach=reach)


def _failed(session: Session, message: str) -> Verification:
    total = session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) or 0
    return Verification(False, total, 0, 0, None, message)
