"""SPEC 8: the demo has patients in both arms with a cleared dose due today, on any day."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ucmsc_lims.core import clock
from ucmsc_lims.trial import demo, service


def cleared_today_by_arm() -> dict[str, int]:
    doses = [d for d in service.doses_due_on(clock.site_today()) if d.state == "cleared"]
    arms = service.arms_of([d.patient for d in doses])
    counts = {"A": 0, "B": 0}
    for dose in doses:
        counts[arms[dose.patient_id]] += 1
    return counts


def test_the_demo_seeds_both_arms_with_cleared_doses_due_today(db, users):
    demo.seed(users)
    counts = cleared_today_by_arm()
    assert counts["A"] >= 4 and counts["B"] >= 4
    patients, _ = service.list_patients(per_page=200)
    assert {p.status for p in patients} == {"active", "withdrawn"}
    assert any(d.state == "postponed" for p in patients for d in p.doses)


def test_the_demo_list_is_reproducible(db, users):
    demo.seed(users)
    arms = [service.arm_of(p) for p in service.list_patients(per_page=200)[0]]
    from ucmsc_lims.trial.randomization import generate_allocation

    expected = generate_allocation(demo.DEMO_SEED, demo.STRATA, demo.PER_STRATUM)
    by_number = {(a.stratum, a.randomization_number): a.arm for a in expected}
    assert arms == [by_number[(p.stratum, p.randomization_number)]
                    for p in service.list_patients(per_page=200)[0]]


@pytest.mark.parametrize("days_later", [1, 28])
def test_refresh_today_keeps_the_bedside_demo_working_on_a_later_day(
    db, users, monkeypatch, days_later
):
    demo.seed(users)
    seeded_on = clock.site_today()
    real_now = clock.site_now
    monkeypatch.setattr(clock, "site_now", lambda: real_now() + timedelta(days=days_later))
    assert clock.site_today() == seeded_on + timedelta(days=days_later)
    demo.refresh_today(users)
    counts = cleared_today_by_arm()
    assert counts["A"] >= 4 and counts["B"] >= 4
    first = service.get_patient("01-001")
    assert first.doses[0].state == "missed"


def test_refresh_today_on_the_seeding_day_adds_nobody(db, users):
    demo.seed(users)
    before = len(service.list_patients(per_page=200)[0])
    demo.refresh_today(users)
    assert len(service.list_patients(per_page=200)[0]) == before
