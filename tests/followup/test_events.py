"""Clinical events, adverse events and survival (SPEC 4.10)."""

from datetime import timedelta

import pytest

from tests.factories.followup import past_patient, record_visit
from ucmsc_lims.core.clock import site_today
from ucmsc_lims.core.errors import Conflict, DomainError
from ucmsc_lims.followup import service


def test_an_adverse_event_keeps_its_ctcae_term_grade_and_seriousness(db, users):
    patient = past_patient(users)
    event = service.record_event(
        patient, kind="adverse_event", onset_date=patient.day0 + timedelta(days=1),
        term="Fever", grade=2, serious=False, by=users["investigator"])
    assert (event.term, event.grade, event.serious, event.infusion_id) == ("Fever", 2, False, None)


def test_an_infusion_id_that_names_no_infusion_of_the_patient_is_refused(db, users):
    patient = past_patient(users)
    with pytest.raises(DomainError, match=f"Patient {patient.subject_id} had no infusion 17"):
        service.record_event(
            patient, kind="adverse_event", onset_date=patient.day0 + timedelta(days=1),
            term="Fever", grade=2, infusion_id=17, by=users["investigator"])
    assert service.events_of(patient) == []


def test_an_adverse_event_without_its_grade_is_refused(db, users):
    patient = past_patient(users)
    with pytest.raises(DomainError, match="needs its CTCAE grade"):
        service.record_event(patient, kind="adverse_event", onset_date=site_today(),
                             term="Fever", by=users["investigator"])


def test_a_complication_is_recorded_from_the_event_form(db, users, login_as):
    patient = past_patient(users)
    response = login_as("investigator").post(
        f"/followup/patients/{patient.subject_id}/events/new",
        data={"kind": "variceal_bleeding", "onset_date": str(site_today()),
              "description": "Banding", "grade": ""}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Event recorded." in page and "Variceal bleeding" in page
    assert [e.kind for e in service.events_of(patient)] == ["variceal_bleeding"]


def test_a_voided_event_stays_on_record_with_its_reason(db, users):
    patient = past_patient(users)
    event = service.record_event(patient, kind="infection", onset_date=site_today(),
                                 by=users["investigator"])
    service.void_event(event, reason="Wrong patient", by=users["investigator"])
    assert service.events_of(patient) == []
    assert service.events_of(patient, include_void=True)[0].void_reason == "Wrong patient"


def test_a_death_sets_survival_and_the_trial_status_and_ends_the_worklist(db, users):
    patient = past_patient(users, days_ago=12 * 7 + 10)
    died_on = site_today() - timedelta(days=20)
    service.record_death(patient, died_on=died_on, cause="Hepatorenal syndrome",
                         by=users["investigator"])
    survival = service.survival_of(patient)
    assert (survival.dead, survival.died_on, survival.cause) == (True, died_on,
                                                                 "Hepatorenal syndrome")
    assert patient.status == "dead"
    assert service.worklist() == []
    with pytest.raises(DomainError, match="died on"):
        record_visit(users, patient, week=12, visit_date=site_today() - timedelta(days=5))
    with pytest.raises(Conflict):
        service.record_death(patient, died_on=died_on, cause="x", by=users["investigator"])


def test_an_alive_patient_is_censored_at_the_last_visit(db, users):
    patient = past_patient(users)
    visit = record_visit(users, patient)
    survival = service.survival_of(patient)
    assert not survival.dead and survival.last_contact == visit.visit_date
    assert service.survival_times() == [((visit.visit_date - patient.day0).days, False)]


def test_the_event_form_asks_for_the_ctcae_term_grade_and_infusion(db, users, login_as):
    patient = past_patient(users)
    page = login_as("investigator").get(
        f"/followup/patients/{patient.subject_id}/events/new").get_data(as_text=True)
    for label in ("CTCAE term", "CTCAE grade", "Serious", "Infusion id", "Hepatocellular"):
        assert label in page


def test_a_scanned_wristband_opens_the_patients_follow_up(db, users, login_as):
    patient = past_patient(users)
    response = login_as("investigator").get(f"/followup/find?code={patient.code}")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/followup/patients/{patient.subject_id}")
