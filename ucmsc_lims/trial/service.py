"""The trial's service (SPEC 4.4, 4.5): patients and doses as other domains read and move them.

Read queries live here. The actions live in `doses` (every dose state change, through
`transition_dose` and the actions beside it) and `enrollment` (enrollment, withdrawal,
death); they are re-exported so that other domains need only `trial.service`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ..core import esign
from ..core.clock import site_today
from ..core.errors import NotFound
from ..core.ids import parse_patient_code
from ..extensions import db
from .clearance import ClearanceReview, earliest_clearance, next_due_dose  # noqa: F401
from .clearance import review as clearance_review  # noqa: F401
from .doses import (  # noqa: F401  (the public actions of trial.service)
    clear_dose,
    mark_missed,
    postpone_dose,
    record_prepared_weight,
    reschedule_dose,
    schedule_for,
    transition_dose,
)
from .enrollment import (  # noqa: F401
    EnrollmentEntry,
    eligibility_refusal,
    enroll_patient,
    record_death,
    withdraw_patient,
)
from .models import Allocation, Dose, DosePostponement, Patient

PAGE_SIZE = 50
# States in which a dose is still on the day's work list (SPEC 4.5: the day's due doses).
ON_THE_DAY = ("scheduled", "cleared", "bag_ready", "verified", "infused")


# --- reading -----------------------------------------------------------------------------------


def get_patient(subject_id: str) -> Patient:
    patient = db.session.scalar(sa.select(Patient).where(Patient.subject_id == subject_id))
    if patient is None:
        raise NotFound(f"No patient with subject id {subject_id}.")
    return patient


def patient_by_code(code: str) -> Patient | None:
    """The patient a scanned wristband names, or None (a bad check character is a ScanError)."""
    subject_id = parse_patient_code(code)
    return db.session.scalar(sa.select(Patient).where(Patient.subject_id == subject_id))


def list_patients(*, page: int = 1, per_page: int = PAGE_SIZE, after: str | None = None,
                  before: str | None = None) -> tuple[list[Patient], bool]:
    """A page of patients by subject id (never by anything that could follow the arm), and
    whether another page follows in the direction read.

    `after` (or `before`) a subject id reads by key, as fast on the last page of a million as
    on the first; `page` counts from the start and is kept for callers that page by number.
    """
    query = sa.select(Patient).options(selectinload(Patient.doses))
    if before is not None:
        rows = list(db.session.scalars(
            query.where(Patient.subject_id < before).order_by(Patient.subject_id.desc())
            .limit(per_page + 1)))
        return rows[:per_page][::-1], len(rows) > per_page
    if after is not None:
        query = query.where(Patient.subject_id > after)
    else:
        query = query.offset((max(page, 1) - 1) * per_page)
    rows = list(db.session.scalars(query.order_by(Patient.subject_id).limit(per_page + 1)))
    return rows[:per_page], len(rows) > per_page


def arm_of(patient: Patient) -> str:
    """The patient's arm, "A" or "B". For unblinded services and unblinded readers only."""
    arm = db.session.scalar(sa.select(Allocation.arm).where(Allocation.patient_id == patient.id))
    if arm is None:
        raise NotFound(f"Patient {patient.subject_id} holds no allocation.")
    return arm


def arms_of(patients: Iterable[Patient]) -> dict[int, str]:
    """Arms of many patients in one query (unblinded pages)."""
    ids = [p.id for p in patients]
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(Allocation.patient_id, Allocation.arm).where(Allocation.patient_id.in_(ids))
    )
    return {patient_id: arm for patient_id, arm in rows}


def get_dose(subject_id: str, dose_number: int) -> Dose:
    patient = get_patient(subject_id)
    for dose in patient.doses:
        if dose.dose_number == dose_number:
            return dose
    raise NotFound(f"Patient {subject_id} has no dose {dose_number}.")


def doses_due_on(day: date) -> list[Dose]:
    """Doses of active patients due on `day` that are on that day's work list (not postponed,
    missed or cancelled), by subject id and dose number."""
    return list(db.session.scalars(
        sa.select(Dose).join(Dose.patient)
        .where(Dose.due_on == day, Dose.state.in_(ON_THE_DAY), Patient.status == "active")
        .order_by(Patient.subject_id, Dose.dose_number)
    ))


def weight_for_next_dose(patient: Patient, *, on: date | None = None) -> float:
    """SPEC 7: the weight the next dose is prepared for, else the patient's recorded weight."""
    dose = next_due_dose(patient, on=on or site_today())
    if dose is not None and dose.prepared_weight_kg is not None:
        return dose.prepared_weight_kg
    return patient.weight_kg


def postponements(dose: Dose) -> list[DosePostponement]:
    """UNBLINDED ONLY: they carry the true reasons."""
    return list(db.session.scalars(
        sa.select(DosePostponement).where(DosePostponement.dose_id == dose.id)
        .order_by(DosePostponement.postponed_at)
    ))


@dataclass(frozen=True)
class PostponementView:
    """A postponement as the reader may see it: `true_reason` is None for blinded readers."""

    dose_number: int
    postponed_at: object
    from_date: date
    to_date: date | None
    reason: str
    true_reason: str | None


def postponement_views(patient: Patient, *, blinded: bool) -> list[PostponementView]:
    """SPEC 4.5: blinded readers get the one blinded reason and never the true one."""
    rows = db.session.execute(
        sa.select(DosePostponement, Dose.dose_number).join(Dose)
        .where(Dose.patient_id == patient.id).order_by(DosePostponement.postponed_at)
    ).all()
    return [
        PostponementView(number, row.postponed_at, row.from_date, row.to_date,
                         row.blinded_reason, None if blinded else row.true_reason)
        for row, number in rows
    ]


def clearance_signature(dose: Dose) -> esign.Signature | None:
    if dose.clearance_signature_id is None:
        return None
    return db.session.get(esign.Signature, dose.clearance_signature_id)
