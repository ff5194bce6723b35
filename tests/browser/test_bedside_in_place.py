"""SPEC 7, 9: at /bedside a nurse with a keyboard-wedge scanner (type, Enter; the boxes ticked
with the space bar; no mouse) sees the decision in place, without a page navigation, for a bag
of either arm; a reload shows the recorded verification; a GO left on screen lapses when its
bag expires; and with JavaScript off the plain form still works."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.conftest import DEMO_PASSWORD
from ucmsc_lims.bagging.models import Bag
from ucmsc_lims.extensions import db as _db
from ucmsc_lims.trial import service as trial

pytestmark = pytest.mark.browser

MARK = "() => { window.__noNavigation = true; }"
MARKED = "() => window.__noNavigation === true"


@pytest.fixture(scope="module")
def bag_per_arm(live_server):
    """{arm: (wristband code, weight, initials, bag code)} of bags received on the demo ward.
    Read before the browser starts: no app context may open beside Playwright's loop."""
    with live_server.app.app_context():
        found: dict[str, tuple] = {}
        for bag in _db.session.scalars(sa.select(Bag).where(Bag.status == "received_on_ward")
                                       .order_by(Bag.bag_id)):
            found.setdefault(trial.arm_of(bag.patient), (
                bag.patient.code, bag.prepared_weight_kg or bag.patient.weight_kg,
                bag.patient.initials, bag.code))
        _db.session.rollback()
    assert set(found) == {"A", "B"}, "the demo puts bags of both arms on the ward"
    return found


def sign_in(page) -> None:
    page.goto("/login")
    page.get_by_label("Username", exact=True).fill("nurse")
    page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
    page.get_by_label("Password", exact=True).press("Enter")
    expect(page).not_to_have_url(re.compile("/login"))


def scan_by_keyboard(page, wristband: str, weight: float, initials: str, bag: str) -> None:
    """Nurse 1 at the bedside with a scanner and a keyboard: each field ends with Enter."""
    keyboard = page.keyboard
    expect(page.get_by_label("Wristband", exact=True)).to_be_focused()
    keyboard.type(wristband)
    keyboard.press("Enter")
    expect(page.locator(".patient-compare .initials")).to_have_text(initials)
    expect(page.get_by_label("Weight (kg)", exact=True)).to_be_focused()
    keyboard.type(f"{weight:.1f}")
    keyboard.press("Enter")
    expect(page.get_by_label("Bag", exact=True)).to_be_focused()
    keyboard.press("Shift+Tab")
    expect(page.get_by_label("Bag intact", exact=True)).to_be_focused()
    keyboard.press("Space")
    keyboard.press("Shift+Tab")
    keyboard.press("Space")
    expect(page.get_by_label("Patient stated name and date of birth", exact=True)).to_be_checked()
    expect(page.get_by_label("Bag intact", exact=True)).to_be_checked()
    keyboard.press("Tab")
    keyboard.press("Tab")
    expect(page.get_by_label("Bag", exact=True)).to_be_focused()
    keyboard.type(bag)
    keyboard.press("Enter")


@pytest.mark.parametrize("arm", ["A", "B"])
def test_the_decision_appears_in_place_without_a_navigation(bag_per_arm, arm, browser_page,
                                                            console, screenshot):
    page = browser_page
    wristband, weight, initials, bag = bag_per_arm[arm]
    sign_in(page)
    page.goto("/bedside")
    page.evaluate(MARK)

    scan_by_keyboard(page, wristband, weight, initials, bag)

    expect(page.get_by_role("status")).to_have_text("GO")
    expect(page.get_by_role("button", name="Confirm as second nurse")).to_be_focused()
    expect(page.locator("time[data-since]")).to_contain_text(re.compile(r"\d+:\d\d:\d\d"))
    assert page.evaluate(MARKED), "the page navigated"
    assert page.evaluate("() => performance.getEntriesByType('navigation').length") == 1
    expect(page).to_have_url(re.compile(r"/bedside/verifications/\d+$"))
    screenshot(f"bedside-in-place-{arm}")

    page.reload()
    expect(page.get_by_role("status")).to_have_text("GO")
    expect(page.get_by_role("button", name="Confirm as second nurse")).to_be_visible()
    assert not page.evaluate(MARKED)
    assert console.errors == []


def test_a_no_go_appears_in_place_with_its_failed_check(bag_per_arm, browser_page, console):
    page = browser_page
    wristband, weight, initials, _bag = bag_per_arm["A"]
    other_bag = bag_per_arm["B"][3]
    sign_in(page)
    page.goto("/bedside")
    page.evaluate(MARK)

    scan_by_keyboard(page, wristband, weight, initials, other_bag)

    expect(page.get_by_role("status")).to_have_text("NO-GO")
    expect(page.locator(".decision.nogo .failed-checks")).to_contain_text(
        "bag not allocated to this patient")
    expect(page.get_by_role("button", name="Confirm as second nurse")).to_have_count(0)
    assert page.evaluate(MARKED), "the page navigated"
    assert console.errors == []


def test_a_go_left_on_screen_lapses_when_its_bag_expires(bag_per_arm, browser_page, console,
                                                         screenshot):
    page = browser_page
    wristband, weight, initials, bag = bag_per_arm["B"]
    sign_in(page)
    page.goto("/bedside")
    scan_by_keyboard(page, wristband, weight, initials, bag)
    expect(page.get_by_role("status")).to_have_text("GO")
    note = page.locator(".lapsed-note")
    expect(note).to_be_hidden()

    # The bag's expiry, as the page holds it, brought forward to a second from now.
    page.evaluate("""() => {
        const soon = new Date(Date.now() + 1000).toISOString();
        document.querySelector('.decision[data-until]').dataset.until = soon;
        document.querySelector('time[data-until]').dataset.until = soon;
    }""")

    expect(page.locator(".decision.go.lapsed")).to_be_visible()
    expect(note).to_be_visible()
    expect(note).to_contain_text("Lapsed")
    expect(page.get_by_role("button", name="Confirm as second nurse")).to_be_disabled()
    expect(page.locator("time[data-since]")).to_contain_text("EXPIRED")
    screenshot("bedside-lapsed")
    assert console.errors == []


@pytest.fixture
def page_without_script(browser, live_server):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        yield page
    finally:
        context.close()


def test_the_plain_form_still_works_without_javascript(bag_per_arm, page_without_script):
    page = page_without_script
    wristband, weight, initials, bag = bag_per_arm["A"]
    sign_in(page)
    page.goto("/bedside")
    page.get_by_label("Wristband", exact=True).fill(wristband)
    page.get_by_label("Wristband", exact=True).press("Enter")
    expect(page.locator(".patient-compare .initials")).to_have_text(initials)
    page.get_by_label("Weight (kg)", exact=True).fill(f"{weight:.1f}")
    page.get_by_label("Patient stated name and date of birth", exact=True).check()
    page.get_by_label("Bag intact", exact=True).check()
    page.get_by_label("Bag", exact=True).fill(bag)

    with page.expect_navigation(url=re.compile(r"/bedside/verifications/\d+$")):
        page.get_by_label("Bag", exact=True).press("Enter")

    expect(page.get_by_role("status")).to_have_text("GO")
    expect(page.get_by_role("button", name="Confirm as second nurse")).to_be_visible()
