"""SPEC 4.8, 6: a blinded user's refusal for the same wrong action on a cell bag and on a saline
bag reads the same (checks, words, status), whatever made it fail."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.factories import DEMO_PASSWORD
from tests.factories.custody import WARD
from ucmsc_lims.bagging import service as bagging
from ucmsc_lims.bedside import service as bedside
from ucmsc_lims.core.errors import DomainError
from ucmsc_lims.custody import service as custody
from ucmsc_lims.extensions import db
from ucmsc_lims.qc import release

from .compare import diff, mask
from .pair import build_pair


@pytest.fixture
def on_ward(db, users):
    """Both arms' bags received on the ward, not yet verified."""
    built = build_pair(users, through="received")
    db.session.commit()
    return built


def _verify(users, record, *, bag_code=None, now=None):
    verification = bedside.verify(
        patient_code=record.patient.code, bag_code=bag_code or record.bag.code, weight_kg=70.0,
        by=users["nurse"], ward_code=WARD, identity_confirmed=True, bag_intact=True, now=now)
    db.session.commit()
    return verification


def _failed(verification) -> list[str]:
    return [f"{c['check']}: {c['message']}" for c in verification.checks if not c["ok"]]


def _same_when_masked(pair, text_a: str, text_b: str) -> None:
    ids = {**pair.a.identifiers(), **pair.b.identifiers()}
    masked_a, masked_b = mask(text_a, ids), mask(text_b, ids)
    assert masked_a == masked_b, diff(masked_a, masked_b, name_a="arm A", name_b="arm B")


def test_an_expired_bag_is_no_go_in_the_same_words_for_both_arms(on_ward, users):
    later = max(r.bag.expires_at for r in on_ward.records) + timedelta(minutes=5)

    failed = [_failed(_verify(users, r, now=later)) for r in on_ward.records]

    assert failed[0] and any("expired" in m for m in failed[0])
    assert failed[0] == failed[1]


def test_a_held_batch_and_a_held_saline_bag_read_as_the_same_hold(on_ward, users):
    """SPEC 4.8: "product on hold: contact pharmacy", never "lot recalled" or "batch held";
    the saline bag is held by the batch hold itself (placebo parity), nobody holds it by
    hand."""
    release.hold_lot(on_ward.batch, by=users["qa"], username="qa", password=DEMO_PASSWORD,
                     reason="sterility result under investigation")
    db.session.commit()

    failed = [_failed(_verify(users, r)) for r in on_ward.records]

    assert "released_not_on_hold: product on hold: contact pharmacy" in failed[0]
    assert failed[0] == failed[1]


def test_the_same_bag_hold_reads_the_same_for_both_arms_on_the_bag_page_and_api(
        on_ward, users, signed_in):
    for record in on_ward.records:
        bagging.transition_bag(record.bag, "on_hold", by=users["pharmacist"],
                               reason="temperature excursion under review")
    db.session.commit()
    page, api = signed_in("nurse")
    for path in ("/bagging/bags/{}", "/api/v1/bags/{}", "/custody/bags/{}"):
        client = api if path.startswith("/api") else page
        a, b = (client.get(path.format(r.bag.bag_id)) for r in on_ward.records)
        assert a.status_code == b.status_code == 200
        _same_when_masked(on_ward, a.get_data(as_text=True), b.get_data(as_text=True))


def test_a_bag_scanned_for_the_wrong_patient_is_refused_alike_through_the_api(on_ward,
                                                                             signed_in):
    _, api = signed_in("nurse")
    a, b = on_ward.records
    answers = [
        api.post("/api/v1/bedside/verifications", json={
            "patient_code": patient.code, "bag_code": bag.code, "weight_kg": 70.0,
            "ward_code": WARD})
        for patient, bag in ((a.patient, b.bag), (b.patient, a.bag))]

    assert answers[0].status_code == answers[1].status_code == 200
    bodies = [r.get_json() for r in answers]
    assert bodies[0]["decision"] == "NO_GO"
    _same_when_masked(on_ward, json.dumps(bodies[0], sort_keys=True),
                      json.dumps(bodies[1], sort_keys=True))


def test_receiving_a_bag_twice_is_refused_with_the_same_message(on_ward, users):
    messages = []
    for record in on_ward.records:
        with pytest.raises(DomainError) as refused:
            custody.receive_on_ward(record.bag, ward=on_ward.places["ward"], by=users["nurse"])
        messages.append(refused.value.message)
        db.session.rollback()

    assert messages[0] == messages[1] == "This bag was already received on the ward."


@pytest.mark.parametrize("path", ["/api/v1/lots/{}", "/lots/{}", "/api/v1/lots/{}/label.svg"])
def test_a_nurse_asking_for_a_bags_source_lot_is_refused_alike_for_batch_and_saline(
        on_ward, signed_in, path):
    page, api = signed_in("nurse")
    client = api if path.startswith("/api") else page
    sources = (on_ward.batch.lot_id, on_ward.materials.saline.code)
    answers = [client.get(path.format(source)) for source in sources]

    assert answers[0].status_code == answers[1].status_code == 403
    texts = [r.get_data(as_text=True).replace(s, "<SOURCE>")
             for r, s in zip(answers, sources, strict=True)]
    assert texts[0] == texts[1]
    assert "not allow" in texts[0]


def test_a_nurses_trace_of_either_bag_stops_at_the_bag(on_ward, signed_in):
    """SPEC 4.9: bag <-> patient yes, bag <-> lot never; the same node kinds for both arms."""
    _, api = signed_in("nurse")
    kinds = []
    for record in on_ward.records:
        response = api.get(f"/api/v1/trace/{record.bag.bag_id}")
        assert response.status_code == 200, response.get_data(as_text=True)
        kinds.append(sorted(node["kind"] for node in response.get_json()["nodes"]))

    assert kinds[0] == kinds[1]
    assert {"bag", "patient"} <= set(kinds[0])
    assert not {"lot", "material_lot", "donor", "collection"} & set(kinds[0])
