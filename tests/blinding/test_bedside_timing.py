"""SPEC 4.5 placebo parity, SPEC 9: how long the nurse's screen takes to show a decision must not
tell the arm. Wall time is never asserted here; what makes it differ is: the page path (one
round trip in place, or the plain form's POST-redirect-GET), the SQL statements each request
runs, the templates it renders and the bytes it answers. For a cell bag and its saline twin
all four are the same, on both paths."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from flask import template_rendered

from .compare import diff, mask
from .pair import build_pair


@dataclass
class Trace:
    """What one bag's scan made the server do, request by request."""

    statements: list[str] = field(default_factory=list)
    templates: list[str] = field(default_factory=list)
    answers: list[tuple[int, str, tuple[str, ...], str]] = field(default_factory=list)


@pytest.fixture
def on_ward(db, users):
    built = build_pair(users, through="received")
    db.session.commit()
    return built


def _form(record) -> dict:
    return {"wristband": record.patient.code, "weight_kg": "70.0", "identity_confirmed": "y",
            "bag_intact": "y", "bag": record.bag.code}


def _scan(app, page, record, query_counter, *, in_place: bool) -> Trace:
    trace = Trace()

    def rendered(_sender, template, context, **_extra):
        trace.templates.append(template.name)

    template_rendered.connect(rendered, app)
    try:
        with query_counter() as counted:
            if in_place:
                answers = [page.post("/bedside?fragment=1", data=_form(record))]
            else:
                posted = page.post("/bedside", data=_form(record))
                answers = [posted, page.get(posted.headers["Location"])]
    finally:
        template_rendered.disconnect(rendered, app)
    trace.statements = counted.statements
    for answer in answers:
        location = answer.headers.get("Location") or answer.headers.get("Content-Location", "")
        trace.answers.append((answer.status_code, answer.mimetype,
                              tuple(sorted(answer.headers.keys())),
                              f"{location}\n{answer.get_data(as_text=True)}"))
    return trace


@pytest.mark.parametrize("in_place", [True, False], ids=["in place", "plain form"])
def test_a_cell_bag_and_its_saline_twin_take_the_same_path_to_the_screen(
        app, on_ward, signed_in, query_counter, in_place):
    page, _api = signed_in("nurse")
    for record in on_ward.records:  # first requests warm caches; the compared ones do not
        _scan(app, page, record, query_counter, in_place=in_place)

    a, b = (_scan(app, page, record, query_counter, in_place=in_place)
            for record in on_ward.records)

    assert a.statements and a.statements == b.statements
    assert a.templates == b.templates
    assert a.templates[0] == ("bedside/_verification.html" if in_place
                              else "bedside/verification.html")
    assert len(a.answers) == len(b.answers) == (1 if in_place else 2)
    ids = {**on_ward.a.identifiers(), **on_ward.b.identifiers()}
    for answer_a, answer_b in zip(a.answers, b.answers, strict=True):
        assert answer_a[:3] == answer_b[:3]
        masked_a, masked_b = mask(answer_a[3], ids), mask(answer_b[3], ids)
        assert masked_a == masked_b, diff(masked_a, masked_b, name_a="arm A", name_b="arm B")
    assert 'role="status">GO<' in a.answers[-1][3]
