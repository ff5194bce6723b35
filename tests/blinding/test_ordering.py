"""SPEC 2, 4.5: lists a blinded user reads are ordered by keys that carry no arm (bag id, subject
id), whatever order the bags were made, shipped or scanned in."""

from __future__ import annotations

import re

import pytest

from tests.factories.bagging import patient_in_arm, released_bag
from ucmsc_lims.custody import shipments

from .pair import build_pair


@pytest.fixture
def bags_by_arm(db, users):
    """The received pair, and two more bags of each arm shipped to the ward arm by arm (every
    cell bag first), still in transit."""
    pair = build_pair(users, through="received")
    extra = {"A": [], "B": []}
    for arm in ("A", "A", "B", "B"):
        patient = patient_in_arm(users, arm, weight_kg=70.0)
        extra[arm].append(released_bag(users, patient, batch=pair.batch,
                                       materials=pair.materials))
    shipment = shipments.create_shipment(from_location=pair.places["pharmacy"],
                                         to_location=pair.places["ward"],
                                         by=users["technician"])
    for bag in extra["A"] + extra["B"]:
        shipments.add_bag(shipment, bag, by=users["technician"])
    shipments.dispatch(shipment, by=users["technician"], temperature_c=5.0)
    db.session.commit()
    return pair, extra, shipment


def _in_order(text: str, known: set[str], pattern: str) -> list[str]:
    seen: list[str] = []
    for found in re.findall(pattern, text):
        if found in known and found not in seen:
            seen.append(found)
    return seen


BAG_ID = r"[0-9A-HJKMNP-TV-Z]{10}"
SUBJECT_ID = r"\d{2}-\d{3,4}"


@pytest.mark.parametrize("username", ["nurse", "investigator", "inspector"])
def test_bag_lists_are_in_bag_id_order_for_every_blinded_reader(bags_by_arm, signed_in,
                                                                username):
    pair, extra, _ = bags_by_arm
    known = {r.bag.bag_id for r in pair.records} | {b.bag_id for bags in extra.values()
                                                      for b in bags}
    page, api = signed_in(username)

    listed = [item["bag_id"] for item in api.get("/api/v1/bags").get_json()["items"]]
    shown = _in_order(page.get("/bagging/bags").get_data(as_text=True), known, BAG_ID)

    assert set(listed) == known
    assert listed == sorted(listed)
    assert shown == sorted(known)


@pytest.mark.parametrize("username", ["nurse", "investigator", "inspector"])
def test_patient_lists_are_in_subject_id_order_for_every_blinded_reader(bags_by_arm,
                                                                        signed_in, username):
    page, api = signed_in(username)

    listed = [item["subject_id"] for item in api.get("/api/v1/patients").get_json()["items"]]
    known = set(listed)
    shown = _in_order(page.get("/trial/patients").get_data(as_text=True), known, SUBJECT_ID)

    assert len(listed) >= 6
    assert listed == sorted(listed)
    assert shown == sorted(known)


def test_a_shipment_lists_its_bags_in_bag_id_order_not_the_order_they_were_packed(
        bags_by_arm, signed_in):
    _, extra, shipment = bags_by_arm
    known = {b.bag_id for bags in extra.values() for b in bags}
    page, _ = signed_in("inspector")

    shown = _in_order(page.get(f"/custody/shipments/{shipment.id}").get_data(as_text=True),
                      known, BAG_ID)

    assert shown == sorted(known)


def test_the_wards_incoming_bags_are_in_bag_id_order(bags_by_arm, signed_in):
    _, extra, _ = bags_by_arm
    known = {b.bag_id for bags in extra.values() for b in bags}
    page, _ = signed_in("nurse")

    shown = _in_order(page.get("/custody/receive").get_data(as_text=True), known, BAG_ID)

    assert shown == sorted(known)


def test_blinded_readers_never_see_the_packing_order_of_a_shipment(db, users):
    """The technician may pack one arm first; the blinded trail shows the shipment's bags only
    in its dispatch entry, sorted by bag id."""
    import json

    import sqlalchemy as sa

    from tests.factories.bagging import patient_in_arm, released_bag
    from tests.factories.custody import demo_places
    from ucmsc_lims.audit.service import AuditFilter, search
    from ucmsc_lims.core.audit import AuditEntry
    from ucmsc_lims.custody import shipments

    places = demo_places(users)
    bags = [released_bag(users, patient_in_arm(users, arm)) for arm in ("A", "A", "B", "B")]
    shipment = shipments.create_shipment(
        from_location=places["pharmacy"], to_location=places["ward"], by=users["technician"])
    for bag in bags:  # packed arm A first
        shipments.add_bag(shipment, bag, by=users["technician"])
    shipments.dispatch(shipment, by=users["technician"], temperature_c=5.0)
    db.session.flush()

    blinded = search(AuditFilter(entity_type="shipment"), blinded=True, limit=1000)
    assert "shipment.bag_added" not in {e.action for e in blinded}
    dispatched = [e for e in blinded if e.action == "shipment.dispatched"]
    assert json.loads(dispatched[0].new)["bag_ids"] == sorted(b.bag_id for b in bags)
    unblinded_adds = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "shipment.bag_added")).all()
    assert len(unblinded_adds) == 4
