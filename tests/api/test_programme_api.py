"""The programme's time limits over HTTP: open items with their due dates, the 督查 summary and its
workbook, the calendar's years — for officials, scoped by their office (the demo's city and county
officials see a part of what the province sees)."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from matcher.config import Settings
from tests.conftest import api_client, auth


@pytest.fixture(scope="module")
def client(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with api_client(settings, tmp_path_factory.mktemp("programme-var")) as c:
        yield c


def test_open_items_carry_their_due_dates(client: TestClient) -> None:
    r = client.get("/api/v1/deadlines", params={"limit": 200}, headers=auth("official"))
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["total"] > 0 and page["items"]
    for item in page["items"]:
        assert item["due"] > item["started"] and item["status"] in ("due", "due_soon", "overdue")
        assert item["programme"] and "@" in item["programme"]
    ranks = [i["working_days_left"] for i in page["items"]]
    assert ranks == sorted(ranks)  # most overdue first
    overdue = client.get("/api/v1/deadlines", params={"status": "overdue", "limit": 200}, headers=auth("official"))
    assert all(i["status"] == "overdue" for i in overdue.json()["items"])
    bad = client.get("/api/v1/deadlines", params={"status": "late"}, headers=auth("official"))
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "status"


@pytest.mark.parametrize("role", ["enterprise", "intermediary", "talent"])
def test_only_officials_see_the_deadlines(client: TestClient, role: str) -> None:
    for path in ("/api/v1/deadlines", "/api/v1/oversight", "/api/v1/oversight.xlsx"):
        assert client.get(path, headers=auth(role)).status_code == 403, path


def test_a_county_sees_part_of_what_its_city_and_the_province_see(client: TestClient) -> None:
    totals = {}
    for role in ("official", "city_official", "county_official"):
        r = client.get("/api/v1/oversight", headers=auth(role))
        assert r.status_code == 200, r.text
        totals[role] = sum(r.json()[k] for k in ("overdue", "due_soon", "due"))
    assert totals["official"] >= totals["city_official"] >= totals["county_official"]
    assert totals["official"] > totals["county_official"]  # the demo spreads its enterprises over counties
    items = client.get("/api/v1/deadlines", params={"limit": 200}, headers=auth("county_official")).json()["items"]
    county = {i["county_code"] for i in items}
    assert len(county) <= 1


def test_the_oversight_workbook_opens_with_chinese_headers(client: TestClient) -> None:
    r = client.get("/api/v1/oversight.xlsx", headers=auth("official"))
    assert r.status_code == 200
    sheet = load_workbook(io.BytesIO(r.content), read_only=True)["督查"]
    rows = list(sheet.iter_rows(values_only=True))
    total = client.get("/api/v1/deadlines", params={"limit": 1}, headers=auth("official")).json()["total"]
    assert len(rows) == total + 1 and "截止日期" in rows[0]


def test_the_calendar_names_its_years(client: TestClient) -> None:
    r = client.get("/api/v1/calendar/years", headers=auth("enterprise"))
    assert r.status_code == 200 and 2026 in r.json()["years"] and 2031 not in r.json()["years"]
