"""API shapes of patients (SPEC 7): a blinded schema, and a larger one with the arm.

Blinded callers get `PatientSchema`, which has no arm field at all (STYLE: a separate, smaller
schema, never a field set to null); unblinded callers get `UnblindedPatientSchema`.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class DoseSchema(Schema):
    dose_number = fields.Integer(required=True)
    due_on = fields.Date(required=True)
    window_start = fields.Date(required=True)
    window_end = fields.Date(required=True)
    status = fields.String(required=True, attribute="state")
    cleared_at = fields.AwareDateTime(allow_none=True)
    # SPEC 4.5: the one blinded reason, whatever the true one.
    postponed_reason = fields.String(allow_none=True, attribute="postponed_reason_blinded")


class PatientSchema(Schema):
    subject_id = fields.String(required=True)
    code = fields.String(required=True, metadata={"description": "what the wristband carries"})
    site = fields.String()
    status = fields.String()
    stratum = fields.String()
    randomization_number = fields.String(attribute="randomization_label")
    day0 = fields.Date()
    heparin_contraindication = fields.Boolean()
    weight_kg = fields.Float(
        required=True, metadata={"description": "the weight the next dose is prepared for"}
    )
    doses = fields.List(fields.Nested(DoseSchema), required=True)


class UnblindedPatientSchema(PatientSchema):
    arm = fields.String(required=True, validate=validate.OneOf(["A", "B"]))


class PatientPageSchema(Schema):
    items = fields.List(fields.Nested(PatientSchema), required=True)
    next = fields.String(allow_none=True, required=True)


class PageArgsSchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    after = fields.String(load_default=None, validate=validate.Length(max=40), metadata={
        "description": "Read the patients after this subject id (what `next` links use)."})
