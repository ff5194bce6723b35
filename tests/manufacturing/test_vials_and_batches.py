"""Batches start only from vials of a released, unexpired bank; a thawed vial is consumed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.factories.manufacturing import make_bank
from ucmsc_lims.core.errors import Conflict
from ucmsc_lims.manufacturing import steps


def test_a_vial_thawed_twice_is_refused(db, users):
    bank = make_bank(users)
    first = steps.start_batch(bank, vial_numbers=[1, 2], by=users["technician"])
    with pytest.raises(Conflict) as refused:
        steps.start_batch(bank, vial_numbers=[2], by=users["technician"])
    assert f"Vial {bank.lot_id}-V002 was thawed on" in refused.value.message
    assert "cannot be reused" in refused.value.message
    assert [v.thawed_into_id for v in bank.vials[:2]] == [first.id, first.id]


def test_a_batch_from_an_unreleased_bank_is_refused(db, users):
    bank = make_bank(users, state="qc_pending")
    with pytest.raises(Conflict) as refused:
        steps.start_batch(bank, vial_numbers=[1], by=users["technician"])
    assert refused.value.message == (
        f"Cell bank lot {bank.lot_id} is qc pending: a batch starts only from a released bank.")
    assert all(v.status == "stored" for v in bank.vials)


def test_a_batch_from_an_expired_bank_is_refused(db, users):
    bank = make_bank(users)
    with pytest.raises(Conflict) as refused:
        steps.start_batch(bank, vial_numbers=[1], by=users["technician"],
                          at=bank.expires_at + timedelta(days=1))
    assert "is past its stability date" in refused.value.message


def test_a_batch_carries_the_dins_and_a_divided_product_code(db, users):
    bank = make_bank(users)
    batch = steps.start_batch(bank, vial_numbers=[3], by=users["technician"])
    second = steps.start_batch(bank, vial_numbers=[4], by=users["technician"])
    assert (batch.din, batch.lot_id, batch.product_code) == (
        bank.din, f"{bank.din}-PB01", "S1002VA0")
    assert second.product_code == "S1002VB0"
    assert batch.state == "thawed"
