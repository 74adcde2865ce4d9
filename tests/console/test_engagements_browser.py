"""Engagements in a real headless Chromium against the shared live uvicorn server (its demo has an engagement
at each stage, ``matcher/demo/engagements.py``): the demo talent opens the agreement waiting for them, reads
the PDF and confirms it in their own session, which starts the engagement; the province office grades the
first year of a 科技副总 whose forms are in and computes its 奖补 by the programme's rule from the salary the
enterprise paid, with the salary evidence uploaded."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.conftest import auth
from tests.console.conftest import login

pytestmark = pytest.mark.once("sqlite")


def test_the_talent_confirms_the_agreement_in_their_own_session(browser: Browser, live_server: str,
                                                                 shots: Path) -> None:
    base = live_server
    page = login(browser, base, "demo-talent")
    page.locator("nav").get_by_role("link", name="我的合作协议").click()
    expect(page.locator("h1")).to_have_text("合作与协议")
    rows = page.locator("#engagement-list tbody tr")
    expect(rows).to_have_count(1)  # the talent sees their own engagement only
    expect(rows.first).to_contain_text("待")
    rows.first.get_by_role("link").click()
    digest = page.locator("#agreement-digest").inner_text().strip()
    # the PDF the talent reads is the version they confirm: its SHA-256 is the one shown
    pdf = page.request.get(base + page.locator("#agreement-pdf").get_attribute("href"))
    assert pdf.status == 200 and hashlib.sha256(pdf.body()).hexdigest() == digest
    expect(page.locator("#confirmations")).to_contain_text("待确认")
    page.screenshot(path=str(shots / "engagement-talent-confirm.png"), full_page=True)
    page.locator("#confirm-agreement").click()  # the box "我已阅读" is required: nothing is sent without it
    expect(page.locator(".flash")).to_have_count(0)
    page.locator("#have-read").check()
    page.locator("#confirm-agreement").click()
    expect(page.locator(".flash")).to_contain_text("已确认协议")
    expect(page.locator("h1")).to_contain_text("服务中")
    expect(page.locator("#confirm-agreement")).to_have_count(0)
    eid = int(page.url.split("?")[0].rstrip("/").rsplit("/", 1)[-1])
    e = page.request.get(f"{base}/api/v1/engagements/{eid}", headers=auth("official")).json()
    assert e["status"] == "active" and e["agreement"]["status"] == "confirmed"
    mine = next(c for c in e["agreement"]["confirmations"] if c["party"] == "talent")
    assert mine["pdf_sha256"] == digest and mine["role"] == "talent" and not mine["on_behalf"]
    page.close()


def test_the_office_grades_a_year_and_computes_its_reward_by_rule(browser: Browser, live_server: str,
                                                                  shots: Path) -> None:
    base = live_server
    page = login(browser, base, "demo-official")
    listed = page.request.get(f"{base}/api/v1/engagements?status=active&limit=50",
                              headers=auth("official")).json()["items"]
    e = next(x for x in listed if x["mode"] == "tech_vp" and x["periods"] and x["periods"][0]["grade"] is None)
    assert set(e["periods"][0]["forms"]) >= {"enterprise", "intermediary"}
    page.locator("nav").get_by_role("link", name="合作与协议").click()
    page.locator("#engagement-list").get_by_role("link", name=f"合作 #{e['id']}").click()
    expect(page.locator("#shortfall")).to_contain_text("驻企天数少于协议约定")
    page.locator("#grade-period").select_option("1")
    page.locator("#grade").select_option(label="优秀")
    page.locator("#evidence").fill("企业、中介评价均为优秀；驻企天数11个月达标；牵头完成气化炉长周期运行攻关")
    page.locator("#record-grade").click()
    expect(page.locator(".flash")).to_contain_text("考核等次已登记")
    expect(page.locator("#period-1 .grade")).to_have_text("优秀")
    # 科技副总: 70 % of the salary paid for 优秀, capped at 100,000 yuan a person a year
    page.locator("#reward-period").select_option("1")
    page.locator("#base_yuan").fill("200000")
    page.locator("#evidence-file").set_input_files(
        {"name": "工资发放明细.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 salary 200000\n%%EOF"})
    page.locator("#compute-reward").click()
    expect(page.locator(".flash")).to_contain_text("已按规则核算奖补")
    card = page.locator(".reward").first
    expect(card).to_contain_text("10万元")
    expect(card).to_contain_text("140,000元")  # the rule's step before the cap
    page.screenshot(path=str(shots / "engagement-office-grade.png"), full_page=True)
    rewards = page.request.get(f"{base}/api/v1/rewards?engagement_id={e['id']}",
                               headers=auth("official")).json()["items"]
    assert [(r["period"], r["grade"], r["base_yuan"], r["amount_yuan"], r["status"]) for r in rewards] == [
        (1, "excellent", 200_000, 100_000, "computed")]
    assert sum(rewards[0]["shares"].values()) == 100_000
    page.close()
