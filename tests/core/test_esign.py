"""Electronic signatures (SPEC 5): re-entered credentials, a meaning, a content hash."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.conftest import DEMO_PASSWORD
from ucmsc_lims.auth.service import CREDENTIALS_REFUSED
from ucmsc_lims.core import esign
from ucmsc_lims.core.audit import AuditEntry
from ucmsc_lims.core.errors import AuthenticationFailed, NotPermitted

CONTENT = {"lot": "W1234 26 000123", "state": "released"}


def _sign(db, username: str, password: str = DEMO_PASSWORD, **kwargs):
    options = {"meaning": "lot_release", "entity": ("lot", "17"), "content": CONTENT, **kwargs}
    return esign.sign(db.session, username=username, password=password, **options)


def test_a_signature_carries_the_printed_name_meaning_time_and_content_hash(db, users):
    signature = _sign(db, "qa", signer_must_be=users["qa"])

    assert signature.printed_name == "Qiao Li (QA)"
    assert signature.meaning_text == "Lot release"
    assert signature.signed_at.tzinfo is not None
    assert signature.content_hash == esign.content_hash(CONTENT)
    assert esign.signatures_for(db.session, "lot", "17") == [signature]


def test_a_signature_is_recorded_in_the_audit_trail(db, users):
    signature = _sign(db, "qa")

    entry = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "signature.applied")).one()
    assert (entry.entity_id, entry.username) == (str(signature.id), "qa")
    assert signature.content_hash in entry.new


def test_a_changed_record_no_longer_matches_its_signature(db, users):
    signature = _sign(db, "qa")

    assert esign.content_hash({**CONTENT, "state": "rejected"}) != signature.content_hash


def test_a_wrong_password_is_refused_and_counted(db, users):
    with pytest.raises(AuthenticationFailed) as refusal:
        _sign(db, "qa", password="not-the-password")

    assert refusal.value.message == CREDENTIALS_REFUSED
    assert users["qa"].failed_logins == 1
    assert esign.signatures_for(db.session, "lot", "17") == []
    failure = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "auth.failed")).one()
    assert '"purpose":"signature:lot_release"' in failure.new


def test_five_wrong_signature_passwords_lock_the_account(db, users):
    for _ in range(5):
        with pytest.raises(AuthenticationFailed):
            _sign(db, "qa", password="not-the-password")

    assert users["qa"].locked_until is not None
    with pytest.raises(AuthenticationFailed):
        _sign(db, "qa")  # the right password no longer helps


def test_a_lock_from_signing_also_refuses_sign_in(db, users, auth):
    for _ in range(5):
        with pytest.raises(AuthenticationFailed):
            _sign(db, "qa", password="not-the-password")

    response = auth.login("qa")

    assert response.status_code == 401
    assert CREDENTIALS_REFUSED in response.get_data(as_text=True)


def test_a_good_signature_resets_the_failure_count(db, users):
    with pytest.raises(AuthenticationFailed):
        _sign(db, "qa", password="not-the-password")

    _sign(db, "qa")

    assert users["qa"].failed_logins == 0


def test_signing_with_another_persons_account_is_refused(db, users):
    with pytest.raises(NotPermitted) as refusal:
        _sign(db, "pharmacist", signer_must_be=users["qa"])

    assert "the signer must be the signed-in user" in refusal.value.message


def test_a_signature_must_name_a_known_meaning(db, users):
    with pytest.raises(ValueError, match="unknown signature meaning"):
        _sign(db, "qa", meaning="because_i_said_so")
