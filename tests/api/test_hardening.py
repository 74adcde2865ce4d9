"""Hardening: no request breaks the lists for others, every number is bounded, text refuses control
characters, and every state change is a compare-and-set (real threads: exactly one of two racing
requests wins, with exactly one audit event)."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from matcher.config import Settings, get_settings
from matcher.services.access import mask_phone
from tests.conftest import COMPLETE_PARTS, api_client, auth, fresh_database_url

pytestmark = pytest.mark.db

DEMAND = {"title": "焦炉煤气制氢提纯装置氢气纯度波动",
          "description": "我公司焦炉煤气变压吸附制氢装置产品氢纯度在99.5%到99.95%之间波动，"
                         "影响下游加氢工序，希望专家诊断吸附剂与程控。",
          "industry_code": "2521", "modes": ["tech_vp", "flexible"], "budget_min": 30, "budget_max": 90,
          **COMPLETE_PARTS}


@pytest.fixture(scope="module")
def client(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with api_client(settings, tmp_path_factory.mktemp("hardening-var")) as c:
        yield c


def post_demand(client: TestClient, **extra: Any) -> dict[str, Any]:
    r = client.post("/api/v1/demands", json={**DEMAND, **extra}, headers=auth("enterprise"))
    assert r.status_code == 201, r.text
    return r.json()


def field_of(r: httpx.Response) -> str:
    assert r.status_code == 422, r.text
    return str(r.json()["error"]["field"])


# ------------------------------------------------------------------------------------------ validation
@pytest.mark.parametrize("field", ["modes", "keywords", "title", "description", "city", "industry_code",
                                   "proposals_wanted", "sector"])
def test_explicit_null_is_refused_and_nothing_is_committed(client: TestClient, field: str) -> None:
    d = post_demand(client)
    r = client.patch(f"/api/v1/demands/{d['id']}", json={field: None}, headers=auth("enterprise"))
    assert field_of(r) == field and "null" in r.json()["error"]["message"]
    assert client.get(f"/api/v1/demands/{d['id']}", headers=auth("enterprise")).json() == d
    for role in ("official", "intermediary", "enterprise"):
        assert client.get("/api/v1/demands?limit=200", headers=auth(role)).status_code == 200


def test_nullable_fields_can_be_cleared(client: TestClient) -> None:
    d = post_demand(client)
    r = client.patch(f"/api/v1/demands/{d['id']}", json={"budget_min": None, "budget_max": None},
                     headers=auth("enterprise"))
    assert r.status_code == 200 and r.json()["budget_max"] is None


def test_numbers_are_bounded_and_finite(client: TestClient) -> None:
    for path in ("/api/v1/demands/99999999999999999999", "/api/v1/demands?offset=" + str(2**70),
                 "/api/v1/matches?offset=" + str(2**70), "/api/v1/talents?offset=" + str(2**70),
                 "/api/v1/matches?demand_id=" + str(2**64), "/api/v1/matches/99999999999999999999",
                 "/api/v1/talents/99999999999999999999", "/api/v1/rounds/99999999999999999999"):
        r = client.get(path, headers=auth("official"))
        assert r.status_code == 422, (path, r.status_code, r.text)
    # inf and NaN cannot be written through JSON either (Python's json module emits Infinity/NaN tokens)
    body = json.dumps({**DEMAND, "budget_max": float("inf")}).encode()
    r = client.post("/api/v1/demands", content=body, headers={**auth("enterprise"), "Content-Type": "application/json"})
    assert field_of(r) == "budget_max"
    assert field_of(client.post("/api/v1/demands", json={**DEMAND, "duration_months": 10**20},
                                headers=auth("enterprise"))) == "duration_months"
    assert field_of(client.post("/api/v1/demands/1/shortlist", json={"talent_id": 10**20, "mode": "flexible"},
                                headers=auth("intermediary"))) == "talent_id"


def test_text_refuses_control_characters(client: TestClient) -> None:
    assert field_of(client.post("/api/v1/demands", json={**DEMAND, "title": "含控制字符\b的需求名称"},
                                headers=auth("enterprise"))) == "title"
    assert field_of(client.post("/api/v1/demands", json={**DEMAND, "keywords": ["正常", "坏\x00词"]},
                                headers=auth("enterprise"))).startswith("keywords")
    # line breaks are fine in a description, not in a title
    post_demand(client, description=DEMAND["description"] + "\n第二段：现场数据可提供。")
    assert field_of(client.post("/api/v1/demands", json={**DEMAND, "title": "两行\n标题的需求"},
                                headers=auth("enterprise"))) == "title"


def console_login(client: TestClient, role: str) -> str:
    """Sign in to the console; returns the session's CSRF token (read from a page's form)."""
    client.cookies.clear()
    r = client.post("/login", data={"token": auth(role)["Authorization"].split()[1]})
    assert r.status_code == 200, r.text
    found = re.search(r'name="csrf" value="([^"]+)"', r.text)
    assert found, "pages carry the CSRF token in their forms"
    return found.group(1)


def test_console_form_uses_the_same_validation(client: TestClient) -> None:
    csrf = console_login(client, "enterprise")
    form = {"title": "控制字符\b标题测试", "description": DEMAND["description"], "modes": "flexible",
            "budget_max": "inf", "duration_months": "9" * 20, "csrf": csrf}
    r = client.post("/console/demands", data=form)
    assert r.status_code == 422
    assert "控制字符" in r.text and "有限的数字" in r.text and "不能大于 120" in r.text
    client.cookies.clear()


def test_console_errors_are_pages_with_the_errors_status(client: TestClient) -> None:
    csrf = console_login(client, "enterprise")
    r = client.get("/console/demands/999999")
    assert r.status_code == 404 and "无法完成操作" in r.text and r.headers["content-type"].startswith("text/html")
    r = client.get("/console/reviews")  # officials only
    assert r.status_code == 403 and "无法完成操作" in r.text
    r = client.post("/console/matches/1/unknown-action", data={"csrf": csrf})
    assert r.status_code == 404 and "未知操作" in r.text
    assert client.get("/api/v1/demands/999999", headers=auth("enterprise")).json()["error"]["code"] == "not_found"
    client.cookies.clear()


# ------------------------------------------------------------------------------------------ accounts
def test_console_posts_need_the_session_csrf_token_and_login_checks_origin(client: TestClient) -> None:
    csrf = console_login(client, "enterprise")
    form = {"title": "跨站提交的需求标题", "description": DEMAND["description"], "modes": "flexible"}
    before = client.get("/api/v1/demands?limit=1", headers=auth("enterprise")).json()["total"]
    assert client.post("/console/demands", data=form).status_code == 403
    assert client.post("/console/demands", data={**form, "csrf": "forged"}).status_code == 403
    assert client.post("/console/demands", data={**form, "csrf": csrf},
                       headers={"Origin": "https://evil.example"}).status_code == 403
    assert client.get("/api/v1/demands?limit=1", headers=auth("enterprise")).json()["total"] == before
    r = client.post("/console/demands", data={**form, "csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303
    client.cookies.clear()
    r = client.post("/login", data={"token": "demo-enterprise"}, headers={"Origin": "https://evil.example"},
                    follow_redirects=False)
    assert r.status_code == 403 and "matcher_session" not in r.headers.get("set-cookie", "")


def test_session_cookie_is_not_an_api_credential_and_logout_ends_it(client: TestClient) -> None:
    csrf = console_login(client, "official")
    cookie = client.cookies.get("matcher_session")
    assert cookie and cookie != "demo-official"
    assert client.get("/api/v1/stats").status_code == 401  # the cookie alone does not open the API
    assert client.get("/console/dashboard").status_code == 200
    client.post("/logout", data={"csrf": csrf})
    client.cookies.set("matcher_session", cookie)
    r = client.get("/console/dashboard", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    client.cookies.clear()


def test_users_can_be_rotated_and_deactivated(client: TestClient) -> None:
    from matcher.services.people.users import create_user

    app: Any = client.app
    token = create_user(app.state.runtime.db, "rotating_official", "official")
    client.cookies.clear()
    client.post("/login", data={"token": token})
    cookie = client.cookies.get("matcher_session")
    r = client.post("/api/v1/users/rotating_official/rotate", headers=auth("admin"))
    assert r.status_code == 200 and r.json()["token"] != token
    new = r.json()["token"]
    assert client.get("/api/v1/stats", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert client.get("/api/v1/stats", headers={"Authorization": f"Bearer {new}"}).status_code == 200
    client.cookies.set("matcher_session", cookie)
    assert client.get("/console/dashboard", follow_redirects=False).status_code == 303  # session ended too
    assert client.post("/api/v1/users/rotating_official/deactivate", headers=auth("official")).status_code == 403
    assert client.post("/api/v1/users/rotating_official/deactivate", headers=auth("admin")).status_code == 200
    assert client.get("/api/v1/stats", headers={"Authorization": f"Bearer {new}"}).status_code == 401
    assert client.post("/api/v1/users/nobody_here/rotate", headers=auth("admin")).status_code == 404
    client.cookies.clear()


def test_demo_tokens_exist_and_work_only_in_a_demo_database(settings: Settings, tmp_path: Any) -> None:
    from typer.testing import CliRunner

    from matcher.cli import app as cli
    from matcher.errors import Unauthorized
    from matcher.services.access import authenticate
    from matcher.services.files.importing import import_file
    from matcher.services.people.users import DEMO_USERS, create_user, ensure_demo_users
    from matcher.storage.db import Database

    db = Database(fresh_database_url(tmp_path, "real"))
    db.upgrade()
    real = tmp_path / "t.csv"
    real.write_text("external_id,name,profile\nR-1,王磊,从事煤气化研究\n", encoding="utf-8")
    assert import_file(db, "talents", real).ok
    assert ensure_demo_users(db) == {}
    # even a demo-looking token planted by hand is refused outside the demo database
    create_user(db, "planted", "official", token="demo-official")
    with db.session() as s, pytest.raises(Unauthorized):
        authenticate(s, "demo-official")
    env = {"MATCHER_DATABASE_URL": db.url, "MATCHER_VAR_DIR": str(tmp_path)}
    get_settings.cache_clear()
    try:
        r = CliRunner().invoke(cli, ["users", "rotate", "--username", "planted"], env=env)
        assert r.exit_code == 0 and r.output.strip().startswith("mt_"), r.output
        get_settings.cache_clear()
        r = CliRunner().invoke(cli, ["users", "deactivate", "--username", "planted"], env=env)
        assert r.exit_code == 0 and "deactivated" in r.output, r.output
    finally:
        get_settings.cache_clear()
    assert len(DEMO_USERS) == 4


def test_masking_reveals_at_most_four_digits_of_long_numbers() -> None:
    assert mask_phone("13812347802") == "*******7802"
    assert mask_phone("0351-7654321") == "*******4321"  # 11 digits with the area code
    assert mask_phone("7654321") == "****"
    assert mask_phone("12345678") == "****"
    assert mask_phone("") == ""


# ------------------------------------------------------------------------------------------ races
def race(*calls: Callable[[], httpx.Response]) -> list[httpx.Response]:
    """Run the calls at the same moment on real threads."""
    barrier = threading.Barrier(len(calls))
    out: list[httpx.Response | None] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        out[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [r for r in out if r is not None]


def submitted_match(client: TestClient) -> tuple[int, int]:
    d = post_demand(client)
    assert client.post(f"/api/v1/demands/{d['id']}/take-up", headers=auth("intermediary")).status_code == 200
    tid = client.get(f"/api/v1/demands/{d['id']}/matches?mode=flexible&k=1",
                     headers=auth("intermediary")).json()["items"][0]["talent"]["id"]
    m = client.post(f"/api/v1/demands/{d['id']}/shortlist", json={"talent_id": tid, "mode": "flexible"},
                    headers=auth("intermediary")).json()
    r = client.post(f"/api/v1/matches/{m['id']}/submit", json={"plan": "每季度驻企一周，其余远程指导"},
                    headers=auth("intermediary"))
    assert r.status_code == 200
    return d["id"], m["id"]


def events(client: TestClient, demand_id: int, match_id: int, action: str) -> int:
    hist = client.get(f"/api/v1/demands/{demand_id}/history", headers=auth("official")).json()
    return sum(1 for e in hist if e["action"] == action and e["entity_id"] == str(match_id))


@pytest.mark.parametrize("attempt", range(3))
def test_approve_and_reject_race_has_one_winner(client: TestClient, attempt: int) -> None:
    did, mid = submitted_match(client)
    url = f"/api/v1/matches/{mid}/review"
    approve, reject = race(
        # 柔性引才: one 审核, by the enterprise's city office
        lambda: client.post(url, json={"decision": "approve", "reason": "可行"}, headers=auth("city_official")),
        lambda: client.post(url, json={"decision": "reject", "reason": "不可行"}, headers=auth("city_official")))
    assert sorted([approve.status_code, reject.status_code]) == [200, 409], (approve.text, reject.text)
    winner = "approved" if approve.status_code == 200 else "rejected"
    assert client.get(f"/api/v1/matches/{mid}", headers=auth("official")).json()["status"] == winner
    assert events(client, did, mid, "approve") + events(client, did, mid, "reject") == 1
    loser = reject if approve.status_code == 200 else approve
    assert winner in loser.json()["error"]["message"]


@pytest.mark.parametrize("attempt", range(3))
def test_approve_and_withdraw_race_leaves_a_consistent_demand(client: TestClient, attempt: int) -> None:
    did, mid = submitted_match(client)
    approve, withdraw = race(
        lambda: client.post(f"/api/v1/matches/{mid}/review", json={"decision": "approve", "reason": "可行"},
                            headers=auth("city_official")),
        lambda: client.post(f"/api/v1/demands/{did}/withdraw", headers=auth("enterprise")))
    assert sorted([approve.status_code, withdraw.status_code]) == [200, 409], (approve.text, withdraw.text)
    demand = client.get(f"/api/v1/demands/{did}", headers=auth("official")).json()
    match = client.get(f"/api/v1/matches/{mid}", headers=auth("official")).json()
    if approve.status_code == 200:
        assert demand["status"] == "matched" and match["status"] == "approved"
    else:
        assert demand["status"] == "withdrawn" and match["status"] == "submitted"
        assert events(client, did, mid, "approve") == 0


def test_the_same_shortlist_twice_is_one_match(client: TestClient) -> None:
    d = post_demand(client)
    client.post(f"/api/v1/demands/{d['id']}/take-up", headers=auth("intermediary"))
    tid = client.get(f"/api/v1/demands/{d['id']}/matches?mode=flexible&k=1",
                     headers=auth("intermediary")).json()["items"][0]["talent"]["id"]
    url = f"/api/v1/demands/{d['id']}/shortlist"
    body = {"talent_id": tid, "mode": "flexible"}
    a, b = race(lambda: client.post(url, json=body, headers=auth("intermediary")),
                lambda: client.post(url, json=body, headers=auth("intermediary")))
    assert sorted([a.status_code, b.status_code]) == [201, 409], (a.text, b.text)
    matches = client.get(f"/api/v1/matches?demand_id={d['id']}", headers=auth("official")).json()
    assert matches["total"] == 1


def test_a_shortlist_made_while_a_round_runs_does_not_fail_it(client: TestClient,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The round's writing step meets a pair the intermediary shortlisted while it was solving."""
    from matcher.engine.assignment import milp
    from matcher.services.access import Actor
    from matcher.services.workflow import rounds

    runtime: Any = client.app.state.runtime  # type: ignore[attr-defined]
    db = runtime.db
    d = post_demand(client, modes=["flexible"])
    client.post(f"/api/v1/demands/{d['id']}/take-up", headers=auth("intermediary"))
    real_solve = milp.solve

    def solve_meanwhile(problem: Any, **kw: Any) -> Any:
        solved = real_solve(problem, **kw)
        mine = next(c for c in solved.chosen if c.demand_id == d["id"])
        r = client.post(f"/api/v1/demands/{d['id']}/shortlist", json={"talent_id": mine.talent_id, "mode": mine.mode},
                        headers=auth("intermediary"))
        assert r.status_code == 201, r.text
        return solved

    monkeypatch.setattr(milp, "solve", solve_meanwhile)
    official = Actor(user_id=None, role="official")
    r = rounds.start_round(db, official, rounds.RoundParams(sector=d["sector"], proposals_wanted=1))
    runtime.run_job(r.id, rounds.KIND)
    done = rounds.get_round(db, official, r.id)
    assert done.status == "done", done.error
    assert any("shortlisted meanwhile" in n for n in done.report["notes"])
    assert client.get(f"/api/v1/matches?demand_id={d['id']}", headers=auth("official")).json()["total"] == 1


def test_a_round_writes_no_match_for_a_talent_who_withdrew_while_it_ran(client: TestClient,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Rounds re-check, when they write, who may still be proposed: a talent who withdrew consent while
    the round was solving gets no match from it, and the report says so."""
    from matcher.engine.assignment import milp
    from matcher.services.access import Actor
    from matcher.services.people import me
    from matcher.services.workflow import rounds

    runtime: Any = client.app.state.runtime  # type: ignore[attr-defined]
    db = runtime.db
    d = post_demand(client, modes=["flexible"], title="煤矸石综合利用制备建材")
    real_solve = milp.solve
    left: list[int] = []

    def solve_meanwhile(problem: Any, **kw: Any) -> Any:
        solved = real_solve(problem, **kw)
        mine = next(c for c in solved.chosen if c.demand_id == d["id"])
        me.set_consent(db, runtime.ready_pool(), Actor(None, "talent", talent_id=mine.talent_id), "propose", False)
        left.append(mine.talent_id)
        return solved

    monkeypatch.setattr(milp, "solve", solve_meanwhile)
    official = Actor(user_id=None, role="official")
    r = rounds.start_round(db, official, rounds.RoundParams(sector=d["sector"], proposals_wanted=1))
    runtime.run_job(r.id, rounds.KIND)
    done = rounds.get_round(db, official, r.id)
    assert done.status == "done", done.error
    assert any("may no longer be proposed" in n for n in done.report["notes"])
    written = client.get(f"/api/v1/matches?demand_id={d['id']}", headers=auth("official")).json()["items"]
    assert left and left[0] not in {m["talent_id"] for m in written}


def test_round_proposals_belong_to_the_intermediary_that_takes_the_demand_up(client: TestClient) -> None:
    from matcher.services.access import Actor
    from matcher.services.workflow import rounds

    runtime: Any = client.app.state.runtime  # type: ignore[attr-defined]
    db = runtime.db
    d = post_demand(client, modes=["flexible"], title="焦炉煤气制氢装置吸附剂寿命短")
    official = Actor(user_id=None, role="official")
    r = rounds.start_round(db, official, rounds.RoundParams(sector=d["sector"], proposals_wanted=2))
    runtime.run_job(r.id, rounds.KIND)
    proposed = [p for p in rounds.get_round(db, official, r.id).report["proposals"] if p["demand_id"] == d["id"]]
    assert proposed, "the round proposed talents for the open demand"
    assert client.post(f"/api/v1/demands/{d['id']}/take-up", headers=auth("intermediary2")).status_code == 200
    mine = client.get(f"/api/v1/matches?demand_id={d['id']}", headers=auth("intermediary2")).json()
    assert {m["talent_id"] for m in mine["items"]} == {p["talent_id"] for p in proposed}
    mid = mine["items"][0]["id"]
    r = client.post(f"/api/v1/matches/{mid}/submit", json={"plan": "按季度驻企服务并远程指导"},
                    headers=auth("intermediary2"))
    assert r.status_code == 200 and r.json()["status"] == "submitted"
    assert client.get(f"/api/v1/matches/{mid}", headers=auth("intermediary")).status_code == 404


def test_chunked_bodies_are_cut_off_at_the_limit(live_server: str) -> None:
    """Against the real uvicorn server: a body without Content-Length (64 MiB offered) is refused with
    413 once it passes 21 MiB, before parsing (the server may drain the rest of the connection, but the
    application never holds it). An upload's body is read only after authentication: without a token the
    answer is 401 and the body is never read."""
    official = {"Authorization": "Bearer demo-official"}
    for path, headers in (("/api/v1/demands", {"Content-Type": "application/json"}),
                          ("/api/v1/imports/talents", {"Content-Type": "multipart/form-data; boundary=zz",
                                                       **official})):
        def chunks() -> Iterator[bytes]:
            yield b'--zz\r\nContent-Disposition: form-data; name="file"; filename="t.csv"\r\n\r\n'
            for _ in range(64):
                yield b"x" * 2**20

        r = httpx.post(live_server + path, content=chunks(), headers=headers, timeout=60)
        assert r.status_code == 413 and r.json()["error"]["code"] == "too_large", r.text
    anonymous = httpx.post(live_server + "/api/v1/imports/talents", content=chunks(), timeout=60,
                           headers={"Content-Type": "multipart/form-data; boundary=zz"})
    assert anonymous.status_code == 401


# ------------------------------------------------------------------------------------------ long work
def test_health_answers_during_a_2000_row_import(client: TestClient) -> None:
    """The import runs as a job off the event loop: /health answers at once throughout, the job shows
    its stage and progress, and the result is the row report."""
    import time

    from matcher.demo import generator
    from matcher.domain.talent import COLUMNS as TALENT_COLUMNS
    from matcher.tabular import format_row

    rows = [format_row(TALENT_COLUMNS, generator.talent(99, i % 40)[0], with_contact=False) for i in range(2000)]
    for i, row in enumerate(rows):  # 40 profiles (their vectors cached), 2000 people of distinct names
        row["external_id"] = f"BULK-{i:05d}"
        row["name"] = f"{row['name']}{i:04d}"
    import pandas as pd

    csv = pd.DataFrame(rows).to_csv(index=False).encode()
    before = client.get("/ready").json()["talents_indexed"]
    r = client.post("/api/v1/imports/talents", files={"file": ("bulk.csv", csv, "text/csv")}, headers=auth("official"))
    assert r.status_code == 202, r.text
    job, worst, seen = r.json(), 0.0, set()
    deadline = time.time() + 300
    while job["status"] in ("queued", "running"):
        assert time.time() < deadline
        started = time.perf_counter()
        assert client.get("/health").status_code == 200
        worst = max(worst, time.perf_counter() - started)
        job = client.get(f"/api/v1/jobs/{job['id']}", headers=auth("official")).json()
        seen.add(job["stage"])
        time.sleep(0.05)
    assert job["status"] == "done" and job["result"]["ok"] and job["result"]["created"] == 2000, job
    assert worst < 1.0, f"/health took {worst:.2f} s during the import"
    assert seen & {"importing", "indexing"}, seen
    assert client.get("/ready").json()["talents_indexed"] == before + 2000
