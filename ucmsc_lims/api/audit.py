"""`GET /api/v1/audit/verify`: recompute the audit chain (SPEC 5, 7)."""

from __future__ import annotations

from flask import current_app
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from ..core import audit
from ..core.permissions import requires
from ..extensions import db

blp = Blueprint("api_audit", __name__, url_prefix="/audit", description="Audit trail")


class VerificationSchema(Schema):
    ok = fields.Boolean(required=True)
    entries = fields.Integer(required=True)
    sealed = fields.Integer()
    unsealed = fields.Integer()
    first_bad_seq = fields.Integer(allow_none=True, required=True)
    message = fields.String()


@blp.route("/verify")
@requires("audit.verify")
@blp.response(200, VerificationSchema)
def verify():
    return audit.verify(db.session, max_unsealed_age=current_app.config["AUDIT_SEAL_MAX_AGE"])
