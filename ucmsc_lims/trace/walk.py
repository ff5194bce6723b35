"""Loading what a trace shows, one layer at a time (SPEC 4.9).

Each layer (collections, lots, bags, patients, infusions, materials, QC results, signatures) is
read with ONE query over an IN list of the layer before it, so the number of queries depends on
the shape of the chain, never on how many bags or patients it holds.

Blinding is decided here, by what is loaded at all: a blinded walk that starts at a bag, a
patient or an infusion never loads a lot, donor or material; one that starts upstream never
loads a bag or a patient. What is not loaded cannot leak through a count or an ordering.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, lazyload

from ..bagging.models import Bag, BagSource
from ..bedside.models import Infusion
from ..core.esign import Signature
from ..custody.models import CustodyEvent
from ..donors.models import Collection, Donor
from ..extensions import db
from ..followup.models import ClinicalEvent
from ..manufacturing.models import Lot, MaterialUse
from ..materials.models import MaterialLot
from ..qc.models import QcResult
from ..trial.models import Patient

# Bags that never held a product: a label printed for a fill that did not happen.
UNFILLED = ("pending_fill", "void")
# Where a walk starts: upstream records, or the bag side.
UPSTREAM_ROOTS = frozenset({"donor", "collection", "lot", "material_lot", "qc_result"})
BAG_SIDE_ROOTS = frozenset({"bag", "patient", "infusion"})
MATERIAL_COLUMNS = ("source_material_id", "anticoagulant_material_id", "saline_material_id",
                    "container_material_id")


@dataclass
class Found:
    """The records of one trace, by kind, keyed by primary key (insertion order kept)."""

    root_kind: str
    root: Any
    blinded: bool
    donors: dict[int, Donor] = field(default_factory=dict)
    collections: dict[int, Collection] = field(default_factory=dict)
    lots: dict[int, Lot] = field(default_factory=dict)
    materials: dict[int, MaterialLot] = field(default_factory=dict)
    # (material id, lot id) and (material id, bag id) pairs: which material went where.
    material_uses: set[tuple[int, int]] = field(default_factory=set)
    bag_materials: set[tuple[int, int]] = field(default_factory=set)
    qc_results: dict[int, QcResult] = field(default_factory=dict)
    signatures: dict[int, Signature] = field(default_factory=dict)
    bags: dict[int, Bag] = field(default_factory=dict)
    sources: dict[int, BagSource] = field(default_factory=dict)  # by bag id
    patients: dict[int, Patient] = field(default_factory=dict)
    infusions: dict[int, Infusion] = field(default_factory=dict)
    adverse_events: dict[int, ClinicalEvent] = field(default_factory=dict)
    # Each bag's hand-offs and receipts, in the order they happened (SPEC 4.9: custody).
    custody_events: dict[int, CustodyEvent] = field(default_factory=dict)
    arms: dict[int, str] = field(default_factory=dict)  # patient id -> arm, unblinded only


def collect(root_kind: str, root: Any, *, blinded: bool) -> Found:
    found = Found(root_kind, root, blinded)
    if root_kind in BAG_SIDE_ROOTS:
        _bag_side(found)
        if not blinded:
            _bags_upstream(found)
            _lots_upstream(found)
            _lot_details(found)
            _arms(found)
    else:
        _upstream_start(found)
        if not blinded:
            _bags_of_lots(found)
            _patients_and_infusions(found)
            _arms(found)
    _custody(found)
    return found


def _custody(found: Found) -> None:
    """The custody events of every bag of the trace, in one query (none without bags)."""
    if not found.bags:
        return
    for event in db.session.scalars(
        sa.select(CustodyEvent).where(CustodyEvent.bag_id.in_(list(found.bags)))
        .options(lazyload(CustodyEvent.from_user), lazyload(CustodyEvent.to_user))
        .order_by(CustodyEvent.bag_id, CustodyEvent.at, CustodyEvent.id)
    ):
        found.custody_events[event.id] = event


# --- starting on the bag side --------------------------------------------------------------------


def _bag_side(found: Found) -> None:
    kind, root = found.root_kind, found.root
    if kind == "bag":
        found.bags[root.id] = root
    elif kind == "infusion":
        found.bags[root.bag.id] = root.bag
    else:
        for bag in db.session.scalars(
            sa.select(Bag).where(Bag.patient_id == root.id, Bag.status.not_in(UNFILLED))
            .order_by(Bag.bag_id)
        ):
            found.bags[bag.id] = bag
        found.patients[root.id] = root
    _patients_and_infusions(found)
    if kind == "infusion":
        # An infusion's trace follows its own bag and patient, not the patient's other doses.
        found.infusions = {root.id: root}
        found.adverse_events = {k: v for k, v in found.adverse_events.items()
                                if v.infusion_id == root.id}


def _patients_and_infusions(found: Found) -> None:
    for bag in found.bags.values():
        found.patients.setdefault(bag.patient_id, bag.patient)
    if not found.bags:
        return
    for infusion in db.session.scalars(
        sa.select(Infusion).where(Infusion.bag_id.in_(list(found.bags)))
        .options(lazyload("*"), joinedload(Infusion.verification).lazyload("*"))
        .order_by(Infusion.id)
    ):
        found.infusions[infusion.id] = infusion
    if found.infusions:
        for event in db.session.scalars(
            # An infusion's adverse events are the patient's clinical events (SPEC 4.8, 4.10).
            sa.select(ClinicalEvent).where(
                ClinicalEvent.infusion_id.in_(list(found.infusions)),
                ClinicalEvent.kind == "adverse_event", ClinicalEvent.voided_at.is_(None))
            .options(lazyload("*")).order_by(ClinicalEvent.id)
        ):
            found.adverse_events[event.id] = event


def _bags_upstream(found: Found) -> None:
    """Unblinded: what is in each bag (its batch and its material lots)."""
    if not found.bags:
        return
    for source in db.session.scalars(
        sa.select(BagSource).where(BagSource.bag_id.in_(list(found.bags)))
        .options(lazyload("*"))
    ):
        found.sources[source.bag_id] = source
    lot_ids = {s.lot_id for s in found.sources.values() if s.lot_id is not None}
    if lot_ids:
        for lot in db.session.scalars(sa.select(Lot).where(Lot.id.in_(lot_ids))):
            found.lots[lot.id] = lot
    pairs = {(getattr(s, column), s.bag_id) for s in found.sources.values()
             for column in MATERIAL_COLUMNS if getattr(s, column) is not None}
    found.bag_materials |= pairs
    _load_materials(found, {material_id for material_id, _ in pairs})


# --- starting upstream ---------------------------------------------------------------------------


def _upstream_start(found: Found) -> None:
    kind, root = found.root_kind, found.root
    if kind == "donor":
        found.donors[root.id] = root
        for collection in db.session.scalars(
            sa.select(Collection).where(Collection.donor_id == root.id).order_by(Collection.id)
        ):
            found.collections[collection.id] = collection
        _lots_of_collections(found)
    elif kind == "collection":
        found.collections[root.id] = root
        found.donors[root.donor.id] = root.donor
        _lots_of_collections(found)
    elif kind in ("lot", "qc_result"):
        lot = root if kind == "lot" else db.session.get(Lot, root.lot_id)
        found.lots[lot.id] = lot
        _batches_of(found, [lot.id])
        _lots_upstream(found)
    elif kind == "material_lot":
        found.materials[root.id] = root
        uses = db.session.execute(
            sa.select(MaterialUse.material_lot_id, MaterialUse.lot_id)
            .where(MaterialUse.material_lot_id == root.id)
        ).all()
        lot_ids = {lot_id for _, lot_id in uses}
        found.material_uses |= {(m, lot) for m, lot in uses}
        if lot_ids:
            for lot in db.session.scalars(sa.select(Lot).where(Lot.id.in_(lot_ids))):
                found.lots[lot.id] = lot
            _batches_of(found, list(lot_ids))
    _lot_details(found)


def _lots_of_collections(found: Found) -> None:
    if not found.collections:
        return
    for lot in db.session.scalars(
        sa.select(Lot).where(Lot.collection_id.in_(list(found.collections)))
        .order_by(Lot.kind, Lot.id)
    ):
        found.lots[lot.id] = lot


def _batches_of(found: Found, lot_ids: list[int]) -> None:
    """The product batches expanded from these cell banks (downstream lots)."""
    for batch in db.session.scalars(
        sa.select(Lot).where(Lot.parent_id.in_(lot_ids)).order_by(Lot.id)
    ):
        found.lots.setdefault(batch.id, batch)


def _lots_upstream(found: Found) -> None:
    """The cell bank of each batch, then the collections and donors (one query each)."""
    parent_ids = {lot.parent_id for lot in found.lots.values()
                  if lot.parent_id is not None and lot.parent_id not in found.lots}
    if parent_ids:
        for bank in db.session.scalars(sa.select(Lot).where(Lot.id.in_(parent_ids))):
            found.lots[bank.id] = bank
    for lot in found.lots.values():
        # Lot.collection and Collection.donor are loaded with the lot (joined).
        found.collections.setdefault(lot.collection.id, lot.collection)
        found.donors.setdefault(lot.collection.donor.id, lot.collection.donor)


def _lot_details(found: Found) -> None:
    """Materials used, QC results and signatures beside every lot of the trace."""
    if not found.lots:
        return
    lot_ids = list(found.lots)
    uses = db.session.execute(
        sa.select(MaterialUse.material_lot_id, MaterialUse.lot_id)
        .where(MaterialUse.lot_id.in_(lot_ids))
    ).all()
    found.material_uses |= {(m, lot) for m, lot in uses}
    _load_materials(found, {m for m, _ in uses})
    for result in db.session.scalars(
        sa.select(QcResult).where(QcResult.lot_id.in_(lot_ids), QcResult.voided_at.is_(None))
        .options(lazyload("*")).order_by(QcResult.lot_id, QcResult.id)
    ):
        found.qc_results[result.id] = result
    public_ids = [lot.lot_id for lot in found.lots.values()]
    for signature in db.session.scalars(
        sa.select(Signature).where(Signature.entity_type == "lot",
                                   Signature.entity_id.in_(public_ids))
        .order_by(Signature.signed_at, Signature.id)
    ):
        found.signatures[signature.id] = signature


def _load_materials(found: Found, ids: set[int]) -> None:
    missing = ids - set(found.materials)
    if missing:
        for material in db.session.scalars(
            sa.select(MaterialLot).where(MaterialLot.id.in_(missing)).options(lazyload("*"))
        ):
            found.materials[material.id] = material


def _bags_of_lots(found: Found) -> None:
    """Unblinded: the bags filled from the lots (or with the material lot) of the trace."""
    conditions = []
    if found.lots:
        conditions.append(BagSource.lot_id.in_(list(found.lots)))
    if found.root_kind == "material_lot":
        material_id = found.root.id
        conditions.extend(getattr(BagSource, column) == material_id
                          for column in MATERIAL_COLUMNS)
    if not conditions:
        return
    rows = db.session.execute(
        sa.select(BagSource, Bag).join(Bag, Bag.id == BagSource.bag_id)
        .where(sa.or_(*conditions), Bag.status.not_in(UNFILLED))
        .options(lazyload(BagSource.bag), lazyload(BagSource.lot),
                 lazyload(BagSource.source_material), lazyload(BagSource.anticoagulant),
                 lazyload(BagSource.saline), lazyload(BagSource.container))
        .order_by(Bag.bag_id)
    ).all()
    for source, bag in rows:
        found.sources[bag.id] = source
        found.bags[bag.id] = bag
        if found.root_kind == "material_lot":
            for column in MATERIAL_COLUMNS:
                if getattr(source, column) == found.root.id:
                    found.bag_materials.add((found.root.id, bag.id))


def _arms(found: Found) -> None:
    """Unblinded: each patient's arm, in one query."""
    from ..trial import service as trial

    found.arms = trial.arms_of(found.patients.values())
