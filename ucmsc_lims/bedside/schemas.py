"""API schemas of the bedside (SPEC 7). Nothing here carries an arm, a lot or a donor: the
same schemas serve every caller."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from .infusions import VITALS
from .models import NO, NOT_ASKED, YES


class CheckSchema(Schema):
    check = fields.String(required=True)
    ok = fields.Boolean(required=True)
    message = fields.String(required=True)


class BedsideVerificationRequestSchema(Schema):
    """`identity_confirmed` and `bag_intact` are the nurse's answers, sent by an app that asks
    them. Absent (or null) is recorded as "not asked", never as a yes; false is a NO-GO
    (`service.verify`). The SPEC 7 body of three fields stays valid."""

    patient_code = fields.String(required=True, validate=validate.Length(max=120))
    bag_code = fields.String(required=True, validate=validate.Length(max=120))
    weight_kg = fields.Float(required=True, allow_nan=False,
                             validate=validate.Range(min=0.5, max=500))
    ward_code = fields.String(validate=validate.Length(max=40), load_default=None,
                              allow_none=True)
    identity_confirmed = fields.Boolean(load_default=None, allow_none=True)
    bag_intact = fields.Boolean(load_default=None, allow_none=True)


ANSWERS = validate.OneOf((YES, NO, NOT_ASKED))


class AttestationSchema(Schema):
    """Nurse 1's answers as recorded, who gave them and when; nurse 2 and the start of the
    infusion never change them."""

    identity_confirmed = fields.String(required=True, validate=ANSWERS, metadata={
        "description": 'The patient stated name and date of birth: "yes", "no" or "not asked".'})
    bag_intact = fields.String(required=True, validate=ANSWERS, metadata={
        "description": 'The bag is intact: "yes", "no" or "not asked".'})
    by = fields.String(required=True, metadata={"description": "Username of nurse 1."})
    at = fields.AwareDateTime(required=True)


class BedsideVerificationSchema(Schema):
    verification_id = fields.Integer(required=True)
    decision = fields.String(required=True)
    checks = fields.List(fields.Nested(CheckSchema), required=True)
    attestation = fields.Nested(AttestationSchema, required=True)
    ward_code = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()
    confirmed_at = fields.AwareDateTime(allow_none=True)
    valid_until = fields.AwareDateTime(allow_none=True)


class ConfirmRequestSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=80))
    password = fields.String(required=True, load_only=True,
                             validate=validate.Length(min=1, max=1024))
    patient_code = fields.String(required=True, validate=validate.Length(max=120))
    bag_code = fields.String(required=True, validate=validate.Length(max=120))


class InfusionRequestSchema(Schema):
    verification_id = fields.Integer(required=True, strict=True,
                                     validate=validate.Range(min=1))


class InfusionStartedSchema(Schema):
    infusion_id = fields.Integer(required=True)
    bag_id = fields.String(required=True)
    started_at = fields.AwareDateTime(required=True)


VitalsSchema = Schema.from_dict(
    {name: fields.Float(allow_none=True, allow_nan=False) for name in VITALS},
    name="VitalsSchema",
)


class AdverseEventSchema(Schema):
    term = fields.String(required=True, validate=validate.Length(min=1, max=200))
    grade = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=5))
    serious = fields.Boolean(load_default=False)
    onset_at = fields.AwareDateTime(load_default=None, allow_none=True)
    description = fields.String(load_default=None, allow_none=True,
                                validate=validate.Length(max=1000))


class InfusionEndSchema(Schema):
    outcome = fields.String(required=True, validate=validate.OneOf(("completed", "stopped")))
    volume_infused_ml = fields.Float(required=True, allow_nan=False,
                                     validate=validate.Range(min=0, max=5000))
    rate_ml_per_h = fields.Float(load_default=None, allow_none=True, allow_nan=False)
    ended_at = fields.AwareDateTime(load_default=None, allow_none=True)
    vitals_before = fields.Nested(VitalsSchema, load_default=None, allow_none=True)
    vitals_after = fields.Nested(VitalsSchema, load_default=None, allow_none=True)
    premedication = fields.String(load_default=None, allow_none=True,
                                  validate=validate.Length(max=500))
    stop_reason = fields.String(load_default=None, allow_none=True,
                                validate=validate.Length(max=500))
    notes = fields.String(load_default=None, allow_none=True,
                          validate=validate.Length(max=5000))
    adverse_events = fields.List(fields.Nested(AdverseEventSchema), load_default=list)


class NextDoseSchema(Schema):
    dose_number = fields.Integer()
    due_on = fields.Date()
    window_start = fields.Date()
    window_end = fields.Date()


class InfusionSchema(Schema):
    infusion_id = fields.Integer(attribute="id")
    bag_id = fields.Function(lambda i: i.bag.bag_id)
    subject_id = fields.Function(lambda i: i.patient.subject_id)
    dose_number = fields.Function(lambda i: i.dose.dose_number)
    verification_id = fields.Integer()
    started_at = fields.AwareDateTime()
    ended_at = fields.AwareDateTime(allow_none=True)
    outcome = fields.String(allow_none=True)
    volume_infused_ml = fields.Float(allow_none=True)
    rate_ml_per_h = fields.Float(allow_none=True)
    vitals_before = fields.Dict(allow_none=True)
    vitals_after = fields.Dict(allow_none=True)
    premedication = fields.String(allow_none=True)
    stop_reason = fields.String(allow_none=True)
    adverse_events = fields.List(fields.Nested(AdverseEventSchema))
    next_dose = fields.Nested(NextDoseSchema, allow_none=True)
