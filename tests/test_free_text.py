"""Free text that prints on a label refuses markup, ZPL commands and control characters at the
boundary (core.freetext), with a message in plain words and nothing stored."""

from __future__ import annotations

import html

import pytest
import sqlalchemy as sa
from marshmallow import Schema, ValidationError, fields

from tests.factories.trial import make_allocation_list
from ucmsc_lims.core.clock import site_today
from ucmsc_lims.core.freetext import SchemaLabelText, refused
from ucmsc_lims.custody.models import Location
from ucmsc_lims.trial import eligibility
from ucmsc_lims.trial.models import Patient

ZPL = "^XA^FO50,50^FDforged^FS^XZ"


def _enrollment(site: str) -> dict:
    return {
        "subject_id": "01-061", "hospital_record_number": "H061", "initials": "LM",
        "date_of_birth": "1960-05-01", "site": site, "weight_kg": "64.5", "stratum": "CPA",
        "day0": site_today().isoformat(),
        **{f"item_{item.key}": "yes" if item.kind == "inclusion" else "no"
           for item in eligibility.CURRENT.items},
    }


def _page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _patients(db) -> list[Patient]:
    return list(db.session.scalars(sa.select(Patient)))


@pytest.mark.parametrize("site", ["<script>alert(1)</script>", ZPL, "01\x1b[2J", "01~JA"])
def test_the_enrollment_page_refuses_a_site_that_would_print_markup_or_commands(
        db, users, login_as, site):
    make_allocation_list(users)

    response = login_as("investigator").post("/trial/enroll", data=_enrollment(site))

    assert response.status_code == 400
    assert "Site may not contain < > ^ ~ or control characters." in _page(response)
    assert _patients(db) == []


def test_the_enrollment_page_takes_a_site_in_plain_words_and_chinese(db, users, login_as):
    make_allocation_list(users)

    response = login_as("investigator").post("/trial/enroll",
                                             data=_enrollment("01 仁济医院 (St. Mary's & Co.)"))

    assert response.status_code == 302
    assert [p.site for p in _patients(db)] == ["01 仁济医院 (St. Mary's & Co.)"]


@pytest.mark.parametrize(("field", "value", "label"), [
    ("name", ZPL, "Name"),
    ("name", "Ward <b>5A</b>", "Name"),
    ("name", "Ward 5A\u202e", "Name"),
    ("code", "L-WARD^5A", "Location code"),
])
def test_the_location_page_refuses_a_name_or_code_that_would_print_markup_or_commands(
        db, users, login_as, field, value, label):
    data = {"code": "L-WARD-9C", "name": "Ward 9C", "kind": "ward", field: value}

    response = login_as("admin").post("/custody/locations/manage", data=data)

    assert response.status_code == 400
    assert f"{label} may not contain < > ^ ~ or control characters." in _page(response)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Location)) == 0


def test_a_line_break_is_a_control_character_in_one_line_but_not_in_a_text_area():
    assert refused("Ward 5A\r\nsecond line")
    assert not refused("Ward 5A\r\nsecond line", multiline=True)
    assert refused("Ward\t5A", multiline=True)
    assert refused("Ward\x005A", multiline=True)


class _Named(Schema):
    name = fields.String(validate=SchemaLabelText())


def test_the_api_validator_refuses_the_same_characters_in_plain_words():
    with pytest.raises(ValidationError) as refused_entry:
        _Named().load({"name": "Ward ~5A"})

    assert refused_entry.value.messages == {
        "name": ["This text may not contain < > ^ ~ or control characters."]}
    assert _Named().load({"name": "Ward 5A, Hepatology"}) == {"name": "Ward 5A, Hepatology"}
