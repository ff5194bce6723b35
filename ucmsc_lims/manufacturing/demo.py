"""Demo lots at every state, made through the services: a released cell bank with vials, a
product batch released and harvested today (contract), a conditionally released batch, one with
an open deviation, one rejected, and lots mid-process."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app

from ..auth import service as accounts
from ..core.clock import local, site_today
from ..core.db import utcnow
from ..donors.demo import make_collection, make_donor
from ..materials.demo import code_of
from ..qc import release
from ..qc import service as qc
from . import service, steps

PASSING = {
    "viability": 92, "cd73": 99, "cd90": 98.5, "cd105": 97, "cd34": 0.4, "cd45": 0.6,
    "cd14_cd11b": 0.3, "cd19_cd79a": 0.2, "hla_dr": 0.5, "sterility": "no growth",
    "mycoplasma": "not detected", "endotoxin": 0.1, "cell_count": 9.0e8, "vial_count": 20,
}
DOSES_CELLS = 10 * 0.5e6 * 80  # contract: at least 10 doses of 0.5e6 cells/kg x 80 kg


def _second(users: dict):
    user = accounts.get_user_by_username("technician2")
    if user is None:
        user = accounts.create_user(username="technician2", full_name="Tao Jun (GMP technician)",
                                    password=current_app.config["DEMO_PASSWORD"],
                                    roles={"technician"}, by=None, is_demo=True)
    return user


def _passages(lot, users, upto: int, begin, days_each: float = 2.0):
    medium, hpl = code_of("alpha-MEM basal medium"), code_of("Human platelet lysate 5 %")
    while steps.next_passage_number(lot) <= upto:
        seeded = begin + timedelta(days=days_each * len(lot.passages))
        p = steps.record_passage(
            lot, seeded_at=seeded, harvested_at=seeded + timedelta(days=days_each),
            vessels="T175 x 4", cells_seeded=2.0e6, cells_harvested=1.5e7, viability_pct=94,
            confluence_pct=85, incubator="L-INC-2", by=users["technician"],
            materials_used=[medium, hpl])
        steps.verify_passage(p, by=_second(users))


def _qc(lot, users, skip=(), fail=None):
    for item in qc.spec_in_force(lot.kind).items:
        if item.test in skip:
            continue
        value = fail[1] if fail and fail[0] == item.test else PASSING[item.test]
        result = qc.record_result(lot, test=item.test, value=value, method=None,
                                  sample_id=f"QC-{lot.lot_id}-{item.test}",
                                  by=users["technician"], instrument="FACSCanto II"
                                  if item.unit == "%" else None)
        qc.review_result(result, by=users["qa"])


def _sign(lot, users, pending=()):
    release.release_lot(lot, by=users["qa"], username="qa",
                        password=current_app.config["DEMO_PASSWORD"], conditional_tests=pending)


def _bank(users, sequence: int, state: str, eligibility: str = "eligible", days_ago: int = 45):
    donor = make_donor(users, eligibility, days_ago=days_ago + 20)
    collection = make_collection(users, donor, sequence, days_ago=days_ago)
    lot = steps.start_cell_bank(collection, by=users["technician"])
    begin = utcnow() - timedelta(days=days_ago - 1)
    if state == "received":
        return lot
    steps.record_processing(lot, method="explant", by=users["technician"], performed_at=begin,
                            materials_used=[code_of("TrypLE Select")])
    if state == "processing":
        return lot
    _passages(lot, users, 1 if state == "expanding" else 2, begin + timedelta(hours=2))
    if state == "expanding":
        return lot
    steps.bank_lot(lot, positions=steps.vial_positions("L-DEWAR-1", f"B{sequence % 100:02d}", 20),
                   cells_per_vial=5.0e6, by=users["technician"],
                   materials_used=[code_of("CryoStor CS10")],
                   at=begin + timedelta(days=6, hours=4))
    if state == "banked":
        return lot
    steps.submit_for_qc(lot, by=users["technician"])
    if state == "qc_pending":
        return lot
    _qc(lot, users)
    _sign(lot, users)
    return lot


def _batch(bank, users, state: str, *, qc_skip=(), fail=None, pending=()):
    vial = service.stored_vials(bank)[0].number
    begin = utcnow() - timedelta(days=6, hours=2)
    batch = steps.start_batch(bank, vial_numbers=[vial], by=users["technician"], at=begin)
    if state == "thawed":
        return batch
    _passages(batch, users, 4 if state == "expanding" else 5, begin + timedelta(hours=1))
    if state == "expanding":
        return batch
    steps.harvest_batch(batch, cells_harvested=9.0e8, viability_pct=93, by=users["technician"])
    if state == "harvested":
        return batch
    steps.submit_for_qc(batch, by=users["technician"])
    if state == "qc_pending":
        _qc(batch, users, skip=qc_skip, fail=fail)
        return batch
    _qc(batch, users, skip=pending)
    _sign(batch, users, pending)
    return batch


def seed(users: dict) -> None:
    _second(users)
    bank = _bank(users, 101, "released")
    _batch(bank, users, "released")
    _batch(bank, users, "released", pending=("sterility",))  # conditional release
    _batch(bank, users, "qc_pending", fail=("cd45", 3.4))  # open deviation
    _batch(bank, users, "qc_pending")  # ready for release
    _batch(bank, users, "expanding")
    _batch(bank, users, "thawed")
    rejected = _bank(users, 102, "qc_pending")
    _qc(rejected, users, fail=("mycoplasma", "detected"))
    release.reject_lot(rejected, by=users["qa"], username="qa",
                       password=current_app.config["DEMO_PASSWORD"],
                       reason="Mycoplasma detected (DEV investigation confirmed)")
    _bank(users, 103, "qc_pending", eligibility="pending")
    _bank(users, 104, "banked", days_ago=20)
    _bank(users, 105, "expanding", days_ago=10)
    _bank(users, 106, "processing", days_ago=3)
    _bank(users, 107, "received", days_ago=1)


def refresh_today(users: dict) -> None:
    """Keep a released, unexpired product batch harvested today with cells for 10 doses."""
    now = utcnow()
    service.expire_due_lots(now)
    fresh = [b for b in service.usable_batches(now + timedelta(hours=2))
             if b.cells_left >= DOSES_CELLS and b.harvested_at
             and local(b.harvested_at).date() == site_today()]
    if fresh:
        return
    banks = [lot for lot in service.list_lots(kind="cell_bank", state="released")
             if service.stored_vials(lot)]
    if banks:
        _batch(banks[0], users, "released")
