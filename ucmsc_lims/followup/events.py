"""Clinical events and survival (SPEC 4.10): complications, adverse events, death.

Complications (variceal bleeding, infection, hepatocellular carcinoma, transplant) and adverse
events (CTCAE term and grade, serious or not, optionally the infusion they followed) are dated
events of a patient; a death is one too, with its cause, and ends the visit schedule. Nothing is
deleted: an event recorded in error is voided with a reason.

An adverse event the nurse records at an infusion comes here too (bedside.infusions), so it is
one record wherever it is read. The investigator assesses an adverse event (causality and a
reason); a serious one unassessed blocks the clearance of the next dose (SPEC 4.4).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..auth.models import User
from ..bedside.models import Infusion
from ..core import audit
from ..core.clock import local, site_today
from ..core.db import utcnow
from ..core.errors import Conflict, DomainError, NotPermitted
from ..extensions import db
from ..trial import service as trial
from ..trial.models import Patient
from .lock import check_unlocked
from .models import CAUSALITIES, EVENT_KINDS, ClinicalEvent, Visit
from .reads import completed_visits, death_of, events_of, visits_of

EVENT_LABELS = {
    "variceal_bleeding": "Variceal bleeding",
    "infection": "Infection",
    "hepatocellular_carcinoma": "Hepatocellular carcinoma",
    "transplant": "Liver transplant",
    "adverse_event": "Adverse event",
    "death": "Death",
}
# The NCI attribution scale, as the investigator reads it: related to the study infusion.
CAUSALITY_LABELS = {
    "unrelated": _l("Unrelated to the study infusion"),
    "unlikely": _l("Unlikely related"),
    "possible": _l("Possibly related"),
    "probable": _l("Probably related"),
    "definite": _l("Definitely related"),
}
# The clinical events recorded through the event form; death has its own (date and cause).
RECORDABLE_EVENTS = tuple(kind for kind in EVENT_KINDS if kind != "death")


@dataclass(frozen=True)
class Survival:
    """Alive at the last contact, or dead on a date of a cause (SPEC 1: the primary interest)."""

    dead: bool
    last_contact: date
    died_on: date | None
    cause: str | None


def survival_of(patient: Patient) -> Survival:
    death = death_of(patient)
    if death is not None:
        return Survival(True, death.onset_date, death.onset_date, death.description)
    contacts = [patient.day0]
    contacts += [v.visit_date for v in visits_of(patient) if v.visit_date is not None]
    contacts += [e.onset_date for e in events_of(patient)]
    return Survival(False, max(contacts), None, None)


def survival_times() -> list[tuple[float, bool]]:
    """(days from day 0, died) of every followed patient, for the overall Kaplan-Meier curve.

    Alive patients are censored at their last contact: day 0, a visit or a recorded event.
    Three queries of plain rows whatever the number of patients (a study of 333,000 patients
    reads in about a second; as ORM entities it took most of a minute).
    """
    day0: dict[int, date] = {pid: start for pid, start in db.session.execute(
        sa.select(Patient.id, Patient.day0).where(Patient.day0 <= site_today()))}
    last = dict(day0)
    for patient_id, latest in db.session.execute(
        sa.select(Visit.patient_id, sa.func.max(Visit.visit_date)).group_by(Visit.patient_id)
    ):
        if patient_id in last and latest is not None:
            last[patient_id] = max(last[patient_id], latest)
    deaths: dict[int, date] = {}
    for patient_id, kind, onset in db.session.execute(
        sa.select(ClinicalEvent.patient_id, ClinicalEvent.kind, ClinicalEvent.onset_date)
        .where(ClinicalEvent.voided_at.is_(None))
    ):
        if patient_id not in last:
            continue
        if kind == "death":
            deaths[patient_id] = onset
        else:
            last[patient_id] = max(last[patient_id], onset)
    return [(float((deaths.get(pid, end) - day0[pid]).days), pid in deaths)
            for pid, end in last.items()]


def _check_event_fields(
    kind: str, onset_date: date, term: str | None, grade: int | None, patient: Patient
) -> None:
    if kind not in RECORDABLE_EVENTS:
        raise DomainError(_("Unknown kind of clinical event '%(kind)s'.", kind=kind),
                          field_errors={"kind": [_("Unknown kind.")]})
    if onset_date > site_today():
        raise DomainError(_("The date %(day)s is in the future.", day=onset_date),
                          field_errors={"onset_date": [_("In the future.")]})
    if onset_date < patient.day0:
        raise DomainError(
            _("The date %(day)s is before day 0 (%(day0)s); earlier history belongs to the "
              "enrollment record.", day=onset_date, day0=patient.day0),
            field_errors={"onset_date": [_("Before day 0.")]},
        )
    death = death_of(patient)
    if death is not None and onset_date > death.onset_date:
        raise DomainError(
            _("Patient %(subject)s died on %(day)s; no event can start after that.",
              subject=patient.subject_id, day=death.onset_date),
            field_errors={"onset_date": [_("After the date of death.")]},
        )
    if kind == "adverse_event":
        if not (term or "").strip():
            raise DomainError(_("An adverse event needs its CTCAE term."),
                              field_errors={"term": [_("Required for an adverse event.")]})
        if grade is None or not 1 <= grade <= 5:
            raise DomainError(_("An adverse event needs its CTCAE grade, 1 to 5."),
                              field_errors={"grade": [_("1 to 5.")]})
    elif grade is not None and not 1 <= grade <= 5:
        raise DomainError(_("A CTCAE grade is 1 to 5."), field_errors={"grade": [_("1 to 5.")]})


def _check_infusion(infusion_id: int, onset_date: date, patient: Patient) -> None:
    """The infusion an event followed is one of this patient's, and came first."""
    infusion = db.session.get(Infusion, infusion_id)
    if infusion is None or infusion.patient_id != patient.id:
        raise DomainError(
            _("Patient %(subject)s had no infusion %(id)s.", subject=patient.subject_id,
              id=infusion_id),
            field_errors={"infusion_id": [_("Not an infusion of this patient.")]})
    started_on = local(infusion.started_at).date()
    if onset_date < started_on:
        raise DomainError(
            _("Infusion %(id)s started on %(day)s, after the date %(onset)s.", id=infusion_id,
              day=started_on, onset=onset_date),
            field_errors={"onset_date": [_("Before the infusion.")]})


def record_event(
    patient: Patient,
    *,
    kind: str,
    onset_date: date,
    by: User,
    term: str | None = None,
    grade: int | None = None,
    serious: bool = False,
    infusion_id: int | None = None,
    description: str | None = None,
    onset_at: datetime | None = None,
) -> ClinicalEvent:
    """A complication (variceal bleeding, infection, HCC, transplant) or an adverse event
    (CTCAE term and grade, serious or not, optionally the infusion it followed, and the time
    of onset when known)."""
    check_unlocked()
    _check_event_fields(kind, onset_date, term, grade, patient)
    if infusion_id is not None:
        _check_infusion(infusion_id, onset_date, patient)
    event = ClinicalEvent(
        patient_id=patient.id, kind=kind, onset_date=onset_date, onset_at=onset_at,
        term=(term or "").strip() or None, grade=grade, serious=serious,
        infusion_id=infusion_id, description=(description or "").strip() or None,
        recorded_by_id=by.id,
    )
    db.session.add(event)
    audit.record(db.session, "followup.event_recorded", event, actor=by, new={
        "subject_id": patient.subject_id, "kind": kind, "onset_date": onset_date,
        "onset_at": onset_at, "term": event.term, "grade": grade, "serious": serious,
        "infusion_id": infusion_id, "description": event.description,
    })
    return event


def assess_adverse_event(
    event: ClinicalEvent, *, causality: str, reason: str, by: User
) -> ClinicalEvent:
    """The investigator's assessment of an adverse event: its causality and the reasoning
    (SPEC 4.4: a serious adverse event blocks the next clearance until it is assessed).
    Assessed once; the audit trail keeps who, when and what."""
    if not by.can("followup.record"):
        raise NotPermitted(_("Only an investigator assesses an adverse event."))
    check_unlocked()
    if event.kind != "adverse_event":
        raise DomainError(_("Only an adverse event is assessed."))
    if event.voided_at is not None:
        raise Conflict(_("This adverse event is void: there is nothing to assess."))
    if event.assessed_at is not None:
        raise Conflict(_("This adverse event was already assessed on %(day)s by %(who)s.",
                         day=local(event.assessed_at).date(), who=event.assessed_by.full_name))
    if causality not in CAUSALITIES:
        raise DomainError(_("Choose the causality."),
                          field_errors={"causality": [_("Choose one.")]})
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Give the reasoning of your assessment."),
                          field_errors={"reason": [_("Required.")]})
    event.assessed_at = utcnow()
    event.assessed_by_id = by.id
    event.causality = causality
    event.assessment = reason
    db.session.flush()
    audit.record(db.session, "followup.adverse_event_assessed", event, actor=by, reason=reason,
                 new={"subject_id": event.patient.subject_id, "term": event.term,
                      "grade": event.grade, "serious": event.serious, "causality": causality})
    return event


def record_death(patient: Patient, *, died_on: date, cause: str, by: User) -> ClinicalEvent:
    """Survival status (SPEC 4.10): the date and cause of death; visits stop after it.

    An active patient's trial status becomes dead through the trial service (which cancels the
    doses still open); a withdrawn patient's death is still recorded here, for survival."""
    check_unlocked()
    if not cause.strip():
        raise DomainError(_("Give the cause of death (or 'unknown')."),
                          field_errors={"cause": [_("Required.")]})
    if death_of(patient) is not None:
        raise Conflict(_("The death of patient %(subject)s is already recorded.",
                         subject=patient.subject_id))
    if died_on > site_today() or died_on < patient.day0:
        raise DomainError(
            _("The date of death must lie between day 0 (%(day0)s) and today.",
              day0=patient.day0),
            field_errors={"died_on": [_("Out of range.")]},
        )
    last_visit = max((v.visit_date for v in completed_visits(patient)), default=None)
    if last_visit is not None and died_on < last_visit:
        raise DomainError(
            _("A visit was recorded on %(visit)s, after the date of death %(died)s.",
              visit=last_visit, died=died_on),
            field_errors={"died_on": [_("Before the last visit.")]},
        )
    if patient.status == "active":
        trial.record_death(patient, by=by, on=died_on, reason=cause.strip())
    event = ClinicalEvent(patient_id=patient.id, kind="death", onset_date=died_on,
                          description=cause.strip(), recorded_by_id=by.id)
    db.session.add(event)
    audit.record(db.session, "followup.death_recorded", event, actor=by, new={
        "subject_id": patient.subject_id, "died_on": died_on, "cause": cause.strip(),
    })
    return event


def void_event(event: ClinicalEvent, *, reason: str, by: User) -> ClinicalEvent:
    """An event recorded in error is voided with a reason and kept."""
    check_unlocked()
    if event.voided_at is not None:
        raise Conflict(_("This event is already void."))
    if not reason.strip():
        raise DomainError(_("Voiding an event needs a reason."),
                          field_errors={"reason": [_("Required.")]})
    event.voided_at = utcnow()
    event.void_reason = reason.strip()
    audit.record(db.session, "followup.event_voided", event, actor=by, reason=reason.strip(),
                 old={"kind": event.kind, "onset_date": event.onset_date}, new={"void": True})
    return event

