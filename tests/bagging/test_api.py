"""`/api/v1/bags` (SPEC 7): blinded and unblinded shapes, label previews, prints, reprints."""

from __future__ import annotations

import io
import json
import re

import pytest
import zxingcpp
from PIL import Image

from tests.factories import DEMO_PASSWORD
from tests.factories.bagging import (
    fill_materials,
    filled_bag,
    patient_in_arm,
    printed_bag,
    released_bag,
    session,
)
from tests.factories.manufacturing import make_batch
from ucmsc_lims.bagging import fill
from ucmsc_lims.bagging.service import bag_by_code, bag_history, transition_bag
from ucmsc_lims.core import esign
from ucmsc_lims.extensions import db


@pytest.fixture
def two_bags(users):
    """A cell bag and a saline bag, filled from the same materials."""
    materials = fill_materials(users)
    batch = make_batch(users)
    cell = filled_bag(users, patient_in_arm(users, "A"), batch=batch, materials=materials)
    saline = filled_bag(users, patient_in_arm(users, "B"), materials=materials)
    return cell, saline, batch


def test_a_pharmacist_sees_arm_and_lot_and_a_nurse_sees_neither_key(api_client, two_bags):
    cell, saline, batch = two_bags

    pharmacist = {b["bag_id"]: b for b in api_client("pharmacist").get("/api/v1/bags")
                  .get_json()["items"]}
    nurse = {b["bag_id"]: b for b in api_client("nurse").get("/api/v1/bags").get_json()["items"]}

    assert (pharmacist[cell.bag_id]["arm"], pharmacist[cell.bag_id]["lot_id"]) == (
        "A", batch.lot_id)
    assert (pharmacist[saline.bag_id]["arm"], pharmacist[saline.bag_id]["lot_id"]) == ("B", None)
    for bag in (cell, saline):
        assert "arm" not in nurse[bag.bag_id] and "lot_id" not in nurse[bag.bag_id]
        assert set(nurse[bag.bag_id]) == set(nurse[cell.bag_id])


def test_one_bag_reads_with_code_subject_dose_status_and_expiry_with_offset(api_client,
                                                                            two_bags):
    cell, _, _ = two_bags

    body = api_client("nurse").get(f"/api/v1/bags/{cell.bag_id}").get_json()

    assert body["code"] == cell.code
    assert (body["subject_id"], body["dose_number"], body["status"]) == (
        cell.subject_id, 1, "filled")
    assert re.search(r"[+-]\d\d:\d\d$", body["expires_at"])
    assert "arm" not in body and "lot_id" not in body
    assert api_client("pharmacist").get(f"/api/v1/bags/{cell.bag_id}").get_json()["arm"] == "A"


def test_the_list_is_sorted_by_bag_id_and_filtered_by_patient_and_status(api_client,
                                                                         two_bags):
    cell, saline, _ = two_bags
    client = api_client("nurse")

    everything = client.get("/api/v1/bags").get_json()["items"]
    mine = client.get(f"/api/v1/bags?patient={cell.subject_id}").get_json()["items"]
    expired = client.get("/api/v1/bags?status=expired").get_json()["items"]

    assert [b["bag_id"] for b in everything] == sorted([cell.bag_id, saline.bag_id])
    assert [b["bag_id"] for b in mine] == [cell.bag_id]
    assert expired == []


def test_pages_follow_one_another_through_next(api_client, two_bags):
    client = api_client("nurse")

    first = client.get("/api/v1/bags?limit=1").get_json()
    second = client.get(first["next"]).get_json()

    assert len(first["items"]) == len(second["items"]) == 1
    assert first["items"][0]["bag_id"] < second["items"][0]["bag_id"]
    assert second["next"] is None


def test_the_list_costs_the_same_queries_for_two_bags_or_six(api_client, users, query_counter):
    materials = fill_materials(users)
    client = api_client("pharmacist")
    for _ in range(2):
        filled_bag(users, patient_in_arm(users, "B"), materials=materials)
    with query_counter() as few:
        assert len(client.get("/api/v1/bags").get_json()["items"]) == 2
    batch = make_batch(users)
    for arm in ("A", "B", "A", "B"):
        filled_bag(users, patient_in_arm(users, arm), materials=materials, batch=batch)
    with query_counter() as many:
        assert len(client.get("/api/v1/bags").get_json()["items"]) == 6

    assert many.count == few.count


def test_the_png_label_decodes_to_exactly_the_bags_code(api_client, two_bags):
    cell, _, _ = two_bags

    response = api_client("nurse").get(f"/api/v1/bags/{cell.bag_id}/label.png")

    assert response.mimetype == "image/png"
    texts = {b.text for b in zxingcpp.read_barcodes(Image.open(io.BytesIO(response.data)))}
    assert texts == {cell.code}


def test_zpl_and_pdf_labels_are_served(api_client, two_bags):
    cell, _, _ = two_bags
    client = api_client("technician")

    zpl = client.get(f"/api/v1/bags/{cell.bag_id}/label.zpl").get_data(as_text=True)
    pdf = client.get(f"/api/v1/bags/{cell.bag_id}/label.pdf")

    assert zpl.startswith("^XA") and zpl.rstrip().endswith("^XZ")
    assert cell.code in zpl
    assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")


def test_an_investigator_may_not_preview_a_bag_label(api_client, two_bags):
    cell, _, _ = two_bags

    response = api_client("investigator").get(f"/api/v1/bags/{cell.bag_id}/label.svg")

    assert response.status_code == 403


def _masked(svg: str, bag) -> str:
    svg = re.sub(r'(<g class="symbol"[^>]*>).*?</g>', r"\1</g>", svg)
    for identifier in (bag.code, bag.bag_id, bag.subject_id):
        svg = svg.replace(identifier, "ID")
    return re.sub(r"\d+(\.\d+)?", "#", svg)


def test_blinded_labels_of_a_cell_and_a_saline_bag_are_identical_once_masked(api_client,
                                                                            two_bags):
    cell, saline, _ = two_bags
    client = api_client("nurse")

    cell_svg = client.get(f"/api/v1/bags/{cell.bag_id}/label.svg").get_data(as_text=True)
    saline_svg = client.get(f"/api/v1/bags/{saline.bag_id}/label.svg").get_data(as_text=True)

    assert cell_svg != saline_svg
    assert _masked(cell_svg, cell) == _masked(saline_svg, saline)


def test_a_preview_records_nothing(api_client, two_bags):
    cell, _, _ = two_bags
    before = len(bag_history(cell, blinded=False))

    api_client("technician").get(f"/api/v1/bags/{cell.bag_id}/label.svg")

    assert len(bag_history(cell, blinded=False)) == before


def test_the_first_print_needs_no_reason(api_client, users):
    patient = patient_in_arm(users, "B")
    bag = fill.create_bag(patient.doses[0], session=session(users), by=users["technician"])

    response = api_client("technician").post(f"/api/v1/bags/{bag.bag_id}/prints",
                                             json={"format": "zpl"})

    assert response.status_code == 201
    assert response.headers["X-Label-Code"] == bag.code
    assert bag.code in response.get_data(as_text=True)


def test_a_reprint_without_a_reason_is_refused(api_client, users):
    bag = printed_bag(users, patient_in_arm(users, "B"))

    response = api_client("pharmacist").post(f"/api/v1/bags/{bag.bag_id}/prints",
                                             json={"format": "pdf"})

    assert response.status_code == 422
    assert "A reprint needs a reason" in response.get_json()["detail"]


def test_a_reprint_voids_the_old_code_and_the_new_one_resolves(api_client, users):
    bag = printed_bag(users, patient_in_arm(users, "B"))
    old_code = bag.code

    response = api_client("technician").post(f"/api/v1/bags/{bag.bag_id}/prints",
                                             json={"format": "png", "reason": "smudged"})

    new_code = response.headers["X-Label-Code"]
    assert response.status_code == 201 and new_code != old_code
    assert new_code[10:12] == "02"
    assert bag_by_code(old_code) == (bag, True)
    assert bag_by_code(new_code) == (bag, False)
    texts = {b.text for b in zxingcpp.read_barcodes(Image.open(io.BytesIO(response.data)))}
    assert texts == {new_code}


def test_a_retried_print_with_the_same_idempotency_key_prints_once(api_client, users):
    bag = printed_bag(users, patient_in_arm(users, "B"))
    client = api_client("technician")
    headers = {"Idempotency-Key": "print-7f3a"}
    body = {"format": "png", "reason": "torn"}

    first = client.post(f"/api/v1/bags/{bag.bag_id}/prints", json=body, headers=headers)
    again = client.post(f"/api/v1/bags/{bag.bag_id}/prints", json=body, headers=headers)

    assert first.status_code == again.status_code == 201
    assert again.data == first.data
    assert again.headers["Idempotent-Replayed"] == "true"
    db.session.refresh(bag)
    assert bag.label_issue == 2


def test_a_nurse_may_not_print_a_label(api_client, users):
    bag = printed_bag(users, patient_in_arm(users, "B"))

    response = api_client("nurse").post(f"/api/v1/bags/{bag.bag_id}/prints",
                                        json={"format": "pdf", "reason": "x"})

    assert response.status_code == 403


def _life_cycle(users, bag):
    """Released bag through transit, ward, bedside and infusion, as the other domains do."""
    transition_bag(bag, "in_transit", by=users["technician"])
    transition_bag(bag, "received_on_ward", by=users["nurse"], reason="received on L-WARD-5A")
    signature = esign.sign(db.session, username="nurse2", password=DEMO_PASSWORD,
                           meaning="bedside_verification", entity=("bag", bag.bag_id),
                           content={"bag": bag.bag_id})
    transition_bag(bag, "verified", by=users["nurse2"], signature=signature)
    transition_bag(bag, "infusing", by=users["nurse"])
    transition_bag(bag, "infused", by=users["nurse"])


def _blinded_shape(bag) -> list[tuple]:
    """What a blinded reader can tell of each entry: action, user, keys, reason."""
    return [
        (e.action, e.username, sorted(json.loads(e.old or "{}")), sorted(json.loads(e.new or "{}")),
         e.reason)
        for e in bag_history(bag, blinded=True)
    ]


def test_a_nurse_reads_the_same_audit_actions_and_counts_for_a_cell_and_a_saline_bag(users):
    materials = fill_materials(users)
    batch = make_batch(users)
    cell = released_bag(users, patient_in_arm(users, "A"), batch=batch, materials=materials)
    saline = released_bag(users, patient_in_arm(users, "B"), materials=materials)
    for bag in (cell, saline):
        _life_cycle(users, bag)

    assert _blinded_shape(cell) == _blinded_shape(saline)
    assert len(_blinded_shape(cell)) >= 9
    hidden = {e.action for e in bag_history(cell, blinded=False)} - {
        e.action for e in bag_history(cell, blinded=True)}
    assert hidden == {"bag.source_recorded"}
    meanings = [[s.meaning for s in esign.signatures_for(db.session, "bag", bag.bag_id)]
                for bag in (cell, saline)]
    assert meanings[0] == meanings[1] == ["fill_verification", "bag_release",
                                          "bedside_verification"]
