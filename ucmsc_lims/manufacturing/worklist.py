"""What a technician has to do today: passages, verifications, QC samples, receipts."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from ..extensions import db
from .models import Lot

GROWING = ("processing", "expanding", "thawed")


@dataclass
class Work:
    passages: list[Lot] = field(default_factory=list)
    verifications: list[tuple[Lot, str]] = field(default_factory=list)
    qc_samples: list[tuple[Lot, list[str]]] = field(default_factory=list)
    collections: list = field(default_factory=list)
    more_collections: bool = False  # more cords wait than the list shows
    materials: list = field(default_factory=list)


def due_today() -> Work:
    from ..donors.service import list_collections
    from ..materials.service import list_materials
    from ..qc import service as qc

    work = Work()
    lots = db.session.scalars(sa.select(Lot).where(
        Lot.state.in_([*GROWING, "banked", "harvested", "qc_pending", "received"]))
        .order_by(Lot.id)).all()
    statuses = qc.item_statuses_many(
        [lot for lot in lots if lot.state in {"banked", "harvested", "qc_pending"}])
    for lot in lots:
        if lot.state in GROWING or lot.state == "received":
            work.passages.append(lot)
        for p in lot.passages:
            if p.verifier_id is None:
                work.verifications.append((lot, p.label))
        if lot.state in {"banked", "harvested", "qc_pending"}:
            _, rows = statuses[lot.id]
            missing = [r.item.label for r in rows if r.result is None]
            if missing:
                work.qc_samples.append((lot, missing))
    # The cords that have waited longest come first.
    work.collections, work.more_collections = list_collections(
        status="received", oldest_first=True, limit=200)
    work.materials = list_materials(status="quarantine")
    return work
