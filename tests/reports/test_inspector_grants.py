"""Time-limited unblinded access for a GMP inspection (SPEC 2): granted by the admin,
co-signed by QA, audited, over by itself."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.factories import DEMO_PASSWORD
from tests.factories.trace import seeded_chain
from ucmsc_lims.core.audit import AuditEntry
from ucmsc_lims.core.clock import site_zone
from ucmsc_lims.core.db import utcnow
from ucmsc_lims.core.errors import AuthenticationFailed, DomainError, NotPermitted
from ucmsc_lims.extensions import db
from ucmsc_lims.reports import inspection
from ucmsc_lims.trace import service as trace


def _grant(users, *, hours: float = 8, starts_in: float = -0.1):
    now = utcnow()
    grant = inspection.grant_inspection(
        users["inspector"], by=users["admin"], reason="EU GMP inspection, ref INS-2026-04",
        starts_at=now + timedelta(hours=starts_in), ends_at=now + timedelta(hours=hours))
    db.session.flush()
    return grant


def test_a_grant_without_qas_cosignature_leaves_the_inspector_blinded(db, users):
    _grant(users)

    assert users["inspector"].is_blinded
    assert not users["inspector"].can("blind.see_arm")


def test_a_cosigned_grant_unblinds_the_inspectors_trace(db, users):
    chain = seeded_chain(users)
    grant = _grant(users)

    inspection.cosign(grant, by=users["qa"], password=DEMO_PASSWORD)

    assert users["inspector"].can("blind.see_arm")
    result = trace.trace(chain.bag_a.code, reader=users["inspector"])
    assert f"lot:{chain.batch.lot_id}" in {n.id for n in result.nodes}
    assert grant.cosignature.meaning == "inspector_grant"


def test_the_grant_expires_by_itself(db, users, monkeypatch):
    grant = _grant(users, hours=2)
    inspection.cosign(grant, by=users["qa"], password=DEMO_PASSWORD)
    assert not users["inspector"].is_blinded

    later = utcnow() + timedelta(hours=2, minutes=1)
    monkeypatch.setattr(inspection, "utcnow", lambda: later)

    assert users["inspector"].is_blinded
    assert grant.state(later) == "expired"


def test_a_grant_starting_later_is_not_in_force_yet(db, users):
    grant = _grant(users, starts_in=3, hours=5)
    inspection.cosign(grant, by=users["qa"], password=DEMO_PASSWORD)

    assert users["inspector"].is_blinded
    assert grant.state(utcnow()) == "scheduled"


def test_only_qa_cosigns_and_with_the_right_password(db, users):
    grant = _grant(users)

    with pytest.raises(NotPermitted):
        inspection.cosign(grant, by=users["admin"], password=DEMO_PASSWORD)
    with pytest.raises(NotPermitted):
        inspection.cosign(grant, by=users["pharmacist"], password=DEMO_PASSWORD)
    with pytest.raises(AuthenticationFailed):
        inspection.cosign(grant, by=users["qa"], password="not-the-password")
    assert grant.cosigned_by_id is None


def test_only_the_admin_grants_and_only_to_an_inspector(db, users):
    now = utcnow()
    with pytest.raises(NotPermitted):
        inspection.grant_inspection(users["inspector"], by=users["qa"], reason="Inspection",
                                    starts_at=now, ends_at=now + timedelta(hours=1))
    with pytest.raises(DomainError) as refused:
        inspection.grant_inspection(users["nurse"], by=users["admin"], reason="Inspection",
                                    starts_at=now, ends_at=now + timedelta(hours=1))
    assert "not an inspector account" in refused.value.message


def test_a_grant_longer_than_two_weeks_is_refused(db, users):
    now = utcnow()
    with pytest.raises(DomainError) as refused:
        inspection.grant_inspection(users["inspector"], by=users["admin"], reason="Inspection",
                                    starts_at=now, ends_at=now + timedelta(days=15))

    assert refused.value.message == "A grant lasts at most 14 days."


def test_a_revoked_grant_ends_the_access_at_once(db, users):
    grant = _grant(users)
    inspection.cosign(grant, by=users["qa"], password=DEMO_PASSWORD)

    inspection.revoke(grant, by=users["admin"], reason="Inspection closed early")

    assert users["inspector"].is_blinded
    assert grant.state(utcnow()) == "revoked"


def test_every_step_of_a_grant_is_audited(db, users):
    grant = _grant(users)
    inspection.cosign(grant, by=users["qa"], password=DEMO_PASSWORD)
    inspection.revoke(grant, by=users["qa"], reason="Inspection closed")

    actions = db.session.scalars(sa.select(AuditEntry.action).where(
        AuditEntry.entity_type == "inspector_grant",
        AuditEntry.entity_id == str(grant.id)).order_by(AuditEntry.id)).all()
    assert actions == ["inspector_grant.granted", "inspector_grant.cosigned",
                       "inspector_grant.revoked"]


def test_admin_grants_and_qa_cosigns_through_the_pages(db, users, client, auth):
    now = utcnow().astimezone(site_zone())
    auth.login("admin")
    response = client.post("/reports/inspection-grants", data={
        "inspector": "inspector", "reason": "GMP inspection INS-7",
        "starts_at": (now - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (now + timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M")})
    assert response.status_code == 302, response.get_data(as_text=True)
    page = client.get("/reports/inspection-grants").get_data(as_text=True)
    assert "awaiting cosignature" in page
    auth.logout()

    auth.login("qa")
    [grant] = inspection.list_grants(by=users["qa"])
    response = client.post(f"/reports/inspection-grants/{grant.id}/cosign",
                           data={"password": DEMO_PASSWORD})

    assert response.status_code == 302
    assert "Inspector grant co-signed." in client.get(
        "/reports/inspection-grants").get_data(as_text=True)
    assert not users["inspector"].is_blinded


def test_the_grant_page_is_closed_to_the_inspector(db, users, login_as):
    response = login_as("inspector").get("/reports/inspection-grants")

    assert response.status_code == 403
