"""A whole chain for trace and look-back tests, built through the upstream services: donor,
collection, cell bank, product batch, then bags of both arms on the ward, one infused."""

from __future__ import annotations

from dataclasses import dataclass

from ucmsc_lims.bedside import service as bedside
from ucmsc_lims.extensions import db

from . import DEMO_PASSWORD
from .bagging import FillMaterials, fill_materials, patient_in_arm, released_bag
from .custody import WARD, received
from .manufacturing import make_batch


@dataclass
class Chain:
    materials: FillMaterials
    bank: object
    batch: object
    patient_a: object  # arm A, bag on the ward
    bag_a: object
    patient_infused: object  # arm A, bag infused
    bag_infused: object
    infusion: object
    patient_b: object  # arm B (saline), bag on the ward
    bag_b: object


def infuse(users, patient, bag):
    """Nurse verifies, nurse2 confirms with a signature, nurse starts the infusion."""
    verification = bedside.verify(
        patient_code=patient.code, bag_code=bag.code, weight_kg=patient.weight_kg,
        by=users["nurse"], ward_code=WARD, identity_confirmed=True, bag_intact=True)
    assert verification.decision == "GO", verification.checks
    bedside.confirm(verification, username="nurse2", password=DEMO_PASSWORD,
                    patient_code=patient.code, bag_code=bag.code, by=users["nurse2"])
    infusion = bedside.start_infusion(verification, by=users["nurse"])
    db.session.flush()
    return infusion


def bag_from(users, batch, materials, arm: str = "A"):
    patient = patient_in_arm(users, arm)
    bag = received(users, released_bag(users, patient, batch=batch, materials=materials))
    return patient, bag


def seeded_chain(users) -> Chain:
    materials = fill_materials(users)
    batch = make_batch(users)
    patient_a, bag_a = bag_from(users, batch, materials)
    patient_infused, bag_infused = bag_from(users, batch, materials)
    infusion = infuse(users, patient_infused, bag_infused)
    patient_b, bag_b = bag_from(users, batch, materials, arm="B")
    db.session.flush()
    return Chain(materials, batch.parent, batch, patient_a, bag_a, patient_infused, bag_infused,
                 infusion, patient_b, bag_b)
