"""Back-off per client address and the account lock-out (SPEC 6, auth.throttle).

LOCKOUT_THRESHOLD (5) failures against an account from one address within LOCKOUT_MINUTES (15)
back that address off for that account; the account locks for everyone only when the failures
came from LOCKOUT_ADDRESSES (3) addresses. So an attacker at one address cannot lock out a nurse
who signs in at the bedside.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.conftest import DEMO_PASSWORD
from ucmsc_lims.auth.models import SignInAttempt
from ucmsc_lims.auth.service import CREDENTIALS_REFUSED
from ucmsc_lims.core.audit import AuditEntry
from ucmsc_lims.core.db import utcnow

ATTACKER = "203.0.113.66"
BEDSIDE = "10.5.1.20"
BACKED_OFF = re.compile(
    r"Too many failed sign-ins for this account from your address\. "
    r"Try again in (\d+) seconds\.")


@pytest.fixture
def from_address(app, db):
    """A browser at a given client address."""

    def browser(address: str):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = address
        return client

    return browser


def _sign_in(client, username: str = "nurse", password: str = DEMO_PASSWORD):
    return client.post("/login", data={"username": username, "password": password})


def _fail(client, times: int, username: str = "nurse") -> list[int]:
    return [_sign_in(client, username, "not-the-password").status_code for _ in range(times)]


def _count(db, action: str) -> int:
    return db.session.scalar(sa.select(sa.func.count()).where(AuditEntry.action == action))


def test_five_failures_from_one_address_back_that_address_off_even_with_the_right_password(
        from_address, users):
    attacker = from_address(ATTACKER)

    assert _fail(attacker, 5) == [401] * 5
    response = _sign_in(attacker)

    assert response.status_code == 429
    wait = BACKED_OFF.search(response.get_data(as_text=True))
    assert wait and 890 <= int(wait.group(1)) <= 900
    assert attacker.get("/").status_code == 302  # not signed in


def test_the_nurse_still_signs_in_at_the_bedside_while_the_attacker_is_backed_off(
        from_address, users):
    attacker = from_address(ATTACKER)
    _fail(attacker, 5)
    _fail(attacker, 20)  # hammering on changes nothing

    bedside = from_address(BEDSIDE)
    response = _sign_in(bedside)

    assert response.status_code == 302
    assert bedside.get("/bedside").status_code == 200
    assert users["nurse"].locked_until is None


def test_a_backed_off_attempt_checks_no_password_and_counts_nothing(from_address, users, db):
    attacker = from_address(ATTACKER)
    _fail(attacker, 5)

    assert _fail(attacker, 10) == [429] * 10
    assert _count(db, "auth.failed") == 5
    assert db.session.scalar(sa.select(sa.func.count(SignInAttempt.id))) == 5


def test_unknown_usernames_are_backed_off_like_known_ones(from_address, users):
    attacker = from_address(ATTACKER)

    assert _fail(attacker, 6, username="nobody") == [401] * 5 + [429]


def test_the_back_off_ends_when_the_failures_are_older_than_the_lockout_time(
        from_address, users, db):
    attacker = from_address(ATTACKER)
    _fail(attacker, 5)
    db.session.execute(sa.update(SignInAttempt).values(
        attempted_at=utcnow() - timedelta(minutes=15, seconds=1)))
    db.session.commit()

    assert _sign_in(attacker).status_code == 302


def test_a_success_from_the_address_clears_its_failures(from_address, users):
    nurse = from_address(BEDSIDE)
    _fail(nurse, 4)
    assert _sign_in(nurse).status_code == 302
    nurse.post("/logout")

    assert _fail(nurse, 1) == [401]
    assert _sign_in(nurse).status_code == 302


def test_the_token_endpoint_backs_off_the_address_too(from_address, users):
    attacker = from_address(ATTACKER)
    for _ in range(5):
        attacker.post("/api/v1/auth/token", json={"username": "nurse", "password": "guess-x"})

    response = attacker.post("/api/v1/auth/token",
                             json={"username": "nurse", "password": DEMO_PASSWORD})

    assert response.status_code == 429
    assert response.mimetype == "application/problem+json"
    assert BACKED_OFF.search(response.get_json()["detail"])


def test_a_forwarded_for_header_from_a_client_does_not_escape_the_back_off(
        from_address, users):
    attacker = from_address(ATTACKER)
    answers = [
        attacker.post("/login", data={"username": "nurse", "password": "not-the-password"},
                      headers={"X-Forwarded-For": f"198.51.100.{n}"}).status_code
        for n in range(6)
    ]

    assert answers == [401] * 5 + [429]


def test_behind_a_trusted_proxy_the_forwarded_address_is_backed_off(
        from_address, users, app, monkeypatch):
    monkeypatch.setitem(app.config, "TRUSTED_PROXIES", 1)
    proxy = from_address("10.0.0.2")

    def through_proxy(client_address: str, password: str) -> int:
        return proxy.post("/login", data={"username": "nurse", "password": password},
                          headers={"X-Forwarded-For": client_address}).status_code

    assert [through_proxy(ATTACKER, "not-the-password") for _ in range(6)] == [401] * 5 + [429]
    assert through_proxy(BEDSIDE, DEMO_PASSWORD) == 302


# -- the account lock-out ----------------------------------------------------------------------


def test_failures_from_three_addresses_lock_the_account_even_against_the_right_password(
        from_address, users, db):
    for address, times in (("198.51.100.1", 2), ("198.51.100.2", 2), ("198.51.100.3", 1)):
        _fail(from_address(address), times)

    response = _sign_in(from_address(BEDSIDE))

    assert response.status_code == 401
    assert CREDENTIALS_REFUSED in response.get_data(as_text=True)
    assert users["nurse"].locked_until > utcnow()
    assert _count(db, "auth.locked") == 1


def test_failures_from_two_addresses_back_both_off_but_do_not_lock_the_account(
        from_address, users):
    _fail(from_address("198.51.100.1"), 5)
    _fail(from_address("198.51.100.2"), 5)

    assert users["nurse"].locked_until is None
    assert _sign_in(from_address(BEDSIDE)).status_code == 302


def test_the_lock_ends_after_its_duration(from_address, users, db):
    for n in range(3):
        _fail(from_address(f"198.51.100.{n}"), 2)
    assert users["nurse"].locked_until is not None
    users["nurse"].locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()

    assert _sign_in(from_address(BEDSIDE)).status_code == 302


def test_a_lock_out_ends_the_sessions_open_before_it(from_address, users, db):
    bedside = from_address(BEDSIDE)
    assert _sign_in(bedside).status_code == 302
    for n in range(3):
        _fail(from_address(f"198.51.100.{n}"), 2)
    users["nurse"].locked_until = utcnow() - timedelta(seconds=1)  # the lock has ended
    db.session.commit()

    response = bedside.get("/bedside")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_old_attempts_are_pruned(from_address, users, db):
    db.session.add(SignInAttempt(address=ATTACKER, username="nurse", purpose="sign_in",
                                 succeeded=False,
                                 attempted_at=utcnow() - timedelta(minutes=16)))
    db.session.commit()

    _fail(from_address(BEDSIDE), 1)

    assert [a.address for a in db.session.scalars(sa.select(SignInAttempt))] == [BEDSIDE]
