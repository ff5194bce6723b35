"""SPEC 4.5, 4.8, 5: a cell bag held for its content (its batch held or recalled, or a look-back)
and the saline bag held with it by placebo parity read the same on every blinded GET: status,
bag page and API, bedside answer, near-miss, audit trail. Which hold is real is for unblinded
eyes only."""

from __future__ import annotations

from collections import Counter

import pytest
import sqlalchemy as sa

from ucmsc_lims.audit import service as audit_trail
from ucmsc_lims.bedside.models import NearMiss
from ucmsc_lims.core.audit import AuditEntry
from ucmsc_lims.extensions import db

from .checks import report, run_checks, walk
from .compare import mask
from .pair import HOLD_CAUSES, build_held_pair


@pytest.fixture(params=HOLD_CAUSES)
def held_pair(request, db, users):
    built = build_held_pair(users, request.param)
    db.session.commit()
    return built


def test_both_bags_are_on_hold_after_the_cell_bags_batch_is_held(held_pair):
    assert [r.bag.status for r in held_pair.records] == ["on_hold", "on_hold"]


def test_no_blinded_get_tells_the_held_cell_bag_from_its_parity_twin(app, held_pair,
                                                                     signed_in):
    fetched = walk(app, held_pair, signed_in)
    reached = {(f.request.role, f.request.endpoint) for f in fetched
               if f.request.kind == "pair" and f.a.status_code == 200}
    for expected in [("nurse", "bagging.bag_page"), ("nurse", "api_bagging.get_bag"),
                     ("nurse", "bedside.verification"), ("nurse", "custody.chain"),
                     ("investigator", "trial.patient"), ("inspector", "audit.trail"),
                     ("admin", "api_trace.get_trace")]:
        assert expected in reached, f"the walk did not read {expected} with a 200"

    found = run_checks(fetched, held_pair)

    assert found == {}, report(found)


def test_the_bedside_says_the_same_no_go_and_keeps_the_same_near_miss_for_both(held_pair):
    failed = [[(c["check"], c["message"]) for c in r.verification.checks if not c["ok"]]
              for r in held_pair.records]
    misses = [db.session.scalars(sa.select(NearMiss.failed).where(
        NearMiss.verification_id == r.verification.id)).all() for r in held_pair.records]

    assert failed[0] == failed[1] == [
        ("released_not_on_hold", "product on hold: contact pharmacy")]
    assert misses[0] == misses[1] and len(misses[0]) == 1


def _bag_entries(record, *, blinded: bool) -> list[AuditEntry]:
    return audit_trail.search(
        audit_trail.AuditFilter(entity_type="bag", entity_id=record.bag.bag_id),
        blinded=blinded, limit=1000)


def test_the_blinded_trail_has_the_same_actions_values_and_actors_per_bag(held_pair):
    def read(record):
        ids = record.identifiers()
        return Counter(mask(f"{e.action} {e.username} {e.old} {e.new} {e.reason}", ids)
                       for e in _bag_entries(record, blinded=True))

    held = [read(r) for r in held_pair.records]

    assert held[0] == held[1]
    assert ('bag.status_changed qa {"status":"received_on_ward"} {"status":"on_hold"} '
            "product on hold: contact pharmacy") in held[0]


def test_the_parity_marker_is_only_in_entries_blinded_readers_never_read(held_pair):
    hidden = [[e for e in _bag_entries(r, blinded=False) if not e.blinded_visible]
              for r in held_pair.records]
    blinded_text = " ".join(f"{e.action} {e.new} {e.reason}"
                            for r in held_pair.records for e in _bag_entries(r, blinded=True))

    assert len(hidden[0]) == len(hidden[1])
    assert any("Parity hold" in (e.reason or "") for e in hidden[1])
    assert not any("Parity hold" in (e.reason or "") for e in hidden[0])
    assert "arity" not in blinded_text and held_pair.batch.lot_id not in blinded_text


@pytest.mark.parametrize("username", ["nurse", "investigator", "inspector"])
def test_the_product_holds_page_is_closed_to_blinded_readers(held_pair, signed_in, username):
    page, _ = signed_in(username)

    response = page.get("/bagging/holds")

    assert response.status_code == 403
    assert held_pair.b.bag.bag_id not in response.get_data(as_text=True)
