"""`GET /api/v1/patients/{subject_id}/visits` (SPEC 7)."""

from tests.factories.followup import past_patient, record_visit


def test_the_visits_api_returns_labs_as_written_and_the_scores(db, users, api_client):
    patient = past_patient(users)
    visit = record_visit(users, patient)
    response = api_client("investigator").get(f"/api/v1/patients/{patient.subject_id}/visits")
    assert response.status_code == 200
    body = response.get_json()
    assert body["next"] is None
    (item,) = body["items"]
    assert item["visit_week"] == 12 and item["visit_date"] == visit.visit_date.isoformat()
    assert {"analyte": "BILI", "value": 34.2, "unit": "umol/L"} in item["labs"]
    assert {"analyte": "INR", "value": 1.3, "unit": ""} in item["labs"]
    assert [lab["analyte"] for lab in item["labs"]] == [
        "ALT", "BILI", "PT", "INR", "ALB", "PREALB", "CREAT", "SODIUM", "WBC", "HGB", "PLAT"]
    assert (item["meld"], item["meld_na"]) == (12, 15)
    assert (item["child_pugh_score"], item["child_pugh_class"]) == (8, "B")
    assert "arm" not in item


def test_an_inspector_reads_the_visits_and_a_nurse_is_refused(db, users, api_client):
    patient = past_patient(users)
    record_visit(users, patient)
    path = f"/api/v1/patients/{patient.subject_id}/visits"
    assert api_client("inspector").get(path).status_code == 200
    refused = api_client("nurse").get(path)
    assert refused.status_code == 403
    assert refused.content_type == "application/problem+json"


def test_an_unknown_patient_is_a_problem_saying_so(db, users, api_client):
    response = api_client("investigator").get("/api/v1/patients/99-999/visits")
    assert response.status_code == 404
    assert response.get_json()["detail"] == "No patient with subject id 99-999."


def test_a_visit_without_enough_data_has_null_scores(db, users, api_client):
    patient = past_patient(users)
    record_visit(users, patient, labs=[("ALT", "40", "U/L")], ascites=None,
                 encephalopathy_grade=None)
    (item,) = api_client("investigator").get(
        f"/api/v1/patients/{patient.subject_id}/visits").get_json()["items"]
    assert item["meld"] is None and item["child_pugh_class"] is None


def _body(patient, **changes):
    from datetime import timedelta

    from tests.factories.followup import LABS

    body = {"visit_week": 12, "visit_date": str(patient.day0 + timedelta(weeks=12)),
            "labs": [{"analyte": a, "value": float(v), "unit": u} for a, v, u in LABS],
            "ascites": "mild", "encephalopathy_grade": 0}
    return body | changes


def test_the_investigator_records_a_visit_through_the_api(db, users, api_client):
    patient = past_patient(users)
    response = api_client("investigator").post(
        f"/api/v1/patients/{patient.subject_id}/visits", json=_body(patient))
    assert response.status_code == 201
    assert response.get_json()["meld"] == 12


def test_an_implausible_value_through_the_api_is_a_problem_naming_the_analyte(
        db, users, api_client):
    patient = past_patient(users)
    body = _body(patient, labs=[{"analyte": "INR", "value": 40, "unit": ""}])
    response = api_client("investigator").post(
        f"/api/v1/patients/{patient.subject_id}/visits", json=body)
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    problem = response.get_json()
    assert problem["detail"] == "INR of 40 is not plausible (allowed 0.5–25)."
    assert problem["errors"] == {"INR": ["INR of 40 is not plausible (allowed 0.5–25)."]}
    assert api_client("investigator").get(
        f"/api/v1/patients/{patient.subject_id}/visits").get_json()["items"] == []


def test_a_value_that_is_not_a_number_is_refused_through_the_api(db, users, api_client):
    patient = past_patient(users)
    body = _body(patient, labs=[{"analyte": "ALT", "value": True, "unit": "U/L"}])
    response = api_client("investigator").post(
        f"/api/v1/patients/{patient.subject_id}/visits", json=body)
    assert response.status_code == 422
    assert response.get_json()["detail"] == "ALT: 'True' is not a number."
