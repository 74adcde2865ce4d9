"""Talent tiers of the programmes (英才计划: 杰出 / 领军 / 青年, ``talent_tiers`` in the programme file): imported
by label or code with a row-level error for an unknown one, filtered in the talent search and in a demand's
ranked list (the engine's filter columns), an unknown filter a 422 naming ``tier``; demands and matches
filtered by their programme."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from matcher.config import Settings
from matcher.engine.search import Filters
from matcher.errors import Invalid
from matcher.services.access import Actor
from matcher.services.files.importing import import_file
from matcher.services.people import talents
from matcher.services.pool.facts import build_pool, demand_facts
from matcher.storage.db import Database
from matcher.storage.models import Demand
from tests.conftest import fresh_database_url
from tests.services import factories as f
from tests.services.test_insight import COAL, COAL_PROFILE

OFFICIAL = Actor(None, "official")


def test_an_unknown_tier_is_a_row_error_and_nothing_is_written(db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "t.csv"
    pd.DataFrame([{"external_id": "T-1", "name": "王磊", "profile": "长期从事煤气化研究。", "人才层次": "青年人才"},
                  {"external_id": "T-2", "name": "李娜", "profile": "从事工业视觉缺陷检测。", "人才层次": "院士"}]
                 ).to_csv(path, index=False)
    report = import_file(db, "talents", path)
    assert not report.ok and [(e.row, e.column) for e in report.errors] == [(3, "tier")]
    assert "院士" in report.errors[0].reason and "领军人才" in report.errors[0].reason
    assert talents.list_talents(db, OFFICIAL)[1] == 0


def test_the_talent_search_filters_by_tier(db) -> None:  # type: ignore[no-untyped-def]
    with db.session() as s:
        lead = f.talent(s, name="领军专家", tier="leading").id
        f.talent(s, name="青年专家", tier="young")
        f.talent(s, name="普通专家")
    assert [t.id for t in talents.list_talents(db, OFFICIAL, tier="领军人才")[0]] == [lead]
    assert [t.tier for t in talents.list_talents(db, OFFICIAL, tier="young")[0]] == ["young"]
    with pytest.raises(Invalid) as bad:
        talents.list_talents(db, OFFICIAL, tier="院士")
    assert bad.value.field == "tier"


def test_a_demands_list_keeps_only_the_tier_asked_for(settings: Settings, tmp_path: Path) -> None:
    cfg = settings.model_copy(update={"var_dir": tmp_path, "database_url": fresh_database_url(tmp_path)})
    db = Database.from_settings(cfg)
    db.upgrade()
    with db.session() as s:
        d = f.demand(s, f.enterprise(s), title=COAL[0], description=COAL[1], status="open").id
        for n, tier in enumerate(("leading", None, "young", None, "leading")):
            f.talent(s, name=f"专家{n}", profile=COAL_PROFILE, tier=tier, consent_propose="granted")
    pool = build_pool(cfg, db, persist=False)
    with db.session() as s:
        facts = demand_facts(s, s.get(Demand, d))
    every, _ = pool.propose(facts, "flexible", k=10, explain_results=False)
    leading, _ = pool.propose(facts, "flexible", k=10, filters=Filters(tier="leading"), explain_results=False)
    assert len(every) == 5 and {p.talent.name for p in leading} == {"专家0", "专家4"}
    assert all(p.talent.tier == "leading" for p in leading)


def test_demands_and_matches_filter_by_programme(db) -> None:  # type: ignore[no-untyped-def]
    from matcher.services.workflow import demands as demand_svc
    from matcher.services.workflow import matches as match_svc
    with db.session() as s:
        ent = f.enterprise(s)
        team = f.demand(s, ent, programme="doctoral_service_team", status="taken_up")
        plain = f.demand(s, ent, status="taken_up")
        team_match = f.match(s, team, f.talent(s)).id
        f.match(s, plain, f.talent(s))
    found, total = demand_svc.list_demands(db, OFFICIAL, programme="doctoral_service_team")
    assert total == 1 and found[0].id == team.id
    matches, _ = match_svc.list_matches(db, OFFICIAL, programme="doctoral_service_team")
    assert [m.id for m in matches] == [team_match]
    for call in (lambda: demand_svc.list_demands(db, OFFICIAL, programme="nonsense"),
                 lambda: match_svc.list_matches(db, OFFICIAL, programme="nonsense")):
        with pytest.raises(Invalid) as bad:
            call()
        assert bad.value.field == "programme"
