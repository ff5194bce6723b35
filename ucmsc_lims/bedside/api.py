"""`/api/v1/bedside/verifications` and `/api/v1/infusions` (SPEC 7)."""

from __future__ import annotations

from flask import json
from flask_login import current_user
from flask_smorest import Blueprint

from ..api.problem import problem_response
from ..core.idempotency import idempotent
from ..core.permissions import requires
from . import infusions, service
from .infusions import AdverseEventEntry
from .schemas import (
    BedsideVerificationRequestSchema,
    BedsideVerificationSchema,
    ConfirmRequestSchema,
    InfusionEndSchema,
    InfusionRequestSchema,
    InfusionSchema,
    InfusionStartedSchema,
)

blp = Blueprint("api_bedside", __name__, url_prefix="",
                description="Bedside verification and infusions")


def _verification(verification) -> dict:
    confirmed = verification.confirmed_at is not None
    return {
        "verification_id": verification.id,
        "decision": verification.decision,
        "checks": verification.confirm_checks if confirmed else verification.checks,
        "attestation": {**verification.attestations, "by": verification.nurse.username,
                        "at": verification.created_at},
        "ward_code": verification.ward_code,
        "created_at": verification.created_at,
        "confirmed_at": verification.confirmed_at,
        "valid_until": service.valid_until(verification),
    }


def _refused(refusal: service.ChecksFailed):
    """409 problem+json naming every failed check, with the whole list beside it."""
    response = problem_response(refusal.status, refusal.message)
    body = json.loads(response.get_data(as_text=True))
    body["verification_id"] = refusal.verification_id
    body["checks"] = refusal.checks
    response.set_data(json.dumps(body))
    return response


def _infusion(infusion) -> dict:
    nxt = infusions.next_dose(infusion) if infusion.ended_at else None
    return {
        "id": infusion.id, "bag": infusion.bag, "patient": infusion.patient,
        "dose": infusion.dose, "verification_id": infusion.verification_id,
        "started_at": infusion.started_at, "ended_at": infusion.ended_at,
        "outcome": infusion.outcome, "volume_infused_ml": infusion.volume_infused_ml,
        "rate_ml_per_h": infusion.rate_ml_per_h, "vitals_before": infusion.vitals_before,
        "vitals_after": infusion.vitals_after, "premedication": infusion.premedication,
        "stop_reason": infusion.stop_reason, "adverse_events": infusion.adverse_events,
        "next_dose": nxt,
    }


class _Record(dict):
    """Attribute access for the schema's Function fields."""

    __getattr__ = dict.__getitem__


@blp.route("/bedside/verifications", methods=["POST"])
@requires("bedside.verify")
@idempotent
@blp.arguments(BedsideVerificationRequestSchema)
@blp.response(200, BedsideVerificationSchema)
def create_verification(body):
    """Nurse 1's scans: every check, GO or NO_GO, recorded either way (an unknown bag code too).

    `ward_code` defaults to the nurse's home ward. `identity_confirmed` and `bag_intact` are
    the nurse's answers: false is NO_GO; left out, they are recorded as "not asked"."""
    verification = service.verify(
        patient_code=body["patient_code"], bag_code=body["bag_code"],
        weight_kg=body["weight_kg"], by=current_user,
        ward_code=body.get("ward_code") or current_user.home_ward,
        identity_confirmed=body["identity_confirmed"], bag_intact=body["bag_intact"],
    )
    return _verification(verification)


@blp.route("/bedside/verifications/<int:verification_id>")
@requires("bedside.verify")
@blp.response(200, BedsideVerificationSchema)
def get_verification(verification_id: int):
    return _verification(service.get_verification(verification_id))


@blp.route("/bedside/verifications/<int:verification_id>/confirm", methods=["POST"])
@requires("bedside.verify")
@blp.arguments(ConfirmRequestSchema)
@blp.response(200, BedsideVerificationSchema)
def confirm_verification(body, verification_id: int):
    """Nurse 2 re-scans both codes and signs. A failed check is 409 with the checks; a wrong
    password, the same user as nurse 1 or a user who is not a nurse is 422."""
    verification = service.get_verification(verification_id)
    try:
        service.confirm(verification, username=body["username"], password=body["password"],
                        patient_code=body["patient_code"], bag_code=body["bag_code"],
                        by=current_user)
    except service.ChecksFailed as refusal:
        return _refused(refusal)
    return _verification(verification)


@blp.route("/infusions", methods=["POST"])
@requires("infusion.record")
@idempotent
@blp.arguments(InfusionRequestSchema)
@blp.response(201, InfusionStartedSchema)
def start_infusion(body):
    """Start the infusion of a confirmed, still valid verification; the checks run again. Any
    second attempt on the same bag is 409; a retry with the same Idempotency-Key gets the
    first reply."""
    verification = service.get_verification(body["verification_id"])
    try:
        infusion = service.start_infusion(verification, by=current_user)
    except service.ChecksFailed as refusal:
        return _refused(refusal)
    return {"infusion_id": infusion.id, "bag_id": infusion.bag.bag_id,
            "started_at": infusion.started_at}


@blp.route("/infusions/<int:infusion_id>")
@requires("infusion.record")
@blp.response(200, InfusionSchema)
def get_infusion(infusion_id: int):
    return _Record(_infusion(service.get_infusion(infusion_id)))


@blp.route("/infusions/<int:infusion_id>/end", methods=["POST"])
@requires("infusion.record")
@idempotent
@blp.arguments(InfusionEndSchema)
@blp.response(200, InfusionSchema)
def end_infusion(body, infusion_id: int):
    """The infusion record: end, volume, rate, vital signs, premedication, adverse events,
    outcome. The answer shows the next dose's window."""
    infusion = service.get_infusion(infusion_id)
    events = [AdverseEventEntry(**event) for event in body.pop("adverse_events")]
    infusions.end_infusion(infusion, by=current_user, adverse_events=events, **body)
    return _Record(_infusion(infusion))
