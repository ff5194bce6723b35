"""Demo study patients (SPEC 8): both arms, several with dose 1 due today and cleared.

The demo's allocation list is generated from a fixed seed so that the demo is the same on every
machine. A real study never does this: it generates from the secret seed
(`allocations.secret_seed()`: env RANDOMIZATION_SEED or the instance file), which is what
`generate_list` uses when no seed is given.
"""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from flask import current_app

from ..auth.models import User
from ..core.clock import site_today
from ..core.errors import DomainError
from ..extensions import db
from . import allocations, eligibility, service
from .models import Dose, Patient
from .states import FINAL_STATES

DEMO_SEED = bytes.fromhex("de" * 8 + "5eed" * 12)  # 32 fixed bytes: demo only
STRATA = ["CPA", "CPB"]
PER_STRATUM = 600
SITE = "01"
# SPEC 8: several patients of each arm with a cleared dose due today.
PER_ARM_TODAY = 4
_INITIALS = ["WL", "ZH", "LM", "CY", "HX", "SJ", "GQ", "LF", "MK", "TR", "YB", "DW"]
_WEIGHTS = [62.0, 71.5, 80.0, 55.5, 68.0, 76.0, 84.5, 59.0, 73.0, 66.5]


def _password() -> str:
    return current_app.config["DEMO_PASSWORD"]


def _next_subject_id() -> str:
    taken = db.session.scalars(
        sa.select(Patient.subject_id).where(Patient.subject_id.startswith(f"{SITE}-"))
    ).all()
    highest = max((int(s.split("-")[1]) for s in taken), default=0)
    return f"{SITE}-{highest + 1:03d}"


def _enroll(users: dict[str, User], *, day0: date, contraindications=frozenset()) -> Patient:
    number = db.session.scalar(sa.select(sa.func.count()).select_from(Patient)) or 0
    answers = {item.key: item.kind == "inclusion" for item in eligibility.CURRENT.items}
    form = service.EnrollmentEntry(
        subject_id=_next_subject_id(), hospital_record_number=f"H{880100 + number}",
        initials=_INITIALS[number % len(_INITIALS)],
        date_of_birth=date(1950 + number % 25, 1 + number % 12, 1 + number % 27), site=SITE,
        weight_kg=_WEIGHTS[number % len(_WEIGHTS)], stratum=STRATA[number % len(STRATA)],
        eligibility=answers, contraindications=frozenset(contraindications), day0=day0,
    )
    patient = service.enroll_patient(form, by=users["investigator"])
    db.session.flush()
    return patient


def _clear(users: dict[str, User], patient: Patient, dose_number: int) -> None:
    dose = next(d for d in patient.doses if d.dose_number == dose_number)
    service.clear_dose(dose, by=users["investigator"], password=_password(),
                       no_reaction_confirmed=True)
    db.session.flush()


def _cleared_today_by_arm(today: date) -> dict[str, int]:
    counts = {"A": 0, "B": 0}
    doses = [d for d in service.doses_due_on(today) if d.state != "scheduled"]
    arms = service.arms_of([d.patient for d in doses])
    for dose in doses:
        counts[arms[dose.patient_id]] += 1
    return counts


def _top_up_today(users: dict[str, User], today: date) -> None:
    """Enroll fresh patients with day 0 today and clear dose 1 until each arm has enough."""
    counts = _cleared_today_by_arm(today)
    for _ in range(6 * PER_ARM_TODAY):
        if min(counts.values()) >= PER_ARM_TODAY:
            return
        patient = _enroll(users, day0=today)
        arm = service.arm_of(patient)
        if counts[arm] >= PER_ARM_TODAY:
            continue  # enrolled, dose 1 left for the investigator to clear in the demo
        _clear(users, patient, 1)
        counts[arm] += 1


def seed(users: dict[str, User]) -> None:
    today = site_today()
    allocations.generate_list(by=users["pharmacist"], strata=STRATA, per_stratum=PER_STRATUM,
                              seed=DEMO_SEED)
    _top_up_today(users, today)
    # Patients due in a few days: one with a heparin contraindication (bags get ACD-A).
    _enroll(users, day0=today + timedelta(days=2))
    _enroll(users, day0=today + timedelta(days=2),
            contraindications={"heparin_induced_thrombocytopenia"})
    # A postponement, shown to blinded users only as "product not available".
    postponed = _enroll(users, day0=today + timedelta(days=1))
    service.postpone_dose(postponed.doses[0], by=users["pharmacist"],
                          true_reason="Demo: product batch QC results still pending.")
    # A withdrawn patient: the remaining doses are cancelled.
    withdrawn = _enroll(users, day0=today + timedelta(days=3))
    service.withdraw_patient(withdrawn, by=users["investigator"], on=today,
                             reason="Demo: patient withdrew consent.")
    db.session.flush()


def _close_passed_windows(users: dict[str, User], today: date) -> None:
    """Doses whose window ended on an earlier demo day are recorded as missed."""
    stale = db.session.scalars(
        sa.select(Dose).join(Dose.patient).where(
            Dose.window_end < today, Patient.status == "active",
            Dose.state.in_(("scheduled", "cleared", "bag_ready", "postponed")),
        )
    ).all()
    for dose in stale:
        service.mark_missed(dose, by=users["investigator"],
                            reason="Demo: window passed on an earlier day.")


def _clear_due_today(users: dict[str, User], today: date) -> None:
    """Later doses of demo patients that fall due today are cleared like dose 1."""
    for dose in service.doses_due_on(today):
        earlier_open = any(d.dose_number < dose.dose_number and d.state not in FINAL_STATES
                           for d in dose.patient.doses)
        if dose.state == "scheduled" and not earlier_open:
            try:
                service.clear_dose(dose, by=users["investigator"], password=_password(),
                                   no_reaction_confirmed=True)
            except DomainError:
                continue


def refresh_today(users: dict[str, User]) -> None:
    """SPEC 8: on any later day, several patients of each arm have a cleared dose due today."""
    if not {"investigator", "pharmacist"} <= set(users):
        return
    if not allocations.stored_strata():
        return
    today = site_today()
    _close_passed_windows(users, today)
    _clear_due_today(users, today)
    try:
        _top_up_today(users, today)
    except DomainError:
        # The demo list is exhausted after a long run of days; today keeps what it has.
        return
    db.session.flush()
