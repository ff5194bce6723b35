"""QA's release flow in a browser: the queue says why each lot can or cannot be released, and a
ready lot is released by QA's electronic signature (SPEC 4.3)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_sign_in import sign_in

pytestmark = pytest.mark.browser


def test_qa_reads_the_queue_and_releases_a_ready_lot_by_signature(
    browser_page, console, screenshot
):
    page = browser_page
    sign_in(page, "qa")
    page.goto("/lots/release-queue")
    expect(page.get_by_role("heading", name="Release queue")).to_be_visible()
    blocked = page.locator("tr", has_text="blocked").first
    expect(blocked).to_contain_text("is open")  # an open deviation blocks a batch
    ready = page.locator("tr", has_text="ready").first
    lot_id = ready.get_by_role("link").inner_text().strip()
    screenshot("qa-release-queue")

    page.goto(f"/qc/release/{lot_id}")
    expect(page.get_by_role("status")).to_contain_text("Every required result is present")
    sign = page.locator("form", has=page.get_by_role("button", name="Release lot"))
    expect(sign).to_contain_text("Lot release")  # the meaning of the signature, shown
    sign.get_by_label("Username", exact=True).fill("qa")
    sign.get_by_label("Password", exact=True).fill("not-the-password")
    sign.get_by_role("button", name="Release lot").click()
    expect(page.get_by_role("alert").first).to_contain_text("Wrong username or password")

    sign = page.locator("form", has=page.get_by_role("button", name="Release lot"))
    sign.get_by_label("Username", exact=True).fill("qa")
    sign.get_by_label("Password", exact=True).fill("demo-password-123")
    sign.get_by_role("button", name="Release lot").click()
    expect(page.get_by_text("Lot released.")).to_be_visible()
    expect(page.locator("h1")).to_contain_text(lot_id)
    expect(page.locator("main")).to_contain_text("Qiao Li (QA)")  # the signature, shown
    screenshot("qa-lot-released")
    assert [e for e in console.errors if "status of 4" not in e] == []
