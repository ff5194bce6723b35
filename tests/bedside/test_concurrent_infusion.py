"""SPEC 4.8, 9: 16 devices starting the same bag at the same moment record exactly one infusion
(PostgreSQL, real commits)."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from tests.factories import DEMO_PASSWORD, make_demo_users
from tests.factories.custody import bag_on_ward
from ucmsc_lims.bedside import service
from ucmsc_lims.bedside.models import Infusion
from ucmsc_lims.extensions import db

DEVICES = 16


def _token(app) -> str:
    reply = app.test_client().post("/api/v1/auth/token",
                                   json={"username": "nurse", "password": DEMO_PASSWORD})
    return reply.get_json()["token"]


def test_sixteen_simultaneous_starts_record_one_infusion(committed_app, engine_kind):
    if engine_kind != "postgresql":
        pytest.skip("row locks and concurrent writers: PostgreSQL")
    with committed_app.app_context():
        users = make_demo_users()
        patient, bag = bag_on_ward(users, "A")
        verification = service.verify(
            patient_code=patient.code, bag_code=bag.code, weight_kg=70.0, by=users["nurse"],
            ward_code="L-WARD-5A", identity_confirmed=True, bag_intact=True)
        db.session.commit()
        service.confirm(verification, username="nurse2", password=DEMO_PASSWORD,
                        patient_code=patient.code, bag_code=bag.code, by=users["nurse2"])
        db.session.commit()
        verification_id, bag_pk = verification.id, bag.id
    tokens = [_token(committed_app) for _ in range(DEVICES)]
    barrier = threading.Barrier(DEVICES)
    statuses: list[int] = []
    lock = threading.Lock()

    def device(token: str) -> None:
        client = committed_app.test_client()
        barrier.wait()
        reply = client.post("/api/v1/infusions", json={"verification_id": verification_id},
                            headers={"Authorization": f"Bearer {token}"})
        with lock:
            statuses.append(reply.status_code)

    threads = [threading.Thread(target=device, args=(t,)) for t in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] + [409] * (DEVICES - 1)
    with committed_app.app_context():
        count = db.session.scalar(sa.select(sa.func.count()).select_from(Infusion).where(
            Infusion.bag_id == bag_pk))
        assert count == 1
