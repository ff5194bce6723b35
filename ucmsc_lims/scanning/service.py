"""Resolve a scan: parse it with core.ids.parse_scan, then find what it names.

A bad scan is refused in plain words (unknown kind, wrong length, bad check character, voided
label, unknown id). What a scan answers follows the reader's permissions: `status` and `url`
are given only for records the reader may open, and a bag's status is the same list of states
for both arms (SPEC 4.7), so a blinded reader learns nothing about the arm.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import url_for

from ..auth.models import User
from ..bagging import service as bagging
from ..core.clock import site_zone
from ..core.errors import DomainError, NotFound
from ..core.ids import Scan, ScanError, parse_scan
from ..custody import service as custody
from ..manufacturing import service as manufacturing
from ..materials import service as materials
from ..trial import service as trial


class ScanRefused(DomainError):
    status = 422
    title = "Unprocessable scan"


@dataclass(frozen=True)
class ScanResult:
    kind: str
    id: str
    check_ok: bool
    status: str | None
    url: str | None


def resolve(raw: str, *, reader: User) -> ScanResult:
    try:
        scan = parse_scan(raw, tz=site_zone())
    except ScanError as error:
        raise ScanRefused(error.message) from None
    resolver = _RESOLVERS.get(scan.kind, _structure_only)
    status, url = resolver(scan, reader)
    # A parsed code is valid; where its structure carries a check character it was verified.
    return ScanResult(scan.kind, scan.id, True, status, url)


def _bag(scan: Scan, reader: User) -> tuple[str | None, str | None]:
    bag, voided = bagging.bag_by_code(scan.fields["code"])
    if bag is None:
        raise ScanRefused("Unknown bag: no bag carries this label.")
    if voided:
        raise ScanRefused(
            "This label was voided: it was replaced by a reprint. Use the bag's current label."
        )
    if not reader.can("bag.read"):
        return None, None
    return bagging.effective_status(bag), url_for("bagging.bag_page", bag_id=bag.bag_id)


def _patient(scan: Scan, reader: User) -> tuple[str | None, str | None]:
    patient = trial.patient_by_code(scan.fields["code"])
    if patient is None:
        raise ScanRefused(f"Unknown patient: no patient {scan.id} is enrolled.")
    if not reader.can("patient.read"):
        return None, None
    return patient.status, url_for("trial.patient", subject_id=patient.subject_id)


def _din(scan: Scan, reader: User) -> tuple[str | None, str | None]:
    lots = manufacturing.lots_for_din(scan.id)
    if not lots:
        raise ScanRefused(f"Unknown DIN: no donation {scan.id} is registered.")
    if not reader.can("lot.read"):
        return None, None
    first = lots[0]
    return first.state, url_for("manufacturing.lot_page", lot_id=first.lot_id)


def _material(scan: Scan, reader: User) -> tuple[str | None, str | None]:
    if scan.fields.get("symbol") != "receipt":
        return None, None  # a supplier's symbol: recognised, matched at receipt
    try:
        material = materials.get_by_code(scan.id)
    except NotFound:
        raise ScanRefused(f"Unknown material lot: no receipt {scan.id}.") from None
    if not reader.can("lot.read"):
        return None, None
    return material.status, url_for("materials.materials", _anchor=material.code)


def _location(scan: Scan, reader: User) -> tuple[str | None, str | None]:
    location = custody.location_by_code(scan.id)
    if location is None:
        raise ScanRefused(f"Unknown location: no location {scan.id}.")
    return None, url_for("custody.locations", _anchor=location.code)


def _staff(scan: Scan, reader: User) -> tuple[str | None, str | None]:
    from ..auth.service import get_user_by_staff_id

    user = get_user_by_staff_id(scan.id)
    if user is None:
        raise ScanRefused("Unknown staff badge: no account carries this staff id.")
    return ("active" if user.active else "inactive"), None


def _structure_only(scan: Scan, reader: User) -> tuple[str | None, str | None]:
    """Product codes and ISBT 128 dates name no record of their own."""
    return None, None


_RESOLVERS: dict[str, Callable[[Scan, User], tuple[str | None, str | None]]] = {
    "bag": _bag,
    "patient": _patient,
    "din": _din,
    "material_lot": _material,
    "location": _location,
    "staff": _staff,
}
