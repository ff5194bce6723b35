"""Manufacturing steps: start a bank, processing, passages and their verification, banking in
vials, starting a batch from thawed vials, harvest, and hand-over to QC (SPEC 4.2)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from ..auth.models import User
from ..core import audit
from ..core.clock import format_local
from ..core.db import utcnow
from ..core.errors import Conflict, DomainError, NotPermitted
from ..donors.models import Collection
from ..extensions import db
from ..materials import service as materials
from ..protocol import service as protocol
from ..qc import service as qc
from . import actions, growth, plausibility
from .actions import next_passage_number
from .models import CELL_BANK, PRODUCT_BATCH, Lot, MaterialUse, Passage, ProcessingStep, Vial
from .service import batches_of, is_expired, product_code, transition

# A cryopreserved bank's stability date: two years from banking until stability data extend it.
BANK_STABILITY = timedelta(days=730)
PROCESSING_METHODS = ("explant", "enzymatic")


def _require_technician(by: User) -> None:
    if not by.can("lot.record"):
        raise NotPermitted("Only a technician records manufacturing steps.")


def usable_materials(codes: Sequence[str], *, at: datetime) -> list:
    """SPEC 4.2: every material lot named, each checked usable at the time of use, before
    anything is recorded."""
    found = []
    for code in [c for c in codes if c.strip()]:
        material = materials.get_by_code(code)
        materials.check_usable(material, kind=None, at=at)
        found.append(material)
    return found


def _use_materials(lot: Lot, codes: Sequence[str], *, step: str, by: User, at: datetime,
                   passage: Passage | None = None) -> list[MaterialUse]:
    uses = []
    for material in usable_materials(codes, at=at):
        use = MaterialUse(lot_id=lot.id, material_lot_id=material.id, material=material,
                          step=step, passage_id=getattr(passage, "id", None), used_at=at,
                          used_by_id=by.id)
        db.session.add(use)
        uses.append(use)
    if uses:
        audit.record(db.session, "lot.materials_used", lot, actor=by,
                     new={"step": step, "materials": [u.material.code for u in uses]})
    return uses


def start_cell_bank(collection: Collection, *, by: User, started_at: datetime | None = None
                    ) -> Lot:
    """A cell bank lot from an accepted cord; it keeps the donation's DIN (SPEC 4.2). A lot
    entered after the fact names when it started: after the cord was received, not later than
    now."""
    _require_technician(by)
    if collection.status != "accepted":
        raise Conflict(f"Collection {collection.din} is {collection.status}: only an accepted "
                       "cord is processed.")
    lot_id = f"{collection.din}-CB"
    if db.session.scalar(sa.select(Lot.id).where(Lot.lot_id == lot_id)):
        raise Conflict(f"Collection {collection.din} already has cell bank lot {lot_id}.")
    started_at = started_at or utcnow()
    plausibility.not_in_future(started_at, _("A lot cannot start in the future."))
    if started_at < collection.received_at:
        raise DomainError(_("Lot %(lot)s cannot start before its cord was received (%(at)s).",
                            lot=lot_id, at=format_local(collection.received_at)))
    lot = Lot(lot_id=lot_id, kind=CELL_BANK, din=collection.din, collection=collection,
              product_code=product_code(CELL_BANK).text, state="received", started_by_id=by.id,
              started_at=started_at, cells_allocated=0.0)
    db.session.add(lot)
    audit.record(db.session, "lot.created", lot, actor=by,
                 new={"lot_id": lot_id, "kind": CELL_BANK, "din": collection.din,
                      "state": "received", "started_at": started_at})
    return lot


def record_processing(lot: Lot, *, method: str, by: User, materials_used: Sequence[str] = (),
                      performed_at: datetime | None = None, notes: str | None = None) -> Lot:
    """Explant or enzymatic digestion of the cord: the lot moves to `processing`."""
    _require_technician(by)
    actions.require(lot, "processing")
    if method not in PROCESSING_METHODS:
        raise DomainError("The processing method is explant or enzymatic digestion.")
    performed_at = performed_at or utcnow()
    plausibility.not_in_future(performed_at, _("Processing cannot be recorded in the future."))
    if performed_at < lot.started_at:
        raise DomainError(_("Lot %(lot)s cannot be processed before it started (%(at)s).",
                            lot=lot.lot_id, at=format_local(lot.started_at)))
    usable_materials(materials_used, at=performed_at)
    transition(lot, "processing", by=by, at=performed_at)
    db.session.add(ProcessingStep(lot_id=lot.id, method=method, performed_at=performed_at,
                                  operator_id=by.id, notes=notes))
    _use_materials(lot, materials_used, step="processing", by=by, at=performed_at)
    audit.record(db.session, "lot.processed", lot, actor=by,
                 new={"method": method, "performed_at": performed_at})
    return lot


def record_passage(lot: Lot, *, seeded_at: datetime, harvested_at: datetime, vessels: str,
                   cells_seeded: float, cells_harvested: float, viability_pct: float,
                   confluence_pct: float, incubator: str, by: User,
                   materials_used: Sequence[str] = (), number: int | None = None,
                   growth_reason: str | None = None) -> Passage:
    """Record a passage once it is plausible (SPEC 4.2): its incubator is an incubator, it
    follows the passage before, it seeds no more cells than it was given, and its doubling time
    is in the protocol's plausible range or explained by `growth_reason`. Growth no cell can
    reach is recorded as counted and opens a deviation that stops the lot."""
    _require_technician(by)
    actions.require(lot, "passage")
    expected = next_passage_number(lot)
    if number is not None and number != expected:
        raise DomainError(f"The next passage of lot {lot.lot_id} is P{expected}, not P{number}.")
    if cells_seeded <= 0 or cells_harvested <= 0:
        raise DomainError("Cells seeded and cells harvested must be positive counts.")
    for name, value in (("Viability", viability_pct), ("Confluence", confluence_pct)):
        if not 0 <= value <= 100:
            raise DomainError(f"{name} is a percentage between 0 and 100.")
    plausibility.check_passage_times(lot, expected, seeded_at, harvested_at)
    incubator = plausibility.incubator(incubator)
    plausibility.check_seeding(lot, expected, cells_seeded)
    hours = (harvested_at - seeded_at).total_seconds() / 3600
    judged = plausibility.judge_growth(expected, cells_seeded, cells_harvested, hours)
    reason = (growth_reason or "").strip() or None
    if judged.warning and reason is None:
        raise DomainError(judged.warning, field_errors={
            "growth_reason": [_("Give the reason for this doubling time.")]})
    usable_materials(materials_used, at=seeded_at)
    if lot.state in {"processing", "thawed"}:
        transition(lot, "expanding", by=by, at=seeded_at)
    passage = Passage(lot=lot, number=expected, seeded_at=seeded_at, harvested_at=harvested_at,
                      vessels=vessels, cells_seeded=cells_seeded, cells_harvested=cells_harvested,
                      viability_pct=viability_pct, confluence_pct=confluence_pct,
                      incubator=incubator, operator_id=by.id, operator=by,
                      growth_reason=reason)
    db.session.add(passage)
    db.session.flush()
    _use_materials(lot, materials_used, step=f"passage P{expected}", by=by, at=seeded_at,
                   passage=passage)
    audit.record(db.session, "lot.passage_recorded", lot, actor=by, reason=reason, new={
        "passage": expected, "cells_seeded": cells_seeded, "cells_harvested": cells_harvested,
        "viability_pct": viability_pct, "confluence_pct": confluence_pct,
        "incubator": incubator, "doubling_time_hours": judged.doubling_time_hours,
        "growth_warning": judged.warning or judged.impossible, "growth_reason": reason})
    if judged.impossible:
        qc.open_deviation(lot, title=judged.impossible, by=by, passage=passage)
    return passage


def verify_passage(passage: Passage, *, by: User) -> Passage:
    """SPEC 2: whoever verifies a step is not the one who performed it."""
    _require_technician(by)
    if passage.operator_id == by.id:
        raise NotPermitted(f"You recorded P{passage.number}: a second person verifies it.")
    if passage.verifier_id is not None:
        raise Conflict(f"P{passage.number} was already verified by "
                       f"{passage.verifier.full_name}.")
    passage.verifier_id = by.id
    passage.verifier = by
    passage.verified_at = utcnow()
    audit.record(db.session, "lot.passage_verified", passage.lot, actor=by,
                 new={"passage": passage.number})
    return passage


def vial_positions(dewar: str, box: str, count: int, first_slot: int = 1) -> list[str]:
    """`L-DEWAR-1/B03/S01` style positions for `count` vials in one box of a dewar."""
    dewar = plausibility.vial_store(dewar)
    if not 1 <= count <= 500:
        raise DomainError("A bank has between 1 and 500 vials.")
    return [f"{dewar}/{box.strip().upper()}/S{slot:02d}"
            for slot in range(first_slot, first_slot + count)]


def bank_lot(lot: Lot, *, positions: Sequence[str], cells_per_vial: float, by: User,
             materials_used: Sequence[str] = (), at: datetime | None = None) -> Lot:
    """Cryopreserve a bank at the banking passage in vials, each at its position in a dewar;
    the vials hold no more cells than the banking passage harvested (SPEC 4.2)."""
    _require_technician(by)
    actions.require(lot, "bank")
    if not positions or len(set(positions)) != len(positions):
        raise DomainError("Give one distinct freezer or dewar position for every vial.")
    for dewar in dict.fromkeys(position.split("/", 1)[0] for position in positions):
        plausibility.vial_store(dewar)
    if cells_per_vial <= 0:
        raise DomainError("Cells per vial must be a positive count.")
    at = at or utcnow()
    plausibility.check_after_last_harvest(lot, at, _("Cryopreservation"))
    plausibility.check_taken_from_last(lot, len(positions) * cells_per_vial, _(
        "bank %(vials)s vials of %(each)s cells (%(total)s)", vials=len(positions),
        each=plausibility.cells(cells_per_vial),
        total=plausibility.cells(len(positions) * cells_per_vial)))
    usable_materials(materials_used, at=at)
    transition(lot, "banked", by=by, at=at)
    lot.banked_at = at
    lot.expires_at = at + BANK_STABILITY
    for number, position in enumerate(positions, start=1):
        db.session.add(Vial(lot=lot, number=number, position=position, cells=cells_per_vial))
    _use_materials(lot, materials_used, step="cryopreservation", by=by, at=at)
    audit.record(db.session, "lot.banked", lot, actor=by, new={
        "vials": len(positions), "cells_per_vial": cells_per_vial, "expires_at": lot.expires_at})
    return lot


def start_batch(bank: Lot, *, vial_numbers: Sequence[int], by: User,
                materials_used: Sequence[str] = (), at: datetime | None = None) -> Lot:
    """SPEC 4.2: a batch starts only from vials of a released, unexpired bank; a thawed vial is
    consumed and never reused."""
    _require_technician(by)
    at = at or utcnow()
    actions.require(bank, "start_batch")
    if is_expired(bank, at):
        raise Conflict(f"Cell bank lot {bank.lot_id} is past its stability date "
                       f"({bank.expires_at:%Y-%m-%d}).")
    plausibility.not_in_future(at, _("A batch cannot be started in the future."))
    if not vial_numbers:
        raise DomainError("Choose at least one vial to thaw.")
    by_number = {v.number: v for v in bank.vials}
    chosen = []
    for number in sorted(set(vial_numbers)):
        vial = by_number.get(number)
        if vial is None:
            raise DomainError(f"Cell bank lot {bank.lot_id} has no vial {number}.")
        if vial.status != "stored":
            raise Conflict(f"Vial {vial.label} was {vial.status} on "
                           f"{vial.thawed_at:%Y-%m-%d} and cannot be reused.")
        chosen.append(vial)
    usable_materials(materials_used, at=at)
    n = len(batches_of(bank)) + 1
    batch = Lot(lot_id=f"{bank.din}-PB{n:02d}", kind=PRODUCT_BATCH, din=bank.din,
                collection_id=bank.collection_id, parent=bank, parent_id=bank.id,
                product_code=product_code(PRODUCT_BATCH, f"{chr(64 + n)}0").text,
                state="thawed", started_at=at, started_by_id=by.id, cells_allocated=0.0)
    db.session.add(batch)
    db.session.flush()
    for vial in chosen:
        vial.status = "thawed"
        vial.thawed_at = at
        vial.thawed_by_id = by.id
        vial.thawed_into_id = batch.id
    _use_materials(batch, materials_used, step="thaw", by=by, at=at)
    audit.record(db.session, "lot.created", batch, actor=by, new={
        "lot_id": batch.lot_id, "kind": PRODUCT_BATCH, "din": bank.din, "state": "thawed",
        "cell_bank": bank.lot_id, "vials": [v.label for v in chosen]})
    audit.record(db.session, "lot.vials_thawed", bank, actor=by,
                 new={"vials": [v.label for v in chosen], "into": batch.lot_id})
    return batch


def harvest_batch(lot: Lot, *, cells_harvested: float, viability_pct: float, by: User,
                  materials_used: Sequence[str] = (), at: datetime | None = None) -> Lot:
    """Harvest fresh on the day of infusion; the batch keeps for the protocol's shelf life.
    The harvest takes the last passage's cells: no more of them, and not before it."""
    _require_technician(by)
    actions.require(lot, "harvest")
    if cells_harvested <= 0 or not 0 <= viability_pct <= 100:
        raise DomainError("Give a positive cell count and a viability between 0 and 100 %.")
    at = at or utcnow()
    plausibility.check_after_last_harvest(lot, at, _("The harvest"))
    plausibility.check_taken_from_last(lot, cells_harvested, _(
        "harvest %(cells)s cells", cells=plausibility.cells(cells_harvested)))
    usable_materials(materials_used, at=at)
    transition(lot, "harvested", by=by, at=at)
    lot.harvested_at = at
    lot.cells_harvested = cells_harvested
    lot.harvest_viability_pct = viability_pct
    lot.expires_at = at + timedelta(hours=float(protocol.value("shelf_life_hours")))
    _use_materials(lot, materials_used, step="harvest", by=by, at=at)
    audit.record(db.session, "lot.harvested", lot, actor=by, new={
        "cells_harvested": cells_harvested, "viability_pct": viability_pct,
        "expires_at": lot.expires_at})
    return lot


def submit_for_qc(lot: Lot, *, by: User) -> Lot:
    actions.require(lot, "submit_qc")
    return transition(lot, "qc_pending", by=by)


def growth_of(lot: Lot) -> tuple[list[growth.GrowthRow], float]:
    """The lot's growth rows and the cumulative doublings it started from."""
    start = 0.0
    if lot.kind == PRODUCT_BATCH and lot.parent is not None:
        bank_rows, bank_start = growth_of(lot.parent)
        start = bank_rows[-1].cumulative if bank_rows else bank_start
    counts = [growth.PassageCounts(p.number, p.seeded_at, p.harvested_at, p.cells_seeded,
                                   p.cells_harvested) for p in lot.passages]
    return growth.growth_rows(counts, start), start


def growth_chart(lot: Lot) -> str:
    rows, start = growth_of(lot)
    return growth.growth_svg(growth.chart_points(rows, start),
                             f"Growth of lot {lot.lot_id}")
