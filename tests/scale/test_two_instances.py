"""Past one server (SPEC 9, issue 9 item 4): two application instances on one PostgreSQL
database keep no state of their own. A lock-out earned on one holds on the other, an
Idempotency-Key used on one is answered again by the other, a bag started on both at once is
infused once, and with REDIS_URL set the login rate limit is counted across both."""

from __future__ import annotations

import http.client
import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from tests.conftest import DEMO_PASSWORD, TEST_CONFIG
from ucmsc_lims import create_app
from ucmsc_lims.extensions import db

REFUSED = "Wrong username or password, or the account is locked after repeated failures."
REDIS_URL = "redis://127.0.0.1:6379/15"


class Instance:
    """One served app on its own port, called over real HTTP."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def call(self, method: str, path: str, body: dict | None = None,
             headers: dict | None = None) -> tuple[int, dict, dict]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=json.dumps(body) if body is not None else None,
                               headers={"Content-Type": "application/json", **(headers or {})})
            response = connection.getresponse()
            raw = response.read()
            return response.status, (json.loads(raw) if raw else {}), dict(response.getheaders())
        finally:
            connection.close()

    def token(self, username: str) -> dict:
        status, body, _ = self.call("POST", "/api/v1/auth/token",
                                    {"username": username, "password": DEMO_PASSWORD})
        assert status == 201, body
        return {"Authorization": f"Bearer {body['token']}"}


@contextmanager
def two_instances(url: str, **config) -> Iterator[tuple[Instance, Instance]]:
    apps = [create_app({**TEST_CONFIG, "SERVER_NAME": None, "DATABASE_URL": url, **config})
            for _ in range(2)]
    instances = [Instance(app) for app in apps]
    try:
        yield instances[0], instances[1]
    finally:
        for instance in instances:
            instance.server.shutdown()
        for app in apps:
            with app.app_context():
                db.engine.dispose()


@pytest.fixture(scope="module")
def demo_database(database_factory) -> str:
    if database_factory.kind != "postgresql":
        pytest.skip("two instances share a PostgreSQL database")
    url = database_factory.new_database()
    app = create_app({**TEST_CONFIG, "DATABASE_URL": url})
    with app.app_context():
        from ucmsc_lims.demo.seed import refresh_today, seed

        seed()
        refresh_today()
        db.session.commit()
        db.engine.dispose()
    return url


@pytest.fixture(scope="module")
def pair(demo_database):
    with two_instances(demo_database, RATELIMIT_ENABLED=False, TRUSTED_PROXIES=1) as both:
        yield both


def bags_on_ward(url: str) -> list[dict]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT p.code AS patient_code, b.code AS bag_code, b.prepared_weight_kg "
                "FROM bag b JOIN patient p ON p.id = b.patient_id "
                "WHERE b.status = 'received_on_ward' ORDER BY b.id")).mappings().all()
    finally:
        engine.dispose()
    return [{"patient_code": r["patient_code"], "bag_code": r["bag_code"],
             "weight_kg": r["prepared_weight_kg"]} for r in rows]


def test_a_lock_out_earned_on_one_instance_holds_on_the_other(pair):
    first, second = pair
    assert second.call("POST", "/api/v1/auth/token",
                       {"username": "inspector", "password": DEMO_PASSWORD})[0] == 201
    for attempt in range(5):  # from three addresses: one address alone is only backed off
        instance = (first, second)[attempt % 2]
        status, body, _ = instance.call("POST", "/api/v1/auth/token",
                                        {"username": "inspector", "password": "wrong-password"},
                                        headers={"X-Forwarded-For": f"198.51.100.{attempt % 3}"})
        assert status == 401
    status, body, _ = second.call("POST", "/api/v1/auth/token",
                                  {"username": "inspector", "password": DEMO_PASSWORD})
    assert status == 401
    assert body["detail"] == REFUSED


def test_an_idempotency_key_used_on_one_instance_is_answered_again_by_the_other(
        pair, demo_database):
    first, second = pair
    body = bags_on_ward(demo_database)[0]
    key = {"Idempotency-Key": f"device-7-{uuid.uuid4()}"}
    status, answer, _ = first.call("POST", "/api/v1/bedside/verifications", body,
                                   {**first.token("nurse"), **key})
    assert status == 200 and answer["decision"] == "GO", answer
    status, again, headers = second.call("POST", "/api/v1/bedside/verifications", body,
                                         {**second.token("nurse"), **key})
    assert status == 200
    assert again["verification_id"] == answer["verification_id"]
    assert headers.get("Idempotent-Replayed") == "true"


def test_a_bag_started_on_both_instances_at_once_is_infused_exactly_once(pair, demo_database):
    first, second = pair
    body = bags_on_ward(demo_database)[-1]
    status, verified, _ = first.call("POST", "/api/v1/bedside/verifications", body,
                                     first.token("nurse"))
    assert verified["decision"] == "GO", verified
    status, confirmed, _ = second.call(
        "POST", f"/api/v1/bedside/verifications/{verified['verification_id']}/confirm",
        {"username": "nurse2", "password": DEMO_PASSWORD, "patient_code": body["patient_code"],
         "bag_code": body["bag_code"]}, second.token("nurse2"))
    assert status == 200, confirmed
    headers = {first: first.token("nurse"), second: second.token("nurse")}
    answers: list[tuple[int, dict]] = []
    start = threading.Barrier(8)

    def submit(instance: Instance) -> None:
        start.wait()
        status, answer, _ = instance.call("POST", "/api/v1/infusions",
                                          {"verification_id": verified["verification_id"]},
                                          headers[instance])
        answers.append((status, answer))

    threads = [threading.Thread(target=submit, args=((first, second)[n % 2],))
               for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    created = [answer for status, answer in answers if status == 201]
    assert len(created) == 1, answers
    assert sorted(status for status, _ in answers) == [201] + [409] * 7, answers
    engine = sa.create_engine(demo_database)
    try:
        with engine.connect() as conn:
            infusions = conn.scalar(sa.text(
                "SELECT count(*) FROM infusion i JOIN bag b ON b.id = i.bag_id "
                "WHERE b.code = :code"), {"code": body["bag_code"]})
    finally:
        engine.dispose()
    assert infusions == 1


def _redis_reachable() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping())
    except Exception:
        return False


def test_with_redis_the_login_rate_limit_counts_requests_to_both_instances(demo_database):
    if not _redis_reachable():
        pytest.skip("no Redis on 127.0.0.1:6379")
    config = {"RATELIMIT_ENABLED": True, "REDIS_URL": REDIS_URL,
              "LOGIN_RATE_LIMIT": "3 per minute",
              "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}"}
    with two_instances(demo_database, **config) as (first, second):
        attempt = {"username": "nobody-here", "password": "wrong-password"}
        statuses = [instance.call("POST", "/api/v1/auth/token", attempt)[0]
                    for instance in (first, second, first, second)]
    assert statuses == [401, 401, 401, 429]
