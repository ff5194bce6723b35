"""The login rate limit (SPEC 6) is counted where every worker sees it: in the database
without Redis, in Redis when REDIS_URL is set; never per process."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid

import pytest
import redis
import sqlalchemy as sa

from tests.conftest import DEMO_PASSWORD, TEST_CONFIG
from ucmsc_lims import PROJECT_ROOT, create_app
from ucmsc_lims.auth.models import SignInAttempt
from ucmsc_lims.core.db import utcnow
from ucmsc_lims.extensions import db as _db
from ucmsc_lims.extensions import limiter

REDIS_URL = "redis://127.0.0.1:6379/13"
LIMITED = {"RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "3 per minute", "REDIS_URL": None}

# A second server process on the same database, as a second gunicorn worker is.
OTHER_WORKER = """
import json, sys
from ucmsc_lims import create_app
app = create_app(json.loads(sys.argv[1]))
client = app.test_client()
print(json.dumps([client.post("/login", data={"username": "qa", "password": "guess-number-x"})
                  .status_code for _ in range(int(sys.argv[2]))]))
"""


@pytest.fixture
def limited(database_factory):
    """Apps that enforce a login limit of 3 a minute on one database of their own.

    Flask-Limiter keeps `enabled` and its storage on its one shared object, so `enabled` is
    switched back for the other tests' apps afterwards.
    """
    was_enabled = limiter.enabled
    url = database_factory.new_database()
    made = []

    def make(**overrides):
        app = create_app({**TEST_CONFIG, **LIMITED, "DATABASE_URL": url, **overrides})
        made.append(app)
        return app

    yield make
    limiter.enabled = was_enabled
    for app in made:
        with app.app_context():
            _db.engine.dispose()


def _guess(client, address: str = "127.0.0.1") -> int:
    return client.post("/login", data={"username": "qa", "password": "guess-number-x"},
                       environ_base={"REMOTE_ADDR": address}).status_code


def _other_worker(config: dict, attempts: int) -> list[int]:
    done = subprocess.run(
        [sys.executable, "-c", OTHER_WORKER, json.dumps(config, default=str), str(attempts)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_two_server_processes_on_one_database_share_the_count(limited):
    # A process of its own: two apps in one process would share Flask-Limiter's one object.
    app = limited()
    settings = {**TEST_CONFIG, **LIMITED, "DATABASE_URL": app.config["DATABASE_URL"]}

    elsewhere = _other_worker(settings, 2)
    here = [_guess(app.test_client()) for _ in range(2)]

    assert elsewhere + here == [401, 401, 401, 429]


def test_the_refusal_says_when_to_try_again(limited):
    client = limited().test_client()
    for _ in range(3):
        _guess(client)

    response = client.post("/login", data={"username": "qa", "password": DEMO_PASSWORD})

    assert response.status_code == 429
    wait = re.search(r"Too many sign-in attempts from your address\. Try again in (\d+) "
                     r"seconds\.", response.get_data(as_text=True))
    assert wait and 1 <= int(wait.group(1)) <= 60


def test_each_address_has_its_own_count(limited):
    client = limited().test_client()
    for _ in range(3):
        _guess(client, "198.51.100.7")

    assert _guess(client, "198.51.100.7") == 429
    assert _guess(client, "198.51.100.8") == 401


def test_the_token_endpoint_shares_the_count_with_the_login_form(limited):
    client = limited().test_client()
    for _ in range(3):
        _guess(client)

    response = client.post("/api/v1/auth/token",
                           json={"username": "qa", "password": "guess-number-x"})

    assert response.status_code == 429
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["detail"].startswith("Too many sign-in attempts")


def test_attempts_older_than_the_window_no_longer_count(limited):
    app = limited()
    client = app.test_client()
    for _ in range(3):
        _guess(client)
    with app.app_context():
        _db.session.execute(sa.update(SignInAttempt).values(
            attempted_at=utcnow().replace(year=2000)))
        _db.session.commit()

    assert _guess(client) == 401


@pytest.fixture
def redis_prefix():
    server = redis.Redis.from_url(REDIS_URL)
    try:
        server.ping()
    except redis.ConnectionError:
        pytest.skip("no Redis at 127.0.0.1:6379")
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    yield prefix
    for key in server.scan_iter(f"*{prefix}*"):
        server.delete(key)


def test_with_redis_the_count_is_kept_in_redis(limited, redis_prefix):
    app = limited(REDIS_URL=REDIS_URL, RATELIMIT_KEY_PREFIX=redis_prefix)
    with app.app_context():  # three sign-ins the database would count: Redis does not see them
        for _ in range(3):
            _db.session.add(SignInAttempt(address="127.0.0.1", username="qa", purpose="sign_in",
                                          succeeded=True, attempted_at=utcnow()))
        _db.session.commit()
    client = app.test_client()

    answers = [_guess(client) for _ in range(4)]

    assert answers == [401, 401, 401, 429]
