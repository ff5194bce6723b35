"""What the investigator's clearance of a dose rests on (SPEC 4.4): which dose, from when, and
the adverse events it reviews.

A dose is cleared only as the patient's next dose due, and only from the protocol's
`clearance_lead_days` before its window opens: a signature weeks ahead would vouch for a
patient nobody has seen since the last infusion. The clearance reviews every adverse event of
the patient since the last dose (those the nurse recorded at the infusion are the same
records), and every serious one not yet assessed, whenever it began; a serious adverse event
blocks the clearance until the investigator has assessed it.

Reads only: `doses.clear_dose` asks `refusal` before it signs, and the clearance page shows the
same answer before the investigator types a password. Nothing here differs by arm.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from ..bedside.models import Infusion
from ..core.clock import local
from ..extensions import db
from ..followup.models import ClinicalEvent
from ..protocol import service as protocol
from .models import Dose, Patient
from .states import FINAL_STATES, OPEN_STATES


def next_due_dose(patient: Patient, *, on: date) -> Dose | None:
    """The lowest-numbered dose still to be given whose window has not ended by `on`.

    A dose whose window ended without an infusion is overdue, not due: it is skipped here and
    is recorded as missed.
    """
    for dose in patient.doses:
        if dose.state in OPEN_STATES and dose.window_end >= on:
            return dose
    return None


def earliest_clearance(dose: Dose, *, today: date) -> date:
    """The first day this dose may be cleared: the protocol's lead before its window opens
    (the setting in force today, when the investigator signs)."""
    return dose.window_start - timedelta(days=protocol.value("clearance_lead_days", today))


def last_infusion(patient: Patient) -> Infusion | None:
    return db.session.scalar(
        sa.select(Infusion).where(Infusion.patient_id == patient.id)
        .order_by(Infusion.started_at.desc()).limit(1)
    )


@dataclass(frozen=True)
class ClearanceReview:
    """Everything the clearance page shows and the signature is bound to."""

    dose: Dose
    earliest: date
    last_infusion: Infusion | None
    # Adverse events since the last dose, and serious ones still unassessed, by onset.
    adverse_events: list[ClinicalEvent]
    refusal: str | None

    @property
    def since(self) -> date:
        if self.last_infusion is None:
            return self.dose.patient.day0
        return local(self.last_infusion.started_at).date()

    @property
    def awaiting_assessment(self) -> list[ClinicalEvent]:
        return [e for e in self.adverse_events if e.awaits_assessment]


def adverse_events_to_review(patient: Patient, last: Infusion | None) -> list[ClinicalEvent]:
    """Adverse events since the last dose (its day, or any linked to its infusion), and every
    serious one not yet assessed; voided ones are left out."""
    since = patient.day0 if last is None else local(last.started_at).date()
    recent = ClinicalEvent.onset_date >= since
    if last is not None:
        recent = sa.or_(recent, ClinicalEvent.infusion_id == last.id)
    unassessed = sa.and_(ClinicalEvent.serious.is_(True), ClinicalEvent.assessed_at.is_(None))
    return list(db.session.scalars(
        sa.select(ClinicalEvent).where(
            ClinicalEvent.patient_id == patient.id, ClinicalEvent.kind == "adverse_event",
            ClinicalEvent.voided_at.is_(None), sa.or_(recent, unassessed))
        .order_by(ClinicalEvent.onset_date, ClinicalEvent.id)
    ))


def _describe(event: ClinicalEvent) -> str:
    return _("%(term)s (grade %(grade)s, from %(day)s)", term=event.term, grade=event.grade,
             day=event.onset_date.isoformat())


def _refusal(dose: Dose, today: date, earliest: date, events: list[ClinicalEvent]) -> str | None:
    """The first reason, in plain words, that this dose cannot be cleared today."""
    patient = dose.patient
    if patient.status != "active":
        return _("Patient %(subject)s is %(status)s: no dose is cleared.",
                 subject=patient.subject_id, status=patient.status)
    if dose.state != "scheduled":
        return _("Dose %(n)s is %(state)s: only a scheduled dose is cleared.",
                 n=dose.dose_number, state=dose.state)
    if dose.window_end < today:
        return _("Dose %(n)s's window ended on %(day)s: it cannot be cleared.",
                 n=dose.dose_number, day=dose.window_end.isoformat())
    earlier = [d for d in patient.doses
               if d.dose_number < dose.dose_number and d.state not in FINAL_STATES]
    if earlier:
        return _("Dose %(earlier)s is still %(state)s: doses are cleared in order, the next "
                 "dose due first.", earlier=earlier[0].dose_number, state=earlier[0].state)
    if today < earliest:
        return _("Dose %(n)s may be cleared from %(earliest)s, %(lead)s days before its window "
                 "opens on %(opens)s; today is %(today)s.", n=dose.dose_number,
                 earliest=earliest.isoformat(), lead=(dose.window_start - earliest).days,
                 opens=dose.window_start.isoformat(), today=today.isoformat())
    blocking = [e for e in events if e.awaits_assessment]
    if blocking:
        return _("Serious adverse event not yet assessed: %(events)s. Record your assessment "
                 "of it before clearing dose %(n)s.",
                 events="; ".join(_describe(e) for e in blocking), n=dose.dose_number)
    return None


def review(dose: Dose, *, today: date) -> ClearanceReview:
    patient = dose.patient
    last = last_infusion(patient)
    events = adverse_events_to_review(patient, last)
    earliest = earliest_clearance(dose, today=today)
    return ClearanceReview(dose, earliest, last, events,
                           _refusal(dose, today, earliest, events))
