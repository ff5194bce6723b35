"""Pages offer no action the service would refuse for the lot's state: the lot and release pages
read the same rule (`actions.allowed_actions`, `release.release_refusals`) the services enforce."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.factories import DEMO_PASSWORD
from tests.factories.manufacturing import (
    INCUBATOR,
    make_bank,
    make_batch,
    pass_all_qc,
    place,
    run_passages,
)
from ucmsc_lims.core.clock import site_zone
from ucmsc_lims.core.errors import DomainError
from ucmsc_lims.manufacturing import actions, plausibility, steps
from ucmsc_lims.qc import release
from ucmsc_lims.qc import service as qc


def _form_posting_to(page: str, path: str) -> bool:
    return f'action="{path}"' in page


def _local(value) -> str:
    return value.astimezone(site_zone()).strftime("%Y-%m-%dT%H:%M")


def test_a_bank_at_its_banking_passage_offers_cryopreservation_and_no_next_passage(
        db, users, login_as):
    bank = make_bank(users, state="expanding")
    run_passages(bank, users, upto=2, start_days_ago=15)

    page = login_as("technician").get(f"/lots/{bank.lot_id}").get_data(as_text=True)

    assert not _form_posting_to(page, f"/lots/{bank.lot_id}/passages")
    assert "Passage P3" not in page
    assert _form_posting_to(page, f"/lots/{bank.lot_id}/bank")
    # The rule the page read is the one the service enforces.
    with pytest.raises(DomainError) as refused:
        steps.record_passage(bank, seeded_at=bank.passages[-1].harvested_at,
                             harvested_at=bank.passages[-1].harvested_at + timedelta(hours=1),
                             vessels="T175", cells_seeded=1e6, cells_harvested=2e6,
                             viability_pct=90, confluence_pct=80, incubator=INCUBATOR,
                             by=users["technician"])
    assert refused.value.message == actions.refusal(bank, "passage") == (
        "P3 is refused: the banking passage is P2.")


def test_a_bank_waiting_for_a_verification_says_why_no_step_is_offered(db, users, login_as):
    bank = make_bank(users, state="expanding")
    run_passages(bank, users, upto=2, start_days_ago=15, verify=False)

    page = login_as("technician").get(f"/lots/{bank.lot_id}").get_data(as_text=True)

    assert not _form_posting_to(page, f"/lots/{bank.lot_id}/bank")
    assert not _form_posting_to(page, f"/lots/{bank.lot_id}/passages")
    assert (f"Passage P1, P2 of lot {bank.lot_id} is not verified by a second person yet."
            in page)


def test_a_released_lot_offers_no_release_rejection_or_step(db, users, login_as):
    batch = make_batch(users)
    qa = login_as("qa")

    release_page = qa.get(f"/qc/release/{batch.lot_id}").get_data(as_text=True)
    lot_page = qa.get(f"/lots/{batch.lot_id}").get_data(as_text=True)

    assert not _form_posting_to(release_page, f"/qc/release/{batch.lot_id}")
    assert not _form_posting_to(release_page, f"/qc/release/{batch.lot_id}/reject")
    assert f"Nothing to sign here now: lot {batch.lot_id} is released." in release_page
    assert "Release or reject" not in lot_page
    assert _form_posting_to(lot_page, f"/qc/lots/{batch.lot_id}/hold")
    refused = qa.post(f"/qc/release/{batch.lot_id}", data={
        "sig-username": "qa", "sig-password": DEMO_PASSWORD})
    assert f"Lot {batch.lot_id} is released: only a lot pending QC is released." in \
        refused.get_data(as_text=True)


def test_the_release_signature_is_offered_when_a_conditional_release_is_possible(
        db, users, login_as):
    batch = make_batch(users, state="qc_pending")
    pass_all_qc(batch, users, skip=("sterility",))
    qa = login_as("qa")

    page = qa.get(f"/qc/release/{batch.lot_id}").get_data(as_text=True)

    assert "Sterility (14-day culture): no result." in page
    assert _form_posting_to(page, f"/qc/release/{batch.lot_id}")
    assert release.release_refusals(batch, by=users["qa"]) == []


def test_the_release_signature_is_not_offered_while_a_required_result_is_missing(
        db, users, login_as):
    bank = make_bank(users, state="qc_pending")
    pass_all_qc(bank, users, skip=("mycoplasma",))

    page = login_as("qa").get(f"/qc/release/{bank.lot_id}").get_data(as_text=True)

    assert "Mycoplasma: no result." in page
    assert not _form_posting_to(page, f"/qc/release/{bank.lot_id}")
    assert _form_posting_to(page, f"/qc/release/{bank.lot_id}/reject")


def test_a_stopped_lot_offers_no_step_and_says_why(db, users, login_as):
    bank = make_bank(users, state="processing")
    start = plausibility.lot_start(bank) + timedelta(hours=1)
    steps.record_passage(bank, seeded_at=start, harvested_at=start + timedelta(hours=48),
                         vessels="T175", cells_seeded=1e6, cells_harvested=1e9,
                         viability_pct=90, confluence_pct=80, incubator=INCUBATOR,
                         by=users["technician"])
    [deviation] = qc.deviations_of(bank)

    page = login_as("technician").get(f"/lots/{bank.lot_id}").get_data(as_text=True)

    assert not _form_posting_to(page, f"/lots/{bank.lot_id}/passages")
    assert f"is stopped: deviation {deviation.number} is open" in page


def test_the_passage_form_refuses_a_fridge_in_plain_words(db, users, login_as):
    place("L-FRIDGE-01", "fridge")
    bank = make_bank(users, state="processing")
    start = plausibility.lot_start(bank) + timedelta(hours=1)

    response = login_as("technician").post(f"/lots/{bank.lot_id}/passages", data={
        "pas-seeded_at": _local(start), "pas-harvested_at": _local(start + timedelta(hours=48)),
        "pas-vessels": "T175 x 2", "pas-cells_seeded": "1e6", "pas-cells_harvested": "4e6",
        "pas-viability_pct": "94", "pas-confluence_pct": "80", "pas-incubator": "L-FRIDGE-01"})

    assert response.status_code == 422
    assert ("L-FRIDGE-01 (Fridge L-FRIDGE-01) is a fridge: a passage grows in an incubator."
            in response.get_data(as_text=True))
    assert bank.passages == []


def test_the_passage_form_asks_for_the_reason_of_a_slow_passage_then_records_it(
        db, users, login_as):
    bank = make_bank(users, state="processing")
    start = plausibility.lot_start(bank) + timedelta(hours=1)
    client = login_as("technician")
    form = {"pas-seeded_at": _local(start),
            "pas-harvested_at": _local(start + timedelta(hours=96)),
            "pas-vessels": "T175 x 2", "pas-cells_seeded": "1e6", "pas-cells_harvested": "1.2e6",
            "pas-viability_pct": "94", "pas-confluence_pct": "80", "pas-incubator": INCUBATOR}

    asked = client.post(f"/lots/{bank.lot_id}/passages", data=form)
    page = asked.get_data(as_text=True)
    assert asked.status_code == 422
    assert "outside the plausible 12-240 h: give the reason to record it." in page
    assert 'value="1.2e6"' in page or 'value="1200000.0"' in page  # the entry is kept

    recorded = client.post(f"/lots/{bank.lot_id}/passages", follow_redirects=True,
                           data={**form, "pas-growth_reason": "explant slow to attach"})
    assert "Passage recorded." in recorded.get_data(as_text=True)
    assert bank.passages[0].growth_reason == "explant slow to attach"
