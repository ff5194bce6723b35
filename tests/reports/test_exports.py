"""Audit trail exports with the chain verification (SPEC 5), redacted for blinded readers, and
the reports index."""

from __future__ import annotations

import csv
import io

import pytest
from pypdf import PdfReader

from tests.factories import DEMO_PASSWORD
from tests.factories.trace import seeded_chain
from ucmsc_lims.lookback import service as lookback


def _rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def _held_chain(users):
    chain = seeded_chain(users)
    lookback.hold_affected(chain.batch.lot_id, by=users["qa"], username="qa",
                           password=DEMO_PASSWORD, reason="Batch recalled: sterility")
    return chain


def test_the_audit_csv_starts_with_the_chain_verification_and_parses_back(db, users,
                                                                          login_as):
    _held_chain(users)

    rows = _rows(login_as("qa").get("/reports/audit.csv"))

    assert rows[0][:2] == ["chain_verification", "ok"]
    assert rows[1][0] == "checkpoint"
    header = rows[3]
    entries = [dict(zip(header, row, strict=True)) for row in rows[4:]]
    actions = {e["action"] for e in entries}
    assert {"lookback.opened", "bag.status_reason", "signature.applied"} <= actions
    assert all(e["seq"].isdigit() for e in entries)


def test_the_blinded_inspectors_audit_csv_leaves_out_what_ties_bags_to_lots(db, users,
                                                                            login_as):
    chain = _held_chain(users)

    rows = _rows(login_as("inspector").get("/reports/audit.csv"))

    entries = [dict(zip(rows[3], row, strict=True)) for row in rows[4:]]
    actions = {e["action"] for e in entries}
    assert "lookback.opened" not in actions and "bag.status_reason" not in actions
    held = [e for e in entries if e["entity_id"] == chain.bag_a.bag_id
            and e["action"] == "bag.status_changed" and "on_hold" in e["new"]]
    assert held[0]["reason"] == "product on hold: contact pharmacy"
    assert "recalled" not in "".join(",".join(r) for r in rows)


def test_the_audit_csv_honours_the_filters(db, users, login_as):
    chain = _held_chain(users)

    rows = _rows(login_as("qa").get(
        f"/reports/audit.csv?entity_type=bag&entity_id={chain.bag_a.bag_id}"))

    assert {row[6] for row in rows[4:]} == {chain.bag_a.bag_id}


def test_the_audit_pdf_carries_the_verification_and_the_entries(db, users, login_as):
    _held_chain(users)

    response = login_as("qa").get("/reports/audit.pdf?action=lookback")

    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(response.data)).pages)
    assert response.mimetype == "application/pdf"
    assert "Chain verification: Chain intact" in text
    assert "lookback.opened" in text


def test_the_reports_index_links_the_unblinding_and_near_miss_reports(db, users, login_as):
    page = login_as("inspector").get("/reports/").get_data(as_text=True)

    assert "/reports/audit.pdf" in page
    assert "Emergency unblinding report" in page
    assert "Near-miss report" in page
    assert "Look-back cases" not in page


def test_a_nurse_cannot_export_the_audit_trail(db, users, login_as):
    response = login_as("nurse").get("/reports/audit.csv")

    assert response.status_code == 403


@pytest.mark.parametrize("role", ["nurse", "investigator", "technician", "pharmacist"])
def test_only_the_admin_and_qa_open_the_inspector_grants(login_as, role):
    assert login_as(role).get("/reports/inspection-grants").status_code == 403


@pytest.mark.parametrize("role", ["admin", "qa"])
def test_the_admin_and_qa_open_the_inspector_grants(login_as, role):
    assert login_as(role).get("/reports/inspection-grants").status_code == 200
