"""Receive material lots, disposition them, and decide whether one may be used (SPEC 4.2)."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa

from ..auth.models import User
from ..core import audit
from ..core.clock import site_zone
from ..core.db import utcnow
from ..core.errors import Conflict, DomainError, NotFound, NotPermitted
from ..core.ids import ScanError, material_lot_code, parse_material_lot_code
from ..extensions import db
from .models import KINDS, MaterialLot


def list_materials(*, kind: str | None = None, status: str | None = None) -> list[MaterialLot]:
    query = sa.select(MaterialLot).order_by(MaterialLot.number.desc())
    if status:
        query = query.where(MaterialLot.status == status)
    if kind:
        query = query.where(MaterialLot.kind == kind)
    return list(db.session.scalars(query))


def get_by_code(code: str) -> MaterialLot:
    """The material lot a receipt label names; NotFound in plain words."""
    try:
        number = parse_material_lot_code(code)
    except ScanError as bad:
        raise NotFound(f"'{code}' is not a material lot code: {bad}") from None
    material = db.session.scalar(sa.select(MaterialLot).where(MaterialLot.number == number))
    if material is None:
        raise NotFound(f"No material lot {code.strip().upper()} was received.")
    return material


def receive(*, kind: str, name: str, supplier: str, supplier_lot: str, expires_on: date,
            by: User, catalogue_number: str | None = None,
            quantity: str | None = None) -> MaterialLot:
    """A received material lot starts in quarantine until QA releases it."""
    if not by.can("material.record"):
        raise NotPermitted("Your role does not allow receiving materials.")
    if kind not in KINDS:
        raise DomainError(f"A material kind is one of {', '.join(KINDS)}.")
    if not supplier_lot.strip():
        raise DomainError("The supplier's lot number is required.")
    number = (db.session.scalar(sa.select(sa.func.max(MaterialLot.number))) or 0) + 1
    material = MaterialLot(
        number=number, code=material_lot_code(number), kind=kind, name=name.strip(),
        supplier=supplier.strip(), supplier_lot=supplier_lot.strip(), expires_on=expires_on,
        catalogue_number=catalogue_number, quantity=quantity, status="quarantine",
        received_by_id=by.id)
    db.session.add(material)
    audit.record(db.session, "material.received", material, actor=by, new={
        "code": material.code, "kind": kind, "name": name, "supplier": supplier,
        "supplier_lot": supplier_lot, "expires_on": expires_on})
    return material


def set_status(material: MaterialLot, status: str, *, by: User,
               reason: str | None = None) -> MaterialLot:
    """QA releases or rejects a material lot (a rejection is final)."""
    if not by.can("material.release"):
        raise NotPermitted("Only QA releases or rejects material lots.")
    allowed = {"quarantine": {"released", "rejected"}, "released": {"rejected"}}
    if status not in allowed.get(material.status, set()):
        nexts = ", ".join(sorted(allowed.get(material.status, set()))) or "none"
        raise Conflict(f"Material lot {material.code} is {material.status} and cannot become "
                       f"{status}. Allowed: {nexts}.")
    if status == "rejected" and not (reason or "").strip():
        raise DomainError("Give the reason the material lot is rejected.")
    old = material.status
    material.status = status
    material.status_reason = reason
    material.status_by_id = by.id
    material.status_at = utcnow()
    audit.record(db.session, "material.status_changed", material, actor=by,
                 old={"status": old}, new={"status": status}, reason=reason)
    return material


def check_usable(material: MaterialLot, *, kind: str | None, at: datetime) -> None:
    """Refuse, in plain words, a material lot that is expired, quarantined, rejected or of the
    wrong kind."""
    label = f"Material lot {material.code} ({material.name}, supplier lot {material.supplier_lot})"
    if material.status == "rejected":
        raise DomainError(f"{label} was rejected and cannot be used.")
    if material.status == "quarantine":
        raise DomainError(f"{label} is in quarantine: QA has not released it.")
    if at.astimezone(site_zone()).date() > material.expires_on:
        raise DomainError(f"{label} expired on {material.expires_on.isoformat()} "
                          "and cannot be used.")
    if kind is not None and material.kind != kind:
        raise DomainError(f"{label} is a {material.kind}, not a {kind}.")
