"""API shapes of bags (SPEC 7): a blinded schema, and a larger one with arm and lot.

Blinded callers get `BagSchema`, which has no arm or lot field at all (STYLE: a separate,
smaller schema, never a field set to null); unblinded callers get `UnblindedBagSchema`.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from .printing import FORMATS


class BagSchema(Schema):
    bag_id = fields.String(required=True)
    code = fields.String(required=True,
                         metadata={"description": "the exact string the label's symbols carry"})
    subject_id = fields.String(required=True)
    dose_number = fields.Integer(required=True)
    status = fields.String(required=True,
                           metadata={"description": "as of now: `expired` past the expiry"})
    expires_at = fields.AwareDateTime(required=True, allow_none=True)
    volume_ml = fields.Integer(allow_none=True)
    label_issue = fields.Integer()
    filled_at = fields.AwareDateTime(allow_none=True)
    destination_ward = fields.String(allow_none=True)


class UnblindedBagSchema(BagSchema):
    arm = fields.String(required=True, allow_none=True, validate=validate.OneOf(["A", "B"]))
    lot_id = fields.String(required=True, allow_none=True,
                           metadata={"description": "the product batch; null for saline"})


class BagPageSchema(Schema):
    items = fields.List(fields.Nested(BagSchema), required=True)
    next = fields.String(allow_none=True, required=True)


class BagListArgsSchema(Schema):
    patient = fields.String(metadata={"description": "subject id, e.g. 01-023"})
    status = fields.String()
    after = fields.String(metadata={"description": "the last bag id of the previous page"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class PrintSchema(Schema):
    format = fields.String(required=True, validate=validate.OneOf(sorted(FORMATS)))
    reason = fields.String(load_default=None, allow_none=True,
                           validate=validate.Length(max=500),
                           metadata={"description": "required for a reprint"})
