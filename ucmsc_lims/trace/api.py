"""`GET /api/v1/trace/{identifier}` (SPEC 7): `{root, nodes, edges}`, masked for blinded
callers (SPEC 4.9).

Node fields differ by kind and by reader (a blinded caller's bag has no `arm` or `lot_id` key),
so the body is built by the trace service and documented here rather than re-dumped.
"""

from __future__ import annotations

from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from ..core.permissions import requires
from . import service

blp = Blueprint("api_trace", __name__, url_prefix="/trace", description="Trace")


class NodeSchema(Schema):
    id = fields.String(required=True)
    kind = fields.String(required=True, metadata={"description": (
        "donor, collection, lot, material_lot, qc_result, signature, bag, patient, infusion, "
        "adverse_event")})
    label = fields.String(required=True)
    status = fields.String()
    url = fields.String()


class EdgeSchema(Schema):
    source = fields.String(required=True, data_key="from")
    target = fields.String(required=True, data_key="to")
    kind = fields.String(required=True)


class TraceSchema(Schema):
    root = fields.String(required=True)
    nodes = fields.List(fields.Nested(NodeSchema), required=True)
    edges = fields.List(fields.Nested(EdgeSchema), required=True)


@blp.route("/<path:identifier>")
@requires("trace.read")
@blp.response(200)
@blp.doc(responses={"200": {"description": "The trace",
                            "content": {"application/json": {"schema": TraceSchema}}}})
def get_trace(identifier: str):
    """The trace of any identifier: DIN, lot id, material lot code, bag code or id, wristband
    code or subject id, or a node id (`infusion:12`). Blinded callers' traces stop at the bag."""
    return service.trace(identifier, reader=current_user).as_dict()
