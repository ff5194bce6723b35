"""`POST /api/v1/scans`: parse one scanned string (SPEC 7)."""

from __future__ import annotations

from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from ..core.permissions import requires
from . import service

blp = Blueprint("api_scans", __name__, url_prefix="/scans", description="Scan parsing")


class ScanRequestSchema(Schema):
    code = fields.String(required=True, validate=validate.Length(max=1000))


class ScanResultSchema(Schema):
    kind = fields.String(required=True)
    id = fields.String(required=True)
    check_ok = fields.Boolean(required=True)
    status = fields.String(allow_none=True, required=True)
    url = fields.String(allow_none=True, required=True)


@blp.route("", methods=["POST"])
@requires("scan")
@blp.arguments(ScanRequestSchema)
@blp.response(200, ScanResultSchema)
@blp.alt_response(422, description="The code is unreadable, invalid, voided or unknown.")
def post_scan(body):
    """Classify, validate and resolve one scanned string; 422 says in plain words what is wrong."""
    return service.resolve(body["code"], reader=current_user)
