"""Look-back (SPEC 4.9): from a material lot, a donor found ineligible later, a recalled lot or a
failing post-release QC result, every affected lot, bag and patient; every un-infused bag put on
hold in one action signed by QA; per infused patient, the pharmacist's decision whether the
investigator must be told.

Unblinded only: every function refuses a blinded caller, and every audit entry written here is
absent from the trail blinded users read. The bags go on hold through `bagging.holds`, which
holds saline bags with them for placebo parity (SPEC 4.5) and moves every bag through
`transition_bag`: blinded readers read "product on hold: contact pharmacy" and nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from ..auth.models import User
from ..bagging import holds
from ..bagging import service as bagging
from ..bagging.models import LOOKBACK, Bag, ProductHoldBag
from ..bagging.states import BEFORE_INFUSING, ON_HOLD
from ..core import audit, esign
from ..core.errors import Conflict, DomainError, NotFound, NotPermitted
from ..extensions import db
from ..manufacturing.models import Lot
from ..trace import service as trace
from ..trace.walk import collect
from ..trial.models import Patient
from .models import ORIGIN_KINDS, LookbackBag, LookbackCase, LookbackDecision

INFUSED_STATES = frozenset({"infusing", "infused", "stopped"})


@dataclass
class AffectedBag:
    bag: Bag
    status: str  # effective status now
    lot: Lot | None
    arm: str | None
    infused: bool

    @property
    def holdable(self) -> bool:
        return self.bag.status in BEFORE_INFUSING


@dataclass
class AffectedPatient:
    patient: Patient
    arm: str | None
    bags: list[AffectedBag] = field(default_factory=list)

    @property
    def infused(self) -> bool:
        return any(b.infused for b in self.bags)


@dataclass
class Affected:
    origin_kind: str
    origin: Any
    origin_ref: str
    lots: list[Lot]
    bags: list[AffectedBag]
    patients: list[AffectedPatient]

    @property
    def to_hold(self) -> list[AffectedBag]:
        return [b for b in self.bags if b.holdable]

    @property
    def infused_patients(self) -> list[AffectedPatient]:
        return [p for p in self.patients if p.infused]


def _require_unblinded(by: User, permission: str) -> None:
    if by.is_blinded or not by.can(permission):
        raise NotPermitted("Look-back is for QA and the pharmacist only.")


def origin(identifier: str) -> tuple[str, Any]:
    """What a look-back starts from: a material lot, a donor (or its collection's DIN), a lot,
    or a failing QC result (`qc_result:12`)."""
    kind, record = trace.find_root(identifier)
    if kind not in ORIGIN_KINDS:
        raise DomainError(
            "A look-back starts from a material lot, a donor or DIN, a lot, or a failing QC "
            "result; bags and patients are what it finds.")
    if kind == "qc_result" and record.passed:
        raise DomainError(f"QC result {record.id} ({record.test}) met its specification: "
                          "a look-back starts from a failing result.")
    return kind, record


def affected(identifier: str, *, by: User) -> Affected:
    """Every lot, bag and patient downstream of the origin, with its status now."""
    _require_unblinded(by, "lookback.read")
    kind, record = origin(identifier)
    found = collect(kind, record, blinded=False)
    infused_bag_ids = {i.bag_id for i in found.infusions.values()}
    lots = sorted(found.lots.values(), key=lambda x: (x.kind, x.id))
    if kind in ("lot", "qc_result"):
        # The lot and its batches; its cell bank upstream is not affected by it.
        start = record if kind == "lot" else found.lots[record.lot_id]
        lots = [lot for lot in lots if lot.id == start.id or lot.parent_id == start.id]
    bags: list[AffectedBag] = []
    by_patient: dict[int, AffectedPatient] = {}
    for bag in sorted(found.bags.values(), key=lambda b: b.bag_id):
        source = found.sources.get(bag.id)
        row = AffectedBag(
            bag=bag, status=bagging.effective_status(bag),
            lot=found.lots.get(source.lot_id) if source and source.lot_id else None,
            arm=source.arm if source else None,
            infused=bag.id in infused_bag_ids or bag.status in INFUSED_STATES)
        bags.append(row)
        patient = found.patients[bag.patient_id]
        entry = by_patient.setdefault(
            patient.id, AffectedPatient(patient, found.arms.get(patient.id)))
        entry.bags.append(row)
    patients = sorted(by_patient.values(), key=lambda p: p.patient.subject_id)
    return Affected(kind, record, trace._node_id(kind, record), lots, bags, patients)


def _next_number() -> str:
    count = db.session.scalar(sa.select(sa.func.count()).select_from(LookbackCase)) or 0
    return f"LB-{count + 1:04d}"


def hold_affected(identifier: str, *, by: User, username: str, password: str,
                  reason: str) -> LookbackCase:
    """Open a look-back case and put every un-infused affected bag on hold, in one action
    signed by QA (meaning "lookback_hold"). The affected set is kept with the case as found."""
    _require_unblinded(by, "lookback.run")
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise DomainError("Give the reason for the look-back (what was found, and where).",
                          field_errors={"reason": ["Required."]})
    found = affected(identifier, by=by)
    to_hold = found.to_hold
    for row in to_hold:
        bagging.check_transition(row.bag, ON_HOLD, by=by, reason=reason)
    number = _next_number()
    signature = esign.sign(
        db.session, username=username, password=password, meaning="lookback_hold",
        entity=("lookback_case", number), signer_must_be=by, blinded_visible=False,
        content={"number": number, "origin": found.origin_ref, "reason": reason,
                 "bags_to_hold": [row.bag.bag_id for row in to_hold],
                 "lots": [lot.lot_id for lot in found.lots]},
    )
    case = LookbackCase(number=number, origin_kind=found.origin_kind,
                        origin_ref=found.origin_ref, reason=reason, opened_by_id=by.id,
                        signature_id=signature.id, bags_held=len(to_hold))
    db.session.add(case)
    db.session.flush()
    for row in found.bags:
        db.session.add(LookbackBag(
            case_id=case.id, bag_id=row.bag.id, patient_id=row.bag.patient_id,
            lot_id=row.lot.id if row.lot else None, status_before=row.bag.status,
            infused=row.infused, held=row.holdable))
    hold = holds.hold_bags([row.bag for row in to_hold], kind=LOOKBACK, reference=number,
                           cause=f"Look-back {number}: {reason}", by=by, signature=signature)
    audit.record(db.session, "lookback.opened", case, actor=by, reason=reason,
                 blinded_visible=False,
                 new={"origin": found.origin_ref, "lots": [lot.lot_id for lot in found.lots],
                      "bags_affected": [row.bag.bag_id for row in found.bags],
                      "bags_held": [row.bag.bag_id for row in to_hold],
                      "product_hold": hold.number if hold else None,
                      "patients_infused": [p.patient.subject_id
                                           for p in found.infused_patients],
                      "signature_id": signature.id})
    return case


# --- the case and its decisions ---------------------------------------------------------------


def get_case(number: str, *, by: User) -> LookbackCase:
    _require_unblinded(by, "lookback.read")
    case = db.session.scalar(sa.select(LookbackCase).where(
        LookbackCase.number == number.strip().upper()))
    if case is None:
        raise NotFound(f"No look-back case {number}.")
    return case


def parity_bags(case: LookbackCase, *, by: User) -> list[ProductHoldBag]:
    """The saline bags held with the case's bags for placebo parity."""
    _require_unblinded(by, "lookback.read")
    return holds.parity_bags_of(LOOKBACK, case.number, by=by)


def list_cases(*, by: User) -> list[LookbackCase]:
    _require_unblinded(by, "lookback.read")
    return list(db.session.scalars(sa.select(LookbackCase).order_by(LookbackCase.id.desc())))


@dataclass
class InfusedPatient:
    patient: Patient
    bags: list[LookbackBag]
    decision: LookbackDecision | None
    unblinding_requests: list


def infused_patients(case: LookbackCase, *, by: User) -> list[InfusedPatient]:
    """The patients of the case already infused, for the unblinded safety follow-up, with the
    decision taken and any emergency unblinding of that patient (trial domain)."""
    from ..trial import unblinding

    _require_unblinded(by, "lookback.read")
    decisions = {d.patient_id: d for d in case.decisions}
    grouped: dict[int, list[LookbackBag]] = {}
    for row in case.bags:
        if row.infused:
            grouped.setdefault(row.patient_id, []).append(row)
    out = []
    for rows in sorted(grouped.values(), key=lambda r: r[0].patient.subject_id):
        patient = rows[0].patient
        out.append(InfusedPatient(patient, rows, decisions.get(patient.id),
                                  unblinding.requests(patient=patient)))
    return out


def decide(case: LookbackCase, subject_id: str, *, by: User, tell_investigator: bool,
           reason: str) -> LookbackDecision:
    """Record whether the investigator must be told about this infused patient (SPEC 4.9).
    Telling is an emergency unblinding of the patient, made through the trial's unblinding
    flow; the decision is recorded once and never changed."""
    _require_unblinded(by, "lookback.decide")
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise DomainError("Give the reason for the decision.",
                          field_errors={"reason": ["Required."]})
    rows = [row for row in case.bags if row.infused and row.patient.subject_id == subject_id]
    if not rows:
        raise NotFound(f"Patient {subject_id} received no bag of look-back {case.number}.")
    patient = rows[0].patient
    if any(d.patient_id == patient.id for d in case.decisions):
        raise Conflict(f"The decision for patient {subject_id} in {case.number} is already "
                       "recorded.")
    decision = LookbackDecision(case=case, patient_id=patient.id,
                                tell_investigator=tell_investigator, reason=reason,
                                decided_by_id=by.id)
    db.session.add(decision)
    audit.record(db.session, "lookback.decision", decision, actor=by, reason=reason,
                 blinded_visible=False,
                 new={"case": case.number, "subject_id": subject_id,
                      "tell_investigator": tell_investigator})
    return decision
