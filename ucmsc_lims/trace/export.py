"""The trace as CSV, JSON and PDF (SPEC 4.9): the same nodes and edges the reader sees."""

from __future__ import annotations

import io
import json
from datetime import datetime
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from ..core import spreadsheet
from ..core.clock import format_local
from .service import Trace, table

CSV_COLUMNS = ("record", "id", "kind", "label", "status", "from", "to", "details")
_BASE_KEYS = {"id", "kind", "label", "status", "url"}


def _details(node_dict: dict) -> str:
    extra = {k: v for k, v in node_dict.items() if k not in _BASE_KEYS and v is not None}
    return "; ".join(f"{k}={v}" for k, v in extra.items())


def to_csv(result: Trace) -> str:
    """One row per node (`record` = node), then one per edge (`record` = edge)."""
    out = io.StringIO()
    writer = spreadsheet.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in table(result):
        data = row.node.as_dict()
        writer.writerow(["node", data["id"], data["kind"], data["label"],
                         data.get("status", ""), "", "", _details(data)])
    for edge in result.edges:
        writer.writerow(["edge", "", edge.kind, "", "", edge.source, edge.target, ""])
    return out.getvalue()


def to_json(result: Trace) -> str:
    return json.dumps(result.as_dict(), ensure_ascii=False, indent=2)


_STYLES = getSampleStyleSheet()


def _p(text: str, style: str = "BodyText") -> Paragraph:
    return Paragraph(escape(str(text)), _STYLES[style])


def to_pdf(result: Trace, *, reader_name: str, generated_at: datetime) -> bytes:
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=landscape(A4), title=f"Trace {result.root}",
                            leftMargin=12 * mm, rightMargin=12 * mm)
    view = "BLINDED view (SPEC 4.9 masking applied)" if result.blinded else "Unblinded view"
    story = [
        _p(f"Trace of {result.root}", "Title"),
        _p(f"Identifier entered: {result.identifier}. {view}. Generated "
           f"{format_local(generated_at, True)} for {reader_name}. "
           f"{len(result.nodes)} records, {len(result.edges)} links."),
        Spacer(1, 4 * mm),
    ]
    rows = [["Kind", "Record", "Status", "Upstream", "Downstream", "Details"]]
    for row in table(result):
        data = row.node.as_dict()
        rows.append([data["kind"].replace("_", " "), data["label"], data.get("status", ""),
                     ", ".join(row.upstream), ", ".join(row.downstream), _details(data)])
    widths = [24 * mm, 50 * mm, 22 * mm, 50 * mm, 50 * mm, 77 * mm]
    grid = Table([[_p(c) for c in r] for r in rows], colWidths=widths, repeatRows=1)
    grid.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef2f7")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    story.append(grid)
    doc.build(story)
    return out.getvalue()
