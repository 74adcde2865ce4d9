"""A fourth engagement mode, registered in this test alone (企业博士后联合培养, joint supervision of an
enterprise postdoc): the registry is the only place a mode is declared, so it is proposed, shortlisted,
reviewed, exported and learned from, the request schemas and the console accept it, and the consent text
of a new version names it — while a talent who consented under the old text is not proposed in it until
they consent again."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from matcher.config import Settings
from matcher.domain import modes
from matcher.domain.facts import DemandFacts, TalentFacts
from matcher.domain.privacy import BASE_VERSION, consent_text, consent_version
from matcher.engine.ltr import feature_names, feature_vector
from matcher.services.learning import training
from matcher.services.learning.decisions import training_lists, write_events
from matcher.services.pool.facts import refresh_talents
from matcher.storage.models import Talent
from tests.conftest import COMPLETE_PARTS, api_client, auth, talent_signs_in

pytestmark = [pytest.mark.slow, pytest.mark.db]


def _academic(d: DemandFacts, t: TalentFacts, ctx: modes.RuleContext) -> str | None:
    return None if t.institution_type in ("university", "institute") else "联合培养导师须来自高校或科研院所"


JOINT_POSTDOC = modes.EngagementMode(
    "joint_postdoc", "企业博士后联合培养",
    rules=(_academic, modes.willing("joint_postdoc", "本人未表示愿意联合培养博士后", "联合培养名额已满")),
    fit=lambda t, left: f"可联合指导企业博士后，剩余名额{left}",
    description="高校、科研院所导师与企业联合指导博士后")

DEMAND = {"title": "焦炉煤气制氢装置吸附剂寿命短",
          "description": "我公司焦炉煤气变压吸附制氢装置吸附剂寿命偏短，希望与高校联合培养博士后，"
                         "研究吸附剂失活机理并开发再生工艺。",
          "industry_code": "2522", "modes": ["joint_postdoc", "flexible"], **COMPLETE_PARTS}


@pytest.fixture(scope="module")
def client(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with modes.registered(JOINT_POSTDOC), api_client(settings, tmp_path_factory.mktemp("mode-var"),
                                                     talents=160, demands=12) as c:
        yield c


def _call(client: TestClient) -> Any:
    def call(method: str, path: str, role: str | None, **kw: Any) -> Any:
        return client.request(method, path, headers=auth(role) if role else {}, **kw)

    return call


def test_a_fourth_mode_runs_the_whole_workflow(client: TestClient, settings: Settings) -> None:
    runtime: Any = client.app.state.runtime  # type: ignore[attr-defined]
    db, pool = runtime.db, runtime.pool
    assert modes.is_mode("joint_postdoc")
    # The consent text has a new version that names the mode; the old version did not.
    assert consent_version() == f"{BASE_VERSION}+joint_postdoc"
    assert "企业博士后联合培养" in consent_text("propose") and "企业博士后联合培养" not in consent_text(
        "propose", BASE_VERSION)
    # The request schema accepts it (and still refuses a mode nobody registered).
    r = client.post("/api/v1/demands", json=DEMAND, headers=auth("enterprise"))
    assert r.status_code == 201, r.text
    d = r.json()
    bad = client.post("/api/v1/demands", json={**DEMAND, "modes": ["chairman"]}, headers=auth("enterprise"))
    assert bad.status_code == 422 and "chairman" in bad.text
    assert "joint_postdoc" in client.get("/openapi.json").text
    # Nobody said they would serve in the new mode yet: nobody is proposed in it.
    empty = client.get(f"/api/v1/demands/{d['id']}/matches?mode=joint_postdoc", headers=auth("enterprise")).json()
    assert empty["items"] == []
    # The best academic experts for this demand say they would, through the office's records.
    flexible = client.get(f"/api/v1/demands/{d['id']}/matches?mode=flexible&k=40",
                          headers=auth("enterprise")).json()["items"]
    chosen = [p["talent"]["id"] for p in flexible
              if p["talent"]["institution_type"] in ("university", "institute")][:4]
    assert len(chosen) == 4
    old_consent, pending = chosen[0], chosen[1:]
    with db.session() as s:
        for t in s.scalars(select(Talent).where(Talent.id.in_(chosen))):
            t.mode_capacity = {**t.mode_capacity, "joint_postdoc": 1}
        # One of them consented under the first text, which did not name the new mode.
        s.execute(update(Talent).where(Talent.id == old_consent).values(
            consent_propose="granted", consent_propose_version=BASE_VERSION))
        s.flush()
        refresh_talents(s, pool, chosen)
    listed = client.get(f"/api/v1/demands/{d['id']}/matches?mode=joint_postdoc&include_excluded=true&k=50",
                        headers=auth("enterprise")).json()["items"]
    by_id = {p["talent"]["id"]: p for p in listed}
    assert {t for t in pending if by_id.get(t, {}).get("eligible")} == set(pending)
    assert not by_id[old_consent]["eligible"] and "重新同意" in by_id[old_consent]["excluded_by"]
    assert by_id[pending[0]]["mode_fit"].startswith("可联合指导企业博士后")
    # Still proposed in the modes the old text named.
    assert any(p["talent"]["id"] == old_consent for p in flexible)
    # The talent consents again, under the new version: now proposed in the new mode too.
    me = talent_signs_in(_call(client), old_consent)
    rec = client.get("/api/v1/me/record", headers=me).json()
    assert next(c for c in rec["consents"] if c["purpose"] == "propose")["needs_renewal"]
    assert client.post("/api/v1/me/consents", json={"purpose": "propose", "granted": True},
                       headers=me).status_code == 200
    again = client.get(f"/api/v1/demands/{d['id']}/matches?mode=joint_postdoc&k=50",
                       headers=auth("enterprise")).json()["items"]
    assert old_consent in {p["talent"]["id"] for p in again}
    # 揭榜, shortlist, contact, submit, review — in the new mode.
    assert client.post(f"/api/v1/demands/{d['id']}/take-up", headers=auth("intermediary")).status_code == 200
    top = client.get(f"/api/v1/demands/{d['id']}/matches?mode=joint_postdoc&k=5",
                     headers=auth("intermediary")).json()["items"][0]["talent"]["id"]
    m = client.post(f"/api/v1/demands/{d['id']}/shortlist", json={"talent_id": top, "mode": "joint_postdoc"},
                    headers=auth("intermediary"))
    assert m.status_code == 201 and m.json()["mode"] == "joint_postdoc", m.text
    mid = m.json()["id"]
    assert client.post(f"/api/v1/matches/{mid}/contacts", json={"note": "电话联系", "answer": "accepted"},
                       headers=auth("intermediary")).status_code == 200
    assert client.post(f"/api/v1/matches/{mid}/submit", json={"plan": "联合招收博士后一名，两年完成再生工艺"},
                       headers=auth("intermediary")).json()["status"] == "submitted"
    assert client.post(f"/api/v1/matches/{mid}/review", json={"decision": "approve", "reason": "方向吻合"},
                       headers=auth("official")).json()["status"] == "approved"
    # The console lists it (the demand form and the demand page), in Chinese.
    assert client.post("/login", data={"token": "demo-enterprise"}, follow_redirects=False).status_code == 303
    assert "企业博士后联合培养" in client.get("/console/demands/new").text
    assert "企业博士后联合培养" in client.get(f"/console/demands/{d['id']}?mode=joint_postdoc").text
    # Exported, and the file re-imports the mode (capacity cells by code or label).
    xlsx = client.get("/api/v1/exports.xlsx", headers=auth("official"))
    sheets = pd.read_excel(io.BytesIO(xlsx.content), sheet_name=None, dtype=str)
    assert "joint_postdoc" in " ".join(sheets["demands"]["modes"].fillna(""))
    assert any("joint_postdoc:1" in c for c in sheets["talents"]["mode_capacity"].fillna(""))
    # Learned from: the decisions carry the mode, the learner has its column, a model trained on it says so.
    runtime.impressions.flush(db)
    assert "mode_joint_postdoc" in feature_names()
    _simulated_lists(db, pool, d["id"])
    lists = [x for x in training_lists(db) if x.X[0][feature_names().index("mode_joint_postdoc")] > 0]
    assert lists
    cfg = settings.model_copy(update={"var_dir": Path(runtime.settings.var_dir)})
    out = training.learn(cfg, db, min_lists=10, test_share=0.3)
    assert "joint_postdoc" in out["per_mode"], out


def _simulated_lists(db: Any, pool: Any, demand_id: int, n: int = 40) -> None:
    """Shown lists in the new mode with graded decisions (the better-scored rows shortlisted), so the
    learner has something to learn from (as the demo's history does for the built-in modes)."""
    from datetime import UTC, datetime, timedelta

    from matcher.services.pool.facts import demand_facts
    from matcher.storage.models import Demand

    with db.session() as s:
        facts = demand_facts(s, s.get(Demand, demand_id))
    page, _ = pool.propose(facts, "joint_postdoc", k=10, explain_results=False)
    flexible, _ = pool.propose(facts, "flexible", k=10, explain_results=False)
    rng = np.random.default_rng(3)
    rows: list[dict[str, Any]] = []
    start = datetime.now(UTC) - timedelta(days=n)
    for i in range(n):
        mode, shown = ("joint_postdoc", page) if i % 2 else ("flexible", flexible)
        at = start + timedelta(days=i)
        for rank_no, p in enumerate(shown, start=1):
            rows.append({"at": at, "kind": "shown", "demand_id": demand_id, "talent_id": p.talent.id, "mode": mode,
                         "list_id": f"L{i}", "rank": rank_no, "ranker": "hand",
                         "features": {**feature_vector(mode, p.ranked), "hand_score": p.ranked.score},
                         "reason": "", "actor_user_id": None, "source": "simulated"})
        pick = shown[int(rng.integers(min(3, len(shown))))]
        rows.append({"at": at + timedelta(hours=1), "kind": "shortlisted", "demand_id": demand_id,
                     "talent_id": pick.talent.id, "mode": mode, "list_id": None, "rank": None, "ranker": "hand",
                     "features": None, "reason": "", "actor_user_id": None, "source": "simulated"})
    write_events(db, rows)
