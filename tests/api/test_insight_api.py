"""The office's figures over HTTP: typed answers with the time they were computed, officials only (per-talent
records for officials alone), clear errors naming the field, a 通报 issued and downloaded; the demo's supply
appears on first start without anyone asking for it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from matcher.config import Settings
from tests.conftest import api_client, auth

pytestmark = pytest.mark.once("sqlite")  # slow (a demo seeded and ranked): one back end is enough


@pytest.fixture(scope="module")
def client(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with api_client(settings, tmp_path_factory.mktemp("insight-api")) as c:
        yield c


def _gaps_with_supply(client: Any, **params: Any) -> dict[str, Any]:
    end = time.monotonic() + 120
    while True:
        body: dict[str, Any] = client.get("/api/v1/insight/gaps", params=params, headers=auth("official")).json()
        if body.get("supply_computed_at"):
            return body
        assert time.monotonic() < end, "the first start's supply job never ran"
        time.sleep(1)


def test_the_gap_map_of_the_demo_is_there_on_first_start(client: Any) -> None:
    body = _gaps_with_supply(client, dimension="sector")
    assert body["computed_at"] and body["office_name"] == "山西省" and body["threshold_source"] == "calibrator"
    assert sum(c["pairs"] for c in body["cells"]) >= 24  # every demo demand, in each of its modes
    for c in body["cells"]:
        assert 0 <= c["supply_ratio"] <= 1 and c["flagged"] == (c["supply_ratio"] < body["shortage_ratio"])
    area = client.get("/api/v1/insight/gaps", params={"dimension": "area"}, headers=auth("official")).json()
    city = next(c for c in area["cells"] if c["drill"])
    inside = client.get("/api/v1/insight/gaps", params={"dimension": "area", "office": city["drill"]},
                        headers=auth("official")).json()
    assert inside["office_code"] == city["drill"] and sum(c["pairs"] for c in inside["cells"]) == city["pairs"]
    listing = client.get("/api/v1/insight/gaps/demands", params={"dimension": "area", "key": city["key"]},
                         headers=auth("official")).json()
    assert len(listing["items"]) == listing["total"] == city["pairs"]
    last = listing["total"] - 1  # the last page of one: never empty, so the slice is checked
    page = client.get("/api/v1/insight/gaps/demands", params={"dimension": "area", "key": city["key"], "limit": 1,
                                                              "offset": last}, headers=auth("official")).json()
    assert len(page["items"]) == 1 and page["items"] == listing["items"][last:] and page["total"] == city["pairs"]


@pytest.mark.parametrize(("params", "status", "field"), [
    ({"dimension": "planet"}, 422, "dimension"),
    ({"office": "999999"}, 404, "office"),
    ({"industry_level": 7}, 422, "industry_level"),
])
def test_bad_parameters_are_named(client: Any, params: dict[str, Any], status: int, field: str) -> None:
    r = client.get("/api/v1/insight/gaps", params=params, headers=auth("official"))
    assert r.status_code == status and field in r.text


def test_only_officials_see_the_figures_and_only_officials_see_talents(client: Any) -> None:
    for role in ("enterprise", "intermediary"):
        assert client.get("/api/v1/insight/funnel", headers=auth(role)).status_code == 403
    assert client.get("/api/v1/insight/records", headers=auth("admin")).json()["talents"] == []
    funnel = client.get("/api/v1/insight/funnel", params={"group_by": "mode"}, headers=auth("official")).json()
    assert [s["key"] for s in funnel["stages"]][:2] == ["posted", "taken_up"] and funnel["groups"]
    assert client.get("/api/v1/insight/momentum", params={"quarter": "2026Q5"},
                      headers=auth("official")).status_code == 422


def test_a_report_is_issued_and_downloaded(client: Any) -> None:
    _gaps_with_supply(client)
    r = client.post("/api/v1/insight/reports", params={"start": "2026-11-01", "end": "2026-11-30"},
                    headers=auth("official"))
    assert r.status_code == 201, r.text
    made = r.json()
    pdf = client.get(made["pdf_url"], headers=auth("official"))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert client.get(made["xlsx_url"], headers=auth("official")).content[:2] == b"PK"
    assert client.get(made["pdf_url"], headers=auth("enterprise")).status_code == 403
    bad = client.post("/api/v1/insight/reports", params={"start": "2026-11-30", "end": "2026-11-01"},
                      headers=auth("official"))
    assert bad.status_code == 422 and "end" in bad.text
