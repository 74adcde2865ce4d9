"""The console in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright) against
a real uvicorn server: each role's main path, and what each role sees. Screenshots of the main pages
go to docs/screenshots/ when MATCHER_SCREENSHOTS=1 (as for the README), else to a temporary folder."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from matcher.config import PROJECT_ROOT

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), "Debian's chromium is needed (.ci/run installs it with apt-get)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.environ.get("MATCHER_SCREENSHOTS") == "1":
        out = PROJECT_ROOT / "docs" / "screenshots"
        out.mkdir(parents=True, exist_ok=True)
        return out
    return tmp_path_factory.mktemp("screenshots")


def login(browser: Browser, base: str, token: str, width: int = 1280) -> Page:
    page = browser.new_page(viewport={"width": width, "height": 900}, locale="zh-CN")
    page.goto(base + "/login")
    page.keyboard.press("Tab")  # keyboard only: the token field is reachable and Enter submits
    page.get_by_label("访问令牌").fill(token)
    page.get_by_label("访问令牌").press("Enter")
    page.wait_for_load_state()
    return page


def test_roles_main_paths(browser: Browser, live_server: str, shots: Path) -> None:
    base = live_server
    # --- enterprise: post a demand with a form that validates as you type
    ent = login(browser, base, "demo-enterprise")
    expect(ent.locator("h1")).to_have_text("我的需求")
    ent.get_by_role("link", name="发布需求").click()
    ent.get_by_label("需求名称").fill("短")
    expect(ent.locator("#title-err")).to_have_text("需求名称至少 4 个字")
    ent.get_by_label("需求名称").fill("费托合成催化剂磨损严重导致消耗偏高")
    expect(ent.locator("#title-err")).to_have_text("")
    ent.get_by_label("需求描述").fill("我公司煤制油装置铁基费托催化剂吨油消耗高于设计值约30%，浆态床中催化剂磨损细粉增多，"
                                     "希望专家从催化剂强度和反应器操作方面分析原因。")
    ent.get_by_label("国民经济行业代码（GB/T 4754）").fill("2523")
    ent.get_by_label("预算下限（万元）").fill("80")
    ent.get_by_label("预算上限（万元）").fill("50")
    expect(ent.locator("#budget_max-err")).to_have_text("预算上限不能小于下限")
    ent.get_by_label("预算上限（万元）").fill("160")
    ent.get_by_label("科技副总").check()
    ent.screenshot(path=str(shots / "enterprise-post-demand.png"), full_page=True)
    ent.get_by_role("button", name="发布需求").click()
    expect(ent.locator(".flash")).to_have_text("需求已发布")
    demand_url = ent.url.split("?")[0]
    expect(ent.locator("h1")).to_contain_text("费托合成催化剂磨损严重导致消耗偏高")
    expect(ent.locator("h1 .badge")).to_have_text("已出榜")
    rows = ent.locator("tbody tr")
    expect(rows.first).to_contain_text("煤")  # proposals shown with their explanation
    assert ent.locator(".terms span").count() > 0
    assert "****" in ent.locator("tbody tr").first.inner_text()  # contact masked before approval
    ent.screenshot(path=str(shots / "enterprise-proposals.png"), full_page=True)

    # --- intermediary: the board with filters, take the demand up, shortlist, contact, submit
    mid = login(browser, base, "demo-intermediary")
    expect(mid.locator("h1")).to_contain_text("揭榜大厅")
    mid.get_by_label("领域").select_option("coal_chemical")
    mid.get_by_role("button", name="筛选").click()
    expect(mid.locator("tbody")).to_contain_text("费托合成催化剂磨损严重导致消耗偏高")
    mid.screenshot(path=str(shots / "intermediary-board.png"), full_page=True)
    mid.get_by_role("link", name="费托合成催化剂磨损严重导致消耗偏高").click()
    mid.get_by_role("button", name="揭榜（承接此需求）").click()
    expect(mid.locator(".flash")).to_contain_text("揭榜成功")
    expect(mid.locator("h1 .badge")).to_have_text("已揭榜")
    mid.locator("button.shortlist").first.click()
    expect(mid.locator(".flash")).to_contain_text("已加入候选")
    mid.get_by_label("联络记录").fill("电话联系，专家同意以项目合作方式参与")
    mid.get_by_label("人才答复").select_option("accepted")
    mid.get_by_role("button", name="记录联络").click()
    expect(mid.locator(".flash")).to_have_text("已记录联络")
    mid.get_by_label("服务方案（提交审核）").fill("专家每月驻企4天，三个月内完成催化剂磨损机理分析与操作优化。")
    mid.get_by_role("button", name="提交审核").click()
    expect(mid.locator("h1 .badge")).to_have_text("待审核")
    match_url = mid.url.split("?")[0]
    assert "****" in mid.locator("#talent-phone").inner_text()

    # --- official: the queue, everything on one screen, approve with a reason; the dashboard
    off = login(browser, base, "demo-official")
    expect(off.locator("h1")).to_have_text("待审核匹配")
    off.locator("tbody a[href^='/console/matches/']").first.click()
    assert off.url.split("?")[0] == match_url
    assert "****" not in off.locator("#talent-phone").inner_text()  # officials always see contacts
    expect(off.locator("body")).to_contain_text("专家每月驻企4天")
    expect(off.locator("body")).to_contain_text("得分构成")
    expect(off.locator("body")).to_contain_text("全流程记录")
    off.screenshot(path=str(shots / "official-review.png"), full_page=True)
    off.get_by_label("审核意见（驳回时必填）").fill("专业方向吻合，方案可行")
    off.get_by_role("button", name="审核通过").click()
    expect(off.locator("h1 .badge")).to_have_text("审核通过")
    off.get_by_role("link", name="统计看板").click()
    assert off.locator("svg.bars").count() == 6
    off.screenshot(path=str(shots / "official-dashboard.png"), full_page=True)

    # --- after approval the enterprise and the intermediary see the contact; the enterprise confirms
    ent.goto(match_url)
    assert re.fullmatch(r"1\d{10}", ent.locator("#talent-phone").inner_text().strip())
    ent.get_by_role("button", name="确认已开展合作").click()
    expect(ent.locator("h1 .badge")).to_have_text("合作中")
    ent.goto(demand_url)
    expect(ent.locator("h1 .badge")).to_have_text("已匹配")
    mid.goto(match_url)
    assert "****" not in mid.locator("#talent-phone").inner_text()
    for p in (ent, mid, off):
        p.close()


def test_import_report_and_phone_width(browser: Browser, live_server: str, shots: Path, tmp_path: Path) -> None:
    off = login(browser, live_server, "demo-official")
    off.get_by_role("link", name="导入导出").click()
    bad = tmp_path / "人才.csv"
    bad.write_text("编号,姓名,简介,职称级别\nX-1,王强,从事煤矿瓦斯抽采研究,正高\nX-2,,缺少姓名,\nX-3,李四,测试,院士\n",
                   encoding="utf-8")
    off.get_by_label("文件（.xlsx 或 .csv，≤ 20 MB）").set_input_files(str(bad))
    off.get_by_role("button", name="导入").click()
    expect(off.locator(".flash.error")).to_contain_text("未写入任何数据")
    rows = off.locator("#import-errors tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("3")
    expect(rows.nth(1)).to_contain_text("title_level")
    off.screenshot(path=str(shots / "official-import-report.png"), full_page=True)
    off.close()

    phone = login(browser, live_server, "demo-intermediary", width=390)
    overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"page is {overflow}px wider than a phone screen"
    phone.screenshot(path=str(shots / "intermediary-board-phone.png"), full_page=False)
    phone.close()


def test_login_rejects_a_bad_token_and_pages_need_login(browser: Browser, live_server: str) -> None:
    page = browser.new_page()
    page.goto(live_server + "/console/board")
    assert page.url.endswith("/login")
    page.get_by_label("访问令牌").fill("wrong")
    page.get_by_role("button", name="登录").click()
    expect(page.locator(".flash")).to_have_text("令牌无效或已停用")
    page.close()
