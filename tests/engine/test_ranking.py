"""Mode rules, features and explanations (plain data, no model needed)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.domain.facts import DemandFacts, TalentFacts
from matcher.engine.explain import explain, matched_terms
from matcher.engine.ranking import RankingConfig, cluster_support, exclusion, rank

DEMAND = DemandFacts(id=1, text="气化炉渣口堵渣频繁，希望改善灰渣黏温特性。", city="长治", enterprise_id=7,
                     can_host_joint_post=True)


def talent(**kw) -> TalentFacts:  # type: ignore[no-untyped-def]
    base = {"id": 1, "external_id": "T1", "name": "甲", "text": "长期从事煤气化研究，擅长灰渣黏温特性与排渣控制。",
            "institution_type": "university", "title_level": "senior", "city": "太原", "in_province": True,
            "mode_capacity": {"tech_vp": 1, "dual_appointment": 1, "flexible": 2}}
    base.update(kw)
    return TalentFacts(**base)


def test_tech_vp_rules() -> None:
    assert exclusion("tech_vp", DEMAND, talent()) is None
    assert "高校或科研院所" in (exclusion("tech_vp", DEMAND, talent(institution_type="enterprise")) or "")
    assert "职称" in (exclusion("tech_vp", DEMAND, talent(title_level="intermediate")) or "")
    assert "名额已满" in (exclusion("tech_vp", DEMAND, talent(load={"tech_vp": 1})) or "")
    assert "未表示" in (exclusion("tech_vp", DEMAND, talent(mode_capacity={"flexible": 1})) or "")
    far = talent(in_province=False, city="浙江杭州")
    near = talent(in_province=False, city="北京")
    assert "省内或周边" in (exclusion("tech_vp", DEMAND, far) or "")
    assert exclusion("tech_vp", DEMAND, near) is None
    assert exclusion("flexible", DEMAND, far) is None  # flexible hires include experts far away


def test_dual_appointment_needs_a_host_and_conflicts_exclude() -> None:
    no_host = DemandFacts(id=2, text="x", can_host_joint_post=False)
    assert "双聘岗位" in (exclusion("dual_appointment", no_host, talent()) or "")
    assert exclusion("dual_appointment", DEMAND, talent()) is None
    own = talent(employer_enterprise_id=7, institution_type="enterprise")
    assert "利益冲突" in (exclusion("flexible", DEMAND, own) or "")
    declined = DemandFacts(id=3, text="x", declined_talent_ids=frozenset({1}))
    assert "婉拒" in (exclusion("flexible", declined, talent()) or "")


def test_rank_orders_by_score_applies_features_and_explains() -> None:
    a = talent(id=1, province_ties=("born",), city="长治", patents=10, projects=5)
    b = talent(id=2, text="从事工业视觉检测。", city="大同")
    c = talent(id=3, institution_type="enterprise")  # not eligible for tech_vp
    ranked = rank("tech_vp", DEMAND, [a, b, c], np.array([0.85, 0.80, 0.9]), np.array([0.4, 0.05, 0.5]),
                  RankingConfig())
    assert [r.talent_id for r in ranked] == [1, 2]
    names = {f.name for f in ranked[0].contributions}
    assert {"semantic", "province_ties", "proximity", "evidence", "title"} <= names
    assert abs(ranked[0].score - sum(f.contribution for f in ranked[0].contributions)) < 1e-9
    with_excluded = rank("tech_vp", DEMAND, [a, b, c], np.array([0.85, 0.80, 0.9]),
                         np.array([0.4, 0.05, 0.5]), RankingConfig(), include_excluded=True)
    assert with_excluded[-1].talent_id == 3 and not with_excluded[-1].eligible
    assert with_excluded[-1].excluded_by
    exp = explain(DEMAND, a, ranked[0], "tech_vp")
    assert "灰渣黏温特性" in exp.matched_terms and exp.talent_phrases and exp.demand_phrases
    assert exp.mode_fit.startswith("高校·正高")


def test_load_lowers_tech_vp_rank() -> None:
    busy = talent(id=1, external_engagements=2)
    free = talent(id=2)
    ranked = rank("tech_vp", DEMAND, [busy, free], np.array([0.8, 0.8]), np.array([0.3, 0.3]), RankingConfig())
    assert [r.talent_id for r in ranked] == [2, 1]
    flex = rank("flexible", DEMAND, [busy, free], np.array([0.8, 0.8]), np.array([0.3, 0.3]), RankingConfig())
    assert flex[0].score == flex[1].score  # load only matters for 科技副总


def test_cluster_support_and_matched_terms() -> None:
    support = cluster_support([1, 2, 3], np.array([1.0, 0.5, 0.0]), lambda t: {1: [2, 3], 2: [1], 3: [99]}[t], 10)
    assert support.tolist() == [0.25, 1.0, 0.0]
    terms = matched_terms("焦炉煤气精脱硫，希望专家提出方案", "研究焦炉煤气净化与精脱硫")
    assert terms == ["焦炉煤气", "精脱硫"]
    assert "专家" not in terms and "方案" not in terms  # stop words of demand texts are not "matches"


@given(st.lists(st.integers(1, 40), unique=True, max_size=25), st.data())
@settings(max_examples=200, deadline=None)
def test_cluster_support_equals_the_plain_mean_over_neighbours(ids: list[int], data: st.DataObject) -> None:
    """The vectorised support is exactly the mean, over each candidate's first k neighbours, of their
    semantic score (0 for neighbours outside the candidate set)."""
    semantic = np.array(data.draw(st.lists(st.floats(0, 1), min_size=len(ids), max_size=len(ids))))
    graph = {t: data.draw(st.lists(st.integers(1, 60), max_size=8)) for t in ids}
    k = data.draw(st.integers(1, 6))
    got = cluster_support(ids, semantic, lambda t: graph[t], k)
    score = dict(zip(ids, semantic.tolist(), strict=True))
    want = [sum(score.get(j, 0.0) for j in graph[t][:k]) / len(graph[t][:k]) if graph[t] else 0.0 for t in ids]
    assert np.allclose(got, want)


def test_availability_dates_are_a_rule_of_every_mode() -> None:
    from datetime import date, timedelta

    today = date.today()
    later = talent(available_from=today + timedelta(days=30))
    ended = talent(available_until=today - timedelta(days=1))
    now = talent(available_from=today - timedelta(days=1), available_until=today + timedelta(days=1))
    for mode in ("tech_vp", "dual_appointment", "flexible"):
        assert "起方可服务" in (exclusion(mode, DEMAND, later) or "")
        assert "已于" in (exclusion(mode, DEMAND, ended) or "")
        assert exclusion(mode, DEMAND, now) is None


def test_a_list_never_shows_two_records_of_one_person() -> None:
    from matcher.engine.ranking import one_per_person

    a = talent(id=1, same_person=(3,))
    b = talent(id=2, external_id="T2")
    c = talent(id=3, external_id="T3", same_person=(1,))
    ranked = rank("flexible", DEMAND, [a, b, c], np.array([0.9, 0.5, 0.89]), np.array([0.4, 0.1, 0.4]),
                  RankingConfig())
    assert [r.talent_id for r in ranked][:1] == [1]
    out = one_per_person(ranked, {t.id: t for t in (a, b, c)})
    kept = [r.talent_id for r in out if r.eligible]
    assert kept == [1, 2] and "同一人" in (next(r for r in out if r.talent_id == 3).excluded_by or "")
    # Without the pair, both are kept.
    plain = one_per_person(rank("flexible", DEMAND, [talent(id=1), b, talent(id=3, external_id="T3")],
                                np.array([0.9, 0.5, 0.89]), np.array([0.4, 0.1, 0.4]), RankingConfig()),
                           {1: talent(id=1), 2: b, 3: talent(id=3, external_id="T3")})
    assert sorted(r.talent_id for r in plain if r.eligible) == [1, 2, 3]


def test_pool_scaled_features_only_reorder_near_equals() -> None:
    """With the default (gap-scaled) weights a 晋籍 talent overtakes one of nearly equal semantic score,
    never one that is clearly better; with equal scores the features decide at their plain weights."""
    cfg = RankingConfig()
    plain, born = talent(id=1, province_ties=()), talent(id=2, external_id="T2", province_ties=("born",))
    others = [talent(id=10 + i, external_id=f"O{i}", province_ties=()) for i in range(20)]
    dense = np.concatenate([[0.90, 0.8999], np.linspace(0.85, 0.70, 20)])
    ranked = rank("flexible", DEMAND, [plain, born, *others], dense, dense * 0.3, cfg)
    assert [r.talent_id for r in ranked][:2] == [2, 1]  # a near-tie: the tie decides
    dense_far = np.concatenate([[0.90, 0.86], np.linspace(0.85, 0.70, 20)])
    ranked = rank("flexible", DEMAND, [plain, born, *others], dense_far, dense_far * 0.3, cfg)
    assert [r.talent_id for r in ranked][:2] == [1, 2]  # a clear semantic lead stands
    equal = rank("flexible", DEMAND, [plain, born], np.array([0.8, 0.8]), np.array([0.3, 0.3]), cfg)
    assert equal[0].talent_id == 2
