"""`/api/v1/lots`: lots with QC summary and release signature, the posts an instrument or
scanner makes (passage, QC result), and the lot label (SPEC 7)."""

from __future__ import annotations

from flask import Response, url_for
from flask_login import current_user
from flask_smorest import Blueprint

from ..core.esign import Signature
from ..core.idempotency import idempotent
from ..core.permissions import requires
from ..labels import render
from ..labels.sheet import to_pdf
from ..labels.zpl import to_zpl
from . import service, steps
from .labels import lot_label
from .schemas import (
    LotListArgs,
    LotListSchema,
    LotSchema,
    PassageInSchema,
    PassageOutSchema,
    QcResultInSchema,
    QcResultOutSchema,
    UnblindedLotSchema,
)

blp = Blueprint("api_lots", __name__, url_prefix="/lots", description="Lots")


def lot_views(lots) -> list[dict]:
    """The lots as the API shows them, in order: their QC summaries, cell bank lots and
    release signatures are read with one query per kind for the whole list."""
    from ..qc.release import qc_summaries

    service.load_parents(lots)
    summaries = qc_summaries(lots)
    signatures = service.release_signatures(lots)
    return [_view(lot, summaries[lot.id], signatures.get(lot.id)) for lot in lots]


def lot_view(lot) -> dict:
    return lot_views([lot])[0]


def _view(lot, qc: dict, signature: Signature | None) -> dict:
    data = {
        "lot_id": lot.lot_id, "din": lot.din, "state": lot.state, "released_at": lot.released_at,
        "kind": lot.kind, "product_code": lot.product_code, "expires_at": lot.expires_at,
        "cell_bank": lot.parent.lot_id if lot.parent else None,
        "conditional_tests": lot.conditional_tests, "qc": qc,
        "release_signature": signature,
        "url": url_for("manufacturing.lot_page", lot_id=lot.lot_id, _external=True),
    }
    if not current_user.is_blinded:
        data |= {"cells_harvested": lot.cells_harvested, "cells_allocated": lot.cells_allocated,
                 "cells_left": lot.cells_left}
    return data


def _dump_all(lots) -> list[dict]:
    schema = LotSchema() if current_user.is_blinded else UnblindedLotSchema()
    return [schema.dump(view) for view in lot_views(lots)]


@blp.route("")
@requires("lot.read")
@blp.arguments(LotListArgs, location="query")
@blp.response(200, LotListSchema)
def list_lots(args):
    """Lots, oldest first, `limit` at a time; `next` is the following page's URL."""
    lots = service.list_lots(kind=args.get("kind"), state=args.get("state"),
                             after_id=args["after"], limit=args["limit"] + 1)
    page, more = lots[:args["limit"]], len(lots) > args["limit"]
    nxt = None
    if more:
        query = {k: v for k, v in args.items() if k in ("kind", "state", "limit")}
        nxt = url_for("api_lots.list_lots", after=page[-1].id, _external=True, **query)
    return Response(_json({"items": _dump_all(page), "next": nxt}),
                    mimetype="application/json")


def _json(data) -> str:
    from flask import json

    return json.dumps(data)


@blp.route("/<lot_id>")
@requires("lot.read")
@blp.response(200, UnblindedLotSchema)
def get_lot(lot_id: str):
    return Response(_json(_dump_all([service.get_lot(lot_id)])[0]),
                    mimetype="application/json")


@blp.route("/<lot_id>/passages", methods=["POST"])
@requires("lot.record")
@idempotent
@blp.arguments(PassageInSchema)
@blp.response(201, PassageOutSchema)
def record_passage(body, lot_id: str):
    from ..qc import service as qc

    lot = service.get_lot(lot_id)
    passage = steps.record_passage(
        lot, number=body.get("number"), seeded_at=body["seeded_at"],
        harvested_at=body["harvested_at"], vessels=body["vessels"],
        cells_seeded=body["cells_seeded"], cells_harvested=body["cells_harvested"],
        viability_pct=body["viability_pct"], confluence_pct=body["confluence_pct"],
        incubator=body["incubator"], by=current_user, materials_used=body["materials"],
        growth_reason=body.get("growth_reason"))
    row = steps.growth_of(lot)[0][-1]
    deviation = next((d.number for d in qc.deviations_of(lot) if d.passage_id == passage.id),
                     None)
    return {"lot": lot, "number": passage.number, "operator": current_user,
            "verified": False, "doublings": row.doublings,
            "doubling_time_hours": row.doubling_time_hours, "deviation": deviation}


@blp.route("/<lot_id>/qc-results", methods=["POST"])
@requires("qc.record")
@idempotent
@blp.arguments(QcResultInSchema)
@blp.response(201, QcResultOutSchema)
def record_qc_result(body, lot_id: str):
    from ..qc import service as qc

    lot = service.get_lot(lot_id)
    result = qc.record_result(
        lot, test=body["test"], value=body["value"], unit=body.get("unit"),
        method=body.get("method"), sample_id=body["sample_id"],
        instrument=body.get("instrument"), performed_at=body.get("performed_at"),
        sampled_at=body.get("sampled_at"), by=current_user)
    deviation = next((d.number for d in qc.deviations_of(lot) if d.qc_result_id == result.id),
                     None)
    return {"id": result.id, "test": result.test, "value_display": result.value_display,
            "criterion": result.criterion, "passed": result.passed, "deviation": deviation}


LABEL_TYPES = {"svg": "image/svg+xml", "png": "image/png", "pdf": "application/pdf",
               "zpl": "text/plain; charset=utf-8"}


@blp.route("/<lot_id>/label.<fmt>")
@requires("lot_label.read")
def label(lot_id: str, fmt: str):
    """The ISBT 128 lot label as SVG, PNG, PDF or ZPL (a preview, not a print)."""
    if fmt not in LABEL_TYPES:
        from ..core.errors import NotFound

        raise NotFound("Label formats: svg, png, pdf, zpl.")
    content = lot_label(service.get_lot(lot_id))
    body = {"svg": render.to_svg, "png": render.to_png, "zpl": to_zpl,
            "pdf": lambda c: to_pdf([c])}[fmt](content)
    return Response(body, mimetype=LABEL_TYPES[fmt])
