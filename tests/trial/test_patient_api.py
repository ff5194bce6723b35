"""SPEC 7: /api/v1/patients with the dose schedule, the arm only for unblinded callers, and the
wristband label."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image

from tests.factories.trial import enroll, make_allocation_list
from ucmsc_lims.trial import service


@pytest.fixture
def patients(db, users):
    make_allocation_list(users)
    return [enroll(users, subject_id=f"01-{n:03d}") for n in (12, 3, 7)]


def test_a_pharmacist_gets_the_arm(db, users, patients, api_client):
    body = api_client("pharmacist").get("/api/v1/patients").get_json()
    arms = {item["subject_id"]: item["arm"] for item in body["items"]}
    assert arms == {p.subject_id: service.arm_of(p) for p in patients}


def test_a_nurse_gets_no_arm_key_at_all(db, users, patients, api_client):
    body = api_client("nurse").get("/api/v1/patients").get_json()
    assert body["items"] and all("arm" not in item for item in body["items"])
    one = api_client("nurse").get("/api/v1/patients/01-003").get_json()
    assert "arm" not in one


def test_the_list_is_sorted_by_subject_id_and_paged(db, users, patients, api_client):
    client = api_client("investigator")
    first = client.get("/api/v1/patients?per_page=2").get_json()
    assert [i["subject_id"] for i in first["items"]] == ["01-003", "01-007"]
    assert first["next"].endswith("/api/v1/patients?after=01-007&per_page=2")
    second = client.get(first["next"]).get_json()
    assert [i["subject_id"] for i in second["items"]] == ["01-012"]
    assert second["next"] is None


def test_paging_by_number_still_answers_as_before(db, users, patients, api_client):
    client = api_client("investigator")
    by_number = client.get("/api/v1/patients?per_page=2&page=2").get_json()
    by_key = client.get("/api/v1/patients?per_page=2&after=01-007").get_json()
    assert [i["subject_id"] for i in by_number["items"]] == ["01-012"]
    assert by_number["items"] == by_key["items"]


def test_the_patients_page_reads_next_and_previous_by_key(db, users, patients, login_as,
                                                         monkeypatch):
    monkeypatch.setattr(service, "PAGE_SIZE", 2)
    page = login_as("investigator")
    first = page.get("/trial/patients").get_data(as_text=True)
    assert "01-003" in first and "01-012" not in first
    assert "after=01-007" in first and "before=" not in first
    second = page.get("/trial/patients?after=01-007").get_data(as_text=True)
    assert "01-012" in second and "01-003" not in second
    assert "before=01-012" in second and "after=" not in second
    back = page.get("/trial/patients?before=01-012").get_data(as_text=True)
    assert "01-003" in back and "01-007" in back and "01-012" not in back
    assert "after=01-007" in back and "before=" not in back


def test_a_patient_has_the_spec_fields(db, users, patients, api_client):
    body = api_client("inspector").get("/api/v1/patients/01-012").get_json()
    assert body["subject_id"] == "01-012"
    assert body["code"] == patients[0].code
    assert body["weight_kg"] == 70.0
    assert [set(d) >= {"dose_number", "due_on", "window_start", "window_end", "status"}
            for d in body["doses"]] == [True, True, True]
    assert body["doses"][0]["status"] == "scheduled"


def test_an_unknown_patient_is_a_plain_404(db, users, api_client):
    response = api_client("nurse").get("/api/v1/patients/09-999")
    assert response.status_code == 404
    assert response.get_json()["detail"] == "No patient with subject id 09-999."


def test_a_technician_reads_patients_but_not_wristbands(db, users, patients, api_client):
    client = api_client("technician")
    assert client.get("/api/v1/patients").status_code == 200
    assert client.get("/api/v1/patients/01-003/wristband.svg").status_code == 403


def test_the_wristband_png_decodes_to_the_patients_code(db, users, patients, api_client):
    response = api_client("nurse").get("/api/v1/patients/01-007/wristband.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    image = Image.open(io.BytesIO(response.data))
    texts = {result.text for result in zxingcpp.read_barcodes(image)}
    assert texts == {patients[2].code}


@pytest.mark.parametrize("fmt, mimetype, start", [
    ("svg", "image/svg+xml", b"<"), ("pdf", "application/pdf", b"%PDF"),
    ("zpl", "text/plain", b"^XA"),
])
def test_the_wristband_comes_in_every_format(db, users, patients, api_client, fmt, mimetype,
                                             start):
    response = api_client("investigator").get(f"/api/v1/patients/01-003/wristband.{fmt}")
    assert response.status_code == 200 and response.mimetype == mimetype
    assert response.data.lstrip().startswith(start)
    if fmt != "pdf":
        assert patients[1].code in response.get_data(as_text=True)


def test_the_blinded_patient_list_page_has_no_arm(db, users, patients, login_as):
    page = login_as("nurse").get("/trial/patients").get_data(as_text=True)
    assert "01-003" in page and ">Arm<" not in page
    assert page.index("01-003") < page.index("01-007") < page.index("01-012")


def test_the_pharmacists_patient_pages_show_the_arm(db, users, patients, login_as):
    client = login_as("pharmacist")
    assert ">Arm<" in client.get("/trial/patients").get_data(as_text=True)
    page = client.get("/trial/patients/01-003").get_data(as_text=True)
    assert f'<strong class="arm">{service.arm_of(patients[1])}</strong>' in page
