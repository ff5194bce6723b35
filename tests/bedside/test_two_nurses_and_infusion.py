"""SPEC 4.8: nurse 2 repeats both scans and signs; the verification lapses; the infusion
starts once, with the checks run again, and its record shows the next dose's window."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.factories import DEMO_PASSWORD
from ucmsc_lims.bagging import service as bagging
from ucmsc_lims.bedside import infusions, service
from ucmsc_lims.bedside.models import NearMiss
from ucmsc_lims.core.db import utcnow
from ucmsc_lims.core.errors import DomainError
from ucmsc_lims.core.esign import signatures_for


def _confirm(users, verification, patient, bag, *, who="nurse2", password=DEMO_PASSWORD,
             now=None):
    confirmed = service.confirm(verification, username=who, password=password,
                                patient_code=patient.code, bag_code=bag.code, by=users[who],
                                now=now)
    service.db.session.commit()
    return confirmed


def test_second_nurse_signs_and_the_bag_and_dose_become_verified(on_ward, verify, users):
    patient, bag = on_ward("B")
    verification = _confirm(users, verify(patient.code, bag.code), patient, bag)
    assert verification.confirmed_by_id == users["nurse2"].id
    assert bag.status == "verified" and bag.dose.state == "verified"
    [signature] = signatures_for(service.db.session, "verification", str(verification.id))
    assert signature.meaning == "bedside_verification"
    assert signature.user_id == users["nurse2"].id


def test_a_nurse_cannot_confirm_their_own_verification(on_ward, verify, users):
    patient, bag = on_ward("A")
    verification = verify(patient.code, bag.code)
    with pytest.raises(DomainError, match="cannot confirm their own verification"):
        _confirm(users, verification, patient, bag, who="nurse")
    assert bag.status == "received_on_ward"


def test_a_wrong_password_is_refused_and_counted(on_ward, verify, users):
    patient, bag = on_ward("A")
    verification = verify(patient.code, bag.code)
    with pytest.raises(DomainError, match="username or password was not accepted"):
        _confirm(users, verification, patient, bag, password="wrong-password-000")
    assert users["nurse2"].failed_logins == 1
    assert verification.confirmed_at is None


def test_a_user_who_is_not_a_nurse_cannot_confirm(on_ward, verify, users):
    patient, bag = on_ward("B")
    verification = verify(patient.code, bag.code)
    with pytest.raises(DomainError, match="Only a nurse may confirm"):
        service.confirm(verification, username="investigator", password=DEMO_PASSWORD,
                        patient_code=patient.code, bag_code=bag.code, by=users["nurse"])


def test_a_different_bag_at_the_second_scan_is_no_go_and_a_near_miss(on_ward, verify, users,
                                                                     db):
    patient, bag = on_ward("A")
    _, other_bag = on_ward("B")
    verification = verify(patient.code, bag.code)
    with pytest.raises(service.ChecksFailed) as refused:
        service.confirm(verification, username="nurse2", password=DEMO_PASSWORD,
                        patient_code=patient.code, bag_code=other_bag.code, by=users["nurse2"])
    assert "the second bag scan does not match the first" in refused.value.message
    miss = db.session.scalars(service.sa.select(NearMiss).where(
        NearMiss.stage == "confirmation")).one()
    assert miss.verification_id == verification.id
    assert bagging.get_bag(bag.bag_id).status == "received_on_ward"


def test_a_verification_lapses_after_its_validity_and_the_bag_reads_received_again(
        on_ward, verify, users):
    patient, bag = on_ward("A")
    verification = _confirm(users, verify(patient.code, bag.code), patient, bag)
    later = verification.confirmed_at + timedelta(minutes=31)
    assert service.effective_bag_status(bag, verification.confirmed_at) == "verified"
    assert service.effective_bag_status(bag, later) == "received_on_ward"
    assert bag.status == "verified"  # reading never writes
    with pytest.raises(service.ChecksFailed, match="verification lapsed at"):
        service.start_infusion(verification, by=users["nurse"], now=later)


def test_after_a_lapse_the_nurses_verify_again_and_may_start(on_ward, verify, users):
    patient, bag = on_ward("B")
    first = _confirm(users, verify(patient.code, bag.code), patient, bag,
                     now=utcnow() - timedelta(minutes=45))
    assert not service.is_valid(first)
    second = _confirm(users, verify(patient.code, bag.code), patient, bag)
    infusion = service.start_infusion(second, by=users["nurse"])
    assert infusion.bag_id == bag.id and bag.status == "infusing"


def test_starting_reruns_the_checks_and_refuses_a_bag_put_on_hold_since(on_ward, verify,
                                                                         users):
    patient, bag = on_ward("A")
    verification = _confirm(users, verify(patient.code, bag.code), patient, bag)
    bagging.transition_bag(bag, "on_hold", by=users["pharmacist"], reason="look-back")
    service.db.session.commit()
    with pytest.raises(service.ChecksFailed, match="product on hold: contact pharmacy"):
        service.start_infusion(verification, by=users["nurse"])
    assert service.infusion_of(verification) is None


def test_a_second_start_of_the_same_bag_is_refused_already_infused(on_ward, verify, users):
    patient, bag = on_ward("B")
    verification = _confirm(users, verify(patient.code, bag.code), patient, bag)
    service.start_infusion(verification, by=users["nurse"])
    service.db.session.commit()
    with pytest.raises(service.ChecksFailed, match="bag already infused"):
        service.start_infusion(verification, by=users["nurse2"])


def test_the_infusion_record_ends_the_bag_and_shows_the_next_dose_window(on_ward, verify,
                                                                        users):
    patient, bag = on_ward("A")
    verification = _confirm(users, verify(patient.code, bag.code), patient, bag)
    infusion = service.start_infusion(verification, by=users["nurse"])
    assert bag.dose.state == "infused"
    infusions.end_infusion(
        infusion, by=users["nurse"], outcome="completed", volume_infused_ml=98,
        rate_ml_per_h=100, vitals_before={"heart_rate_bpm": 72, "systolic_mmhg": 120},
        vitals_after={"heart_rate_bpm": 80}, premedication="none",
        adverse_events=[infusions.AdverseEventEntry("Fever", 1)])
    assert bag.status == "infused"
    assert infusion.adverse_events[0].term == "Fever"
    following = infusions.next_dose(infusion)
    assert following.dose_number == 2
    assert following.window_start <= following.due_on <= following.window_end


def test_a_stopped_infusion_needs_its_reason(on_ward, verify, users):
    patient, bag = on_ward("B")
    verification = _confirm(users, verify(patient.code, bag.code), patient, bag)
    infusion = service.start_infusion(verification, by=users["nurse"])
    with pytest.raises(DomainError, match="reason the infusion was stopped"):
        infusions.end_infusion(infusion, by=users["nurse"], outcome="stopped",
                               volume_infused_ml=20)


def test_every_no_go_is_kept_as_a_near_miss_listed_for_qa(on_ward, verify, login_as):
    patient, _ = on_ward("A")
    verify(patient.code, "ZZZZZZZZZZ01Q", weight_kg=70)
    page = login_as("qa").get("/bedside/near-misses")
    assert page.status_code == 200
    assert "bag not known" in page.get_data(as_text=True)


def test_a_verification_runs_a_bounded_number_of_queries_the_same_for_both_arms(
        on_ward, verify, users, query_counter):
    counts = {}
    for arm in ("A", "B"):
        patient, bag = on_ward(arm)
        codes = patient.code, bag.code
        service.db.session.expire_all()
        assert users["nurse"].can("bedside.verify")  # the signed-in nurse, loaded per request
        with query_counter() as counted:
            verify(*codes)
        counts[arm] = counted.statements
    assert [s.split()[:3] for s in counts["A"]] == [s.split()[:3] for s in counts["B"]]
    # The bag with every fact the checks need, the patient with the next dose due, the
    # verification and its audit entry (bedside/facts.py).
    assert len(counts["A"]) == 4
