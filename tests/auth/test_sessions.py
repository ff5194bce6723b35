"""Server-side end of sessions (SPEC 6): sign-out, a password reset, a role change, a
deactivation and a lock-out end the account's page sessions on the server, so a copy of the
session cookie opens nothing afterwards; a password reset, role change, deactivation and
lock-out also revoke the account's API tokens."""

from __future__ import annotations

import sqlalchemy as sa
from flask.testing import FlaskClient

from tests.conftest import DEMO_PASSWORD
from ucmsc_lims.auth import service as accounts
from ucmsc_lims.core.audit import AuditEntry

HOST = "lims.test"


def _signed_in(app, username: str) -> FlaskClient:
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return client


def _copy_of_cookie(client: FlaskClient, app) -> FlaskClient:
    """Another browser holding the same session cookie, as a thief who copied it would."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session", domain=HOST).value, domain=HOST)
    return thief


def _refused_to_sign_in(response) -> None:
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    assert "Audit trail" not in response.get_data(as_text=True)


def _token(client: FlaskClient, username: str) -> dict:
    response = client.post("/api/v1/auth/token",
                           json={"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 201
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def test_a_cookie_copied_before_sign_out_is_refused_after(app, users):
    qa = _signed_in(app, "qa")
    thief = _copy_of_cookie(qa, app)
    assert thief.get("/audit/").status_code == 200  # the copy works while the session lives

    qa.post("/logout")

    _refused_to_sign_in(thief.get("/audit/"))


def test_sign_out_ends_the_accounts_other_page_sessions_too(app, users):
    office = _signed_in(app, "qa")
    bench = _signed_in(app, "qa")

    office.post("/logout")

    _refused_to_sign_in(bench.get("/audit/"))


def test_signing_in_again_after_sign_out_opens_a_working_session(app, users):
    qa = _signed_in(app, "qa")
    qa.post("/logout")

    again = _signed_in(app, "qa")

    assert again.get("/audit/").status_code == 200


def test_another_users_sign_out_leaves_a_session_open(app, users):
    qa = _signed_in(app, "qa")
    inspector = _signed_in(app, "inspector")

    inspector.post("/logout")

    assert qa.get("/audit/").status_code == 200


def test_a_cookie_copied_before_a_password_reset_is_refused_after(app, users, db):
    qa = _signed_in(app, "qa")
    thief = _copy_of_cookie(qa, app)
    admin = _signed_in(app, "admin")

    reset = admin.post(f"/admin/users/{users['qa'].id}", data={
        "password-password": "a-brand-new-password-7", "password-submit": "Reset password"})

    assert reset.status_code == 302
    _refused_to_sign_in(thief.get("/audit/"))
    _refused_to_sign_in(qa.get("/audit/"))
    assert admin.get("/admin/users").status_code == 200  # the admin's own session goes on


def test_a_cookie_copied_before_a_role_change_is_refused_after(app, users, db):
    inspector = _signed_in(app, "inspector")
    thief = _copy_of_cookie(inspector, app)
    admin = _signed_in(app, "admin")

    changed = admin.post(f"/admin/users/{users['inspector'].id}", data={
        "roles-roles": ["inspector", "investigator"], "roles-reason": "joins the site team",
        "roles-submit": "Save roles"})

    assert changed.status_code == 302
    _refused_to_sign_in(thief.get("/audit/"))
    assert admin.get("/admin/users").status_code == 200


def test_saving_the_same_roles_leaves_the_session_open(app, users, db):
    inspector = _signed_in(app, "inspector")
    admin = _signed_in(app, "admin")

    admin.post(f"/admin/users/{users['inspector'].id}", data={
        "roles-roles": ["inspector"], "roles-reason": "review", "roles-submit": "Save roles"})

    assert inspector.get("/audit/").status_code == 200


def test_a_deactivated_and_reactivated_account_does_not_get_its_old_session_back(
        app, users, db):
    qa = _signed_in(app, "qa")
    accounts.set_active(users["qa"], False, by=users["admin"], reason="left the unit")
    db.session.commit()
    accounts.set_active(users["qa"], True, by=users["admin"], reason="came back")
    db.session.commit()

    _refused_to_sign_in(qa.get("/audit/"))


def test_a_password_reset_revokes_the_users_api_tokens(app, users, db):
    api = app.test_client()
    bearer = _token(api, "qa")

    accounts.reset_password(users["qa"], "a-brand-new-password-7", by=users["admin"])
    db.session.commit()

    response = api.get("/api/v1/audit/verify", headers=bearer)
    assert response.status_code == 401
    assert response.get_json()["detail"].startswith("Sign in first")
    ended = db.session.scalars(sa.select(AuditEntry)
                               .where(AuditEntry.action == "auth.sessions_ended")).one()
    assert '"cause":"password_reset"' in ended.new
    assert '"tokens_revoked":1' in ended.new


def test_a_role_change_revokes_the_users_api_tokens(app, users, db):
    api = app.test_client()
    bearer = _token(api, "inspector")

    accounts.set_roles(users["inspector"], {"inspector", "investigator"}, by=users["admin"],
                       reason="joins the site team")
    db.session.commit()

    assert api.get("/api/v1/audit/verify", headers=bearer).status_code == 401


def test_another_users_password_reset_leaves_a_token_working(app, users, db):
    api = app.test_client()
    bearer = _token(api, "inspector")

    accounts.reset_password(users["qa"], "a-brand-new-password-7", by=users["admin"])
    db.session.commit()

    assert api.get("/api/v1/audit/verify", headers=bearer).status_code == 200


def test_sign_out_of_the_pages_leaves_the_users_api_token_working(app, users):
    api = app.test_client()
    bearer = _token(api, "qa")
    qa = _signed_in(app, "qa")

    qa.post("/logout")

    assert api.get("/api/v1/audit/verify", headers=bearer).status_code == 200
