"""Demo donors: eligible ones with every test negative, one pending, one ineligible."""

from __future__ import annotations

from datetime import timedelta

from ..core.db import utcnow
from . import service


def make_donor(users: dict, eligibility: str, days_ago: int = 60):
    donor = service.register_donor(
        consent_date=utcnow().date() - timedelta(days=days_ago), consent_form_version="ICF v2.1",
        consent_obtained_by="Dr. Wang (obstetrics)", by=users["technician"])
    if eligibility == "pending":
        return donor
    for test in service.REQUIRED_TESTS:
        service.record_test(donor, test=test, result="positive" if (
            eligibility == "ineligible" and test == "hbv") else "negative",
            tested_on=utcnow().date() - timedelta(days=days_ago - 3), by=users["technician"])
    service.determine_eligibility(donor, eligibility=eligibility, by=users["qa"],
                                  reason="HBV reactive" if eligibility == "ineligible" else None)
    return donor


def make_collection(users: dict, donor, sequence: int, days_ago: int, accept: bool = True):
    from flask import current_app

    from ..core.isbt128 import Din

    now = utcnow()
    din = Din(current_app.config["FACILITY_ID"], now.year % 100, sequence)
    collection = service.receive_collection(
        donor=donor, din=din.barcode_data, collected_at=now - timedelta(days=days_ago, hours=5),
        delivery="Caesarean section, term 39 weeks", site="Maternity unit 3",
        transport_container="Validated shipper TS-2", transport_temperature_c=6.0,
        received_at=now - timedelta(days=days_ago), receipt_condition="intact, sealed",
        by=users["technician"])
    if accept:
        service.decide_collection(collection, accept=True, by=users["technician"])
    return collection


def seed(users: dict) -> None:
    """Donors and cords are made by manufacturing's demo with the lots they feed; one cord
    waits for acceptance here so the worklist has a receipt."""
    donor = make_donor(users, "pending", days_ago=3)
    make_collection(users, donor, 900, days_ago=0, accept=False)
