"""`/api/v1/patients/{subject_id}/visits` and `/events`: a patient's follow-up (SPEC 7).

GET lists the visits; POST records one (investigator), with the same checks as the page: an
implausible value or a unit not accepted is a 422 problem saying so, with the refusal under the
analyte's code in `errors`. GET `/events` lists the clinical events, the adverse events the
nurse recorded at an infusion among them, with the investigator's assessment. No arm is read or
returned.
"""

from __future__ import annotations

from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from ..api.schemas import PageSchema
from ..core.idempotency import idempotent
from ..core.permissions import requires
from . import service
from .models import ASCITES, CAUSALITIES, EVENT_KINDS

blp = Blueprint("api_followup", __name__, url_prefix="/patients",
                description="Follow-up visits, labs and scores")


class VisitLabSchema(Schema):
    analyte = fields.String(required=True, metadata={"description": "CDISC LBTESTCD code"})
    value = fields.Float(required=True, metadata={"description": "the value as written"})
    unit = fields.String(required=True, metadata={"description": "the unit as written"})


class VisitSchema(Schema):
    visit_week = fields.Integer(required=True)
    visit_date = fields.Date(required=True)
    labs = fields.List(fields.Nested(VisitLabSchema), required=True)
    meld = fields.Integer(allow_none=True, required=True)
    meld_na = fields.Integer(allow_none=True, required=True)
    child_pugh_score = fields.Integer(allow_none=True, required=True)
    child_pugh_class = fields.String(allow_none=True, required=True)
    ascites = fields.String(allow_none=True)
    encephalopathy_grade = fields.Integer(allow_none=True)


class VisitPageSchema(PageSchema):
    items = fields.List(fields.Nested(VisitSchema), required=True)


class VisitLabEntrySchema(Schema):
    analyte = fields.String(required=True, validate=validate.Length(max=10))
    # A number or a decimal string; the service refuses anything else in plain words.
    value = fields.Raw(required=True, metadata={"type": "number"})
    unit = fields.String(required=True, validate=validate.Length(max=16))


class VisitEntrySchema(Schema):
    visit_week = fields.Integer(required=True, validate=validate.Range(min=1, max=1000))
    visit_date = fields.Date(required=True)
    labs = fields.List(fields.Nested(VisitLabEntrySchema), load_default=list,
                       validate=validate.Length(max=20))
    ascites = fields.String(allow_none=True, load_default=None,
                            validate=validate.OneOf(ASCITES))
    encephalopathy_grade = fields.Integer(allow_none=True, load_default=None,
                                          validate=validate.Range(min=0, max=4))
    dialysis = fields.Boolean(load_default=False)
    pt_control_s = fields.Float(allow_none=True, load_default=None)
    notes = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=2000))


class AssessmentSchema(Schema):
    causality = fields.String(required=True, validate=validate.OneOf(CAUSALITIES))
    reason = fields.String(required=True, attribute="assessment")
    assessed_at = fields.AwareDateTime(required=True)
    assessed_by = fields.Function(lambda e: e.assessed_by.username, required=True)


class ClinicalEventSchema(Schema):
    event_id = fields.Integer(required=True, attribute="id")
    kind = fields.String(required=True, validate=validate.OneOf(EVENT_KINDS))
    onset_date = fields.Date(required=True)
    onset_at = fields.AwareDateTime(allow_none=True)
    term = fields.String(allow_none=True, metadata={"description": "CTCAE term"})
    grade = fields.Integer(allow_none=True, metadata={"description": "CTCAE grade, 1 to 5"})
    serious = fields.Boolean(required=True)
    infusion_id = fields.Integer(allow_none=True, metadata={
        "description": "the infusion the adverse event was seen at or followed"})
    dose_number = fields.Function(
        lambda e: e.infusion.dose.dose_number if e.infusion is not None else None,
        allow_none=True)
    description = fields.String(allow_none=True)
    recorded_by = fields.Function(lambda e: e.recorded_by.username)
    recorded_at = fields.AwareDateTime(required=True)
    awaits_assessment = fields.Boolean(required=True, metadata={
        "description": "a serious adverse event the investigator has not yet assessed: it "
                       "blocks the clearance of the next dose (SPEC 4.4)"})
    assessment = fields.Function(
        lambda e: AssessmentSchema().dump(e) if e.assessed_at is not None else None,
        allow_none=True)


class ClinicalEventPageSchema(PageSchema):
    items = fields.List(fields.Nested(ClinicalEventSchema), required=True)


def _visit(visit) -> dict:
    scores = service.scores_of(visit)
    return {
        "visit_week": visit.visit_week, "visit_date": visit.visit_date,
        "labs": [{"analyte": row["lab"].analyte, "value": float(row["lab"].value),
                  "unit": row["lab"].unit} for row in service.lab_rows(visit.current_labs)],
        "meld": scores.meld, "meld_na": scores.meld_na,
        "child_pugh_score": scores.child_pugh_score,
        "child_pugh_class": scores.child_pugh_class,
        "ascites": visit.ascites, "encephalopathy_grade": visit.encephalopathy_grade,
    }


@blp.route("/<subject_id>/visits")
@requires("followup.read")
@blp.response(200, VisitPageSchema)
def visits(subject_id: str):
    """The patient's completed follow-up visits by week, with labs as written and scores."""
    patient = service.get_patient(subject_id)
    return {"items": [_visit(v) for v in service.completed_visits(patient)], "next": None}


@blp.route("/<subject_id>/events")
@requires("followup.read")
@blp.response(200, ClinicalEventPageSchema)
def events(subject_id: str):
    """The patient's clinical events by onset, voided ones left out; adverse events recorded
    at an infusion carry its `infusion_id` and dose number."""
    patient = service.get_patient(subject_id)
    return {"items": service.events_of(patient), "next": None}


@blp.route("/<subject_id>/visits", methods=["POST"])
@requires("followup.record")
@idempotent
@blp.arguments(VisitEntrySchema)
@blp.response(201, VisitSchema)
def record_visit(body, subject_id: str):
    """Record a completed visit with its labs as written (`{analyte, value, unit}`)."""
    patient = service.get_patient(subject_id)
    visit = service.record_visit(
        patient, visit_week=body["visit_week"], visit_date=body["visit_date"],
        labs=[(lab["analyte"], lab["value"], lab["unit"]) for lab in body["labs"]],
        by=current_user, ascites=body["ascites"],
        encephalopathy_grade=body["encephalopathy_grade"], dialysis=body["dialysis"],
        pt_control_s=body["pt_control_s"], notes=body["notes"],
    )
    return _visit(visit)
