"""Follow-up reads shared by the follow-up services: patients followed, visits, labs, events."""

from __future__ import annotations

import sqlalchemy as sa

from ..core.clock import site_today
from ..core.errors import NotFound
from ..extensions import db
from ..trial import service as trial
from ..trial.models import Patient
from .models import ClinicalEvent, LabResult, Visit


def get_patient(subject_id: str) -> Patient:
    return trial.get_patient(subject_id)


def followed_patients() -> list[Patient]:
    """Patients whose day 0 has come: the ones with a follow-up.

    Read straight from the trial's table (one query) because the trial service pages its list
    by subject id and follow-up needs all of them at once, ordered the same way."""
    return list(db.session.scalars(
        sa.select(Patient).where(Patient.day0 <= site_today()).order_by(Patient.subject_id)
    ))


def visits_of(patient: Patient) -> list[Visit]:
    return list(db.session.scalars(
        sa.select(Visit).where(Visit.patient_id == patient.id).order_by(Visit.visit_week)
    ))


def completed_visits(patient: Patient) -> list[Visit]:
    return [v for v in visits_of(patient) if v.status == "completed"]


def get_visit(patient: Patient, visit_week: int) -> Visit:
    visit = db.session.scalar(
        sa.select(Visit).where(Visit.patient_id == patient.id, Visit.visit_week == visit_week)
    )
    if visit is None:
        raise NotFound(
            f"Patient {patient.subject_id} has no visit recorded at week {visit_week}."
        )
    return visit


def get_lab(lab_id: int) -> LabResult:
    lab = db.session.get(LabResult, lab_id)
    if lab is None:
        raise NotFound("No such lab result.")
    return lab


def events_of(patient: Patient, *, include_void: bool = False) -> list[ClinicalEvent]:
    query = sa.select(ClinicalEvent).where(ClinicalEvent.patient_id == patient.id)
    if not include_void:
        query = query.where(ClinicalEvent.voided_at.is_(None))
    return list(db.session.scalars(query.order_by(ClinicalEvent.onset_date, ClinicalEvent.id)))


def get_event(event_id: int) -> ClinicalEvent:
    event = db.session.get(ClinicalEvent, event_id)
    if event is None:
        raise NotFound("No such clinical event.")
    return event


def death_of(patient: Patient) -> ClinicalEvent | None:
    return db.session.scalar(
        sa.select(ClinicalEvent).where(
            ClinicalEvent.patient_id == patient.id, ClinicalEvent.kind == "death",
            ClinicalEvent.voided_at.is_(None),
        )
    )

