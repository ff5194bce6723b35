"""Trace any identifier upstream and downstream as nodes and edges (SPEC 4.9, SPEC 7).

`trace(identifier, reader=user)` gives `{root, nodes, edges}`. Identifiers: a scanned code
(DIN, bag label code, wristband code, material lot receipt code), a lot id, a bag id, a subject
id, a donor code, or a node id of a trace (`infusion:12`, `qc_result:7`, `lot:G1234…-PB01`).

Blinded readers get the masked trace of SPEC 4.9 (see walk.py): the same error for every
identifier that is unknown to them, and node fields chosen per reader, never set to null.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import has_request_context, url_for

from ..auth.models import User
from ..bagging import service as bagging
from ..bagging.models import Bag
from ..bedside.models import Infusion
from ..core.clock import site_zone
from ..core.db import LARGEST_ID
from ..core.errors import NotFound
from ..core.ids import ScanError, parse_scan
from ..custody.models import CustodyEvent
from ..donors.models import Collection, Donor
from ..extensions import db
from ..manufacturing.models import Lot, Passage
from ..materials.models import MaterialLot
from ..qc.models import QcResult
from ..trial.models import Patient
from .walk import BAG_SIDE_ROOTS, Found, collect

# Left to right in the graph; the table lists nodes in this order too.
KIND_ORDER = ("donor", "collection", "material_lot", "lot", "passage", "qc_result", "signature",
              "bag", "custody_event", "patient", "infusion", "adverse_event")
UNKNOWN = "Nothing you may trace matches '{}'. Scan or type a DIN, lot id, material lot code, " \
          "bag code or bag id, wristband code or subject id."
_NODE_ID = re.compile(r"(?P<kind>[a-z_]+):(?P<key>.+)")
_SUBJECT_ID = re.compile(r"[0-9]{2}-[0-9]{3,4}")
_BAG_ID = re.compile(r"[0-9A-HJKMNP-TV-Z]{10}")


@dataclass
class Node:
    id: str
    kind: str
    label: str
    status: str | None = None
    url: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "kind": self.kind, "label": self.label}
        if self.status is not None:
            out["status"] = self.status
        if self.url is not None:
            out["url"] = self.url
        out.update(self.fields)
        return out


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    kind: str

    def as_dict(self) -> dict[str, str]:
        return {"from": self.source, "to": self.target, "kind": self.kind}


@dataclass
class Trace:
    root: str
    identifier: str
    blinded: bool
    nodes: list[Node]
    edges: list[Edge]

    def as_dict(self) -> dict[str, Any]:
        return {"root": self.root, "nodes": [n.as_dict() for n in self.nodes],
                "edges": [e.as_dict() for e in self.edges]}

    def of_kind(self, kind: str) -> list[Node]:
        return [n for n in self.nodes if n.kind == kind]

    def node(self, node_id: str) -> Node | None:
        return next((n for n in self.nodes if n.id == node_id), None)


# --- finding the root ----------------------------------------------------------------------------


def find_root(identifier: str) -> tuple[str, Any]:
    """The record an identifier names, as (kind, record); NotFound in one wording otherwise."""
    text = (identifier or "").strip()
    if not text or len(text) > 120:
        raise NotFound(UNKNOWN.format(text[:40]))
    found = _by_node_id(text) or _by_scan(text) or _by_plain_id(text)
    if found is None or found[1] is None:
        raise NotFound(UNKNOWN.format(text))
    return found


def _one(query) -> Any:
    return db.session.scalar(query)


def _by_node_id(text: str) -> tuple[str, Any] | None:
    match = _NODE_ID.fullmatch(text)
    if match is None:
        return None
    kind, key = match["kind"], match["key"].strip()
    numeric = bool(re.fullmatch(r"[0-9]{1,10}", key)) and int(key) <= LARGEST_ID
    lookups = {
        "donor": lambda: _one(sa.select(Donor).where(Donor.code == key.upper())),
        "collection": lambda: _one(sa.select(Collection).where(Collection.din == key.upper())),
        "lot": lambda: _one(sa.select(Lot).where(Lot.lot_id == key.upper())),
        "material_lot": lambda: _one(
            sa.select(MaterialLot).where(MaterialLot.code == key.upper())),
        "qc_result": lambda: db.session.get(QcResult, int(key)) if numeric else None,
        "bag": lambda: _one(sa.select(Bag).where(Bag.bag_id == key.upper())),
        "patient": lambda: _one(sa.select(Patient).where(Patient.subject_id == key)),
        "infusion": lambda: db.session.get(Infusion, int(key)) if numeric else None,
    }
    # A passage or a custody event is traced from the lot or the bag it belongs to.
    owners = {
        "passage": ("lot", lambda: db.session.scalar(
            sa.select(Lot).join(Passage, Passage.lot_id == Lot.id).where(Passage.id == int(key)))),
        "custody_event": ("bag", lambda: db.session.scalar(
            sa.select(Bag).join(CustodyEvent, CustodyEvent.bag_id == Bag.id)
            .where(CustodyEvent.id == int(key)))),
    }
    if kind in owners:
        owner_kind, owner = owners[kind]
        return owner_kind, owner() if numeric else None
    if kind not in lookups:
        return None
    return kind, lookups[kind]()


def _by_scan(text: str) -> tuple[str, Any] | None:
    try:
        scan = parse_scan(text, tz=site_zone())
    except ScanError:
        return None
    if scan.kind == "din":
        return "collection", _one(sa.select(Collection).where(Collection.din == scan.id))
    if scan.kind == "bag":
        bag, _voided = bagging.bag_by_code(scan.fields["code"])
        # A voided label still names its bag: tracing it answers where that label went.
        return "bag", bag
    if scan.kind == "patient":
        return "patient", _one(sa.select(Patient).where(Patient.subject_id == scan.id))
    if scan.kind == "material_lot" and scan.fields.get("symbol") == "receipt":
        return "material_lot", _one(sa.select(MaterialLot).where(MaterialLot.code == scan.id))
    return None


def _by_plain_id(text: str) -> tuple[str, Any] | None:
    upper = "".join(text.split()).upper()
    lot = _one(sa.select(Lot).where(Lot.lot_id == upper))
    if lot is not None:
        return "lot", lot
    if _SUBJECT_ID.fullmatch(text):
        return "patient", _one(sa.select(Patient).where(Patient.subject_id == text))
    if _BAG_ID.fullmatch(upper):
        return "bag", _one(sa.select(Bag).where(Bag.bag_id == upper))
    donor = _one(sa.select(Donor).where(Donor.code == upper))
    if donor is not None:
        return "donor", donor
    if len(upper) == 13:
        return "collection", _one(sa.select(Collection).where(Collection.din == upper))
    return None


# --- building the trace --------------------------------------------------------------------------


def trace(identifier: str, *, reader: User) -> Trace:
    kind, record = find_root(identifier)
    blinded = reader.is_blinded
    found = collect(kind, record, blinded=blinded)
    builder = _Builder(found, reader)
    return Trace(root=_node_id(kind, record), identifier=identifier, blinded=blinded,
                 nodes=builder.nodes(), edges=builder.edges())


def _node_id(kind: str, record: Any) -> str:
    keys = {
        "donor": lambda r: r.code, "collection": lambda r: r.din, "lot": lambda r: r.lot_id,
        "material_lot": lambda r: r.code, "bag": lambda r: r.bag_id,
        "patient": lambda r: r.subject_id,
    }
    key = keys[kind](record) if kind in keys else record.id
    return f"{kind}:{key}"


def _url(endpoint: str, permission: str, reader: User, **values: Any) -> str | None:
    from flask import current_app

    if not has_request_context() or endpoint not in current_app.view_functions:
        return None
    if not reader.can(permission):
        return None
    return url_for(endpoint, **values)


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


class _Builder:
    def __init__(self, found: Found, reader: User):
        self.found = found
        self.reader = reader
        self.unblinded = not found.blinded

    def nodes(self) -> list[Node]:
        f, out = self.found, []
        out += [self._donor(d) for d in f.donors.values()]
        out += [self._collection(c) for c in f.collections.values()]
        out += [self._material(m) for m in sorted(f.materials.values(), key=lambda m: m.code)]
        lots = sorted(f.lots.values(), key=lambda x: (x.kind, x.id))
        out += [self._lot(lot) for lot in lots]
        out += [self._passage(lot, p) for lot in lots for p in lot.passages]
        out += [self._qc(r) for r in f.qc_results.values()]
        out += [self._signature(s) for s in f.signatures.values()]
        out += [self._bag(b) for b in sorted(f.bags.values(), key=lambda b: b.bag_id)]
        out += [self._custody_event(e) for e in f.custody_events.values()]
        out += [self._patient(p) for p in sorted(f.patients.values(),
                                                 key=lambda p: p.subject_id)]
        out += [self._infusion(i) for i in f.infusions.values()]
        out += [self._adverse_event(e) for e in f.adverse_events.values()]
        return out

    def edges(self) -> list[Edge]:
        f, out = self.found, []
        lot_by_public = {lot.lot_id: lot for lot in f.lots.values()}
        for c in f.collections.values():
            if c.donor_id in f.donors:
                out.append(Edge(f"donor:{f.donors[c.donor_id].code}", f"collection:{c.din}",
                                "donated"))
        for lot in sorted(f.lots.values(), key=lambda x: (x.kind, x.id)):
            if lot.parent_id is not None and lot.parent_id in f.lots:
                out.append(Edge(f"lot:{f.lots[lot.parent_id].lot_id}", f"lot:{lot.lot_id}",
                                "expanded_into"))
            elif lot.collection_id in f.collections:
                out.append(Edge(f"collection:{lot.collection.din}", f"lot:{lot.lot_id}",
                                "processed_into"))
        for material_id, lot_id in sorted(f.material_uses):
            if material_id in f.materials and lot_id in f.lots:
                out.append(Edge(f"material_lot:{f.materials[material_id].code}",
                                f"lot:{f.lots[lot_id].lot_id}", "used_in"))
        for lot in sorted(f.lots.values(), key=lambda x: (x.kind, x.id)):
            out += [Edge(f"lot:{lot.lot_id}", f"passage:{p.id}", "passaged")
                    for p in lot.passages]
        for r in f.qc_results.values():
            out.append(Edge(f"lot:{f.lots[r.lot_id].lot_id}", f"qc_result:{r.id}", "tested"))
        for s in f.signatures.values():
            if s.entity_id in lot_by_public:
                out.append(Edge(f"lot:{s.entity_id}", f"signature:{s.id}", "signed"))
        for bag in sorted(f.bags.values(), key=lambda b: b.bag_id):
            source = f.sources.get(bag.id)
            if self.unblinded and source is not None and source.lot_id in f.lots:
                out.append(Edge(f"lot:{f.lots[source.lot_id].lot_id}", f"bag:{bag.bag_id}",
                                "filled_into"))
            if bag.patient_id in f.patients:
                out.append(Edge(f"bag:{bag.bag_id}",
                                f"patient:{f.patients[bag.patient_id].subject_id}",
                                "allocated_to"))
        if self.unblinded:
            for material_id, bag_id in sorted(f.bag_materials):
                if material_id in f.materials and bag_id in f.bags:
                    out.append(Edge(f"material_lot:{f.materials[material_id].code}",
                                    f"bag:{f.bags[bag_id].bag_id}", "used_in"))
        for e in f.custody_events.values():
            out.append(Edge(f"bag:{f.bags[e.bag_id].bag_id}", f"custody_event:{e.id}", "moved"))
        for i in f.infusions.values():
            if i.bag_id in f.bags:
                out.append(Edge(f"bag:{f.bags[i.bag_id].bag_id}", f"infusion:{i.id}",
                                "infused"))
            if i.patient_id in f.patients:
                out.append(Edge(f"patient:{f.patients[i.patient_id].subject_id}",
                                f"infusion:{i.id}", "received"))
        for e in f.adverse_events.values():
            out.append(Edge(f"infusion:{e.infusion_id}", f"adverse_event:{e.id}", "reported"))
        return out

    # --- one node per record, with the fields this reader may read ----------------------------

    def _donor(self, d: Donor) -> Node:
        return Node(f"donor:{d.code}", "donor", f"Donor {d.code}", d.eligibility,
                    _url("donors.donor", "lot.read", self.reader, code=d.code),
                    {"code": d.code, "eligibility": d.eligibility})

    def _collection(self, c: Collection) -> Node:
        return Node(f"collection:{c.din}", "collection", f"Collection DIN {c.din}", c.status,
                    _url("donors.collection", "lot.read", self.reader, din=c.din),
                    {"din": c.din, "collected_at": _iso(c.collected_at), "site": c.site})

    def _material(self, m: MaterialLot) -> Node:
        return Node(f"material_lot:{m.code}", "material_lot", f"{m.code} {m.name}", m.status,
                    _url("materials.materials", "lot.read", self.reader),
                    {"code": m.code, "material_kind": m.kind, "name": m.name,
                     "supplier": m.supplier, "supplier_lot": m.supplier_lot,
                     "expires_on": _iso(m.expires_on)})

    def _lot(self, lot: Lot) -> Node:
        fields: dict[str, Any] = {
            "lot_id": lot.lot_id, "lot_kind": lot.kind, "din": lot.din,
            "released_at": _iso(lot.released_at), "expires_at": _iso(lot.expires_at),
        }
        if self.unblinded:
            # Cells allocated to bags count the doses filled: unblinded readers only.
            fields["cells_harvested"] = lot.cells_harvested
            fields["cells_allocated"] = lot.cells_allocated
        kind_word = "cell bank" if lot.kind == "cell_bank" else "product batch"
        return Node(f"lot:{lot.lot_id}", "lot", f"{lot.lot_id} ({kind_word})", lot.state,
                    _url("manufacturing.lot_page", "lot.read", self.reader, lot_id=lot.lot_id),
                    fields)

    def _passage(self, lot: Lot, p: Passage) -> Node:
        status = "verified" if p.verified_at is not None else "recorded"
        return Node(f"passage:{p.id}", "passage", f"{lot.lot_id} P{p.number}", status,
                    _url("manufacturing.lot_page", "lot.read", self.reader, lot_id=lot.lot_id),
                    {"lot_id": lot.lot_id, "number": p.number, "seeded_at": _iso(p.seeded_at),
                     "harvested_at": _iso(p.harvested_at), "cells_seeded": p.cells_seeded,
                     "cells_harvested": p.cells_harvested, "viability_pct": p.viability_pct,
                     "confluence_pct": p.confluence_pct, "verified_at": _iso(p.verified_at)})

    def _custody_event(self, e: CustodyEvent) -> Node:
        bag = self.found.bags[e.bag_id]
        if e.action == "handoff" and e.from_location is not None:
            label = f"handoff: {e.from_location.code} → {e.to_location.code}"
        else:
            label = f"{e.action} at {e.to_location.code}"
        return Node(f"custody_event:{e.id}", "custody_event", label,
                    "gap" if e.gap else e.condition,
                    _url("custody.chain", "bag.read", self.reader, bag_id=bag.bag_id),
                    {"bag_id": bag.bag_id, "action": e.action, "at": _iso(e.at),
                     "from_location": e.from_location.code if e.from_location else None,
                     "to_location": e.to_location.code, "temperature_c": e.temperature_c,
                     "condition": e.condition, "gap": e.gap})

    def _qc(self, r: QcResult) -> Node:
        lot = self.found.lots[r.lot_id]
        verdict = "pass" if r.passed else "FAIL"
        return Node(f"qc_result:{r.id}", "qc_result",
                    f"{r.test}: {r.value_display} ({verdict})", verdict.lower(),
                    _url("manufacturing.lot_page", "lot.read", self.reader, lot_id=lot.lot_id),
                    {"test": r.test, "value": r.value_display, "criterion": r.criterion,
                     "passed": r.passed, "performed_at": _iso(r.performed_at),
                     "lot_id": lot.lot_id})

    def _signature(self, s) -> Node:
        return Node(f"signature:{s.id}", "signature", f"{s.meaning_text}: {s.printed_name}",
                    None,
                    _url("manufacturing.lot_page", "lot.read", self.reader, lot_id=s.entity_id),
                    {"meaning": s.meaning, "printed_name": s.printed_name,
                     "signed_at": _iso(s.signed_at), "content_hash": s.content_hash})

    def _bag(self, bag: Bag) -> Node:
        fields: dict[str, Any] = {
            "bag_id": bag.bag_id, "code": bag.code, "subject_id": bag.patient.subject_id,
            "dose_number": bag.dose.dose_number, "expires_at": _iso(bag.expires_at),
        }
        if self.unblinded:
            source = self.found.sources.get(bag.id)
            fields["arm"] = source.arm if source else None
            lot = self.found.lots.get(source.lot_id) if source and source.lot_id else None
            fields["lot_id"] = lot.lot_id if lot else None
        return Node(f"bag:{bag.bag_id}", "bag",
                    f"Bag {bag.bag_id} (dose {bag.dose.dose_number})",
                    bagging.effective_status(bag),
                    _url("bagging.bag_page", "bag.read", self.reader, bag_id=bag.bag_id),
                    fields)

    def _patient(self, p: Patient) -> Node:
        fields: dict[str, Any] = {"subject_id": p.subject_id, "site": p.site}
        if self.unblinded:
            fields["arm"] = self.found.arms.get(p.id)
        return Node(f"patient:{p.subject_id}", "patient", f"Patient {p.subject_id}", p.status,
                    _url("trial.patient", "patient.read", self.reader,
                         subject_id=p.subject_id), fields)

    def _infusion(self, i: Infusion) -> Node:
        return Node(f"infusion:{i.id}", "infusion", f"Infusion {i.id}",
                    i.outcome or ("infusing" if i.ended_at is None else "ended"),
                    _url("bedside.infusion", "infusion.record", self.reader, infusion_id=i.id),
                    {"infusion_id": i.id, "started_at": _iso(i.started_at),
                     "ended_at": _iso(i.ended_at),
                     # SPEC 4.8: nurse 1's answers, "not asked" when the client never asked.
                     **i.verification.attestations})

    def _adverse_event(self, e) -> Node:
        return Node(f"adverse_event:{e.id}", "adverse_event",
                    f"{e.term} (grade {e.grade}{', serious' if e.serious else ''})", None, None,
                    {"term": e.term, "grade": e.grade, "serious": e.serious,
                     "onset_at": _iso(e.onset_at)})


# --- the table form ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    node: Node
    upstream: list[str]
    downstream: list[str]


def table(result: Trace) -> list[Row]:
    """One row per node, in the left-to-right order of the graph, with its neighbours."""
    ups: dict[str, list[str]] = {n.id: [] for n in result.nodes}
    downs: dict[str, list[str]] = {n.id: [] for n in result.nodes}
    for edge in result.edges:
        downs.setdefault(edge.source, []).append(edge.target)
        ups.setdefault(edge.target, []).append(edge.source)
    order = {kind: i for i, kind in enumerate(KIND_ORDER)}
    nodes = sorted(result.nodes, key=lambda n: order.get(n.kind, len(order)))
    return [Row(n, ups[n.id], downs[n.id]) for n in nodes]


def is_bag_side(kind: str) -> bool:
    return kind in BAG_SIDE_ROOTS
