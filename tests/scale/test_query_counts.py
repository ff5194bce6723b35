"""The main list pages run as many SQL statements for a long list as for a short one (SPEC 9:
no N+1 on the paths people use all day). Bedside verification, trace and the bags list have
their own guards in tests/bedside, tests/trace and tests/bagging."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.factories.custody import location
from ucmsc_lims.extensions import db
from ucmsc_lims.manufacturing.models import Lot
from ucmsc_lims.scale.cli import seed_scale


@pytest.fixture
def places(db, users):
    location("L-GMP-PHARMACY", kind="pharmacy", users=users)
    location("L-WARD-5A", kind="ward", users=users)


def statements(query_counter, call) -> int:
    db.session.expunge_all()
    with query_counter() as counted:
        response = call()
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return counted.count


def grow(bags: int) -> None:
    seed_scale(bags=bags, today=2, force=True)


def test_the_patients_list_costs_the_same_for_a_short_page_and_a_full_one(
        places, api_client, query_counter):
    reader = api_client("pharmacist")
    grow(12)
    short = statements(query_counter, lambda: reader.get("/api/v1/patients?per_page=50"))
    grow(180)
    full = statements(query_counter, lambda: reader.get("/api/v1/patients?per_page=50"))
    assert len(reader.get("/api/v1/patients?per_page=50").get_json()["items"]) == 50
    assert short == full


def test_the_audit_page_costs_the_same_on_the_first_page_and_a_deep_one(
        places, users, login_as, query_counter):
    grow(150)
    qa = login_as("qa")
    first = statements(query_counter, lambda: qa.get("/audit/"))
    deep = statements(query_counter, lambda: qa.get("/audit/?before=60"))
    assert first == deep
    assert "bag.status_changed" in qa.get("/audit/").get_data(as_text=True)


def test_the_lots_list_costs_the_same_for_few_lots_and_many(places, api_client,
                                                             query_counter):
    reader = api_client("pharmacist")
    grow(20)
    few = statements(query_counter, lambda: reader.get("/api/v1/lots?limit=50"))
    grow(400)
    short = statements(query_counter, lambda: reader.get("/api/v1/lots?limit=5"))
    many = statements(query_counter, lambda: reader.get("/api/v1/lots?limit=50"))
    page = reader.get("/api/v1/lots?limit=50").get_json()["items"]
    assert len(page) == 50
    assert any(lot["cell_bank"] for lot in page)
    assert any(lot["release_signature"] for lot in page)
    assert all(lot["qc"]["specification"] for lot in page)
    assert few == short == many


def test_the_lots_page_costs_the_same_for_few_lots_and_many(places, login_as, query_counter):
    grow(20)
    qa = login_as("qa")
    few = statements(query_counter, lambda: qa.get("/lots/"))
    grow(400)
    many = statements(query_counter, lambda: qa.get("/lots/"))
    assert few == many


def _pending(count: int) -> list[str]:
    """Put the first `count` synthetic product batches back to pending QC (a bulk shortcut,
    as the synthetic study itself is written in bulk)."""
    rows = db.session.execute(sa.select(Lot.id, Lot.lot_id).where(
        Lot.kind == "product_batch").order_by(Lot.id).limit(count)).all()
    db.session.execute(sa.update(Lot).where(Lot.id.in_([r.id for r in rows]))
                       .values(state="qc_pending"))
    return [r.lot_id for r in rows]


def test_the_release_queue_costs_the_same_for_five_lots_and_fifty(places, login_as,
                                                                  query_counter):
    grow(400)
    qa = login_as("qa")
    _pending(5)
    five = statements(query_counter, lambda: qa.get("/lots/release-queue"))
    lot_ids = _pending(50)
    fifty = statements(query_counter, lambda: qa.get("/lots/release-queue"))
    page = qa.get("/lots/release-queue").get_data(as_text=True)
    assert len(lot_ids) == 50 and all(lot_id in page for lot_id in lot_ids)
    assert five == fifty


def test_the_fill_session_page_costs_the_same_for_few_doses_due_and_many(
        places, users, login_as, query_counter):
    technician = login_as("technician")
    seed_scale(bags=6, today=3, force=True)
    few = statements(query_counter, lambda: technician.get("/bagging/"))
    seed_scale(bags=60, today=30, force=True)
    many = statements(query_counter, lambda: technician.get("/bagging/"))
    assert many == few
