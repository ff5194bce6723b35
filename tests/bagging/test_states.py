"""The bag state table (SPEC 4.7): every allowed move by its roles only, everything else
refused, expiry computed when read."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.factories import DEMO_PASSWORD
from tests.factories.bagging import filled_bag, patient_in_arm
from ucmsc_lims.bagging.service import (
    BLINDED_HOLD_REASON,
    bag_history,
    effective_status,
    transition_bag,
)
from ucmsc_lims.bagging.states import (
    BAG_MACHINE,
    BAG_RULES,
    BAG_STATES,
    BEFORE_INFUSING,
    ON_HOLD,
    PENDING_FILL,
    VOID,
)
from ucmsc_lims.core import esign
from ucmsc_lims.core.db import utcnow
from ucmsc_lims.core.errors import DomainError, InvalidTransition, NotPermitted
from ucmsc_lims.extensions import db

ALL_STATES = (PENDING_FILL, *BAG_STATES, VOID)


@pytest.fixture
def bag(users):
    return filled_bag(users, patient_in_arm(users, "B"))


def _place(bag, state: str, *, held_from: str | None = None) -> None:
    """Put the bag in a state for one attempt (inside a savepoint the test rolls back)."""
    bag.status = state
    bag.held_from = held_from
    bag.fill_verified_at = utcnow()
    bag.expires_at = utcnow() + timedelta(hours=6)
    db.session.flush()


def _signature(user, meaning: str, bag):
    return esign.sign(db.session, username=user.username, password=DEMO_PASSWORD,
                      meaning=meaning, entity=("bag", bag.bag_id), content={"bag": bag.bag_id})


def test_the_table_covers_the_spec_moves_and_no_other(bag):
    moves = {pair for pair in BAG_RULES}
    table = {(src, dst) for src, dsts in BAG_MACHINE.transitions.items() for dst in dsts}

    assert moves == table
    assert ("infusing", "on_hold") not in moves
    assert ("infusing", "returned") not in moves
    assert ("returned", "released_for_issue") not in moves


def test_each_move_of_the_table_is_made_by_its_roles_and_refused_to_every_other(users, bag):
    signatures = {
        (name, rule.meaning): _signature(user, rule.meaning, bag)
        for rule in {r for r in BAG_RULES.values() if r.meaning}
        for name, user in users.items() if user.role_names & rule.roles
    }
    moved, expected = {}, {}
    for (src, dst), rule in BAG_RULES.items():
        for name, user in users.items():
            nested = db.session.begin_nested()
            _place(bag, src, held_from=dst if src == ON_HOLD and dst in BEFORE_INFUSING
                   else "filled")
            try:
                transition_bag(bag, dst, by=user, reason="test reason",
                               signature=signatures.get((name, rule.meaning)))
                moved[(src, dst, name)] = True
            except NotPermitted as refused:
                assert refused.message.startswith("Only "), refused.message
                moved[(src, dst, name)] = False
            nested.rollback()
            expected[(src, dst, name)] = bool(user.role_names & rule.roles)
    assert moved == expected


def test_every_move_outside_the_table_is_refused_naming_the_allowed_next_states(users, bag):
    refused = 0
    for src in ALL_STATES:
        for dst in ALL_STATES:
            if dst in BAG_MACHINE.allowed_from(src):
                continue
            nested = db.session.begin_nested()
            _place(bag, src, held_from="filled")
            with pytest.raises(InvalidTransition, match="Allowed next states"):
                transition_bag(bag, dst, by=users["pharmacist"], reason="r")
            nested.rollback()
            refused += 1
    assert refused > 100


def test_a_nurse_may_not_release_a_bag_for_issue(users, bag):
    with pytest.raises(NotPermitted, match="Only a pharmacist may move a bag from 'filled' to "
                                           "'released_for_issue'"):
        transition_bag(bag, "released_for_issue", by=users["nurse"])


def test_a_held_bag_goes_back_only_to_the_state_it_left(users, bag):
    _place(bag, "in_transit")
    transition_bag(bag, "on_hold", by=users["qa"], reason="look-back")
    release = _signature(users["qa"], "bag_hold_disposition", bag)

    with pytest.raises(InvalidTransition, match="was 'in_transit', not 'filled'"):
        transition_bag(bag, "filled", by=users["qa"], reason="cleared", signature=release)
    transition_bag(bag, "in_transit", by=users["qa"], reason="cleared", signature=release)

    assert (bag.status, bag.held_from) == ("in_transit", None)


def test_a_signed_move_needs_a_signature_of_its_own_meaning(users, bag):
    bag.fill_verified_at = utcnow()
    with pytest.raises(NotPermitted, match="needs an electronic signature"):
        transition_bag(bag, "released_for_issue", by=users["pharmacist"])
    wrong = _signature(users["pharmacist"], "fill_verification", bag)
    with pytest.raises(NotPermitted, match="does not match this move"):
        transition_bag(bag, "released_for_issue", by=users["pharmacist"], signature=wrong)


def test_a_return_a_hold_and_a_destruction_each_need_a_reason(users, bag):
    for state, user in (("returned", "nurse"), ("on_hold", "qa")):
        with pytest.raises(DomainError, match="Give the reason"):
            transition_bag(bag, state, by=users[user], reason="  ")
    transition_bag(bag, "returned", by=users["nurse"], reason="patient discharged")
    with pytest.raises(DomainError, match="Give the reason the bag moves to 'destroyed'"):
        transition_bag(bag, "destroyed", by=users["pharmacist"])


def test_a_blinded_reader_sees_the_blinded_hold_reason_never_the_true_one(users, bag):
    transition_bag(bag, "on_hold", by=users["qa"], reason="lot recalled: sterility failure")

    blinded = [e.reason for e in bag_history(bag, blinded=True) if e.reason]
    unblinded = [e.reason for e in bag_history(bag, blinded=False) if e.reason]

    assert BLINDED_HOLD_REASON in blinded
    assert not any("recalled" in reason for reason in blinded)
    assert "lot recalled: sterility failure" in unblinded


def test_a_bag_past_its_expiry_reads_as_expired_without_any_write(bag):
    expiry = bag.expires_at

    assert effective_status(bag, expiry - timedelta(seconds=1)) == "filled"
    assert effective_status(bag, expiry) == "expired"
    assert bag.status == "filled"


@pytest.mark.parametrize("state", ["infusing", "infused", "stopped", "destroyed", "returned"])
def test_a_bag_infusing_or_off_the_path_is_never_expired_by_the_clock(bag, state):
    bag.status = state

    assert effective_status(bag, bag.expires_at + timedelta(days=1)) == state


def test_an_expired_bag_cannot_move_forward_but_can_be_held(users, bag):
    bag.fill_verified_at = utcnow()
    bag.expires_at = utcnow() - timedelta(minutes=1)
    release = _signature(users["pharmacist"], "bag_release", bag)

    with pytest.raises(DomainError, match=r"expired at .*: it cannot move to "
                                          r"'released_for_issue'"):
        transition_bag(bag, "released_for_issue", by=users["pharmacist"], signature=release)
    transition_bag(bag, "on_hold", by=users["pharmacist"], reason="expired before issue")

    assert bag.status == "on_hold"
