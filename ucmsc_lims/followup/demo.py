"""Demo follow-up (SPEC 8): patients enrolled months ago, with completed visits, labs, events.

The trial's demo enrolls today's patients; follow-up needs patients whose day 0 lies in the past.
They are enrolled here through the trial service with the site's clock set back to their day 0
(`clock.as_of`), at a second demo site ("02") so their subject ids never meet the trial demo's.
Their doses are left as the trial service planned them (the trial demo's daily refresh records
doses whose window passed as missed); the bedside domain owns infusions.
"""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from ..auth.models import User
from ..core.clock import as_of, site_today
from ..extensions import db
from ..trial import allocations, eligibility
from ..trial import service as trial
from ..trial.models import Patient
from . import service

SITE = "02"
STRATA = ("CPA", "CPB")
# days since day 0: long follow-up, one visit due today, one overdue, one recent
DAYS_SINCE_DAY0 = (420, 350, 300, 190, 12 * 7 + 2, 12 * 7 + 10)
# Units as each site's laboratory writes them: SI at one, conventional at the other.
SI_UNITS = {"BILI": "umol/L", "ALB": "g/L", "CREAT": "umol/L", "HGB": "g/L", "PREALB": "mg/L"}
CONVENTIONAL = {"BILI": "mg/dL", "ALB": "g/dL", "CREAT": "mg/dL", "HGB": "g/dL",
                "PREALB": "mg/dL"}


def _labs(patient_index: int, visit_index: int) -> list[tuple[str, str, str]]:
    """Plausible cirrhosis labs that drift a little from visit to visit."""
    drift = (visit_index % 4) - 1.5
    severity = patient_index % 3  # 0 compensated, 2 decompensated
    bili = 1.1 + 0.9 * severity + 0.15 * drift  # mg/dL
    alb = 3.8 - 0.5 * severity - 0.05 * drift  # g/dL
    creat = 0.8 + 0.2 * severity + 0.03 * drift  # mg/dL
    hgb = 13.2 - 1.1 * severity  # g/dL
    prealb = 21.0 - 5 * severity  # mg/dL
    si = patient_index % 2 == 0
    unit = SI_UNITS if si else CONVENTIONAL
    values = {
        "BILI": bili * 17.1 if si else bili,
        "ALB": alb * 10 if si else alb,
        "CREAT": creat * 88.4 if si else creat,
        "HGB": hgb * 10 if si else hgb,
        "PREALB": prealb * 10 if si else prealb,
    }
    inr = 1.1 + 0.3 * severity + 0.02 * drift
    return [
        ("ALT", f"{38 + 9 * severity - 2 * drift:.0f}", "U/L"),
        ("BILI", f"{values['BILI']:.1f}", unit["BILI"]),
        ("PT", f"{12.6 + 3.1 * severity + 0.2 * drift:.1f}", "s"),
        ("INR", f"{inr:.2f}", ""),
        ("ALB", f"{values['ALB']:.1f}", unit["ALB"]),
        ("PREALB", f"{values['PREALB']:.0f}", unit["PREALB"]),
        ("CREAT", f"{values['CREAT']:.2f}", unit["CREAT"]),
        ("SODIUM", f"{138 - 2 * severity + drift:.0f}", "mmol/L"),
        ("WBC", f"{5.1 - 0.6 * severity:.1f}", "10^9/L"),
        ("HGB", f"{values['HGB']:.0f}" if si else f"{values['HGB']:.1f}", unit["HGB"]),
        ("PLAT", f"{142 - 28 * severity + 3 * drift:.0f}", "10^9/L"),
    ]


def _enroll_in_the_past(users: dict[str, User], index: int, day0: date) -> Patient:
    answers = {item.key: item.kind == "inclusion" for item in eligibility.CURRENT.items}
    form = trial.EnrollmentEntry(
        subject_id=f"{SITE}-{index + 1:03d}", hospital_record_number=f"H{770200 + index}",
        initials=("QY", "LS", "WJ", "ZN", "HB", "XT")[index % 6],
        date_of_birth=date(1952 + 3 * index, 1 + index, 5 + index), site=SITE,
        weight_kg=(64.0, 72.5, 58.0, 81.0, 69.5, 75.0)[index % 6],
        stratum=STRATA[index % 2], eligibility=answers, day0=day0,
    )
    with as_of(day0):
        patient = trial.enroll_patient(form, by=users["investigator"])
    db.session.flush()
    return patient


def _record_history(users: dict[str, User], patient: Patient, index: int, today: date) -> None:
    investigator = users["investigator"]
    if index >= 4:
        return  # left for the worklist: one visit due today, one overdue
    plan = [p.due for p in service.visit_plan(patient, today=today) if p.due.window_end < today]
    for number, due in enumerate(plan):
        if index == 1 and number == 2:
            service.record_missed_visit(patient, visit_week=due.visit_week, by=investigator,
                                        reason="Demo: the patient was travelling.")
            continue
        service.record_visit(
            patient, visit_week=due.visit_week,
            visit_date=due.due_on + timedelta(days=(index + number) % 5 - 2),
            labs=_labs(index, number), by=investigator,
            ascites=("none", "mild", "moderate_severe")[index % 3],
            encephalopathy_grade=(0, 0, 1)[index % 3], notes=None,
        )
    if index == 0:
        service.record_event(patient, kind="adverse_event", onset_date=patient.day0,
                             term="Fever", grade=1, serious=False, by=investigator,
                             description="Demo: low-grade fever the evening of dose 1.")
    if index == 2:
        service.record_event(patient, kind="infection",
                             onset_date=patient.day0 + timedelta(days=100), by=investigator,
                             description="Demo: spontaneous bacterial peritonitis.")
        service.record_event(patient, kind="variceal_bleeding",
                             onset_date=patient.day0 + timedelta(days=150), by=investigator,
                             description="Demo: treated with band ligation.")
        last = max(v.visit_date for v in service.completed_visits(patient))
        service.record_death(patient, died_on=last + timedelta(days=20), by=investigator,
                             cause="Demo: hepatorenal syndrome.")


def seed(users: dict[str, User]) -> None:
    if "investigator" not in users or not set(STRATA) <= allocations.stored_strata():
        return
    if db.session.scalar(sa.select(Patient.id).where(Patient.subject_id.startswith(f"{SITE}-"))):
        return
    today = site_today()
    for index, days in enumerate(DAYS_SINCE_DAY0):
        patient = _enroll_in_the_past(users, index, today - timedelta(days=days))
        _record_history(users, patient, index, today)
    db.session.flush()
