"""SPEC 4.3: a specification is versioned, never edited. QA approves a new version by
e-signature on its page; it takes effect from the time it names, never in the past."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.factories import DEMO_PASSWORD
from ucmsc_lims.core.clock import site_zone
from ucmsc_lims.core.db import utcnow
from ucmsc_lims.core.errors import DomainError, NotPermitted
from ucmsc_lims.core.esign import signatures_for
from ucmsc_lims.extensions import db
from ucmsc_lims.qc import service as qc
from ucmsc_lims.qc.models import Specification

URL = "/qc/specifications/product_batch/new"


def _count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Specification))


def _rows(spec) -> list[dict]:
    return [{name: getattr(item, name) for name in qc.ITEM_FIELDS} for item in spec.items]


def _form(spec, *, effective, rows=None, password=DEMO_PASSWORD, title=None) -> dict:
    data = {"title": title or spec.title, "username": "qa", "password": password,
            "effective_from": effective.astimezone(site_zone()).strftime("%Y-%m-%dT%H:%M")}
    for n, row in enumerate(rows if rows is not None else _rows(spec)):
        for name, value in row.items():
            if name == "may_be_pending":
                if value:
                    data[f"items-{n}-{name}"] = "y"
            elif value is not None:
                data[f"items-{n}-{name}"] = str(value)
    return data


def test_the_form_starts_from_the_version_in_force(db, users, login_as):
    page = login_as("qa").get(URL).get_data(as_text=True)
    current = qc.spec_in_force("product_batch")
    assert f'value="{current.title}"' in page
    for item in current.items:
        assert f'value="{item.test}"' in page
    # Three spare rows for new tests below the current ones.
    assert f'name="items-{len(current.items) + 2}-test"' in page


def test_qa_signs_a_new_version_that_takes_effect_from_its_time(db, users, login_as):
    current = qc.spec_in_force("product_batch")
    rows = _rows(current)
    rows[0]["limit"] = 75.0  # viability
    rows.append({"test": "residual_dmso", "label": "Residual DMSO", "method": "GC",
                 "unit": "%", "comparator": "<=", "limit": 0.1})
    effective = utcnow() + timedelta(hours=2)
    response = login_as("qa").post(URL, data=_form(current, effective=effective, rows=rows),
                                   follow_redirects=True)
    assert response.status_code == 200
    assert "v2 approved" in response.get_data(as_text=True)

    new = db.session.scalars(sa.select(Specification).where(
        Specification.lot_kind == "product_batch", Specification.version == 2)).one()
    criteria = {i.test: i.criterion for i in new.items}
    assert criteria["viability"] == ">= 75 %"
    assert criteria["residual_dmso"] == "<= 0.1 %"
    assert criteria["endotoxin"] == "< 0.5 EU/mL"  # still read from the protocol setting
    # Until its time, the old version decides; from then on, the new one.
    assert qc.spec_in_force("product_batch").version == 1
    assert qc.spec_in_force("product_batch", at=effective + timedelta(minutes=1)).version == 2
    [signature] = signatures_for(db.session, "specification", "product_batch:v2")
    assert signature.meaning == "specification_approval" and signature.user.username == "qa"


def test_a_row_left_empty_drops_that_test(db, users):
    current = qc.spec_in_force("cell_bank")
    rows = [row for row in _rows(current) if row["test"] != "vial_count"] + [{}]
    new = qc.approve_specification_version(
        "cell_bank", title=current.title, items=rows, effective_from=utcnow() + timedelta(1),
        by=users["qa"], username="qa", password=DEMO_PASSWORD)
    assert "vial_count" not in {i.test for i in new.items}
    assert len(new.items) == len(current.items) - 1


@pytest.mark.parametrize(("change", "message"), [
    ({"comparator": "is", "expected": None}, "Row 1: a word result needs the expected word"),
    ({"limit_setting": "endotoxin_limit"}, "Row 1: give either a limit or a protocol setting"),
    ({"limit": None, "limit_setting": "no_such_setting"},
     "Row 1: no protocol setting is called no_such_setting"),
    ({"method": ""}, "Row 1: give the method"),
    ({"test": "cd73"}, "Each test appears once: cd73 is repeated"),
])
def test_an_inconsistent_row_is_refused_and_nothing_is_written(db, users, change, message):
    current = qc.spec_in_force("product_batch")
    rows = _rows(current)
    rows[0].update(change)
    before = _count()
    with pytest.raises(DomainError, match=re.escape(message)):
        qc.approve_specification_version(
            "product_batch", title=current.title, items=rows,
            effective_from=utcnow() + timedelta(1), by=users["qa"], username="qa",
            password=DEMO_PASSWORD)
    assert _count() == before


def test_a_version_cannot_take_effect_in_the_past(db, users, login_as):
    current = qc.spec_in_force("product_batch")
    before = _count()
    response = login_as("qa").post(
        URL, data=_form(current, effective=utcnow() - timedelta(days=1)))
    assert response.status_code == 422
    assert "never in the past" in response.get_data(as_text=True)
    assert _count() == before


def test_a_wrong_password_signs_nothing(db, users, login_as):
    current = qc.spec_in_force("product_batch")
    before = _count()
    response = login_as("qa").post(URL, data=_form(
        current, effective=utcnow() + timedelta(hours=1), password="not-the-password"))
    assert response.status_code == 401
    assert _count() == before


def test_only_qa_approves_a_specification(db, users, login_as):
    assert login_as("technician").get(URL).status_code == 403
    current = qc.spec_in_force("product_batch")
    assert login_as("technician").post(URL, data=_form(
        current, effective=utcnow() + timedelta(hours=1))).status_code == 403
    with pytest.raises(NotPermitted):
        qc.approve_specification_version(
            "product_batch", title="x", items=_rows(current),
            effective_from=utcnow() + timedelta(1), by=users["pharmacist"],
            username="pharmacist", password=DEMO_PASSWORD)


def test_the_specifications_page_offers_qa_a_new_version_and_says_which_is_in_force(
        db, users, login_as):
    qa_page = login_as("qa").get("/qc/specifications").get_data(as_text=True)
    assert qa_page.count('class="badge state-released">in force</span>') == 2
    assert URL in qa_page
    technician_page = login_as("technician").get("/qc/specifications").get_data(as_text=True)
    assert URL not in technician_page


def test_the_form_as_served_is_accepted_and_its_time_counts_as_now(db, users, login_as):
    """The form offers the current minute: submitting it as it came is not 'in the past'."""
    page = login_as("qa")
    served = page.get(URL).get_data(as_text=True)
    offered = re.search(r'name="effective_from"[^>]*value="([^"]+)"', served).group(1)
    current = qc.spec_in_force("product_batch")
    data = _form(current, effective=utcnow())
    data["effective_from"] = offered
    response = page.post(URL, data=data, follow_redirects=True)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert qc.latest_specification("product_batch").version == 2


def test_a_new_version_builds_on_a_scheduled_one_and_takes_effect_after_it(db, users):
    current = qc.spec_in_force("product_batch")
    scheduled_at = utcnow() + timedelta(days=10)
    rows = _rows(current)
    rows[0]["limit"] = 75.0
    v2 = qc.approve_specification_version(
        "product_batch", title=current.title, items=rows, effective_from=scheduled_at,
        by=users["qa"], username="qa", password=DEMO_PASSWORD)
    assert qc.latest_specification("product_batch") == v2
    with pytest.raises(DomainError, match=r"v2 takes effect on .*: a new version takes effect"):
        qc.approve_specification_version(
            "product_batch", title=current.title, items=_rows(current),
            effective_from=utcnow() + timedelta(days=5), by=users["qa"], username="qa",
            password=DEMO_PASSWORD)
    v3 = qc.approve_specification_version(
        "product_batch", title=current.title, items=_rows(v2),
        effective_from=scheduled_at + timedelta(days=1), by=users["qa"], username="qa",
        password=DEMO_PASSWORD)
    assert v3.version == 3 and v3.items[0].limit == 75.0


@pytest.mark.parametrize("limit", [float("inf"), float("nan")])
def test_a_limit_that_is_not_a_finite_number_is_refused(db, users, limit):
    current = qc.spec_in_force("product_batch")
    rows = _rows(current)
    rows[0]["limit"] = limit
    with pytest.raises(DomainError, match="Row 1: the limit is a finite number"):
        qc.approve_specification_version(
            "product_batch", title=current.title, items=rows,
            effective_from=utcnow() + timedelta(1), by=users["qa"], username="qa",
            password=DEMO_PASSWORD)
