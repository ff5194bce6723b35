"""`GET /api/v1/audit/verify`: recompute the audit chain (SPEC 5, 7)."""

from __future__ import annotations

from flask import current_app
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from ..audit import service as audit_trail
from ..core import checkpoints
from ..core.permissions import requires

blp = Blueprint("api_audit", __name__, url_prefix="/audit", description="Audit trail")


class VerifyArgs(Schema):
    full = fields.Boolean(load_default=True, metadata={
        "description": "false: only the entries since the last signed checkpoint"})


class CheckpointSchema(Schema):
    at = fields.DateTime()
    chain_seq = fields.Integer(allow_none=True)
    mac = fields.String()


class VerificationSchema(Schema):
    """For blinded callers `entries` counts the entries they may read, and neither chain
    positions nor totals of the whole trail are given (SPEC 5)."""

    ok = fields.Boolean(required=True)
    entries = fields.Integer(required=True)
    sealed = fields.Integer(allow_none=True)
    unsealed = fields.Integer(allow_none=True)
    first_bad_seq = fields.Integer(allow_none=True, required=True)
    message = fields.String()
    full = fields.Boolean()
    checkpoint = fields.Nested(CheckpointSchema, allow_none=True)


@blp.route("/verify")
@requires("audit.verify")
@blp.arguments(VerifyArgs, location="query")
@blp.response(200, VerificationSchema)
def verify(args):
    return audit_trail.check_chain(checkpoints.Anchor.of(current_app),
                                   blinded=current_user.is_blinded, full=args["full"],
                                   max_unsealed_age=current_app.config["AUDIT_SEAL_MAX_AGE"])
