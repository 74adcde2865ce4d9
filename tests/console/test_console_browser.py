"""The console in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright) against
a real uvicorn server: each role's main path, and what each role sees. Screenshots of the main pages
go to docs/screenshots/ when MATCHER_SCREENSHOTS=1 (as for the README), else to a temporary folder."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.console.conftest import OFFICIAL, login

pytestmark = pytest.mark.once("sqlite")





def invite_and_sign_in(browser: Browser, base: str, official: Page, talent_id: int) -> Page:
    """The official issues an invitation code on the duplicates page; the talent redeems it at /invite and
    lands on their own page."""
    official.goto(base + "/console/duplicates")
    official.get_by_label("人才记录编号").fill(str(talent_id))
    official.locator("#make-invite").click()
    code = official.locator("#invite-code").inner_text().strip()
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page.goto(base + "/invite")
    page.get_by_label("邀请码").fill(code)
    page.get_by_label("邀请码").press("Enter")
    expect(page.locator("#api-token")).to_have_text(re.compile(r"^mt_"))
    page.locator("#go-me").click()
    expect(page.locator("h1")).to_have_text("我的信息")
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
    # the structured parts that make it worth posting (without them it would wait in 待完善)
    ent.get_by_label("现状").fill("目前浆态床反应器操作温度约250℃，已试过更换催化剂批次，效果有限")
    ent.get_by_label("目标指标").fill("吨油催化剂消耗降低30%以上")
    ent.get_by_label("现场条件").fill("可提供近2年的DCS运行数据和催化剂样品")
    expect(ent.locator("#completeness-verdict")).to_contain_text("已达到发布要求")
    ent.screenshot(path=str(shots / "enterprise-post-demand.png"), full_page=True)
    ent.get_by_role("button", name="发布需求").click()
    expect(ent.locator(".flash")).to_have_text("需求已发布")
    demand_url = ent.url.split("?")[0]
    expect(ent.locator("h1")).to_contain_text("费托合成催化剂磨损严重导致消耗偏高")
    expect(ent.locator("h1 .badge")).to_have_text("已出榜")
    rows = ent.locator("tbody tr")
    expect(rows.first).to_contain_text("煤")  # proposals shown with their explanation
    assert ent.locator(".terms span").count() > 0
    assert not re.search(r"1\d{10}", ent.locator("tbody tr").first.inner_text())  # contact masked before approval
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
    assert not re.fullmatch(r"1\d{10}", mid.locator("#talent-phone").inner_text().strip())  # masked (or none)

    # --- 科技副总 is reviewed in two steps: the enterprise's city first (初审), then the province (终审)
    city = login(browser, base, "demo-city_official")
    expect(city.locator("h1")).to_have_text("待本级审核")
    city.locator(f"tbody a[href='{match_url.removeprefix(base)}']").click()
    expect(city.locator("#review-stage")).to_contain_text("长治市 市级初审")
    city.get_by_label("审核意见（退回、驳回时必填）").fill("方向吻合，推荐上报")
    city.get_by_role("button", name="初审通过，推荐上报").click()
    expect(city.locator(".flash")).to_have_text("已推荐上报，等待下一级审核")
    expect(city.locator("#awaits-other")).to_contain_text("山西省 省级终审")
    city.close()

    # --- official: the queue, everything on one screen, approve with a reason; the dashboard
    off = login(browser, base, "demo-official")
    expect(off.locator("h1")).to_have_text("待本级审核")
    off.locator(f"tbody a[href='{match_url.removeprefix(base)}']").click()
    assert off.url.split("?")[0] == match_url
    assert "****" not in off.locator("#talent-phone").inner_text()  # officials always see contacts
    expect(off.locator("body")).to_contain_text("专家每月驻企4天")
    expect(off.locator("body")).to_contain_text("得分构成")
    expect(off.locator("body")).to_contain_text("全流程记录")
    off.screenshot(path=str(shots / "official-review.png"), full_page=True)
    off.get_by_label("审核意见（退回、驳回时必填）").fill("专业方向吻合，方案可行")
    off.get_by_role("button", name="审核通过").click()
    expect(off.locator("h1 .badge")).to_have_text("审核通过")
    off.get_by_role("link", name="统计看板").click()
    assert off.locator("svg.bars").count() == 6
    off.screenshot(path=str(shots / "official-dashboard.png"), full_page=True)

    # --- approved, but the talent has not agreed to release contact data: the enterprise is told to go
    # through the office; the office invites the talent, who signs in and consents
    ent.goto(match_url)
    expect(ent.locator("#via-office")).to_be_visible()
    match_id = match_url.rsplit("/", 1)[1]
    talent_id = off.request.get(f"{base}/api/v1/matches/{match_id}", headers=OFFICIAL).json()["talent_id"]
    me = invite_and_sign_in(browser, base, off, talent_id)
    me.locator("#grant-contact").click()
    expect(me.locator("#consent-contact .badge")).to_have_text("已同意")
    if not me.get_by_label("手机号").input_value():  # a record from a list without the number: they add it
        me.get_by_label("手机号").fill("13912345678")
        me.locator("#save-me").click()
        expect(me.locator(".flash")).to_contain_text("已保存")
    me.close()

    # --- after approval (and consent) the enterprise and the intermediary see the contact; confirmation
    ent.goto(match_url)
    assert re.fullmatch(r"1\d{10}", ent.locator("#talent-phone").inner_text().strip())
    # the approval drafted the three-party agreement: the enterprise confirms it as 甲方 (the others follow)
    ent.locator("#agreement-note").get_by_role("link").click()
    ent.locator("#have-read").check()
    ent.locator("#confirm-agreement").click()
    expect(ent.locator(".flash")).to_contain_text("已确认协议")
    expect(ent.locator("h1 .badge")).to_have_text("待签协议")
    expect(ent.locator("#confirm-agreement")).to_have_count(0)
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


def test_the_talents_own_page(browser: Browser, live_server: str, shots: Path) -> None:
    """A talent invited by the office: consents, corrections (with a validation error first), the preview
    of how the profile is matched, a proposal to answer, the download, the access log, withdrawal."""
    base = live_server
    off = login(browser, base, "demo-official")
    off.goto(base + "/console/duplicates")
    expect(off.locator("h1")).to_have_text("疑似重复的人才记录")
    expect(off.locator("section[id^='pair-']").first).to_contain_text("同一人概率")  # the seeded duplicates
    off.screenshot(path=str(shots / "official-duplicates.png"))  # the first pairs
    talents = off.request.get(f"{base}/api/v1/talents?limit=60", headers=OFFICIAL).json()["items"]
    t = next(x for x in talents[5:] if x["mode_capacity"].get("flexible"))
    me = invite_and_sign_in(browser, base, off, t["id"])
    expect(me.locator("#my-name")).to_have_text(t["name"])
    expect(me.locator("#my-phone")).to_have_text(re.compile(r"^1\d{10}$"))  # their own data, unmasked
    me.locator("#grant-propose").click()
    expect(me.locator("#consent-propose .badge")).to_have_text("已同意")

    # a correction refused with the reason, then saved and reflected in the matching preview
    me.get_by_label("个人简介").fill("太短")
    me.locator("#save-me").click()
    expect(me.locator(".flash.error")).to_contain_text("个人简介")
    me.get_by_label("个人简介").fill("长期从事煤气化与灰渣黏温特性研究，主持气化炉长周期运行与排渣控制技术攻关。")
    me.get_by_label("研究方向（用顿号或逗号分隔）").fill("煤气化、灰渣黏温特性")
    me.locator("#save-me").click()
    expect(me.locator(".flash")).to_contain_text("已保存")
    expect(me.locator("#key-phrases")).to_contain_text("煤气化")

    # an intermediary shortlists the talent; the talent accepts on the page; the intermediary sees it
    agency = {"Authorization": "Bearer demo-intermediary"}
    board = off.request.get(f"{base}/api/v1/demands?status=open&limit=50", headers=agency).json()["items"]
    demand = next(d for d in board if "flexible" in d["modes"])
    assert off.request.post(f"{base}/api/v1/demands/{demand['id']}/take-up", headers=agency).status == 200
    m = off.request.post(f"{base}/api/v1/demands/{demand['id']}/shortlist", headers=agency,
                         data={"talent_id": t["id"], "mode": "flexible"})
    assert m.status == 201, m.text()
    me.reload()
    row = me.locator(f"#proposal-{m.json()['id']}")
    expect(row).to_contain_text(demand["title"])
    row.get_by_label("留言（可选）").fill("可以，下月起每月驻企两天")
    row.get_by_role("button", name="接受").click()
    expect(me.locator(".flash")).to_contain_text("已答复")
    expect(me.locator(f"#proposal-{m.json()['id']}")).to_contain_text("已接受（本人）")
    seen = off.request.get(f"{base}/api/v1/matches/{m.json()['id']}", headers=agency).json()
    assert seen["contact_log"]["answer"] == "accepted" and seen["contact_log"]["answered_by"] == "talent"
    me.screenshot(path=str(shots / "talent-page.png"), full_page=True)

    # the download holds what the page shows; other console pages stay closed to a talent
    with me.expect_download() as dl:
        me.locator("#dl-json").click()
    data = json.loads(Path(dl.value.path()).read_text(encoding="utf-8"))
    assert data["talent"]["profile"].startswith("长期从事煤气化") and data["proposals"][0]["answer"] == "accepted"
    assert me.goto(base + "/console/demands").status == 403
    me.goto(base + "/console/me")

    # withdrawal: confirmed by typing, then the record is pseudonymised and no longer proposed
    me.locator("summary", has_text="撤回并删除我的个人信息").click()
    me.get_by_label("请输入“撤回”二字确认").fill("撤回")
    me.locator("#withdraw").click()
    expect(me.locator("#my-name")).to_have_text(f"已撤回人才#{t['id']}")
    expect(me.locator(".flash.error")).to_contain_text("不再推荐")
    proposals = off.request.get(f"{base}/api/v1/demands/{demand['id']}/matches?mode=flexible&k=50",
                                headers=OFFICIAL).json()["items"]
    assert t["id"] not in [p["talent"]["id"] for p in proposals]

    # the official merges a pair of records of one person
    off.goto(base + "/console/duplicates")
    pair = off.locator("section[id^='pair-']").first
    pair.get_by_role("button", name="合并为一人").click()
    expect(off.locator(".flash")).to_contain_text("已合并为一条记录")
    me.close()
    off.close()


def test_the_oversight_list_per_office(browser: Browser, live_server: str, shots: Path) -> None:
    """督查: the province's official opens the list from the menu, sees overdue items (the demo posts its
    demands over four weeks) and follows one to its demand; the county official's page names the county and
    holds no more than the province's."""
    page = login(browser, live_server, "demo-official")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="督查").click()
    expect(page.locator("h1")).to_have_text("督查 · 办理时限")
    province = int(page.locator("#overdue-count").inner_text())
    assert province > 0
    expect(page.locator("#offices tbody tr").first).to_contain_text("山西省")
    page.screenshot(path=str(shots / "oversight.png"), full_page=True)
    first = page.locator("#overdue tbody tr").first
    title = first.locator("a").inner_text()
    first.locator("a").click()
    expect(page.locator("h1")).to_contain_text(title[:8])
    page.close()
    county = login(browser, live_server, "demo-county_official")
    county.goto(live_server + "/console/oversight")
    expect(county.locator("p.muted").first).not_to_contain_text("山西省 ·")  # its own county's name instead
    assert int(county.locator("#overdue-count").inner_text()) <= province
    county.close()


def test_a_county_officials_queue(browser: Browser, live_server: str, shots: Path) -> None:
    """科技特派员 is reviewed by the enterprise's county first (县级初审), then its city (市级终审): the county
    official's queue holds the match with its step, the official recommends it with a 容缺 item, and it moves
    to the city's queue; the county's page then says whose step it awaits."""
    from tests.conftest import COMPLETE_PARTS

    base = live_server
    api = browser.new_page()

    def call(method: str, path: str, token: str, body: dict[str, object] | None = None) -> dict[str, object]:
        r = api.request.fetch(base + path, method=method, headers={"Authorization": f"Bearer {token}"},
                              data=body)
        assert r.ok, r.text()
        return r.json()  # type: ignore[no-any-return]

    d = call("POST", "/api/v1/demands", "demo-enterprise", {
        "title": "焦化废水深度处理COD不稳定", "modes": ["flexible"], "programme": "tech_commissioner",
        "description": "焦化废水生化出水COD波动在120-180mg/L，深度处理后仍偶有超标，希望科技特派员驻企指导。",
        "industry_code": "2523", "budget_min": 20, "budget_max": 40, "deadline": "2027-12-31", **COMPLETE_PARTS})
    assert d["status"] == "open", d
    call("POST", f"/api/v1/demands/{d['id']}/take-up", "demo-intermediary")
    tid = call("GET", f"/api/v1/demands/{d['id']}/matches?mode=flexible&k=1", "demo-intermediary")["items"][0]
    m = call("POST", f"/api/v1/demands/{d['id']}/shortlist", "demo-intermediary",
             {"talent_id": tid["talent"]["id"], "mode": "flexible"})  # type: ignore[index]
    call("POST", f"/api/v1/matches/{m['id']}/submit", "demo-intermediary",
         {"plan": "每月驻企两次，三个月内完成工艺诊断"})
    api.close()

    county = login(browser, base, "demo-county_official")
    county.goto(base + "/console/reviews")
    expect(county.locator("h1")).to_have_text("待本级审核")
    row = county.locator("#match-list tbody tr", has=county.locator(f"a[href='/console/matches/{m['id']}']"))
    expect(row.locator(".review-stage")).to_have_text("长治市潞城区 县级初审")
    county.screenshot(path=str(shots / "county-review-queue.png"), full_page=True)
    row.locator(f"a[href='/console/matches/{m['id']}']").click()
    county.locator("details summary", has_text="容缺受理").click()
    county.get_by_label("暂缺材料（多项用顿号或逗号分隔）").fill("派出单位同意函")
    county.get_by_label("承诺补齐日期").fill("2027-06-30")
    county.get_by_role("button", name="初审通过，推荐上报").click()
    expect(county.locator(".flash")).to_have_text("已推荐上报，等待下一级审核")
    expect(county.locator("#awaits-other")).to_contain_text("长治市 市级终审")
    expect(county.locator("#missing-items")).to_contain_text("派出单位同意函")
    county.close()
    city = login(browser, base, "demo-city_official")
    city.goto(base + "/console/reviews")
    city_row = city.locator("#match-list tbody tr", has=city.locator(f"a[href='/console/matches/{m['id']}']"))
    expect(city_row.locator(".review-stage")).to_have_text("长治市 市级终审")
    city.close()
