"""Demo bags (SPEC 8): for each demo patient with a cleared dose due today, a labelled bag that
is filled, verified, released for issue and, where the custody domain is installed, handed to
the demo ward and received there, so that the bedside works at once."""

from __future__ import annotations

from importlib.util import find_spec

from flask import current_app

from ..auth.models import User
from ..core.db import utcnow
from ..core.errors import DomainError
from ..manufacturing import service as manufacturing
from ..materials import service as materials
from ..materials.models import MaterialLot
from ..protocol import service as protocol
from ..trial import service as trial
from . import fill, printing
from .states import PENDING_FILL, RELEASED

DEMO_WARD = "L-WARD-5A"
DEMO_PHARMACY = "L-GMP-PHARMACY"


def _usable(kind: str) -> list[MaterialLot]:
    usable = []
    for material in materials.list_materials(kind=kind):
        try:
            materials.check_usable(material, kind=kind, at=utcnow())
        except DomainError:
            continue
        usable.append(material)
    return usable


def _batch_for(cells: float):
    batches = [b for b in manufacturing.usable_batches(utcnow()) if b.cells_left >= cells]
    if not batches:
        raise DomainError("No released product batch has cells for today's demo bags.")
    return max(batches, key=lambda b: (b.expires_at, b.id))


def _fill(bag, users: dict[str, User]) -> None:
    patient = bag.patient
    anticoagulants = _usable("anticoagulant")
    heparin = [m for m in anticoagulants if fill.is_heparin(m)]
    others = [m for m in anticoagulants if not fill.is_heparin(m)]
    anticoagulant = (others if patient.heparin_contraindication or not heparin else heparin)[0]
    saline, container = _usable("saline")[0], _usable("container")[0]
    if trial.arm_of(patient) == "A":
        cells = float(protocol.value("dose_cells_per_kg")) * patient.weight_kg
        source = _batch_for(cells).lot_id
    else:
        source = saline.code
    fill.fill_bag(label_code=bag.code, source_code=source, anticoagulant_code=anticoagulant.code,
                  saline_code=saline.code, container_code=container.code,
                  by=users["technician"])


def _to_ward(bag, users: dict[str, User]) -> None:
    """Hand the released bag to the demo ward and receive it there (custody services)."""
    if find_spec("ucmsc_lims.custody.service") is None:
        return
    from ..custody import service as custody

    pharmacy = custody.location_by_code(DEMO_PHARMACY) or custody.create_location(
        code=DEMO_PHARMACY, name="GMP pharmacy (demo)", kind="pharmacy", by=None)
    ward = custody.location_by_code(DEMO_WARD) or custody.create_location(
        code=DEMO_WARD, name="Ward 5A, hepatology (demo)", kind="ward", by=None)
    custody.record_handoff(bag, to_location=ward, from_location=pharmacy,
                           by=users["technician"], temperature_c=5.0, condition="intact")
    custody.receive_on_ward(bag, ward=ward, by=users["nurse"], temperature_c=5.0)


def refresh_today(users: dict[str, User]) -> None:
    """Today's cleared doses without a bag get one, all the way to the demo ward."""
    password = current_app.config["DEMO_PASSWORD"]
    session = fill.open_session(by=users["technician"])
    fill.prepare_bags(session, by=users["technician"])
    if printing.unprinted(session):
        printing.print_session_labels(session, by=users["technician"])
    for bag in fill.session_bags(session):
        if bag.status == PENDING_FILL:
            _fill(bag, users)
        if bag.status == "filled" and bag.fill_verified_at is None:
            fill.verify_fill(bag, by=users["pharmacist"], password=password)
        if bag.status == "filled":
            fill.release_for_issue(bag, by=users["pharmacist"], password=password)
        if bag.status == RELEASED:
            _to_ward(bag, users)


def seed(users: dict[str, User]) -> None:
    refresh_today(users)
