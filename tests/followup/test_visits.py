"""Recording follow-up visits: the schedule from the protocol settings, labs with units,
plausibility refusals, scores and the worklist (SPEC 1, 4.10)."""

from datetime import timedelta

import pytest

from tests.factories.followup import LABS, past_patient, record_visit
from ucmsc_lims.core.clock import site_today
from ucmsc_lims.core.errors import Conflict, DomainError
from ucmsc_lims.followup import service
from ucmsc_lims.followup.models import LabResult
from ucmsc_lims.protocol import service as protocol


def test_visits_fall_at_the_protocol_weeks_with_the_default_seven_day_window(db, users):
    patient = past_patient(users, days_ago=10)
    plan = service.planned_visits(patient)
    assert [v.visit_week for v in plan][:4] == [12, 24, 48, 74]
    assert plan[-1].visit_week == 326
    first = plan[0]
    assert first.due_on == patient.day0 + timedelta(weeks=12)
    assert (first.window_start, first.window_end) == (
        first.due_on - timedelta(days=7), first.due_on + timedelta(days=7))


def test_the_schedule_uses_the_settings_in_force_on_day_0_not_later_changes(db, users):
    patient = past_patient(users, days_ago=30)
    admin = users["admin"]
    protocol.change_setting("followup_weeks", "8, 16", effective_from=patient.day0,
                            reason="Amendment 2", by=admin)
    protocol.change_setting("followup_window_days", "3", effective_from=patient.day0,
                            reason="Amendment 2", by=admin)
    protocol.change_setting("followup_weeks", "10", effective_from=site_today(),
                            reason="Amendment 3", by=admin)
    plan = service.planned_visits(patient)
    assert [v.visit_week for v in plan][:3] == [8, 16, 42]
    assert plan[0].window_end - plan[0].due_on == timedelta(days=3)


def test_the_worklist_shows_due_and_overdue_visits_across_patients(db, users):
    overdue = past_patient(users, days_ago=12 * 7 + 10, subject_id="01-101")
    due = past_patient(users, days_ago=12 * 7 + 2, subject_id="01-102", with_list=False)
    past_patient(users, days_ago=20, subject_id="01-103", with_list=False)
    rows = service.worklist()
    assert [(r.subject_id, r.visit_week, r.state.value) for r in rows] == [
        ("01-101", 12, "overdue"), ("01-102", 12, "due")]
    assert rows[0].days_left == -3
    record_visit(users, overdue, week=12)
    service.record_missed_visit(due, visit_week=12, reason="Patient abroad",
                                by=users["investigator"])
    assert service.worklist() == []


def test_the_worklist_page_lists_the_visit_for_the_investigator(db, users, login_as):
    past_patient(users, days_ago=12 * 7, subject_id="01-104")
    page = login_as("investigator").get("/followup/").get_data(as_text=True)
    assert "01-104" in page and "Week 12" in page and "due" in page


def test_labs_are_stored_as_written_and_in_the_standard_unit(db, users):
    patient = past_patient(users)
    visit = record_visit(users, patient)
    labs = {lab.analyte: lab for lab in visit.current_labs}
    assert (labs["BILI"].value_text, labs["BILI"].unit) == ("34.2", "umol/L")
    assert labs["BILI"].standard_value == pytest.approx(2.0)
    assert labs["BILI"].standard_unit == "mg/dL"
    assert labs["ALB"].standard_value == pytest.approx(3.2)
    assert labs["CREAT"].standard_value == pytest.approx(1.0)
    assert labs["BILI"].flag == "H" and labs["ALB"].flag == "L" and labs["ALT"].flag is None


def test_a_unit_typed_in_another_spelling_is_kept_in_the_accepted_spelling(db, users):
    patient = past_patient(users)
    visit = record_visit(users, patient, labs=[("BILI", "17.1", "µmol/l")])
    assert visit.current_labs[0].unit == "umol/L"


def test_the_visit_page_shows_both_units_the_flag_and_the_scores(db, users, login_as):
    patient = past_patient(users)
    record_visit(users, patient)
    page = login_as("investigator").get(
        f"/followup/patients/{patient.subject_id}/visits/12").get_data(as_text=True)
    assert "34.2 umol/L" in page and "2 mg/dL" in page
    assert "H (high)" in page
    scores = service.scores_of(service.get_visit(patient, 12))
    assert scores.meld == 12 and scores.meld_na == 15
    assert (scores.child_pugh_score, scores.child_pugh_class) == (8, "B")
    assert '<dd class="score-meld">12</dd>' in page
    assert '<dd class="score-meld-na">15</dd>' in page
    assert "8, class B" in page


def test_an_implausible_value_is_refused_in_plain_words_and_nothing_is_stored(db, users):
    patient = past_patient(users)
    with pytest.raises(DomainError) as refused:
        record_visit(users, patient, labs=[("ALB", "35", "g/dL"), ("ALT", "40", "U/L")])
    assert "Albumin of 35 g/dL is not plausible (allowed 0.5–7 g/dL)" in refused.value.message
    assert refused.value.field_errors["ALB"]
    assert service.visits_of(patient) == []
    assert db.session.query(LabResult).count() == 0


def test_a_unit_not_accepted_and_a_word_for_a_number_are_refused(db, users):
    patient = past_patient(users)
    with pytest.raises(DomainError) as refused:
        record_visit(users, patient, labs=[("CREAT", "1.0", "mg/L"), ("ALT", "forty", "U/L")])
    assert "Creatinine cannot be given in 'mg/L'" in refused.value.message
    assert "ALT: 'forty' is not a number." in refused.value.message


def test_the_visit_form_shows_the_refusal_beside_the_field(db, users, login_as):
    patient = past_patient(users)
    client = login_as("investigator")
    form = {f"lab_{code}_value": value for code, value, _ in LABS}
    form |= {f"lab_{code}_unit": unit for code, _, unit in LABS}
    form |= {"visit_week": "12", "visit_date": str(patient.day0 + timedelta(weeks=12)),
             "lab_SODIUM_value": "13.4", "ascites": "mild", "encephalopathy_grade": "0"}
    response = client.post(f"/followup/patients/{patient.subject_id}/visits/new", data=form)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Sodium of 13.4 mmol/L is not plausible (allowed 90–200 mmol/L)." in page
    assert service.visits_of(patient) == []


def test_the_visit_form_records_a_visit_and_shows_its_page(db, users, login_as):
    patient = past_patient(users)
    client = login_as("investigator")
    form = {f"lab_{code}_value": value for code, value, _ in LABS}
    form |= {f"lab_{code}_unit": unit for code, _, unit in LABS}
    form |= {"visit_week": "12", "visit_date": str(patient.day0 + timedelta(weeks=12)),
             "ascites": "mild", "encephalopathy_grade": "0"}
    response = client.post(f"/followup/patients/{patient.subject_id}/visits/new", data=form,
                           follow_redirects=True)
    assert response.status_code == 200
    assert "Visit at week 12 recorded." in response.get_data(as_text=True)
    assert len(service.get_visit(patient, 12).current_labs) == 11


def test_a_week_outside_the_protocol_and_a_second_record_of_a_week_are_refused(db, users):
    patient = past_patient(users)
    with pytest.raises(DomainError, match="Week 13 is not a follow-up visit"):
        record_visit(users, patient, week=13, visit_date=patient.day0 + timedelta(days=90))
    record_visit(users, patient, week=12)
    with pytest.raises(Conflict, match="already recorded"):
        record_visit(users, patient, week=12)


def test_a_visit_date_in_the_future_or_before_day_0_is_refused(db, users):
    patient = past_patient(users, days_ago=30)
    with pytest.raises(DomainError, match="is in the future"):
        record_visit(users, patient, week=12)
    with pytest.raises(DomainError, match="before day 0"):
        record_visit(users, patient, week=12, visit_date=patient.day0 - timedelta(days=1))


def test_a_correction_keeps_the_old_result_and_its_reason(db, users):
    patient = past_patient(users)
    visit = record_visit(users, patient)
    alt = next(lab for lab in visit.current_labs if lab.analyte == "ALT")
    new = service.correct_lab(alt, value="24", unit="U/L", reason="Transcription error",
                              by=users["investigator"])
    db.session.refresh(visit)
    assert [lab.value_text for lab in visit.labs if lab.analyte == "ALT"] == ["42", "24"]
    assert alt.void_reason == "Transcription error" and new.voided_at is None
    with pytest.raises(Conflict, match="already corrected"):
        service.correct_lab(alt, value="25", unit="U/L", reason="x", by=users["investigator"])


def test_an_inspector_reads_the_visit_but_gets_no_form(db, users, login_as):
    patient = past_patient(users)
    record_visit(users, patient)
    client = login_as("inspector")
    page = client.get(f"/followup/patients/{patient.subject_id}/visits/12").get_data(
        as_text=True)
    assert "MELD" in page and "Correct" not in page
    assert client.get(f"/followup/patients/{patient.subject_id}/visits/new").status_code == 403


def test_the_visit_form_offers_each_analyte_with_its_accepted_units(db, users, login_as):
    patient = past_patient(users)
    page = login_as("investigator").get(
        f"/followup/patients/{patient.subject_id}/visits/new?week=12").get_data(as_text=True)
    assert "Total bilirubin" in page and "Prothrombin time" in page and "INR" in page
    assert '<option value="umol/L">umol/L</option>' in page
    assert '<option selected value="12">Week 12' in page
    assert "autofocus" in page


def test_the_worklist_follows_the_schedule_each_patient_had_on_day_0(db, users):
    before = past_patient(users, days_ago=12 * 7 + 2, subject_id="01-301")
    protocol.change_setting("followup_weeks", "8, 16", effective_from=site_today() - timedelta(70),
                            reason="Amendment 2", by=users["admin"])
    after = past_patient(users, days_ago=8 * 7 + 1, subject_id="01-302", with_list=False)
    rows = {(r.subject_id, r.visit_week): r for r in service.worklist()}
    assert set(rows) == {(before.subject_id, 12), (after.subject_id, 8)}
    assert rows[(after.subject_id, 8)].due_on == after.day0 + timedelta(weeks=8)


def test_the_worklist_costs_the_same_for_few_patients_and_many(db, users, query_counter):
    def statements(**kwargs) -> int:
        with query_counter() as counted:
            service.worklist(**kwargs)
        return counted.count

    past_patient(users, days_ago=12 * 7 + 10, subject_id="01-401")
    few = statements(limit=1), statements()
    for n in range(5):
        past_patient(users, days_ago=12 * 7 + n, subject_id=f"01-41{n}", with_list=False)
    assert (statements(limit=1), statements()) == few
    full = service.worklist()
    assert service.worklist(limit=2) == full[:2] and len(full) == 6
