"""Demands worth posting through HTTP: the live check (``POST /demands/assess``), posting into 待完善, the
office's queue with publish and return (a note required), the deadline's extension, and the console's doors
to the same (the form's live check with the session's CSRF token, the 待完善 page and its actions).
Every refusal is a 4xx naming its field. No matching index is needed, so the app runs without one."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.app import create_app
from matcher.config import Settings
from matcher.services.people.users import create_user
from matcher.services.programme.deadlines import shanghai_today
from matcher.services.workflow import demands as demand_svc
from matcher.storage.db import Database
from matcher.storage.models import Demand
from tests.conftest import fresh_database_url
from tests.services import factories as f

pytestmark = pytest.mark.db

SHORT = {"title": "气化炉渣口堵渣频繁导致非计划停车",
         "description": "我公司使用高灰熔点煤进行粉煤加压气化，渣口堵渣每季度导致两到三次非计划停车。",
         "modes": ["tech_vp"], "budget_min": 50, "budget_max": 100}
PARTS = {"current_state": "目前采用添加石灰石助熔的办法，已试过调整氧煤比，效果有限",
         "target_indicators": "非计划停车由每季度3次降低到1次以下",
         "site_conditions": "可提供近3年的DCS运行数据和灰渣样品，可安排停车检修窗口取样"}
TOKENS: dict[str, str] = {}


@pytest.fixture(scope="module")
def app_db(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Database]]:
    var = tmp_path_factory.mktemp("quality-var")
    cfg = settings.model_copy(update={"var_dir": var, "database_url": fresh_database_url(var)})
    db = Database.from_settings(cfg)
    db.upgrade()
    with db.session() as s:
        f.enterprise(s, name="质量测试企业", county_code="140105")
        f.enterprise(s, name="另一家企业", county_code="140105")
        f.intermediary(s, name="质量测试中介")
    TOKENS.update(
        enterprise=create_user(db, "q-ent", "enterprise", enterprise="质量测试企业"),
        enterprise2=create_user(db, "q-ent2", "enterprise", enterprise="另一家企业"),
        intermediary=create_user(db, "q-agency", "intermediary", intermediary="质量测试中介"),
        official=create_user(db, "q-official", "official"),
        datong=create_user(db, "q-datong", "official", office="140200"),
    )
    with TestClient(create_app(cfg, load_pool=False)) as c:
        yield c, db


@pytest.fixture()
def client(app_db: tuple[TestClient, Database]) -> TestClient:
    return app_db[0]


def h(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[role]}"}


def field_of(r: Any, status: int = 422) -> str | None:
    assert r.status_code == status, r.text
    assert set(r.json()["error"]) == {"code", "message", "field"}
    return r.json()["error"]["field"]  # type: ignore[no-any-return]


def post(client: TestClient, **extra: Any) -> dict[str, Any]:
    r = client.post("/api/v1/demands", json={**SHORT, **extra}, headers=h("enterprise"))
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def count(db: Database) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(Demand)) or 0)


def test_assess_scores_a_draft_and_writes_nothing(app_db: tuple[TestClient, Database]) -> None:
    client, db = app_db
    before = count(db)
    vague = {"title": "全面提升企业核心竞争力", "description": "希望专家助力企业高质量发展。"}
    r = client.post("/api/v1/demands/assess", json=vague, headers=h("enterprise"))
    assert r.status_code == 200, r.text
    low = r.json()
    assert low["score"] < low["threshold"] == 70 and not low["ready"] and low["boilerplate"]
    assert any("目标指标" in x for x in low["hints"]) and len(low["elements"]) == 7
    full = client.post("/api/v1/demands/assess", json={**SHORT, **PARTS}, headers=h("enterprise")).json()
    assert full["ready"] and full["score"] == 84
    target = next(e for e in full["elements"] if e["name"] == "target_indicators")
    assert (target["present"], target["where"]) == (True, "field")
    assert client.post("/api/v1/demands/assess", json={}, headers=h("enterprise")).json()["score"] == 0
    assert count(db) == before
    assert field_of(client.post("/api/v1/demands/assess", json={**SHORT}, headers=h("official")), 403) is None
    assert client.post("/api/v1/demands/assess", json={**SHORT}).status_code == 401
    for bad, name in (({"budget_min": "五十"}, "budget_min"), ({"modes": ["chairman"]}, "modes.0"),
                      ({"description": "长" * 20001}, "description"), ({"current_state": None}, "current_state"),
                      ({"site_conditions": "控制\x00字符"}, "site_conditions"), ({"status": "open"}, "status")):
        assert field_of(client.post("/api/v1/demands/assess", json=bad, headers=h("enterprise"))) == name, bad


def test_post_lands_in_the_queue_and_the_office_returns_it_with_a_note(client: TestClient) -> None:
    d = post(client)
    assert (d["status"], d["completeness"]) == ("incomplete", 16) and d["hints"] and not d["overdue"]
    assert client.post(f"/api/v1/demands/{d['id']}/take-up", headers=h("intermediary")).status_code == 404
    queue = client.get("/api/v1/demands?status=incomplete&limit=100", headers=h("official")).json()
    assert d["id"] in [x["id"] for x in queue["items"]]
    assert client.get("/api/v1/demands?status=incomplete", headers=h("datong")).json()["total"] == 0
    assert d["id"] not in [x["id"] for x in client.get("/api/v1/demands?limit=100", headers=h("intermediary"))
                           .json()["items"]]
    assert field_of(client.get("/api/v1/demands?status=nonsense", headers=h("official"))) == "status"
    url = f"/api/v1/demands/{d['id']}/return"
    assert field_of(client.post(url, json={}, headers=h("official"))) == "note"
    assert field_of(client.post(url, json={"note": ""}, headers=h("official"))) == "note"
    assert field_of(client.post(url, json={"note": "   "}, headers=h("official"))) == "note"
    assert field_of(client.post(url, json={"note": None}, headers=h("official"))) == "note"
    assert client.post(url, json={"note": "请补充"}, headers=h("enterprise")).status_code == 403
    assert client.post(url, json={"note": "请补充"}, headers=h("datong")).status_code == 404
    r = client.post(url, json={"note": "请补充可量化的目标指标"}, headers=h("official"))
    assert r.status_code == 200 and r.json()["office_note"] == "请补充可量化的目标指标"
    mine = client.get(f"/api/v1/demands/{d['id']}", headers=h("enterprise")).json()
    assert (mine["status"], mine["office_note"]) == ("incomplete", "请补充可量化的目标指标")
    hist = client.get(f"/api/v1/demands/{d['id']}/history", headers=h("enterprise")).json()
    assert [e["action"] for e in hist] == ["post", "return_demand"]
    assert client.get(f"/api/v1/demands/{d['id']}/history", headers=h("enterprise2")).status_code == 404
    assert client.get(f"/api/v1/demands/{d['id']}/history", headers=h("intermediary")).status_code == 403
    # the enterprise completes it: published at once
    done = client.patch(f"/api/v1/demands/{d['id']}", json=PARTS, headers=h("enterprise"))
    assert done.status_code == 200 and (done.json()["status"], done.json()["office_note"]) == ("open", "")
    assert client.post(f"/api/v1/demands/{d['id']}/take-up", headers=h("intermediary")).status_code == 200


def test_publish_by_the_office_or_by_the_enterprise_once_complete(client: TestClient) -> None:
    d = post(client)
    url = f"/api/v1/demands/{d['id']}/publish"
    assert field_of(client.post(url, headers=h("enterprise"))) == "completeness"
    assert client.post(url, headers=h("intermediary")).status_code in (403, 404)
    assert client.post(url, headers=h("datong")).status_code == 404
    r = client.post(url, headers=h("official"))
    assert r.status_code == 200 and r.json()["status"] == "open"
    assert field_of(client.post(url, headers=h("official")), 409) == "status"
    complete = post(client, **PARTS)
    assert complete["status"] == "open"
    assert field_of(client.post(f"/api/v1/demands/{complete['id']}/publish", headers=h("official")), 409) == "status"


def test_request_models_name_their_fields(client: TestClient) -> None:
    assert field_of(client.post("/api/v1/demands", json={**SHORT, "current_state": None}, headers=h("enterprise"))) \
        == "current_state"
    assert field_of(client.post("/api/v1/demands", json={**SHORT, "target_indicators": "长" * 5001},
                                headers=h("enterprise"))) == "target_indicators"
    assert field_of(client.post("/api/v1/demands", json={**SHORT, "programme": "no_such"},
                                headers=h("enterprise"))) == "programme"
    assert field_of(client.post("/api/v1/demands", json={**SHORT, "programme": "industry_talent"},
                                headers=h("enterprise"))) == "programme"  # covers flexible and 双聘, not 科技副总
    d = post(client, **PARTS, programme="tech_vp_programme")
    assert d["programme"] == "tech_vp_programme"
    url = f"/api/v1/demands/{d['id']}"
    assert field_of(client.patch(url, json={"site_conditions": None}, headers=h("enterprise"))) == "site_conditions"
    assert field_of(client.patch(url, json={"modes": ["flexible"]}, headers=h("enterprise"))) == "modes"
    assert client.patch(url, json={"programme": None}, headers=h("enterprise")).json()["programme"] is None


def test_extend_an_expired_demand_and_flag_a_taken_up_one(app_db: tuple[TestClient, Database]) -> None:
    client, db = app_db
    today = shanghai_today()
    d = post(client, **PARTS, deadline=(today + timedelta(days=3)).isoformat())
    taken = post(client, **PARTS, deadline=(today + timedelta(days=3)).isoformat())
    assert client.post(f"/api/v1/demands/{taken['id']}/take-up", headers=h("intermediary")).status_code == 200
    with db.session() as s:  # both deadlines passed
        for did in (d["id"], taken["id"]):
            row = s.get(Demand, did)
            assert row is not None
            row.deadline = today - timedelta(days=2)
    closed = demand_svc.expire_overdue_demands(db)
    assert d["id"] in closed and taken["id"] not in closed
    flagged = client.get(f"/api/v1/demands/{taken['id']}", headers=h("official")).json()
    assert (flagged["status"], flagged["overdue"]) == ("taken_up", True)
    gone = client.get(f"/api/v1/demands/{d['id']}", headers=h("enterprise")).json()
    assert (gone["status"], gone["closed_reason"]) == ("closed", "expired")
    assert [e["action"] for e in client.get(f"/api/v1/demands/{d['id']}/history", headers=h("enterprise"))
            .json()][-1] == "expire"
    url = f"/api/v1/demands/{d['id']}/extend"
    assert field_of(client.post(url, json={}, headers=h("official"))) == "deadline"
    assert field_of(client.post(url, json={"deadline": "not a date"}, headers=h("official"))) == "deadline"
    assert field_of(client.post(url, json={"deadline": today.isoformat()}, headers=h("official"))) == "deadline"
    later = (today + timedelta(days=45)).isoformat()
    assert client.post(url, json={"deadline": later}, headers=h("enterprise")).status_code == 403
    r = client.post(url, json={"deadline": later}, headers=h("official"))
    assert r.status_code == 200 and (r.json()["status"], r.json()["deadline"], r.json()["closed_reason"]) == \
        ("open", later, None)
    assert field_of(client.post(f"/api/v1/demands/{taken['id']}/extend", json={"deadline": later},
                                headers=h("official")), 409) == "status"


# ------------------------------------------------------------------ the console's doors
def console_login(client: TestClient, role: str) -> str:
    client.cookies.clear()
    r = client.post("/login", data={"token": TOKENS[role]})
    assert r.status_code == 200, r.text
    found = re.search(r'name="csrf" value="([^"]+)"', r.text)
    assert found
    return found.group(1)


def test_the_console_form_checks_as_one_types_and_the_office_works_its_queue(
        app_db: tuple[TestClient, Database]) -> None:
    client, db = app_db
    csrf = console_login(client, "enterprise")
    form = client.get("/console/demands/new")
    assert all(label in form.text for label in ("现状", "目标指标", "现场条件", "需求完整度"))
    r = client.post("/console/demands/assess", data={"csrf": csrf, **{k: v for k, v in SHORT.items() if k != "modes"},
                                                     "modes": "tech_vp", "budget_min": "5万"})
    assert r.status_code == 200 and r.json()["score"] == 7 + 9  # the unreadable budget is left out, the rest read
    assert client.post("/console/demands/assess", data={"title": "无令牌"}).status_code == 403
    before = count(db)
    posted = client.post("/console/demands", data={"csrf": csrf, "title": SHORT["title"],
                                                    "description": SHORT["description"], "modes": "tech_vp"},
                         follow_redirects=False)
    assert posted.status_code == 303 and "posted_incomplete" in posted.headers["location"]
    assert count(db) == before + 1
    page = client.get(posted.headers["location"])
    assert "待完善" in page.text and "未达到发布要求" in page.text and "完善建议" in page.text
    did = int(posted.headers["location"].split("?")[0].rsplit("/", 1)[1])

    csrf = console_login(client, "official")
    queue = client.get("/console/incomplete")
    assert queue.status_code == 200 and f"/console/demands/{did}" in queue.text and "待完善" in queue.text
    bad = client.post(f"/console/demands/{did}/return", data={"csrf": csrf, "note": " ", "next": "queue"})
    assert bad.status_code == 422 and "退回意见" in bad.text
    r = client.post(f"/console/demands/{did}/return", data={"csrf": csrf, "note": "请补充目标指标", "next": "queue"},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/console/incomplete")

    csrf = console_login(client, "enterprise")
    edit = client.get(f"/console/demands/{did}/edit")
    assert "审核人员意见" in edit.text and "请补充目标指标" in edit.text
    saved = client.post(f"/console/demands/{did}/edit", data={
        "csrf": csrf, "title": SHORT["title"], "description": SHORT["description"], "modes": "tech_vp",
        "budget_min": "50", "budget_max": "100", **PARTS}, follow_redirects=False)
    assert saved.status_code == 303 and "demand_published" in saved.headers["location"]
    assert client.get(f"/api/v1/demands/{did}", headers=h("enterprise")).json()["status"] == "open"
    client.cookies.clear()


def test_the_queue_page_is_for_officials(client: TestClient) -> None:
    console_login(client, "enterprise")
    assert client.get("/console/incomplete").status_code == 403
    console_login(client, "intermediary")
    assert client.get("/console/incomplete").status_code == 403
    client.cookies.clear()


def test_the_console_extends_an_expired_demand(app_db: tuple[TestClient, Database]) -> None:
    client, db = app_db
    today = shanghai_today()
    d = post(client, **PARTS)
    with db.session() as s:
        row = s.get(Demand, d["id"])
        assert row is not None
        row.deadline = today - timedelta(days=1)
    assert d["id"] in demand_svc.expire_overdue_demands(db)
    csrf = console_login(client, "enterprise")
    page = client.get(f"/console/demands/{d['id']}")
    assert "系统已自动关闭" in page.text and "到期自动关闭" in page.text  # told, and in its history
    csrf = console_login(client, "official")
    queue = client.get("/console/incomplete")
    assert f'id="expired-{d["id"]}"' in queue.text
    bad = client.post(f"/console/demands/{d['id']}/extend", data={"csrf": csrf, "deadline": today.isoformat()})
    assert bad.status_code == 422 and "须晚于今天" in bad.text
    r = client.post(f"/console/demands/{d['id']}/extend", follow_redirects=False, data={
        "csrf": csrf, "deadline": (today + timedelta(days=30)).isoformat(), "next": "queue"})
    assert r.status_code == 303 and "demand_extended" in r.headers["location"]
    assert client.get(f"/api/v1/demands/{d['id']}", headers=h("official")).json()["status"] == "open"
    assert f'id="expired-{d["id"]}"' not in client.get("/console/incomplete").text
    client.cookies.clear()
