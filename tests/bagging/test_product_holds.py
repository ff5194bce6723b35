"""Product holds and placebo parity (SPEC 4.5, 4.7, 4.9): a batch hold or recall holds its cell
bags and as many saline bags of their fill day; the end of the hold, or the pharmacist's signed
disposition once it has ended, lets them go; the register is for unblinded roles only."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from tests.factories import DEMO_PASSWORD
from tests.factories.bagging import fill_materials
from tests.factories.custody import bag_for_ward, demo_places
from tests.factories.manufacturing import make_batch
from tests.factories.trace import infuse
from ucmsc_lims.bagging import holds
from ucmsc_lims.bagging.models import ProductHoldBag
from ucmsc_lims.core.errors import AuthenticationFailed, Conflict, NotPermitted
from ucmsc_lims.core.esign import Signature
from ucmsc_lims.extensions import db
from ucmsc_lims.qc import release

REASON = "Sterility result under investigation"


@pytest.fixture
def day(db, users):
    """Today's batch, fill materials and places; `day.bag(arm, ...)` adds a bag."""
    made = SimpleNamespace(users=users, batch=make_batch(users), materials=fill_materials(users),
                           places=demo_places(users))

    def bag(arm: str, *, batch=None, **where):
        return bag_for_ward(users, arm, batch=batch or made.batch, materials=made.materials,
                            places=made.places, **where)[1]

    made.bag = bag
    return made


def _hold(users, batch):
    release.hold_lot(batch, by=users["qa"], username="qa", password=DEMO_PASSWORD,
                     reason=REASON)
    db.session.flush()


def _recall(users, batch):
    release.recall_lot(batch, by=users["qa"], username="qa", password=DEMO_PASSWORD,
                       reason=REASON)
    db.session.flush()


def _rows(bag) -> list[ProductHoldBag]:
    return list(db.session.scalars(sa.select(ProductHoldBag).where(
        ProductHoldBag.bag_id == bag.id).order_by(ProductHoldBag.id)))


def _dispose(users, bag, decision: str, *, password: str = DEMO_PASSWORD):
    return holds.dispose(bag, decision=decision, by=users["pharmacist"], password=password,
                         reason="Batch hold over")


def test_a_batch_hold_holds_its_cell_bags_and_as_many_saline_bags_of_their_day(day, users):
    cells = [day.bag("A"), day.bag("A")]
    salines = [day.bag("B") for _ in range(3)]
    infusing = day.bag("B")
    infuse(users, infusing.patient, infusing)

    _hold(users, day.batch)

    assert [b.status for b in cells] == ["on_hold", "on_hold"]
    parity = [b for b in salines if b.status == "on_hold"]
    assert len(parity) == 2
    assert [b.status for b in salines if b not in parity] == ["received_on_ward"]
    assert infusing.status == "infusing"
    assert {(r.parity, r.held_from) for b in cells + parity for r in _rows(b)} == {
        (False, "received_on_ward"), (True, "received_on_ward")}


def test_parity_takes_saline_bags_on_the_wards_of_the_cell_bags_first(day, users):
    day.bag("A")
    elsewhere = [day.bag("B", ward="other_ward", receive=False) for _ in range(4)]
    same_ward = day.bag("B", receive=False)

    _hold(users, day.batch)

    assert same_ward.status == "on_hold"
    assert [b.status for b in elsewhere] == ["in_transit"] * 4


def test_a_saline_bag_is_never_a_parity_bag_twice_at_once(day, users):
    other_batch = make_batch(users)
    day.bag("A")
    second_cell = day.bag("A", batch=other_batch)
    saline = day.bag("B")
    _hold(users, day.batch)

    _hold(users, other_batch)

    assert second_cell.status == "on_hold"
    assert [(r.parity, r.is_open) for r in _rows(saline)] == [(True, True)]
    nested = db.session.begin_nested()
    with pytest.raises(IntegrityError):
        db.session.add(ProductHoldBag(hold_id=_rows(second_cell)[0].hold_id, bag_id=saline.id,
                                      parity=True, held_from="received_on_ward"))
        db.session.flush()
    nested.rollback()


def test_the_end_of_the_lot_hold_brings_its_bags_and_their_parity_bags_back_together(
        day, users):
    cell, saline = day.bag("A"), day.bag("B")
    _hold(users, day.batch)

    release.end_hold(day.batch, by=users["qa"], username="qa", password=DEMO_PASSWORD,
                     reason="Sterility retest passed")
    db.session.flush()

    assert (cell.status, saline.status) == ("received_on_ward", "received_on_ward")
    [cell_row], [saline_row] = _rows(cell), _rows(saline)
    assert cell_row.signature_id == saline_row.signature_id is not None
    assert db.session.get(Signature, cell_row.signature_id).meaning == "bag_hold_disposition"
    assert holds.open_holds(by=users["pharmacist"]) == []


def test_a_parity_bag_is_refused_its_disposition_while_the_recalled_bags_are_held(day, users):
    day.bag("A")
    saline = day.bag("B")
    _recall(users, day.batch)

    with pytest.raises(Conflict) as refused:
        _dispose(users, saline, "release")

    assert "still stands: its parity bags are dispositioned once it has ended" in (
        refused.value.message)
    assert saline.status == "on_hold"
    [view] = holds.open_holds(by=users["pharmacist"])
    assert view.in_force and view.waiting == []


def test_the_pharmacists_disposition_releases_the_parity_bag_once_the_cell_bag_is_destroyed(
        day, users):
    cell, saline = day.bag("A"), day.bag("B")
    _recall(users, day.batch)
    _dispose(users, cell, "destroy")
    [view] = holds.open_holds(by=users["pharmacist"])
    assert [held.bag for held in view.waiting] == [saline]

    _dispose(users, saline, "release")

    assert (cell.status, saline.status) == ("destroyed", "received_on_ward")
    assert holds.open_holds(by=users["pharmacist"]) == []
    assert [(r.left_to, r.is_open) for r in _rows(saline)] == [("received_on_ward", False)]


def test_a_bag_held_for_its_content_is_never_released_by_the_pharmacist(day, users):
    cell = day.bag("A")
    day.bag("B")
    _recall(users, day.batch)

    with pytest.raises(NotPermitted) as refused:
        _dispose(users, cell, "release")

    assert "held for its content" in refused.value.message
    assert cell.status == "on_hold"


def test_a_wrong_password_dispositions_nothing(day, users):
    cell = day.bag("A")
    day.bag("B")
    _recall(users, day.batch)

    with pytest.raises(AuthenticationFailed):
        _dispose(users, cell, "destroy", password="not-the-password")

    assert cell.status == "on_hold"


@pytest.mark.parametrize("role", ["qa", "nurse", "investigator", "inspector"])
def test_only_the_pharmacist_signs_a_hold_disposition(day, users, role):
    cell = day.bag("A")
    _recall(users, day.batch)

    with pytest.raises(NotPermitted):
        holds.dispose(cell, decision="destroy", by=users[role], password=DEMO_PASSWORD,
                      reason="Recalled")

    assert cell.status == "on_hold"


@pytest.mark.parametrize("role", ["nurse", "investigator", "inspector", "admin"])
def test_blinded_roles_never_read_the_product_holds(day, users, role):
    day.bag("A")
    day.bag("B")
    _hold(users, day.batch)

    with pytest.raises(NotPermitted) as refused:
        holds.open_holds(by=users[role])

    assert refused.value.message == "Product holds are for QA and the pharmacist only."


def test_the_pharmacist_dispositions_a_waiting_parity_bag_on_the_holds_page(day, users,
                                                                           login_as):
    cell, saline = day.bag("A"), day.bag("B")
    _recall(users, day.batch)
    _dispose(users, cell, "destroy")
    db.session.commit()
    client = login_as("pharmacist")
    page = client.get("/bagging/holds").get_data(as_text=True)
    assert "Parity bags waiting for disposition: 1" in page and saline.bag_id in page
    form = {f"{saline.bag_id}-decision": "release", f"{saline.bag_id}-reason": "Hold over",
            f"{saline.bag_id}-password": "not-the-password"}

    refused = client.post(f"/bagging/holds/bags/{saline.bag_id}/disposition", data=form)
    done = client.post(f"/bagging/holds/bags/{saline.bag_id}/disposition",
                       data={**form, f"{saline.bag_id}-password": DEMO_PASSWORD},
                       follow_redirects=True)

    assert refused.status_code == 401
    assert done.status_code == 200
    assert f"Bag {saline.bag_id} released from its hold." in done.get_data(as_text=True)
    assert saline.status == "received_on_ward"


def test_qa_reads_the_holds_page_without_a_disposition_form(day, users, login_as):
    cell, saline = day.bag("A"), day.bag("B")
    _hold(users, day.batch)
    db.session.commit()

    page = login_as("qa").get("/bagging/holds")

    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert cell.bag_id in text and saline.bag_id in text
    assert "in force: parity bags stay held" in text
    assert "Sign: bag hold disposition" not in text
