"""Conflicts of interest in a real headless Chromium against a real uvicorn server (as
``test_console_browser.py``): a talent declares on their own page that they hold shares in an enterprise,
the page lists the relation and names the enterprise they are no longer proposed to with the reason the
lists show; a declaration ending before it starts is refused in Chinese beside the form; the enterprise's
list leaves the talent out and gives the reason when asked for the excluded (``include_excluded=true``)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.console.conftest import OFFICIAL

pytestmark = pytest.mark.once("sqlite")

REASON = "人才本人入股该企业（利益冲突）"


def listed(page: Page, base: str, demand_id: int, include_excluded: bool) -> dict[int, dict[str, Any]]:
    """The demand's whole list through the API, page by page (the excluded come after the eligible)."""
    out: dict[int, dict[str, Any]] = {}
    while True:
        r = page.request.get(f"{base}/api/v1/demands/{demand_id}/matches", headers=OFFICIAL,
                             params={"mode": "flexible", "k": 100, "offset": len(out),
                                     "include_excluded": "true" if include_excluded else "false"})
        assert r.ok, r.text()
        body = r.json()
        out.update({p["talent"]["id"]: p for p in body["items"]})
        if not body["items"] or len(out) >= body["total"]:
            return out


def sign_in_as_talent(browser: Browser, base: str, talent_id: int) -> Page:
    """The office issues an invitation code (API); the talent redeems it at /invite and opens their page."""
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    inv = page.request.post(f"{base}/api/v1/talents/{talent_id}/invitations", headers=OFFICIAL, data={"days": 3})
    assert inv.status == 201, inv.text()
    page.goto(base + "/invite")
    page.get_by_label("邀请码").fill(inv.json()["code"])
    page.get_by_label("邀请码").press("Enter")
    expect(page.locator("#api-token")).to_have_text(re.compile(r"^mt_"))
    page.locator("#go-me").click()
    expect(page.locator("h1")).to_have_text("我的信息")
    return page


def test_a_talent_declares_shares_and_reads_why_they_are_not_proposed(browser: Browser, live_server: str,
                                                                      shots: Path) -> None:
    base = live_server
    probe = browser.new_page()
    board = probe.request.get(f"{base}/api/v1/demands?status=open&limit=50", headers=OFFICIAL).json()["items"]
    demand = next(d for d in board if "flexible" in d["modes"])
    top = next(iter(listed(probe, base, demand["id"], include_excluded=False)))
    probe.close()

    me = sign_in_as_talent(browser, base, top)
    expect(me.locator("#my-relations-empty")).to_be_visible()
    # refused first: an employment that ends before it starts, the reason in Chinese beside the form
    me.get_by_label("关系", exact=True).select_option(label="任职")
    me.get_by_label("单位名称").fill(demand["enterprise"])
    me.get_by_label("起始日期", exact=True).fill("2022-03-01")
    me.get_by_label("结束日期（仍在继续则不填）").fill("2021-03-01")
    me.locator("#declare-relation").click()
    expect(me.locator("#relation-errors")).to_contain_text("结束日期不能早于起始日期")
    expect(me.get_by_label("单位名称")).to_have_value(demand["enterprise"])  # what was typed is kept

    # the shares, declared: listed, in force, and the enterprise named with the reason its lists give
    me.get_by_label("关系", exact=True).select_option(label="入股")
    me.get_by_label("起始日期", exact=True).fill("2021-03-01")
    me.get_by_label("结束日期（仍在继续则不填）").fill("")
    me.get_by_label("说明（可选）").fill("持股2%")
    me.locator("#declare-relation").click()
    expect(me.locator(".flash")).to_contain_text("已保存")
    row = me.locator("#my-relations tr", has_text=demand["enterprise"])
    expect(row).to_contain_text("入股")
    expect(row).to_contain_text("回避中")
    conflicts = me.locator("#my-conflicts")
    expect(conflicts).to_contain_text(demand["enterprise"])
    expect(conflicts).to_contain_text(REASON)
    me.screenshot(path=str(shots / "talent-conflicts.png"), full_page=True)

    # the enterprise's list: without the talent, and with the reason when the excluded are shown
    assert top not in listed(me, base, demand["id"], include_excluded=False)
    shown = listed(me, base, demand["id"], include_excluded=True)[top]
    assert not shown["eligible"] and shown["excluded_by"] == REASON

    # the enterprise's page, as the office reads it: the talents left out, each with its reason
    office = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    office.goto(base + "/login")
    office.get_by_label("访问令牌").fill("demo-official")
    office.get_by_label("访问令牌").press("Enter")
    office.goto(f"{base}/console/demands/{demand['id']}?mode=flexible")
    office.locator("#show-excluded").click()
    expect(office.locator("h2", has_text="未予推荐的人才及原因")).to_be_visible()
    excluded_row = office.locator("tbody tr", has_text=shown["talent"]["name"])
    expect(excluded_row.locator(".excluded-reason")).to_have_text(REASON)
    office.close()

    # removed again from the page (the server is shared with other browser tests): proposed again
    row.get_by_role("button", name="删除").click()
    expect(me.locator("#my-relations-empty")).to_be_visible()
    expect(me.locator("#my-conflicts")).to_have_count(0)
    assert top in listed(me, base, demand["id"], include_excluded=False)
    me.close()
