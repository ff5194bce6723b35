"""Demo material lots: released, expiring far in the future (contract), plus one expired."""

from __future__ import annotations

from datetime import timedelta

from ..core.clock import site_today
from . import service

DEMO_MATERIALS = (
    ("medium", "alpha-MEM basal medium", "Gibco", "2411873"),
    ("supplement", "Human platelet lysate 5 %", "Stemcell", "HPL-24-118"),
    ("reagent", "TrypLE Select", "Gibco", "2398114"),
    ("reagent", "CryoStor CS10", "BioLife", "CS10-2451"),
    ("saline", "Sodium chloride 0.9 % 100 mL", "Baxter", "NS-26-0412"),
    ("anticoagulant", "Heparin sodium 1000 IU/mL", "Pfizer", "HEP-26-771"),
    ("anticoagulant", "ACD-A solution", "Fenwal", "ACDA-26-093"),
    ("container", "Transfer bag 150 mL", "Macopharma", "TB150-26-5"),
)


def seed(users: dict) -> None:
    far = site_today() + timedelta(days=3 * 365)
    for kind, name, supplier, lot in DEMO_MATERIALS:
        material = service.receive(kind=kind, name=name, supplier=supplier, supplier_lot=lot,
                                   expires_on=far, by=users["technician"])
        service.set_status(material, "released", by=users["qa"])
    expired = service.receive(kind="medium", name="alpha-MEM basal medium", supplier="Gibco",
                              supplier_lot="2301002", expires_on=site_today() - timedelta(days=5),
                              by=users["technician"])
    service.set_status(expired, "released", by=users["qa"])
    service.receive(kind="supplement", name="Human platelet lysate 5 %", supplier="Stemcell",
                    supplier_lot="HPL-26-001", expires_on=far, by=users["technician"])


def code_of(name: str) -> str:
    """The receipt code of the first usable demo material with this name."""
    from ..core.db import utcnow

    for material in service.list_materials():
        if material.name == name and material.status == "released":
            try:
                service.check_usable(material, kind=None, at=utcnow())
            except Exception:
                continue
            return material.code
    raise LookupError(name)
