"""Security headers (SPEC 6): a CSP that needs no inline script, nosniff, no framing."""

from __future__ import annotations

import re

import pytest

PAGES = ["/login", "/", "/audit/", "/protocol/", "/admin/users", "/api/v1/docs"]


def _directives(csp: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in csp.split(";") if part.strip()}


def _as_role(client, login_as, path: str):
    """The page as a user who may open it (the login page as a visitor)."""
    if path != "/login":
        login_as("admin" if path == "/admin/users" else "qa")
    return client.get(path)


@pytest.mark.parametrize("path", PAGES)
def test_pages_send_a_strict_content_security_policy(client, login_as, path):
    response = _as_role(client, login_as, path)
    csp = _directives(response.headers["Content-Security-Policy"])

    assert response.status_code == 200
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize("path", PAGES)
def test_pages_forbid_sniffing_and_framing(client, login_as, path):
    response = _as_role(client, login_as, path)

    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"


@pytest.mark.parametrize("path", PAGES)
def test_pages_hold_no_inline_script_or_style(client, login_as, path):
    html = _as_role(client, login_as, path).get_data(as_text=True)

    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []
    assert re.findall(r"\sstyle=", html) == []
    assert re.findall(r"\son[a-z]+=", html) == []  # no inline event handlers either


def test_signed_in_pages_are_not_cached(client, login_as):
    login_as("qa")

    assert client.get("/").headers["Cache-Control"] == "no-store"


def test_the_api_sends_the_same_headers(client):
    response = client.get("/api/v1/openapi.json")

    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "Content-Security-Policy" in response.headers


def test_each_response_names_its_request_id(client):
    response = client.get("/login", headers={"X-Request-ID": "scanner-42"})

    assert response.headers["X-Request-ID"] == "scanner-42"
