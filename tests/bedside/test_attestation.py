"""SPEC 4.8, 5, 7: the bedside records what nurse 1 attested (the patient stated name and date
of birth; the bag is intact) as yes, no or "not asked", never a yes nobody gave; a no is a
NO-GO kept as a near-miss; nurse 2 and the start of the infusion never change the answers."""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa

from tests.blinding.compare import diff, mask
from tests.blinding.pair import build_pair
from tests.factories import DEMO_PASSWORD
from ucmsc_lims.bedside.models import NearMiss, Verification
from ucmsc_lims.extensions import db

VERIFICATIONS = "/api/v1/bedside/verifications"


def _body(patient, bag, **answers):
    return {"patient_code": patient.code, "bag_code": bag.code, "weight_kg": 70.0, **answers}


def _stored(verification_id: int) -> tuple[bool | None, bool | None]:
    db.session.expire_all()
    row = db.session.get(Verification, verification_id)
    return row.identity_confirmed, row.bag_intact


def _check(body: dict, name: str) -> dict:
    return next(c for c in body["checks"] if c["check"] == name)


def _attested(page_html: str) -> tuple[str, str]:
    """The two answers as the verification page shows them."""
    found = [re.search(rf'class="{cls}"><span class="attestation [\w-]+">([^<]+)</span>',
                       page_html) for cls in ("attested-identity", "attested-bag-intact")]
    assert all(found), page_html
    return found[0].group(1), found[1].group(1)


def test_an_api_body_without_the_two_answers_is_recorded_as_not_asked(on_ward, api_client):
    patient, bag = on_ward("A")

    reply = api_client("nurse").post(VERIFICATIONS, json=_body(patient, bag))

    assert reply.status_code == 200, reply.get_json()
    body = reply.get_json()
    assert _stored(body["verification_id"]) == (None, None)
    assert body["attestation"]["identity_confirmed"] == "not asked"
    assert body["attestation"]["bag_intact"] == "not asked"
    assert body["attestation"]["by"] == "nurse"
    assert _check(body, "identity_confirmed")["message"] == (
        "patient's name and date of birth: not asked")
    assert _check(body, "bag_intact")["message"] == "bag intact: not asked"


def test_not_asked_keeps_the_three_field_contract_answering_go(on_ward, api_client):
    """SPEC 7: a client that sends only patient_code, bag_code and weight_kg gets its GO."""
    patient, bag = on_ward("B")

    body = api_client("nurse").post(VERIFICATIONS, json=_body(patient, bag)).get_json()

    assert body["decision"] == "GO"
    again = api_client("nurse").get(f"{VERIFICATIONS}/{body['verification_id']}").get_json()
    assert again["attestation"]["identity_confirmed"] == "not asked"


def test_the_verification_page_shows_not_asked(on_ward, api_client, login_as):
    patient, bag = on_ward("A")
    verification_id = api_client("nurse").post(
        VERIFICATIONS, json=_body(patient, bag)).get_json()["verification_id"]

    page = login_as("nurse").get(f"/bedside/verifications/{verification_id}")

    assert page.status_code == 200
    assert _attested(page.get_data(as_text=True)) == ("not asked", "not asked")


def test_answers_sent_as_true_are_recorded_and_shown_as_yes(on_ward, api_client, login_as):
    patient, bag = on_ward("A")
    body = api_client("nurse").post(VERIFICATIONS, json=_body(
        patient, bag, identity_confirmed=True, bag_intact=True)).get_json()

    page = login_as("nurse").get(f"/bedside/verifications/{body['verification_id']}")

    assert body["decision"] == "GO"
    assert _stored(body["verification_id"]) == (True, True)
    assert _attested(page.get_data(as_text=True)) == ("yes", "yes")


@pytest.mark.parametrize(("field", "message"), [
    ("identity_confirmed", "patient's name and date of birth not confirmed"),
    ("bag_intact", "bag not confirmed intact"),
])
def test_an_api_answer_of_false_is_no_go_in_plain_words_and_a_near_miss(
        on_ward, api_client, field, message):
    patient, bag = on_ward("B")

    reply = api_client("nurse").post(VERIFICATIONS, json=_body(patient, bag, **{field: False}))

    assert reply.status_code == 200
    body = reply.get_json()
    assert body["decision"] == "NO_GO"
    assert [c["message"] for c in body["checks"] if not c["ok"]] == [message]
    assert body["attestation"][field] == "no"
    miss = db.session.scalars(sa.select(NearMiss).where(
        NearMiss.verification_id == body["verification_id"])).one()
    assert miss.stage == "verification"
    assert [c["check"] for c in miss.failed] == [field]


def test_the_near_miss_list_shows_what_nurse_1_attested(on_ward, api_client, login_as):
    patient, bag = on_ward("A")
    api_client("nurse").post(VERIFICATIONS, json=_body(patient, bag, identity_confirmed=False))

    page = login_as("qa").get("/bedside/near-misses").get_data(as_text=True)

    text = re.sub(r"<[^>]+>|\s+", " ", page)
    assert re.search(r"Patient stated name and date of birth: no ; Bag intact: not asked",
                     re.sub(r" +", " ", text)), text


def test_the_page_with_both_boxes_unticked_is_no_go(on_ward, login_as):
    """The page always asks: an unticked box is a no, never "not asked"."""
    patient, bag = on_ward("A")
    page = login_as("nurse")

    posted = page.post("/bedside", data={"wristband": patient.code, "weight_kg": "70.0",
                                         "bag": bag.code})

    assert posted.status_code == 302
    shown = page.get(posted.headers["Location"]).get_data(as_text=True)
    assert re.search(r'role="status">NO-GO<', shown)
    failed = re.search(r'<ul class="failed-checks">(.*?)</ul>', shown, re.S).group(1)
    assert "patient&#39;s name and date of birth not confirmed" in failed
    assert "bag not confirmed intact" in failed
    assert _attested(shown) == ("no", "no")
    verification_id = int(posted.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    assert _stored(verification_id) == (False, False)


def test_the_page_with_both_boxes_ticked_records_yes(on_ward, login_as):
    patient, bag = on_ward("B")
    page = login_as("nurse")

    posted = page.post("/bedside", data={"wristband": patient.code, "weight_kg": "70.0",
                                         "identity_confirmed": "y", "bag_intact": "y",
                                         "bag": bag.code})

    shown = page.get(posted.headers["Location"]).get_data(as_text=True)
    assert re.search(r'role="status">GO<', shown)
    assert _attested(shown) == ("yes", "yes")


def test_nurse_2_and_the_start_keep_nurse_1s_answers(on_ward, api_client, login_as):
    """The record shows who attested what and when: nurse 1, at the verification; the bag's
    history and the infusion's trace node carry the same answers."""
    patient, bag = on_ward("A")
    nurse = api_client("nurse")
    first = nurse.post(VERIFICATIONS, json=_body(patient, bag, bag_intact=True)).get_json()
    verification_id = first["verification_id"]
    confirmed = nurse.post(f"{VERIFICATIONS}/{verification_id}/confirm", json={
        "username": "nurse2", "password": DEMO_PASSWORD, "patient_code": patient.code,
        "bag_code": bag.code})
    assert confirmed.status_code == 200, confirmed.get_json()
    started = nurse.post("/api/v1/infusions", json={"verification_id": verification_id})
    assert started.status_code == 201, started.get_json()

    assert _stored(verification_id) == (None, True)
    after = nurse.get(f"{VERIFICATIONS}/{verification_id}").get_json()["attestation"]
    assert after == first["attestation"]
    assert (after["identity_confirmed"], after["bag_intact"], after["by"]) == (
        "not asked", "yes", "nurse")
    history = login_as("nurse").get(f"/bagging/bags/{bag.bag_id}").get_data(as_text=True)
    moves = [json.loads(m.replace("&#34;", '"')) for m in re.findall(
        r"bag\.status_changed <code>(\{.*?\})</code>", history)]
    for status in ("verified", "infusing"):
        move = next(m for m in moves if m["status"] == status)
        assert (move["identity_confirmed"], move["bag_intact"]) == ("not asked", "yes"), move
        assert move["verification"] == verification_id
    trace = nurse.get(f"/api/v1/trace/{bag.bag_id}").get_json()
    [node] = [n for n in trace["nodes"] if n["kind"] == "infusion"]
    assert (node["identity_confirmed"], node["bag_intact"]) == ("not asked", "yes")


@pytest.fixture
def pair_on_ward(db, users):
    """One patient of each arm, built pairwise, with both bags received on the ward."""
    built = build_pair(users, through="received")
    db.session.commit()
    return built


def _same_when_masked(pair, text_a: str, text_b: str) -> None:
    ids = {**pair.a.identifiers(), **pair.b.identifiers()}
    masked_a, masked_b = mask(text_a, ids), mask(text_b, ids)
    assert masked_a == masked_b, diff(masked_a, masked_b, name_a="arm A", name_b="arm B")


@pytest.mark.parametrize("answers", [{}, {"identity_confirmed": False, "bag_intact": False}],
                         ids=["not asked", "no"])
def test_both_arms_read_the_same_answers_in_the_same_words(pair_on_ward, api_client, login_as,
                                                           answers):
    nurse = api_client("nurse")
    bodies = [nurse.post(VERIFICATIONS, json={**_body(r.patient, r.bag), **answers}).get_json()
              for r in pair_on_ward.records]
    page = login_as("nurse")
    pages = [page.get(f"/bedside/verifications/{b['verification_id']}").get_data(as_text=True)
             for b in bodies]

    word = "not asked" if not answers else "no"
    assert bodies[0]["attestation"]["identity_confirmed"] == word
    assert _attested(pages[0]) == (word, word)
    _same_when_masked(pair_on_ward, json.dumps(bodies[0], sort_keys=True),
                      json.dumps(bodies[1], sort_keys=True))
    _same_when_masked(pair_on_ward, pages[0], pages[1])
