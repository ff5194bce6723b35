"""SPEC 4.4: the investigator clears the next dose due, only from the protocol's lead before its
window opens, after reviewing every adverse event since the last dose; a serious one blocks the
clearance until the investigator has assessed it."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.blinding.compare import diff, mask
from tests.blinding.pair import build_pair
from tests.factories.custody import bag_on_ward
from tests.factories.trace import infuse
from tests.factories.trial import clear, enroll, make_allocation_list
from ucmsc_lims.bedside import infusions
from ucmsc_lims.bedside.infusions import AdverseEventEntry
from ucmsc_lims.core.audit import AuditEntry
from ucmsc_lims.core.clock import as_of, site_today
from ucmsc_lims.core.errors import Conflict, DomainError
from ucmsc_lims.extensions import db
from ucmsc_lims.followup import service as followup
from ucmsc_lims.protocol import service as protocol
from ucmsc_lims.trial import service

REACTION = AdverseEventEntry("Infusion related reaction", 3, serious=True)


def _infused(users, events=(), arm: str = "A"):
    """A patient whose dose 1 was infused today at the bedside, with these adverse events."""
    patient, bag = bag_on_ward(users, arm)
    infusion = infuse(users, patient, bag)
    infusions.end_infusion(infusion, by=users["nurse"], outcome="completed",
                           volume_infused_ml=98, adverse_events=list(events))
    db.session.commit()
    assert patient.doses[0].state == "infused"
    return patient


def _given_without_bedside(users, dose):
    """Dose moved to infused through the trial's door, for the date rules alone."""
    with as_of(dose.window_start):
        clear(users, dose)
    for state in ("bag_ready", "verified", "infused"):
        service.transition_dose(dose, state, by=users["nurse"])
    db.session.flush()


def _opens(dose):
    return dose.window_start - timedelta(days=3)


@pytest.fixture
def patient(db, users):
    make_allocation_list(users)
    return enroll(users)


def test_dose_2_right_after_dose_1_is_refused_naming_the_earliest_date(db, users, patient):
    _given_without_bedside(users, patient.doses[0])
    dose = patient.doses[1]
    earliest = _opens(dose)
    message = (f"Dose 2 may be cleared from {earliest.isoformat()}, 3 days before its window "
               f"opens on {dose.window_start.isoformat()}; today is {site_today().isoformat()}.")
    with pytest.raises(DomainError) as refused:
        clear(users, dose)
    assert refused.value.message == message
    assert (dose.state, dose.clearance_signature_id) == ("scheduled", None)


def test_the_clearance_page_says_when_dose_2_may_be_cleared_and_offers_no_signature(
        db, users, patient, login_as):
    _given_without_bedside(users, patient.doses[0])
    earliest = _opens(patient.doses[1])
    client = login_as("investigator")
    url = f"/trial/patients/{patient.subject_id}/doses/2/clear"
    page = client.get(url).get_data(as_text=True)
    assert f"Dose 2 may be cleared from {earliest.isoformat()}" in page
    assert "Sign clearance" not in page
    refused = client.post(url, data={"username": "investigator",
                                     "password": "demo-password-123",
                                     "no_reaction_confirmed": "y"})
    assert refused.status_code == 422
    assert f"Dose 2 may be cleared from {earliest.isoformat()}" in refused.get_data(as_text=True)
    patient_page = client.get(f"/trial/patients/{patient.subject_id}").get_data(as_text=True)
    assert f"Clearance opens on {earliest.isoformat()}" in patient_page


def test_dose_2_is_cleared_from_three_days_before_its_window(db, users, patient):
    _given_without_bedside(users, patient.doses[0])
    dose = patient.doses[1]
    with as_of(_opens(dose) - timedelta(days=1)), pytest.raises(DomainError, match="may be "
                                                                "cleared from"):
        clear(users, dose)
    with as_of(_opens(dose)):
        clear(users, dose)
    assert dose.state == "cleared"


def test_the_lead_is_a_versioned_protocol_setting(db, users, patient):
    protocol.change_setting("clearance_lead_days", "7", effective_from=site_today(),
                            reason="Pharmacy needs a week", by=users["admin"])
    _given_without_bedside(users, patient.doses[0])
    dose = patient.doses[1]
    with as_of(dose.window_start - timedelta(days=7)):
        clear(users, dose)
    assert dose.state == "cleared"


def test_only_the_next_dose_due_is_cleared(db, users, patient):
    _given_without_bedside(users, patient.doses[0])
    dose_2, dose_3 = patient.doses[1], patient.doses[2]
    with as_of(_opens(dose_3)), pytest.raises(DomainError) as refused:
        clear(users, dose_3)
    assert refused.value.message == ("Dose 2 is still scheduled: doses are cleared in order, "
                                     "the next dose due first.")
    with as_of(dose_2.window_end + timedelta(days=1)):
        service.mark_missed(dose_2, by=users["investigator"], reason="Patient in hospital")
    with as_of(_opens(dose_3)):
        clear(users, dose_3)
    assert dose_3.state == "cleared"


def test_dose_1_due_today_is_cleared_today(db, users, patient):
    clear(users, patient.doses[0])
    assert patient.doses[0].state == "cleared"


def test_the_clearance_page_of_dose_2_lists_the_adverse_events_of_dose_1(db, users, login_as):
    patient = _infused(users, [AdverseEventEntry("Fever", 1), AdverseEventEntry("Chills", 2)])
    with as_of(_opens(patient.doses[1])):
        page = login_as("investigator").get(
            f"/trial/patients/{patient.subject_id}/doses/2/clear").get_data(as_text=True)
        review = service.clearance_review(patient.doses[1], today=site_today())
    assert [(e.term, e.grade) for e in review.adverse_events] == [("Fever", 1), ("Chills", 2)]
    for shown in ("Adverse events since the last dose", "Fever", "Chills", "dose 1",
                  "Sign clearance"):
        assert shown in page, shown


def test_a_serious_adverse_event_blocks_clearance_until_it_is_assessed(db, users, login_as):
    patient = _infused(users, [REACTION])
    dose = patient.doses[1]
    (event,) = followup.events_of(patient)
    onset = event.onset_date.isoformat()
    with as_of(_opens(dose)):
        with pytest.raises(DomainError) as refused:
            clear(users, dose)
        assert refused.value.message == (
            f"Serious adverse event not yet assessed: Infusion related reaction (grade 3, from "
            f"{onset}). Record your assessment of it before clearing dose 2.")
        assert dose.state == "scheduled"

        client = login_as("investigator")
        url = f"/trial/patients/{patient.subject_id}/doses/2"
        page = client.get(f"{url}/clear").get_data(as_text=True)
        assert "Serious adverse event not yet assessed" in page
        assert "Awaiting your assessment: it blocks the clearance." in page
        assessed = client.post(f"{url}/adverse-events/{event.id}/assess", data={
            "causality": "possible",
            "reason": "Resolved within 2 h after antihistamine; no sequelae."},
            follow_redirects=True)
        text = assessed.get_data(as_text=True)
        assert "Assessment of Infusion related reaction recorded." in text
        assert "Possibly related: Resolved within 2 h after antihistamine" in text
        clear(users, dose)
    assert dose.state == "cleared"
    cleared = db.session.scalar(sa.select(AuditEntry).where(
        AuditEntry.action == "dose.cleared", AuditEntry.entity_id == dose.audit_id))
    assert json.loads(cleared.new)["adverse_events_reviewed"] == [event.id]


def test_the_assessment_is_audited_with_its_causality_and_reason(db, users):
    patient = _infused(users, [REACTION])
    (event,) = followup.events_of(patient)
    followup.assess_adverse_event(event, causality="unlikely", reason="Pre-existing fever",
                                  by=users["investigator"])
    db.session.flush()
    entry = db.session.scalar(sa.select(AuditEntry).where(
        AuditEntry.action == "followup.adverse_event_assessed"))
    assert (entry.reason, json.loads(entry.new)["causality"]) == ("Pre-existing fever", "unlikely")
    assert event.awaits_assessment is False
    with pytest.raises(Conflict, match="already assessed"):
        followup.assess_adverse_event(event, causality="possible", reason="Again",
                                      by=users["investigator"])


def test_an_assessment_needs_a_causality_and_a_reason(db, users, login_as):
    patient = _infused(users, [REACTION])
    (event,) = followup.events_of(patient)
    with pytest.raises(DomainError, match="Give the reasoning of your assessment"):
        followup.assess_adverse_event(event, causality="possible", reason="  ",
                                      by=users["investigator"])
    reply = login_as("investigator").post(
        f"/trial/patients/{patient.subject_id}/doses/2/adverse-events/{event.id}/assess",
        data={"causality": "", "reason": "x"})
    assert reply.status_code == 400
    assert "Choose the causality and give your assessment." in reply.get_data(as_text=True)
    assert event.assessed_at is None


def test_only_an_investigator_assesses(db, users):
    patient = _infused(users, [REACTION])
    (event,) = followup.events_of(patient)
    with pytest.raises(DomainError, match="Only an investigator assesses"):
        followup.assess_adverse_event(event, causality="possible", reason="x",
                                      by=users["nurse"])


def test_a_non_serious_adverse_event_is_listed_and_does_not_block(db, users):
    patient = _infused(users, [AdverseEventEntry("Fever", 1)])
    dose = patient.doses[1]
    with as_of(_opens(dose)):
        assert service.clearance_review(dose, today=site_today()).refusal is None
        clear(users, dose)
    assert dose.state == "cleared"


def test_a_serious_adverse_event_recorded_in_follow_up_blocks_too(db, users):
    patient = _infused(users)
    dose = patient.doses[1]
    followup.record_event(patient, kind="adverse_event", onset_date=site_today(),
                          term="Upper GI haemorrhage", grade=3, serious=True,
                          by=users["investigator"])
    with as_of(_opens(dose)), pytest.raises(DomainError, match="Upper GI haemorrhage"):
        clear(users, dose)


def test_both_arms_read_the_same_clearance_page_and_events(db, users, login_as, api_client):
    """SPEC 2: the same adverse events give the blinded investigator and nurse the same words
    and counts for a cell patient and a saline patient."""
    pair = build_pair(users)
    for record in pair.records:
        infusions.add_adverse_event(record.infusion, REACTION, by=users["nurse"])
        infusions.add_adverse_event(record.infusion, AdverseEventEntry("Fever", 1),
                                    by=users["nurse"])
    db.session.commit()
    ids = {**pair.a.identifiers(), **pair.b.identifiers()}

    def same(text_a: str, text_b: str) -> None:
        masked_a, masked_b = mask(text_a, ids), mask(text_b, ids)
        assert masked_a == masked_b, diff(masked_a, masked_b, name_a="arm A", name_b="arm B")

    with as_of(_opens(pair.a.patient.doses[1])):
        investigator = login_as("investigator")
        pages = [investigator.get(f"/trial/patients/{r.patient.subject_id}/doses/2/clear")
                 .get_data(as_text=True) for r in pair.records]
        assert "Serious adverse event not yet assessed" in pages[0]
        same(*pages)
        events = [investigator.get(f"/followup/patients/{r.patient.subject_id}")
                  .get_data(as_text=True) for r in pair.records]
        same(*events)
    token = api_client("inspector")
    bodies = [json.dumps(token.get(f"/api/v1/patients/{r.patient.subject_id}/events")
                         .get_json(), sort_keys=True) for r in pair.records]
    same(*bodies)
    nurse = login_as("nurse")
    nurse_pages = [nurse.get(f"/bedside/infusions/{r.infusion.id}").get_data(as_text=True)
                   for r in pair.records]
    assert "Infusion related reaction" in nurse_pages[0]
    same(*nurse_pages)
