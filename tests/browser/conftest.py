"""Browser fixtures: the app served on a free local port, and a Chromium page driving it.

Debian's chromium is used as installed (never a downloaded browser). Browser tests run on
SQLite only: one engine is enough to see the pages, and the suite stays fast.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.conftest import TEST_CONFIG
from ucmsc_lims import create_app
from ucmsc_lims.extensions import db as _db

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
SCREENSHOTS = Path(__file__).parent / "screenshots"


def pytest_collection_modifyitems(config, items):
    """Keep only the SQLite run of browser tests."""
    here = Path(__file__).parent
    keep, drop = [], []
    for item in items:
        engine = getattr(getattr(item, "callspec", None), "params", {}).get("database_factory")
        in_browser_dir = here in Path(str(item.fspath)).parents
        (drop if in_browser_dir and engine not in (None, "sqlite") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def _need_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing; CI must run the browser tests (apt-get install "
                    "chromium)")
    pytest.skip(f"{CHROMIUM} is not installed")


@dataclass
class LiveServer:
    url: str
    app: object


@pytest.fixture(scope="module")
def live_server(database_factory) -> Iterator[LiveServer]:
    """The app with CSRF on and the demo seeded, served by werkzeug in a thread."""
    if database_factory.kind != "sqlite":
        pytest.skip("browser tests run on SQLite")
    app = create_app({
        **TEST_CONFIG, "DATABASE_URL": database_factory.new_database(),
        "WTF_CSRF_ENABLED": True, "SERVER_NAME": None,
    })
    from ucmsc_lims.demo.seed import seed

    with app.app_context():
        seed()
        _db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://127.0.0.1:{server.server_port}", app=app)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            _db.engine.dispose()


@pytest.fixture(scope="module")
def browser(live_server):
    """Module-scoped, and started after the server: Playwright runs an event loop in this
    thread while it lives, and Flask's app-context teardown refuses to run beside one."""
    _need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class ConsoleLog:
    """Console errors and uncaught page errors; CSP violations arrive here as errors."""

    errors: list[str] = field(default_factory=list)


@pytest.fixture
def console() -> ConsoleLog:
    return ConsoleLog()


@pytest.fixture
def browser_page(browser, live_server, console):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280,
                                                                      "height": 800})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.on("console", lambda message: message.type == "error"
            and console.errors.append(message.text))
    page.on("pageerror", lambda error: console.errors.append(str(error)))
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def screenshot(browser_page):
    """`screenshot("nurse")` saves the page under tests/browser/screenshots/ (git-ignored)."""

    def save(name: str) -> Path:
        SCREENSHOTS.mkdir(exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        browser_page.screenshot(path=str(path), full_page=True)
        return path

    return save
