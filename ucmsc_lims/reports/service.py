"""Reports: the audit trail exported with its chain verification (SPEC 5), redacted for blinded
readers exactly as the audit page is (audit.service says what a blinded reader may know)."""

from __future__ import annotations

import io
from datetime import datetime
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from ..audit.service import AuditFilter, ChainReport, filtered, to_the_second
from ..core import spreadsheet
from ..core.audit import AuditEntry
from ..core.clock import format_local
from ..extensions import db

# One export holds at most this many entries; narrow the filters for more.
MAX_EXPORT = 20000
MAX_PDF = 5000
CSV_COLUMNS = ("seq", "chain_seq", "at_utc", "user", "action", "entity_type", "entity_id",
               "old", "new", "reason", "request_id", "hash")
# A blinded reader's export: a running number of the export instead of the trail's sequence
# numbers, times to the second, no hashes.
BLINDED_CSV_COLUMNS = ("row", "at_utc", "user", "action", "entity_type", "entity_id", "old",
                       "new", "reason", "request_id")


def export_entries(filters: AuditFilter, *, blinded: bool,
                   limit: int = MAX_EXPORT) -> list[AuditEntry]:
    """Oldest first; for blinded readers only the entries they may read (SPEC 5)."""
    query = filtered(filters, blinded=blinded)
    return list(db.session.scalars(query.order_by(AuditEntry.id).limit(limit)))


def _checkpoint_line(report: ChainReport) -> list[str]:
    point = report.checkpoint
    if point is None:
        return ["checkpoint", "none yet"]
    where = [] if point.chain_seq is None else [f"chain_seq={point.chain_seq}"]
    return ["checkpoint", f"signed_at={point.at.isoformat()}", *where, f"mac={point.mac}"]


def audit_csv(entries: list[AuditEntry], report: ChainReport, generated_at: datetime, *,
              blinded: bool) -> str:
    """A first row with the chain verification, a second with the last signed checkpoint, a
    blank row, then the entries."""
    out = io.StringIO()
    writer = spreadsheet.writer(out)
    summary = ["chain_verification", "ok" if report.ok else "FAILED", report.message]
    if not blinded:
        summary += [f"entries={report.entries}", f"first_bad_seq={report.first_bad_seq or ''}"]
    writer.writerow([*summary, f"generated_at={generated_at.isoformat()}"])
    writer.writerow(_checkpoint_line(report))
    writer.writerow([])
    if blinded:
        writer.writerow(BLINDED_CSV_COLUMNS)
        for row, e in enumerate(entries, start=1):
            writer.writerow([row, to_the_second(e.at).isoformat(), e.username or "", e.action,
                             e.entity_type, e.entity_id or "", e.old or "", e.new or "",
                             e.reason or "", e.request_id or ""])
        return out.getvalue()
    writer.writerow(CSV_COLUMNS)
    for e in entries:
        writer.writerow([e.id, e.chain_seq or "", e.at.isoformat(), e.username or "", e.action,
                         e.entity_type, e.entity_id or "", e.old or "", e.new or "",
                         e.reason or "", e.request_id or "", e.hash or ""])
    return out.getvalue()


_STYLES = getSampleStyleSheet()


def _p(text: str, style: str = "BodyText") -> Paragraph:
    return Paragraph(escape(str(text)), _STYLES[style])


def _short(text: str | None, limit: int = 160) -> str:
    text = text or ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def audit_pdf(entries: list[AuditEntry], report: ChainReport, *, reader_name: str,
              blinded: bool, generated_at: datetime) -> bytes:
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=landscape(A4), title="Audit trail",
                            leftMargin=12 * mm, rightMargin=12 * mm)
    verdict = "Chain intact" if report.ok else "CHAIN BROKEN"
    counts = "" if blinded else f" {report.entries} entries in the trail" + (
        f"; first bad entry {report.first_bad_seq}" if report.first_bad_seq else "") + "."
    point = report.checkpoint
    anchor = "No signed checkpoint yet." if point is None else (
        f"Last signed checkpoint: {format_local(point.at, True)}"
        + ("" if point.chain_seq is None else f", chain position {point.chain_seq}")
        + f", MAC {point.mac}.")
    story = [
        _p("Audit trail", "Title"),
        _p(f"Chain verification: {verdict}. {report.message}{counts}"),
        _p(anchor),
        _p(f"Generated {format_local(generated_at, True)} for {reader_name}"
           + (" (blinded view: entries that would tie a bag to a lot, donor, material or arm "
              "are absent, and rows are numbered within this export)" if blinded else "")
           + "."),
        Spacer(1, 4 * mm),
    ]
    shown = entries[:MAX_PDF]
    rows = [["Row" if blinded else "Seq", "Time", "User", "Action", "Entity", "Change",
             "Reason"]]
    for number, e in enumerate(shown, start=1):
        change = " → ".join(x for x in (_short(e.old, 80), _short(e.new)) if x)
        at = to_the_second(e.at) if blinded else e.at
        rows.append([str(number if blinded else e.id), format_local(at, True),
                     e.username or "", e.action, f"{e.entity_type} {e.entity_id or ''}",
                     change, _short(e.reason, 120)])
    grid = Table([[_p(c) for c in r] for r in rows], repeatRows=1,
                 colWidths=[14 * mm, 38 * mm, 24 * mm, 38 * mm, 40 * mm, 80 * mm, 39 * mm])
    grid.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef2f7")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("FONTSIZE", (0, 0), (-1, -1), 7),
    ]))
    story.append(grid)
    if len(entries) > MAX_PDF:
        story.append(_p(f"Only the first {MAX_PDF} of {len(entries)} entries are printed; "
                        "narrow the filters or use the CSV export."))
    doc.build(story)
    return out.getvalue()
