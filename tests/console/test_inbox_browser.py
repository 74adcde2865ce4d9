"""The inbox in a real headless Chromium against the shared live server: the demo's city office starts with
to-dos (agreements it confirms for talents without an account, submissions waiting for its review), the
header counts the unread ones, opening one marks it read and lands on the page where it is dealt with; the
notification settings save an address and a muted kind."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.console.conftest import login

pytestmark = pytest.mark.once("sqlite")


def test_the_office_reads_its_to_dos_and_sets_its_notifications(browser: Browser, live_server: str,
                                                                shots: Path) -> None:
    page = login(browser, live_server, "demo-city_official")
    unread = int(page.locator("#inbox-unread").inner_text())
    assert unread >= 1
    page.locator("#inbox-link").click()
    expect(page.locator("h1")).to_have_text("待办与通知")
    rows = page.locator("#inbox-list tbody tr")
    # 待审核 or 待确认三方协议 (for a talent without an account); the reminders (即将到期, 逾期督办) beside them
    todo = rows.filter(has_text=re.compile("待审核|待确认三方协议")).first
    expect(todo).to_contain_text("未读")
    page.screenshot(path=str(shots / "inbox-city-office.png"), full_page=True)
    todo.locator(".inbox-open").click()
    expect(page).to_have_url(re.compile(r"/console/(matches|engagements)/\d+$"))
    if unread > 1:
        expect(page.locator("#inbox-unread")).to_have_text(str(unread - 1))
    else:
        expect(page.locator("#inbox-unread")).to_have_count(0)
    page.locator("#inbox-link").click()
    expect(rows.filter(has_text=re.compile("待审核|待确认三方协议")).first).not_to_contain_text("未读")
    page.goto(live_server + "/console/me/notifications")
    page.get_by_label("接收通知的邮箱").fill("shenhe@changzhi.example.gov.cn")
    page.locator("input[name=muted][value=proposed]").check()
    page.locator("#save-notifications").click()
    expect(page.locator(".flash")).to_contain_text("通知设置已保存")
    expect(page.get_by_label("接收通知的邮箱")).to_have_value("shenhe@changzhi.example.gov.cn")
    expect(page.locator("input[name=muted][value=proposed]")).to_be_checked()
    page.close()


def test_an_intermediary_subscribes_to_the_boards_filters_and_sets_quiet_hours(browser: Browser, live_server: str,
                                                                               shots: Path) -> None:
    page = login(browser, live_server, "demo-intermediary")
    page.goto(live_server + "/console/board?sector=coal_chemical")
    page.get_by_label("关键词（可选）").fill("脱硫")
    page.locator("#save-search").click()
    expect(page).to_have_url(re.compile(r"/console/me/notifications"))
    expect(page.locator(".flash")).to_contain_text("已订阅")
    demo = page.locator("#saved-searches tbody tr").filter(has_text="现代煤化工新需求")  # the demo's own
    expect(demo).to_have_count(1)
    row = page.locator("#saved-searches tbody tr").filter(has_text="关键词：脱硫")
    expect(row).to_contain_text("新需求提醒")
    expect(row).to_contain_text("领域：")
    page.locator("#digest").check()
    page.locator("#quiet_start").fill("22:00")
    page.locator("#quiet_end").fill("07:30")
    page.locator("#save-notifications").click()
    expect(page.locator(".flash")).to_contain_text("通知设置已保存")
    expect(page.locator("#quiet_start")).to_have_value("22:00")
    expect(page.locator("#digest")).to_be_checked()
    page.screenshot(path=str(shots / "notifications-intermediary.png"), full_page=True)
    row.get_by_role("button", name="取消订阅").click()
    expect(page.locator(".flash")).to_contain_text("已取消订阅")
    expect(page.locator("#saved-searches tbody tr").filter(has_text="关键词：脱硫")).to_have_count(0)
    page.close()
