"""SPEC 7: the bedside API shapes scanner apps rely on."""

from __future__ import annotations

from tests.factories import DEMO_PASSWORD


def _body(patient, bag, **extra):
    return {"patient_code": patient.code, "bag_code": bag.code, "weight_kg": 70.0, **extra}


def test_a_verification_answers_go_with_every_check(on_ward, api_client):
    patient, bag = on_ward("A")
    reply = api_client("nurse").post("/api/v1/bedside/verifications", json=_body(patient, bag))
    assert reply.status_code == 200, reply.get_json()
    body = reply.get_json()
    assert body["decision"] == "GO"
    assert isinstance(body["verification_id"], int)
    assert {"check", "ok", "message"} <= set(body["checks"][0])
    assert "arm" not in reply.get_data(as_text=True)


def test_an_unknown_bag_code_is_200_no_go_and_recorded(on_ward, api_client):
    patient, _ = on_ward("B")
    nurse = api_client("nurse")
    reply = nurse.post("/api/v1/bedside/verifications",
                       json={"patient_code": patient.code, "bag_code": "garbage",
                             "weight_kg": 70})
    assert reply.status_code == 200
    body = reply.get_json()
    assert body["decision"] == "NO_GO"
    assert body["checks"][0]["message"].startswith("bag not known")
    again = nurse.get(f"/api/v1/bedside/verifications/{body['verification_id']}")
    assert again.get_json()["decision"] == "NO_GO"


def test_a_malformed_body_is_422_naming_the_field(api_client, users):
    reply = api_client("nurse").post("/api/v1/bedside/verifications",
                                     json={"patient_code": "01-0017", "bag_code": "X"})
    assert reply.status_code == 422
    assert "weight_kg" in reply.get_json()["detail"]


def test_a_role_without_bedside_verify_is_refused(on_ward, api_client):
    patient, bag = on_ward("A")
    reply = api_client("pharmacist").post("/api/v1/bedside/verifications",
                                          json=_body(patient, bag))
    assert reply.status_code == 403


def test_confirm_start_and_end_through_the_api(on_ward, api_client):
    patient, bag = on_ward("B")
    nurse = api_client("nurse")
    verification_id = nurse.post("/api/v1/bedside/verifications",
                                 json=_body(patient, bag)).get_json()["verification_id"]
    confirmed = nurse.post(f"/api/v1/bedside/verifications/{verification_id}/confirm", json={
        "username": "nurse2", "password": DEMO_PASSWORD, "patient_code": patient.code,
        "bag_code": bag.code})
    assert confirmed.status_code == 200, confirmed.get_json()
    assert confirmed.get_json()["valid_until"]
    started = nurse.post("/api/v1/infusions", json={"verification_id": verification_id},
                         headers={"Idempotency-Key": "start-1"})
    assert started.status_code == 201, started.get_json()
    assert started.get_json()["bag_id"] == bag.bag_id
    retried = nurse.post("/api/v1/infusions", json={"verification_id": verification_id},
                         headers={"Idempotency-Key": "start-1"})
    assert retried.status_code == 201
    assert retried.get_json() == started.get_json()
    other = nurse.post("/api/v1/infusions", json={"verification_id": verification_id})
    assert other.status_code == 409
    assert "bag already infused" in other.get_json()["detail"]
    infusion_id = started.get_json()["infusion_id"]
    ended = nurse.post(f"/api/v1/infusions/{infusion_id}/end", json={
        "outcome": "completed", "volume_infused_ml": 99, "rate_ml_per_h": 100,
        "vitals_before": {"heart_rate_bpm": 70}, "vitals_after": {"heart_rate_bpm": 75},
        "adverse_events": [{"term": "Chills", "grade": 1, "serious": False}]})
    assert ended.status_code == 200, ended.get_json()
    assert ended.get_json()["next_dose"]["dose_number"] == 2
    assert ended.get_json()["adverse_events"][0]["term"] == "Chills"


def test_confirm_by_the_same_nurse_is_422_and_a_failed_check_is_409(on_ward, api_client):
    patient, bag = on_ward("A")
    _, other_bag = on_ward("B")
    nurse = api_client("nurse")
    verification_id = nurse.post("/api/v1/bedside/verifications",
                                 json=_body(patient, bag)).get_json()["verification_id"]
    url = f"/api/v1/bedside/verifications/{verification_id}/confirm"
    same = nurse.post(url, json={"username": "nurse", "password": DEMO_PASSWORD,
                                 "patient_code": patient.code, "bag_code": bag.code})
    assert same.status_code == 422
    assert "cannot confirm their own verification" in same.get_json()["detail"]
    wrong = nurse.post(url, json={"username": "nurse2", "password": "not-the-password",
                                  "patient_code": patient.code, "bag_code": bag.code})
    assert wrong.status_code == 422
    assert "username or password was not accepted" in wrong.get_json()["detail"]
    mismatch = nurse.post(url, json={"username": "nurse2", "password": DEMO_PASSWORD,
                                     "patient_code": patient.code,
                                     "bag_code": other_bag.code})
    assert mismatch.status_code == 409
    failed = [c["check"] for c in mismatch.get_json()["checks"] if not c["ok"]]
    assert "same_scans" in failed
    assert "the second bag scan does not match the first" in mismatch.get_json()["detail"]


def test_infusion_of_an_unconfirmed_verification_is_409(on_ward, api_client):
    patient, bag = on_ward("A")
    nurse = api_client("nurse")
    verification_id = nurse.post("/api/v1/bedside/verifications",
                                 json=_body(patient, bag)).get_json()["verification_id"]
    reply = nurse.post("/api/v1/infusions", json={"verification_id": verification_id})
    assert reply.status_code == 409
    assert "not confirmed by a second nurse" in reply.get_json()["detail"]


def test_a_verification_through_the_api_runs_five_statements(on_ward, api_client,
                                                             query_counter):
    """SPEC 9: the token with its user and roles, the bag with its facts, the patient with
    the next dose, the verification and its audit entry; nothing per check."""
    nurse = api_client("nurse")
    patient, bag = on_ward("B")
    body = _body(patient, bag)
    with query_counter() as counted:
        response = nurse.post("/api/v1/bedside/verifications", json=body)
    assert response.status_code == 200 and response.get_json()["decision"] == "GO"
    assert [s.split()[0] for s in counted.statements] == [
        "SELECT", "SELECT", "SELECT", "INSERT", "INSERT"]
