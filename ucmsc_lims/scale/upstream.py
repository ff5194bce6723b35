"""Synthetic upstream records: donors, cord collections, cell bank lots and the product batches
thawed from them, with passages, QC results, material use and release signatures."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from ..core.esign import Signature
from ..donors.models import Collection, Donor
from ..extensions import db
from ..manufacturing.models import Lot, MaterialUse, Passage
from ..qc.models import QcResult
from .bulk import BulkWriter
from .chain import Chain
from .reference import Reference


@dataclass
class Bank:
    id: int
    din: str
    collection_id: int
    left: int  # cell bags it may still feed
    batches: int = 0


class Upstream:
    """Creates a new donor and cell bank whenever the current bank has fed its share of bags,
    and one product batch per bank and fill day."""

    def __init__(self, writer: BulkWriter, chain: Chain, ref: Reference, *,
                 bags_per_bank: int, facility: str, rng: random.Random):
        self.writer, self.chain, self.ref, self.rng = writer, chain, ref, rng
        self.bags_per_bank = max(1, bags_per_bank)
        self.facility = facility
        self.bank: Bank | None = None
        self.donors = db.session.scalar(sa.select(sa.func.count()).select_from(Donor)) or 0
        self.dins = set(db.session.scalars(sa.select(Collection.din)))
        self.next_sequence: dict[int, int] = {}
        self.banks_made = 0

    # --- donors and banks ------------------------------------------------------------------------

    def _din(self, year: int) -> str:
        seq = self.next_sequence.get(year, 500_000)
        while True:
            din = f"{self.facility}{year % 100:02d}{seq:06d}"
            seq += 1
            if din not in self.dins:
                self.dins.add(din)
                self.next_sequence[year] = seq
                return din

    def _signature(self, lot_id: str, at: datetime) -> int:
        qa = self.ref.actors["qa"]
        signature_id = self.writer.next_id(Signature)
        self.writer.add(Signature, {
            "id": signature_id, "user_id": qa.id, "printed_name": "Qiao Li (QA)",
            "meaning": "lot_release", "signed_at": at, "entity_type": "lot",
            "entity_id": lot_id,
            "content_hash": hashlib.sha256(f"{lot_id}|{at.isoformat()}".encode()).hexdigest(),
        })
        return signature_id

    def _passages(self, lot_id: int, first: int, count: int, start: datetime) -> None:
        technician, qa = self.ref.actors["technician"], self.ref.actors["qa"]
        for number in range(first, first + count):
            seeded = start + timedelta(days=2 * (number - first))
            passage_id = self.writer.next_id(Passage)
            self.writer.add(Passage, {
                "id": passage_id, "lot_id": lot_id, "number": number, "seeded_at": seeded,
                "harvested_at": seeded + timedelta(days=2), "vessels": "T175 x 4",
                "cells_seeded": 2.0e6, "cells_harvested": 1.5e7, "viability_pct": 94.0,
                "confluence_pct": 85.0, "incubator": "L-INC-2", "operator_id": technician.id,
                "recorded_at": seeded + timedelta(days=2, hours=1), "verifier_id": qa.id,
                "verified_at": seeded + timedelta(days=2, hours=2),
            })
            self.writer.add(MaterialUse, {
                "id": self.writer.next_id(MaterialUse), "lot_id": lot_id,
                "material_lot_id": self.rng.choice(self.ref.materials["medium"]),
                "step": "passage", "passage_id": passage_id, "used_at": seeded,
                "used_by_id": technician.id,
            })

    def _qc(self, lot_id: int, lot_code: str, kind: str, at: datetime) -> None:
        technician, qa = self.ref.actors["technician"], self.ref.actors["qa"]
        for item in self.ref.qc_items[kind]:
            self.writer.add(QcResult, {
                "id": self.writer.next_id(QcResult), "lot_id": lot_id,
                "specification_id": self.ref.spec_ids[kind], "test": item.test,
                "method": item.method, "sample_id": f"QC-{lot_code}-{item.test}",
                "value_number": item.value_number, "value_text": item.value_text,
                "unit": item.unit, "instrument": "FACSCanto II", "performed_at": at,
                "recorded_by_id": technician.id, "recorded_at": at, "passed": True,
                "criterion": item.criterion, "reviewer_id": qa.id,
                "reviewed_at": at + timedelta(hours=1),
            })

    def _new_bank(self, day: date, at: datetime) -> Bank:
        technician, qa = self.ref.actors["technician"], self.ref.actors["qa"]
        collected = at - timedelta(days=60 + self.rng.randint(0, 30))
        self.donors += 1
        code = f"D-{self.donors:05d}"
        donor_id = self.writer.next_id(Donor)
        self.writer.add(Donor, {
            "id": donor_id, "code": code, "consent_date": (collected - timedelta(days=20)).date(),
            "consent_form_version": "ICF v2.1", "consent_obtained_by": "Dr. Wang (obstetrics)",
            "eligibility": "eligible", "determined_by_id": qa.id,
            "determined_on": (collected + timedelta(days=5)).date(),
            "created_by_id": technician.id, "created_at": collected - timedelta(days=20),
        })
        self.chain.record("donor.registered", ("donor", code), at=collected, actor=technician,
                          new={"code": code, "eligibility": "eligible"})
        din = self._din(collected.year)
        collection_id = self.writer.next_id(Collection)
        self.writer.add(Collection, {
            "id": collection_id, "din": din, "donor_id": donor_id, "collected_at": collected,
            "delivery": "Caesarean section, term 39 weeks", "site": "Maternity unit 3",
            "transport_container": "Validated shipper TS-2", "transport_temperature_c": 6.0,
            "received_at": collected + timedelta(hours=5), "receipt_condition": "intact, sealed",
            "received_by_id": technician.id, "status": "accepted", "decided_by_id": qa.id,
            "decided_at": collected + timedelta(hours=6),
        })
        lot_code = f"{din}-CB"
        banked = collected + timedelta(days=7)
        released = banked + timedelta(days=14)
        lot_id = self.writer.next_id(Lot)
        self.writer.add(Lot, {
            "id": lot_id, "lot_id": lot_code, "kind": "cell_bank", "din": din,
            "product_code": "S1001V00", "state": "released", "collection_id": collection_id,
            "started_at": collected + timedelta(days=1), "started_by_id": technician.id,
            "banked_at": banked, "released_at": released,
            "expires_at": banked + timedelta(days=730), "cells_allocated": 0.0,
            "release_signature_id": self._signature(lot_code, released),
        })
        self._passages(lot_id, 0, 3, collected + timedelta(days=1))
        self._qc(lot_id, lot_code, "cell_bank", banked + timedelta(days=1))
        self.chain.record("lot.released", ("lot", lot_code), at=released, actor=qa,
                          old={"state": "qc_pending"}, new={"state": "released"})
        self.banks_made += 1
        return Bank(lot_id, din, collection_id, self.bags_per_bank)

    # --- batches ---------------------------------------------------------------------------------

    def batches_for(self, day: date, at: datetime, bags: int,
                    *, dose_cells: list[float], expired: bool) -> list[tuple[int, str]]:
        """(lot id, public lot id) for each of `bags` cell bags filled on `day`, in order."""
        qa, technician = self.ref.actors["qa"], self.ref.actors["technician"]
        out: list[tuple[int, str]] = []
        position = 0
        while position < bags:
            if self.bank is None or self.bank.left == 0:
                self.bank = self._new_bank(day, at)
            bank = self.bank
            take = min(bank.left, bags - position)
            bank.left -= take
            bank.batches += 1
            allocated = sum(dose_cells[position:position + take])
            lot_code = f"{bank.din}-PB{bank.batches:02d}"
            harvested = at - timedelta(hours=2)
            released = at - timedelta(hours=1)
            lot_id = self.writer.next_id(Lot)
            self.writer.add(Lot, {
                "id": lot_id, "lot_id": lot_code, "kind": "product_batch", "din": bank.din,
                "product_code": "S1002VA0", "state": "expired" if expired else "released",
                "collection_id": bank.collection_id, "parent_id": bank.id,
                "started_at": harvested - timedelta(days=6), "started_by_id": technician.id,
                "harvested_at": harvested, "released_at": released,
                "expires_at": harvested + timedelta(hours=30),
                "cells_harvested": round(allocated * 1.1, 0), "harvest_viability_pct": 93.0,
                "cells_allocated": allocated,
                "release_signature_id": self._signature(lot_code, released),
            })
            self._passages(lot_id, 3, 2, harvested - timedelta(days=4))
            self._qc(lot_id, lot_code, "product_batch", harvested)
            self.chain.record("lot.released", ("lot", lot_code), at=released, actor=qa,
                              old={"state": "qc_pending"}, new={"state": "released"})
            out.extend([(lot_id, lot_code)] * take)
            position += take
        return out
