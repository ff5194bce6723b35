"""Everything that happened to a lot, in time order, from its records (lot page, batch record).

Downstream QC records (results, deviations, signatures) are read here too: the timeline is a
read model of the whole lot, used by the pages and the batch record only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..core.esign import signatures_for
from ..extensions import db
from .models import Lot, ProcessingStep
from .service import material_uses, transitions_of


@dataclass(frozen=True)
class Event:
    at: datetime
    what: str
    who: str


def _name(user) -> str:
    return user.full_name if user is not None else "system"


def timeline(lot: Lot) -> list[Event]:
    import sqlalchemy as sa

    from ..qc import service as qc

    c = lot.collection
    events = [Event(c.collected_at, f"Cord collected at {c.site} (DIN {c.din})", "-"),
              Event(c.received_at, f"Cord received: {c.receipt_condition}, "
                    f"{c.transport_temperature_c:g} °C in {c.transport_container}",
                    _name(c.received_by))]
    if c.decided_at:
        events.append(Event(c.decided_at, f"Collection {c.status}"
                            + (f": {c.rejection_reason}" if c.rejection_reason else ""),
                            _name(c.decided_by)))
    events.append(Event(lot.started_at, f"Lot {lot.lot_id} started", _name(lot.started_by)))
    for t in transitions_of(lot):
        text = f"State {t.from_state or '-'} → {t.to_state}"
        text += f" ({t.reason})" if t.reason else ""
        events.append(Event(t.at, text, _name(t.by)))
    steps = db.session.scalars(sa.select(ProcessingStep).where(ProcessingStep.lot_id == lot.id))
    for step in steps:
        events.append(Event(step.performed_at, f"Processing: {step.method}",
                            _name(step.operator)))
    for p in lot.passages:
        events.append(Event(p.harvested_at, f"Passage P{p.number}: {p.cells_seeded:.3g} → "
                            f"{p.cells_harvested:.3g} cells, viability {p.viability_pct:g} %, "
                            f"incubator {p.incubator}", _name(p.operator)))
        if p.verified_at:
            events.append(Event(p.verified_at, f"Passage P{p.number} verified", _name(p.verifier)))
    for use in material_uses(lot):
        events.append(Event(use.used_at, f"Material {use.material.code} ({use.material.name}, "
                            f"lot {use.material.supplier_lot}) used in {use.step}",
                            _name(use.used_by)))
    for vial in lot.vials:
        if vial.thawed_at:
            events.append(Event(vial.thawed_at, f"Vial {vial.label} thawed into "
                                f"{vial.thawed_into.lot_id if vial.thawed_into else '-'}", "-"))
    for r in qc.results_of(lot, include_void=True):
        events.append(Event(r.recorded_at, f"QC {r.test}: {r.value_display} "
                            f"({'pass' if r.passed else 'FAIL'} against {r.criterion})"
                            + (f" — void: {r.void_reason}" if r.voided_at else ""),
                            _name(r.recorded_by)))
        if r.reviewed_at:
            events.append(Event(r.reviewed_at, f"QC {r.test} reviewed", _name(r.reviewer)))
    for d in qc.deviations_of(lot):
        events.append(Event(d.opened_at, f"Deviation {d.number} opened: {d.title}", "-"))
        if d.closed_at:
            events.append(Event(d.closed_at, f"Deviation {d.number} closed: {d.disposition}",
                                _name(d.closed_by)))
    for s in signatures_for(db.session, "lot", lot.lot_id):
        events.append(Event(s.signed_at, f"Signed: {s.meaning_text}", s.printed_name))
    return sorted(events, key=lambda e: e.at)
