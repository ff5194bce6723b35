"""Material lots built through the materials service."""

from __future__ import annotations

from datetime import date, timedelta

from ucmsc_lims.core.db import utcnow
from ucmsc_lims.materials import service as materials


def make_material(users, *, kind: str = "medium", name: str = "alpha-MEM",
                  status: str = "released", expires_on: date | None = None):
    material = materials.receive(
        kind=kind, name=name, supplier="Acme Bio", supplier_lot=f"SL-{kind}-1",
        expires_on=expires_on or utcnow().date() + timedelta(days=365), by=users["technician"])
    if status != "quarantine":
        materials.set_status(material, status, by=users["qa"],
                             reason=None if status == "released" else "failed incoming check")
    return material
