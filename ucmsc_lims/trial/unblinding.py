"""Emergency unblinding (SPEC 4.9): requested by an investigator for one patient with a reason,
confirmed by the pharmacist's signature (or an investigator's where the protocol allows), then
shown to the requesting investigator only.

No audit entry written here holds the arm: the entries name the patient and the reason, so a
blinded reader of the trail learns that an unblinding happened, never its result.
"""

from __future__ import annotations

import sqlalchemy as sa

from ..auth.models import User
from ..core import audit, esign
from ..core.db import utcnow
from ..core.errors import Conflict, DomainError, NotFound, NotPermitted
from ..extensions import db
from ..protocol import service as protocol
from . import service
from .models import Patient, UnblindingRequest


def get_request(request_id: int) -> UnblindingRequest:
    found = db.session.get(UnblindingRequest, request_id)
    if found is None:
        raise NotFound("No such unblinding request.")
    return found


def request_unblinding(patient: Patient, *, by: User, reason: str) -> UnblindingRequest:
    if not by.can("unblinding.request"):
        raise NotPermitted("Only an investigator requests an emergency unblinding.")
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise DomainError(
            "Give the medical reason for the emergency unblinding (at least 10 characters).",
            field_errors={"reason": ["Required: the medical reason."]},
        )
    pending = db.session.scalar(sa.select(UnblindingRequest.id).where(
        UnblindingRequest.patient_id == patient.id, UnblindingRequest.status == "requested",
        UnblindingRequest.requested_by_id == by.id,
    ))
    if pending is not None:
        raise Conflict(f"You already have a pending unblinding request for patient "
                       f"{patient.subject_id}.")
    record = UnblindingRequest(patient_id=patient.id, reason=reason, requested_by_id=by.id)
    db.session.add(record)
    audit.record(db.session, "unblinding.requested", record, actor=by, reason=reason,
                 new={"subject_id": patient.subject_id, "reason": reason})
    return record


def may_confirm(user: User) -> bool:
    """The pharmacist; an investigator too where `investigator_may_unblind` is set (SPEC 4.9)."""
    if user.can("unblinding.confirm"):
        return True
    return user.can("unblinding.request") and bool(protocol.value("investigator_may_unblind"))


def confirm_unblinding(record: UnblindingRequest, *, by: User, password: str) -> UnblindingRequest:
    """The confirming e-signature (meaning "emergency_unblinding"). Checks run first, then the
    password, so a refusal changes nothing but the failed-sign-in count."""
    if not may_confirm(by):
        raise NotPermitted("Only the pharmacist confirms an emergency unblinding.")
    if record.status != "requested":
        raise Conflict("This unblinding request is already confirmed.")
    patient = record.patient
    signature = esign.sign(
        db.session, username=by.username, password=password, meaning="emergency_unblinding",
        entity=("unblinding_request", str(record.id)),
        content={"request_id": record.id, "subject_id": patient.subject_id,
                 "reason": record.reason, "requested_by": record.requested_by.username},
        signer_must_be=by,
    )
    record.status = "confirmed"
    record.confirmed_at = signature.signed_at
    record.confirmed_by_id = by.id
    record.signature_id = signature.id
    audit.record(db.session, "unblinding.confirmed", record, actor=by, reason=record.reason,
                 old={"status": "requested"},
                 new={"status": "confirmed", "subject_id": patient.subject_id,
                      "requested_by": record.requested_by.username,
                      "signature_id": signature.id})
    return record


def reveal_arm(record: UnblindingRequest, *, to: User) -> str:
    """The arm, for the requesting investigator of a confirmed request only. The first showing
    is audited (without the arm)."""
    if record.requested_by_id != to.id:
        raise NotPermitted("The arm is shown only to the investigator who requested it.")
    if record.status != "confirmed":
        raise DomainError("The request is not confirmed yet: the arm is not shown.")
    if record.first_shown_at is None:
        record.first_shown_at = utcnow()
        audit.record(db.session, "unblinding.shown", record, actor=to,
                     new={"subject_id": record.patient.subject_id})
    return service.arm_of(record.patient)


def requests(*, status: str | None = None, patient: Patient | None = None,
             requested_by: User | None = None) -> list[UnblindingRequest]:
    query = sa.select(UnblindingRequest).order_by(UnblindingRequest.requested_at.desc())
    if status:
        query = query.where(UnblindingRequest.status == status)
    if patient is not None:
        query = query.where(UnblindingRequest.patient_id == patient.id)
    if requested_by is not None:
        query = query.where(UnblindingRequest.requested_by_id == requested_by.id)
    return list(db.session.scalars(query))


def report(*, by: User) -> list[tuple[UnblindingRequest, str | None]]:
    """SPEC 4.9: every unblinding, with the arm for unblinded readers only."""
    if not by.can("report.read"):
        raise NotPermitted("Your role does not allow this report.")
    rows = requests()
    if by.is_blinded:
        return [(row, None) for row in rows]
    arms = service.arms_of([row.patient for row in rows if row.status == "confirmed"])
    return [(row, arms.get(row.patient_id) if row.status == "confirmed" else None)
            for row in rows]
