"""政策分析 in a real headless Chromium against the shared live demo server: the demo's figures appear on
first start (the supply job runs once the index is ready), the gap map is an ECharts chart with a table of
the same figures, hovering a bar shows its figures, clicking a city's bar drills from the province to that
city, and a county's link opens the demands behind it; a 通报 is issued from the page and downloads."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.console.conftest import login

pytestmark = pytest.mark.once("sqlite")


def _wait_for_supply(page: Page, url: str, seconds: float = 240) -> None:
    """The supply job runs after the index loads on first start: reload until the page has its figures."""
    end = time.monotonic() + seconds
    while True:
        page.goto(url)
        if "供需数据尚在计算中" not in page.locator("main, body").first.inner_text():
            return
        assert time.monotonic() < end, "the demo's supply was never computed"
        time.sleep(3)


def _bar_point(page: Page, index_from_top: int) -> tuple[float, float]:
    """The page coordinates of the middle of a gap-map bar (the chart lists the cells bottom-up)."""
    box = page.locator("#chart-gap").bounding_box()
    assert box is not None
    x, y = page.evaluate(
        """(i) => {
            const c = echarts.getInstanceByDom(document.getElementById('chart-gap'));
            const data = c.getOption().series[0].data;
            const row = data.length - 1 - i;
            const v = Math.max(data[row].value, 0.02);
            return c.convertToPixel({seriesIndex: 0}, [v / 2, row]);
        }""", index_from_top)
    return box["x"] + x, box["y"] + y


def test_the_office_drills_from_the_province_to_a_city_and_opens_the_list_behind_a_bar(
        browser: Browser, live_server: str, shots: Path) -> None:
    page = login(browser, live_server, "demo-official")
    _wait_for_supply(page, live_server + "/console/insight")
    expect(page.locator("h1")).to_have_text("政策分析")
    expect(page.locator("#chart-gap")).to_have_attribute("data-ready", "1")
    rows = page.locator("#gap-table tbody tr")
    assert rows.count() >= 2
    first_city = rows.first.locator("td").first.locator("a.drill").inner_text()
    page.screenshot(path=str(shots / "insight-province.png"), full_page=True)

    x, y = _bar_point(page, 0)
    page.mouse.move(x, y)
    expect(page.locator("#chart-gap")).to_contain_text("供需比")  # the tooltip, with the bar's figures
    expect(page.locator("#chart-gap")).to_contain_text(first_city)
    page.mouse.click(x, y)
    expect(page).to_have_url(re.compile(r"/console/insight\?dimension=area&office=\d{6}$"))
    expect(page.locator("#trail")).to_contain_text(first_city)
    expect(page.locator("#trail a").first).to_have_text("山西省")
    county_rows = page.locator("#gap-table tbody tr")
    expect(county_rows.first).to_be_visible()
    assert county_rows.first.locator("a.drill").count() == 0  # a county is the bottom of the tree
    page.screenshot(path=str(shots / "insight-city.png"), full_page=True)

    county_rows.first.locator("a.cell-list").click()
    expect(page.locator("h1")).to_contain_text("供需明细")
    listing = page.locator("#cell-demands tbody tr")
    expect(listing.first.locator("a")).to_have_attribute("href", re.compile(r"/console/demands/\d+$"))

    page.goto(live_server + "/console/insight")
    page.locator("#issue-report").click()
    expect(page).to_have_url(re.compile(r"/console/insight#reports$"))
    link = page.locator("#report-list tbody tr").first.get_by_role("link", name="PDF")
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename.endswith(".pdf")
    page.close()
