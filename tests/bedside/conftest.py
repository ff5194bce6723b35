"""Bedside fixtures: a patient of a chosen arm whose cleared dose 1 has a bag on the ward."""

from __future__ import annotations

import pytest

from tests.factories.custody import WARD, bag_on_ward
from ucmsc_lims.bedside import service


@pytest.fixture
def on_ward(db, users):
    """`on_ward("A")` -> (patient, bag), committed so a refusal's rollback keeps them."""

    def make(arm: str, **enrollment):
        patient, bag = bag_on_ward(users, arm, **enrollment)
        db.session.commit()
        return patient, bag

    return make


@pytest.fixture
def verify(users):
    def run(patient_code: str, bag_code: str, *, weight_kg: float = 70.0,
            nurse: str = "nurse", ward: str = WARD, identity: bool = True,
            intact: bool = True, now=None):
        verification = service.verify(
            patient_code=patient_code, bag_code=bag_code, weight_kg=weight_kg, by=users[nurse],
            ward_code=ward, identity_confirmed=identity, bag_intact=intact, now=now)
        # Each step is its own request at the bedside: what it recorded is committed.
        service.db.session.commit()
        return verification

    return run


def failed_messages(verification) -> list[str]:
    return [c["message"] for c in verification.checks if not c["ok"]]
