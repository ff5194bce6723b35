"""`/api/v1/bags` (SPEC 7): bags as the caller may see them, label previews and prints."""

from __future__ import annotations

from typing import Any

from flask import jsonify, make_response, url_for
from flask_login import current_user
from flask_smorest import Blueprint

from ..core.db import utcnow
from ..core.idempotency import idempotent
from ..core.permissions import requires
from . import printing, service
from .schemas import BagListArgsSchema, BagPageSchema, BagSchema, PrintSchema, UnblindedBagSchema

blp = Blueprint("api_bagging", __name__, url_prefix="/bags", description="Infusion bags")


def _view(row: service.BagRow, now, unblinded: bool) -> dict[str, Any]:
    bag = row.bag
    view: dict[str, Any] = {
        "bag_id": bag.bag_id, "code": bag.code, "subject_id": row.subject_id,
        "dose_number": row.dose_number, "status": service.effective_status(bag, now),
        "expires_at": bag.expires_at, "volume_ml": bag.volume_ml,
        "label_issue": bag.label_issue, "filled_at": bag.filled_at,
        "destination_ward": bag.destination_ward,
    }
    if unblinded:
        view["arm"] = row.arm
        view["lot_id"] = row.lot_id
    return view


def _dump(rows: list[service.BagRow]) -> list[dict[str, Any]]:
    now = utcnow()
    unblinded = not current_user.is_blinded
    schema = UnblindedBagSchema(many=True) if unblinded else BagSchema(many=True)
    return schema.dump([_view(row, now, unblinded) for row in rows])


@blp.route("")
@requires("bag.read")
@blp.arguments(BagListArgsSchema, location="query")
@blp.response(200, BagPageSchema)
def list_bags(args):
    """Bags in bag id order (random: the order carries no arm), `{"items", "next"}`.

    Filter by `patient` (subject id) and `status` (as of now, `expired` included). Unblinded
    callers' items also carry `arm` and `lot_id`; blinded callers' have neither key.
    """
    limit = args["limit"]
    rows = service.list_bags(
        unblinded=not current_user.is_blinded, subject_id=args.get("patient"),
        status=args.get("status"), after=args.get("after"), limit=limit + 1)
    following = None
    if len(rows) > limit:
        rows = rows[:limit]
        query = {k: args[k] for k in ("patient", "status") if args.get(k)}
        following = url_for("api_bagging.list_bags", after=rows[-1].bag.bag_id, limit=limit,
                            _external=True, **query)
    return jsonify({"items": _dump(rows), "next": following})


@blp.route("/<bag_id>")
@requires("bag.read")
@blp.response(200, BagSchema)
def get_bag(bag_id: str):
    """One bag; `arm` and `lot_id` for unblinded callers only."""
    bag = service.get_bag(bag_id)
    return jsonify(_dump([service.bag_row(bag, unblinded=not current_user.is_blinded)])[0])


def _label_response(body: bytes, mimetype: str, bag, status: int = 200):
    response = make_response(body, status)
    response.mimetype = mimetype
    response.headers["X-Label-Code"] = bag.code
    return response


@blp.route("/<bag_id>/label.<any(svg, png, pdf, zpl):fmt>")
@requires("label.preview")
@blp.response(200, description="The bag's current blinded label (a preview, not a print)")
def label(bag_id: str, fmt: str):
    """SPEC 4.6: a preview of the current blinded label; nothing is recorded."""
    bag = service.get_bag(bag_id)
    body, mimetype = printing.preview(bag, fmt)
    return _label_response(body, mimetype, bag)


@blp.route("/<bag_id>/prints", methods=["POST"])
@requires("label.print")
@blp.arguments(PrintSchema)
@blp.response(201, description="The printed label in the requested format")
@idempotent
def print_label(args, bag_id: str):
    """Print the label. The first print needs no reason; a reprint needs `reason`, gets the next
    label issue (a new `code`, in the `X-Label-Code` header) and voids the previous label."""
    bag = service.get_bag(bag_id)
    body, mimetype = printing.print_label(bag, fmt=args["format"], reason=args.get("reason"),
                                          by=current_user._get_current_object())
    return _label_response(body, mimetype, bag, status=201)
