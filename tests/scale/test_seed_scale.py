"""`flask seed-scale` at a small size: a consistent chain in both arms, sealed audit entries that
verify, bags on the ward that the bedside accepts, and a refusal on a database with real
accounts (SPEC 8, 9)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.factories.custody import location
from ucmsc_lims.bagging.models import Bag, BagLabelIssue, BagSource
from ucmsc_lims.bedside import service as bedside
from ucmsc_lims.bedside.models import Infusion
from ucmsc_lims.core import audit
from ucmsc_lims.extensions import db
from ucmsc_lims.scale.cli import seed_scale
from ucmsc_lims.scale.reference import ScaleRefused
from ucmsc_lims.trial.models import Allocation, Patient


@pytest.fixture
def seeded(db, users):
    location("L-GMP-PHARMACY", kind="pharmacy", users=users)
    location("L-WARD-5A", kind="ward", users=users)
    return seed_scale(bags=150, today=9, force=True)


def count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def test_a_database_with_real_accounts_is_refused_without_force(db, users):
    with pytest.raises(ScaleRefused, match=r"not demo accounts.*Use --force"):
        seed_scale(bags=10)
    assert count(Bag) == 0


def test_the_synthetic_study_has_the_bags_asked_for_in_both_arms(seeded):
    assert count(Bag) == 150
    assert count(BagSource, BagSource.arm == "A") > 30
    assert count(BagSource, BagSource.arm == "B") > 30
    assert count(BagSource, BagSource.arm == "A", BagSource.lot_id.is_(None)) == 0
    assert count(Allocation, Allocation.patient_id.is_not(None)) == count(Patient)
    assert count(BagLabelIssue) >= 150
    assert 0 < count(Infusion) < 150


def test_every_synthetic_audit_entry_is_sealed_and_the_chain_verifies(seeded):
    result = audit.verify(db.session)
    assert result.ok, result.message
    assert result.unsealed == 0
    assert seeded["audit_entries"] >= 150


def test_todays_bags_on_the_ward_pass_every_bedside_check(seeded, users):
    rows = db.session.execute(
        sa.select(Bag, Patient).join(Patient, Bag.patient_id == Patient.id)
        .where(Bag.status == "received_on_ward")).all()
    assert rows
    bag, patient = rows[0]
    verification = bedside.verify(
        patient_code=patient.code, bag_code=bag.code, weight_kg=bag.prepared_weight_kg,
        by=users["nurse"], ward_code="L-WARD-5A", identity_confirmed=True, bag_intact=True)
    assert verification.decision == "GO", verification.failed_checks


def test_an_infused_synthetic_bag_is_refused_as_already_infused(seeded, users):
    bag, patient = db.session.execute(
        sa.select(Bag, Patient).join(Patient, Bag.patient_id == Patient.id)
        .where(Bag.status == "infused")).first()
    verification = bedside.verify(
        patient_code=patient.code, bag_code=bag.code, weight_kg=bag.prepared_weight_kg,
        by=users["nurse"], ward_code="L-WARD-5A", identity_confirmed=True, bag_intact=True)
    messages = [c["message"] for c in verification.failed_checks]
    assert "bag already infused" in messages
