"""Cell bank lots and product batches built through the manufacturing and QC services, so a
released lot is made by releasing it."""

from __future__ import annotations

from datetime import timedelta

from ucmsc_lims.auth import service as accounts
from ucmsc_lims.core.db import utcnow
from ucmsc_lims.custody import service as custody
from ucmsc_lims.extensions import db
from ucmsc_lims.manufacturing import plausibility, steps
from ucmsc_lims.qc import release
from ucmsc_lims.qc import service as qc

from . import DEMO_PASSWORD, make_user
from .donors import make_collection
from .materials import make_material

PASSING = {
    "viability": 92, "cd73": 99, "cd90": 98.5, "cd105": 97, "cd34": 0.4, "cd45": 0.6,
    "cd14_cd11b": 0.3, "cd19_cd79a": 0.2, "hla_dr": 0.5, "sterility": "no growth",
    "mycoplasma": "not detected", "endotoxin": 0.1, "cell_count": 6.0e8, "vial_count": 20,
}


def second_technician(users):
    if "technician2" not in users:
        users["technician2"] = accounts.get_user_by_username("technician2") or make_user(
            "technician2", {"technician"}, full_name="Second Technician")
    return users["technician2"]


INCUBATOR, DEWAR = "L-INC-2", "L-DEWAR-1"


def place(code: str, kind: str):
    """A registered location: a passage's incubator, a bank's dewar (SPEC 4.2)."""
    found = custody.location_by_code(code)
    if found is None:
        found = custody.create_location(code=code, name=f"{kind.title()} {code}", kind=kind,
                                        by=None)
        db.session.flush()
    return found


def run_passages(lot, users, *, upto: int, start_days_ago: float = 12, verify: bool = True,
                 medium=None):
    """Passages 48 h apart, each seeding every cell the one before harvested (or the thawed
    vials held) and growing 8-fold: a doubling every 16 h, inside the plausible range."""
    medium = medium or make_material(users)
    begin = utcnow() - timedelta(days=start_days_ago)
    while steps.next_passage_number(lot) <= upto:
        n = len(lot.passages)
        seeded = begin + timedelta(days=2 * n)
        cells = plausibility.cells_for_next_passage(lot) or 1.0e6
        passage = steps.record_passage(
            lot, seeded_at=seeded, harvested_at=seeded + timedelta(hours=48),
            vessels="T175 x 4", cells_seeded=cells, cells_harvested=8 * cells, viability_pct=95,
            confluence_pct=85, incubator=INCUBATOR, by=users["technician"],
            materials_used=[medium.code])
        if verify:
            steps.verify_passage(passage, by=second_technician(users))
        db.session.flush()
    return lot


def make_bank(users, *, state: str = "released", eligibility: str = "eligible", vials: int = 12):
    """A cell bank lot brought to `state` (received, processing, expanding, banked, qc_pending,
    released)."""
    place(INCUBATOR, "incubator")
    place(DEWAR, "dewar")
    collection = make_collection(users, eligibility=eligibility)
    lot = steps.start_cell_bank(collection, by=users["technician"],
                                started_at=utcnow() - timedelta(days=19, hours=1))
    if state == "received":
        return lot
    steps.record_processing(lot, method="explant", by=users["technician"],
                            performed_at=utcnow() - timedelta(days=19))
    if state == "processing":
        return lot
    run_passages(lot, users, upto=0 if state == "expanding" else 2, start_days_ago=18)
    if state == "expanding":
        return lot
    steps.bank_lot(lot, positions=steps.vial_positions(DEWAR, "B01", vials),
                   cells_per_vial=5.0e6, by=users["technician"], at=utcnow() - timedelta(days=11))
    if state == "banked":
        return lot
    steps.submit_for_qc(lot, by=users["technician"])
    if state == "qc_pending":
        return lot
    pass_all_qc(lot, users)
    release.release_lot(lot, by=users["qa"], username="qa", password=DEMO_PASSWORD)
    return lot


def pass_all_qc(lot, users, *, skip: tuple[str, ...] = ()):
    """Every test passing, each sampled long enough ago for its duration (15 days: a 14-day
    sterility culture has ended)."""
    spec = qc.spec_in_force(lot.kind)
    sampled_at = utcnow() - timedelta(days=15)
    for item in spec.items:
        if item.test in skip:
            continue
        result = qc.record_result(lot, test=item.test, value=PASSING[item.test], method=None,
                                  sample_id=f"S-{lot.lot_id}-{item.test}", by=users["technician"],
                                  sampled_at=sampled_at)
        qc.review_result(result, by=users["qa"])
    db.session.flush()


def make_batch(users, *, state: str = "released", bank=None, vials=(1,), skip_qc=()):
    """A product batch brought to `state` (thawed, expanding, harvested, qc_pending, released)."""
    bank = bank or make_bank(users)
    batch = steps.start_batch(bank, vial_numbers=list(vials), by=users["technician"],
                              at=utcnow() - timedelta(days=7))
    if state == "thawed":
        return batch
    run_passages(batch, users, upto=3 if state == "expanding" else 5, start_days_ago=7)
    if state == "expanding":
        return batch
    steps.harvest_batch(batch, cells_harvested=6.0e8, viability_pct=93, by=users["technician"])
    if state == "harvested":
        return batch
    steps.submit_for_qc(batch, by=users["technician"])
    if state == "qc_pending":
        return batch
    pass_all_qc(batch, users, skip=skip_qc)
    release.release_lot(batch, by=users["qa"], username="qa", password=DEMO_PASSWORD,
                        conditional_tests=skip_qc)
    return batch


def next_passage(lot, users, **changes):
    """The next passage, 1 h after the one before was harvested (or the lot started), seeding
    every cell it may and growing 4-fold in 48 h (a doubling every 24 h)."""
    last = lot.passages[-1].harvested_at if lot.passages else plausibility.lot_start(lot)
    seeded = last + timedelta(hours=1)
    cells = plausibility.cells_for_next_passage(lot) or 1e6
    values = dict(seeded_at=seeded, harvested_at=seeded + timedelta(hours=48),
                  vessels="T175 x 2", cells_seeded=cells, cells_harvested=4 * cells,
                  viability_pct=94, confluence_pct=80, incubator=INCUBATOR,
                  by=users["technician"])
    values.update(changes)
    return steps.record_passage(lot, **values)
