"""SPEC 4.4: enrollment checks eligibility item by item, assigns the next randomization number
of the stratum and creates the dose schedule, and never shows the arm."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.factories.trial import eligible_answers, enroll, make_allocation_list
from ucmsc_lims.core.clock import site_today
from ucmsc_lims.core.errors import DomainError
from ucmsc_lims.core.ids import patient_code
from ucmsc_lims.protocol import service as protocol
from ucmsc_lims.trial import allocations, eligibility, service


def test_numbers_are_assigned_in_order_within_each_stratum(db, users):
    make_allocation_list(users)
    first_a = enroll(users, stratum="CPA")
    first_b = enroll(users, stratum="CPB")
    second_a = enroll(users, stratum="CPA")
    assert [first_a.randomization_label, second_a.randomization_label] == ["CPA-001", "CPA-002"]
    assert first_b.randomization_label == "CPB-001"


def test_the_patient_gets_the_arm_behind_the_assigned_number(db, users):
    make_allocation_list(users)
    patient = enroll(users, stratum="CPB")
    first = allocations.allocations(by=users["pharmacist"], stratum="CPB")[0]
    assert first.patient_id == patient.id
    assert service.arm_of(patient) == first.arm


def test_an_ineligible_patient_is_refused_naming_the_failing_items(db, users):
    make_allocation_list(users)
    with pytest.raises(DomainError) as refused:
        enroll(users, written_consent=False, sepsis=True)
    message = refused.value.message
    assert "not eligible under checklist ELIG-1.0" in message
    assert "inclusion criteria not met: Written informed consent" in message
    assert "Sepsis" in message
    assert "Pregnancy;" not in message
    assert service.list_patients()[0] == []


def test_an_unanswered_item_is_refused_too(db, users):
    make_allocation_list(users)
    answers = eligible_answers()
    del answers["vein_thrombosis"]
    form = service.EnrollmentEntry(
        subject_id="01-050", hospital_record_number="H1", initials="AB",
        date_of_birth=site_today() - timedelta(days=365 * 60), site="01", weight_kg=70,
        stratum="CPA", eligibility=answers)
    with pytest.raises(DomainError, match="Active portal or hepatic vein thrombosis"):
        service.enroll_patient(form, by=users["investigator"])


def test_an_exhausted_stratum_is_refused_clearly(db, users):
    make_allocation_list(users, strata=("CPA",), per_stratum=2)
    for _ in range(len(allocations.allocations(by=users["pharmacist"]))):
        enroll(users, stratum="CPA")
    with pytest.raises(DomainError, match="allocation list for stratum 'CPA' is exhausted"):
        enroll(users, stratum="CPA")


def test_a_stratum_without_a_list_is_refused(db, users):
    make_allocation_list(users, strata=("CPA",))
    with pytest.raises(DomainError, match="No allocation list is stored for stratum 'CPC'"):
        enroll(users, stratum="CPC")


def test_a_subject_id_is_enrolled_once(db, users):
    make_allocation_list(users)
    enroll(users, subject_id="01-077")
    with pytest.raises(DomainError, match="01-077 is already enrolled"):
        enroll(users, subject_id="01-077")


def test_the_wristband_code_is_the_subject_id_with_its_check_character(db, users):
    make_allocation_list(users)
    patient = enroll(users, subject_id="01-023")
    assert patient.code == patient_code("01-023") == "01-0238"
    assert service.patient_by_code("01-0238") is patient


def test_the_checklist_version_and_contraindications_are_kept(db, users):
    make_allocation_list(users)
    patient = enroll(users, contraindications=frozenset({"heparin_allergy"}))
    assert patient.eligibility_version == eligibility.CURRENT.version
    assert patient.heparin_contraindication is True
    assert enroll(users).heparin_contraindication is False


def test_doses_fall_on_days_0_28_and_56_with_their_windows(db, users):
    make_allocation_list(users)
    day0 = site_today() + timedelta(days=5)
    patient = enroll(users, day0=day0)
    schedule = [(d.dose_number, d.due_on - day0, d.window_start - day0, d.window_end - day0,
                 d.state) for d in patient.doses]
    days = timedelta(days=1)
    assert schedule == [
        (1, 0 * days, 0 * days, 0 * days, "scheduled"),
        (2, 28 * days, 25 * days, 31 * days, "scheduled"),
        (3, 56 * days, 53 * days, 59 * days, "scheduled"),
    ]


def test_the_schedule_follows_the_settings_in_force_on_day_0(db, users):
    make_allocation_list(users)
    today = site_today()
    protocol.change_setting("dose_window_days", "5", effective_from=today + timedelta(days=10),
                            reason="amendment 2", by=users["admin"])
    before = enroll(users, day0=today + timedelta(days=9))
    after = enroll(users, day0=today + timedelta(days=10))
    assert (before.doses[1].window_end - before.doses[1].due_on).days == 3
    assert (after.doses[1].window_end - after.doses[1].due_on).days == 5


def test_day_0_cannot_be_in_the_past(db, users):
    make_allocation_list(users)
    with pytest.raises(DomainError, match="day 0 is the planned date of dose 1"):
        enroll(users, day0=site_today() - timedelta(days=1))


def test_the_enrollment_page_enrolls_and_never_shows_the_arm(db, users, login_as):
    make_allocation_list(users)
    client = login_as("investigator")
    form = {
        "subject_id": "01-031", "hospital_record_number": "H998", "initials": "LM",
        "date_of_birth": "1960-05-01", "site": "01", "weight_kg": "64.5", "stratum": "CPA",
        "day0": site_today().isoformat(),
        **{f"item_{item.key}": "yes" if item.kind == "inclusion" else "no"
           for item in eligibility.CURRENT.items},
    }
    response = client.post("/trial/enroll", data=form, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Patient 01-031 enrolled with randomization number CPA-001." in page
    assert "BLINDED" in page
    assert ">Arm<" not in page and "UNBLINDED" not in page


def test_the_enrollment_page_names_the_failing_items(db, users, login_as):
    make_allocation_list(users)
    client = login_as("investigator")
    form = {
        "subject_id": "01-032", "hospital_record_number": "H999", "initials": "LM",
        "date_of_birth": "1960-05-01", "site": "01", "weight_kg": "64.5", "stratum": "CPA",
        "day0": site_today().isoformat(),
        **{f"item_{item.key}": "yes" for item in eligibility.CURRENT.items},
    }
    response = client.post("/trial/enroll", data=form)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Hepatocellular carcinoma or other malignancy" in page
    assert service.list_patients()[0] == []
