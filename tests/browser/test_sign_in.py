"""Each demo role signs in through the visible form and sees who and how blinded it is."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import DEMO_PASSWORD
from ucmsc_lims.demo.seed import DEMO_USERS

pytestmark = pytest.mark.browser

BLINDED = {"nurse", "nurse2", "investigator", "inspector", "admin"}
FULL_NAMES = {username: full_name for username, full_name, *_ in DEMO_USERS}


def sign_in(page, username: str, password: str = DEMO_PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


@pytest.mark.parametrize("username", list(FULL_NAMES))
def test_each_demo_role_signs_in_and_sees_its_blinding_in_the_header(
    browser_page, console, screenshot, username
):
    sign_in(browser_page, username)

    header = browser_page.locator("header.site-header")
    expect(header).to_contain_text(FULL_NAMES[username])
    blinded_word = header.get_by_text("BLINDED", exact=True)
    if username in BLINDED:
        expect(blinded_word).to_be_visible()
    else:
        expect(blinded_word).to_have_count(0)
        expect(header.get_by_text("UNBLINDED", exact=True)).to_be_visible()
    screenshot(username)
    assert console.errors == []


def test_a_wrong_password_is_refused_on_the_page(browser_page, console, screenshot):
    sign_in(browser_page, "qa", "not-the-password")

    expect(browser_page.get_by_role("alert")).to_contain_text("Wrong username or password")
    screenshot("login-refused")
    # The refused sign-in page itself answers 401, which Chromium logs; nothing else may.
    assert [e for e in console.errors if "status of 401" not in e] == []


def test_signing_out_returns_to_the_login_page(browser_page, console):
    sign_in(browser_page, "qa")

    browser_page.get_by_role("button", name="Sign out").click()

    expect(browser_page.get_by_text("You are signed out.")).to_be_visible()
    expect(browser_page.get_by_label("Username", exact=True)).to_be_focused()
    assert console.errors == []
