"""Saved searches and their alerts (``services/inbox/alerts``) on small hand-made databases: a board search
alerts once per new matching demand — also for one published late from the 待完善 queue — and never again;
a followed demand alerts its enterprise to talents entering its top list, never to one who is not proposable
now (withdrawn after the index was built); two runs at once alert once; bad searches name the field."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from matcher.config import Settings
from matcher.errors import Forbidden, Invalid, NotFound
from matcher.services import jobs
from matcher.services.access import Actor
from matcher.services.audit import record
from matcher.services.inbox import alerts, items
from matcher.services.pool.facts import build_pool
from matcher.storage.db import Database
from matcher.storage.models import Demand, InboxItem, Talent, User
from tests.conftest import fresh_database_url
from tests.services import factories as f
from tests.services.test_insight import COAL, COAL_PROFILE, OTHERS


def user(db: Any, role: str, **kw: Any) -> Actor:
    with db.session() as s:
        u = User(username=f"{role}-{id(kw)}", role=role, token_hash=f"{role}{id(kw)}".ljust(64, "0")[:64], **kw)
        s.add(u)
        s.flush()
        return Actor(u.id, role, enterprise_id=u.enterprise_id, intermediary_id=u.intermediary_id)


def alerts_of(db: Any, who: Actor, kind: str) -> list[str]:
    found, _ = items.list_items(db, who, state="all", kind=kind)
    return sorted(i.entity_id for i in found)


# ------------------------------------------------------------------ the board
def test_a_board_search_alerts_once_per_new_matching_demand(db, settings) -> None:  # type: ignore[no-untyped-def]
    with db.session() as s:
        ent = f.enterprise(s)
        agency = f.intermediary(s)
        old = f.demand(s, ent, sector="coal_chemical", status="open").id  # there before the search
    agent = user(db, "intermediary", intermediary_id=agency.id)
    search = alerts.create(db, None, settings, agent, "demands", "煤化工", {"sector": "coal_chemical"})
    assert search.filters == {"sector": "coal_chemical"}
    with db.session() as s:
        ent = s.get(type(ent), ent.id)
        new = f.demand(s, ent, sector="coal_chemical", status="open").id
        f.demand(s, ent, sector="ai", status="open")  # another sector
        late = f.demand(s, ent, sector="coal_chemical", status="incomplete").id  # not on the board yet
    assert alerts.run(db, None, settings)["new_demands"] == 1
    assert alerts_of(db, agent, "new_demand") == [str(new)]
    assert alerts.run(db, None, settings)["new_demands"] == 0  # not again
    with db.session() as s:  # the office completes it and it goes on the board: new to the search
        s.get(Demand, late).status = "open"
        record(s, action="publish", entity="demand", entity_id=late, actor_role="official")
    assert alerts.run(db, None, settings)["new_demands"] == 1
    assert alerts_of(db, agent, "new_demand") == sorted([str(new), str(late)])
    assert str(old) not in alerts_of(db, agent, "new_demand")
    alerts.delete(db, agent, search.id)
    with db.session() as s:
        f.demand(s, s.get(type(ent), ent.id), sector="coal_chemical", status="open")
    assert alerts.run(db, None, settings)["searches"] == 0 and alerts.list_mine(db, agent) == []


def test_words_city_and_mode_filter_the_board(db, settings) -> None:  # type: ignore[no-untyped-def]
    with db.session() as s:
        agency = f.intermediary(s)
    agent = user(db, "intermediary", intermediary_id=agency.id)
    alerts.create(db, None, settings, agent, "demands", filters={"q": "脱硫", "city": "太原", "mode": "tech_vp"})
    with db.session() as s:
        ent = f.enterprise(s)
        hit = f.demand(s, ent, title="焦炉煤气精脱硫", city="太原", modes=["tech_vp"], status="open").id
        f.demand(s, ent, title="焦炉煤气精脱硫", city="大同", modes=["tech_vp"], status="open")
        f.demand(s, ent, title="焦炉煤气精脱硫", city="太原", modes=["flexible"], status="open")
        f.demand(s, ent, title="锂电池回收", description="正极材料回收", city="太原", modes=["tech_vp"], status="open")
    alerts.run(db, None, settings)
    assert alerts_of(db, agent, "new_demand") == [str(hit)]


def test_two_runs_at_once_alert_once(db, settings) -> None:  # type: ignore[no-untyped-def]
    with db.session() as s:
        agency = f.intermediary(s)
    agent = user(db, "intermediary", intermediary_id=agency.id)
    alerts.create(db, None, settings, agent, "demands")
    with db.session() as s:
        ent = f.enterprise(s)
        for _ in range(3):
            f.demand(s, ent, status="open")
    barrier = threading.Barrier(2)

    def run() -> None:
        barrier.wait()
        alerts.run(db, None, settings)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(alerts_of(db, agent, "new_demand")) == 3
    with db.session() as s:
        assert len(list(s.scalars(select(InboxItem.key).where(InboxItem.kind == "new_demand")))) == 3


@pytest.mark.parametrize(("role", "kind", "kw", "error", "field"), [
    ("intermediary", "demands", {"filters": {"colour": "红"}}, Invalid, "filters"),
    ("intermediary", "demands", {"filters": {"mode": "nonsense"}}, Invalid, "filters.mode"),
    ("intermediary", "demands", {"filters": {"sector": "新材料"}}, Invalid, "filters.sector"),
    ("intermediary", "talents", {"demand_id": 1}, Forbidden, None),
    ("enterprise", "talents", {}, Invalid, "demand_id"),
    ("enterprise", "talents", {"demand_id": 99999}, NotFound, "demand_id"),
    ("enterprise", "rumours", {}, Invalid, "kind"),
])
def test_bad_searches_are_refused_naming_the_field(db, settings, role, kind, kw, error, field) -> None:  # type: ignore[no-untyped-def]
    with db.session() as s:
        ids = {"intermediary_id": f.intermediary(s).id} if role == "intermediary" else \
            {"enterprise_id": f.enterprise(s).id}
    with pytest.raises(error) as bad:
        alerts.create(db, None, settings, user(db, role, **ids), kind, **kw)
    if field is not None:
        assert bad.value.field == field


# ------------------------------------------------------------------ a followed demand
@pytest.fixture()
def followed(settings: Settings, tmp_path: Path) -> tuple[Settings, Database, dict[str, int]]:
    cfg = settings.model_copy(update={"var_dir": tmp_path, "database_url": fresh_database_url(tmp_path),
                                      "alert_top_n": 3})
    db = Database.from_settings(cfg)
    db.upgrade()
    ids: dict[str, int] = {}
    with db.session() as s:
        ent = f.enterprise(s, county_code="140105", city="太原")
        ids["enterprise"] = ent.id
        ids["demand"] = f.demand(s, ent, title=COAL[0], description=COAL[1], sector="coal_chemical",
                                 city="太原", status="open").id
        for n, (sector, text) in enumerate(OTHERS):  # nobody in the pool knows the demand's subject yet
            f.talent(s, name=f"专家{n}", profile=text, sector=sector, consent_propose="granted")
    return cfg, db, ids


def test_a_followed_demand_alerts_new_top_talents_and_never_a_withdrawn_one(
        followed: tuple[Settings, Database, dict[str, int]]) -> None:
    cfg, db, ids = followed
    boss = user(db, "enterprise", enterprise_id=ids["enterprise"])
    search = alerts.create(db, build_pool(cfg, db, persist=False), cfg, boss, "talents", demand_id=ids["demand"])
    assert search.filters == {"mode": "flexible"} and search.demand_title == COAL[0]
    assert alerts.run(db, build_pool(cfg, db, persist=False), cfg)["new_talents"] == 0  # the same list
    with db.session() as s:  # two experts on the demand's subject join
        joined = f.talent(s, name="煤化工专家甲", profile=COAL_PROFILE, sector="coal_chemical",
                          research_fields=["精脱硫", "有机硫脱除"], consent_propose="granted").id
        leaving = f.talent(s, name="煤化工专家乙", profile=COAL_PROFILE, sector="coal_chemical",
                           research_fields=["精脱硫", "有机硫脱除"], consent_propose="granted").id
    pool = build_pool(cfg, db, persist=False)
    top = [p.talent.id for p in pool.propose(_facts(db, ids["demand"]), "flexible", k=3, explain_results=False)[0]]
    assert {joined, leaving} <= set(top[:2]), top  # both rank first in the index
    with db.session() as s:  # … and one withdraws before the run; this process's index does not know yet
        s.get(Talent, leaving).withdrawn_at = s.get(Talent, leaving).created_at
    done = alerts.run(db, pool, cfg)
    assert done["new_talents"] == 1
    found, _ = items.list_items(db, boss, state="all", kind="new_talent")
    assert [i.entity_id for i in found] == [str(ids["demand"])] and "煤化工专家甲" in found[0].title
    assert "煤化工专家乙" not in " ".join(i.title for i in found)
    assert alerts.run(db, pool, cfg)["new_talents"] == 0  # not again


def test_an_enterprise_follows_only_its_own_demand(followed: tuple[Settings, Database, dict[str, int]]) -> None:
    cfg, db, ids = followed
    with db.session() as s:
        other = f.enterprise(s).id
    with pytest.raises(NotFound):
        alerts.create(db, None, cfg, user(db, "enterprise", enterprise_id=other), "talents", demand_id=ids["demand"])


def test_the_alert_job_is_queued_once_per_period(db, settings) -> None:  # type: ignore[no-untyped-def]
    first = jobs.queue_periodic(db, alerts.KIND, 600)
    assert first is not None and jobs.queue_periodic(db, alerts.KIND, 600) is None  # queued: not again
    ctx = jobs.JobContext(db, lambda: None, settings)
    jobs.run(ctx, alerts.ALERTS, first)
    with db.session() as s:
        from matcher.storage.models import Job
        done = s.get(Job, first)
        assert (done.status, done.result["searches"]) == ("done", 0)
    assert jobs.queue_periodic(db, alerts.KIND, 600) is None  # done, but within the period
    assert jobs.queue_periodic(db, alerts.KIND, 0) is not None


def _facts(db: Database, demand_id: int) -> Any:
    from matcher.services.pool.facts import demand_facts
    with db.session() as s:
        return demand_facts(s, s.get(Demand, demand_id))
