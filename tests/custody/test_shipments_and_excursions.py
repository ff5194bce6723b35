"""SPEC 4.7: a logger file attached to a shipment is checked against the storage range; an
excursion holds the shipment's bags until QA dispositions it by e-signature."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from tests.factories import DEMO_PASSWORD
from tests.factories.bagging import patient_in_arm, released_bag
from tests.factories.custody import demo_places, received
from ucmsc_lims.bagging.models import BagSource, ProductHoldBag
from ucmsc_lims.core.errors import DomainError, NotPermitted
from ucmsc_lims.core.esign import signatures_for
from ucmsc_lims.custody import service as custody
from ucmsc_lims.custody import shipments
from ucmsc_lims.custody.temperature import out_of_range_stretches, parse_logger_csv
from ucmsc_lims.extensions import db
from ucmsc_lims.manufacturing.models import Lot
from ucmsc_lims.qc import release

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _csv(readings, start=None) -> bytes:
    start = start or datetime.now(UTC) - timedelta(hours=3)
    lines = ["timestamp,temperature_c"] + [
        f"{(start + timedelta(minutes=m)).isoformat()},{t}" for m, t in readings]
    return "\n".join(lines).encode()


def test_a_logger_file_is_read_and_stretches_out_of_range_are_timed():
    readings = parse_logger_csv(
        "timestamp,temperature_c\n2026-11-25T08:00:00,5\n2026-11-25T08:10:00,9.5\n"
        "2026-11-25T08:25:00,10\n2026-11-25T08:40:00,6\n", zone=SHANGHAI)
    assert readings[0].at == datetime(2026, 11, 25, 0, 0, tzinfo=UTC)  # local time, no offset
    [stretch] = out_of_range_stretches(readings, minimum_c=2, maximum_c=8)
    assert stretch.minutes == 30 and stretch.highest_c == 10


@pytest.mark.parametrize(("text", "message"), [
    ("time,temp\n", "must start with the header: timestamp,temperature_c"),
    ("timestamp,temperature_c\n", "has no readings"),
    ("timestamp,temperature_c\nyesterday,5\n", "Line 2: 'yesterday' is not a date and time"),
    ("timestamp,temperature_c\n2026-11-25T08:00:00,warm\n", "Line 2: 'warm' is not a temperature"),
    ("timestamp,temperature_c\n2026-11-25T08:00:00,5,1\n", "Line 2: expected 2 values"),
    ("timestamp,temperature_c\n2026-11-25T08:00:00,5\n2026-11-25T08:00:00,6\n",
     "Line 3: a second reading for the same time"),
])
def test_a_bad_logger_file_is_refused_in_plain_words(text, message):
    with pytest.raises(DomainError, match=message):
        parse_logger_csv(text, zone=SHANGHAI)


@pytest.fixture
def shipped(db, users):
    places = demo_places(users)
    bags = [received(users, released_bag(users, patient_in_arm(users, arm)), places=places)
            for arm in ("A", "B")]
    shipment = shipments.create_shipment(from_location=places["pharmacy"],
                                         to_location=places["ward"], by=users["technician"])
    for bag in bags:
        shipments.add_bag(shipment, bag, by=users["technician"])
    return shipment, bags


def test_a_stretch_longer_than_allowed_opens_an_excursion_and_holds_every_bag(users, shipped):
    shipment, bags = shipped
    log = shipments.attach_temperature_log(
        shipment, filename="box1.csv", content=_csv([(0, 5), (5, 9), (45, 5)]),
        by=users["pharmacist"])
    assert log.minutes_out_of_range == 40
    [excursion] = shipment.excursions
    assert excursion.is_open and excursion.minutes == 40
    assert [b.status for b in bags] == ["on_hold", "on_hold"]
    assert all(len(custody.open_excursions(b)) == 1 for b in bags)


def test_short_stretches_open_no_excursion_but_their_minutes_add_up_per_bag(users, shipped):
    shipment, bags = shipped
    shipments.attach_temperature_log(
        shipment, filename="box1.csv",
        content=_csv([(0, 5), (10, 1.5), (30, 5), (40, 8.5), (55, 5)]), by=users["qa"])
    assert shipment.excursions == []
    assert [custody.minutes_out_of_range(b) for b in bags] == [35.0, 35.0]
    assert [b.status for b in bags] == ["received_on_ward", "received_on_ward"]


def test_only_qa_or_the_pharmacist_attaches_a_logger_file(users, shipped):
    shipment, _ = shipped
    with pytest.raises(NotPermitted):
        shipments.attach_temperature_log(shipment, filename="x.csv",
                                         content=_csv([(0, 5)]), by=users["technician"])


def test_qa_accepting_an_excursion_by_signature_releases_the_bags_it_held(users, shipped, db):
    shipment, bags = shipped
    shipments.attach_temperature_log(shipment, filename="box1.csv",
                                     content=_csv([(0, 5), (5, 9), (45, 5)]),
                                     by=users["pharmacist"])
    [excursion] = shipment.excursions
    shipments.disposition_excursion(excursion, decision="accept",
                                    reason="stability data cover 40 min at 9 °C",
                                    username="qa", password=DEMO_PASSWORD, by=users["qa"])
    assert excursion.status == "dispositioned"
    assert [b.status for b in bags] == ["received_on_ward", "received_on_ward"]
    assert [custody.minutes_out_of_range(b) for b in bags] == [0.0, 0.0]
    [signed] = signatures_for(db.session, "excursion", str(excursion.id))[:1]
    assert signed.meaning == "excursion_disposition"


def test_a_rejected_excursion_keeps_the_bags_on_hold(users, shipped):
    shipment, bags = shipped
    shipments.attach_temperature_log(shipment, filename="box1.csv",
                                     content=_csv([(0, 5), (5, 12), (45, 5)]),
                                     by=users["pharmacist"])
    [excursion] = shipment.excursions
    shipments.disposition_excursion(excursion, decision="reject", reason="too warm",
                                    username="qa", password=DEMO_PASSWORD, by=users["qa"])
    assert [b.status for b in bags] == ["on_hold", "on_hold"]
    with pytest.raises(DomainError, match="already dispositioned"):
        shipments.disposition_excursion(excursion, decision="accept", reason="again",
                                        username="qa", password=DEMO_PASSWORD, by=users["qa"])


def test_a_wrong_password_leaves_the_excursion_open(users, shipped):
    shipment, _ = shipped
    shipments.attach_temperature_log(shipment, filename="box1.csv",
                                     content=_csv([(0, 5), (5, 12), (45, 5)]),
                                     by=users["pharmacist"])
    [excursion] = shipment.excursions
    with pytest.raises(DomainError, match="Wrong username or password"):
        shipments.disposition_excursion(excursion, decision="accept", reason="ok",
                                        username="qa", password="not-it-at-all",
                                        by=users["qa"])
    assert excursion.is_open


def test_a_cell_bag_freed_from_an_excursion_while_its_batch_is_held_goes_back_on_hold_with_a_twin(
        users, shipped):
    shipment, bags = shipped
    cell_bag = next(b for b in bags
                    if db.session.scalar(sa.select(BagSource.arm).where(
                        BagSource.bag_id == b.id)) == "A")
    shipments.attach_temperature_log(
        shipment, filename="box1.csv", content=_csv([(0, 5), (5, 9), (45, 5)]),
        by=users["pharmacist"])
    [excursion] = shipment.excursions
    lot = db.session.get(Lot, db.session.scalar(
        sa.select(BagSource.lot_id).where(BagSource.bag_id == cell_bag.id)))
    release.hold_lot(lot, by=users["qa"], username="qa", password=DEMO_PASSWORD,
                     reason="sterility query")

    shipments.disposition_excursion(excursion, decision="accept", reason="within stability",
                                    username="qa", password=DEMO_PASSWORD, by=users["qa"])

    # Both bags read alike to a blinded reader: on hold, the saline bag as the cell bag's twin.
    assert [b.status for b in bags] == ["on_hold", "on_hold"]
    held = db.session.scalars(sa.select(ProductHoldBag).where(
        ProductHoldBag.left_at.is_(None))).all()
    assert sorted(row.parity for row in held) == [False, True]
