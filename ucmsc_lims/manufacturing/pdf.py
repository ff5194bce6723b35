"""The batch record: one PDF per lot generated from its records, never typed (SPEC 4.3, 5).

Collection, donor eligibility, every step, material lots, results against specification,
deviations and signatures with their manifestation; a product batch's record includes a summary
of its cell bank's. Blinded readers' records end at release: no cells taken for bags.
"""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from ..core.clock import format_local
from ..core.esign import signatures_for
from ..extensions import db
from . import service, steps
from .models import Lot
from .timeline import timeline

STYLES = getSampleStyleSheet()


def _p(text: str, style: str = "BodyText") -> Paragraph:
    return Paragraph(escape(str(text)), STYLES[style])


def _table(rows: list[list], widths=None) -> Table:
    table = Table([[_p(c) if not isinstance(c, Paragraph) else c for c in row] for row in rows],
                  colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef2f7")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    return table


def _lot_sections(lot: Lot, *, blinded: bool) -> list:
    from ..donors.service import current_tests
    from ..qc import service as qc

    c, donor = lot.collection, lot.collection.donor
    story = [
        _p("Collection and donor", "Heading2"),
        _table([["DIN", "Collected", "Site", "Transport", "Received", "Status"],
                [c.din, format_local(c.collected_at), c.site,
                 f"{c.transport_container}, {c.transport_temperature_c:g} °C",
                 f"{format_local(c.received_at)} ({c.receipt_condition})", c.status]]),
        Spacer(1, 3 * mm),
        _p(f"Donor {donor.code}: eligibility {donor.eligibility}"
           + (f", determined by {donor.determined_by.full_name} on {donor.determined_on}"
              if donor.determined_by else "")
           + f". Consent {donor.consent_date} ({donor.consent_form_version})."),
        _table([["Test", "Result", "Tested on"]] + [
            [t, row.result, row.tested_on.isoformat()] for t, row in current_tests(donor).items()]),
        _p("Passages", "Heading2"),
    ]
    rows, _start = steps.growth_of(lot)
    story.append(_table([["P", "Seeded", "Harvested", "Cells in", "Cells out", "Viab. %",
                          "Confl. %", "Incubator", "PD", "Cum. PD", "Operator", "Verifier"]] + [
        [f"P{p.number}", format_local(p.seeded_at), format_local(p.harvested_at),
         f"{p.cells_seeded:.3g}", f"{p.cells_harvested:.3g}", f"{p.viability_pct:g}",
         f"{p.confluence_pct:g}", p.incubator, f"{r.doublings:.2f}", f"{r.cumulative:.2f}",
         p.operator.full_name, p.verifier.full_name if p.verifier else "NOT VERIFIED"]
        for p, r in zip(lot.passages, rows, strict=True)]))
    # SPEC 4.2: a doubling time outside the plausible range is recorded with its reason.
    story += [_p(f"P{p.number}: unusual growth recorded because: {p.growth_reason}")
              for p in lot.passages if p.growth_reason]
    story += [_p("Material lots used", "Heading2"), _table(
        [["Step", "Material", "Name", "Supplier lot", "Expires", "By"]] + [
            [u.step, u.material.code, u.material.name, u.material.supplier_lot,
             u.material.expires_on.isoformat(), u.used_by.full_name]
            for u in service.material_uses(lot)])]
    if lot.vials:
        stored = sum(1 for v in lot.vials if v.status == "stored")
        story.append(_p(f"Vials: {len(lot.vials)} banked, {stored} stored; positions "
                        + ", ".join(v.position for v in lot.vials[:40])))
    spec, items = qc.item_statuses(lot)
    story += [_p(f"Results against {spec.title} v{spec.version}", "Heading2"), _table(
        [["Test", "Specification", "Result", "Status", "Method / sample", "By / reviewer"]] + [
            [i.item.label, i.item.criterion, i.result.value_display if i.result else "missing",
             i.status, (f"{i.result.method} / {i.result.sample_id}"
                        + (f", sampled {format_local(i.result.sampled_at)}"
                           if i.result.sampled_at else "")) if i.result else "",
             (f"{i.result.recorded_by.full_name} {format_local(i.result.performed_at)} / "
              f"{i.result.reviewer.full_name if i.result.reviewer else 'not reviewed'}")
             if i.result else ""] for i in items])]
    deviations = qc.deviations_of(lot)
    story += [_p("Deviations", "Heading2"), _table(
        [["Number", "Title", "Investigation", "Disposition"]] + [
            [d.number, d.title, d.investigation or "", f"{d.state} {d.disposition or ''}"]
            for d in deviations])]
    signatures = signatures_for(db.session, "lot", lot.lot_id)
    story += [_p("Signatures", "Heading2"), _table(
        [["Signed by", "Meaning", "Time", "Content hash"]] + [
            [s.printed_name, s.meaning_text, format_local(s.signed_at, True),
             s.content_hash[:16] + "…"] for s in signatures])]
    if lot.conditional_tests:
        story.append(_p("CONDITIONAL RELEASE, tests pending at release: "
                        + ", ".join(lot.conditional_tests), "Heading3"))
    story += [_p("Timeline", "Heading2"), _table(
        [["Time", "Event", "By"]] + [[format_local(e.at), e.what, e.who]
                                     for e in timeline(lot)], widths=[40 * mm, 105 * mm, 35 * mm])]
    if not blinded and lot.cells_harvested:
        story.append(_p(f"Cells harvested {lot.cells_harvested:.3g}, "
                        f"allocated {lot.cells_allocated:.3g}."))
    return story


def batch_record_pdf(lot: Lot, *, blinded: bool = False) -> bytes:
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, title=f"Batch record {lot.lot_id}",
                            leftMargin=15 * mm, rightMargin=15 * mm)
    story = [
        _p(f"Batch record — lot {lot.lot_id}", "Title"),
        _p(f"{lot.kind.replace('_', ' ')}, DIN {lot.din}, product code {lot.product_code}, "
           f"state {lot.state}, released {format_local(lot.released_at) or '—'}, "
           f"expires {format_local(lot.expires_at) or '—'}."),
        _p("Generated from the records; not typed.", "Italic"),
    ]
    story += _lot_sections(lot, blinded=blinded)
    if lot.parent is not None:
        bank = lot.parent
        rows, _ = steps.growth_of(bank)
        signatures = signatures_for(db.session, "lot", bank.lot_id)
        story += [_p(f"Cell bank summary — lot {bank.lot_id}", "Heading1"),
                  _p(f"State {bank.state}; passages "
                     + ", ".join(f"P{r.number} ({r.cumulative:.2f} cum. PD)" for r in rows)
                     + f"; {len(bank.vials)} vials banked "
                     f"{format_local(bank.banked_at) or '—'}."),
                  _table([["Signed by", "Meaning", "Time"]] + [
                      [s.printed_name, s.meaning_text, format_local(s.signed_at, True)]
                      for s in signatures])]
    doc.build(story)
    return out.getvalue()
