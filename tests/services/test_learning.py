"""Learning from decisions: events recorded with feature snapshots, a simulated history, `learn` that
adopts a model only when it beats the hand weights, rollback, and ranking with the learned model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from matcher.config import Settings
from matcher.demo.history import simulate
from matcher.engine.ltr import feature_names, grade
from matcher.services.learning import decisions as feedback
from matcher.services.learning import training as learning
from matcher.services.pool.facts import build_pool, demand_facts
from matcher.storage.db import Database
from matcher.storage.models import DecisionEvent, Demand
from matcher.tools.seeding import seed_demo
from tests.conftest import fresh_database_url

pytestmark = pytest.mark.once("sqlite")

FEATURES = feature_names()


def _world(settings: Settings, var: Path, talents: int = 400, demands: int = 60) -> tuple[Settings, Database, Any]:
    cfg = settings.model_copy(update={"var_dir": var, "database_url": fresh_database_url(var)})
    db = Database.from_settings(cfg)
    db.upgrade()
    seed_demo(db, talents=talents, demands=demands, seed=7, progress=False, log=lambda m: None)
    return cfg, db, build_pool(cfg, db, persist=False)


@pytest.fixture(scope="module")
def world(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Database, Any]:
    return _world(settings, tmp_path_factory.mktemp("learning"))


@pytest.fixture(scope="module")
def learned(world: tuple[Settings, Database, Any]) -> dict[str, Any]:
    cfg, db, pool = world
    counts = simulate(db, pool, seed=11, days=150, lists_per_day=30, log=lambda m: None)
    assert counts["shown"] > 20_000 and counts["approved"] > 100
    return learning.learn(cfg, db)


def test_grades_replay_decisions_in_time_order() -> None:
    assert grade([]) == 0
    assert grade(["shortlisted", "contact_accepted", "submitted", "approved", "confirmed", "outcome_solved"]) == 3
    assert grade(["shortlisted", "contact_declined"]) == 0
    assert grade(["shortlisted", "submitted", "rejected", "submitted", "approved"]) == 2  # resubmitted, approved
    assert grade(["approved", "outcome_not"]) == 2  # an approved fit keeps its grade


def test_learning_recovers_the_planted_preference_and_beats_the_hand_weights(
        world: tuple[Settings, Database, Any], learned: dict[str, Any]) -> None:
    cfg, db, _pool = world
    assert learned["adopted"], learned
    assert learned["learned"]["ndcg10"] > learned["hand"]["ndcg10"], learned
    ranker = learning.load_current(cfg)
    assert ranker is not None and ranker.version == learned["version"]
    meta = json.loads((learning.models_dir(cfg) / learned["version"] / "meta.json").read_text())
    assert meta["features"] == list(FEATURES) and meta["library"].startswith("lightgbm")
    assert meta["train_window"][1] <= meta["test_window"][0]  # trained on older decisions only
    # The planted preference (officials favour 晋籍 talents for 科技副总): the same talent row gains more
    # from being born in the province when the mode is 科技副总 than when it is 柔性引才.
    lists = feedback.training_lists(db)
    rows = np.vstack([x.X for x in lists])
    born = rows[rows[:, FEATURES.index("tie_born")] == 1][:500]
    gains = {}
    for mode in ("tech_vp", "flexible"):
        x = born.copy()
        for m in ("tech_vp", "dual_appointment", "flexible"):
            x[:, FEATURES.index(f"mode_{m}")] = float(m == mode)
        y = x.copy()
        y[:, FEATURES.index("tie_born")] = 0.0
        gains[mode] = float(np.mean(ranker.raw(x) - ranker.raw(y)))  # the model's own correction
    assert gains["tech_vp"] > gains["flexible"] + 0.1, gains


def test_the_service_ranks_with_the_learned_model_and_explains_by_its_contributions(
        world: tuple[Settings, Database, Any], learned: dict[str, Any]) -> None:
    cfg, db, pool = world
    pool.learned = learning.load_current(cfg)
    try:
        with db.session() as s:
            d = next(f for f in (demand_facts(s, x) for x in s.scalars(select(Demand))) if "tech_vp" in f.modes)
        page, _ = pool.propose(d, "tech_vp", k=10)
        assert page and all(p.ranked.ranker == f"ltr-{learned['version']}" for p in page)
        scores = [p.ranked.score for p in page]
        assert scores == sorted(scores, reverse=True)
        for p in page:
            feats = p.explanation.features
            assert feats[-1].name == "base"
            assert sum(f.contribution for f in feats) == pytest.approx(p.ranked.score, abs=0.01)
            assert p.ranked.hand_score is not None
    finally:
        pool.learned = None


def test_rollback_returns_to_the_previous_ranker(world: tuple[Settings, Database, Any],
                                                 learned: dict[str, Any]) -> None:
    cfg, _, _ = world
    assert learning.read_pointer(cfg)["version"] == learned["version"]
    out = learning.rollback(cfg)
    assert out["version"] is None and learning.load_current(cfg) is None
    assert learning.rollback(cfg)["decision"] == "the hand weights are already in use"
    history = learning.read_pointer(cfg)["history"]
    assert [h["version"] for h in history] == [learned["version"], None]


def test_with_too_few_decisions_the_hand_weights_stay(settings: Settings, tmp_path: Path) -> None:
    cfg, db, pool = _world(settings, tmp_path, talents=150, demands=20)
    simulate(db, pool, seed=3, days=4, lists_per_day=10, log=lambda m: None)
    out = learning.learn(cfg, db)
    assert not out["adopted"] and "too few" in out["decision"]
    assert learning.load_current(cfg) is None and "version" not in out


def test_shown_lists_and_decisions_are_recorded_and_exported(settings: Settings, tmp_path: Path) -> None:
    # Its own small world: the module's world holds the simulated six months (20,000+ events) once the
    # learning tests ran, and writing those to a workbook took most of a minute without testing more.
    _cfg, db, pool = _world(settings, tmp_path / "var", talents=120, demands=10)
    buffer = feedback.ImpressionBuffer()
    with db.session() as s:
        d = demand_facts(s, s.scalars(select(Demand)).first())
    page, _ = pool.propose(d, d.modes[0], k=5)
    list_id = buffer.add(d.id, d.modes[0], page, 0, actor_user_id=None)
    assert len(buffer) == len(page) and buffer.flush(db) == len(page) and len(buffer) == 0
    with db.session() as s:
        rows = list(s.scalars(select(DecisionEvent).where(DecisionEvent.list_id == list_id)
                              .order_by(DecisionEvent.rank)))
        assert [r.rank for r in rows] == list(range(1, len(page) + 1))
        assert set(FEATURES) <= set(rows[0].features or {}) and "hand_score" in (rows[0].features or {})
        feedback.record_decision(s, "shortlisted", d.id, page[0].talent.id, d.modes[0])
    lists = {x.list_id: x for x in feedback.training_lists(db)}
    assert lists[list_id].label[0] == 1 and lists[list_id].label[1:].sum() == 0
    for suffix in ("csv", "xlsx"):
        path = tmp_path / f"events.{suffix}"
        n = feedback.export_events(db, path)
        df = pd.read_csv(path) if suffix == "csv" else pd.read_excel(path)
        assert len(df) == n and {"kind", "rank", "f_semantic", "f_tie_born"} <= set(df.columns)
    with pytest.raises(ValueError), db.session() as s:
        feedback.record_decision(s, "liked", d.id, page[0].talent.id, d.modes[0])


def test_the_study_scores_rankers_against_the_simulators_ground_truth(
        world: tuple[Settings, Database, Any], learned: dict[str, Any]) -> None:
    from matcher.demo.history import true_utility
    from matcher.tools.ltr_study import run

    index = {f: i for i, f in enumerate(FEATURES)}
    rows = np.zeros((4, len(FEATURES)))
    rows[:, index["semantic"]] = [0.9, 0.7, 0.9, 0.9]
    rows[2:, index["mode_tech_vp"]] = 1.0
    rows[3, index["tie_born"]] = 1.0
    u = true_utility(rows, index)
    assert u[0] > u[1] and u[3] > u[2]  # better fit, and the planted preference, raise the expectation
    cfg, db, _ = world
    out = run(cfg, db)
    assert {"hand", "learned_debiased_bounded", "learned_plain_unbounded"} <= set(out)
    assert all(0.0 < v <= 1.0 for k, v in out.items() if k != "test_lists")


def test_a_mode_is_re_ordered_only_where_the_model_wins_and_flexible_never_below_retrieval(
        world: tuple[Settings, Database, Any], learned: dict[str, Any]) -> None:
    """Per-mode adoption: the model re-orders a mode only where it beats the hand weights on that mode's
    newest lists, and the flexible mode (the one the relevance sets are ranked in) only if it is at least
    plain retrieval on the guard set; the evaluation's learned row then never falls below the hybrid."""
    from matcher.config import PROJECT_ROOT
    from matcher.tools.evaluation import relevance_guard, run_eval

    cfg, db, _ = world
    small = PROJECT_ROOT / "data" / "eval" / "small"
    out = learning.learn(cfg, db, guard=relevance_guard(cfg, [small]))
    for mode in out["modes"]:
        assert out["per_mode"][mode]["learned_ndcg10"] > out["per_mode"][mode]["hand_ndcg10"], out
    flexible = out["per_mode"]["flexible"]
    if "guard" in flexible:
        assert flexible["enabled"] == all(c["learned_ndcg10"] >= c["hybrid_ndcg10"] for c in flexible["guard"])
    assert ("flexible" in out["modes"]) == flexible["enabled"]
    if out["adopted"]:
        ranker = learning.load_current(cfg)
        assert ranker is not None and ranker.modes == tuple(out["modes"])
        res = run_eval(small, cfg, progress=False, log=lambda m: None)
        assert res["learned"]["ndcg@10"] >= res["hybrid"]["ndcg@10"], res
        if "flexible" not in ranker.modes:
            assert res["learned"] == res["full"]  # the hand ranking stands where the model does not apply
