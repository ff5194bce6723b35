"""SPEC 4.9: emergency unblinding is requested with a reason, confirmed by the pharmacist's
signature, shown to the requester only, audited and reported without the arm for blinded
readers."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.factories import make_user
from tests.factories.trial import enroll, make_allocation_list
from ucmsc_lims.audit import service as audit_reading
from ucmsc_lims.core.audit import AuditEntry
from ucmsc_lims.core.clock import site_today
from ucmsc_lims.core.errors import AuthenticationFailed, DomainError, NotPermitted
from ucmsc_lims.protocol import service as protocol
from ucmsc_lims.trial import service, unblinding

REASON = "Severe hepatic decompensation; treating team must know the product"
PASSWORD = "demo-password-123"


@pytest.fixture
def patient(db, users):
    make_allocation_list(users)
    return enroll(users)


@pytest.fixture
def confirmed(db, users, patient):
    record = unblinding.request_unblinding(patient, by=users["investigator"], reason=REASON)
    unblinding.confirm_unblinding(record, by=users["pharmacist"], password=PASSWORD)
    db.session.flush()
    return record


def test_a_request_needs_a_reason(db, users, patient):
    with pytest.raises(DomainError, match="Give the medical reason"):
        unblinding.request_unblinding(patient, by=users["investigator"], reason="  ")


def test_only_an_investigator_requests(db, users, patient):
    with pytest.raises(NotPermitted):
        unblinding.request_unblinding(patient, by=users["nurse"], reason=REASON)


def test_confirmation_is_the_pharmacists_signature(db, users, confirmed):
    assert confirmed.status == "confirmed"
    assert confirmed.confirmed_by_id == users["pharmacist"].id
    signature = db.session.get(unblinding.esign.Signature, confirmed.signature_id)
    assert signature.meaning == "emergency_unblinding"


def test_a_wrong_password_does_not_confirm(db, users, patient):
    record = unblinding.request_unblinding(patient, by=users["investigator"], reason=REASON)
    with pytest.raises(AuthenticationFailed):
        unblinding.confirm_unblinding(record, by=users["pharmacist"], password="wrong-one-123")
    assert record.status == "requested"


def test_an_investigator_cannot_confirm_unless_the_protocol_allows(db, users, patient):
    record = unblinding.request_unblinding(patient, by=users["investigator"], reason=REASON)
    with pytest.raises(NotPermitted, match="Only the pharmacist confirms"):
        unblinding.confirm_unblinding(record, by=users["investigator"], password=PASSWORD)
    protocol.change_setting("investigator_may_unblind", "yes", effective_from=site_today(),
                            reason="protocol amendment 3", by=users["admin"])
    unblinding.confirm_unblinding(record, by=users["investigator"], password=PASSWORD)
    assert record.status == "confirmed"


def test_the_arm_is_not_shown_before_confirmation(db, users, patient):
    record = unblinding.request_unblinding(patient, by=users["investigator"], reason=REASON)
    with pytest.raises(DomainError, match="not confirmed yet"):
        unblinding.reveal_arm(record, to=users["investigator"])


def test_the_arm_is_shown_to_the_requester_only(db, users, patient, confirmed):
    assert unblinding.reveal_arm(confirmed, to=users["investigator"]) == service.arm_of(patient)
    colleague = make_user("investigator2", {"investigator"})
    with pytest.raises(NotPermitted, match="only to the investigator who requested it"):
        unblinding.reveal_arm(confirmed, to=colleague)


def test_the_requesters_page_shows_the_arm_and_a_colleagues_is_refused(
    db, users, patient, confirmed, client, auth
):
    arm = service.arm_of(patient)
    auth.login("investigator")
    page = client.get(f"/trial/unblinding/{confirmed.id}").get_data(as_text=True)
    assert f"Arm <strong>{arm}</strong>" in page
    auth.logout()
    make_user("investigator2", {"investigator"})
    auth.login("investigator2")
    assert client.get(f"/trial/unblinding/{confirmed.id}").status_code == 403


def test_request_and_confirmation_through_the_pages(db, users, patient, client, auth):
    auth.login("investigator")
    response = client.post(f"/trial/patients/{patient.subject_id}/unblinding",
                           data={"reason": REASON}, follow_redirects=True)
    assert "Waiting for the pharmacist" in response.get_data(as_text=True)
    record = unblinding.requests(patient=patient)[0]
    auth.logout()
    auth.login("pharmacist")
    refused = client.post(f"/trial/unblinding/{record.id}/confirm",
                          data={"username": "pharmacist", "password": "wrong-password!"})
    assert refused.status_code == 401 and record.status == "requested"
    done = client.post(f"/trial/unblinding/{record.id}/confirm",
                       data={"username": "pharmacist", "password": PASSWORD},
                       follow_redirects=True)
    assert "Emergency unblinding confirmed" in done.get_data(as_text=True)
    assert record.status == "confirmed"


def test_the_blinded_audit_trail_names_patient_and_reason_never_the_arm(
    db, users, patient, confirmed
):
    unblinding.reveal_arm(confirmed, to=users["investigator"])
    entries = audit_reading.search(audit_reading.AuditFilter(), blinded=True)
    unblinding_entries = [e for e in entries if e.action.startswith("unblinding.")]
    assert {e.action for e in unblinding_entries} == {
        "unblinding.requested", "unblinding.confirmed", "unblinding.shown"}
    for entry in unblinding_entries:
        assert patient.subject_id in entry.new
        assert '"arm"' not in (entry.new or "") and "arm" not in (entry.old or "")
    assert REASON in " ".join(e.reason or "" for e in unblinding_entries)
    # Nothing a blinded reader sees names the arm of this patient at all.
    assert not [e for e in entries if '"arm"' in (e.new or "")]
    hidden = db.session.scalars(sa.select(AuditEntry).where(
        AuditEntry.action == "allocation.assigned")).one()
    assert hidden.blinded_visible is False


def test_the_report_shows_the_arm_to_unblinded_readers_only(
    db, users, patient, confirmed, login_as, client, auth
):
    arm = service.arm_of(patient)
    assert unblinding.report(by=users["pharmacist"]) == [(confirmed, arm)]
    assert unblinding.report(by=users["inspector"]) == [(confirmed, None)]
    auth.login("inspector")
    page = client.get("/trial/unblinding").get_data(as_text=True)
    assert patient.subject_id in page and REASON in page and ">Arm<" not in page
    auth.logout()
    auth.login("pharmacist")
    page = client.get("/trial/unblinding").get_data(as_text=True)
    assert ">Arm<" in page and f"<td>{arm}</td>" in page


def test_the_report_is_closed_to_nurses_and_investigators(db, users, login_as):
    assert login_as("nurse").get("/trial/unblinding").status_code == 403


@pytest.mark.parametrize("role", ["nurse", "technician", "qa", "inspector"])
def test_roles_outside_the_unblinding_are_refused_by_its_routes(db, users, patient, login_as,
                                                                 role):
    record = unblinding.request_unblinding(patient, by=users["investigator"], reason=REASON)
    page = login_as(role)
    assert page.get(f"/trial/unblinding/{record.id}").status_code == 403
    assert page.post(f"/trial/unblinding/{record.id}/confirm", data={
        "username": role, "password": PASSWORD}).status_code == 403
    assert record.status == "requested"
