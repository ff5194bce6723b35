"""The infusion record (SPEC 4.8): end, volume, rate, vital signs, premedication, adverse
events and outcome; the next dose's window after it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask_babel import gettext as _

from ..core import audit
from ..core.clock import site_today
from ..core.db import utcnow
from ..core.errors import Conflict, DomainError, NotPermitted
from ..extensions import db
from .models import OUTCOMES, AdverseEvent, Infusion

if TYPE_CHECKING:
    from ..auth.models import User
    from ..trial.models import Dose

# Vital signs and their plausible ranges; values outside are typing errors, not findings.
VITALS = {
    "temperature_c": (30.0, 43.0),
    "heart_rate_bpm": (20, 250),
    "systolic_mmhg": (40, 300),
    "diastolic_mmhg": (20, 200),
    "respiratory_rate_per_min": (4, 80),
    "spo2_pct": (50, 100),
}


@dataclass(frozen=True)
class AdverseEventEntry:
    term: str
    grade: int
    serious: bool = False
    onset_at: datetime | None = None
    description: str | None = None


def clean_vitals(values: dict[str, Any] | None, *, when: str) -> dict[str, float]:
    cleaned: dict[str, float] = {}
    for name, value in (values or {}).items():
        if value is None or value == "":
            continue
        if name not in VITALS:
            raise DomainError(_("Unknown vital sign %(name)s.", name=name))
        low, high = VITALS[name]
        number = float(value)
        if not low <= number <= high:
            raise DomainError(_("%(when)s: %(name)s %(v)s is outside %(low)s to %(high)s.",
                                when=when, name=name.replace("_", " "), v=value, low=low,
                                high=high))
        cleaned[name] = number
    return cleaned


def add_adverse_event(infusion: Infusion, entry: AdverseEventEntry, *, by: User) -> AdverseEvent:
    """An adverse event with its CTCAE term and grade (1-5), serious or not."""
    if not by.can("infusion.record"):
        raise NotPermitted(_("Only a nurse records infusion adverse events."))
    term = (entry.term or "").strip()
    if not term:
        raise DomainError(_("Name the adverse event by its CTCAE term."))
    if entry.grade not in (1, 2, 3, 4, 5):
        raise DomainError(_("A CTCAE grade is 1 to 5."))
    event = AdverseEvent(infusion=infusion, term=term[:200], grade=entry.grade,
                         serious=bool(entry.serious), onset_at=entry.onset_at,
                         description=(entry.description or None) and entry.description[:1000],
                         recorded_by_id=by.id)
    db.session.add(event)
    audit.record(db.session, "infusion.adverse_event", ("infusion", str(infusion.id)), actor=by,
                 new={"term": event.term, "grade": event.grade, "serious": event.serious})
    return event


def end_infusion(
    infusion: Infusion, *, by: User, outcome: str, volume_infused_ml: float,
    rate_ml_per_h: float | None = None, ended_at: datetime | None = None,
    vitals_before: dict | None = None, vitals_after: dict | None = None,
    premedication: str | None = None, stop_reason: str | None = None,
    notes: str | None = None, adverse_events: list[AdverseEventEntry] = (),
) -> Infusion:
    """Record the end of the infusion; the bag becomes infused or stopped (SPEC 4.7)."""
    from ..bagging import service as bagging

    if not by.can("infusion.record"):
        raise NotPermitted(_("Only a nurse records infusions."))
    if infusion.ended_at is not None:
        raise Conflict(_("This infusion was already ended."))
    if outcome not in OUTCOMES:
        raise DomainError(_("The outcome is completed or stopped."))
    if outcome == "stopped" and not (stop_reason or "").strip():
        raise DomainError(_("Give the reason the infusion was stopped."),
                          field_errors={"stop_reason": [_("Required.")]})
    ended_at = ended_at or utcnow()
    if ended_at < infusion.started_at:
        raise DomainError(_("The infusion cannot end before it started."))
    bag = infusion.bag
    most = float(bag.volume_ml or 0) * 1.1 if bag.volume_ml else 2000.0
    if volume_infused_ml is None or not 0 <= volume_infused_ml <= most:
        raise DomainError(_("The volume infused is between 0 and %(most)s mL.",
                            most=round(most)))
    if rate_ml_per_h is not None and not 0 < rate_ml_per_h <= 2000:
        raise DomainError(_("The rate is between 0 and 2000 mL/h."))
    infusion.ended_at = ended_at
    infusion.ended_by_id = by.id
    infusion.outcome = outcome
    infusion.volume_infused_ml = float(volume_infused_ml)
    infusion.rate_ml_per_h = rate_ml_per_h
    infusion.vitals_before = clean_vitals(vitals_before, when=_("Before"))
    infusion.vitals_after = clean_vitals(vitals_after, when=_("After"))
    infusion.premedication = (premedication or "").strip()[:500] or None
    infusion.stop_reason = (stop_reason or "").strip()[:500] or None
    infusion.notes = (notes or "").strip() or None
    audit.record(db.session, "infusion.ended", infusion, actor=by, new={
        "outcome": outcome, "volume_infused_ml": infusion.volume_infused_ml,
        "rate_ml_per_h": rate_ml_per_h, "ended_at": ended_at,
        "vitals_before": infusion.vitals_before, "vitals_after": infusion.vitals_after,
        "premedication": infusion.premedication, "stop_reason": infusion.stop_reason,
    })
    for entry in adverse_events:
        add_adverse_event(infusion, entry, by=by)
    bagging.transition_bag(bag, "infused" if outcome == "completed" else "stopped", by=by,
                           reason=infusion.stop_reason or "infusion completed", at=ended_at)
    return infusion


def next_dose(infusion: Infusion) -> Dose | None:
    """The patient's next dose after this one, to show its window (SPEC 4.8)."""
    from ..trial import service as trial

    return trial.next_due_dose(infusion.patient, on=site_today())
