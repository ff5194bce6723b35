"""GMP plausibility of manufacturing records (SPEC 4.2): places of the right kind, passages in
order and in time, no more cells out than came in, and realistic growth."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.factories import DEMO_PASSWORD
from tests.factories.donors import make_collection
from tests.factories.manufacturing import (
    INCUBATOR,
    make_bank,
    make_batch,
    next_passage,
    place,
    run_passages,
    second_technician,
)
from ucmsc_lims.core.audit import AuditEntry
from ucmsc_lims.core.clock import format_local, site_today
from ucmsc_lims.core.db import utcnow
from ucmsc_lims.core.errors import DomainError
from ucmsc_lims.extensions import db
from ucmsc_lims.manufacturing import actions, plausibility, steps
from ucmsc_lims.protocol import service as protocol
from ucmsc_lims.qc import release
from ucmsc_lims.qc import service as qc


def _refused(action, *args, **kwargs) -> str:
    with pytest.raises(DomainError) as refused:
        action(*args, **kwargs)
    return refused.value.message


def _setting(users, key: str, value: str) -> None:
    protocol.change_setting(key, value, effective_from=site_today(), reason="validation run",
                            by=users["admin"])


# --- Places -------------------------------------------------------------------------------------


def test_a_fridge_is_refused_as_the_incubator_of_a_passage(db, users):
    place("L-FRIDGE-01", "fridge")
    bank = make_bank(users, state="processing")

    message = _refused(next_passage, bank, users, incubator="L-FRIDGE-01")

    assert message == ("L-FRIDGE-01 (Fridge L-FRIDGE-01) is a fridge: a passage grows in an "
                       "incubator.")
    assert bank.passages == [] and bank.state == "processing"


def test_an_incubator_that_is_not_a_registered_location_is_refused(db, users):
    bank = make_bank(users, state="processing")

    assert _refused(next_passage, bank, users, incubator="L-INC-99") == (
        "Incubator: no location has the code L-INC-99.")


def test_vials_are_refused_in_an_incubator(db, users):
    make_bank(users, state="received")  # the site's incubator and dewar are registered

    assert _refused(steps.vial_positions, INCUBATOR, "B01", 3) == (
        "L-INC-2 (Incubator L-INC-2) is an incubator: vials are stored in a dewar.")


def test_a_bank_refuses_vial_positions_in_a_fridge(db, users):
    place("L-FRIDGE-01", "fridge")
    bank = make_bank(users, state="expanding")
    run_passages(bank, users, upto=2, start_days_ago=15)

    message = _refused(steps.bank_lot, bank, positions=["L-FRIDGE-01/B1/S01"],
                       cells_per_vial=1e6, by=users["technician"])

    assert message == "L-FRIDGE-01 (Fridge L-FRIDGE-01) is a fridge: vials are stored in a dewar."
    assert bank.state == "expanding" and bank.vials == []


# --- Order and dates ----------------------------------------------------------------------------


def test_a_passage_seeded_before_the_previous_one_was_harvested_is_refused(db, users):
    bank = make_bank(users, state="expanding")
    p0 = bank.passages[-1]
    seeded = p0.harvested_at - timedelta(hours=6)

    message = _refused(next_passage, bank, users, seeded_at=seeded,
                       harvested_at=seeded + timedelta(hours=48))

    assert message == (f"P1 cannot be seeded before P0 was harvested "
                       f"({format_local(p0.harvested_at)}).")
    assert [p.number for p in bank.passages] == [0]


def test_a_passage_seeded_before_the_lot_started_is_refused(db, users):
    bank = make_bank(users, state="processing")
    start = plausibility.lot_start(bank)
    seeded = start - timedelta(days=1)

    message = _refused(next_passage, bank, users, seeded_at=seeded,
                       harvested_at=seeded + timedelta(hours=48))

    assert message == (f"P0 cannot be seeded before lot {bank.lot_id} started "
                       f"({format_local(start)}).")


def test_a_batch_passage_seeded_before_the_thaw_is_refused(db, users):
    batch = make_batch(users, state="thawed")
    seeded = batch.started_at - timedelta(hours=2)

    message = _refused(next_passage, batch, users, seeded_at=seeded,
                       harvested_at=seeded + timedelta(hours=48))

    assert message == (f"P3 cannot be seeded before lot {batch.lot_id} started "
                       f"({format_local(batch.started_at)}).")


def test_a_lot_cannot_start_in_the_future_nor_before_its_cord_was_received(db, users):
    collection = make_collection(users)

    assert _refused(steps.start_cell_bank, collection, by=users["technician"],
                    started_at=utcnow() + timedelta(hours=2)) == "A lot cannot start in the future."
    assert _refused(steps.start_cell_bank, collection, by=users["technician"],
                    started_at=collection.received_at - timedelta(hours=1)) == (
        f"Lot {collection.din}-CB cannot start before its cord was received "
        f"({format_local(collection.received_at)}).")


def test_processing_before_the_lot_started_or_in_the_future_is_refused(db, users):
    bank = make_bank(users, state="received")

    assert _refused(steps.record_processing, bank, method="explant", by=users["technician"],
                    performed_at=bank.started_at - timedelta(hours=1)) == (
        f"Lot {bank.lot_id} cannot be processed before it started "
        f"({format_local(bank.started_at)}).")
    assert _refused(steps.record_processing, bank, method="explant", by=users["technician"],
                    performed_at=utcnow() + timedelta(hours=1)) == (
        "Processing cannot be recorded in the future.")
    assert bank.state == "received"


def test_banking_before_the_banking_passage_was_harvested_is_refused(db, users):
    bank = make_bank(users, state="expanding")
    run_passages(bank, users, upto=2, start_days_ago=15)
    p2 = bank.passages[-1]

    message = _refused(steps.bank_lot, bank, positions=steps.vial_positions("L-DEWAR-1", "B1", 2),
                       cells_per_vial=1e6, by=users["technician"],
                       at=p2.harvested_at - timedelta(hours=3))

    assert message == (f"Cryopreservation of lot {bank.lot_id} cannot come before P2 was "
                       f"harvested ({format_local(p2.harvested_at)}).")


def test_banking_harvest_and_thaw_in_the_future_are_refused(db, users):
    later = utcnow() + timedelta(hours=1)
    bank = make_bank(users, state="expanding")
    run_passages(bank, users, upto=2, start_days_ago=15)
    batch = make_batch(users, state="expanding")
    run_passages(batch, users, upto=5, start_days_ago=7)

    assert _refused(steps.bank_lot, bank, positions=steps.vial_positions("L-DEWAR-1", "B1", 2),
                    cells_per_vial=1e6, by=users["technician"], at=later) == (
        "Cryopreservation cannot be recorded in the future.")
    assert _refused(steps.harvest_batch, batch, cells_harvested=1e8, viability_pct=93,
                    by=users["technician"], at=later) == (
        "The harvest cannot be recorded in the future.")
    assert _refused(steps.start_batch, batch.parent, vial_numbers=[2], by=users["technician"],
                    at=later) == "A batch cannot be started in the future."


def test_a_bank_without_a_stored_vial_offers_and_starts_no_batch(db, users):
    bank = make_bank(users, vials=1)
    steps.start_batch(bank, vial_numbers=[1], by=users["technician"])

    assert "start_batch" not in actions.allowed_actions(bank)
    assert _refused(steps.start_batch, bank, vial_numbers=[1], by=users["technician"]) == (
        f"Cell bank lot {bank.lot_id} has no stored vial left.")


# --- Mass balance -------------------------------------------------------------------------------


def test_a_passage_seeding_more_cells_than_the_previous_harvest_is_refused(db, users):
    bank = make_bank(users, state="expanding")  # P0 harvested 8e6

    message = _refused(next_passage, bank, users, cells_seeded=2e7, cells_harvested=8e7)

    assert message == "P1 cannot seed 2e+07 cells: P0 harvested 8e+06."
    assert [p.number for p in bank.passages] == [0]


def test_a_batch_seeds_no_more_cells_than_its_thawed_vials_hold(db, users):
    batch = make_batch(users, state="thawed")  # one vial of 5e6

    message = _refused(next_passage, batch, users, cells_seeded=1e7, cells_harvested=4e7)

    assert message == "P3 cannot seed 1e+07 cells: the thawed vials hold 5e+06."


def test_the_protocols_rounding_lets_a_count_pass_by_that_much_and_no_more(db, users):
    bank = make_bank(users, state="expanding")  # P0 harvested 8e6
    assert _refused(next_passage, bank, users, cells_seeded=8.1e6, cells_harvested=3e7) == (
        "P1 cannot seed 8.1e+06 cells: P0 harvested 8e+06.")

    _setting(users, "cell_count_tolerance_pct", "2")

    assert _refused(next_passage, bank, users, cells_seeded=8.2e6, cells_harvested=3e7) == (
        "P1 cannot seed 8.2e+06 cells: P0 harvested 8e+06.")
    assert next_passage(bank, users, cells_seeded=8.1e6, cells_harvested=3e7).number == 1


def test_banking_more_cells_than_the_banking_passage_harvested_is_refused(db, users):
    bank = make_bank(users, state="expanding")
    run_passages(bank, users, upto=2, start_days_ago=15)  # P2 harvested 5.12e8

    message = _refused(steps.bank_lot, bank, positions=steps.vial_positions("L-DEWAR-1", "B1", 12),
                       cells_per_vial=1e8, by=users["technician"])

    assert message == (f"Lot {bank.lot_id} cannot bank 12 vials of 1e+08 cells (1.2e+09): "
                       "P2 harvested 5.12e+08.")
    assert bank.state == "expanding" and bank.vials == []


def test_harvesting_more_cells_than_the_last_passage_is_refused(db, users):
    batch = make_batch(users, state="expanding")
    run_passages(batch, users, upto=5, start_days_ago=7)
    last = batch.passages[-1]

    message = _refused(steps.harvest_batch, batch, cells_harvested=last.cells_harvested * 3,
                       viability_pct=93, by=users["technician"])

    assert message == (f"Lot {batch.lot_id} cannot harvest "
                       f"{plausibility.cells(last.cells_harvested * 3)} cells: P5 harvested "
                       f"{plausibility.cells(last.cells_harvested)}.")
    assert batch.state == "expanding"


# --- Growth -------------------------------------------------------------------------------------


def _entries(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action)
                                   .order_by(AuditEntry.id)))


def test_a_slow_doubling_time_needs_a_reason_which_is_kept_and_audited(db, users):
    bank = make_bank(users, state="processing")
    slow = dict(cells_seeded=1e6, cells_harvested=1.1e6)  # 48 h / 0.1375 doublings = 349.1 h

    message = _refused(next_passage, bank, users, **slow)

    assert message == ("P0 doubled every 349.1 h, outside the plausible 12-240 h: give the "
                       "reason to record it.")
    assert bank.passages == []
    passage = next_passage(bank, users, growth_reason="slow start of the explant culture", **slow)
    assert passage.growth_reason == "slow start of the explant culture"
    entry = _entries("lot.passage_recorded")[-1]
    assert entry.reason == "slow start of the explant culture"
    assert json.loads(entry.new)["growth_warning"] == message
    assert qc.deviations_of(bank) == []


def test_a_passage_that_did_not_grow_needs_a_reason(db, users):
    bank = make_bank(users, state="processing")

    assert _refused(next_passage, bank, users, cells_seeded=1e6, cells_harvested=9e5) == (
        "P0 did not grow (9e+05 cells harvested from 1e+06 seeded): give the reason to record "
        "it.")


def test_the_plausible_range_is_a_protocol_setting(db, users):
    bank = make_bank(users, state="processing")
    _setting(users, "doubling_time_max_hours", "20")

    assert _refused(next_passage, bank, users) == (
        "P0 doubled every 24.0 h, outside the plausible 12-20 h: give the reason to record it.")


def test_growth_no_cell_can_reach_opens_a_deviation_and_stops_the_lot(db, users):
    bank = make_bank(users, state="processing")

    passage = next_passage(bank, users, cells_seeded=1e6, cells_harvested=1e9)  # every 4.8 h

    [deviation] = qc.deviations_of(bank)
    assert deviation.passage_id == passage.id and deviation.state == "open"
    assert deviation.title == ("P0: 1e+09 cells harvested from 1e+06 seeded in 48 h is a "
                               "doubling every 4.8 h; no cell doubles faster than every 8 h.")
    stopped = (f"Lot {bank.lot_id} is stopped: deviation {deviation.number} is open "
               f"({deviation.title}). No step is recorded until QA closes it.")
    steps.verify_passage(passage, by=second_technician(users))
    assert _refused(next_passage, bank, users, cells_seeded=1e6, cells_harvested=4e6) == stopped
    assert "passage" not in actions.allowed_actions(bank)

    qc.record_investigation(deviation, text="Counting error: 1e7 harvested, recount attached.",
                            by=users["technician"])
    qc.close_deviation(deviation, disposition="use", by=users["qa"], username="qa",
                       password=DEMO_PASSWORD)

    assert "passage" in actions.allowed_actions(bank)
    assert next_passage(bank, users, cells_seeded=1e6, cells_harvested=4e6).number == 1


def test_a_growth_deviation_closed_as_must_not_be_used_keeps_the_lot_stopped(db, users):
    bank = make_bank(users, state="processing")
    next_passage(bank, users, cells_seeded=1e6, cells_harvested=1e9)
    [deviation] = qc.deviations_of(bank)
    qc.record_investigation(deviation, text="Contaminated flask.", by=users["technician"])
    qc.close_deviation(deviation, disposition="reject", by=users["qa"], username="qa",
                       password=DEMO_PASSWORD)

    assert _refused(next_passage, bank, users) == (
        f"Lot {bank.lot_id} must not be used: deviation {deviation.number} was closed with "
        "that disposition.")
    assert actions.allowed_actions(bank) & actions.STOPPED_STEPS == frozenset()


def test_an_open_growth_deviation_blocks_release(db, users):
    bank = make_bank(users, state="processing")
    next_passage(bank, users, cells_seeded=1e6, cells_harvested=1e9)
    [deviation] = qc.deviations_of(bank)

    assert f"Deviation {deviation.number} is open: {deviation.title}" in \
        release.release_blockers(bank)


def test_the_api_records_impossible_growth_with_its_deviation_and_asks_a_reason_of_slow(
        db, users, api_client):
    bank = make_bank(users, state="processing")
    seeded = plausibility.lot_start(bank) + timedelta(hours=1)
    body = {"seeded_at": seeded.isoformat(),
            "harvested_at": (seeded + timedelta(hours=48)).isoformat(), "vessels": "T175",
            "cells_seeded": 1e6, "viability_pct": 94, "confluence_pct": 80,
            "incubator": INCUBATOR}
    api = api_client("technician")

    slow = api.post(f"/api/v1/lots/{bank.lot_id}/passages", json={
        **body, "cells_harvested": 1.1e6}, headers={"Idempotency-Key": "p0-slow"})
    impossible = api.post(f"/api/v1/lots/{bank.lot_id}/passages", json={
        **body, "cells_harvested": 1e9}, headers={"Idempotency-Key": "p0-fast"})

    assert slow.status_code == 422
    assert slow.get_json()["detail"].startswith("P0 doubled every 349.1 h, outside")
    assert impossible.status_code == 201
    [deviation] = qc.deviations_of(bank)
    assert impossible.get_json()["deviation"] == deviation.number
