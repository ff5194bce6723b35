"""Deny by default (SPEC 2): every route declares the permission it needs."""

from __future__ import annotations

from pathlib import Path

from ucmsc_lims import create_app
from ucmsc_lims.core.permissions import (
    EVERYONE,
    PERMISSIONS,
    PUBLIC,
    SIGNED_IN,
    required_permission,
)

# Endpoints owned by Flask or flask-smorest, which carry no declaration of ours.
UNDECLARED = {"static", "api-docs.openapi_json"}
# The only endpoints anyone may open without signing in.
PUBLIC_ALLOWED = {"auth.login", "web.health", "api_docs", "api_auth.issue_token"}


def _declared(app) -> dict[str, str | None]:
    return {
        rule.endpoint: required_permission(app.view_functions[rule.endpoint])
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in UNDECLARED
    }


def test_every_route_declares_a_permission(app):
    undeclared = sorted(endpoint for endpoint, perm in _declared(app).items() if perm is None)

    assert undeclared == [], f"routes without @requires(...): {undeclared}"


def test_only_the_allow_list_is_public(app):
    public = {endpoint for endpoint, perm in _declared(app).items() if perm == PUBLIC}

    beyond = sorted(public - PUBLIC_ALLOWED)
    assert beyond == [], f"public beyond the allow-list: {beyond}"


def test_every_declared_permission_is_granted_to_some_role(app):
    granted = set(EVERYONE).union(*PERMISSIONS.values()) | {PUBLIC, SIGNED_IN}
    unknown = {
        endpoint: perm for endpoint, perm in _declared(app).items()
        if perm is not None and perm not in granted
    }

    assert unknown == {}, f"permissions no role holds (a typo?): {unknown}"


def test_a_route_without_a_declaration_is_refused(tmp_path: Path):
    from tests.conftest import TEST_CONFIG

    app = create_app({**TEST_CONFIG, "DATABASE_URL": f"sqlite:///{tmp_path / 'bare.sqlite3'}"})

    @app.route("/forgotten")
    def forgotten():
        return "open"

    response = app.test_client().get("/forgotten")

    assert response.status_code == 403
    assert "declares no permission" in response.get_data(as_text=True)


def test_no_route_that_changes_records_declares_a_read_permission(app):
    """A POST acts: its declaration names the action, so a reader who may not act is refused
    by the guard before any service runs."""
    reading = sorted(
        f"{rule.endpoint} ({perm})" for rule in app.url_map.iter_rules()
        if rule.endpoint not in UNDECLARED and "POST" in (rule.methods or ())
        for perm in [required_permission(app.view_functions[rule.endpoint])]
        if perm and perm.endswith(".read")
    )

    assert reading == []
