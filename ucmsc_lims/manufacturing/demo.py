"""Demo lots at every state, made through the services: a released cell bank with vials,
product batches released and harvested today (contract; conditionally, their 14-day sterility
culture still running), one with an open deviation, one rejected, and lots mid-process."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app

from ..auth import service as accounts
from ..core.clock import local, site_today
from ..core.db import utcnow
from ..custody import service as custody
from ..custody.demo import PLACES
from ..donors.demo import make_collection, make_donor
from ..materials.demo import code_of
from ..qc import release
from ..qc import service as qc
from . import plausibility, service, steps

PASSING = {
    "viability": 92, "cd73": 99, "cd90": 98.5, "cd105": 97, "cd34": 0.4, "cd45": 0.6,
    "cd14_cd11b": 0.3, "cd19_cd79a": 0.2, "hla_dr": 0.5, "sterility": "no growth",
    "mycoplasma": "not detected", "endotoxin": 0.1, "cell_count": 9.0e8, "vial_count": 20,
}
DOSES_CELLS = 10 * 0.5e6 * 80  # contract: at least 10 doses of 0.5e6 cells/kg x 80 kg
INCUBATOR, DEWAR = "L-INC-01", "L-DEWAR-01"


def _second(users: dict):
    user = accounts.get_user_by_username("technician2")
    if user is None:
        user = accounts.create_user(username="technician2", full_name="Tao Jun (GMP technician)",
                                    password=current_app.config["DEMO_PASSWORD"],
                                    roles={"technician"}, by=None, is_demo=True)
    return user


def _places() -> None:
    """The incubator and the dewar the demo's lots use, named as the custody demo names them
    (custody seeds after manufacturing)."""
    for code, name, kind in PLACES:
        if code in {INCUBATOR, DEWAR} and custody.location_by_code(code) is None:
            custody.create_location(code=code, name=name, kind=kind, by=None)


def _passages(lot, users, upto: int, begin, days_each: float = 2.0):
    """Each passage seeds every cell the one before harvested (or the thawed vial held) and
    grows 6-fold in 2 days: a doubling every 18.6 h, inside the plausible range."""
    medium, hpl = code_of("alpha-MEM basal medium"), code_of("Human platelet lysate 5 %")
    while steps.next_passage_number(lot) <= upto:
        seeded = begin + timedelta(days=days_each * len(lot.passages))
        cells = plausibility.cells_for_next_passage(lot) or 2.0e6
        p = steps.record_passage(
            lot, seeded_at=seeded, harvested_at=seeded + timedelta(days=days_each),
            vessels="T175 x 4", cells_seeded=cells, cells_harvested=6 * cells, viability_pct=94,
            confluence_pct=85, incubator=INCUBATOR, by=users["technician"],
            materials_used=[medium, hpl])
        steps.verify_passage(p, by=_second(users))


def _qc(lot, users, skip=(), fail=None) -> tuple[str, ...]:
    """QC sampled at banking, or for a batch from its last passage's culture. A test whose
    passing result cannot exist yet (a 14-day sterility culture of a fresh batch) gets none:
    its name is returned, for a conditional release."""
    sampled_at = lot.banked_at or lot.passages[-1].seeded_at
    waiting = []
    for item in qc.spec_in_force(lot.kind).items:
        if item.test in skip:
            continue
        failing = bool(fail) and fail[0] == item.test
        if not failing and qc.earliest_passing_result(item.test, sampled_at) > utcnow():
            waiting.append(item.test)
            continue
        value = fail[1] if failing else PASSING[item.test]
        result = qc.record_result(lot, test=item.test, value=value, method=None,
                                  sample_id=f"QC-{lot.lot_id}-{item.test}",
                                  by=users["technician"], sampled_at=sampled_at,
                                  instrument="FACSCanto II" if item.unit == "%" else None)
        qc.review_result(result, by=users["qa"])
    return tuple(waiting)


def _sign(lot, users, pending=()):
    release.release_lot(lot, by=users["qa"], username="qa",
                        password=current_app.config["DEMO_PASSWORD"], conditional_tests=pending)


def _bank(users, sequence: int, state: str, eligibility: str = "eligible", days_ago: int = 45):
    donor = make_donor(users, eligibility, days_ago=days_ago + 20)
    collection = make_collection(users, donor, sequence, days_ago=days_ago)
    begin = utcnow() - timedelta(days=days_ago - 1)
    lot = steps.start_cell_bank(collection, by=users["technician"],
                                started_at=begin - timedelta(hours=1))
    if state == "received":
        return lot
    steps.record_processing(lot, method="explant", by=users["technician"], performed_at=begin,
                            materials_used=[code_of("TrypLE Select")])
    if state == "processing":
        return lot
    _passages(lot, users, 1 if state == "expanding" else 2, begin + timedelta(hours=2))
    if state == "expanding":
        return lot
    steps.bank_lot(lot, positions=steps.vial_positions(DEWAR, f"B{sequence % 100:02d}", 20),
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
    waiting = _qc(batch, users, skip=pending)
    _sign(batch, users, tuple(dict.fromkeys((*pending, *waiting))))
    return batch


def seed(users: dict) -> None:
    _second(users)
    _places()
    bank = _bank(users, 101, "released")
    _batch(bank, users, "released")
    _batch(bank, users, "released", pending=("sterility",))  # conditional release
    _batch(bank, users, "qc_pending", fail=("cd45", 3.4))  # open deviation
    _batch(bank, users, "qc_pending")  # ready for conditional release (sterility pending)
    _batch(bank, users, "expanding")
    _batch(bank, users, "thawed")
    rejected = _bank(users, 102, "qc_pending")
    _qc(rejected, users, fail=("mycoplasma", "detected"))
    release.reject_lot(rejected, by=users["qa"], username="qa",
                       password=current_app.config["DEMO_PASSWORD"],
                       reason="Mycoplasma detected (DEV investigation confirmed)")
    _bank(users, 103, "qc_pending", eligibility="pending")
    # Ready for release: its QC was sampled at banking, weeks ago, so every result is in.
    _qc(_bank(users, 108, "qc_pending", days_ago=40), users)
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
        _places()
        _batch(banks[0], users, "released")
