"""QC results against the specification, deviations, and lot release (SPEC 2, 4.3)."""

from __future__ import annotations

import pytest

from tests.factories import DEMO_PASSWORD, make_user
from tests.factories.manufacturing import make_bank, make_batch, pass_all_qc
from ucmsc_lims.core.errors import DomainError, NotPermitted
from ucmsc_lims.qc import release
from ucmsc_lims.qc import service as qc


def test_the_default_specifications_are_seeded_with_the_spec_criteria(db):
    product = qc.spec_in_force("product_batch")
    criteria = {i.test: i.criterion for i in product.items}
    assert criteria["viability"] == ">= 70 %"
    assert criteria["cd105"] == ">= 95 %"
    assert criteria["hla_dr"] == "<= 2 %"
    assert criteria["sterility"] == "no growth"
    assert criteria["endotoxin"] == "< 0.5 EU/mL"
    bank = qc.spec_in_force("cell_bank")
    assert "vial_count" in {i.test for i in bank.items}


def test_an_out_of_specification_result_opens_a_deviation_and_blocks_release(db, users):
    lot = make_bank(users, state="qc_pending")
    pass_all_qc(lot, users, skip=("cd45",))
    result = qc.record_result(lot, test="cd45", value=3.1, method=None, sample_id="S-45",
                              by=users["technician"])
    qc.review_result(result, by=users["qa"])
    assert result.passed is False
    [deviation] = qc.deviations_of(lot)
    assert deviation.state == "open"
    assert deviation.title == "CD45 out of specification: 3.1 % (specification <= 2 %)"
    blockers = release.release_blockers(lot, by=users["qa"])
    assert blockers == [f"CD45 failed (3.1 %, specification <= 2 %): deviation "
                        f"{deviation.number} is open."]
    with pytest.raises(DomainError) as refused:
        release.release_lot(lot, by=users["qa"], username="qa", password=DEMO_PASSWORD)
    assert "cannot be released" in refused.value.message
    assert lot.state == "qc_pending"


def test_a_closed_deviation_with_a_use_disposition_lets_the_lot_be_released(db, users):
    lot = make_bank(users, state="qc_pending")
    pass_all_qc(lot, users, skip=("cd45",))
    qc.review_result(qc.record_result(lot, test="cd45", value=2.4, method=None,
                                      sample_id="S-45", by=users["technician"]), by=users["qa"])
    [deviation] = qc.deviations_of(lot)
    with pytest.raises(DomainError, match="Record the investigation"):
        qc.close_deviation(deviation, disposition="use", by=users["qa"], username="qa",
                           password=DEMO_PASSWORD)
    qc.record_investigation(deviation, text="Gating error; re-analysis 1.1 %.",
                            by=users["technician"])
    qc.close_deviation(deviation, disposition="use", by=users["qa"], username="qa",
                       password=DEMO_PASSWORD)
    release.release_lot(lot, by=users["qa"], username="qa", password=DEMO_PASSWORD)
    assert lot.state == "released"


def test_release_is_refused_for_the_manufacturing_operator_and_allowed_for_another_qa(db, users):
    operator = make_user("techqa", {"technician", "qa"}, full_name="Tess Operator")
    users_as_operator = {**users, "technician": operator}
    lot = make_bank(users_as_operator, state="qc_pending")
    pass_all_qc(lot, users)
    with pytest.raises(NotPermitted) as refused:
        release.release_lot(lot, by=operator, username="techqa", password=DEMO_PASSWORD)
    assert refused.value.message == (
        f"Tess Operator recorded a manufacturing step of lot {lot.lot_id}: another QA person "
        "must release it.")
    assert lot.state == "qc_pending"
    release.release_lot(lot, by=users["qa"], username="qa", password=DEMO_PASSWORD)
    assert lot.state == "released"


def test_an_ineligible_donor_blocks_release(db, users):
    lot = make_bank(users, state="qc_pending", eligibility="ineligible")
    pass_all_qc(lot, users)
    with pytest.raises(DomainError) as refused:
        release.release_lot(lot, by=users["qa"], username="qa", password=DEMO_PASSWORD)
    assert f"Donor {lot.collection.donor.code} is not eligible (ineligible)." \
        in refused.value.message


def test_a_missing_result_blocks_release_and_names_the_test(db, users):
    lot = make_bank(users, state="qc_pending")
    pass_all_qc(lot, users, skip=("mycoplasma",))
    assert release.release_blockers(lot) == ["Mycoplasma: no result."]


def test_conditional_release_names_pending_tests_and_a_later_failure_alerts_qa(db, users):
    batch = make_batch(users, skip_qc=("sterility",))
    assert batch.state == "released"
    assert batch.conditional_tests == ["sterility"]
    assert release.conditional_open(batch) == ["sterility"]
    qc.record_result(batch, test="sterility", value="growth", method=None, sample_id="S-ST",
                     by=users["technician"])
    [alert] = qc.alerts()
    assert alert.after_release and alert.lot_id == batch.id
    assert alert.title.startswith("Sterility (14-day culture) out of specification: growth")


def test_only_a_may_be_pending_test_can_be_left_for_a_conditional_release(db, users):
    batch = make_batch(users, state="qc_pending")
    pass_all_qc(batch, users, skip=("mycoplasma",))
    blockers = release.release_blockers(batch, pending=["mycoplasma"])
    assert "'mycoplasma' cannot be left pending: only sterility may be." in blockers


def test_a_result_is_reviewed_by_someone_other_than_who_recorded_it(db, users):
    lot = make_bank(users, state="qc_pending")
    result = qc.record_result(lot, test="viability", value=91, method=None, sample_id="S1",
                              by=users["technician"])
    with pytest.raises(NotPermitted):
        qc.review_result(result, by=users["technician"])
    with pytest.raises(DomainError, match="needs a number in %"):
        qc.record_result(lot, test="viability", value="high", method=None, sample_id="S2",
                         by=users["technician"])
