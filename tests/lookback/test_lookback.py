"""Look-back (SPEC 4.9): exactly the affected set, one QA-signed hold of the un-infused bags,
per-patient decisions, unblinded roles only."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.factories import DEMO_PASSWORD
from ucmsc_lims.bagging import service as bagging
from ucmsc_lims.core.errors import AuthenticationFailed, Conflict, DomainError, NotPermitted
from ucmsc_lims.core.esign import Signature
from ucmsc_lims.extensions import db
from ucmsc_lims.lookback import service
from ucmsc_lims.qc import service as qc


def _bag_ids(found) -> set[str]:
    return {row.bag.bag_id for row in found.bags}


def test_lookback_from_a_batch_finds_exactly_its_bags_and_patients(chain, users):
    found = service.affected(chain.batch.lot_id, by=users["qa"])

    assert _bag_ids(found) == {chain.bag_a.bag_id, chain.bag_infused.bag_id}
    assert {p.patient.subject_id for p in found.patients} == {
        chain.patient_a.subject_id, chain.patient_infused.subject_id}
    assert [lot.lot_id for lot in found.lots] == [chain.batch.lot_id]
    assert [p.patient.subject_id for p in found.infused_patients] == [
        chain.patient_infused.subject_id]


def test_lookback_from_the_donor_found_ineligible_reaches_bank_batch_and_bags(chain, users):
    donor = chain.batch.collection.donor

    found = service.affected(donor.code, by=users["pharmacist"])

    assert {lot.lot_id for lot in found.lots} == {chain.bank.lot_id, chain.batch.lot_id}
    assert _bag_ids(found) == {chain.bag_a.bag_id, chain.bag_infused.bag_id}


def test_lookback_from_the_saline_lot_finds_bags_of_both_arms(chain, users):
    found = service.affected(chain.materials.saline.code, by=users["qa"])

    assert _bag_ids(found) == {chain.bag_a.bag_id, chain.bag_infused.bag_id,
                               chain.bag_b.bag_id}
    assert found.lots == []


def test_lookback_from_a_failing_post_release_result_finds_the_batch_bags(chain, users):
    result = qc.record_result(chain.batch, test="sterility", value="growth", method=None,
                              sample_id="S-RETEST", by=users["technician"])
    assert not result.passed

    found = service.affected(f"qc_result:{result.id}", by=users["qa"])

    assert _bag_ids(found) == {chain.bag_a.bag_id, chain.bag_infused.bag_id}


def test_a_passing_result_is_no_origin_for_a_lookback(chain, users):
    passing = qc.results_of(chain.batch)[0]

    with pytest.raises(DomainError) as refused:
        service.affected(f"qc_result:{passing.id}", by=users["qa"])

    assert "met its specification" in refused.value.message


def test_a_bag_is_no_origin_for_a_lookback(chain, users):
    with pytest.raises(DomainError) as refused:
        service.affected(chain.bag_a.code, by=users["qa"])

    assert "bags and patients are what it finds" in refused.value.message


def test_hold_puts_only_the_uninfused_bags_on_hold_in_one_signed_action(chain, users):
    case = service.hold_affected(chain.batch.lot_id, by=users["qa"], username="qa",
                                 password=DEMO_PASSWORD, reason="Batch recalled: sterility")
    db.session.flush()

    assert chain.bag_a.status == "on_hold"
    assert chain.bag_infused.status in ("infusing", "infused")
    # The saline bag of the same fill day is held with it for placebo parity (SPEC 4.5).
    assert chain.bag_b.status == "on_hold"
    assert [row.bag.bag_id for row in service.parity_bags(case, by=users["qa"])] == [
        chain.bag_b.bag_id]
    assert case.bags_held == 1
    assert case.signature.meaning == "lookback_hold"
    signatures = db.session.scalars(
        sa.select(Signature).where(Signature.meaning == "lookback_hold")).all()
    assert len(signatures) == 1
    assert {(row.bag.bag_id, row.held) for row in case.bags} == {
        (chain.bag_a.bag_id, True), (chain.bag_infused.bag_id, False)}


def test_blinded_readers_of_the_held_bag_read_only_the_pharmacy_phrase(chain, users):
    service.hold_affected(chain.batch.lot_id, by=users["qa"], username="qa",
                          password=DEMO_PASSWORD, reason="Batch recalled: sterility")

    history = bagging.bag_history(chain.bag_a, blinded=True)
    reasons = [e.reason for e in history if e.action == "bag.status_changed"]
    assert reasons[-1] == "product on hold: contact pharmacy"
    assert not any("recalled" in (e.reason or "") + (e.new or "") for e in history)
    assert not any(e.action.startswith("lookback") for e in history)


def test_a_wrong_password_holds_nothing(chain, users):
    with pytest.raises(AuthenticationFailed):
        service.hold_affected(chain.batch.lot_id, by=users["qa"], username="qa",
                              password="wrong-password-000", reason="Batch recalled")

    assert chain.bag_a.status == "received_on_ward"


def test_the_pharmacist_cannot_sign_the_hold(chain, users):
    with pytest.raises(NotPermitted):
        service.hold_affected(chain.batch.lot_id, by=users["pharmacist"],
                              username="pharmacist", password=DEMO_PASSWORD, reason="Recall")


@pytest.mark.parametrize("role", ["nurse", "investigator", "inspector", "admin"])
def test_blinded_roles_never_see_the_affected_list(chain, users, role):
    with pytest.raises(NotPermitted) as refused:
        service.affected(chain.batch.lot_id, by=users[role])

    assert refused.value.message == "Look-back is for QA and the pharmacist only."


def test_the_pharmacist_records_once_whether_the_investigator_must_be_told(chain, users):
    case = service.hold_affected(chain.batch.lot_id, by=users["qa"], username="qa",
                                 password=DEMO_PASSWORD, reason="Batch recalled: sterility")

    decision = service.decide(case, chain.patient_infused.subject_id, by=users["pharmacist"],
                              tell_investigator=True, reason="Infused with the recalled batch")

    assert decision.tell_investigator
    [item] = service.infused_patients(case, by=users["qa"])
    assert item.decision is decision
    with pytest.raises(Conflict):
        service.decide(case, chain.patient_infused.subject_id, by=users["pharmacist"],
                       tell_investigator=False, reason="Second thoughts")
    with pytest.raises(DomainError) as refused:
        service.decide(case, chain.patient_a.subject_id, by=users["pharmacist"],
                       tell_investigator=True, reason="Not infused yet")
    assert "received no bag" in refused.value.message


def test_qa_runs_the_lookback_from_the_page_and_lands_on_the_case(chain, users, login_as):
    client = login_as("qa")
    preview = client.get(f"/lookback/?q={chain.batch.lot_id}").get_data(as_text=True)
    assert chain.bag_a.bag_id in preview and "will be put on hold" in preview

    response = client.post("/lookback/hold", data={
        "q": chain.batch.lot_id, "reason": "Batch recalled: sterility", "username": "qa",
        "password": DEMO_PASSWORD})

    assert response.status_code == 302
    case_page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "LB-0001" in case_page and chain.patient_infused.subject_id in case_page
    # The saline bag held for parity is listed for QA (it is no affected bag).
    assert "Saline bags held for placebo parity" in case_page
    assert chain.bag_b.bag_id in case_page


def test_the_lookback_page_is_closed_to_a_nurse(chain, login_as):
    response = login_as("nurse").get(f"/lookback/?q={chain.batch.lot_id}")

    assert response.status_code == 403
    assert chain.bag_a.bag_id not in response.get_data(as_text=True)


def test_the_pharmacist_records_the_decision_from_the_case_page(chain, users, login_as):
    case = service.hold_affected(chain.batch.lot_id, by=users["qa"], username="qa",
                                 password=DEMO_PASSWORD, reason="Batch recalled: sterility")
    db.session.commit()
    client = login_as("pharmacist")

    response = client.post(
        f"/lookback/{case.number}/patients/{chain.patient_infused.subject_id}/decision",
        data={"tell": "yes", "reason": "Infused with the recalled batch"})

    assert response.status_code == 302
    page = client.get(f"/lookback/{case.number}").get_data(as_text=True)
    assert "Investigator to be told" in page
    assert "Emergency unblinding" in page or "emergency unblinding" in page
