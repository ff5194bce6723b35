"""Follow-up records built through the services: patients enrolled in the past, then visits."""

from __future__ import annotations

from datetime import date, timedelta

from ucmsc_lims.core.clock import as_of, site_today
from ucmsc_lims.extensions import db
from ucmsc_lims.followup import service

from .trial import enroll, make_allocation_list

# A complete visit: compensated cirrhosis, units as a Chinese laboratory writes them.
LABS = [
    ("ALT", "42", "U/L"), ("BILI", "34.2", "umol/L"), ("PT", "14.1", "s"), ("INR", "1.3", ""),
    ("ALB", "32", "g/L"), ("PREALB", "180", "mg/L"), ("CREAT", "88.4", "umol/L"),
    ("SODIUM", "134", "mmol/L"), ("WBC", "4.2", "10^9/L"), ("HGB", "118", "g/L"),
    ("PLAT", "92", "10^9/L"),
]


def past_patient(users, *, days_ago: int = 200, subject_id: str | None = None,
                 with_list: bool = True, stratum: str = "CPA"):
    """A patient whose day 0 lies `days_ago` days back: enrolled through the trial service on
    that day (the site's clock set back), so the follow-up schedule has visits already due."""
    if with_list:
        make_allocation_list(users)
    day0 = site_today() - timedelta(days=days_ago)
    with as_of(day0):
        patient = enroll(users, subject_id=subject_id, day0=day0, stratum=stratum)
    db.session.flush()
    return patient


def record_visit(users, patient, *, week: int = 12, visit_date: date | None = None,
                 labs=LABS, ascites: str = "mild", encephalopathy_grade: int = 0, **extra):
    visit = service.record_visit(
        patient, visit_week=week,
        visit_date=visit_date or patient.day0 + timedelta(weeks=week),
        labs=labs, by=users["investigator"], ascites=ascites,
        encephalopathy_grade=encephalopathy_grade, **extra,
    )
    db.session.flush()
    return visit


def lock(users, password: str = "demo-password-123"):
    locked = service.lock_database(username="investigator", password=password,
                                   reason="Final analysis", by=users["investigator"])
    db.session.flush()
    return locked
