"""Demands worth posting: the completeness check on posting and editing, the office's 待完善 queue (publish,
return with a note), the import's same rule, and the 揭榜 deadline (expiry exactly once, taken-up demands
flagged overdue with their matches untouched, extension by an official). Through the services, on a real
database; the check itself is the engine's (``tests/engine``, ``matcher.tools.completeness_eval``)."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from matcher.config import Settings, get_settings
from matcher.domain.vocabulary import DemandStatus
from matcher.domain.workflow import LIVE_DEMANDS
from matcher.engine import completeness
from matcher.errors import Conflict, Forbidden, Invalid, NotFound
from matcher.services.access import Actor
from matcher.services.files.importing import import_file
from matcher.services.programme.deadlines import shanghai_today
from matcher.services.workflow import demands as svc
from matcher.storage.models import AuditEvent, Demand, Match
from tests.services import factories as f

pytestmark = pytest.mark.db

#: Every element but the problem's symptom and the deadline: 84 points.
GOOD: dict[str, Any] = {
    "title": "气化炉渣口堵渣频繁导致非计划停车",
    "description": "我公司使用高灰熔点煤进行粉煤加压气化，渣口堵渣每季度导致两到三次非计划停车。",
    "current_state": "目前采用添加石灰石助熔的办法，已试过调整氧煤比，效果有限",
    "target_indicators": "非计划停车由每季度3次降低到1次以下",
    "site_conditions": "可提供近3年的DCS运行数据和灰渣样品，可安排停车检修窗口取样",
    "modes": ["tech_vp"], "budget_min": 50, "budget_max": 100,
}
#: The same demand without its structured parts: 16 points.
SHORT = {k: v for k, v in GOOD.items() if k not in ("current_state", "target_indicators", "site_conditions")}
STRUCTURED = {k: GOOD[k] for k in ("current_state", "target_indicators", "site_conditions")}


@pytest.fixture()
def world(db):  # type: ignore[no-untyped-def]
    """An enterprise in 太原市小店区, an intermediary, and actors of each role (offices: province, 太原, 大同)."""
    with db.session() as s:
        ent = f.enterprise(s, county_code="140105")
        agency = f.intermediary(s)
        ids = (ent.id, agency.id)
    return {
        "enterprise": Actor(None, "enterprise", enterprise_id=ids[0]),
        "intermediary": Actor(None, "intermediary", intermediary_id=ids[1]),
        "official": Actor(None, "official"),
        "taiyuan": Actor(None, "official", office_code="140100"),
        "datong": Actor(None, "official", office_code="140200"),
        "ent_id": ids[0], "agency_id": ids[1],
    }


def events(db, demand_id: int, action: str | None = None) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    with db.session() as s:
        q = select(AuditEvent).where(AuditEvent.entity == "demand", AuditEvent.entity_id == str(demand_id))
        if action is not None:
            q = q.where(AuditEvent.action == action)
        rows = list(s.scalars(q.order_by(AuditEvent.id)))
        s.expunge_all()
        return rows


# ------------------------------------------------------------------ the setting
def test_the_threshold_setting_defaults_to_the_engines_and_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().completeness_threshold == completeness.THRESHOLD == 70
    monkeypatch.setenv("MATCHER_COMPLETENESS_THRESHOLD", "55")
    assert Settings().completeness_threshold == 55
    for bad in ("-1", "101"):
        monkeypatch.setenv("MATCHER_COMPLETENESS_THRESHOLD", bad)
        with pytest.raises(ValueError):
            Settings()
    monkeypatch.setenv("MATCHER_EXPIRY_INTERVAL_SECONDS", "0")
    with pytest.raises(ValueError):
        Settings()


# ------------------------------------------------------------------ posting
def test_a_demand_below_the_threshold_waits_in_the_queue_off_the_board(db, world) -> None:  # type: ignore[no-untyped-def]
    d = svc.create_demand(db, world["enterprise"], dict(SHORT))
    assert (d.status, d.completeness) == ("incomplete", 16)
    assert any("目标指标" in h for h in d.hints) and any("现场条件" in h for h in d.hints)
    assert [e.action for e in events(db, d.id)] == ["post"]
    # not on the board, not found by search, not taken up, not in a round (rounds take the live demands)
    agency = world["intermediary"]
    assert svc.list_demands(db, agency)[1] == 0
    assert svc.list_demands(db, agency, q="渣口")[1] == 0
    with pytest.raises(NotFound):
        svc.take_up(db, agency, d.id)
    assert DemandStatus.INCOMPLETE.value not in LIVE_DEMANDS
    # the enterprise sees it, with its hints; the office's queue holds it
    assert svc.get_demand(db, world["enterprise"], d.id).status == "incomplete"
    queue, total = svc.list_demands(db, world["official"], status="incomplete")
    assert total == 1 and queue[0].id == d.id and queue[0].hints


def test_a_complete_demand_goes_to_the_board(db, world) -> None:  # type: ignore[no-untyped-def]
    d = svc.create_demand(db, world["enterprise"], dict(GOOD))
    assert (d.status, d.completeness) == ("open", 84)
    assert (d.current_state, d.target_indicators, d.site_conditions) == tuple(STRUCTURED.values())
    assert [v.id for v in svc.list_demands(db, world["intermediary"])[0]] == [d.id]
    assert svc.take_up(db, world["intermediary"], d.id).status == "taken_up"


def test_the_threshold_is_the_setting(db, world, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MATCHER_COMPLETENESS_THRESHOLD", "10")
    get_settings.cache_clear()
    try:
        assert svc.create_demand(db, world["enterprise"], dict(SHORT)).status == "open"
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert svc.create_demand(db, world["enterprise"], dict(SHORT)).status == "incomplete"


def test_the_queue_is_scoped_by_office(db, world) -> None:  # type: ignore[no-untyped-def]
    d = svc.create_demand(db, world["enterprise"], dict(SHORT))
    assert [v.id for v in svc.list_demands(db, world["taiyuan"], status="incomplete")[0]] == [d.id]
    assert svc.list_demands(db, world["datong"], status="incomplete")[1] == 0
    with pytest.raises(NotFound):
        svc.publish(db, world["datong"], d.id)
    with pytest.raises(NotFound):
        svc.return_demand(db, world["datong"], d.id, "请补充")


# ------------------------------------------------------------------ editing, the office's actions
def test_an_edit_that_reaches_the_threshold_publishes(db, world) -> None:  # type: ignore[no-untyped-def]
    ent = world["enterprise"]
    d = svc.create_demand(db, ent, dict(SHORT))
    still = svc.update_demand(db, ent, d.id, {"current_state": STRUCTURED["current_state"]})
    assert (still.status, still.completeness) == ("incomplete", 38)  # edited, still below: no publish
    done = svc.update_demand(db, ent, d.id, {k: STRUCTURED[k] for k in ("target_indicators", "site_conditions")})
    assert (done.status, done.completeness) == ("open", 84)
    assert [e.action for e in events(db, d.id)] == ["post", "edit", "edit", "publish"]
    assert events(db, d.id, "publish")[0].after == {"status": "open", "reason": "threshold"}
    assert svc.take_up(db, world["intermediary"], d.id).status == "taken_up"


def test_an_open_demand_edited_below_the_threshold_stays_open(db, world) -> None:  # type: ignore[no-untyped-def]
    d = svc.create_demand(db, world["enterprise"], dict(GOOD))
    after = svc.update_demand(db, world["enterprise"], d.id, {"target_indicators": "", "site_conditions": ""})
    assert (after.status, after.completeness) == ("open", 38) and after.hints


def test_the_office_returns_it_with_a_note_the_enterprise_reads(db, world) -> None:  # type: ignore[no-untyped-def]
    ent, off = world["enterprise"], world["official"]
    d = svc.create_demand(db, ent, dict(SHORT))
    for blank in ("", "   "):
        with pytest.raises(Invalid) as err:
            svc.return_demand(db, off, d.id, blank)
        assert err.value.field == "note"
    with pytest.raises(Forbidden):
        svc.return_demand(db, ent, d.id, "自己退回")
    back = svc.return_demand(db, off, d.id, "请补充可量化的目标指标和现场可提供的数据")
    assert (back.status, back.office_note) == ("incomplete", "请补充可量化的目标指标和现场可提供的数据")
    assert svc.get_demand(db, ent, d.id).office_note == back.office_note
    seen = svc.history(db, ent, d.id)  # the enterprise's own demand history
    assert [e.action for e in seen] == ["post", "return_demand"]
    assert seen[1].after == {"status": "incomplete", "office_note": back.office_note}
    # the enterprise completes it: published, and the note has served its purpose (it stays in the history)
    done = svc.update_demand(db, ent, d.id, dict(STRUCTURED))
    assert (done.status, done.office_note) == ("open", "")
    with pytest.raises(Conflict):  # only a 待完善 demand is returned
        svc.return_demand(db, off, d.id, "再退回")


def test_an_official_may_publish_it_as_it_is_the_enterprise_only_once_complete(db, world) -> None:  # type: ignore[no-untyped-def]
    ent, off = world["enterprise"], world["official"]
    d = svc.create_demand(db, ent, dict(SHORT))
    with pytest.raises(Invalid) as err:
        svc.publish(db, ent, d.id)
    assert err.value.field == "completeness"
    with pytest.raises(Forbidden):
        svc.publish(db, world["intermediary"], d.id)
    out = svc.publish(db, off, d.id)
    assert (out.status, out.completeness) == ("open", 16)
    assert events(db, d.id, "publish")[0].after == {"status": "open", "reason": "office"}
    with pytest.raises(Conflict):
        svc.publish(db, off, d.id)
    assert len(events(db, d.id, "publish")) == 1


def test_an_incomplete_demand_may_be_withdrawn(db, world) -> None:  # type: ignore[no-untyped-def]
    d = svc.create_demand(db, world["enterprise"], dict(SHORT))
    assert svc.withdraw(db, world["enterprise"], d.id).status == "withdrawn"


# ------------------------------------------------------------------ programme
def test_the_programme_must_exist_and_cover_a_mode(db, world) -> None:  # type: ignore[no-untyped-def]
    ent = world["enterprise"]
    with pytest.raises(Invalid) as err:
        svc.create_demand(db, ent, {**GOOD, "programme": "no_such_programme"})
    assert err.value.field == "programme"
    with pytest.raises(Invalid) as err:  # 科技副总 programme covers only tech_vp
        svc.create_demand(db, ent, {**GOOD, "modes": ["flexible"], "programme": "tech_vp_programme"})
    assert err.value.field == "programme"
    d = svc.create_demand(db, ent, {**GOOD, "programme": "tech_vp_programme"})
    assert d.programme == "tech_vp_programme"
    with pytest.raises(Invalid) as err:  # the modes changed away from the programme's
        svc.update_demand(db, ent, d.id, {"modes": ["flexible"]})
    assert err.value.field == "modes"
    with pytest.raises(Invalid) as err:
        svc.update_demand(db, ent, d.id, {"programme": "industry_talent"})
    assert err.value.field == "programme"
    assert svc.update_demand(db, ent, d.id, {"programme": "industry_talent", "modes": ["flexible"]}).programme \
        == "industry_talent"
    assert svc.update_demand(db, ent, d.id, {"programme": None}).programme is None


# ------------------------------------------------------------------ the import
DEMANDS_CSV = ("需求编号,企业名称,需求名称,需求描述,引才方式,预算下限,预算上限,现状,目标指标,现场条件\n"
               "Q-1,质量测试企业,{title},{description},科技副总,50,100,{current_state},{target_indicators},"
               "{site_conditions}\n"
               "Q-2,质量测试企业,{title},{description},科技副总,50,100,,,\n")


def test_an_imported_demand_below_the_threshold_lands_in_the_queue(db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "demands.csv"
    path.write_text(DEMANDS_CSV.format(**GOOD), encoding="utf-8")
    report = import_file(db, "demands", path, actor_role="official")
    assert report.ok and report.created == 2, report.errors
    assert any("待完善" in w and "rows 3" in w for w in report.warnings), report.warnings
    with db.session() as s:
        rows = {d.external_id: (d.status, d.completeness, d.site_conditions) for d in s.scalars(select(Demand))}
    assert rows == {"Q-1": ("open", 84, GOOD["site_conditions"]), "Q-2": ("incomplete", 16, "")}
    # the next file completes Q-2: published, audited
    path.write_text("需求编号,企业名称,需求名称,需求描述,现状,目标指标,现场条件\n"
                    f"Q-2,质量测试企业,{GOOD['title']},{GOOD['description']},{GOOD['current_state']},"
                    f"{GOOD['target_indicators']},{GOOD['site_conditions']}\n", encoding="utf-8")
    again = import_file(db, "demands", path, actor_role="official")
    assert again.ok and again.updated == 1
    with db.session() as s:
        q2 = s.scalar(select(Demand).where(Demand.external_id == "Q-2"))
        assert q2 is not None and (q2.status, q2.completeness) == ("open", 84)
        q2_id = q2.id
    published = events(db, q2_id, "publish")
    assert len(published) == 1 and published[0].actor_role == "official"


# ------------------------------------------------------------------ the 揭榜 deadline
@pytest.fixture()
def due(db, world):  # type: ignore[no-untyped-def]
    """Demands around today (Asia/Shanghai): open past the deadline, open on it, taken up past it (with a
    match), 待完善 past it, open without one."""
    today = shanghai_today()
    with db.session() as s:
        ent = s.get(f.Enterprise, world["ent_id"])
        past = f.demand(s, ent, deadline=today - timedelta(days=1))
        on_the_day = f.demand(s, ent, deadline=today)
        taken = f.demand(s, ent, deadline=today - timedelta(days=30), status="taken_up",
                         intermediary_id=world["agency_id"])
        match = f.match(s, taken, f.talent(s), status="submitted")
        waiting = f.demand(s, ent, deadline=today - timedelta(days=3), status="incomplete")
        undated = f.demand(s, ent)
        ids = {"past": past.id, "on_the_day": on_the_day.id, "taken": taken.id, "match": match.id,
               "waiting": waiting.id, "undated": undated.id}
    return today, ids


def test_expiry_closes_open_demands_past_their_deadline_exactly_once(db, world, due) -> None:  # type: ignore[no-untyped-def]
    today, ids = due
    with db.session() as s:
        match_before = s.get(Match, ids["match"])
        assert match_before is not None
        before = (match_before.status, match_before.updated_at, match_before.demand_id)
    assert svc.expire_overdue_demands(db, today=today) == [ids["past"]]
    assert svc.expire_overdue_demands(db, today=today) == []  # the second sweep finds nothing
    closed = svc.get_demand(db, world["official"], ids["past"])
    assert (closed.status, closed.closed_reason) == ("closed", "expired")
    expired = events(db, ids["past"], "expire")
    assert len(expired) == 1 and expired[0].actor_role == "system" and expired[0].actor_user_id is None
    assert expired[0].after is not None and expired[0].after["closed_reason"] == "expired"
    # the enterprise is told: the event is in its demand's history
    assert [e.action for e in svc.history(db, world["enterprise"], ids["past"])][-1] == "expire"
    for key, status in (("on_the_day", "open"), ("undated", "open"), ("waiting", "incomplete"),
                        ("taken", "taken_up")):
        assert svc.get_demand(db, world["official"], ids[key]).status == status, key
    # the taken-up one is flagged overdue, its match untouched
    taken = svc.get_demand(db, world["official"], ids["taken"])
    assert taken.overdue and taken.closed_reason is None
    assert not svc.get_demand(db, world["official"], ids["on_the_day"]).overdue  # due today is not overdue
    with db.session() as s:
        m = s.get(Match, ids["match"])
        assert m is not None and (m.status, m.updated_at, m.demand_id) == before
    assert events(db, ids["taken"], "expire") == []


def test_several_workers_sweeping_at_once_close_each_demand_once(db, world, due) -> None:  # type: ignore[no-untyped-def]
    today, ids = due
    barrier = threading.Barrier(3)
    results: list[list[int]] = []
    lock = threading.Lock()

    def sweep() -> None:
        barrier.wait()
        out = svc.expire_overdue_demands(db, today=today)
        with lock:
            results.append(out)

    threads = [threading.Thread(target=sweep) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(i for r in results for i in r) == [ids["past"]] and len(results) == 3
    with db.session() as s:
        n = s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "expire"))
    assert n == 1


def test_an_official_extends_an_expired_demand_back_onto_the_board(db, world, due) -> None:  # type: ignore[no-untyped-def]
    _, ids = due
    today = shanghai_today()
    with db.session() as s:  # expired a week ago, by the real clock
        d = s.get(Demand, ids["past"])
        assert d is not None
        d.deadline = today - timedelta(days=7)
    assert svc.expire_overdue_demands(db) == [ids["past"]]  # today by the clock, as the runtime sweeps
    off = world["official"]
    for bad in (today, today - timedelta(days=1)):
        with pytest.raises(Invalid) as err:
            svc.extend(db, off, ids["past"], bad)
        assert err.value.field == "deadline"
    with pytest.raises(Forbidden):
        svc.extend(db, world["enterprise"], ids["past"], today + timedelta(days=30))
    with pytest.raises(NotFound):
        svc.extend(db, world["datong"], ids["past"], today + timedelta(days=30))
    out = svc.extend(db, off, ids["past"], today + timedelta(days=30))
    assert (out.status, out.closed_reason, out.deadline) == ("open", None, (today + timedelta(days=30)).isoformat())
    ext = events(db, ids["past"], "extend")
    assert len(ext) == 1 and ext[0].before == {"status": "closed", "deadline": (today - timedelta(days=7)).isoformat()}
    assert ids["past"] in [v.id for v in svc.list_demands(db, world["intermediary"])[0]]
    # an open demand: only a later deadline than its own
    with pytest.raises(Invalid) as err:
        svc.extend(db, off, ids["past"], today + timedelta(days=30))
    assert err.value.field == "deadline"
    assert svc.extend(db, off, ids["past"], today + timedelta(days=60)).deadline == \
        (today + timedelta(days=60)).isoformat()


def test_a_demand_closed_by_hand_or_taken_up_is_not_extended(db, world, due) -> None:  # type: ignore[no-untyped-def]
    _, ids = due
    later = shanghai_today() + timedelta(days=90)
    svc.close(db, world["enterprise"], ids["undated"])
    with pytest.raises(Conflict):
        svc.extend(db, world["official"], ids["undated"], later)
    with pytest.raises(Conflict):
        svc.extend(db, world["official"], ids["taken"], later)
    with pytest.raises(Conflict):
        svc.extend(db, world["official"], ids["waiting"], later)
    assert events(db, ids["undated"], "extend") == []


def test_the_command_line_and_the_runtime_sweep(db, world, due, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`matcher demands expire` closes what is due; a starting runtime sweeps at once (then every
    MATCHER_EXPIRY_INTERVAL_SECONDS) and closes what became due later."""
    import json
    import time

    from typer.testing import CliRunner

    from matcher.cli import app as cli
    from matcher.services.runtime import Runtime

    _, ids = due
    env = {"MATCHER_DATABASE_URL": db.url, "MATCHER_VAR_DIR": str(tmp_path)}
    get_settings.cache_clear()
    try:
        r = CliRunner().invoke(cli, ["demands", "expire"], env=env)
        assert r.exit_code == 0, r.output
        assert json.loads(r.output) == {"closed": 1, "demand_ids": [ids["past"]]}
        r = CliRunner().invoke(cli, ["demands", "expire"], env=env)
        assert json.loads(r.output)["closed"] == 0
    finally:
        get_settings.cache_clear()
    with db.session() as s:
        d = s.get(Demand, ids["on_the_day"])
        assert d is not None
        d.deadline = shanghai_today() - timedelta(days=2)
    runtime = Runtime(Settings(var_dir=tmp_path, database_url=db.url, expiry_interval_seconds=3600), db,
                      load_pool=False)
    runtime.start()
    try:
        deadline = time.time() + 30
        while svc.get_demand(db, world["official"], ids["on_the_day"]).status != "closed":
            assert time.time() < deadline, "the runtime did not sweep at start"
            time.sleep(0.1)
    finally:
        runtime.stop()
    assert len(events(db, ids["on_the_day"], "expire")) == 1
