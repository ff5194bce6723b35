"""Requests that race or are crafted get a clear 4xx, never a 500 or a bounce off the site."""

from __future__ import annotations

import pytest
from flask import Blueprint
from sqlalchemy.exc import IntegrityError

from ucmsc_lims.core.permissions import PUBLIC, requires


@pytest.mark.parametrize("target", ["//evil.example/x", "/\\evil.example/x",
                                    "https://evil.example/x"])
def test_sign_in_never_redirects_off_the_site(auth, users, target):
    response = auth.client.post("/login", query_string={"next": target}, data={
        "username": "nurse", "password": "demo-password-123"})
    assert response.status_code == 302
    assert "evil" not in response.headers["Location"]


def test_a_same_site_next_path_is_followed(auth, users):
    response = auth.client.post("/login?next=/audit/", data={
        "username": "qa", "password": "demo-password-123"})
    assert response.headers["Location"].endswith("/audit/")


def test_an_integrity_error_is_answered_409_with_nothing_saved():
    from tests.conftest import TEST_CONFIG
    from ucmsc_lims import create_app

    app = create_app({**TEST_CONFIG, "DATABASE_URL": "sqlite://"})
    racing = Blueprint("racing", __name__)

    @racing.route("/api/v1/race")
    @requires(PUBLIC)
    def race():
        raise IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed: deviation.number"))

    app.register_blueprint(racing)
    response = app.test_client().get("/api/v1/race")
    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    assert "nothing was saved" in response.get_json()["detail"]


def test_a_nul_character_in_a_sign_in_form_is_refused_without_a_500(client, users):
    response = client.post("/login", data={"username": "nurse\x00", "password": "x" * 12})
    assert response.status_code in (401, 422)
    assert b"Traceback" not in response.get_data()


@pytest.mark.parametrize("path", [
    "/audit/?before=99999999999999999999",
    "/bedside/near-misses?before=99999999999999999999",
    "/donors/?collections_before=99999999999999999999",
    "/donors/?collections_before=-3",
    "/trace/?q=passage:%C2%B2",
    "/trace/?q=infusion:99999999999999999999",
    "/trace/?q=custody_event:00000000000000000001",
])
def test_an_odd_or_oversized_id_in_a_query_string_never_gives_a_500(login_as, users, path):
    response = login_as("qa").get(path)
    assert response.status_code in (200, 404), (path, response.status_code)


def test_an_oversized_page_key_reads_the_first_page(login_as, users):
    qa = login_as("qa")
    first = qa.get("/audit/").get_data(as_text=True)
    assert qa.get("/audit/?before=99999999999999999999").get_data(as_text=True).count(
        "<tr") == first.count("<tr")
