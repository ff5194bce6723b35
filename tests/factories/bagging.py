"""Bags built through the bagging services: prepared, printed, filled, verified, released."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from ucmsc_lims.bagging import fill, printing
from ucmsc_lims.extensions import db
from ucmsc_lims.trial import service as trial
from ucmsc_lims.trial.models import AllocationList

from . import DEMO_PASSWORD
from .manufacturing import make_batch
from .materials import make_material
from .trial import clear, enroll, make_allocation_list


@dataclass
class FillMaterials:
    heparin: object
    acd: object
    saline: object
    container: object


def fill_materials(users) -> FillMaterials:
    return FillMaterials(
        heparin=make_material(users, kind="anticoagulant", name="Heparin sodium 5000 IU/mL"),
        acd=make_material(users, kind="anticoagulant", name="ACD-A solution"),
        saline=make_material(users, kind="saline", name="Sodium chloride 0.9 %"),
        container=make_material(users, kind="container", name="Infusion bag 150 mL"),
    )


def patient_in_arm(users, arm: str, *, clear_first: bool = True, **enrollment):
    """An enrolled patient in `arm` with dose 1 due today (cleared unless told otherwise)."""
    if db.session.scalar(sa.select(sa.func.count()).select_from(AllocationList)) == 0:
        make_allocation_list(users)
    for _ in range(40):
        patient = enroll(users, **enrollment)
        if trial.arm_of(patient) == arm:
            if clear_first:
                clear(users, patient.doses[0])
            return patient
    raise AssertionError(f"no arm {arm} allocation in 40 enrollments")


def session(users):
    return fill.open_session(by=users["technician"])


def printed_bag(users, patient):
    bag = fill.create_bag(patient.doses[0], session=session(users), by=users["technician"])
    printing.print_label(bag, fmt="pdf", by=users["technician"])
    db.session.flush()
    return bag


def source_code(patient, *, batch, materials: FillMaterials) -> str:
    return batch.lot_id if trial.arm_of(patient) == "A" else materials.saline.code


def filled_bag(users, patient, *, batch=None, materials: FillMaterials | None = None,
               at=None, anticoagulant=None):
    materials = materials or fill_materials(users)
    if batch is None and trial.arm_of(patient) == "A":
        batch = make_batch(users)
    bag = printed_bag(users, patient)
    fill.fill_bag(
        label_code=bag.code, source_code=source_code(patient, batch=batch, materials=materials),
        anticoagulant_code=(anticoagulant or materials.heparin).code,
        saline_code=materials.saline.code, container_code=materials.container.code,
        by=users["technician"], at=at)
    db.session.flush()
    return bag


def released_bag(users, patient, **kwargs):
    bag = filled_bag(users, patient, **kwargs)
    fill.verify_fill(bag, by=users["pharmacist"], password=DEMO_PASSWORD)
    fill.release_for_issue(bag, by=users["pharmacist"], password=DEMO_PASSWORD)
    db.session.flush()
    return bag
