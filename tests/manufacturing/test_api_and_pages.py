"""The lots API (SPEC 7), the lot label, the batch record PDF and the QA release page."""

from __future__ import annotations

import io

from pypdf import PdfReader

from tests.factories.manufacturing import make_bank, make_batch, pass_all_qc
from ucmsc_lims.manufacturing.pdf import batch_record_pdf


def test_the_lots_list_and_detail_have_the_spec_shapes(db, users, api_client):
    batch = make_batch(users)
    api = api_client("qa")
    listing = api.get("/api/v1/lots?limit=1")
    assert listing.status_code == 200
    body = listing.get_json()
    assert set(body) == {"items", "next"}
    assert body["next"].startswith("http") and "after=" in body["next"]
    first = body["items"][0]
    expected = {"lot_id", "din", "state", "released_at", "kind", "qc", "release_signature"}
    assert expected <= set(first)
    detail = api.get(f"/api/v1/lots/{batch.lot_id}").get_json()
    assert detail["lot_id"] == batch.lot_id and detail["din"] == batch.din
    assert detail["state"] == "released" and detail["kind"] == "product_batch"
    assert detail["released_at"].endswith("+00:00")
    assert detail["release_signature"]["meaning"] == "Lot release"
    assert detail["qc"]["missing"] == [] and detail["cells_left"] == 6.0e8
    last = api.get(body["next"].replace("limit=1", "limit=200")).get_json()
    assert last["next"] is None


def test_an_inspector_reads_lots_without_cell_usage(db, users, api_client):
    batch = make_batch(users)
    detail = api_client("inspector").get(f"/api/v1/lots/{batch.lot_id}").get_json()
    assert detail["state"] == "released"
    assert "cells_allocated" not in detail and "cells_left" not in detail


def test_a_nurse_cannot_read_lots(db, users, api_client):
    assert api_client("nurse").get("/api/v1/lots").status_code == 403


def test_an_unknown_lot_is_a_problem_document(db, users, api_client):
    response = api_client("qa").get("/api/v1/lots/NOPE")
    assert response.status_code == 404
    assert response.get_json()["detail"] == "No lot NOPE."


def test_a_qc_result_post_evaluates_and_opens_a_deviation(db, users, api_client):
    lot = make_bank(users, state="qc_pending")
    response = api_client("technician").post(
        f"/api/v1/lots/{lot.lot_id}/qc-results",
        json={"test": "endotoxin", "value": 0.9, "unit": "EU/mL", "sample_id": "S-E1"},
        headers={"Idempotency-Key": "k-1"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["passed"] is False and body["deviation"].startswith("DEV-")


def test_the_lot_label_renders_in_every_format(db, users, api_client):
    lot = make_bank(users)
    api = api_client("technician")
    svg = api.get(f"/api/v1/lots/{lot.lot_id}/label.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    assert api.get(f"/api/v1/lots/{lot.lot_id}/label.zpl").get_data(as_text=True).startswith("^XA")
    assert api.get(f"/api/v1/lots/{lot.lot_id}/label.pdf").data.startswith(b"%PDF")
    assert api.get(f"/api/v1/lots/{lot.lot_id}/label.png").data.startswith(b"\x89PNG")


def test_the_batch_record_names_the_din_each_result_and_each_signature(db, users):
    batch = make_batch(users)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(
        batch_record_pdf(batch))).pages)
    compact = " ".join(text.split())
    assert batch.din in compact
    for label in ("Viability", "CD105", "HLA-DR", "Sterility (14-day culture)", "Endotoxin",
                  "no growth", "not detected"):
        assert label in compact
    assert "Qiao Li (QA)" in compact and "Lot release" in compact
    assert f"Cell bank summary — lot {batch.parent.lot_id}" in compact


def test_the_release_page_releases_by_visible_labels(db, users, login_as):
    lot = make_bank(users, state="qc_pending")
    pass_all_qc(lot, users)
    client = login_as("qa")
    page = client.get(f"/qc/release/{lot.lot_id}").get_data(as_text=True)
    assert "Release lot" in page and "Username" in page and "Password" in page
    assert "Meaning" in page and "Lot release" in page
    response = client.post(f"/qc/release/{lot.lot_id}", data={
        "sig-username": "qa", "sig-password": "demo-password-123"})
    assert response.status_code == 302
    assert "Lot released." in client.get(response.location).get_data(as_text=True)


def test_the_lot_page_worklist_and_queue_render(db, users, login_as):
    batch = make_batch(users, state="expanding")
    client = login_as("technician")
    page = client.get(f"/lots/{batch.lot_id}").get_data(as_text=True)
    assert "<svg" in page and "Timeline" in page and "P3" in page
    assert client.get("/lots/worklist").status_code == 200
    client.post("/logout")
    qa = login_as("qa")
    assert "Release queue" in qa.get("/lots/release-queue").get_data(as_text=True)
