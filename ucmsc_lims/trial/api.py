"""`/api/v1/patients` (SPEC 7): patients with their dose schedule, and the wristband label.

Blinded callers are served `PatientSchema`, which has no arm key; unblinded callers
(`blind.see_arm`) are served `UnblindedPatientSchema`, which adds `arm`.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, url_for
from flask_login import current_user
from flask_smorest import Blueprint

from ..core.clock import site_today
from ..core.permissions import requires
from . import service
from . import wristband as wristband_label
from .models import Patient
from .schemas import PageArgsSchema, PatientPageSchema, PatientSchema, UnblindedPatientSchema

blp = Blueprint("api_trial", __name__, url_prefix="/patients", description="Patients")

def _view(patient: Patient, arms: dict[int, str] | None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "subject_id": patient.subject_id,
        "code": patient.code,
        "site": patient.site,
        "status": patient.status,
        "stratum": patient.stratum,
        "randomization_label": patient.randomization_label,
        "day0": patient.day0,
        "heparin_contraindication": patient.heparin_contraindication,
        "weight_kg": service.weight_for_next_dose(patient, on=site_today()),
        "doses": patient.doses,
    }
    if arms is not None:
        view["arm"] = arms.get(patient.id)
    return view


def _dump(patients: list[Patient]) -> list[dict[str, Any]]:
    if current_user.is_blinded:
        return PatientSchema(many=True).dump([_view(p, None) for p in patients])
    arms = service.arms_of(patients)
    return UnblindedPatientSchema(many=True).dump([_view(p, arms) for p in patients])


@blp.route("")
@requires("patient.read")
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, PatientPageSchema)
def list_patients(args):
    """Patients by subject id, a page at a time: `{"items": [...], "next": url-or-null}`.
    `next` reads on by key (`after`); `page` by number still works.

    Unblinded callers' items also carry `arm` ("A" or "B"); blinded callers' have no such key.
    """
    rows, more = service.list_patients(page=args["page"], per_page=args["per_page"],
                                       after=args["after"])
    following = (
        url_for("api_trial.list_patients", after=rows[-1].subject_id, per_page=args["per_page"],
                _external=True)
        if more else None
    )
    return jsonify({"items": _dump(rows), "next": following})


@blp.route("/<subject_id>")
@requires("patient.read")
@blp.response(200, PatientSchema)
def get_patient(subject_id: str):
    """One patient with the dose schedule; `arm` for unblinded callers only."""
    return jsonify(_dump([service.get_patient(subject_id)])[0])


@blp.route("/<subject_id>/wristband.<any(svg, png, pdf, zpl):fmt>")
@requires("wristband.read")
@blp.response(200, description="The wristband label (a preview, not a print)")
def wristband(subject_id: str, fmt: str):
    """SPEC 4.6: subject id with Code 128 and 2-D symbols carrying the patient's `code`."""
    return wristband_label.render(service.get_patient(subject_id), fmt)
