"""The shipment and excursion pages: each form posts to a route that declares the permission of
its own action (SPEC 2, deny by default), so a reader who may not act is refused before any
service runs, and the one who may gets the page's usual answer."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tests.factories import DEMO_PASSWORD
from tests.factories.bagging import patient_in_arm, released_bag
from tests.factories.custody import demo_places, received
from ucmsc_lims.custody import shipments
from ucmsc_lims.custody.models import CustodyEvent, Shipment
from ucmsc_lims.extensions import db


def _csv(readings) -> bytes:
    start = datetime.now(UTC) - timedelta(hours=3)
    return "\n".join(["timestamp,temperature_c"] + [
        f"{(start + timedelta(minutes=m)).isoformat()},{t}" for m, t in readings]).encode()


@pytest.fixture
def places(db, users):
    return demo_places(users)


def test_a_technician_creates_fills_and_dispatches_a_shipment_on_the_page(
        users, places, login_as):
    page = login_as("technician")
    bag = released_bag(users, patient_in_arm(users, "A"))
    created = page.post("/custody/shipments", data={
        "from_location": "L-PHARMACY", "to_location": "L-WARD-5A", "note": "box 1"})
    assert created.status_code == 302
    shipment = db.session.scalars(sa.select(Shipment)).one()
    assert created.headers["Location"].endswith(f"/custody/shipments/{shipment.id}")

    added = page.post(f"/custody/shipments/{shipment.id}/bags", data={"bag-bag": bag.code})
    assert added.status_code == 302
    assert [item.bag.bag_id for item in shipment.bags] == [bag.bag_id]

    sent = page.post(f"/custody/shipments/{shipment.id}/dispatch",
                     data={"dispatch-temperature_c": "5", "dispatch-condition": "intact"},
                     follow_redirects=True)
    assert sent.status_code == 200
    assert "1 bags handed off." in sent.get_data(as_text=True)
    assert bag.status == "in_transit"


def test_the_shipment_page_posts_each_form_to_its_own_route(users, places, login_as):
    shipment = shipments.create_shipment(from_location=places["pharmacy"],
                                         to_location=places["ward"], by=users["technician"])
    html = login_as("technician").get(f"/custody/shipments/{shipment.id}").get_data(
        as_text=True)
    for action in ("bags", "dispatch"):
        assert f'action="/custody/shipments/{shipment.id}/{action}"' in html


@pytest.mark.parametrize(("role", "path", "data"), [
    ("pharmacist", "/custody/shipments", {"from_location": "L-PHARMACY",
                                          "to_location": "L-WARD-5A"}),
    ("qa", "/custody/shipments/{id}/bags", {"bag-bag": "x"}),
    ("inspector", "/custody/shipments/{id}/dispatch", {"dispatch-condition": "intact"}),
    ("technician", "/custody/shipments/{id}/logger", {}),
    ("nurse", "/custody/shipments/{id}/bags", {"bag-bag": "x"}),
])
def test_a_role_without_the_action_is_refused_by_the_route(users, places, login_as, role, path,
                                                           data):
    shipment = shipments.create_shipment(from_location=places["pharmacy"],
                                         to_location=places["ward"], by=users["technician"])
    def state() -> tuple:
        db.session.expire_all()
        return (db.session.scalar(sa.select(sa.func.count()).select_from(Shipment)),
                db.session.scalar(sa.select(sa.func.count()).select_from(CustodyEvent)),
                len(shipment.bags), len(shipment.logs))

    before = state()
    response = login_as(role).post(path.format(id=shipment.id), data=data)
    assert response.status_code == 403
    assert state() == before


def _shipped(users, places, arm: str):
    """A bag of `arm` received on the ward, in a shipment from the pharmacy."""
    bag = received(users, released_bag(users, patient_in_arm(users, arm)), places=places)
    shipment = shipments.create_shipment(from_location=places["pharmacy"],
                                         to_location=places["ward"], by=users["technician"])
    shipments.add_bag(shipment, bag, by=users["technician"])
    return bag, shipment


def test_qa_attaches_a_logger_file_and_signs_the_excursion_on_the_pages(
        users, places, login_as):
    bag, shipment = _shipped(users, places, "B")
    qa = login_as("qa")
    attached = qa.post(f"/custody/shipments/{shipment.id}/logger", data={
        "logger-file": (io.BytesIO(_csv([(0, 5), (5, 9), (45, 5)])), "box1.csv")},
        content_type="multipart/form-data", follow_redirects=True)
    assert attached.status_code == 200
    assert "Logger file attached: 40" in attached.get_data(as_text=True)
    [excursion] = shipment.excursions
    assert bag.status == "on_hold"

    assert login_as("nurse").post(f"/custody/excursions/{excursion.id}", data={
        "decision": "accept", "reason": "x", "username": "nurse",
        "password": DEMO_PASSWORD}).status_code == 403
    assert excursion.is_open

    signed = login_as("qa").post(f"/custody/excursions/{excursion.id}", data={
        "decision": "accept", "reason": "stability data cover 40 min at 9 °C",
        "username": "qa", "password": DEMO_PASSWORD}, follow_redirects=True)
    assert signed.status_code == 200
    assert "Excursion dispositioned." in signed.get_data(as_text=True)
    assert excursion.status == "dispositioned" and bag.status == "received_on_ward"


def test_a_wrong_password_on_the_excursion_page_is_refused_and_nothing_changes(
        users, places, login_as):
    bag, shipment = _shipped(users, places, "A")
    shipments.attach_temperature_log(shipment, filename="box.csv",
                                     content=_csv([(0, 5), (5, 9), (45, 5)]), by=users["qa"])
    [excursion] = shipment.excursions
    refused = login_as("qa").post(f"/custody/excursions/{excursion.id}", data={
        "decision": "accept", "reason": "fine", "username": "qa", "password": "wrong-one"})
    assert refused.status_code == 401
    db.session.expire_all()
    assert excursion.is_open and bag.status == "on_hold"
