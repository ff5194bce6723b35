"""Bagging pages: the technician's fill session by scans, the pharmacist's signatures, and the
blinded bag page."""

from __future__ import annotations

from tests.factories import DEMO_PASSWORD
from tests.factories.bagging import fill_materials, filled_bag, patient_in_arm
from tests.factories.manufacturing import make_batch
from ucmsc_lims.bagging import fill
from ucmsc_lims.bagging.service import get_bag


def test_a_technician_prints_the_sheet_and_fills_a_bag_by_scans(login_as, users):
    patient = patient_in_arm(users, "B")
    materials = fill_materials(users)
    client = login_as("technician")

    started = client.post("/bagging/sessions", data={"room": "GMP-FILL-1"})
    session = fill.sessions_on(fill.site_today())[0]
    sheet = client.post(f"/bagging/sessions/{session.id}/labels", data={})
    bag = fill.session_bags(session)[0]
    page = client.get("/bagging/", query_string={
        "label": bag.code, "source": materials.saline.code,
        "anticoagulant": materials.heparin.code, "saline": materials.saline.code})
    done = client.post("/bagging/fill", data={
        "label": bag.code, "source": materials.saline.code,
        "anticoagulant": materials.heparin.code, "saline": materials.saline.code,
        "container": materials.container.code}, follow_redirects=True)

    assert started.status_code == 302
    assert sheet.mimetype == "application/pdf" and sheet.data.startswith(b"%PDF")
    assert "Container lot" in page.get_data(as_text=True)
    assert f"Bag {bag.bag_id} filled" in done.get_data(as_text=True)
    assert "printed 1 = applied 1 + voided 0" in done.get_data(as_text=True)
    assert get_bag(bag.bag_id).status == "filled"
    assert patient.subject_id in done.get_data(as_text=True)


def test_a_wrong_source_is_named_to_the_technician_and_changes_nothing(login_as, users):
    materials = fill_materials(users)
    client = login_as("technician")
    client.post("/bagging/sessions", data={"room": "GMP-FILL-1"})
    patient_in_arm(users, "A")
    session = fill.sessions_on(fill.site_today())[0]
    client.post(f"/bagging/sessions/{session.id}/labels", data={})
    bag = fill.session_bags(session)[0]

    refused = client.post("/bagging/fill", data={
        "label": bag.code, "source": materials.saline.code,
        "anticoagulant": materials.heparin.code, "saline": materials.saline.code,
        "container": materials.container.code})

    assert refused.status_code == 422
    assert "This dose needs cells" in refused.get_data(as_text=True)
    assert get_bag(bag.bag_id).status == "pending_fill"


def test_a_pharmacist_verifies_and_releases_a_bag_with_signatures(login_as, users):
    bag = filled_bag(users, patient_in_arm(users, "B"))
    client = login_as("pharmacist")

    listed = client.get("/bagging/verify").get_data(as_text=True)
    client.post(f"/bagging/bags/{bag.bag_id}/verify",
                data={f"{bag.bag_id}-password": DEMO_PASSWORD})
    released = client.post(f"/bagging/bags/{bag.bag_id}/release",
                           data={f"{bag.bag_id}-password": DEMO_PASSWORD},
                           follow_redirects=True)

    assert bag.bag_id in listed and "Saline source" in listed
    assert f"Bag {bag.bag_id} released for issue." in released.get_data(as_text=True)
    assert get_bag(bag.bag_id).status == "released_for_issue"


def test_a_nurse_reads_a_bag_page_without_arm_lot_or_materials(login_as, users):
    materials = fill_materials(users)
    batch = make_batch(users)
    bag = filled_bag(users, patient_in_arm(users, "A"), batch=batch, materials=materials)

    page = login_as("nurse").get(f"/bagging/bags/{bag.bag_id}").get_data(as_text=True)

    assert bag.code in page and "BLINDED" in page
    for secret in (batch.lot_id, batch.din, materials.heparin.code, "Arm", "source_recorded"):
        assert secret not in page


def test_the_label_page_shows_a_preview_and_reprints_with_a_reason(login_as, users):
    bag = filled_bag(users, patient_in_arm(users, "B"))
    client = login_as("technician")
    old_code = bag.code

    page = client.get(f"/bagging/bags/{bag.bag_id}/label").get_data(as_text=True)
    refused = client.post(f"/bagging/bags/{bag.bag_id}/print", data={"format": "pdf"})
    printed = client.post(f"/bagging/bags/{bag.bag_id}/print",
                          data={"format": "pdf", "reason": "label torn"})

    assert "A preview, not a print." in page
    assert "A reprint needs a reason" in refused.get_data(as_text=True)
    assert printed.mimetype == "application/pdf"
    assert get_bag(bag.bag_id).code != old_code
