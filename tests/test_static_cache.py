"""SPEC 9 "What a nurse feels": pages link their stylesheet and script by content-hashed names,
served as immutable for a year and more, so a navigation never asks for them again; a changed
file gets a new name, so nothing stale is kept."""

from __future__ import annotations

import hashlib
import re

from ucmsc_lims import PROJECT_ROOT, static_manifest

STATIC = PROJECT_ROOT / "static"
LINKED = re.compile(r'(?:href|src)="(/static/[^"]+)"')
YEAR = 365 * 24 * 3600


def _linked(html: str) -> list[str]:
    return LINKED.findall(html)


def _expected(name: str) -> str:
    digest = hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]
    stem, _, suffix = name.rpartition(".")
    return f"/static/{stem}.{digest}.{suffix}"


def _max_age(cache_control: str) -> int:
    found = re.search(r"max-age=(\d+)", cache_control)
    return int(found.group(1)) if found else 0


def test_a_page_links_the_stylesheet_and_script_by_their_content_hash(client):
    page = client.get("/login").get_data(as_text=True)

    assert _linked(page) == [_expected("css/app.css"), _expected("js/app.js")]


def test_a_signed_in_page_links_the_same_hashed_names(login_as):
    page = login_as("nurse").get("/bedside").get_data(as_text=True)

    assert _linked(page) == [_expected("css/app.css"), _expected("js/app.js")]


def test_a_hashed_name_is_served_immutable_to_a_signed_in_nurse(login_as):
    """Signed-in pages are `no-store`; their static files must not be, nor carry the session
    (a changed cookie under `Vary: Cookie` would keep them out of the cache)."""
    nurse = login_as("nurse")

    for name in ("css/app.css", "js/app.js"):
        response = nurse.get(_expected(name))
        cache_control = response.headers["Cache-Control"]
        assert response.status_code == 200
        assert response.get_data() == (STATIC / name).read_bytes()
        assert "immutable" in cache_control and "public" in cache_control
        assert _max_age(cache_control) >= YEAR
        assert "no-store" not in cache_control
        assert "Set-Cookie" not in response.headers
        assert "Cookie" not in response.headers.get("Vary", "")
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        response.close()


def test_a_plain_name_still_answers_and_is_revalidated_on_every_use(client):
    response = client.get("/static/css/app.css")

    assert response.status_code == 200
    assert "immutable" not in response.headers["Cache-Control"]
    assert _max_age(response.headers["Cache-Control"]) == 0
    response.close()


def test_a_hashed_name_for_other_content_is_not_found(client):
    """An old release's name is never answered with today's file under a year-long cache."""
    response = client.get("/static/css/app.000000000000.css")

    assert response.status_code == 404
    assert "immutable" not in response.headers.get("Cache-Control", "")


def test_a_changed_file_gets_a_new_name_and_an_unchanged_one_keeps_its_own(tmp_path):
    (tmp_path / "css").mkdir()
    (tmp_path / "css" / "app.css").write_text("body { color: black; }")
    (tmp_path / "app.js").write_text("// unchanged")
    before = static_manifest(tmp_path)

    (tmp_path / "css" / "app.css").write_text("body { color: navy; }")
    after = static_manifest(tmp_path)

    assert before["css/app.css"] != after["css/app.css"]
    assert re.fullmatch(r"css/app\.[0-9a-f]{12}\.css", after["css/app.css"])
    assert before["app.js"] == after["app.js"]


def test_no_template_writes_a_static_path_by_hand():
    """Every link to a static file goes through url_for('static'), which hashes it."""
    written = [str(path.relative_to(PROJECT_ROOT)) for path in
               (PROJECT_ROOT / "templates").rglob("*.html") if "/static/" in path.read_text()]

    assert written == []
