"""What synthetic records hang on: the acting accounts, the places, the release specifications
and a set of released material lots; and the refusal to touch a database with real records."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from ..auth.models import User
from ..core.ids import material_lot_code
from ..extensions import db
from ..materials.models import MaterialLot
from ..qc.models import Specification, SpecItem
from .bulk import BulkWriter

PHARMACY, WARD = "L-GMP-PHARMACY", "L-WARD-5A"
ACTORS = ("technician", "qa", "pharmacist", "nurse", "nurse2", "investigator")


class ScaleRefused(Exception):
    pass


def refuse_real_data(*, force: bool) -> None:
    """Synthetic records go only where every account is a demo account (the demo study, or an
    earlier synthetic run on it), unless forced."""
    real = db.session.scalar(
        sa.select(sa.func.count()).select_from(User).where(User.is_demo.is_(False)))
    if real and not force:
        raise ScaleRefused(
            f"This database holds {real} account(s) that are not demo accounts, so it may hold "
            "real records: seed-scale adds synthetic data only to a demo or synthetic database. "
            "Use --force to add it anyway.")


@dataclass(frozen=True)
class Actor:
    id: int
    username: str


@dataclass(frozen=True)
class QcItem:
    test: str
    method: str
    unit: str
    criterion: str
    value_number: float | None
    value_text: str | None


@dataclass
class Reference:
    actors: dict[str, Actor]
    pharmacy_id: int
    ward_id: int
    spec_ids: dict[str, int]
    qc_items: dict[str, list[QcItem]]
    materials: dict[str, list[int]] = field(default_factory=dict)
    material_codes: dict[int, str] = field(default_factory=dict)


def _passing(item: SpecItem) -> tuple[float | None, str | None]:
    if item.comparator == "is":
        return None, item.expected
    limit = item.limit_value()
    if item.comparator in (">=", ">"):
        return round(limit * 1.04 + 1, 2), None
    return round(limit * 0.4, 3), None


def load_reference() -> Reference:
    users = {u.username: u for u in db.session.scalars(
        sa.select(User).where(User.username.in_(ACTORS)))}
    missing = [name for name in ACTORS if name not in users]
    if missing:
        raise ScaleRefused(f"seed-scale acts as the demo accounts; missing: {', '.join(missing)}."
                           " Run `flask seed-demo` first.")
    from ..custody.models import Location

    places = dict(db.session.execute(
        sa.select(Location.code, Location.id).where(Location.code.in_((PHARMACY, WARD)))).all())
    if len(places) < 2:
        raise ScaleRefused(f"seed-scale needs the locations {PHARMACY} and {WARD}.")
    spec_ids, qc_items = {}, {}
    for kind in ("cell_bank", "product_batch"):
        spec = db.session.scalar(sa.select(Specification).where(Specification.lot_kind == kind)
                                 .order_by(Specification.version.desc()).limit(1))
        if spec is None:
            raise ScaleRefused(f"No release specification for {kind} lots.")
        spec_ids[kind] = spec.id
        qc_items[kind] = [QcItem(i.test, i.method, i.unit, i.criterion, *_passing(i))
                          for i in spec.items]
    return Reference(
        actors={name: Actor(u.id, u.username) for name, u in users.items()},
        pharmacy_id=places[PHARMACY], ward_id=places[WARD], spec_ids=spec_ids,
        qc_items=qc_items,
    )


# kind, name, supplier, how many lots
MATERIALS = (
    ("saline", "0.9 % sodium chloride, 100 mL", "Baxter", 4),
    ("anticoagulant", "Heparin sodium 12,500 IU", "Sinopharm", 1),
    ("anticoagulant", "ACD-A solution", "Terumo", 1),
    ("container", "Transfer bag 150 mL", "Macopharma", 2),
    ("medium", "alpha-MEM basal medium", "Gibco", 2),
    ("supplement", "Human platelet lysate 5 %", "Stemcell", 1),
)


def add_materials(writer: BulkWriter, ref: Reference, *, today: date, now: datetime) -> None:
    """Released material lots of every kind a fill and a passage use, received a year ago."""
    highest = db.session.scalar(sa.select(sa.func.max(MaterialLot.number))) or 0
    qa, technician = ref.actors["qa"], ref.actors["technician"]
    for kind, name, supplier, count in MATERIALS:
        for _ in range(count):
            highest += 1
            material_id = writer.next_id(MaterialLot)
            code = material_lot_code(highest)
            writer.add(MaterialLot, {
                "id": material_id, "number": highest, "code": code, "kind": kind, "name": name,
                "supplier": supplier,
                "supplier_lot": "S" + hashlib.sha1(code.encode()).hexdigest()[:7].upper(),
                "expires_on": today + timedelta(days=3 * 365), "status": "released",
                "received_at": now - timedelta(days=400), "received_by_id": technician.id,
                "status_by_id": qa.id, "status_at": now - timedelta(days=399),
            })
            key = "heparin" if "Heparin" in name else "acd_a" if "ACD" in name else kind
            ref.materials.setdefault(key, []).append(material_id)
            ref.material_codes[material_id] = code
