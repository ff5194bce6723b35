"""Lot, passage and QC result shapes of the API (SPEC 7). Blinded callers get the smaller
lot schema: nothing past release (no cells taken for bags)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..core.db import LARGEST_ID


class SignatureSchema(Schema):
    printed_name = fields.String()
    meaning = fields.String(attribute="meaning_text")
    signed_at = fields.AwareDateTime()


class QcSummarySchema(Schema):
    specification = fields.String()
    required = fields.Integer()
    passed = fields.Integer()
    failed = fields.List(fields.String())
    missing = fields.List(fields.String())
    open_deviations = fields.List(fields.String())
    conditional_pending = fields.List(fields.String())


class LotSchema(Schema):
    """The lot as a blinded caller (inspector) may read it."""

    lot_id = fields.String(required=True)
    din = fields.String(required=True)
    state = fields.String(required=True)
    released_at = fields.AwareDateTime(allow_none=True, required=True)
    kind = fields.String(required=True)
    product_code = fields.String()
    expires_at = fields.AwareDateTime(allow_none=True)
    cell_bank = fields.String(allow_none=True)
    conditional_tests = fields.List(fields.String(), allow_none=True)
    qc = fields.Nested(QcSummarySchema)
    release_signature = fields.Nested(SignatureSchema, allow_none=True)
    url = fields.String()


class UnblindedLotSchema(LotSchema):
    cells_harvested = fields.Float(allow_none=True)
    cells_allocated = fields.Float()
    cells_left = fields.Float()


class LotListSchema(Schema):
    items = fields.List(fields.Nested(UnblindedLotSchema))
    next = fields.String(allow_none=True)


class LotListArgs(Schema):
    kind = fields.String(validate=validate.OneOf(["cell_bank", "product_batch"]))
    state = fields.String()
    # Bounded by the largest id an SQL INTEGER holds: a larger one overflows the database.
    after = fields.Integer(load_default=0, validate=validate.Range(min=0, max=LARGEST_ID))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class PassageInSchema(Schema):
    number = fields.Integer()
    seeded_at = fields.AwareDateTime(required=True)
    harvested_at = fields.AwareDateTime(required=True)
    vessels = fields.String(required=True, validate=validate.Length(min=1, max=120))
    cells_seeded = fields.Float(required=True)
    cells_harvested = fields.Float(required=True)
    viability_pct = fields.Float(required=True)
    confluence_pct = fields.Float(required=True)
    incubator = fields.String(required=True)
    materials = fields.List(fields.String(), load_default=list)
    # SPEC 4.2: required when the doubling time is outside the protocol's plausible range.
    growth_reason = fields.String(validate=validate.Length(max=500))


class PassageOutSchema(Schema):
    lot_id = fields.String(attribute="lot.lot_id")
    number = fields.Integer()
    operator = fields.String(attribute="operator.username")
    verified = fields.Boolean()
    doublings = fields.Float()
    doubling_time_hours = fields.Float(allow_none=True)
    # The deviation a growth no cell can reach opened (it stops the lot), or null.
    deviation = fields.String(allow_none=True)


class QcResultInSchema(Schema):
    test = fields.String(required=True)
    value = fields.Raw(required=True)
    unit = fields.String()
    method = fields.String()
    sample_id = fields.String(required=True, validate=validate.Length(min=1, max=60))
    instrument = fields.String()
    # SPEC 4.3: a passing result comes no earlier than this + the test's duration.
    sampled_at = fields.AwareDateTime()
    performed_at = fields.AwareDateTime()


class QcResultOutSchema(Schema):
    id = fields.Integer()
    test = fields.String()
    value = fields.String(attribute="value_display")
    criterion = fields.String()
    passed = fields.Boolean()
    deviation = fields.String(allow_none=True)
