"""Both lot state machines (SPEC 4.2): every allowed transition passes, every other is refused
with a message naming the current state and the allowed ones."""

from __future__ import annotations

import pytest

from tests.factories import DEMO_PASSWORD
from tests.factories.manufacturing import make_bank, make_batch
from ucmsc_lims.core.errors import InvalidTransition, NotPermitted
from ucmsc_lims.manufacturing import service as manufacturing
from ucmsc_lims.manufacturing.states import BANK_MACHINE, BATCH_MACHINE
from ucmsc_lims.qc import release

PRE_RELEASE_EXITS = {"on_hold", "destroyed"}
AFTER_RELEASE = {"on_hold", "recalled", "expired"}


def _expected(flow: list[str]) -> dict[str, set[str]]:
    """The SPEC 4.2 table written out by hand."""
    table = {}
    for here, after in zip(flow, [*flow[1:], "released"], strict=True):
        table[here] = {after} | PRE_RELEASE_EXITS
    table["qc_pending"] = {"released", "rejected"} | PRE_RELEASE_EXITS
    table["released"] = set(AFTER_RELEASE)
    table["on_hold"] = set(flow) | {"released", "destroyed", "rejected", "recalled", "expired"}
    table["rejected"] = {"destroyed"}
    table["recalled"] = {"destroyed"}
    table["expired"] = {"destroyed"}
    table["destroyed"] = set()
    return table


BANK = _expected(["received", "processing", "expanding", "banked", "qc_pending"])
BATCH = _expected(["thawed", "expanding", "harvested", "qc_pending"])
CASES = [(BANK_MACHINE, BANK), (BATCH_MACHINE, BATCH)]


def _pairs(table):
    states = sorted(set(table) | {s for targets in table.values() for s in targets})
    return [(a, b, b in table.get(a, set())) for a in states for b in states]


@pytest.mark.parametrize(("machine", "table"), CASES, ids=["cell_bank", "product_batch"])
def test_every_transition_of_the_lot_machines_is_allowed_or_refused_as_specified(machine, table):
    for source, target, allowed in _pairs(table):
        if allowed:
            machine.check(source, target)
        else:
            with pytest.raises(InvalidTransition) as refused:
                machine.check(source, target)
            assert f"in state '{source}' cannot move to '{target}'" in refused.value.message
            assert "Allowed next states:" in refused.value.message


def test_a_refused_transition_names_the_allowed_states(db, users):
    lot = make_bank(users, state="received")
    with pytest.raises(InvalidTransition) as refused:
        manufacturing.transition(lot, "banked", by=users["technician"])
    assert refused.value.message == (
        "A cell bank lot in state 'received' cannot move to 'banked'. "
        "Allowed next states: destroyed, on_hold, processing.")
    assert lot.state == "received"


def test_a_held_lot_goes_back_only_to_the_state_it_was_held_from(db, users):
    lot = make_bank(users, state="processing")
    release.hold_lot(lot, by=users["qa"], username="qa", password=DEMO_PASSWORD,
                     reason="incubator alarm")
    assert (lot.state, lot.held_from) == ("on_hold", "processing")
    with pytest.raises(InvalidTransition) as refused:
        manufacturing.transition(lot, "banked", by=users["qa"], reason="x")
    assert "was 'processing', not 'banked'" in refused.value.message
    release.end_hold(lot, by=users["qa"], username="qa", password=DEMO_PASSWORD,
                     reason="alarm explained")
    assert lot.state == "processing"


def test_only_qa_holds_a_lot(db, users):
    lot = make_bank(users, state="received")
    with pytest.raises(NotPermitted) as refused:
        manufacturing.transition(lot, "on_hold", by=users["technician"], reason="x")
    assert "Only QA" in refused.value.message


def test_destruction_needs_a_reason(db, users):
    lot = make_bank(users, state="received")
    with pytest.raises(Exception) as refused:
        manufacturing.transition(lot, "destroyed", by=users["technician"])
    assert "Give the reason the lot is destroyed" in str(refused.value)
    manufacturing.transition(lot, "destroyed", by=users["technician"], reason="cord leaked")
    assert lot.state == "destroyed"


def test_a_released_batch_is_held_recalled_and_cannot_be_released_again(db, users):
    batch = make_batch(users)
    release.hold_lot(batch, by=users["qa"], username="qa", password=DEMO_PASSWORD,
                     reason="sterility alert")
    release.end_hold(batch, by=users["qa"], username="qa", password=DEMO_PASSWORD,
                     reason="alert cleared")
    assert batch.state == "released"
    release.recall_lot(batch, by=users["qa"], username="qa", password=DEMO_PASSWORD,
                       reason="late sterility failure")
    assert batch.state == "recalled"
    with pytest.raises(InvalidTransition):
        manufacturing.transition(batch, "released", by=users["qa"])


def test_a_released_batch_expires_at_harvest_plus_shelf_life(db, users):
    batch = make_batch(users)
    expired = manufacturing.expire_due_lots(batch.expires_at)
    assert batch in expired
    assert batch.state == "expired"
    assert manufacturing.usable_batches(batch.expires_at) == []


def test_a_hold_ends_only_with_qas_signature(db, users):
    from ucmsc_lims.core.errors import AuthenticationFailed

    batch = make_batch(users)
    release.hold_lot(batch, by=users["qa"], username="qa", password=DEMO_PASSWORD,
                     reason="sterility alert")
    with pytest.raises(AuthenticationFailed):
        release.end_hold(batch, by=users["qa"], username="qa", password="not-the-password",
                         reason="alert cleared")
    assert batch.state == "on_hold"
    release.end_hold(batch, by=users["qa"], username="qa", password=DEMO_PASSWORD,
                     reason="alert cleared")
    from ucmsc_lims.core.esign import Signature
    from ucmsc_lims.extensions import db as database

    transition = manufacturing.transitions_of(batch)[-1]
    signature = database.session.get(Signature, transition.signature_id)
    assert (transition.to_state, signature.meaning) == ("released", "lot_hold_disposition")


def test_qa_holds_and_ends_the_hold_of_a_lot_on_its_page_by_signature(db, users, login_as):
    lot = make_bank(users, state="processing")
    qa = login_as("qa")
    sign = {"sig-username": "qa", "sig-password": DEMO_PASSWORD, "sig-reason": "alarm"}
    refused = qa.post(f"/qc/lots/{lot.lot_id}/hold", data={**sign, "sig-password": "wrong!"})
    assert refused.status_code == 401 and lot.state == "processing"
    held = qa.post(f"/qc/lots/{lot.lot_id}/hold", data=sign, follow_redirects=True)
    assert "Lot on hold." in held.get_data(as_text=True)
    assert (lot.state, lot.held_from) == ("on_hold", "processing")
    ended = qa.post(f"/qc/lots/{lot.lot_id}/end-hold", data=sign, follow_redirects=True)
    assert "Hold ended." in ended.get_data(as_text=True) and lot.state == "processing"
