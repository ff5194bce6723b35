"""Trace pages: a scan box, the graph and the table, and the exports (SPEC 4.9)."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup

from ..core.db import utcnow
from ..core.errors import DomainError
from ..core.permissions import requires
from ..navigation import NavEntry
from . import export, graph, service

bp = Blueprint("trace", __name__, url_prefix="/trace")

NAV_ENTRIES = [NavEntry(_l("Trace"), "trace.trace_page", "trace.read")]

MIMETYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "pdf": "application/pdf",
    "svg": "image/svg+xml",
}


@bp.route("/")
@requires("trace.read")
def trace_page():
    identifier = request.args.get("q", "").strip()
    if not identifier:
        return render_template("trace/trace.html", identifier="", result=None)
    try:
        result = service.trace(identifier, reader=current_user)
    except DomainError as error:
        return render_template("trace/trace.html", identifier=identifier, result=None,
                               error=error.message), error.status
    svg = Markup(graph.to_svg(result, title=_("Trace of %(root)s", root=result.root)))
    return render_template("trace/trace.html", identifier=identifier, result=result, svg=svg,
                           rows=service.table(result))


@bp.route("/export.<any(csv, json, pdf, svg):fmt>")
@requires("trace.read")
def export_trace(fmt: str):
    identifier = request.args.get("q", "").strip()
    result = service.trace(identifier, reader=current_user)
    if fmt == "csv":
        body: str | bytes = export.to_csv(result)
    elif fmt == "json":
        body = export.to_json(result)
    elif fmt == "svg":
        body = graph.to_svg(result, title=_("Trace of %(root)s", root=result.root))
    else:
        body = export.to_pdf(result, reader_name=current_user.full_name, generated_at=utcnow())
    name = "trace-" + "".join(c if c.isalnum() else "-" for c in result.root)
    return Response(body, mimetype=MIMETYPES[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'})
