"""The whole bedside flow on a tablet-sized screen, driven by the visible labels (SPEC 7):
nurse 1 scans, nurse 2 confirms, the infusion starts and is recorded; and a NO-GO."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.conftest import DEMO_PASSWORD
from ucmsc_lims.bagging.models import Bag
from ucmsc_lims.extensions import db as _db

pytestmark = pytest.mark.browser

TABLET = {"width": 1024, "height": 768}


@pytest.fixture(scope="module")
def ward_bags(live_server):
    """(wristband code, weight, initials, bag code) of the demo's bags received on the ward.
    Requested before the browser: no app context may open beside Playwright's event loop."""
    with live_server.app.app_context():
        bags = _db.session.scalars(
            sa.select(Bag).where(Bag.status == "received_on_ward").order_by(Bag.bag_id)).all()
        rows = [(b.patient.code, b.prepared_weight_kg or b.patient.weight_kg,
                 b.patient.initials, b.code) for b in bags]
        _db.session.rollback()
    assert len(rows) >= 3, "the demo puts several bags on the ward"
    return rows


def sign_in(page, username: str) -> None:
    page.goto("/login")
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def scan_at_bedside(page, wristband: str, weight: float, initials: str, bag: str) -> None:
    page.goto("/bedside")
    page.get_by_label("Wristband", exact=True).fill(wristband)
    page.get_by_label("Wristband", exact=True).press("Enter")
    expect(page.locator(".patient-compare .initials")).to_have_text(initials)
    expect(page.get_by_label("Weight (kg)", exact=True)).to_be_focused()
    page.get_by_label("Weight (kg)", exact=True).fill(f"{weight:.1f}")
    page.get_by_label("Weight (kg)", exact=True).press("Enter")
    page.get_by_label("Patient stated name and date of birth", exact=True).check()
    page.get_by_label("Bag intact", exact=True).check()
    page.get_by_label("Bag", exact=True).fill(bag)
    page.get_by_label("Bag", exact=True).press("Enter")


def test_two_nurses_verify_start_and_record_an_infusion_on_a_tablet(
        ward_bags, browser_page, console, screenshot):
    page = browser_page
    page.set_viewport_size(TABLET)
    wristband, weight, initials, bag = ward_bags[0]
    sign_in(page, "nurse")
    scan_at_bedside(page, wristband, weight, initials, bag)

    expect(page.get_by_role("status")).to_have_text("GO")
    expect(page.locator(".decision.go")).to_be_visible()
    expect(page.locator("time[data-since]")).to_contain_text(re.compile(r"\d+:\d\d:\d\d"))
    screenshot("bedside-go")

    page.get_by_role("button", name="Confirm as second nurse").click()
    page.get_by_label("Username", exact=True).fill("nurse2")
    page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
    page.get_by_label("Wristband", exact=True).fill(wristband)
    page.get_by_label("Bag", exact=True).fill(bag)
    page.get_by_label("Bag", exact=True).press("Enter")

    expect(page.get_by_text("Niu Yan (nurse)")).to_be_visible()
    page.get_by_role("button", name="Start infusion").click()
    expect(page.get_by_role("heading", name=re.compile("Infusion #"))).to_be_visible()
    page.get_by_label("Volume infused (mL)").fill("98")
    page.get_by_label("Rate (mL/h)").fill("100")
    page.get_by_label("Heart rate before (/min)").fill("72")
    page.get_by_label("Heart rate after (/min)").fill("76")
    page.get_by_role("button", name="Record infusion").click()
    expect(page.locator(".next-dose")).to_contain_text("Dose 2 is due on")
    screenshot("bedside-infusion-recorded")
    assert console.errors == []


def test_a_bag_for_another_patient_is_no_go_with_the_failed_check_beside_it(
        ward_bags, browser_page, console, screenshot):
    page = browser_page
    page.set_viewport_size(TABLET)
    wristband, weight, initials, _ = ward_bags[1]
    other_bag = ward_bags[2][3]
    sign_in(page, "nurse")
    scan_at_bedside(page, wristband, weight, initials, other_bag)

    expect(page.get_by_role("status")).to_have_text("NO-GO")
    expect(page.locator(".decision.nogo .failed-checks")).to_contain_text(
        "bag not allocated to this patient")
    expect(page.get_by_role("button", name="Confirm as second nurse")).to_have_count(0)
    screenshot("bedside-nogo")
    assert [e for e in console.errors if "status of 409" not in e] == []
