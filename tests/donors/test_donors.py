"""Donors, eligibility and collections (SPEC 4.1)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.factories.donors import make_collection, make_donor, new_din
from ucmsc_lims.core.db import utcnow
from ucmsc_lims.core.errors import Conflict, DomainError, NotPermitted
from ucmsc_lims.donors import service as donors


def test_eligibility_needs_every_test_negative_and_a_named_person(db, users):
    donor = make_donor(users, eligibility="pending")
    with pytest.raises(DomainError) as refused:
        donors.determine_eligibility(donor, eligibility="eligible", by=users["qa"])
    assert "Screening questionnaire: no result" in refused.value.message
    for test in donors.REQUIRED_TESTS:
        donors.record_test(donor, test=test, result="positive" if test == "cmv" else "negative",
                           tested_on=utcnow().date(), by=users["technician"])
    with pytest.raises(DomainError, match="CMV: positive"):
        donors.determine_eligibility(donor, eligibility="eligible", by=users["qa"])
    with pytest.raises(NotPermitted):
        donors.determine_eligibility(donor, eligibility="ineligible", by=users["technician"],
                                     reason="CMV positive")
    donors.determine_eligibility(donor, eligibility="ineligible", by=users["qa"],
                                 reason="CMV positive")
    assert (donor.eligibility, donor.determined_by.username) == ("ineligible", "qa")


def test_a_collection_from_a_donor_not_eligible_stays_in_quarantine(db, users):
    collection = make_collection(users, eligibility="pending")
    assert collection.quarantined
    assert donors.release_gaps(collection) == [
        f"Donor {collection.donor.code} is not eligible (pending)."]


def test_a_din_is_read_in_either_form_and_registered_once(db, users):
    donor = make_donor(users)
    din = new_din()
    now = utcnow()
    values = dict(donor=donor, collected_at=now - timedelta(hours=5), delivery="vaginal",
                  site="Maternity 3", transport_container="box", transport_temperature_c=5.0,
                  received_at=now, receipt_condition="intact", by=users["technician"])
    collection = donors.receive_collection(din=din.keyboard, **values)
    assert collection.din == din.text
    with pytest.raises(Conflict, match=f"DIN {din.text} is already registered"):
        donors.receive_collection(din=din.barcode_data, **values)
    with pytest.raises(DomainError, match="check character does not match"):
        wrong_check = "*" if din.check != "*" else "0"
        donors.receive_collection(din=din.keyboard[:-1] + wrong_check, **values)


def test_a_rejected_cord_needs_a_reason_and_is_not_processed(db, users):
    collection = make_collection(users, accept=False)
    with pytest.raises(DomainError, match="Give the reason"):
        donors.decide_collection(collection, accept=False, by=users["technician"])
    donors.decide_collection(collection, accept=False, by=users["technician"],
                             reason="bag leaking on receipt")
    from ucmsc_lims.manufacturing import steps

    with pytest.raises(Conflict, match="is rejected: only an accepted cord is processed"):
        steps.start_cell_bank(collection, by=users["technician"])


def test_the_donors_page_shows_the_newest_first_and_pages_older_ones_by_key(
        db, users, login_as, monkeypatch):
    monkeypatch.setattr(donors, "PAGE_SIZE", 2)
    made = [make_collection(users, eligibility="pending") for _ in range(3)]
    codes = [c.donor.code for c in made]
    page = login_as("qa")
    first = page.get("/donors/").get_data(as_text=True)
    link = 'href="/donors/{}"'.format
    assert link(codes[2]) in first and link(codes[1]) in first
    assert link(codes[0]) not in first
    assert f"donors_before={codes[1]}" in first
    assert f"collections_before={made[1].id}" in first
    older = page.get(f"/donors/?donors_before={codes[1]}").get_data(as_text=True)
    assert link(codes[0]) in older and link(codes[2]) not in older
    assert "Older donors" not in older
    collections = page.get(f"/donors/?collections_before={made[1].id}").get_data(as_text=True)
    assert made[0].din in collections and made[2].din not in collections


def test_the_manufacturing_worklist_lists_the_cords_that_waited_longest_first(db, users):
    from ucmsc_lims.manufacturing import worklist

    waiting = [make_collection(users, accept=False).din for _ in range(3)]
    assert [c.din for c in worklist.due_today().collections] == waiting
    oldest, more = donors.list_collections(status="received", oldest_first=True, limit=2)
    assert [c.din for c in oldest] == waiting[:2] and more
