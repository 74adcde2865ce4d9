"""The province office's registers in a real headless Chromium against a real uvicorn server (as
``test_console_browser.py``): 单位与别名 — an official records a university, gives it an alias, finds it by
the alias, is told in Chinese when an alias names another organisation and merges the two when asked, and
records that the university holds shares in an enterprise (the Shaanxi rule); 中介区域 — the official moves
an agency to a city's area, a city official's attempt is refused in Chinese; an enterprise's account opens
neither page. The live server is shared with the other browser tests: the shares, the aliases and the agency's
area are put back at the end."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.console.conftest import OFFICIAL, login

pytestmark = pytest.mark.once("sqlite")

UNI, ALIAS = "太原理工大学", "太原理工"
TWIN = "晋阳理工测试学院"  # recorded separately, then merged into the university: a name no other test uses


def create_organisation(office: Page, name: str, kind: str) -> int:
    office.get_by_label("单位名称").fill(name)
    office.get_by_label("单位类型").select_option(label=kind)
    office.locator("#create-organisation").click()
    expect(office.locator("h1")).to_have_text(name)
    expect(office.locator(".flash")).to_contain_text("单位已登记")
    expect(office.locator("#org-kind")).to_have_text(kind)
    found = re.search(r"/console/organisations/(\d+)", office.url)
    assert found, office.url
    return int(found.group(1))


def test_the_province_office_registers_a_university_and_sets_an_agencys_area(browser: Browser, live_server: str,
                                                                            shots: Path) -> None:
    base = live_server
    office = login(browser, base, "demo-official")
    demands = office.request.get(f"{base}/api/v1/demands?limit=20", headers=OFFICIAL).json()["items"]
    enterprise = demands[0]["enterprise"]
    agencies = office.request.get(f"{base}/api/v1/intermediaries", headers=OFFICIAL).json()
    agency = agencies[-1]
    assert agency["area_code"] is None, agency  # registered for the whole province, as seeded
    org_id: int | None = None
    try:
        # --- 单位与别名: the university recorded, then its alias
        office.locator("nav").get_by_role("link", name="单位与别名").click()
        expect(office.locator("h1")).to_have_text("单位与别名")
        org_id = create_organisation(office, UNI, "高校")
        office.get_by_label("新别名").fill(ALIAS)
        office.locator("#add-alias").click()
        expect(office.locator(".flash")).to_contain_text("别名已添加")
        expect(office.locator("#org-aliases")).to_contain_text(ALIAS)

        # found in the list by the alias, with its kind and its aliases
        office.goto(base + "/console/organisations")
        office.get_by_label("名称、别名或统一社会信用代码").fill(ALIAS)
        office.locator("#org-search").click()
        row = office.locator(f"#organisation-{org_id}")
        expect(row).to_contain_text(UNI)
        expect(row).to_contain_text("高校")
        expect(row.locator(".aliases")).to_contain_text(ALIAS)
        # the alias is one of its names now: recording it as a new organisation is refused, naming the university
        office.get_by_label("单位名称").fill(ALIAS)
        office.locator("#create-organisation").click()
        expect(office.locator("#organisation-errors")).to_contain_text(f"“{ALIAS}”已是“{UNI}”（高校）的名称或别名")
        expect(office.get_by_label("单位名称")).to_have_value(ALIAS)

        # an alias naming another organisation: refused in Chinese, naming it; merged when 合并 is ticked
        office.goto(base + "/console/organisations")
        twin_id = create_organisation(office, TWIN, "高校")
        office.goto(f"{base}/console/organisations/{org_id}")
        office.get_by_label("新别名").fill(TWIN)
        office.locator("#add-alias").click()
        expect(office.locator("#alias-errors")).to_contain_text(f"“{TWIN}”已是“{TWIN}”（高校）的名称或别名")
        expect(office.get_by_label("新别名")).to_have_value(TWIN)  # what was typed is kept
        office.get_by_label("合并").check()
        office.locator("#add-alias").click()
        expect(office.locator(".flash")).to_contain_text("已合并")
        expect(office.locator("#org-aliases")).to_contain_text(TWIN)
        gone = office.request.get(f"{base}/api/v1/organisations/{twin_id}", headers=OFFICIAL)
        assert gone.status == 404, gone.text()

        # --- the Shaanxi rule: the university holds shares in an enterprise (no name: refused in Chinese)
        expect(office.locator("#org-relations-empty")).to_be_visible()
        office.get_by_label("关系", exact=True).select_option(label="入股")
        office.locator("#record-relation").click()
        expect(office.locator("#org-relation-errors")).to_contain_text("请填写企业名称")
        office.get_by_label("企业名称（登记名称或别名）").fill(enterprise)
        office.get_by_label("起始日期（可选）").fill("2021-03-01")
        office.get_by_label("说明（可选）").fill("校办产业持股")
        office.locator("#record-relation").click()
        expect(office.locator(".flash")).to_contain_text("本单位的人才不再推荐给该企业")
        held = office.locator("#org-relations tbody tr", has_text=enterprise)
        expect(held).to_contain_text("入股")
        expect(held).to_contain_text("回避中")
        office.screenshot(path=str(shots / "office-organisation.png"), full_page=True)

        # --- 中介区域: the agency moved to 太原市's area
        office.locator("nav").get_by_role("link", name="中介区域").click()
        expect(office.locator("h1")).to_have_text("中介机构服务区域")
        agency_row = office.locator(f"#intermediary-{agency['id']}")
        expect(agency_row.locator(".area")).to_have_text("全省（山西省）")
        agency_row.locator("select").select_option(label="太原市")
        agency_row.locator("button.set-area").click()
        expect(office.locator(".flash")).to_have_text("服务区域已更新")
        expect(agency_row.locator(".area")).to_have_text("太原市")
        office.screenshot(path=str(shots / "office-intermediaries.png"), full_page=True)

        # a city office may look, not change: refused in Chinese, the area as it was
        city = login(browser, base, "demo-city_official")
        city.goto(base + "/console/intermediaries")
        expect(city.locator("main")).to_contain_text("只能查看")
        city_row = city.locator(f"#intermediary-{agency['id']}")
        city_row.locator("select").select_option(label="全省（山西省）")
        city_row.locator("button.set-area").click()
        expect(city.locator(".flash.error")).to_contain_text("中介机构的服务区域由省级主管部门设置")
        expect(city.locator(f"#intermediary-{agency['id']} .area")).to_have_text("太原市")
        city.close()
        company = login(browser, base, "demo-enterprise")  # neither page is an enterprise's
        company.goto(base + "/console/organisations")
        expect(company.locator("[role=alert]")).to_have_text("本页面仅供主管部门和管理员使用")
        expect(company.locator("nav")).not_to_contain_text("单位与别名")
        company.close()

        # --- put back from the pages: the whole province, the shares deleted, the aliases removed
        agency_row.locator("select").select_option(label="全省（山西省）")
        agency_row.locator("button.set-area").click()
        expect(office.locator(".flash")).to_have_text("服务区域已更新")
        expect(agency_row.locator(".area")).to_have_text("全省（山西省）")

        office.goto(f"{base}/console/organisations/{org_id}")
        office.locator("#org-relations tbody tr", has_text=enterprise).get_by_role("button", name="删除").click()
        expect(office.locator(".flash")).to_have_text("该关系已删除")
        expect(office.locator("#org-relations-empty")).to_be_visible()
        office.get_by_role("button", name=f"删除别名 {TWIN}").click()
        expect(office.locator(".flash")).to_have_text("别名已删除")
        office.goto(base + "/console/organisations?q=" + ALIAS)  # and one from the list, which it returns to
        office.locator(f"#organisation-{org_id}").get_by_role("button", name=f"删除别名 {ALIAS}").click()
        expect(office.locator(".flash")).to_have_text("别名已删除")
        expect(office.get_by_label("名称、别名或统一社会信用代码")).to_have_value(ALIAS)
        expect(office.locator(f"#organisation-{org_id} .aliases")).to_have_text("无")
    finally:  # whatever failed above, the shared server gets the agency's area and no shares back
        office.request.patch(f"{base}/api/v1/intermediaries/{agency['id']}", headers=OFFICIAL, data={"area": None})
        if org_id is not None:
            for r in office.request.get(f"{base}/api/v1/organisations/{org_id}/relations", headers=OFFICIAL).json():
                office.request.delete(f"{base}/api/v1/relations/{r['id']}", headers=OFFICIAL)
        office.close()
