"""Donors and collections built through the donors service."""

from __future__ import annotations

import itertools
from datetime import timedelta

from ucmsc_lims.core.db import utcnow
from ucmsc_lims.core.isbt128 import Din
from ucmsc_lims.donors import service as donors

_sequence = itertools.count(100)


def new_din() -> Din:
    return Din("G1234", 26, next(_sequence))


def make_donor(users, *, eligibility: str = "eligible"):
    donor = donors.register_donor(consent_date=utcnow().date() - timedelta(days=30),
                                  consent_form_version="ICF v2.1",
                                  consent_obtained_by="Dr. Obstetrician", by=users["technician"])
    if eligibility == "pending":
        return donor
    for test in donors.REQUIRED_TESTS:
        donors.record_test(donor, test=test, result="negative",
                           tested_on=utcnow().date() - timedelta(days=3), by=users["technician"])
    if eligibility == "eligible":
        donors.determine_eligibility(donor, eligibility="eligible", by=users["qa"])
    else:
        donors.determine_eligibility(donor, eligibility="ineligible", by=users["qa"],
                                     reason="Travel history outside the donor criteria")
    return donor


def make_collection(users, *, eligibility: str = "eligible", accept: bool = True, donor=None):
    donor = donor or make_donor(users, eligibility=eligibility)
    now = utcnow()
    collection = donors.receive_collection(
        donor=donor, din=new_din().barcode_data, collected_at=now - timedelta(days=20, hours=4),
        delivery="Caesarean section, term 39 weeks", site="Maternity 3", transport_container=
        "Validated shipper TS-2", transport_temperature_c=6.0, received_at=now - timedelta(days=20),
        receipt_condition="intact, sealed", by=users["technician"])
    if accept:
        donors.decide_collection(collection, accept=True, by=users["technician"])
    return collection
