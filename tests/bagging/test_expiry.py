"""One expiry (SPEC 4.5, 4.6, 4.8): the expiry printed on a bag's label, which is printed before
the fill, is the one the bag keeps and the bedside enforces, for both arms alike."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta

import pytest

from tests.factories import DEMO_PASSWORD
from tests.factories.bagging import fill_materials, patient_in_arm, session, source_code
from tests.factories.custody import received
from tests.factories.manufacturing import make_batch
from ucmsc_lims.bagging import fill, printing
from ucmsc_lims.bedside import service as bedside
from ucmsc_lims.core.clock import site_today, site_zone
from ucmsc_lims.core.db import utcnow
from ucmsc_lims.core.errors import DomainError
from ucmsc_lims.extensions import db
from ucmsc_lims.protocol import service as protocol
from ucmsc_lims.trial import service as trial

ARMS = ("A", "B")
SVG_TEXT = "{http://www.w3.org/2000/svg}text"


def printed_expiry(svg: bytes) -> datetime:
    """The expiry a person reads on the printed label, e.g. `Expires 2026-03-12 14:30 CST
    (Asia/Shanghai)`, as an aware moment."""
    texts = [t.text or "" for t in ET.fromstring(svg).iter(SVG_TEXT)]
    line = next(t for t in texts if t.startswith("Expires "))
    match = re.fullmatch(r"Expires (\d{4}-\d\d-\d\d \d\d:\d\d) \S+ \((.+)\)", line)
    assert match and match[2] == site_zone().key, line
    return datetime.strptime(match[1], "%Y-%m-%d %H:%M").replace(tzinfo=site_zone())


@pytest.fixture
def materials(users):
    return fill_materials(users)


def _prepared(users, arm):
    patient = patient_in_arm(users, arm, weight_kg=70.0)
    bag = fill.create_bag(patient.doses[0], session=session(users), by=users["technician"])
    return patient, bag


def _fill(users, patient, bag, materials, *, at):
    batch = make_batch(users) if trial.arm_of(patient) == "A" else None
    return fill.fill_bag(
        label_code=bag.code, source_code=source_code(patient, batch=batch, materials=materials),
        anticoagulant_code=materials.acd.code, saline_code=materials.saline.code,
        container_code=materials.container.code, by=users["technician"], at=at)


def _verify(users, patient, bag, *, now):
    verification = bedside.verify(
        patient_code=patient.code, bag_code=bag.code, weight_kg=70.0, by=users["nurse"],
        ward_code="L-WARD-5A", identity_confirmed=True, bag_intact=True, now=now)
    return {c["check"]: c for c in verification.checks}, verification.decision


@pytest.mark.parametrize("arm", ARMS)
def test_a_label_printed_two_hours_before_the_fill_shows_the_expiry_the_bedside_enforces(
        users, materials, arm):
    patient, bag = _prepared(users, arm)
    filled_at = utcnow()
    printed_at = filled_at - timedelta(hours=2)
    svg, _ = printing.print_label(bag, fmt="svg", by=users["technician"], at=printed_at)

    _fill(users, patient, bag, materials, at=filled_at)
    fill.verify_fill(bag, by=users["pharmacist"], password=DEMO_PASSWORD)
    fill.release_for_issue(bag, by=users["pharmacist"], password=DEMO_PASSWORD)
    received(users, bag)

    on_label = printed_expiry(svg)
    assert on_label <= bag.expires_at
    assert on_label == bag.expires_at  # one expiry: what the label says is what is enforced
    assert on_label < filled_at + timedelta(hours=6)  # earlier than the fill allows, not later
    before, decision = _verify(users, patient, bag, now=on_label - timedelta(minutes=1))
    assert before["not_expired"]["ok"] and decision == "GO"
    at_expiry, decision = _verify(users, patient, bag, now=on_label)
    assert decision == "NO_GO"
    assert not at_expiry["not_expired"]["ok"]
    assert at_expiry["not_expired"]["message"].startswith("bag expired at")


@pytest.mark.parametrize("arm", ARMS)
def test_a_reprint_after_the_fill_prints_the_expiry_the_bag_already_has(users, materials, arm):
    patient, bag = _prepared(users, arm)
    filled_at = utcnow()
    printing.print_label(bag, fmt="pdf", by=users["technician"],
                         at=filled_at - timedelta(hours=2))
    _fill(users, patient, bag, materials, at=filled_at)

    svg, _ = printing.print_label(bag, fmt="svg", by=users["technician"], reason="smudged",
                                  at=filled_at + timedelta(minutes=30))

    assert printed_expiry(svg) == bag.expires_at
    assert printed_expiry(printing.preview(bag, "svg")[0]) == bag.expires_at


def _refusal(users, materials, arm, arrange) -> str:
    patient, bag = _prepared(users, arm)
    arrange(bag)
    with pytest.raises(DomainError) as refused:
        _fill(users, patient, bag, materials, at=utcnow())
    assert bag.status == "pending_fill" and bag.expires_at is None
    return re.sub(r"\d", "#", refused.value.message)


def test_a_label_whose_printed_expiry_has_passed_is_refused_at_the_fill_alike_for_both_arms(
        users, materials):
    def printed_seven_hours_ago(bag):
        printing.print_label(bag, fmt="pdf", by=users["technician"],
                             at=utcnow() - timedelta(hours=7))

    messages = [_refusal(users, materials, arm, printed_seven_hours_ago) for arm in ARMS]

    assert messages[0] == messages[1]
    assert messages[0].startswith("The expiry printed on this label (")
    assert messages[0].endswith("has passed: reprint the label and scan the new one.")


def test_a_label_printed_before_the_shelf_life_was_shortened_is_refused_alike_for_both_arms(
        users, materials):
    prepared = [_prepared(users, arm) for arm in ARMS]
    for _patient, bag in prepared:
        printing.print_label(bag, fmt="pdf", by=users["technician"])
    protocol.change_setting("shelf_life_hours", "4", effective_from=site_today(),
                            reason="stability study", by=users["admin"])
    db.session.flush()

    messages = []
    for patient, bag in prepared:
        with pytest.raises(DomainError) as refused:
            _fill(users, patient, bag, materials, at=utcnow())
        assert bag.status == "pending_fill" and bag.expires_at is None
        messages.append(re.sub(r"\d", "#", refused.value.message))

    assert messages[0] == messages[1]
    assert messages[0].startswith("The shelf life was shortened after this label was printed")


def test_a_reprint_before_the_fill_gives_the_label_a_fresh_expiry_the_bag_then_keeps(
        users, materials):
    patient, bag = _prepared(users, "B")
    now = utcnow()
    printing.print_label(bag, fmt="pdf", by=users["technician"], at=now - timedelta(hours=7))

    svg, _ = printing.print_label(bag, fmt="svg", by=users["technician"],
                                  reason="label expired before the fill", at=now)
    _fill(users, patient, bag, materials, at=now + timedelta(minutes=5))

    assert printed_expiry(svg) == bag.expires_at == (
        now + timedelta(hours=6)).replace(second=0, microsecond=0)
