"""SPEC 4.5: a postponement shows blinded users only "product not available"; the true reason is
for unblinded roles."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.factories.trial import clear, enroll, make_allocation_list
from ucmsc_lims.audit import service as audit_reading
from ucmsc_lims.core.audit import AuditEntry
from ucmsc_lims.core.clock import site_today
from ucmsc_lims.core.errors import DomainError, NotPermitted
from ucmsc_lims.trial import service

TRUE_REASON = "Batch B-17 failed its cell count"


@pytest.fixture
def patient(db, users):
    make_allocation_list(users)
    return enroll(users, day0=site_today() + timedelta(days=2))


@pytest.fixture
def postponed(db, users, patient):
    service.postpone_dose(patient.doses[0], by=users["pharmacist"], true_reason=TRUE_REASON)
    db.session.flush()
    return patient


def test_the_pharmacist_postpones_with_the_blinded_reason(db, users, postponed):
    dose = postponed.doses[0]
    assert dose.state == "postponed"
    assert dose.postponed_reason_blinded == "product not available"
    unblinded = service.postponement_views(postponed, blinded=False)
    assert [(v.reason, v.true_reason) for v in unblinded] == [
        ("product not available", TRUE_REASON)]


def test_a_blinded_reader_never_gets_the_true_reason(db, users, postponed):
    views = service.postponement_views(postponed, blinded=True)
    assert [(v.reason, v.true_reason) for v in views] == [("product not available", None)]


def test_a_postponement_needs_a_true_reason(db, users, patient):
    with pytest.raises(DomainError, match="Give the true reason"):
        service.postpone_dose(patient.doses[0], by=users["pharmacist"], true_reason=" ")


def test_only_the_pharmacist_postpones(db, users, patient):
    with pytest.raises(NotPermitted):
        service.postpone_dose(patient.doses[0], by=users["investigator"], true_reason="x")


def test_a_cleared_dose_postponed_loses_its_clearance(db, users):
    make_allocation_list(users)
    patient = enroll(users)
    clear(users, patient.doses[0])
    service.postpone_dose(patient.doses[0], by=users["pharmacist"], true_reason=TRUE_REASON)
    assert patient.doses[0].cleared_at is None


def test_a_later_dose_is_rescheduled_only_inside_its_window(db, users):
    make_allocation_list(users)
    patient = enroll(users, day0=site_today())
    dose2 = patient.doses[1]
    with pytest.raises(DomainError, match="must stay inside its window"):
        service.postpone_dose(dose2, by=users["pharmacist"], true_reason=TRUE_REASON,
                              new_date=dose2.window_end + timedelta(days=1))
    assert dose2.state == "scheduled"
    service.postpone_dose(dose2, by=users["pharmacist"], true_reason=TRUE_REASON,
                          new_date=dose2.window_end)
    assert (dose2.state, dose2.due_on) == ("scheduled", dose2.window_end)


def test_postponing_dose_1_moves_day_0_and_the_later_doses(db, users, postponed):
    new_day0 = site_today() + timedelta(days=6)
    service.reschedule_dose(postponed.doses[0], new_day0, by=users["pharmacist"])
    assert postponed.day0 == new_day0
    assert [d.due_on - new_day0 for d in postponed.doses] == [
        timedelta(days=0), timedelta(days=28), timedelta(days=56)]
    assert postponed.doses[0].state == "scheduled"


@pytest.mark.parametrize("username", ["nurse", "investigator", "inspector"])
def test_the_patient_page_shows_blinded_readers_only_the_blinded_reason(
    db, users, postponed, login_as, username
):
    page = login_as(username).get(f"/trial/patients/{postponed.subject_id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "product not available" in text
    assert TRUE_REASON not in text
    assert "True reason" not in text


def test_the_pharmacist_reads_the_true_reason_on_the_patient_page(db, users, postponed, login_as):
    text = login_as("pharmacist").get(f"/trial/patients/{postponed.subject_id}").get_data(
        as_text=True)
    assert TRUE_REASON in text


def test_the_api_gives_a_nurse_the_blinded_reason_only(db, users, postponed, api_client):
    body = api_client("nurse").get(f"/api/v1/patients/{postponed.subject_id}")
    assert body.status_code == 200
    dose = body.get_json()["doses"][0]
    assert (dose["status"], dose["postponed_reason"]) == ("postponed", "product not available")
    assert TRUE_REASON not in body.get_data(as_text=True)


def test_the_blinded_audit_trail_holds_the_postponement_but_not_the_true_reason(
    db, users, postponed, login_as
):
    blinded = audit_reading.search(audit_reading.AuditFilter(), blinded=True)
    texts = " ".join(f"{e.action} {e.old} {e.new} {e.reason}" for e in blinded)
    assert "dose.postponed" in texts and "product not available" in texts
    assert TRUE_REASON not in texts
    page = login_as("inspector").get("/audit/").get_data(as_text=True)
    assert "dose.postponed" in page and TRUE_REASON not in page
    hidden = db.session.scalars(sa.select(AuditEntry).where(
        AuditEntry.action == "dose.postponement_reason")).one()
    assert hidden.blinded_visible is False and hidden.reason == TRUE_REASON


def test_the_postponement_page_is_the_pharmacists(db, users, patient, login_as):
    client = login_as("pharmacist")
    url = f"/trial/patients/{patient.subject_id}/doses/1/postpone"
    assert "product not available" in client.get(url).get_data(as_text=True)
    response = client.post(url, data={"true_reason": TRUE_REASON}, follow_redirects=True)
    assert "postponed: product not available" in response.get_data(as_text=True)
    assert patient.doses[0].state == "postponed"


def test_a_nurse_cannot_open_the_postponement_page(db, users, patient, login_as):
    url = f"/trial/patients/{patient.subject_id}/doses/1/postpone"
    assert login_as("nurse").get(url).status_code == 403


@pytest.mark.parametrize("role", ["nurse", "technician", "qa", "inspector"])
def test_only_the_pharmacist_and_the_investigator_reach_the_reschedule_and_missed_routes(
        users, postponed, login_as, role):
    page = login_as(role)
    dose_url = f"/trial/patients/{postponed.subject_id}/doses/1"
    tomorrow = (site_today() + timedelta(days=3)).isoformat()
    assert page.post(f"{dose_url}/reschedule", data={"new_date": tomorrow}).status_code == 403
    assert page.post(f"{dose_url}/missed", data={"reason": "no show"}).status_code == 403
    assert postponed.doses[0].state == "postponed"
