"""Request size (SPEC 6): a body over the limit is refused with 413 in plain words, never read
in full and never a 500; file uploads have a smaller limit of their own."""

from __future__ import annotations

import io
import json

import sqlalchemy as sa

from tests.conftest import DEMO_PASSWORD
from ucmsc_lims.core.audit import AuditEntry

MIB = 1024 * 1024


def test_the_default_limits_are_16_mib_for_a_request_and_2_mib_for_an_upload(app):
    assert app.config["MAX_CONTENT_LENGTH"] == 16 * MIB
    assert app.config["MAX_UPLOAD_LENGTH"] == 2 * MIB


def test_a_page_form_larger_than_the_limit_gets_a_plain_words_413_page(client, users, db):
    response = client.post("/login", data={"username": "qa", "password": DEMO_PASSWORD,
                                           "ward": "x" * (17 * MIB)})

    assert response.status_code == 413
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "The request is larger than the server accepts (at most 16 MB)" in page
    assert "nothing was saved" in page
    assert client.get("/").status_code == 302  # not signed in


def test_an_api_post_larger_than_the_limit_gets_a_413_problem(client, users, db):
    body = json.dumps({"username": "qa", "password": DEMO_PASSWORD, "pad": "x" * (17 * MIB)})

    response = client.post("/api/v1/auth/token", data=body, content_type="application/json")

    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == 413
    assert problem["detail"].startswith(
        "The request is larger than the server accepts (at most 16 MB)")
    assert not db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "auth.token_issued")).all()


def test_a_signed_in_api_post_larger_than_the_limit_gets_a_413_problem(api_client, db):
    nurse = api_client("nurse")
    body = json.dumps({"code": "x" * (17 * MIB)})

    response = nurse.post("/api/v1/scans", data=body, content_type="application/json")

    assert response.status_code == 413
    assert response.get_json()["status"] == 413


def test_a_body_within_the_limit_is_read_as_usual(client, users):
    response = client.post("/login", data={"username": "qa", "password": DEMO_PASSWORD,
                                           "ward": "x" * 30})

    assert response.status_code == 302


def _list_upload(client, size: int):
    """A statistician's CSV padded to `size` bytes with a comment-like tail."""
    content = b"stratum,number,arm\nCPA,1,A\n" + b"#" * size
    return client.post("/trial/randomization/import",
                       data={"file": (io.BytesIO(content), "list.csv")},
                       content_type="multipart/form-data")


def test_an_upload_over_the_upload_limit_gets_a_413_page(login_as, db):
    pharmacist = login_as("pharmacist")

    response = _list_upload(pharmacist, 3 * MIB)

    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "The file is larger than the server accepts (at most 2 MB)" in page
    assert "nothing was saved" in page


def test_an_upload_within_the_upload_limit_reaches_the_form(login_as, db):
    pharmacist = login_as("pharmacist")

    response = _list_upload(pharmacist, MIB)

    assert response.status_code == 422
    assert "missing column(s): randomization_number" in response.get_data(as_text=True)
