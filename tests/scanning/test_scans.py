"""`POST /api/v1/scans` and the header scan box: one parser, plain-words refusals (SPEC 3, 7)."""

from __future__ import annotations

import pytest

from tests.factories.bagging import patient_in_arm, released_bag
from tests.factories.manufacturing import make_bank
from ucmsc_lims.bagging import printing
from ucmsc_lims.core.isbt128 import Din


@pytest.fixture
def bag(users):
    return released_bag(users, patient_in_arm(users, "B"))


def scan(api, code: str):
    return api.post("/api/v1/scans", json={"code": code})


def test_a_bag_code_scans_as_the_bag_with_its_status_and_page(api_client, bag):
    response = scan(api_client("nurse"), bag.code)
    assert response.status_code == 200
    body = response.get_json()
    assert body == {
        "kind": "bag", "id": bag.bag_id, "check_ok": True, "status": "released_for_issue",
        "url": f"/bagging/bags/{bag.bag_id}",
    }


def test_a_changed_check_character_in_a_bag_code_is_refused_in_plain_words(api_client, bag):
    last = bag.code[-1]
    wrong = bag.code[:-1] + ("0" if last != "0" else "1")
    response = scan(api_client("nurse"), wrong)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert "check character does not match" in response.get_json()["detail"]


def test_after_a_reprint_the_old_code_is_refused_as_voided_and_the_new_one_is_the_bag(
    api_client, users, bag
):
    old_code = bag.code
    printing.print_label(bag, fmt="png", by=users["pharmacist"], reason="label smudged")
    api = api_client("nurse")
    refused = scan(api, old_code)
    assert refused.status_code == 422
    assert "voided" in refused.get_json()["detail"]
    accepted = scan(api, bag.code)
    assert accepted.status_code == 200
    assert accepted.get_json()["id"] == bag.bag_id


def test_an_unknown_bag_code_is_refused_as_unknown(api_client, users):
    from ucmsc_lims.core.ids import bag_code, new_bag_id

    response = scan(api_client("nurse"), bag_code(new_bag_id(), 1))
    assert response.status_code == 422
    assert response.get_json()["detail"] == "Unknown bag: no bag carries this label."


def test_a_din_scans_in_both_its_barcode_and_its_keyboard_form(api_client, users):
    bank = make_bank(users)
    din = Din(bank.din[:5], int(bank.din[5:7]), int(bank.din[7:]))
    api = api_client("qa")
    for code in (din.barcode_data, din.keyboard):
        response = scan(api, code)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert (body["kind"], body["id"], body["status"]) == ("din", bank.din, "released")
        assert body["url"] == f"/lots/{bank.lot_id}"


def test_a_din_with_a_wrong_check_character_is_refused(api_client, users):
    bank = make_bank(users)
    din = Din(bank.din[:5], int(bank.din[5:7]), int(bank.din[7:]))
    wrong = din.keyboard[:-1] + ("A" if din.check != "A" else "B")
    response = scan(api_client("qa"), wrong)
    assert response.status_code == 422
    assert "check character" in response.get_json()["detail"]


def test_a_blinded_reader_gets_no_lot_status_or_link_for_a_din(api_client, users):
    bank = make_bank(users)
    response = scan(api_client("nurse"), "=" + bank.din + "00")
    assert response.status_code == 200
    assert response.get_json()["status"] is None
    assert response.get_json()["url"] is None


def test_a_wristband_scans_as_the_patient(api_client, users):
    patient = patient_in_arm(users, "A")
    body = scan(api_client("investigator"), patient.code).get_json()
    assert (body["kind"], body["id"], body["status"]) == ("patient", patient.subject_id, "active")


def test_rubbish_is_refused_as_an_unknown_kind_of_code(api_client, users):
    response = scan(api_client("nurse"), "hello world")
    assert response.status_code == 422
    assert response.get_json()["detail"] == "Not a known kind of code."


def test_a_body_without_a_code_is_a_validation_problem(api_client, users):
    response = api_client("nurse").post("/api/v1/scans", json={})
    assert response.status_code == 422
    assert "code" in response.get_json()["errors"]


def test_the_header_scan_box_jumps_to_the_scanned_bag(login_as, bag):
    client = login_as("nurse")
    response = client.get("/scan", query_string={"code": bag.code})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/bagging/bags/{bag.bag_id}")


def test_the_header_scan_box_says_what_is_wrong_with_a_bad_scan(login_as, users):
    client = login_as("nurse")
    response = client.get("/scan", query_string={"code": "ML000001"})
    assert response.status_code == 422
    assert "this one has 8." in response.get_data(as_text=True)
