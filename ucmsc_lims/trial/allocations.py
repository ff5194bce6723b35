"""The stored allocation list (SPEC 4.4): generated from the secret seed or imported.

UNBLINDED ONLY: every function here either refuses a caller without `randomization.read` /
`randomization.manage` or is called by another unblinded service.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from ..auth.models import User
from ..core import audit
from ..core.errors import DomainError, NotPermitted
from ..extensions import db
from . import randomization
from .models import Allocation, AllocationList

SEED_FILE = "randomization_seed"


def _require(by: User, permission: str) -> None:
    if not by.can(permission):
        raise NotPermitted("Only the pharmacist holds the randomization list.")


def seed_fingerprint(seed: bytes) -> str:
    """What is stored about a seed: its SHA-256, which proves the seed without revealing it."""
    return hashlib.sha256(seed).hexdigest()


def secret_seed() -> bytes:
    """The study's secret seed: env `RANDOMIZATION_SEED` (hex), else a file generated once in
    the instance folder (like the secret key). Never logged, never stored in the database."""
    raw = os.environ.get("RANDOMIZATION_SEED") or current_app.config.get("RANDOMIZATION_SEED")
    if not raw:
        from ..config import _instance_secret

        raw = _instance_secret(Path(current_app.instance_path), SEED_FILE)
    try:
        seed = bytes.fromhex(raw.strip())
    except ValueError:
        raise DomainError("RANDOMIZATION_SEED must be written in hexadecimal.") from None
    if len(seed) < randomization.MIN_SEED_BYTES:
        raise DomainError(
            f"RANDOMIZATION_SEED must hold at least {randomization.MIN_SEED_BYTES} bytes "
            f"({2 * randomization.MIN_SEED_BYTES} hexadecimal digits)."
        )
    return seed


def stored_strata() -> set[str]:
    return set(db.session.scalars(sa.select(Allocation.stratum).distinct()))


def _store(
    rows: list[randomization.Allocation], *, by: User, source: str,
    fingerprint: str | None = None, block_sizes: list[int] | None = None,
    filename: str | None = None,
) -> AllocationList:
    """Add a list. A stratum already on a stored list is never replaced: nothing is deleted,
    and patients may already hold its numbers. New strata may be added."""
    strata = list(dict.fromkeys(row.stratum for row in rows))
    taken = sorted(set(strata) & stored_strata())
    if taken:
        shown = ", ".join(repr(s) if s else "(unstratified)" for s in taken)
        raise DomainError(
            f"An allocation list is already stored for stratum {shown}; a stored list is "
            "never replaced. Add only new strata."
        )
    content = randomization.export_allocation_csv(rows)
    stored = AllocationList(
        source=source, seed_fingerprint=fingerprint,
        block_sizes=",".join(map(str, block_sizes)) if block_sizes else None,
        strata=json.dumps(strata), content_sha256=hashlib.sha256(content.encode()).hexdigest(),
        filename=filename, created_by_id=by.id,
    )
    db.session.add(stored)
    db.session.flush()
    db.session.execute(sa.insert(Allocation), [
        {"list_id": stored.id, "stratum": row.stratum,
         "randomization_number": row.randomization_number, "arm": row.arm,
         "block_number": row.block_number, "block_size": row.block_size}
        for row in rows
    ])
    per_stratum = {s: sum(1 for row in rows if row.stratum == s) for s in strata}
    # No arm in the entry: it may be read by blinded auditors (SPEC 5).
    audit.record(db.session, f"allocation.{source}", stored, actor=by, new={
        "source": source, "seed_sha256": fingerprint, "block_sizes": block_sizes,
        "numbers_per_stratum": per_stratum, "content_sha256": stored.content_sha256,
        "filename": filename,
    })
    return stored


def generate_list(
    *, by: User, strata: list[str], per_stratum: int,
    block_sizes: tuple[int, ...] = randomization.DEFAULT_BLOCK_SIZES, seed: bytes | None = None,
) -> AllocationList:
    """Generate and store the list; the seed is the study's secret seed unless one is given
    (the demo gives a fixed one). Only its fingerprint is kept."""
    _require(by, "randomization.manage")
    seed = secret_seed() if seed is None else seed
    try:
        rows = randomization.generate_allocation(seed, strata, per_stratum, block_sizes)
    except ValueError as refused:
        raise DomainError(f"The list was not generated: {refused}.") from None
    return _store(rows, by=by, source="generated", fingerprint=seed_fingerprint(seed),
                  block_sizes=sorted(set(block_sizes)))


def import_list(text: str, *, by: User, filename: str | None = None) -> AllocationList:
    """Validate a statistician's CSV (every problem reported at once) and store it."""
    _require(by, "randomization.manage")
    rows = randomization.import_allocation_csv(text)
    return _store(rows, by=by, source="imported", filename=filename)


@dataclass(frozen=True)
class StratumSummary:
    stratum: str
    total: int
    assigned: int

    @property
    def remaining(self) -> int:
        return self.total - self.assigned


def summary() -> list[StratumSummary]:
    """Numbers per stratum and how many are used. No arms: safe for the enrollment page."""
    rows = db.session.execute(
        sa.select(Allocation.stratum, sa.func.count(), sa.func.count(Allocation.patient_id))
        .group_by(Allocation.stratum).order_by(Allocation.stratum)
    ).all()
    return [StratumSummary(stratum, total, assigned) for stratum, total, assigned in rows]


def lists(*, by: User) -> list[AllocationList]:
    _require(by, "randomization.read")
    return list(db.session.scalars(sa.select(AllocationList).order_by(AllocationList.id)))


def allocations(*, by: User, stratum: str | None = None) -> list[Allocation]:
    _require(by, "randomization.read")
    query = sa.select(Allocation).order_by(Allocation.stratum, Allocation.randomization_number)
    if stratum is not None:
        query = query.where(Allocation.stratum == stratum)
    return list(db.session.scalars(query))


def export_csv(*, by: User) -> str:
    rows = allocations(by=by)
    audit.record(db.session, "allocation.exported", ("allocation_list", None), actor=by,
                 blinded_visible=False, new={"rows": len(rows)})
    return randomization.export_allocation_csv(
        randomization.Allocation(r.stratum, r.randomization_number, r.arm,  # type: ignore[arg-type]
                                 r.block_number, r.block_size)
        for r in rows
    )


def next_free(stratum: str) -> Allocation:
    """The lowest unassigned number of the stratum, locked for the enrolling transaction."""
    row = db.session.scalar(
        sa.select(Allocation)
        .where(Allocation.stratum == stratum, Allocation.patient_id.is_(None))
        .order_by(Allocation.randomization_number)
        .limit(1)
        .with_for_update()
    )
    if row is not None:
        return row
    known = stratum in stored_strata()
    where = f"stratum '{stratum}'" if stratum else "the list"
    if known:
        raise DomainError(
            f"The allocation list for {where} is exhausted: every randomization number is "
            "assigned. Ask the pharmacist to store a list for a new stratum."
        )
    raise DomainError(
        f"No allocation list is stored for {where}: the pharmacist must generate or import "
        "one first.", field_errors={"stratum": ["No allocation list for this stratum."]},
    )
