"""SPEC 7: a retry with the same Idempotency-Key gets the first reply, on both engines with real
commits. A refusal is a first reply too; a failed request (5xx) leaves no claim; a claim that
holds no reply yet is answered 409 "still in progress", never an empty 200."""

from __future__ import annotations

import json
import threading

import pytest
import sqlalchemy as sa

from tests.factories import DEMO_PASSWORD, make_demo_users
from tests.factories.custody import WARD, bag_on_ward
from ucmsc_lims.auth.service import get_user_by_username
from ucmsc_lims.bedside import service
from ucmsc_lims.bedside.models import Infusion, NearMiss
from ucmsc_lims.core.idempotency import IdempotencyRecord, request_digest
from ucmsc_lims.extensions import db

DEVICES = 16
IN_PROGRESS = ("The first request with this Idempotency-Key is still in progress: wait for its "
               "answer, then send it again.")


def _token(app, username: str = "nurse") -> dict:
    reply = app.test_client().post("/api/v1/auth/token",
                                   json={"username": username, "password": DEMO_PASSWORD})
    return {"Authorization": f"Bearer {reply.get_json()['token']}"}


def _verification(app, *, confirmed: bool = True, weight_kg: float = 70.0) -> int:
    """A nurse's committed verification of a bag on the ward, confirmed by nurse 2 if asked."""
    with app.app_context():
        users = make_demo_users()
        patient, bag = bag_on_ward(users, "A")
        verification = service.verify(
            patient_code=patient.code, bag_code=bag.code, weight_kg=weight_kg,
            by=users["nurse"], ward_code=WARD, identity_confirmed=True, bag_intact=True)
        db.session.commit()
        if confirmed:
            service.confirm(verification, username="nurse2", password=DEMO_PASSWORD,
                            patient_code=patient.code, bag_code=bag.code, by=users["nurse2"])
            db.session.commit()
        return verification.id


def _start(app, verification_id: int, token: dict, key: str):
    return app.test_client().post("/api/v1/infusions", json={"verification_id": verification_id},
                                  headers={**token, "Idempotency-Key": key})


def _count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def _claims_without_reply(app) -> int:
    return _count(app, IdempotencyRecord, IdempotencyRecord.status.is_(None))


def test_sixteen_devices_retrying_one_start_record_one_infusion_and_the_first_reply(
        committed_app):
    verification_id = _verification(committed_app)
    token = _token(committed_app)
    barrier = threading.Barrier(DEVICES)
    replies: list[tuple[int, bytes, bool]] = []
    lock = threading.Lock()

    def device() -> None:
        client = committed_app.test_client()
        barrier.wait()
        reply = client.post("/api/v1/infusions", json={"verification_id": verification_id},
                            headers={**token, "Idempotency-Key": "bedside-tablet-4"})
        with lock:
            replies.append((reply.status_code, reply.data,
                            reply.headers.get("Idempotent-Replayed") == "true"))

    threads = [threading.Thread(target=device) for _ in range(DEVICES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    first = [(status, body) for status, body, replayed in replies if not replayed]
    assert len(first) == 1 and first[0][0] == 201, replies
    for status, body, _replayed in replies:
        assert (status, body) == first[0] or (
            status == 409 and json.loads(body)["detail"] == IN_PROGRESS), (status, body)
    assert _count(committed_app, Infusion, Infusion.verification_id == verification_id) == 1
    assert _claims_without_reply(committed_app) == 0


def test_a_refused_start_retried_with_the_same_key_gets_the_first_refusal(committed_app):
    verification_id = _verification(committed_app, confirmed=False)
    token = _token(committed_app)
    refused = _start(committed_app, verification_id, token, "tablet-2-start")
    assert refused.status_code == 409
    assert "not confirmed by a second nurse" in refused.get_json()["detail"]
    with committed_app.app_context():
        verification = service.get_verification(verification_id)
        service.confirm(verification, username="nurse2", password=DEMO_PASSWORD,
                        patient_code=verification.patient_code_scanned,
                        bag_code=verification.bag_code_scanned,
                        by=get_user_by_username("nurse2"))
        db.session.commit()

    retried = _start(committed_app, verification_id, token, "tablet-2-start")

    assert (retried.status_code, retried.data) == (refused.status_code, refused.data)
    assert retried.headers["Idempotent-Replayed"] == "true"
    assert _count(committed_app, Infusion, Infusion.verification_id == verification_id) == 0
    assert _count(committed_app, NearMiss, NearMiss.verification_id == verification_id) == 1
    assert _claims_without_reply(committed_app) == 0
    assert _start(committed_app, verification_id, token, "tablet-2-again").status_code == 201


def test_a_refusal_raised_by_the_service_is_replayed_to_the_retry(committed_app):
    verification_id = _verification(committed_app, confirmed=False, weight_kg=95.0)  # NO-GO
    token = _token(committed_app)
    refused = _start(committed_app, verification_id, token, "tablet-9-start")
    assert refused.status_code == 409
    assert refused.get_json()["detail"] == (
        "This verification was NO-GO: no infusion can start from it.")

    retried = _start(committed_app, verification_id, token, "tablet-9-start")

    assert (retried.status_code, retried.data) == (refused.status_code, refused.data)
    assert retried.headers["Idempotent-Replayed"] == "true"
    assert _count(committed_app, IdempotencyRecord, IdempotencyRecord.status == 409) == 1
    assert _claims_without_reply(committed_app) == 0


def test_a_failed_start_leaves_no_claim_and_its_retry_runs_afresh(committed_app, monkeypatch):
    committed_app.config["PROPAGATE_EXCEPTIONS"] = False  # the 500 a device gets in production
    verification_id = _verification(committed_app)
    token = _token(committed_app)
    real_start = service.start_infusion

    def start_then_fail(*args, **kwargs):
        real_start(*args, **kwargs)
        db.session.flush()
        raise RuntimeError("the database connection was lost")

    monkeypatch.setattr(service, "start_infusion", start_then_fail)
    failed = _start(committed_app, verification_id, token, "tablet-5-start")
    assert failed.status_code == 500
    assert failed.get_json()["detail"] == (
        "The server could not complete the request; nothing was changed.")
    assert _count(committed_app, IdempotencyRecord) == 0
    monkeypatch.setattr(service, "start_infusion", real_start)

    retried = _start(committed_app, verification_id, token, "tablet-5-start")

    assert retried.status_code == 201, retried.get_json()
    assert "Idempotent-Replayed" not in retried.headers
    assert _count(committed_app, Infusion, Infusion.verification_id == verification_id) == 1
    assert _count(committed_app, IdempotencyRecord, IdempotencyRecord.status == 201) == 1


@pytest.mark.parametrize("path", ["/api/v1/infusions", "/api/v1/bedside/verifications"])
def test_a_claim_that_holds_no_reply_yet_is_answered_in_progress_never_200(committed_app, path):
    verification_id = _verification(committed_app)
    token = _token(committed_app)
    with committed_app.app_context():
        verification = service.get_verification(verification_id)
        body = json.dumps({"verification_id": verification_id} if path.endswith("infusions") else
                          {"patient_code": verification.patient_code_scanned,
                           "bag_code": verification.bag_code_scanned, "weight_kg": 70}).encode()
        # What a request still running has claimed (or the old SQLite savepoint left behind).
        db.session.add(IdempotencyRecord(user_id=verification.nurse_id, key="tablet-1",
                                         request_digest=request_digest("POST", path, body)))
        db.session.commit()

    reply = committed_app.test_client().post(
        path, data=body, content_type="application/json",
        headers={**token, "Idempotency-Key": "tablet-1"})

    assert reply.status_code == 409
    assert reply.get_json()["detail"] == IN_PROGRESS
    assert _count(committed_app, Infusion, Infusion.verification_id == verification_id) == 0
    assert _count(committed_app, IdempotencyRecord) == 1
