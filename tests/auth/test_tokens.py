"""API bearer tokens (SPEC 6, 7): random, stored as digests, expiring and revocable."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from tests.conftest import DEMO_PASSWORD
from ucmsc_lims.auth.models import ApiToken
from ucmsc_lims.auth.service import CREDENTIALS_REFUSED
from ucmsc_lims.core.db import utcnow


def _issue(client, username: str = "qa", password: str = DEMO_PASSWORD):
    return client.post("/api/v1/auth/token", json={"username": username, "password": password})


def _token_row(db, raw: str) -> ApiToken:
    digest = hashlib.sha256(raw.encode()).hexdigest()
    return db.session.scalars(sa.select(ApiToken).where(ApiToken.digest == digest)).one()


def _bearer(raw: str) -> dict:
    return {"Authorization": f"Bearer {raw}"}


def test_a_token_is_issued_for_the_right_password(client, users):
    response = _issue(client)

    assert response.status_code == 201
    body = response.get_json()
    assert len(body["token"]) >= 43  # 256 random bits, base64url
    expires_at = datetime.fromisoformat(body["expires_at"])
    assert expires_at.utcoffset() is not None
    assert timedelta(hours=11) < expires_at - utcnow() <= timedelta(hours=12)


def test_a_token_is_stored_only_as_its_sha256_digest(client, users, db):
    raw = _issue(client).get_json()["token"]

    row = _token_row(db, raw)
    assert row.user.username == "qa"
    assert raw not in row.digest


def test_a_wrong_password_gets_no_token(client, users):
    response = _issue(client, password="not-the-password")

    assert response.status_code == 401
    assert response.get_json()["detail"] == CREDENTIALS_REFUSED
    assert users["qa"].failed_logins == 1


def test_a_token_opens_the_api_for_its_user(client, users):
    raw = _issue(client).get_json()["token"]

    response = client.get("/api/v1/audit/verify", headers=_bearer(raw))

    assert response.status_code == 200


@pytest.mark.parametrize("scheme", ["Basic", "Token", ""])
def test_only_bearer_tokens_are_accepted(client, users, scheme):
    raw = _issue(client).get_json()["token"]

    response = client.get("/api/v1/audit/verify",
                          headers={"Authorization": f"{scheme} {raw}".strip()})

    assert response.status_code == 401


def test_a_revoked_token_is_refused(client, users, db):
    raw = _issue(client).get_json()["token"]

    revoked = client.delete("/api/v1/auth/token", headers=_bearer(raw))
    response = client.get("/api/v1/audit/verify", headers=_bearer(raw))

    assert revoked.status_code == 204
    assert _token_row(db, raw).revoked_at is not None
    assert response.status_code == 401
    assert response.get_json()["detail"].startswith("Sign in first")


def test_revoking_one_token_leaves_the_users_other_tokens_working(client, users):
    first = _issue(client).get_json()["token"]
    second = _issue(client).get_json()["token"]

    client.delete("/api/v1/auth/token", headers=_bearer(first))

    assert client.get("/api/v1/audit/verify", headers=_bearer(second)).status_code == 200


def test_revoking_needs_a_token(client, users):
    response = client.delete("/api/v1/auth/token")

    assert response.status_code == 401


def test_an_expired_token_is_refused(client, users, db):
    raw = _issue(client).get_json()["token"]
    _token_row(db, raw).expires_at = utcnow() - timedelta(seconds=1)
    db.session.flush()

    response = client.get("/api/v1/audit/verify", headers=_bearer(raw))

    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"


def test_a_locked_users_token_is_refused(client, users, db):
    raw = _issue(client).get_json()["token"]
    users["qa"].locked_until = utcnow() + timedelta(minutes=15)
    db.session.flush()

    assert client.get("/api/v1/audit/verify", headers=_bearer(raw)).status_code == 401


def test_a_deactivated_users_token_is_refused(client, users, db):
    raw = _issue(client).get_json()["token"]
    users["qa"].active = False
    db.session.flush()

    assert client.get("/api/v1/audit/verify", headers=_bearer(raw)).status_code == 401


def test_a_token_does_not_open_the_pages(client, users):
    raw = _issue(client).get_json()["token"]

    response = client.get("/audit/", headers=_bearer(raw))

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
