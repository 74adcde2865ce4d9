"""Demands worth posting, in a real headless Chromium against a real server (the demo database of
``live_server``): the form's completeness panel answering as the enterprise types, a vague demand landing
in 待完善, the office's queue returning it with a note, and the enterprise's edit that publishes it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.console.conftest import login

pytestmark = pytest.mark.once("sqlite")

TITLE = "铝合金压铸件气孔导致气密性不合格"
DESCRIPTION = "我公司新能源汽车电池壳体采用高压压铸成型，压铸件内部气孔较多，气密性检测不合格，返修率高。"
PARTS = {"现状": "目前采用真空辅助压铸，气密性合格率约82%，已试过调整模温和增压时间，效果有限",
         "目标指标": "气密性合格率由82%提高到95%以上",
         "现场条件": "可提供近1年的压铸工艺参数记录和X射线探伤底片，可安排2台压铸机做工艺试验"}


def score_of(page: Page) -> int:
    return int(page.locator("#completeness-score").inner_text())


def test_live_hints_the_queue_and_the_edit_that_publishes(browser: Browser, live_server: str) -> None:
    base = live_server
    # --- the enterprise types a vague demand: the panel scores it and says what is missing, in Chinese
    ent = login(browser, base, "demo-enterprise")
    ent.get_by_role("link", name="发布需求").click()
    expect(ent.locator("#completeness-score")).to_have_text(re.compile(r"^\d+$"))  # asked once on load
    ent.get_by_label("需求名称").fill(TITLE)
    ent.get_by_label("需求描述").fill(DESCRIPTION)
    expect(ent.locator("#completeness-verdict")).to_contain_text("未达到发布要求")
    expect(ent.locator("#completeness-hints")).to_contain_text("目标指标")
    expect(ent.locator("#completeness-hints")).to_contain_text("现场条件")
    vague = score_of(ent)
    assert vague < 70
    # typing a measurable target raises the score at once, and that hint goes
    ent.get_by_label("目标指标").fill(PARTS["目标指标"])
    expect(ent.locator("#completeness-hints")).not_to_contain_text("可量化的目标指标")
    assert score_of(ent) > vague
    ent.get_by_label("目标指标").fill("")
    expect(ent.locator("#completeness-hints")).to_contain_text("可量化的目标指标")
    ent.get_by_role("button", name="发布需求").click()
    expect(ent.locator(".flash").first).to_contain_text("已进入“待完善”")
    expect(ent.locator("h1 .badge")).to_have_text("待完善")
    expect(ent.locator("#demand-hints")).to_contain_text("目标指标")
    demand_url = ent.url.split("?")[0]

    # --- the intermediary's board does not show it
    mid = login(browser, base, "demo-intermediary")
    expect(mid.locator("h1")).to_contain_text("揭榜大厅")
    expect(mid.locator("main")).not_to_contain_text(TITLE)
    mid.close()

    # --- the office's 待完善 queue: returned with a note
    off = login(browser, base, "demo-official")
    off.get_by_role("link", name="待完善", exact=True).click()
    expect(off.locator("h1")).to_have_text("待完善需求")
    row = off.locator("#incomplete-queue tbody tr", has_text=TITLE)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("目标指标")
    row.get_by_label("退回意见").fill("请补充可量化的目标指标和现场能提供的数据、设备")
    row.get_by_role("button", name="退回完善").click()
    expect(off.locator(".flash")).to_contain_text("已退回企业完善")
    expect(off.locator("#incomplete-queue tbody tr", has_text=TITLE)).to_contain_text("已退回")
    off.close()

    # --- the enterprise reads the note, edits with the panel's help, and the demand is published
    ent.goto(demand_url)
    expect(ent.locator("#office-note")).to_contain_text("请补充可量化的目标指标")
    expect(ent.locator("#demand-history")).to_contain_text("退回完善")
    ent.locator("#edit-demand").click()
    expect(ent.locator("#office-note")).to_contain_text("请补充可量化的目标指标")
    for label, text in PARTS.items():
        ent.get_by_label(label).fill(text)
    expect(ent.locator("#completeness-verdict")).to_contain_text("已达到发布要求")
    assert score_of(ent) >= 70
    ent.get_by_role("button", name="保存修改").click()
    expect(ent.locator(".flash").first).to_have_text("需求已发布到揭榜大厅")
    expect(ent.locator("h1 .badge")).to_have_text("已出榜")
    expect(ent.locator("#demand-current-state")).to_contain_text("真空辅助压铸")
    expect(ent.locator("#office-note")).to_have_count(0)
    ent.close()
