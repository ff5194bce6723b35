"""Fill sessions (SPEC 4.5): prepare the day's bags, fill them by scans, verify and release.

Both arms go through the same functions, steps, signatures and audit entries; the facts that
tell them apart (arm, lot, cells, materials) go to `bag_source` and to audit entries blinded
readers never see.

One expiry (SPEC 4.5, 4.6, 4.8). The label is printed before the fill, so it cannot wait for
the fill time: a label prints its print time plus the shelf life, to the whole minute, and the
fill binds that label to the bag. The bag's enforced expiry is the earlier of (fill time + shelf
life) and the expiry printed on its label, which is in practice the label's own: a label
printed long before the fill makes the bag expire earlier than the shelf life allows, never
later, and the expiry a person reads on the bag is the moment the bedside refuses it from. A
fill is refused when the label's expiry has passed, or when the shelf life was shortened since
the label was printed (it would promise more than the protocol allows): the technician
reprints the label (a reprint of a label not yet applied gets a fresh expiry) and scans the new
one. A reprint after the fill prints the bag's expiry unchanged. The rule, its refusals and
their words are the same for both arms.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import lazyload

from ..auth.models import User
from ..core import audit, esign
from ..core.clock import format_local, site_today, site_zone
from ..core.db import utcnow
from ..core.errors import DomainError, NotFound, NotPermitted
from ..core.ids import ScanError, bag_code, new_bag_id, parse_scan
from ..extensions import db
from ..manufacturing import service as manufacturing
from ..manufacturing.models import PRODUCT_BATCH, Lot
from ..materials import service as materials
from ..materials.models import MaterialLot
from ..protocol import service as protocol
from ..trial import service as trial
from ..trial.models import Dose
from .models import INACTIVE_STATES, Bag, BagLabelIssue, BagSource, FillSession
from .service import bag_by_code, check_transition, source_of, transition_bag
from .states import FILLED, PENDING_FILL, RELEASED, VOID

DEFAULT_ROOM = "GMP-FILL-1"
HEPARIN_REFUSED = (
    "This patient has a heparin contraindication: scan an anticoagulant lot without heparin "
    "(ACD-A)."
)


def _require(by: User, permission: str, message: str) -> None:
    if not by.can(permission):
        raise NotPermitted(message)


# --- sessions and the day's work list ---------------------------------------------------------


def open_session(*, by: User, room: str = DEFAULT_ROOM, day: date | None = None) -> FillSession:
    """Today's fill session in `room`, started now if it was not yet."""
    _require(by, "bag.fill", "Only a technician starts a fill session.")
    day = day or site_today()
    room = (room or DEFAULT_ROOM).strip().upper()
    session = db.session.scalar(
        sa.select(FillSession).where(FillSession.day == day, FillSession.room == room))
    if session is not None:
        return session
    session = FillSession(day=day, room=room, started_by_id=by.id)
    db.session.add(session)
    audit.record(db.session, "fill_session.started", session, actor=by,
                 new={"day": day, "room": room})
    return session


def get_session(session_id: int) -> FillSession:
    session = db.session.get(FillSession, session_id)
    if session is None:
        raise NotFound("No such fill session.")
    return session


def sessions_on(day: date) -> list[FillSession]:
    return list(db.session.scalars(
        sa.select(FillSession).where(FillSession.day == day).order_by(FillSession.room)))


@dataclass(frozen=True)
class WorkItem:
    dose: Dose
    bag: Bag | None

    @property
    def subject_id(self) -> str:
        return self.dose.patient.subject_id


def active_bags_for(dose_ids: list[int]) -> dict[int, Bag]:
    """The live bag of each dose. The doses and their patients are in the session already
    (the worklist read them), so the bags are read without joining them again."""
    if not dose_ids:
        return {}
    bags = db.session.scalars(sa.select(Bag).where(
        Bag.dose_id.in_(dose_ids), Bag.status.not_in(INACTIVE_STATES))
        .options(lazyload(Bag.patient), lazyload(Bag.dose)))
    return {bag.dose_id: bag for bag in bags}


def worklist(day: date) -> list[WorkItem]:
    """The day's due doses of both arms with their bags, by subject id (an order that carries
    no arm)."""
    doses = [d for d in trial.doses_due_on(day) if d.state != "scheduled"]
    bags = active_bags_for([d.id for d in doses])
    return [WorkItem(d, bags.get(d.id)) for d in doses]


def _check_dose_fillable(dose: Dose, day: date) -> None:
    patient = dose.patient
    label = f"Dose {dose.dose_number} of patient {patient.subject_id}"
    if patient.status != "active":
        raise DomainError(f"Patient {patient.subject_id} is {patient.status}: no bag is made.")
    if dose.due_on != day:
        raise DomainError(f"{label} is due on {dose.due_on.isoformat()}, not today "
                          f"({day.isoformat()}).")
    if dose.state != "cleared":
        raise DomainError(f"{label} is {dose.state.replace('_', ' ')}: a bag is made only for a "
                          "dose the investigator cleared.")


def create_bag(dose: Dose, *, session: FillSession, by: User) -> Bag:
    """SPEC 4.5: one bag per due, cleared dose; its label (issue 1) is printed before filling."""
    _require(by, "bag.fill", "Only a technician prepares bags.")
    _check_dose_fillable(dose, session.day)
    if active_bags_for([dose.id]):
        raise DomainError(f"Dose {dose.dose_number} of patient {dose.patient.subject_id} "
                          "already has a bag.")
    bag_id = new_bag_id()
    while db.session.scalar(sa.select(Bag.id).where(Bag.bag_id == bag_id)) is not None:
        bag_id = new_bag_id()
    code = bag_code(bag_id, 1)
    bag = Bag(bag_id=bag_id, patient_id=dose.patient_id, dose_id=dose.id,
              fill_session_id=session.id, status=PENDING_FILL, label_issue=1, code=code,
              created_by_id=by.id)
    db.session.add(bag)
    db.session.flush()
    db.session.add(BagLabelIssue(bag_id=bag.id, issue=1, code=code))
    audit.record(db.session, "bag.prepared", bag, actor=by, new={
        "bag_id": bag_id, "code": code, "subject_id": dose.patient.subject_id,
        "dose_number": dose.dose_number, "fill_session": session.audit_id})
    return bag


def prepare_bags(session: FillSession, *, by: User) -> list[Bag]:
    """A bag for every cleared dose of the session's day that has none yet."""
    made = []
    for item in worklist(session.day):
        if item.bag is None and item.dose.state == "cleared":
            made.append(create_bag(item.dose, session=session, by=by))
    return made


def session_bags(session: FillSession) -> list[Bag]:
    return list(db.session.scalars(
        sa.select(Bag).where(Bag.fill_session_id == session.id).order_by(Bag.bag_id)))


@dataclass(frozen=True)
class Reconciliation:
    """SPEC 4.5: labels printed = labels applied + labels voided (+ still to apply)."""

    printed: int
    applied: int
    voided: int

    @property
    def outstanding(self) -> int:
        return self.printed - self.applied - self.voided

    @property
    def balanced(self) -> bool:
        return self.outstanding == 0


def reconciliation(session: FillSession) -> Reconciliation:
    issue = BagLabelIssue
    printed, applied, voided = db.session.execute(
        sa.select(
            sa.func.count(),
            sa.func.count(sa.case(
                (issue.applied_at.is_not(None) & issue.voided_at.is_(None), 1))),
            sa.func.count(issue.voided_at),
        ).select_from(issue).join(Bag, Bag.id == issue.bag_id)
        .where(Bag.fill_session_id == session.id, issue.printed_at.is_not(None))
    ).one()
    return Reconciliation(printed, applied, voided)


# --- expiry -----------------------------------------------------------------------------------


def expiry_after(moment: datetime) -> datetime:
    """`moment` plus the shelf life in force, down to the whole minute: labels show minutes,
    so the expiry a person reads is exactly the one the system enforces."""
    end = moment + timedelta(hours=float(protocol.value("shelf_life_hours")))
    return end.replace(second=0, microsecond=0)


def check_label_expiry(label: BagLabelIssue, *, at: datetime) -> None:
    """Refuse a fill whose label's printed expiry has passed or is later than the shelf life
    in force allows from the print (SPEC 4.5: the same rule and words for both arms)."""
    printed = label.printed_expiry
    if printed is None:
        return
    if printed <= at:
        raise DomainError(_(
            "The expiry printed on this label (%(expiry)s) has passed: reprint the label and "
            "scan the new one.", expiry=format_local(printed)))
    if label.printed_at is not None and printed > expiry_after(label.printed_at):
        raise DomainError(_(
            "The shelf life was shortened after this label was printed: its expiry "
            "(%(expiry)s) is later than the protocol allows. Reprint the label and scan the "
            "new one.", expiry=format_local(printed)))


def bag_expiry(label: BagLabelIssue, *, filled_at: datetime) -> datetime:
    """The bag's one expiry: the earlier of (fill time + shelf life) and the expiry printed on
    the label the fill binds, so the label never shows a later time than the bedside
    enforces."""
    by_fill = expiry_after(filled_at)
    if label.printed_expiry is None:
        return by_fill
    return min(by_fill, label.printed_expiry)


# --- filling ----------------------------------------------------------------------------------


def _material(code: str, *, kind: str, at: datetime, what: str) -> MaterialLot:
    if not (code or "").strip():
        raise DomainError(f"Scan the {what} lot.")
    material = materials.get_by_code(code)
    materials.check_usable(material, kind=kind, at=at)
    return material


def is_heparin(material: MaterialLot) -> bool:
    """Materials record no active substance, so the lot's name is read (demo: "Heparin sodium
    ...")."""
    return "heparin" in f"{material.name} {material.catalogue_number or ''}".lower()


def resolve_source(code: str, *, at: datetime) -> Lot | MaterialLot:
    """The scan box takes both kinds of source: a material lot code (saline) or a product batch
    (its lot id, or its DIN when exactly one usable batch carries it)."""
    text = "".join((code or "").split()).upper()
    if not text:
        raise DomainError("Scan the source: the product batch or the saline lot.")
    try:
        scan = parse_scan(text)
    except ScanError:
        scan = None
    if scan is not None and scan.kind == "material_lot":
        return materials.get_by_code(text)
    try:
        return manufacturing.get_lot(text)
    except NotFound:
        pass
    if scan is not None and scan.kind == "din":
        batches = [lot for lot in manufacturing.lots_for_din(scan.id)
                   if lot.kind == PRODUCT_BATCH and lot.state == "released"
                   and (lot.expires_at is None or lot.expires_at > at)]
        if len(batches) == 1:
            return batches[0]
        if len(batches) > 1:
            raise DomainError(f"Donation {scan.id} has {len(batches)} usable batches: scan the "
                              "batch's lot id.")
        raise DomainError(f"Donation {scan.id} has no released, unexpired product batch.")
    raise DomainError(f"'{text}' is neither a product batch nor a material lot.")


def fill_bag(
    *, label_code: str, source_code: str, anticoagulant_code: str, saline_code: str,
    container_code: str, by: User, at: datetime | None = None,
) -> Bag:
    """SPEC 4.5: the label scanned with its source binds bag and source; the same container,
    volume, anticoagulant and expiry rule for both arms (the bag expires when its label says,
    see the module's docstring). Every check runs before anything changes; a refusal changes
    nothing."""
    _require(by, "bag.fill", "Only a technician fills bags.")
    at = at or utcnow()
    bag, voided = bag_by_code(label_code or "")
    if voided:
        raise DomainError("This label was voided when it was reprinted: scan the current label.")
    if bag is None:
        raise NotFound("This label code is not known: scan the bag label printed for this "
                       "session.")
    if bag.status != PENDING_FILL:
        raise DomainError(f"Bag {bag.bag_id} is already {bag.status.replace('_', ' ')}.")
    current = _current_issue(bag)
    if current.printed_at is None:
        raise DomainError(f"The label of bag {bag.bag_id} has not been printed yet.")
    check_label_expiry(current, at=at)
    dose = bag.dose
    _check_dose_fillable(dose, at.astimezone(site_zone()).date())
    check_transition(bag, FILLED, by=by, at=at)
    patient = bag.patient
    anticoagulant = _material(anticoagulant_code, kind="anticoagulant", at=at,
                              what="anticoagulant")
    # SPEC 4.5: whatever the arm, with the same words.
    if patient.heparin_contraindication and is_heparin(anticoagulant):
        raise DomainError(HEPARIN_REFUSED)
    saline = _material(saline_code, kind="saline", at=at, what="saline")
    container = _material(container_code, kind="container", at=at, what="container")
    arm = trial.arm_of(patient)
    source = resolve_source(source_code, at=at)
    volume_ml = int(protocol.value("bag_volume_ml"))
    weight_kg = float(patient.weight_kg)
    lot, cells, source_material = None, None, None
    # These refusals name the source kind: the fill page is for unblinded technicians only.
    if arm == "A":
        if not isinstance(source, Lot):
            raise DomainError("This dose needs cells: scan a released product batch, not a "
                              "saline lot.")
        lot = source
        cells = float(protocol.value("dose_cells_per_kg")) * weight_kg
        manufacturing.check_usable_for_fill(lot, at=at, cells_needed=cells)
    else:
        if not isinstance(source, MaterialLot):
            raise DomainError("This dose is prepared with saline only: scan a saline lot, not a "
                              "product batch.")
        materials.check_usable(source, kind="saline", at=at)
        source_material = source

    expires_at = bag_expiry(current, filled_at=at)
    bag.filled_at = at
    bag.filled_by_id = by.id
    bag.expires_at = expires_at
    bag.volume_ml = volume_ml
    bag.prepared_weight_kg = weight_kg
    current.applied_at = at
    transition_bag(bag, FILLED, by=by, at=at, details={
        "code": bag.code, "volume_ml": volume_ml, "filled_at": at, "expires_at": expires_at,
        "prepared_weight_kg": weight_kg})
    if lot is not None:
        manufacturing.allocate_cells(lot, cells, by=by, reference=bag.bag_id)
    record = BagSource(
        bag_id=bag.id, arm=arm, lot_id=lot.id if lot else None, cells=cells,
        cells_per_ml=cells / volume_ml if cells else None,
        source_material_id=source_material.id if source_material else None,
        anticoagulant_material_id=anticoagulant.id, saline_material_id=saline.id,
        container_material_id=container.id)
    db.session.add(record)
    audit.record(db.session, "bag.source_recorded", bag, actor=by, blinded_visible=False, new={
        "arm": arm, "lot_id": lot.lot_id if lot else None, "cells": cells,
        "cells_per_ml": record.cells_per_ml,
        "source_material": source_material.code if source_material else None,
        "anticoagulant": anticoagulant.code, "saline": saline.code,
        "container": container.code})
    trial.record_prepared_weight(dose, weight_kg, by=by)
    trial.transition_dose(dose, "bag_ready", by=by, reason=f"bag {bag.bag_id} filled")
    return bag


def _current_issue(bag: Bag) -> BagLabelIssue:
    return db.session.scalar(sa.select(BagLabelIssue).where(
        BagLabelIssue.bag_id == bag.id, BagLabelIssue.issue == bag.label_issue))


# --- verification and release -------------------------------------------------------------


def _signed_content(bag: Bag) -> dict:
    """What the pharmacist signs: the bag's blinded facts and its source record's number, the
    same shape for both arms (the signature's hash is visible to blinded readers)."""
    source = source_of(bag)
    return {"bag_id": bag.bag_id, "code": bag.code, "subject_id": bag.subject_id,
            "dose_number": bag.dose_number, "volume_ml": bag.volume_ml,
            "filled_at": bag.filled_at, "expires_at": bag.expires_at,
            "source_record": source.id if source else None}


def verify_fill(bag: Bag, *, by: User, password: str) -> Bag:
    """SPEC 4.5: a pharmacist, not the operator, verifies each fill (signed)."""
    _require(by, "bag.verify_fill", "Only a pharmacist verifies fills.")
    if bag.status != FILLED:
        raise DomainError(f"Bag {bag.bag_id} is {bag.status.replace('_', ' ')}: only a filled "
                          "bag's fill is verified.")
    if bag.fill_verified_at is not None:
        raise DomainError(f"Bag {bag.bag_id}'s fill was already verified.")
    if bag.filled_by_id == by.id:
        raise NotPermitted("Whoever verifies a fill is not the one who filled it: ask another "
                           "pharmacist.")
    signature = esign.sign(db.session, username=by.username, password=password,
                           meaning="fill_verification", entity=("bag", bag.bag_id),
                           content=_signed_content(bag), signer_must_be=by)
    bag.fill_verified_at = signature.signed_at
    bag.fill_verified_by_id = by.id
    bag.fill_signature_id = signature.id
    audit.record(db.session, "bag.fill_verified", bag, actor=by,
                 new={"signature_id": signature.id, "verified_at": signature.signed_at})
    return bag


def release_for_issue(bag: Bag, *, by: User, password: str) -> Bag:
    """SPEC 4.7: the pharmacist's signed release; for a cell bag its batch must be released."""
    check_transition(bag, RELEASED, by=by)
    signature = esign.sign(db.session, username=by.username, password=password,
                           meaning="bag_release", entity=("bag", bag.bag_id),
                           content=_signed_content(bag), signer_must_be=by)
    bag.released_at = signature.signed_at
    bag.released_by_id = by.id
    bag.release_signature_id = signature.id
    return transition_bag(bag, RELEASED, by=by, signature=signature)


def void_bag(bag: Bag, *, by: User, reason: str) -> Bag:
    """A prepared bag that will not be filled (the dose moved): it and its label are voided."""
    transition_bag(bag, VOID, by=by, reason=reason)
    current = _current_issue(bag)
    if current.voided_at is None:
        current.voided_at = utcnow()
        current.voided_by_id = by.id
        current.void_reason = reason
    return bag


def bags_to_verify() -> list[Bag]:
    return list(db.session.scalars(sa.select(Bag).where(
        Bag.status == FILLED, Bag.fill_verified_at.is_(None)).order_by(Bag.bag_id)))


def bags_to_release() -> list[Bag]:
    return list(db.session.scalars(sa.select(Bag).where(
        Bag.status == FILLED, Bag.fill_verified_at.is_not(None)).order_by(Bag.bag_id)))
