"""SPEC 7, 9: the bedside page's script posts the bag scan to `/bedside?fragment=1` and shows the
answer in place, in one round trip: the verification page's own partial (decision in the
`role="status"` element, failed checks, "Confirm as second nurse"), sent only once the
verification is committed. The plain form keeps its POST-redirect-GET."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from ucmsc_lims.bedside.models import NearMiss, Verification
from ucmsc_lims.core.db import utcnow
from ucmsc_lims.extensions import db

FRAGMENT = "/bedside?fragment=1"
PAGE = re.compile(r"/bedside/verifications/(\d+)$")


def _form(patient, bag, **overrides) -> dict:
    return {"wristband": patient.code, "weight_kg": "70.0", "identity_confirmed": "y",
            "bag_intact": "y", "bag": bag.code, **overrides}


def _verification_div(html: str) -> str:
    found = re.search(r'<div class="bedside-verification">.*</div>', html, re.S)
    assert found, html[:2000]
    return found.group(0)


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_the_plain_form_still_redirects_to_the_recorded_verification(on_ward, login_as):
    patient, bag = on_ward("A")
    page = login_as("nurse")

    posted = page.post("/bedside", data=_form(patient, bag))

    assert posted.status_code == 302
    assert PAGE.search(posted.headers["Location"])
    shown = page.get(posted.headers["Location"]).get_data(as_text=True)
    assert re.search(r'role="status">GO<', shown)


def test_the_fragment_answers_the_decision_itself_and_names_its_page(on_ward, login_as):
    patient, bag = on_ward("A")
    page = login_as("nurse")

    answer = page.post(FRAGMENT, data=_form(patient, bag))

    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert "<html" not in html and "site-header" not in html
    assert re.search(r'role="status">GO<', html)
    assert re.search(r'<button[^>]*>Confirm as second nurse</button>', html)
    verification_id = int(PAGE.search(answer.headers["Content-Location"]).group(1))
    db.session.expire_all()
    stored = db.session.get(Verification, verification_id)
    assert (stored.decision, stored.bag_id, stored.identity_confirmed, stored.bag_intact) == (
        "GO", bag.id, True, True)
    assert answer.headers["Cache-Control"] == "no-store"


def test_a_no_go_fragment_lists_the_failed_checks_and_offers_no_confirmation(on_ward,
                                                                               login_as):
    patient, _bag = on_ward("A")
    _other, other_bag = on_ward("B")
    page = login_as("nurse")
    near_misses = _count(NearMiss)

    html = page.post(FRAGMENT, data=_form(patient, other_bag)).get_data(as_text=True)

    assert re.search(r'role="status">NO-GO<', html)
    failed = re.search(r'<ul class="failed-checks">(.*?)</ul>', html, re.S).group(1)
    assert "bag not allocated to this patient" in failed
    assert "Confirm as second nurse" not in html
    assert _count(NearMiss) == near_misses + 1


def test_the_fragment_is_the_verification_pages_own_partial(on_ward, login_as):
    """Same template, same words: what a reload shows is what was shown in place."""
    patient, bag = on_ward("B")
    page = login_as("nurse")

    answer = page.post(FRAGMENT, data=_form(patient, bag))
    reloaded = page.get(answer.headers["Content-Location"])

    assert reloaded.status_code == 200
    assert _verification_div(reloaded.get_data(as_text=True)) == _verification_div(
        answer.get_data(as_text=True))


def test_a_wristband_scan_to_the_fragment_path_answers_the_whole_page(on_ward, login_as):
    """Only a decision comes as a fragment; the page's script shows any other answer as the
    whole page it is (here: the patient to compare, focus on the weight)."""
    patient, _bag = on_ward("A")
    page = login_as("nurse")

    answer = page.post(FRAGMENT, data={"wristband": patient.code})

    html = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert "Content-Location" not in answer.headers
    assert "<html" in html and patient.initials in html
    weight = re.search(r'<input[^>]*id="weight_kg"[^>]*>', html).group(0)
    assert " autofocus" in weight


def test_no_decision_leaves_the_server_when_its_commit_fails(on_ward, login_as, monkeypatch):
    """The answer is sent after the request's one commit: a commit that fails sends no GO,
    and nothing is recorded."""
    patient, bag = on_ward("A")
    page = login_as("nurse")
    before = _count(Verification)

    def refuse(self):
        raise OperationalError("COMMIT", {}, Exception("disk I/O error"))

    monkeypatch.setattr(Session, "commit", refuse)
    with pytest.raises(OperationalError):
        page.post(FRAGMENT, data=_form(patient, bag))
    monkeypatch.undo()

    db.session.rollback()
    assert _count(Verification) == before


def test_a_go_carries_the_moment_it_lapses_the_bags_expiry(on_ward, login_as):
    patient, bag = on_ward("A")
    page = login_as("nurse")

    html = page.post(FRAGMENT, data=_form(patient, bag)).get_data(as_text=True)

    decision = re.search(r'<div class="decision go"\s+data-until="([^"]+)">', html)
    assert decision and decision.group(1) == bag.expires_at.isoformat()
    assert re.search(r'<p class="lapsed-note" role="alert" hidden>', html)


def test_a_go_whose_bag_has_expired_since_reads_lapsed_and_offers_nothing(on_ward, login_as):
    patient, bag = on_ward("B")
    page = login_as("nurse")
    location = page.post(FRAGMENT, data=_form(patient, bag)).headers["Content-Location"]
    bag.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()

    html = page.get(location).get_data(as_text=True)

    assert re.search(r'<div class="decision go lapsed"', html)
    assert re.search(r'<p class="lapsed-note" role="alert">Lapsed: ', html)
    assert re.search(r'<button[^>]*data-lapses disabled>Confirm as second nurse</button>',
                     html)


def test_a_no_go_never_lapses_into_anything(on_ward, login_as):
    patient, bag = on_ward("A")
    page = login_as("nurse")

    html = page.post(FRAGMENT, data=_form(patient, bag, bag_intact="")).get_data(as_text=True)

    assert re.search(r'role="status">NO-GO<', html)
    assert "data-until=\"" not in _verification_div(html).split('class="grid-3"')[0]
    assert "lapsed-note" not in html
