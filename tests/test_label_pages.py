"""Labels open and print from their pages for a signed-in user (SPEC 4.6, 7): lot, vial,
material lot and location labels, each guarded like its API twin; a preview records nothing,
a print is audited; every label link a page shows answers for the role that sees it."""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa
import zxingcpp
from PIL import Image

from tests.factories.custody import WARD, demo_places
from tests.factories.manufacturing import make_bank
from tests.factories.materials import make_material
from ucmsc_lims.core.audit import AuditEntry
from ucmsc_lims.core.isbt128 import Din
from ucmsc_lims.extensions import db

FORMATS = {"svg": "image/svg+xml", "png": "image/png", "pdf": "application/pdf",
           "zpl": "application/x-zpl"}
LABEL_LINK = re.compile(r'(?:href|src)="([^"#?]*/label[^"]*)"')


@pytest.fixture
def records(users):
    bank = make_bank(users, state="banked", vials=3)
    material = make_material(users, kind="saline", name="Sodium chloride 0.9 %")
    places = demo_places(users)
    db.session.commit()
    return {"bank": bank, "material": material, "ward": places["ward"]}


@pytest.fixture
def as_role(client, auth):
    def sign_in(username: str):
        auth.logout()
        response = auth.login(username)
        assert response.status_code == 302, response.get_data(as_text=True)[:300]
        return client

    return sign_in


def _din_data(lot) -> str:
    collection = lot.collection
    din = Din(collection.din[:5], int(collection.din[5:7]), int(collection.din[7:]),
              collection.din_flags)
    return din.barcode_data


def _decoded(png: bytes) -> set[str]:
    return {barcode.text for barcode in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))}


def _prints(action: str, entity_id: str) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
        AuditEntry.action == action, AuditEntry.entity_id == entity_id))


# --- previews, as the roles SPEC 7 names -------------------------------------------------------


@pytest.mark.parametrize("role", ["technician", "qa"])
def test_the_lot_label_opens_from_the_lot_pages_route_in_every_format(records, as_role, role):
    client = as_role(role)
    lot = records["bank"]
    for fmt, mimetype in FORMATS.items():
        response = client.get(f"/lots/{lot.lot_id}/label.{fmt}")
        assert response.status_code == 200, (fmt, response.get_data(as_text=True)[:300])
        assert response.mimetype == mimetype
    png = client.get(f"/lots/{lot.lot_id}/label.png").data
    assert _din_data(lot) in _decoded(png)
    assert _prints("lot.label_printed", lot.lot_id) == 0  # a preview is not a print


@pytest.mark.parametrize("role", ["technician", "qa"])
def test_a_vial_label_carries_the_donations_din_and_the_vials_own_id(records, as_role, role):
    client = as_role(role)
    lot = records["bank"]
    response = client.get(f"/lots/{lot.lot_id}/vials/2/label.png")

    assert response.status_code == 200 and response.mimetype == "image/png"
    assert {_din_data(lot), lot.vials[1].label} <= _decoded(response.data)
    assert client.get(f"/lots/{lot.lot_id}/vials/99/label.png").status_code == 404


@pytest.mark.parametrize("role", ["technician", "qa"])
def test_a_material_label_carries_its_receipt_code(records, as_role, role):
    material = records["material"]
    response = as_role(role).get(f"/materials/{material.code}/label.png")

    assert response.status_code == 200 and response.mimetype == "image/png"
    assert _decoded(response.data) == {material.code}


@pytest.mark.parametrize("role", ["technician", "pharmacist", "nurse", "inspector", "qa"])
def test_a_location_label_carries_its_code(records, as_role, role):
    response = as_role(role).get(f"/custody/locations/{WARD}/label.png")

    assert response.status_code == 200 and response.mimetype == "image/png"
    assert _decoded(response.data) == {WARD}


def test_the_admin_opens_location_labels_from_the_manage_page(records, as_role):
    client = as_role("admin")

    response = client.get(f"/custody/locations/{WARD}/label.manage.png")
    assert response.status_code == 200 and _decoded(response.data) == {WARD}
    assert client.get(f"/custody/locations/{WARD}/label.png").status_code == 403


@pytest.mark.parametrize(("role", "path"), [
    ("pharmacist", "/lots/{lot}/label.png"),
    ("inspector", "/lots/{lot}/label.svg"),
    ("nurse", "/lots/{lot}/label.pdf"),
    ("pharmacist", "/lots/{lot}/vials/1/label.png"),
    ("inspector", "/lots/{lot}/vials/1/label.zpl"),
    ("pharmacist", "/materials/{material}/label.png"),
    ("inspector", "/materials/{material}/label.png"),
    ("nurse", "/custody/locations/{ward}/label.manage.svg"),
])
def test_a_role_that_may_not_fetch_a_label_is_refused(records, as_role, role, path):
    url = path.format(lot=records["bank"].lot_id, material=records["material"].code, ward=WARD)
    response = as_role(role).get(url)

    assert response.status_code == 403
    assert "not allow" in response.get_data(as_text=True)


# --- prints: their own audited action ---------------------------------------------------------


def test_printing_the_lot_label_from_its_page_is_audited(records, as_role):
    lot = records["bank"]
    response = as_role("technician").post(f"/lots/{lot.lot_id}/label/prints",
                                          data={"lot-label-format": "zpl"})

    assert response.status_code == 200 and response.mimetype == "application/x-zpl"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.get_data(as_text=True).startswith("^XA")
    entry = db.session.scalars(sa.select(AuditEntry).where(
        AuditEntry.action == "lot.label_printed", AuditEntry.entity_id == lot.lot_id)).one()
    assert entry.username == "technician" and '"format":"zpl"' in entry.new


def test_qa_may_open_but_not_print_a_lot_label(records, as_role):
    lot = records["bank"]
    response = as_role("qa").post(f"/lots/{lot.lot_id}/label/prints",
                                  data={"lot-label-format": "pdf"})

    assert response.status_code == 403
    assert _prints("lot.label_printed", lot.lot_id) == 0


def test_printing_a_vial_label_is_audited_on_its_lot_and_refused_once_the_vial_is_thawed(
        records, as_role, users):
    lot = records["bank"]
    client = as_role("technician")
    printed = client.post(f"/lots/{lot.lot_id}/vials/1/label/prints",
                          data={"vial-1-format": "pdf"})
    assert printed.status_code == 200 and printed.mimetype == "application/pdf"
    entry = db.session.scalars(sa.select(AuditEntry).where(
        AuditEntry.action == "lot.vial_label_printed")).one()
    assert entry.entity_id == lot.lot_id and lot.vials[0].label in entry.new

    lot.vials[0].status = "thawed"  # what starting a batch does to the vial
    db.session.commit()
    refused = client.post(f"/lots/{lot.lot_id}/vials/1/label/prints",
                          data={"vial-1-format": "pdf"})
    assert refused.status_code == 422
    assert f"Vial {lot.vials[0].label} is thawed: its label is no longer printed." in \
        refused.get_data(as_text=True)


def test_printing_a_material_label_is_audited_and_left_to_the_technician(records, as_role):
    material = records["material"]
    field = f"label-{material.code}-format"
    printed = as_role("technician").post(f"/materials/{material.code}/label/prints",
                                         data={field: "png"})
    assert printed.status_code == 200 and _decoded(printed.data) == {material.code}
    assert _prints("material.label_printed", material.code) == 1

    refused = as_role("pharmacist").post(f"/materials/{material.code}/label/prints",
                                         data={field: "png"})
    assert refused.status_code == 403
    assert "Only a technician prints material labels." in refused.get_data(as_text=True)
    assert _prints("material.label_printed", material.code) == 1


@pytest.mark.parametrize(("role", "status", "printed"), [
    ("technician", 200, 1), ("pharmacist", 200, 1), ("nurse", 403, 0)])
def test_printing_a_location_label_is_audited(records, as_role, role, status, printed):
    response = as_role(role).post(f"/custody/locations/{WARD}/label/prints",
                                  data={f"label-{WARD}-format": "pdf"})

    assert response.status_code == status
    assert _prints("location.label_printed", WARD) == printed


# --- every label link a page shows answers -----------------------------------------------------


@pytest.mark.parametrize(("role", "page"), [
    ("technician", "/lots/{lot}"), ("qa", "/lots/{lot}"),
    ("technician", "/materials/"), ("qa", "/materials/"),
    ("technician", "/custody/locations"), ("pharmacist", "/custody/locations"),
    ("nurse", "/custody/locations"), ("inspector", "/custody/locations"),
    ("admin", "/custody/locations/manage"),
])
def test_every_label_link_on_a_page_opens_for_the_role_that_sees_it(records, as_role, role,
                                                                     page):
    client = as_role(role)
    response = client.get(page.format(lot=records["bank"].lot_id))
    assert response.status_code == 200
    links = sorted(set(LABEL_LINK.findall(response.get_data(as_text=True))))

    assert links, "the page shows no label link"
    for link in links:
        answer = client.get(link)
        assert answer.status_code == 200, (link, answer.status_code)
        assert answer.mimetype in FORMATS.values(), link


@pytest.mark.parametrize(("role", "page"), [
    ("pharmacist", "/lots/{lot}"), ("inspector", "/lots/{lot}"),
    ("pharmacist", "/materials/"), ("inspector", "/materials/"),
])
def test_a_page_shows_no_label_link_to_a_role_that_may_not_open_it(records, as_role, role,
                                                                   page):
    response = as_role(role).get(page.format(lot=records["bank"].lot_id))

    assert response.status_code == 200
    assert LABEL_LINK.findall(response.get_data(as_text=True)) == []


def test_a_lot_without_an_expiry_yet_shows_no_label_link(users, as_role):
    lot = make_bank(users, state="expanding")
    db.session.commit()
    page = as_role("technician").get(f"/lots/{lot.lot_id}").get_data(as_text=True)

    assert LABEL_LINK.findall(page) == []
