"""Roles (SPEC 2): blinded and unblinded never mix, admin alone, nobody changes their own."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from ucmsc_lims.auth import service as accounts
from ucmsc_lims.core.audit import AuditEntry
from ucmsc_lims.core.errors import DomainError, NotPermitted

PASSWORD = "a-long-password-1"


def _create(roles: set[str], by=None):
    return accounts.create_user(username="newcomer", full_name="New Comer", password=PASSWORD,
                                roles=roles, by=by)


def _roles_form(roles: list[str], reason: str = "changed duties") -> dict:
    return {"roles-roles": roles, "roles-reason": reason, "roles-submit": "Save roles"}


@pytest.mark.parametrize("roles", [{"qa", "nurse"}, {"technician", "investigator"},
                                   {"pharmacist", "inspector"}])
def test_an_account_cannot_mix_blinded_and_unblinded_roles(db, roles):
    with pytest.raises(DomainError) as refusal:
        _create(roles)

    assert refusal.value.message.startswith("An account is either blinded or unblinded:")


@pytest.mark.parametrize("roles", [{"admin", "nurse"}, {"admin", "qa"}])
def test_the_admin_role_is_held_alone(db, roles):
    with pytest.raises(DomainError) as refusal:
        _create(roles)

    assert refusal.value.message == "The admin role is held alone."


def test_an_unknown_role_is_refused(db):
    with pytest.raises(DomainError) as refusal:
        _create({"superuser"})

    assert refusal.value.message == "Unknown role: superuser."


def test_roles_of_one_group_combine(db):
    user = _create({"nurse", "investigator"})

    assert user.role_names == {"nurse", "investigator"}
    assert user.is_blinded


def test_a_short_password_is_refused(db):
    with pytest.raises(DomainError) as refusal:
        accounts.create_user(username="short", full_name="Short", password="tiny",
                             roles={"nurse"}, by=None)

    assert refusal.value.message == "The password must have at least 12 characters."


def test_nobody_changes_their_own_roles(db, users):
    with pytest.raises(NotPermitted) as refusal:
        accounts.set_roles(users["admin"], {"nurse"}, by=users["admin"])

    assert refusal.value.message == "Nobody can change their own roles."
    assert users["admin"].role_names == {"admin"}


def test_a_role_change_is_audited_with_old_new_and_reason(db, users):
    accounts.set_roles(users["nurse2"], {"investigator"}, by=users["admin"],
                       reason="moved to the study team")

    entry = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "user.roles_changed")).one()
    assert (entry.old, entry.new) == ('{"roles":["nurse"]}', '{"roles":["investigator"]}')
    assert entry.reason == "moved to the study team"
    assert entry.username == "admin"


def test_the_admin_changes_another_users_roles_on_the_page(client, login_as, users):
    login_as("admin")

    response = client.post(f"/admin/users/{users['nurse2'].id}",
                           data=_roles_form(["investigator"]))

    assert response.status_code == 302
    assert "Roles saved." in client.get(response.headers["Location"]).get_data(as_text=True)
    assert users["nurse2"].role_names == {"investigator"}


def test_the_admin_cannot_change_their_own_roles_on_the_page(client, login_as, users):
    login_as("admin")

    response = client.post(f"/admin/users/{users['admin'].id}", data=_roles_form(["qa"]))

    assert response.status_code == 403
    assert "Nobody can change their own roles." in response.get_data(as_text=True)
    assert users["admin"].role_names == {"admin"}


def test_a_mixed_role_set_is_refused_on_the_page(client, login_as, users):
    login_as("admin")

    response = client.post(f"/admin/users/{users['nurse'].id}",
                           data=_roles_form(["nurse", "pharmacist"]))

    assert response.status_code == 422
    assert "either blinded or unblinded" in response.get_data(as_text=True)
    assert users["nurse"].role_names == {"nurse"}


# -- permission denial for each role on a sample of routes -------------------------------------

ROLES = ("technician", "qa", "pharmacist", "nurse", "nurse2", "investigator", "inspector",
         "admin")
# path -> the demo users that may open it; everyone else is refused with 403.
SAMPLE_ROUTES = {
    "/admin/users": {"admin"},
    "/audit/": {"qa", "inspector"},
    "/audit/verify": {"qa", "inspector"},
    "/protocol/": set(ROLES),
    "/": set(ROLES),
}


@pytest.mark.parametrize("username", ROLES)
def test_each_role_opens_only_the_pages_its_permissions_allow(client, login_as, username):
    login_as(username)

    answers = {path: client.get(path).status_code for path in SAMPLE_ROUTES}

    expected = {path: 200 if username in allowed else 403
                for path, allowed in SAMPLE_ROUTES.items()}
    assert answers == expected


@pytest.mark.parametrize("username", [r for r in ROLES if r != "admin"])
def test_only_the_admin_may_create_users(client, login_as, username):
    login_as(username)

    response = client.post("/admin/users", data={
        "username": "intruder", "full_name": "Intruder", "password": PASSWORD, "roles": ["qa"],
    })

    assert response.status_code == 403
    assert "Your role does not allow this." in response.get_data(as_text=True)
    assert accounts.get_user_by_username("intruder") is None


def test_signed_out_visitors_are_sent_to_sign_in(client, users):
    response = client.get("/admin/users")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
