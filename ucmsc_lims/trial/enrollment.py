"""Enrollment and the end of participation (SPEC 4.4): eligibility item by item, the next
randomization number of the stratum, the dose schedule; withdrawal and death cancel the
remaining doses."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from ..auth.models import User
from ..core import audit
from ..core.clock import site_today
from ..core.db import utcnow
from ..core.errors import DomainError
from ..core.ids import ScanError, patient_code
from ..extensions import db
from . import allocations, eligibility
from .doses import _move, _require, schedule_for
from .models import Dose, Patient
from .states import OPEN_STATES


@dataclass(frozen=True)
class EnrollmentEntry:
    """What the investigator enters (SPEC 4.4)."""

    subject_id: str
    hospital_record_number: str
    initials: str
    date_of_birth: date
    site: str
    weight_kg: float
    stratum: str
    eligibility: Mapping[str, bool | None]
    contraindications: frozenset[str] = frozenset()
    day0: date | None = None


def _check_enrollment(form: EnrollmentEntry, today: date) -> list[str]:
    problems = []
    if not 20 <= form.weight_kg <= 250:
        problems.append("the weight must be between 20 and 250 kg")
    if form.date_of_birth >= today:
        problems.append("the date of birth must be in the past")
    elif (today - form.date_of_birth).days < 18 * 365:
        problems.append("the patient must be an adult (18 years or older)")
    if not form.initials.strip().isalpha() or not 2 <= len(form.initials.strip()) <= 4:
        problems.append("initials are 2 to 4 letters")
    if not form.hospital_record_number.strip():
        problems.append("the hospital record number is required")
    if not form.site.strip():
        problems.append("the site is required")
    if form.day0 is not None and form.day0 < today:
        problems.append("day 0 is the planned date of dose 1 and cannot be in the past")
    unknown = set(form.contraindications) - {key for key, _ in eligibility.CONTRAINDICATIONS}
    if unknown:
        problems.append(f"unknown contraindication: {', '.join(sorted(unknown))}")
    return problems


def eligibility_refusal(checklist: eligibility.Checklist, failed: list[eligibility.Item]) -> str:
    """Name every failing item, in the checklist's words (SPEC 4.4)."""
    parts = []
    unmet = [str(i.text) for i in failed if i.kind == "inclusion"]
    present = [str(i.text) for i in failed if i.kind == "exclusion"]
    if unmet:
        parts.append("inclusion criteria not met: " + "; ".join(unmet))
    if present:
        parts.append("exclusion criteria not answered 'no': " + "; ".join(present))
    return (f"The patient is not eligible under checklist {checklist.version}: "
            + ". ".join(parts) + ".")


def enroll_patient(form: EnrollmentEntry, *, by: User) -> Patient:
    """SPEC 4.4: check eligibility item by item, assign the next randomization number of the
    stratum, create the dose schedule. The arm is not shown: nothing returned names it."""
    _require(by, "patient.enroll", "Only an investigator enrolls patients.")
    subject_id = form.subject_id.strip()
    try:
        code = patient_code(subject_id)
    except ScanError as bad:
        raise DomainError(bad.message, field_errors={"subject_id": [bad.message]}) from None
    today = site_today()
    problems = _check_enrollment(form, today)
    if problems:
        raise DomainError("The patient was not enrolled: " + "; ".join(problems) + ".")
    checklist = eligibility.CURRENT
    failed = checklist.failing(form.eligibility)
    if failed:
        raise DomainError(eligibility_refusal(checklist, failed))
    if db.session.scalar(sa.select(Patient.id).where(Patient.subject_id == subject_id)):
        raise DomainError(f"Subject id {subject_id} is already enrolled.",
                          field_errors={"subject_id": ["Already enrolled."]})
    allocation = allocations.next_free(form.stratum)
    day0 = form.day0 or today
    contraindications = sorted(form.contraindications)
    patient = Patient(
        subject_id=subject_id, code=code,
        hospital_record_number=form.hospital_record_number.strip(),
        initials=form.initials.strip().upper(), date_of_birth=form.date_of_birth,
        site=form.site.strip(), weight_kg=float(form.weight_kg), stratum=form.stratum,
        randomization_number=allocation.randomization_number, status="active",
        heparin_contraindication=bool(
            set(contraindications) & eligibility.HEPARIN_CONTRAINDICATIONS),
        contraindications=json.dumps(contraindications),
        eligibility_version=checklist.version,
        eligibility_answers=json.dumps({i.key: bool(form.eligibility[i.key])
                                        for i in checklist.items}, sort_keys=True),
        day0=day0, enrolled_by_id=by.id,
    )
    db.session.add(patient)
    db.session.flush()
    allocation.patient_id = patient.id
    allocation.assigned_at = utcnow()
    for due in schedule_for(day0):
        db.session.add(Dose(
            patient_id=patient.id, dose_number=due.dose_number, due_on=due.due_on,
            window_start=due.window_start, window_end=due.window_end, state="scheduled",
        ))
    db.session.flush()
    db.session.refresh(patient, ["doses"])
    audit.record(db.session, "patient.enrolled", patient, actor=by, new={
        "subject_id": subject_id, "code": code, "site": patient.site,
        "stratum": patient.stratum, "randomization_number": patient.randomization_label,
        "weight_kg": patient.weight_kg, "day0": day0,
        "eligibility_version": checklist.version,
        "eligibility": json.loads(patient.eligibility_answers),
        "contraindications": contraindications,
        "doses": [{"dose_number": d.dose_number, "due_on": d.due_on,
                   "window_start": d.window_start, "window_end": d.window_end}
                  for d in patient.doses],
    })
    # SPEC 5: the entry that ties the patient to an arm is absent from the blinded trail.
    audit.record(db.session, "allocation.assigned", patient, actor=by, blinded_visible=False,
                 new={"randomization_number": patient.randomization_label,
                      "arm": allocation.arm})
    return patient



def _end_participation(patient: Patient, status: str, *, by: User, on: date,
                       reason: str) -> Patient:
    _require(by, "patient.status",
             "Only an investigator records a withdrawal or a death.")
    if patient.status != "active":
        raise DomainError(f"Patient {patient.subject_id} is already {patient.status}.")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("Give a reason.", field_errors={"reason": ["Required."]})
    if on > site_today():
        raise DomainError("The date cannot be in the future.",
                          field_errors={"on": ["Not in the future."]})
    patient.status = status
    patient.status_changed_on = on
    patient.status_reason = reason
    audit.record(db.session, f"patient.{status}", patient, actor=by, reason=reason,
                 old={"status": "active"}, new={"status": status, "on": on})
    for dose in patient.doses:
        if dose.state in OPEN_STATES:
            _move(dose, "cancelled", by=by, reason=f"patient {status}")
    return patient


def withdraw_patient(patient: Patient, *, by: User, on: date, reason: str) -> Patient:
    return _end_participation(patient, "withdrawn", by=by, on=on, reason=reason)


def record_death(patient: Patient, *, by: User, on: date, reason: str) -> Patient:
    return _end_participation(patient, "dead", by=by, on=on, reason=reason)
