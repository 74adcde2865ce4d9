"""End to end: the real ``matcher serve --prepare`` (uvicorn) on a free port, driven over HTTP."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import COMPLETE_PARTS, talent_signs_in

pytestmark = pytest.mark.once("sqlite")


def test_story_over_http(live_server: str) -> None:
    server = live_server
    def call(method: str, path: str, role: str | None, **kw):  # type: ignore[no-untyped-def]
        headers = {"Authorization": f"Bearer demo-{role}"} if role else {}
        return httpx.request(method, server + path, headers=headers, timeout=30, **kw)

    assert httpx.get(server + "/health").json() == {"status": "ok"}
    assert httpx.get(server + "/docs").status_code == 200
    r = call("POST", "/api/v1/demands", "enterprise", json={
        "title": "费托合成催化剂消耗高",
        "description": "煤制油装置铁基催化剂吨油消耗高于设计值约30%，浆态床中催化剂磨损细粉增多。",
        "industry_code": "2523", "modes": ["flexible"], **COMPLETE_PARTS})
    assert r.status_code == 201, r.text
    did = r.json()["id"]
    props = call("GET", f"/api/v1/demands/{did}/matches?mode=flexible&k=3", "enterprise").json()
    assert len(props["items"]) == 3 and props["items"][0]["talent"]["contact_masked"]
    tid = props["items"][0]["talent"]["id"]
    assert call("POST", f"/api/v1/demands/{did}/take-up", "intermediary").status_code == 200
    m = call("POST", f"/api/v1/demands/{did}/shortlist", "intermediary", json={"talent_id": tid, "mode": "flexible"})
    assert m.status_code == 201
    mid = m.json()["id"]
    assert call("POST", f"/api/v1/matches/{mid}/submit", "intermediary",
                json={"plan": "项目合作，三个月内完成催化剂磨损分析"}).json()["status"] == "submitted"
    assert call("POST", f"/api/v1/matches/{mid}/review", "city_official",  # 柔性引才: the city's 审核
                json={"decision": "approve", "reason": "方向吻合"}).json()["status"] == "approved"
    # Approved, but the talent has not agreed to release contact data: the enterprise goes via the office.
    masked = call("GET", f"/api/v1/talents/{tid}", "enterprise").json()
    assert masked["contact_masked"] and masked["contact_via_office"]
    talent = talent_signs_in(call, tid)
    r = httpx.post(server + "/api/v1/me/consents", headers=talent, json={"purpose": "contact", "granted": True})
    assert r.status_code == 200 and r.json()["consents"][1]["state"] == "granted"
    assert not call("GET", f"/api/v1/talents/{tid}", "enterprise").json()["contact_masked"]
    log = httpx.get(server + "/api/v1/me/access-log", headers=talent).json()
    assert any(e["action"] == "viewed" and e["actor_role"] == "enterprise" and e["demand_id"] == did for e in log)
