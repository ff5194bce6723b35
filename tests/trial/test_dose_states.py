"""SPEC 4.4: dose states move only along the machine, and clearance is a signed decision."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.factories.trial import clear, enroll, make_allocation_list
from ucmsc_lims.core.audit import AuditEntry
from ucmsc_lims.core.clock import site_today
from ucmsc_lims.core.errors import AuthenticationFailed, DomainError, InvalidTransition
from ucmsc_lims.core.esign import signatures_for
from ucmsc_lims.trial import service
from ucmsc_lims.trial.states import DOSE_MACHINE

STATES = sorted(DOSE_MACHINE.transitions)
ALLOWED = {(src, dst) for src, targets in DOSE_MACHINE.transitions.items() for dst in targets}


@pytest.fixture
def patient(db, users):
    make_allocation_list(users)
    return enroll(users)


@pytest.mark.parametrize("src", STATES)
@pytest.mark.parametrize("dst", STATES)
def test_the_machine_allows_exactly_its_table(src, dst):
    if (src, dst) in ALLOWED:
        DOSE_MACHINE.check(src, dst)
    else:
        with pytest.raises(InvalidTransition, match=f"in state '{src}' cannot move to '{dst}'"):
            DOSE_MACHINE.check(src, dst)


def test_the_machine_is_the_spec_line_with_its_side_states():
    assert {("scheduled", "cleared"), ("cleared", "bag_ready"), ("bag_ready", "verified"),
            ("verified", "infused"), ("postponed", "scheduled")} <= ALLOWED
    for final in ("infused", "missed", "cancelled"):
        assert DOSE_MACHINE.allowed_from(final) == frozenset()


def test_a_dose_goes_from_scheduled_to_infused_through_the_services(db, users, patient):
    dose = patient.doses[0]
    clear(users, dose)
    service.transition_dose(dose, "bag_ready", by=users["technician"])
    service.transition_dose(dose, "verified", by=users["nurse"])
    service.transition_dose(dose, "infused", by=users["nurse"])
    actions = db.session.scalars(sa.select(AuditEntry.action).where(
        AuditEntry.entity_type == "dose").order_by(AuditEntry.id)).all()
    assert actions == ["dose.cleared", "dose.bag_ready", "dose.verified", "dose.infused"]


def test_a_refused_transition_names_the_state_and_the_next_ones(db, users, patient):
    dose = patient.doses[0]
    with pytest.raises(InvalidTransition) as refused:
        service.transition_dose(dose, "bag_ready", by=users["technician"])
    assert refused.value.message == (
        "A dose in state 'scheduled' cannot move to 'bag_ready'. "
        "Allowed next states: cancelled, cleared, missed, postponed."
    )
    assert dose.state == "scheduled"


def test_an_infused_dose_moves_no_more(db, users, patient):
    dose = patient.doses[0]
    clear(users, dose)
    for state in ("bag_ready", "verified", "infused"):
        service.transition_dose(dose, state, by=users["nurse"])
    with pytest.raises(InvalidTransition, match="Allowed next states: none"):
        service.transition_dose(dose, "bag_ready", by=users["nurse"])


@pytest.mark.parametrize("target, action", [
    ("cleared", "clear_dose"), ("postponed", "postpone_dose"), ("cancelled", "withdraw_patient"),
])
def test_signed_and_reasoned_states_are_not_reached_by_a_bare_transition(
    db, users, patient, target, action
):
    with pytest.raises(DomainError, match=action):
        service.transition_dose(patient.doses[0], target, by=users["investigator"])


def test_clearance_is_signed_with_the_meaning_dose_clearance(db, users, patient):
    dose = clear(users, patient.doses[0])
    signature = service.clearance_signature(dose)
    assert dose.state == "cleared" and dose.cleared_at is not None
    assert signature.meaning == "dose_clearance"
    assert signature.user_id == users["investigator"].id
    assert signatures_for(db.session, "dose", dose.audit_id) == [signature]


def test_a_wrong_password_is_refused_counted_and_changes_nothing(db, users, patient):
    dose = patient.doses[0]
    with pytest.raises(AuthenticationFailed):
        clear(users, dose, password="not-the-password")
    assert dose.state == "scheduled"
    assert users["investigator"].failed_logins == 1


def test_clearance_needs_the_confirmation_of_no_reaction(db, users, patient):
    with pytest.raises(DomainError, match="no unresolved reaction or serious adverse event"):
        service.clear_dose(patient.doses[0], by=users["investigator"],
                           password="demo-password-123", no_reaction_confirmed=False)
    assert patient.doses[0].state == "scheduled"


def test_only_an_investigator_clears(db, users, patient):
    with pytest.raises(DomainError, match="Only an investigator"):
        service.clear_dose(patient.doses[0], by=users["pharmacist"],
                           password="demo-password-123", no_reaction_confirmed=True)


def test_doses_are_cleared_in_order(db, users, patient):
    with pytest.raises(DomainError, match="Dose 1 is still scheduled"):
        clear(users, patient.doses[1])


def test_the_clearance_page_signs_and_refuses_a_wrong_password(db, users, patient, login_as):
    client = login_as("investigator")
    url = f"/trial/patients/{patient.subject_id}/doses/1/clear"
    refused = client.post(url, data={"username": "investigator", "password": "wrong-password!",
                                     "no_reaction_confirmed": "y"})
    assert refused.status_code == 401
    assert "Wrong username or password" in refused.get_data(as_text=True)
    signed = client.post(url, data={"username": "investigator",
                                    "password": "demo-password-123",
                                    "no_reaction_confirmed": "y"}, follow_redirects=True)
    page = signed.get_data(as_text=True)
    assert f"Dose 1 of {patient.subject_id} cleared." in page
    assert "Dose clearance" in page


def test_withdrawal_cancels_the_remaining_doses(db, users, patient):
    clear(users, patient.doses[0])
    for state in ("bag_ready", "verified", "infused"):
        service.transition_dose(patient.doses[0], state, by=users["nurse"])
    service.withdraw_patient(patient, by=users["investigator"], on=site_today(),
                             reason="consent withdrawn")
    assert patient.status == "withdrawn"
    assert [d.state for d in patient.doses] == ["infused", "cancelled", "cancelled"]
    with pytest.raises(DomainError, match="already withdrawn"):
        service.record_death(patient, by=users["investigator"], on=site_today(),
                             reason="liver failure")


def test_a_death_is_recorded_from_the_patient_page(db, users, patient, login_as):
    client = login_as("investigator")
    response = client.post(f"/trial/patients/{patient.subject_id}/status", data={
        "status": "dead", "on": site_today().isoformat(), "reason": "variceal bleeding"},
        follow_redirects=True)
    assert "Recorded; the remaining doses are cancelled." in response.get_data(as_text=True)
    assert patient.status == "dead"
    assert {d.state for d in patient.doses} == {"cancelled"}


def test_no_dose_of_a_withdrawn_patient_moves_on(db, users, patient):
    clear(users, patient.doses[0])
    service.transition_dose(patient.doses[0], "bag_ready", by=users["technician"])
    patient.status = "withdrawn"  # as if withdrawn in another request just now
    with pytest.raises(DomainError, match="is withdrawn: no dose may move on"):
        service.transition_dose(patient.doses[0], "verified", by=users["nurse"])


def test_next_due_dose_skips_doses_whose_window_ended(db, users, patient):
    assert service.next_due_dose(patient, on=site_today()).dose_number == 1
    later = site_today() + timedelta(days=1)
    assert service.next_due_dose(patient, on=later).dose_number == 2


def test_doses_due_today_are_listed_for_the_fill_session(db, users, patient):
    assert service.doses_due_on(site_today()) == [patient.doses[0]]
    assert service.doses_due_on(site_today() + timedelta(days=28)) == [patient.doses[1]]


def test_the_weight_for_the_next_dose_is_the_prepared_weight_once_recorded(db, users, patient):
    assert service.weight_for_next_dose(patient) == 70.0
    service.record_prepared_weight(patient.doses[0], 72.5, by=users["technician"])
    assert service.weight_for_next_dose(patient) == 72.5
