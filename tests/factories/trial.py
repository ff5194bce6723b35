"""Trial records built through the trial services."""

from __future__ import annotations

from datetime import date
from itertools import count

from ucmsc_lims.core.clock import site_today
from ucmsc_lims.extensions import db
from ucmsc_lims.trial import allocations, eligibility, service

DEMO_PASSWORD = "demo-password-123"
TEST_SEED = bytes(range(32))
_subjects = count(1)


def eligible_answers() -> dict[str, bool]:
    return {item.key: item.kind == "inclusion" for item in eligibility.CURRENT.items}


def make_allocation_list(users, *, strata=("CPA", "CPB"), per_stratum: int = 12,
                         seed: bytes = TEST_SEED):
    stored = allocations.generate_list(by=users["pharmacist"], strata=list(strata),
                                       per_stratum=per_stratum, seed=seed)
    db.session.flush()
    return stored


def next_subject_id() -> str:
    return f"01-{next(_subjects):03d}"


def enroll(users, *, subject_id: str | None = None, stratum: str = "CPA",
           day0: date | None = None, weight_kg: float = 70.0,
           contraindications: frozenset[str] = frozenset(), **answers: bool):
    form = service.EnrollmentEntry(
        subject_id=subject_id or next_subject_id(), hospital_record_number="H123456",
        initials="WL", date_of_birth=date(1961, 4, 2), site="01", weight_kg=weight_kg,
        stratum=stratum, eligibility={**eligible_answers(), **answers},
        contraindications=contraindications, day0=day0 or site_today(),
    )
    patient = service.enroll_patient(form, by=users["investigator"])
    db.session.flush()
    return patient


def clear(users, dose, password: str = DEMO_PASSWORD):
    service.clear_dose(dose, by=users["investigator"], password=password,
                       no_reaction_confirmed=True)
    db.session.flush()
    return dose
