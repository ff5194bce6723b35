"""API errors are RFC 9457 problem+json with a plain-words detail (SPEC 7)."""

from __future__ import annotations

import pytest

from ucmsc_lims.auth.service import CREDENTIALS_REFUSED


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status
    assert body["type"] == "about:blank"
    assert body["title"]
    return body


def test_no_token_is_401(client):
    body = _problem(client.get("/api/v1/audit/verify"), 401)

    assert body["title"] == "Unauthorized"
    assert body["detail"] == "Sign in first: send a bearer token from /api/v1/auth/token."


def test_an_unknown_token_is_401(client):
    response = client.get("/api/v1/audit/verify", headers={"Authorization": "Bearer made-up"})

    _problem(response, 401)


def test_a_wrong_password_is_401(client, users):
    response = client.post("/api/v1/auth/token",
                           json={"username": "qa", "password": "not-the-password"})

    assert _problem(response, 401)["detail"] == CREDENTIALS_REFUSED


def test_a_nurse_asking_for_the_chain_check_is_403(api_client):
    body = _problem(api_client("nurse").get("/api/v1/audit/verify"), 403)

    assert body["title"] == "Forbidden"
    assert body["detail"] == "Your role does not allow this."


def test_an_unknown_api_path_is_404(api_client):
    body = _problem(api_client("qa").get("/api/v1/no-such-thing"), 404)

    assert body["title"] == "Not Found"


def test_an_unknown_api_path_is_404_before_sign_in_too(client):
    _problem(client.get("/api/v1/no-such-thing"), 404)


def test_a_wrong_method_is_405(client):
    _problem(client.put("/api/v1/auth/token", json={}), 405)


def test_malformed_json_is_400_in_plain_words(client):
    response = client.post("/api/v1/auth/token", data='{"username": "qa", ',
                           content_type="application/json")

    assert _problem(response, 400)["detail"] == "The request body is not valid JSON."


def test_missing_fields_are_422_with_errors_per_field(client):
    response = client.post("/api/v1/auth/token", json={"username": ""})

    body = _problem(response, 422)
    assert body["detail"] == "The request has invalid or missing fields: password, username."
    assert body["errors"]["password"] == ["Missing data for required field."]
    assert body["errors"]["username"] == ["Length must be between 1 and 80."]


def test_a_body_that_is_not_an_object_is_422(client):
    response = client.post("/api/v1/auth/token", json=["qa", "password"])

    body = _problem(response, 422)
    assert body["detail"] == "Invalid input type."


@pytest.mark.parametrize("path", ["/api/v1/audit/verify", "/api/v1/no-such-thing"])
def test_problem_bodies_carry_the_security_headers(client, path):
    response = client.get(path)

    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Request-ID"]


def test_the_openapi_document_is_public_and_names_the_token_endpoint(client):
    response = client.get("/api/v1/openapi.json")

    assert response.status_code == 200
    assert "/api/v1/auth/token" in response.get_json()["paths"]


def test_pages_outside_the_api_get_an_html_error_page(client):
    response = client.get("/no-such-page")

    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "Not Found" in response.get_data(as_text=True)
