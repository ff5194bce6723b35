"""Passages: numbering, the protocol's maximum, materials used, second-person verification,
and the derived growth numbers (SPEC 4.2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.factories.manufacturing import (
    make_bank,
    make_batch,
    next_passage,
    second_technician,
)
from tests.factories.materials import make_material
from ucmsc_lims.core.db import utcnow
from ucmsc_lims.core.errors import DomainError, NotPermitted
from ucmsc_lims.manufacturing import growth, steps


def test_a_passage_beyond_the_protocol_maximum_is_refused(db, users):
    batch = make_batch(users, state="expanding")
    for _ in range(2):
        next_passage(batch, users)
    assert batch.passages[-1].number == 5
    with pytest.raises(DomainError) as refused:
        next_passage(batch, users)
    assert refused.value.message == "P6 is refused: the protocol's maximum is P5."


def test_a_bank_stops_at_the_banking_passage(db, users):
    bank = make_bank(users, state="expanding")
    next_passage(bank, users)
    next_passage(bank, users)
    with pytest.raises(DomainError) as refused:
        next_passage(bank, users)
    assert refused.value.message == "P3 is refused: the banking passage is P2."


def test_passage_numbers_run_on_from_bank_to_batch(db, users):
    batch = make_batch(users, state="thawed")
    passage = next_passage(batch, users)
    assert passage.number == 3
    assert batch.state == "expanding"


def test_an_expired_material_is_refused_in_a_passage_and_nothing_is_recorded(db, users):
    bank = make_bank(users, state="processing")
    old = make_material(users, expires_on=utcnow().date() - timedelta(days=1))
    with pytest.raises(DomainError) as refused:
        next_passage(bank, users, materials_used=[old.code],
                     seeded_at=utcnow() - timedelta(hours=3),
                     harvested_at=utcnow() - timedelta(hours=1), cells_seeded=1e6,
                     cells_harvested=1.1e6)
    assert bank.passages == [] and bank.state == "processing"
    assert f"expired on {old.expires_on.isoformat()} and cannot be used" in refused.value.message


def test_the_operator_cannot_verify_their_own_passage(db, users):
    bank = make_bank(users, state="processing")
    passage = next_passage(bank, users)
    with pytest.raises(NotPermitted) as refused:
        steps.verify_passage(passage, by=users["technician"])
    assert refused.value.message == "You recorded P0: a second person verifies it."
    steps.verify_passage(passage, by=second_technician(users))
    assert passage.verifier.username == "technician2"


def test_banking_is_refused_while_a_passage_is_unverified(db, users):
    bank = make_bank(users, state="expanding")
    next_passage(bank, users)
    next_passage(bank, users)
    with pytest.raises(Exception) as refused:
        steps.bank_lot(bank, positions=["L-DEWAR-1/B1/S01"], cells_per_vial=1e6,
                       by=users["technician"])
    assert "P1, P2 of lot" in str(refused.value) and "not verified" in str(refused.value)


def test_derived_growth_numbers_match_hand_computed_values():
    t0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    passages = [
        growth.PassageCounts(0, t0, t0 + timedelta(hours=96), 1.0e6, 8.0e6),  # 3 doublings
        growth.PassageCounts(1, t0 + timedelta(days=4), t0 + timedelta(days=7), 2.0e6, 8.0e6),
        growth.PassageCounts(2, t0 + timedelta(days=7), t0 + timedelta(days=9), 4.0e6, 3.0e6),
    ]
    rows = growth.growth_rows(passages, start_cumulative=1.5)
    assert [r.doublings for r in rows] == pytest.approx([3.0, 2.0, -0.4150375], rel=1e-6)
    assert [r.cumulative for r in rows] == pytest.approx([4.5, 6.5, 6.0849625], rel=1e-6)
    assert rows[0].doubling_time_hours == pytest.approx(32.0)  # 96 h / 3
    assert rows[1].doubling_time_hours == pytest.approx(36.0)  # 72 h / 2
    assert rows[2].doubling_time_hours is None  # the cells did not grow
    points = growth.chart_points(rows, 1.5)
    assert points[0] == (0.0, 1.5)
    assert points[1] == pytest.approx((4.0, 4.5))
    assert points[-1] == pytest.approx((9.0, 6.0849625))


def test_the_growth_chart_is_svg_without_script_or_style(db, users):
    bank = make_bank(users, state="banked")
    svg = steps.growth_chart(bank)
    assert svg.startswith("<svg") and "polyline" in svg
    assert "<script" not in svg and "style=" not in svg
    assert f"Growth of lot {bank.lot_id}" in svg
