"""The demo's bags (SPEC 8): today's cleared doses get bags that reach the demo ward."""

from __future__ import annotations

from tests.factories.bagging import fill_materials, patient_in_arm
from tests.factories.manufacturing import make_batch
from ucmsc_lims.bagging import demo, fill
from ucmsc_lims.core.clock import site_today


def test_refresh_today_brings_each_cleared_due_dose_a_bag_received_on_the_demo_ward(users):
    fill_materials(users)
    make_batch(users)
    patients = [patient_in_arm(users, "A"), patient_in_arm(users, "B")]

    demo.refresh_today(users)
    demo.refresh_today(users)

    bags = {item.subject_id: item.bag for item in fill.worklist(site_today()) if item.bag}
    assert sorted(bags) == sorted(p.subject_id for p in patients)
    for bag in bags.values():
        assert (bag.status, bag.destination_ward) == ("received_on_ward", "L-WARD-5A")
        assert bag.fill_verified_at is not None and bag.label_issue == 1
