"""The synthetic study: patients of both arms enrolled day by day over a history, their three
doses, and a bag for each dose given: filled in the day's fill session (cell bags from a batch
harvested that day, saline bags from a saline lot), labelled, released, handed to the ward,
received, verified by two nurses and infused. A last group of patients has dose 1 due today
with its bag on the demo ward, so the bedside answers GO at once (SPEC 4.8, 8).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from ..bagging.models import Bag, BagLabelIssue, BagSource, FillSession
from ..bedside.checks import CHECK_NAMES
from ..bedside.models import Infusion, Verification
from ..core.audit import AuditEntry
from ..core.esign import Signature
from ..core.ids import CROCKFORD, bag_code, patient_code
from ..custody.models import CustodyEvent
from ..donors.models import Collection, Donor
from ..extensions import db
from ..manufacturing.models import Lot, MaterialUse, Passage
from ..materials.models import MaterialLot
from ..qc.models import QcResult
from ..trial.models import Allocation, AllocationList, Dose, Patient
from .bulk import BulkWriter
from .chain import Chain
from .reference import WARD, Reference, add_materials
from .upstream import Upstream

DOSE_CELLS_PER_KG = 0.5e6
BAG_VOLUME_ML = 100
SHELF_LIFE = timedelta(hours=6)
FIRST_SITE = 10  # demo patients are at site 01; synthetic ones at sites 10 to 99
STRATA = ("CPA", "CPB")
ROOM = "GMP-FILL-1"
# What nurse 1 saw for a bag later infused: every check passed (kept short at this scale).
GO_CHECKS = [{"check": name, "ok": True, "message": "ok"} for name in CHECK_NAMES]
ELIGIBILITY_ANSWERS = json.dumps({
    "biliary_disease": False, "liver_cirrhosis": True, "malignancy": False,
    "organ_failure": False, "pregnancy": False, "pregnancy_test_negative": True,
    "sepsis": False, "vein_thrombosis": False, "written_consent": True}, sort_keys=True)
# Today's bags, in turn: mostly on the ward, some still on their way.
TODAY_STATUSES = ("received_on_ward",) * 7 + ("in_transit", "released_for_issue", "filled")

# Upstream first, so no chunk of rows is written before what it refers to.
TABLE_ORDER = (Signature, MaterialLot, Donor, Collection, Lot, Passage, MaterialUse, QcResult,
               AllocationList, Patient, Allocation, Dose, FillSession, Bag, BagLabelIssue,
               BagSource, CustodyEvent, Verification, Infusion, AuditEntry)


@dataclass(frozen=True)
class Plan:
    bags: int
    today_patients: int
    patients: int
    bags_per_bank: int
    history_days: int
    seed: int = 9

    @classmethod
    def for_size(cls, bags: int, *, donors: int | None = None, patients: int | None = None,
                 today: int | None = None, seed: int = 9) -> Plan:
        today = min(bags, today if today is not None else max(4, min(200, bags // 1000)))
        historical_bags = bags - today
        if patients is None:
            patients = today + math.ceil(historical_bags / 3)
        if patients < today + math.ceil(historical_bags / 3):
            raise ValueError("Each patient has three doses: give at least a third as many "
                             "patients as bags.")
        cell_bags = max(1, historical_bags // 2 + today // 2)
        per_bank = math.ceil(cell_bags / donors) if donors else 100
        days = max(60, min(1400, (patients - today) // 40))
        return cls(bags, today, patients, per_bank, days, seed)


@dataclass
class PatientPlan:
    index: int
    id: int
    subject_id: str
    code: str
    arm: str
    weight: float
    acd_a: bool
    dose_ids: list[int]
    fates: list[str]  # per dose given a bag: infused, stopped, returned or destroyed


class Builder:
    def __init__(self, writer: BulkWriter, ref: Reference, plan: Plan, *, now: datetime,
                 today: date, facility: str, progress: Callable[[int], None]):
        self.writer, self.ref, self.plan = writer, ref, plan
        self.now, self.today, self.progress = now, today, progress
        self.rng = random.Random(plan.seed ^ int(now.timestamp()))
        self.chain = Chain(writer)
        self.upstream = Upstream(writer, self.chain, ref, bags_per_bank=plan.bags_per_bank,
                                 facility=facility, rng=self.rng)
        self.bag_ids = set(db.session.scalars(sa.select(Bag.bag_id)))
        self.fill_sessions = dict(db.session.execute(
            sa.select(FillSession.day, FillSession.id).where(FillSession.room == ROOM)).all())
        self.next_number = {s: (db.session.scalar(
            sa.select(sa.func.max(Allocation.randomization_number))
            .where(Allocation.stratum == s)) or 0) + 1 for s in STRATA}
        self.serial = self._first_serial()
        self.arms: dict[str, list[str]] = {s: [] for s in STRATA}
        self.bags_written = 0
        writer.declare(*TABLE_ORDER)

    # --- identifiers -----------------------------------------------------------------------------

    def _first_serial(self) -> int:
        highest = db.session.scalar(sa.select(sa.func.max(Patient.subject_id))
                                    .where(Patient.subject_id >= f"{FIRST_SITE:02d}-"))
        if highest is None:
            return 0
        site, number = highest.split("-")
        return (int(site) - FIRST_SITE) * 9999 + int(number)

    def _subject_id(self) -> str:
        site, number = divmod(self.serial, 9999)
        self.serial += 1
        if FIRST_SITE + site > 99:
            raise ValueError("Synthetic subject ids are used up (sites 10 to 99).")
        return f"{FIRST_SITE + site:02d}-{number + 1:04d}"

    def _bag_id(self) -> str:
        while True:
            bits = self.rng.getrandbits(50)
            bag_id = "".join(CROCKFORD[(bits >> (5 * i)) & 31] for i in range(10))
            if bag_id[1:].isdigit() or bag_id in self.bag_ids:
                continue
            self.bag_ids.add(bag_id)
            return bag_id

    def _arm(self, stratum: str) -> str:
        """Permuted blocks of four within each stratum (SPEC 4.4)."""
        pending = self.arms[stratum]
        if not pending:
            pending.extend(self.rng.sample(["A", "A", "B", "B"], 4))
        return pending.pop()

    # --- patients --------------------------------------------------------------------------------

    def allocation_list(self) -> int:
        list_id = self.writer.next_id(AllocationList)
        digest = hashlib.sha256(f"synthetic-{self.now.isoformat()}".encode()).hexdigest()
        self.writer.add(AllocationList, {
            "id": list_id, "source": "generated", "seed_fingerprint": digest,
            "block_sizes": "4", "strata": json.dumps(list(STRATA)), "content_sha256": digest,
            "filename": None, "created_at": self.now - timedelta(days=self.plan.history_days + 90),
            "created_by_id": self.ref.actors["pharmacist"].id,
        })
        return list_id

    def enroll(self, index: int, day0: date, bags: int, list_id: int) -> PatientPlan:
        investigator = self.ref.actors["investigator"]
        rng = self.rng
        stratum = STRATA[rng.random() < 0.4]
        arm = self._arm(stratum)
        number = self.next_number[stratum]
        self.next_number[stratum] += 1
        subject_id = self._subject_id()
        weight = round(rng.uniform(45, 95) * 2) / 2
        acd_a = rng.random() < 0.05
        enrolled_at = datetime.combine(day0 - timedelta(days=1), time(2), tzinfo=UTC) \
            + timedelta(microseconds=rng.randrange(10**9))
        patient_id = self.writer.next_id(Patient)
        withdrawn = bags < 3 and day0 + timedelta(days=60) < self.today
        fates = [self._fate() if day0 + timedelta(days=28 * k) < self.today else "live"
                 for k in range(bags)]
        self.writer.add(Patient, {
            "id": patient_id, "subject_id": subject_id, "code": patient_code(subject_id),
            "hospital_record_number": f"H{5_000_000 + patient_id}",
            "initials": "".join(rng.choice("ABCDFGHJKLMNPRSTWXYZ") for _ in range(2)),
            "date_of_birth": date(1940 + rng.randrange(50), 1 + rng.randrange(12),
                                  1 + rng.randrange(28)),
            "site": subject_id[:2], "weight_kg": weight, "stratum": stratum,
            "randomization_number": number, "status": "withdrawn" if withdrawn else "active",
            "heparin_contraindication": acd_a,
            "contraindications": json.dumps(["heparin"] if acd_a else []),
            "eligibility_version": "ELIG-1.0", "eligibility_answers": ELIGIBILITY_ANSWERS,
            "day0": day0, "enrolled_at": enrolled_at, "enrolled_by_id": investigator.id,
            "status_changed_on": day0 + timedelta(days=60) if withdrawn else None,
            "status_reason": "withdrew consent" if withdrawn else None,
        })
        self.writer.add(Allocation, {
            "id": self.writer.next_id(Allocation), "list_id": list_id, "stratum": stratum,
            "randomization_number": number, "arm": arm, "block_number": number // 4 + 1,
            "block_size": 4, "patient_id": patient_id, "assigned_at": enrolled_at,
        })
        self.chain.record("patient.enrolled", ("patient", subject_id), at=enrolled_at,
                          actor=investigator,
                          new={"subject_id": subject_id, "site": subject_id[:2]})
        dose_ids = []
        for k in range(3):
            due = day0 + timedelta(days=28 * k)
            if due < self.today:
                if k < bags:
                    state = "infused" if fates[k] in ("infused", "stopped") else "missed"
                else:
                    state = "cancelled" if withdrawn else "missed"
            elif due == self.today and k < bags:
                state = "bag_ready"
            else:
                state = "scheduled"
            dose_id = self.writer.next_id(Dose)
            cleared = k < bags
            self.writer.add(Dose, {
                "id": dose_id, "patient_id": patient_id, "dose_number": k + 1, "due_on": due,
                "window_start": due - timedelta(days=3 if k else 0),
                "window_end": due + timedelta(days=3 if k else 0), "state": state,
                "prepared_weight_kg": weight if cleared else None,
                "cleared_at": datetime.combine(due - timedelta(days=1), time(6), tzinfo=UTC)
                if cleared else None,
                "cleared_by_id": investigator.id if cleared else None,
                "state_changed_at": enrolled_at,
            })
            dose_ids.append(dose_id)
        return PatientPlan(index, patient_id, subject_id, patient_code(subject_id), arm, weight,
                           acd_a, dose_ids, fates)

    def _fate(self) -> str:
        draw = self.rng.random()
        if draw < 0.95:
            return "infused"
        return "stopped" if draw < 0.96 else "returned" if draw < 0.97 else "destroyed"

    # --- one fill day ----------------------------------------------------------------------------

    def _fill_session(self, day: date, at: datetime) -> int:
        if day not in self.fill_sessions:
            session_id = self.writer.next_id(FillSession)
            self.writer.add(FillSession, {
                "id": session_id, "day": day, "room": ROOM, "started_at": at,
                "started_by_id": self.ref.actors["technician"].id,
            })
            self.fill_sessions[day] = session_id
        return self.fill_sessions[day]

    def fill_day(self, day: date, doses: list[tuple[PatientPlan, int]], *, live: bool) -> None:
        """Bags for the doses due on `day`. A past day's bags went their whole way; today's
        (`live`) are filled an hour ago and mostly received on the ward."""
        if not doses:
            return
        at = self.now - timedelta(hours=1) if live else datetime.combine(day, time(1), tzinfo=UTC)
        session_id = self._fill_session(day, at)
        cells = [DOSE_CELLS_PER_KG * p.weight for p, _ in doses if p.arm == "A"]
        lots = iter(self.upstream.batches_for(day, at, len(cells), dose_cells=cells,
                                              expired=not live))
        for position, (patient, k) in enumerate(doses):
            lot = next(lots) if patient.arm == "A" else None
            status = TODAY_STATUSES[position % len(TODAY_STATUSES)] if live else None
            self._bag(patient, k, lot, session_id, at + timedelta(seconds=7 * position),
                      status)
        self.progress(len(doses))
        self.bags_written += len(doses)

    # --- one bag ---------------------------------------------------------------------------------

    def _bag(self, patient: PatientPlan, k: int, lot: tuple[int, str] | None, session_id: int,
             at: datetime, live_status: str | None) -> None:
        actors, writer, ref = self.ref.actors, self.writer, self.ref
        technician, pharmacist = actors["technician"], actors["pharmacist"]
        nurse, nurse2 = actors["nurse"], actors["nurse2"]
        fate = live_status or patient.fates[k]
        bag_id = self._bag_id()
        bag_pk = writer.next_id(Bag)
        dose_id = patient.dose_ids[k]
        reprinted = self.rng.random() < 0.01
        issue = 2 if reprinted else 1
        code = bag_code(bag_id, issue)
        expires = at + SHELF_LIFE
        released = fate != "filled"
        handed = fate not in ("filled", "released_for_issue")
        received = handed and fate != "in_transit"
        given = fate in ("infused", "stopped")
        times = {"handoff": at + timedelta(minutes=45), "receipt": at + timedelta(minutes=70),
                 "verified": at + timedelta(minutes=90), "start": at + timedelta(minutes=100),
                 "end": at + timedelta(minutes=160), "return": at + timedelta(hours=3)}
        status, changed, prev, actor = fate, at, "filled", technician
        if fate in ("infused", "stopped"):
            changed, prev, actor = times["end"], "infusing", nurse
        elif fate == "returned":
            changed, prev, actor = times["return"], "received_on_ward", nurse
        elif fate == "destroyed":
            changed, prev, actor = times["return"] + timedelta(days=1), "returned", pharmacist
        elif fate == "received_on_ward":
            changed, prev, actor = self.now - timedelta(minutes=20), "in_transit", nurse
        elif fate == "in_transit":
            changed, prev, actor = self.now - timedelta(minutes=30), "released_for_issue", \
                technician
        elif fate == "released_for_issue":
            changed, prev, actor = at + timedelta(minutes=30), "filled", pharmacist
        if live_status in ("received_on_ward", "in_transit"):
            times["handoff"], times["receipt"] = (self.now - timedelta(minutes=30),
                                                  self.now - timedelta(minutes=20))
        writer.add(Bag, {
            "id": bag_pk, "bag_id": bag_id, "patient_id": patient.id, "dose_id": dose_id,
            "fill_session_id": session_id, "status": status, "status_changed_at": changed,
            "label_issue": issue, "code": code, "created_at": at - timedelta(hours=2),
            "created_by_id": technician.id, "filled_at": at, "filled_by_id": technician.id,
            "expires_at": expires, "volume_ml": BAG_VOLUME_ML,
            "prepared_weight_kg": patient.weight,
            "fill_verified_at": at + timedelta(minutes=15) if released else None,
            "fill_verified_by_id": pharmacist.id if released else None,
            "released_at": at + timedelta(minutes=30) if released else None,
            "released_by_id": pharmacist.id if released else None,
            "destination_ward": WARD if handed else None,
        })
        for number in range(1, issue + 1):
            current = number == issue
            writer.add(BagLabelIssue, {
                "id": writer.next_id(BagLabelIssue), "bag_id": bag_pk, "issue": number,
                "code": code if current else bag_code(bag_id, number),
                "printed_at": at - timedelta(hours=2 - number * 0.25),
                "printed_by_id": technician.id, "print_count": 1, "printed_expiry": expires,
                "applied_at": at if current else None,
                "voided_at": None if current else at - timedelta(hours=1),
                "voided_by_id": None if current else technician.id,
                "void_reason": None if current else "label smudged at printing: reprinted",
            })
        saline = ref.materials["saline"][(self.bags_written // 50_000) % len(
            ref.materials["saline"])]
        cells = DOSE_CELLS_PER_KG * patient.weight if lot else None
        writer.add(BagSource, {
            "id": writer.next_id(BagSource), "bag_id": bag_pk, "arm": patient.arm,
            "lot_id": lot[0] if lot else None, "cells": cells,
            "cells_per_ml": cells / BAG_VOLUME_ML if cells else None,
            "source_material_id": None if lot else saline,
            "anticoagulant_material_id": ref.materials["acd_a" if patient.acd_a else "heparin"][0],
            "saline_material_id": saline, "container_material_id": ref.materials["container"][0],
        })
        if handed:
            self._custody(bag_id, bag_pk, "handoff", ref.pharmacy_id, ref.ward_id,
                          times["handoff"], technician, None)
        if received:
            self._custody(bag_id, bag_pk, "receipt", ref.ward_id, ref.ward_id, times["receipt"],
                          nurse, nurse.id)
        if fate in ("returned", "destroyed"):
            self._custody(bag_id, bag_pk, "return", ref.ward_id, ref.pharmacy_id,
                          times["return"], nurse, None, note="dose not given: returned unused")
        if given:
            verification_id = writer.next_id(Verification)
            writer.add(Verification, {
                "id": verification_id, "created_at": times["verified"], "nurse_id": nurse.id,
                "ward_code": WARD, "patient_code_scanned": patient.code,
                "bag_code_scanned": code, "patient_id": patient.id, "bag_id": bag_pk,
                "dose_id": dose_id, "weight_kg": patient.weight, "identity_confirmed": True,
                "bag_intact": True, "decision": "GO", "checks": GO_CHECKS,
                "confirmed_at": times["verified"] + timedelta(minutes=5),
                "confirmed_by_id": nurse2.id,
            })
            stopped = fate == "stopped"
            writer.add(Infusion, {
                "id": writer.next_id(Infusion), "bag_id": bag_pk,
                "verification_id": verification_id, "patient_id": patient.id,
                "dose_id": dose_id, "started_at": times["start"], "started_by_id": nurse.id,
                "ended_at": times["end"], "ended_by_id": nurse.id,
                "volume_infused_ml": 40.0 if stopped else 100.0, "rate_ml_per_h": 100.0,
                "outcome": "stopped" if stopped else "completed",
                "stop_reason": "chills and fever during infusion" if stopped else None,
            })
        self.chain.record("bag.status_changed", ("bag", bag_id), at=changed, actor=actor,
                          old={"status": prev}, new={"status": status, "code": code})

    def _custody(self, bag_id: str, bag_pk: int, action: str, from_id: int, to_id: int,
                 at: datetime, by, to_user_id: int | None, note: str | None = None) -> None:
        self.writer.add(CustodyEvent, {
            "id": self.writer.next_id(CustodyEvent), "item_type": "bag", "item_ref": bag_id,
            "bag_id": bag_pk, "action": action, "from_location_id": from_id,
            "to_location_id": to_id, "to_user_id": to_user_id, "at": at,
            "temperature_c": 5.0, "condition": "intact", "gap": False,
            "recorded_by_id": by.id, "note": note,
        })

    # --- the whole study -------------------------------------------------------------------------

    def run(self, checkpoint: Callable[[], None], *, every: int = 100_000) -> None:
        """Enroll and fill day by day, oldest first; `checkpoint` commits now and then."""
        plan, rng = self.plan, self.rng
        add_materials(self.writer, self.ref, today=self.today, now=self.now)
        list_id = self.allocation_list()
        historical = plan.patients - plan.today_patients
        quotas: list[int] = []
        if historical:
            base, extra = divmod(plan.bags - plan.today_patients, historical)
            quotas = [base + 1] * extra + [base] * (historical - extra)
            rng.shuffle(quotas)
        starts = sorted(self.today - timedelta(days=57 + rng.randrange(plan.history_days))
                        for _ in range(historical))
        enrolled: dict[date, list[PatientPlan]] = defaultdict(list)
        next_patient, last_checkpoint = 0, 0
        day = starts[0] if starts else self.today
        while day < self.today:
            while next_patient < historical and starts[next_patient] == day:
                enrolled[day].append(self.enroll(next_patient, day, quotas[next_patient],
                                                 list_id))
                next_patient += 1
            due = [(p, k) for k in range(3)
                   for p in enrolled.get(day - timedelta(days=28 * k), ()) if k < len(p.fates)]
            self.fill_day(day, due, live=False)
            enrolled.pop(day - timedelta(days=56), None)
            day += timedelta(days=1)
            if self.bags_written - last_checkpoint >= every:
                checkpoint()
                last_checkpoint = self.bags_written
        today_doses = [(self.enroll(historical + i, self.today, 1, list_id), 0)
                       for i in range(plan.today_patients)]
        self.fill_day(self.today, today_doses, live=True)
        checkpoint()
