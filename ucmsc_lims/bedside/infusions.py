"""The infusion record (SPEC 4.8): end, volume, rate, vital signs, premedication, adverse
events and outcome; the next dose's window after it.

An adverse event seen at the infusion is recorded as the patient's adverse event (follow-up's
clinical event, linked to this infusion), so the patient's events, the export, the trace and
the investigator's clearance of the next dose all read the one record (SPEC 4.4, 4.10).

Vital signs stay one JSON object before and one after: the keys come from the fixed catalogue
below (each with its unit and plausible range, checked at write), so typed columns would add a
migration and twelve columns without adding a check.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..core import audit
from ..core.clock import local, site_today
from ..core.db import utcnow
from ..core.errors import Conflict, DomainError, NotPermitted
from ..extensions import db
from ..followup import events as followup_events
from ..followup.models import ClinicalEvent
from .models import OUTCOMES, Infusion

if TYPE_CHECKING:
    from ..auth.models import User
    from ..trial.models import Dose


@dataclass(frozen=True)
class VitalSign:
    """A vital sign as the page shows it, with its unit and plausible range: a value outside
    the range is a typing error, not a finding."""

    label: str
    unit: str
    low: float
    high: float


# SPEC 4.8: the pre- and post-infusion vital signs, by the key stored.
VITALS = {
    "temperature_c": VitalSign(_l("Temperature"), "°C", 30.0, 43.0),
    "heart_rate_bpm": VitalSign(_l("Heart rate"), "/min", 20, 250),
    "systolic_mmhg": VitalSign(_l("Systolic blood pressure"), "mmHg", 40, 300),
    "diastolic_mmhg": VitalSign(_l("Diastolic blood pressure"), "mmHg", 20, 200),
    "respiratory_rate_per_min": VitalSign(_l("Respiratory rate"), "/min", 4, 80),
    "spo2_pct": VitalSign(_l("SpO2"), "%", 50, 100),
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
        sign = VITALS[name]
        number = float(value)
        if not sign.low <= number <= sign.high:
            raise DomainError(_("%(when)s: %(name)s %(v)s %(unit)s is outside %(low)s to "
                                "%(high)s %(unit)s.", when=when, name=sign.label, v=value,
                                unit=sign.unit, low=sign.low, high=sign.high))
        cleaned[name] = number
    return cleaned


@dataclass(frozen=True)
class VitalRow:
    label: str
    unit: str
    before: float | None
    after: float | None


def vital_rows(infusion: Infusion) -> list[VitalRow]:
    """Each vital sign measured before the start or after the end, with its unit."""
    before, after = infusion.vitals_before or {}, infusion.vitals_after or {}
    return [VitalRow(sign.label, sign.unit, before.get(name), after.get(name))
            for name, sign in VITALS.items() if name in before or name in after]


def add_adverse_event(infusion: Infusion, entry: AdverseEventEntry, *,
                      by: User) -> ClinicalEvent:
    """An adverse event seen at or after this infusion, with its CTCAE term and grade (1-5),
    serious or not: recorded as the patient's adverse event, linked to the infusion."""
    if not by.can("infusion.record"):
        raise NotPermitted(_("Only a nurse records infusion adverse events."))
    if not (entry.term or "").strip():
        raise DomainError(_("Name the adverse event by its CTCAE term."))
    if entry.grade not in (1, 2, 3, 4, 5):
        raise DomainError(_("A CTCAE grade is 1 to 5."))
    onset_at = entry.onset_at
    if onset_at is not None and onset_at < infusion.started_at:
        raise DomainError(_("The adverse event cannot start before the infusion started."))
    if onset_at is not None and onset_at > utcnow():
        raise DomainError(_("The onset of the adverse event is in the future."))
    event = followup_events.record_event(
        infusion.patient, kind="adverse_event",
        onset_date=local(onset_at).date() if onset_at is not None else site_today(),
        onset_at=onset_at, term=entry.term.strip()[:200], grade=entry.grade,
        serious=bool(entry.serious), infusion_id=infusion.id,
        description=(entry.description or "").strip()[:1000] or None, by=by)
    db.session.flush()
    db.session.expire(infusion, ["adverse_events"])  # a read-only view of these records
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
    infusion.vitals_before = clean_vitals(vitals_before, when=_("Before the start"))
    infusion.vitals_after = clean_vitals(vitals_after, when=_("After the end"))
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
