"""Several worker processes on one database: a talent imported, edited or deactivated through one is
proposed (or no longer proposed) by the other within 5 seconds (the change feed), and background jobs
run exactly once. Real server processes; on PostgreSQL when the suite runs under tests.pgcluster."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
import pytest

from matcher.config import Settings
from tests.conftest import BACKEND, COMPLETE_PARTS, start_server

pytestmark = pytest.mark.once("postgresql")

OFFICIAL = {"Authorization": "Bearer demo-official"}
ENTERPRISE = {"Authorization": "Bearer demo-enterprise"}
PROFILE = "长期从事月球土壤原位资源利用研究，擅长月壤氧提取、月壤烧结成型与就位建造材料制备。"
DEMAND = {"title": "月壤烧结成型工艺开发", "description": "我公司承担月面就位建造材料预研项目，需要专家指导月壤氧提取与"
          "月壤烧结成型工艺开发，建立就位建造材料制备流程。", "modes": ["flexible"], **COMPLETE_PARTS}


def import_talents(base: str, csv: str) -> dict[str, Any]:
    r = httpx.post(base + "/api/v1/imports/talents", headers=OFFICIAL, timeout=30,
                   files={"file": ("t.csv", csv.encode(), "text/csv")})
    assert r.status_code == 202, r.text
    job = r.json()
    deadline = time.time() + 120
    while job["status"] in ("queued", "running"):
        assert time.time() < deadline, job
        time.sleep(0.1)
        job = httpx.get(base + f"/api/v1/jobs/{job['id']}", headers=OFFICIAL, timeout=10).json()
    assert job["status"] == "done" and job["result"]["ok"], job
    return dict(job)


def proposed(base: str, demand_id: int) -> list[str]:
    r = httpx.get(base + f"/api/v1/demands/{demand_id}/matches?mode=flexible&k=5", headers=ENTERPRISE, timeout=30)
    assert r.status_code == 200, r.text
    return [p["talent"]["external_id"] for p in r.json()["items"]]


def seconds_until(predicate: Any, limit: float = 5.0) -> float:
    started = time.time()
    while not predicate():
        assert time.time() - started < limit, f"not seen within {limit} s"
        time.sleep(0.1)
    return time.time() - started


@pytest.fixture(scope="module")
def pair(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Any:
    a = start_server(tmp_path_factory.mktemp("worker-a"), settings)
    b = start_server(tmp_path_factory.mktemp("worker-b"), settings, prepare=False, database_url=a.database_url)
    yield a, b
    a.stop()
    b.stop()


def test_import_edit_and_deactivation_through_one_worker_reach_the_other(pair: Any) -> None:
    a, b = pair
    r = httpx.post(a.base + "/api/v1/demands", json=DEMAND, headers=ENTERPRISE, timeout=30)
    assert r.status_code == 201, r.text
    did = r.json()["id"]
    assert "LUNAR-1" not in proposed(b.base, did)
    indexed = httpx.get(b.base + "/ready").json()["talents_indexed"]

    import_talents(a.base, f"external_id,name,profile\nLUNAR-1,月壤专家,{PROFILE}\n")
    took = seconds_until(lambda: "LUNAR-1" in proposed(b.base, did))
    print(f"import through A proposed by B after {took:.1f} s ({BACKEND})")
    assert proposed(b.base, did)[0] == "LUNAR-1"

    import_talents(a.base, "external_id,name,profile\nLUNAR-1,月壤专家,从事工业机器人焊接路径规划与视觉引导研究。\n")
    seconds_until(lambda: "LUNAR-1" not in proposed(b.base, did))

    import_talents(a.base, f"external_id,name,profile,active\nLUNAR-1,月壤专家,{PROFILE},是\n")
    seconds_until(lambda: "LUNAR-1" in proposed(b.base, did))
    import_talents(a.base, f"external_id,name,profile,active\nLUNAR-1,月壤专家,{PROFILE},否\n")
    seconds_until(lambda: "LUNAR-1" not in proposed(b.base, did))
    assert httpx.get(b.base + "/ready").json()["talents_indexed"] == indexed


def test_a_round_runs_once_and_both_workers_see_it(pair: Any) -> None:
    a, b = pair
    r = httpx.post(a.base + "/api/v1/rounds", json={"proposals_wanted": 1, "sector": "energy"}, headers=OFFICIAL,
                   timeout=30)
    assert r.status_code == 202, r.text
    rid = r.json()["id"]
    deadline = time.time() + 120
    while (body := httpx.get(b.base + f"/api/v1/rounds/{rid}", headers=OFFICIAL).json())["status"] not in (
            "done", "failed"):
        assert time.time() < deadline
        time.sleep(0.3)
    assert body["status"] == "done", body["error"]
    matches = httpx.get(b.base + "/api/v1/matches?limit=200", headers=OFFICIAL).json()["items"]
    mine = [m for m in matches if m["round_id"] == rid]
    assert len(mine) == len(body["report"]["proposals"])  # written once, not once per worker


def test_serve_with_two_workers(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> None:
    server = start_server(tmp_path_factory.mktemp("workers-2"), settings, args=("--workers", "2"))
    try:
        streak, deadline = 0, time.time() + 180
        while streak < 10:  # both workers load their pool; then whichever answers is ready
            assert time.time() < deadline, server.output()
            ok = httpx.get(server.base + "/ready", timeout=10).status_code == 200
            streak = streak + 1 if ok else 0
            time.sleep(0.1)
        job = import_talents(server.base, f"external_id,name,profile\nLUNAR-2,月壤专家二,{PROFILE}\n")
        assert job["result"]["created"] == 1
        workers = set(re.findall(r"Started server process \[(\d+)\]", server.output()))
        assert len(workers) == 2, server.output()
    finally:
        server.stop()
