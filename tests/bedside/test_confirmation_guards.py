"""SPEC 4.8: nurse 2 confirms a fresh verification once; an old or confirmed one is refused
before any password is asked, so the first co-signer's record is never overwritten."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.factories import DEMO_PASSWORD
from ucmsc_lims.bedside import service
from ucmsc_lims.core.errors import Conflict


def _confirm(users, verification, patient, bag, *, now=None):
    return service.confirm(verification, username="nurse2", password=DEMO_PASSWORD,
                           patient_code=patient.code, bag_code=bag.code, by=users["nurse2"],
                           now=now)


def test_a_confirmed_verification_cannot_be_confirmed_again(on_ward, verify, users):
    patient, bag = on_ward("A")
    verification = _confirm(users, verify(patient.code, bag.code), patient, bag)
    first_signature = verification.signature_id
    with pytest.raises(Conflict, match="already confirmed by a second nurse"):
        _confirm(users, verification, patient, bag)
    assert verification.signature_id == first_signature


def test_a_verification_older_than_its_validity_cannot_be_confirmed(on_ward, verify, users):
    patient, bag = on_ward("B")
    verification = verify(patient.code, bag.code)
    later = verification.created_at + timedelta(minutes=31)
    with pytest.raises(Conflict, match="older than 30 minutes: verify again"):
        _confirm(users, verification, patient, bag, now=later)
    assert verification.confirmed_at is None
