"""SPEC 8: pages speak the user's language; SPEC 7: GO / NO-GO and BLINDED never change."""

from __future__ import annotations

import pytest
from flask import render_template, render_template_string
from flask_babel import force_locale

from ucmsc_lims.auth import service as accounts

CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9"}


@pytest.fixture
def sign_in_in_chinese(login_as, users, db):
    """Sign a demo user in after they chose Simplified Chinese on their account."""

    def sign_in(username: str):
        accounts.set_language(users[username], "zh_Hans")
        db.session.flush()
        return login_as(username)

    return sign_in


def test_login_page_speaks_chinese_to_a_browser_that_asks_for_zh_cn(client):
    page = client.get("/login", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "<title>登录 · ucmsc-lims</title>" in page
    assert "用户名" in page and "密码" in page
    assert "Sign in" not in page


def test_login_page_stays_english_for_a_browser_that_asks_for_english(client):
    page = client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.8"}).get_data(
        as_text=True)
    assert "Sign in" in page and "Username" in page and "Password" in page
    assert "登录" not in page


def test_a_user_who_chose_chinese_sees_chinese_navigation_and_page_titles(sign_in_in_chinese):
    client = sign_in_in_chinese("qa")
    page = client.get("/").get_data(as_text=True)
    assert "<title>首页 · ucmsc-lims</title>" in page
    assert "欢迎，" in page
    assert ">审计追踪</a>" in page  # a navigation entry
    assert "退出登录" in page
    assert "时间显示时区：Asia/Shanghai" in page
    assert "Audit trail" not in page and "Sign out" not in page


def test_the_users_own_choice_wins_over_the_browsers_language(sign_in_in_chinese):
    client = sign_in_in_chinese("qa")
    page = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "退出登录" in page


def test_choosing_chinese_on_the_account_page_switches_every_page(login_as):
    client = login_as("nurse")
    response = client.post("/account", data={"language": "zh_Hans"}, follow_redirects=True)
    assert "已保存。" in response.get_data(as_text=True)
    assert "<title>我的账户 · ucmsc-lims</title>" in response.get_data(as_text=True)
    bedside = client.get("/bedside").get_data(as_text=True)
    assert "<h1>床旁核对</h1>" in bedside
    assert "腕带" in bedside and "体重（kg）" in bedside and "输注袋完好" in bedside


def test_a_blinded_user_reading_chinese_still_sees_the_word_blinded(sign_in_in_chinese):
    page = sign_in_in_chinese("nurse").get("/").get_data(as_text=True)
    assert ">BLINDED</span>" in page
    assert "非盲态" not in page


def test_the_bedside_decision_reads_go_or_no_go_in_chinese(app):
    with app.test_request_context(), force_locale("zh_Hans"):
        go = render_template("bedside/_decision.html", go=True, checks=[])
        nogo = render_template("bedside/_decision.html", go=False, checks=[])
    assert '<strong role="status">GO</strong>' in go
    assert '<strong role="status">NO-GO</strong>' in nogo


@pytest.mark.parametrize("locale, state, shown", [
    ("zh_Hans", "qc_pending", "待质检"),
    ("zh_Hans", "released_for_issue", "已放行待发"),
    ("en", "qc_pending", "qc pending"),
    ("zh_Hans", "some_new_state", "some new state"),
])
def test_state_badges_read_in_the_users_language(app, locale, state, shown):
    source = '{% from "macros/ui.html" import status_badge %}{{ status_badge(state) }}'
    with app.test_request_context(), force_locale(locale):
        badge = render_template_string(source, state=state)
    assert badge == f'<span class="badge state-{state.replace("_", "-")}">{shown}</span>'
