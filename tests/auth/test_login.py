"""Signing in (SPEC 6): passwords, lock-out, idle timeout, CSRF and the login rate limit."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.conftest import DEMO_PASSWORD, TEST_CONFIG
from ucmsc_lims import create_app
from ucmsc_lims.auth.service import CREDENTIALS_REFUSED
from ucmsc_lims.core.audit import AuditEntry
from ucmsc_lims.core.db import utcnow
from ucmsc_lims.extensions import db as _db
from ucmsc_lims.extensions import limiter


def _actions(db) -> list[str]:
    return list(db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)))


def _csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def test_the_login_page_asks_for_username_and_password(client):
    page = client.get("/login").get_data(as_text=True)

    assert '<label for="username">Username</label>' in page
    assert '<label for="password">Password</label>' in page
    assert ">Sign in</button>" in page


def test_signing_in_opens_the_start_page_with_the_users_name(client, auth, users, db):
    response = auth.login("qa")

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert "Welcome, Qiao Li (QA)" in client.get("/").get_data(as_text=True)
    assert "auth.signed_in" in _actions(db)


def test_signing_in_returns_to_the_page_asked_for(client, users):
    response = client.post("/login?next=/audit/", data={"username": "qa",
                                                        "password": DEMO_PASSWORD})

    assert response.headers["Location"] == "/audit/"


def test_signing_in_never_bounces_to_another_site(client, users):
    response = client.post("/login?next=//evil.example/", data={"username": "qa",
                                                               "password": DEMO_PASSWORD})

    assert response.headers["Location"] == "/"


def test_a_wrong_password_is_refused_in_plain_words(client, auth, users):
    response = auth.login("qa", "not-the-password")

    assert response.status_code == 401
    assert CREDENTIALS_REFUSED in response.get_data(as_text=True)
    assert users["qa"].failed_logins == 1
    assert client.get("/").status_code == 302  # still signed out


def test_an_unknown_username_gets_the_same_answer_as_a_wrong_password(auth, users, db):
    response = auth.login("nobody", "whatever-it-is")

    assert response.status_code == 401
    assert CREDENTIALS_REFUSED in response.get_data(as_text=True)
    assert _actions(db)[-1] == "auth.failed"


def test_a_locked_account_loses_its_open_session(client, login_as, users, db):
    login_as("nurse")
    users["nurse"].locked_until = utcnow() + timedelta(minutes=15)
    db.session.flush()

    response = client.get("/")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_an_idle_session_is_signed_out(client, login_as, db):
    login_as("qa")
    with client.session_transaction() as session:
        session["last_seen"] = (utcnow() - timedelta(minutes=16)).timestamp()

    response = client.get("/audit/")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/audit/")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "You were signed out after a period of inactivity." in page
    assert client.get("/").status_code == 302
    assert _actions(db)[-1] == "auth.signed_out"


def test_an_active_session_stays_signed_in(client, login_as):
    login_as("qa")
    with client.session_transaction() as session:
        session["last_seen"] = (utcnow() - timedelta(minutes=14)).timestamp()

    assert client.get("/").status_code == 200


def test_signing_out_ends_the_session(client, login_as, auth, db):
    login_as("qa")

    response = auth.logout()

    assert response.headers["Location"] == "/login"
    assert client.get("/").status_code == 302
    assert _actions(db)[-1] == "auth.signed_out"


def test_the_session_cookie_is_http_only_and_same_site(client, auth, users):
    response = auth.login("qa")

    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


# -- CSRF --------------------------------------------------------------------------------------


@pytest.fixture
def csrf_on(app, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)


def test_a_sign_in_without_a_csrf_token_is_refused(client, users, csrf_on):
    response = client.post("/login", data={"username": "qa", "password": DEMO_PASSWORD})

    assert response.status_code == 400
    assert "The CSRF token is missing." in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_a_sign_in_with_the_forms_csrf_token_is_accepted(client, users, csrf_on):
    token = _csrf_token(client.get("/login").get_data(as_text=True))

    response = client.post("/login", data={"username": "qa", "password": DEMO_PASSWORD,
                                           "csrf_token": token})

    assert response.status_code == 302


def test_a_signed_in_form_post_without_a_csrf_token_is_refused(client, login_as, app,
                                                               monkeypatch, db):
    login_as("admin")
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)

    response = client.post("/protocol/", data={
        "key": "dose_count", "value": "4", "effective_from": "2030-01-01", "reason": "amendment",
    })

    assert response.status_code == 400
    assert "The CSRF token is missing." in response.get_data(as_text=True)
    assert "protocol.setting_changed" not in _actions(db)


def test_the_api_needs_no_csrf_token_as_it_reads_only_bearer_tokens(client, users, csrf_on):
    response = client.post("/api/v1/auth/token",
                           json={"username": "qa", "password": DEMO_PASSWORD})

    assert response.status_code == 201


# -- the rate limit ----------------------------------------------------------------------------


@pytest.fixture
def rate_limited_app(database_factory):
    """An app that enforces a login limit of 3 a minute.

    Flask-Limiter keeps `enabled` on its one shared object, so it is switched back for the
    other tests' apps afterwards.
    """
    was_enabled = limiter.enabled
    app = create_app({**TEST_CONFIG, "DATABASE_URL": database_factory.new_database(),
                      "RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "3 per minute"})
    limiter.reset()
    yield app
    limiter.enabled = was_enabled
    with app.app_context():
        _db.engine.dispose()


def test_the_login_form_answers_429_after_the_limit(rate_limited_app):
    client = rate_limited_app.test_client()
    answers = [
        client.post("/login", data={"username": "qa", "password": "guess-number-x"}).status_code
        for _ in range(4)
    ]

    assert answers == [401, 401, 401, 429]


def test_the_token_endpoint_answers_429_after_the_limit(rate_limited_app):
    client = rate_limited_app.test_client()
    for _ in range(3):
        client.post("/api/v1/auth/token", json={"username": "qa", "password": "guess-number-x"})

    response = client.post("/api/v1/auth/token", json={"username": "qa",
                                                       "password": "guess-number-x"})

    assert response.status_code == 429
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 429
