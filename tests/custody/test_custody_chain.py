"""SPEC 4.7: locations, hand-offs, ward receipt and the continuity of the chain."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.factories.bagging import patient_in_arm, released_bag
from tests.factories.custody import WARD, demo_places, in_transit, received
from ucmsc_lims.core.errors import DomainError, NotPermitted
from ucmsc_lims.custody import service as custody
from ucmsc_lims.custody.labels import location_label_svg


@pytest.fixture
def places(db, users):
    return demo_places(users)


@pytest.fixture
def released(db, users):
    return released_bag(users, patient_in_arm(users, "B"))


def test_an_admin_adds_a_location_with_a_valid_code(db, users):
    location = custody.create_location(code="l-fridge-09", name="Fridge 9", kind="fridge",
                                       by=users["admin"])
    assert location.code == "L-FRIDGE-09"


def test_a_location_code_must_have_the_l_prefix_and_only_admin_adds_one(db, users):
    with pytest.raises(DomainError, match="A location code is L-"):
        custody.create_location(code="WARD-9", name="x", kind="ward", by=users["admin"])
    with pytest.raises(NotPermitted):
        custody.create_location(code="L-WARD-9", name="x", kind="ward", by=users["nurse"])


def test_a_location_label_carries_its_code_as_code_128(places):
    svg = location_label_svg(places["ward"])
    assert 'data-symbol="code128"' in svg and WARD in svg


def test_a_released_bag_handed_to_a_courier_goes_in_transit_addressed_to_its_ward(
        users, places, released):
    in_transit(users, released, places=places)
    assert released.status == "in_transit"
    assert released.destination_ward == WARD
    assert custody.current_location(released).code == "L-BOX-01"


def test_a_bag_not_released_for_issue_may_not_leave_the_pharmacy(db, users, places):
    from tests.factories.bagging import filled_bag

    bag = filled_bag(users, patient_in_arm(users, "A"))
    with pytest.raises(DomainError, match="not released for issue"):
        custody.record_handoff(bag, to_location=places["box"], by=users["technician"],
                               destination=places["ward"])


def test_a_nurse_receives_a_bag_on_its_destination_ward(users, places, released):
    received(users, released, places=places)
    assert released.status == "received_on_ward"
    assert custody.chain_complete_to(released, WARD)
    status = custody.chain_status(released, WARD)
    assert status.message == "custody complete up to receipt on this ward"


def test_a_bag_is_not_received_on_a_ward_other_than_its_destination(users, places, released):
    in_transit(users, released, places=places)
    with pytest.raises(DomainError, match="addressed to L-WARD-5A, not to L-WARD-7B"):
        custody.receive_on_ward(released, ward=places["other_ward"], by=users["nurse"])
    assert released.status == "in_transit"


def test_an_expired_bag_is_refused_at_receipt(users, places, released, monkeypatch):
    in_transit(users, released, places=places)
    later = released.expires_at + timedelta(minutes=1)
    monkeypatch.setattr(custody, "utcnow", lambda: later)
    with pytest.raises(DomainError, match="expired"):
        custody.receive_on_ward(released, ward=places["ward"], by=users["nurse"])


def test_a_hand_off_that_does_not_start_where_the_last_ended_is_flagged_as_a_gap(
        users, places, released):
    in_transit(users, released, places=places)
    event = custody.record_handoff(released, to_location=places["ward"],
                                   from_location=places["pharmacy"], by=users["technician"])
    assert event.gap is True
    custody.receive_on_ward(released, ward=places["ward"], by=users["nurse"])
    assert not custody.chain_complete_to(released, WARD)
    assert custody.chain_status(released, WARD).message == (
        "custody chain has a gap: contact pharmacy")
    assert custody.chain_gaps(released) == [event]


def test_each_event_starts_where_the_last_ended_when_no_origin_is_given(users, places,
                                                                         released):
    in_transit(users, released, places=places)
    event = custody.record_handoff(released, to_location=places["ward"],
                                   by=users["technician"])
    assert event.from_location.code == "L-BOX-01" and event.gap is False


def test_only_a_nurse_receives_and_only_a_technician_hands_off(users, places, released):
    with pytest.raises(NotPermitted):
        custody.record_handoff(released, to_location=places["box"], by=users["nurse"],
                               destination=places["ward"])
    in_transit(users, released, places=places)
    with pytest.raises(NotPermitted):
        custody.receive_on_ward(released, ward=places["ward"], by=users["technician"])


def test_the_receive_page_scans_a_bag_in_on_the_nurses_ward(client, users, places,
                                                            released, db):
    in_transit(users, released, places=places)
    db.session.commit()
    client.post("/login", data={"username": "nurse", "password": "demo-password-123"})
    page = client.get("/custody/receive")
    assert released.bag_id in page.get_data(as_text=True)
    reply = client.post("/custody/receive", data={"bag": released.code, "condition": "intact",
                                                  "temperature_c": "5.0"},
                        follow_redirects=True)
    assert f"Bag {released.bag_id} received on {WARD}" in reply.get_data(as_text=True)
    assert released.status == "received_on_ward"


def test_the_handoff_page_refuses_a_voided_label_in_plain_words(client, users, places,
                                                                released, db):
    from ucmsc_lims.bagging import printing

    old = released.code
    printing.print_label(released, fmt="pdf", by=users["technician"], reason="smudged")
    db.session.commit()
    client.post("/login", data={"username": "technician", "password": "demo-password-123"})
    reply = client.post("/custody/handoff", data={
        "to_location": "L-BOX-01", "destination": WARD, "bag": old, "condition": "intact"})
    assert reply.status_code == 422
    assert "label voided: this label was replaced" in reply.get_data(as_text=True)
