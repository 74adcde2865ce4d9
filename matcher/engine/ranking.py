"""Ranking by engagement mode: eligibility from the mode registry, features, fused scores.

The weights live here, in ``RankingConfig``; the eligibility rules and each mode's own features live in
the mode registry (``domain/modes.py``), so an official can read in two places why a talent was proposed
or left out. The ranker takes plain data (``DemandFacts``, ``TalentFacts`` and retrieval scores), knows
nothing of databases or HTTP, and returns immutable rows: a re-ranking or a duplicate check makes new
rows, never edits the ones it was given.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from matcher.domain import modes
from matcher.domain.facts import DemandFacts, TalentFacts
from matcher.domain.vocabulary import TitleLevel
from matcher.reference import region

__all__ = ["Contribution", "DemandFacts", "RankedTalent", "RankingConfig", "TalentFacts", "rank"]


@dataclass(frozen=True)
class RankingConfig:
    dense_weight: float = 0.5  # share of the dense score in the fused semantic score (rest: lexical)
    tie_bonus: dict[str, float] = field(default_factory=lambda: {"born": 0.03, "history": 0.02, "other": 0.01})
    same_city_bonus: float = 0.02
    neighbour_city_bonus: float = 0.01
    in_province_bonus: float = 0.01
    evidence_weight: float = 0.03  # patents and projects, saturating
    tech_vp_load_penalty: float = 0.04  # per post already held (platform or elsewhere)
    senior_title_bonus: float = 0.005  # small on purpose: contribution counts more than titles
    # Cluster support: a talent whose nearest colleagues (by profile vector) also score high for this
    # demand gains weight × their mean semantic score.
    graph_k: int = 10
    graph_weight: float = 1.0
    # Scaling to the pool (None: the fixed weights above). The features and the cluster support are
    # measured in units of the semantic resolution at the top of this candidate set — the median gap
    # between consecutive semantic scores among the best 20 — so they reorder near-equals and never
    # outweigh a clear semantic difference, whatever the pool's size or density. Chosen on the three
    # evaluation sets (docs/learning.md, "Never worse than retrieval"): fixed weights lifted CSL
    # (nDCG@10 0.612 → 0.639) but cost the small pool (0.953 → 0.947) and the demo (0.933 → 0.928); with
    # these the full ranking is at least the hybrid on all three. The policy features (ties, proximity,
    # evidence, title, load) only break near-ties: how much they should count is what the learned
    # ranker takes from officials' decisions (engine/ltr.py), not a hand-set guess.
    feature_gaps: float | None = 0.05  # the largest single bonus (0.03) is worth this many gaps
    graph_gaps: float | None = 2.0  # one standard deviation of cluster support is worth this many gaps
    # Cluster support by the demand's length: full weight up to ``graph_short_chars[0]`` characters, none
    # from ``graph_short_chars[1]``, linear between (None: every demand). A title or a one-line problem
    # carries little evidence of its own, so the experts around a candidate add some; a long description
    # already pins the problem, and its neighbours pull toward the general field instead (demo set:
    # any cluster support lowered nDCG@10, by 0.0003 at 0.25 gaps to 0.0016 at 2).
    graph_short_chars: tuple[int, int] | None = (60, 100)
    # The region's geography and wording (data/regions/…): adjacent cities for proximity, provinces near
    # enough for on-site service, the label of the ties feature. Defaults: the configured region.
    neighbours: dict[str, tuple[str, ...]] = field(default_factory=lambda: region().neighbours)
    near_regions: tuple[str, ...] = field(default_factory=lambda: region().near_regions)
    ties_label: str = field(default_factory=lambda: region().ties_label)


@dataclass(frozen=True)
class Contribution:
    """One part of a score: its name, the label users read, the value shown, and what it adds."""

    name: str
    label: str
    value: float
    contribution: float

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "label": self.label, "value": round(self.value, 4),
                "contribution": round(self.contribution, 4)}


@dataclass(frozen=True)
class RankedTalent:
    """One candidate scored for one demand in one mode. ``values`` are the feature values the learner
    reads (``engine/ltr.feature_vector``): derived once, here, with the hand contributions."""

    talent_id: int
    score: float
    dense: float
    lexical: float
    semantic: float
    eligible: bool
    excluded_by: str | None
    contributions: tuple[Contribution, ...]
    values: Mapping[str, float] = field(default_factory=dict)
    support: float = 0.0  # cluster support (0 when not computed)
    hand_score: float | None = None  # the hand-weighted score, kept when a learned model re-scores
    ranker: str = "hand"
    model_adjust: tuple[float, float] = (0.0, 1.0)  # how the learned ranker scaled this row's correction


# ------------------------------------------------------------------ eligibility
def exclusion(mode: str, demand: DemandFacts, talent: TalentFacts, cfg: RankingConfig | None = None) -> str | None:
    """The first reason the mode's rules give for leaving the talent out, or None."""
    ctx = cfg or RankingConfig()
    for rule in modes.rules(mode):
        reason = rule(demand, talent, ctx)
        if reason:
            return reason
    return None


def demand_exclusion(mode: str, demand: DemandFacts) -> str | None:
    """A reason that excludes *every* talent from this demand in this mode (the demand's own side of the
    rules), so a search can stop at once instead of widening over the whole pool to find nobody."""
    rule = modes.get(mode).demand_rule
    return rule(demand) if rule is not None else None


def mode_fit_text(mode: str, t: TalentFacts) -> str:
    m = modes.get(mode)
    return m.fit(t, m.free(t))


def one_per_person(ranked: list[RankedTalent], facts: Mapping[int, TalentFacts]) -> list[RankedTalent]:
    """Mark a candidate excluded when a record that probably holds the same person ranks above it (a list
    must never propose one person twice). Excluded rows are kept, with the reason, for ``include_excluded``."""
    out: list[RankedTalent] = []
    kept: set[int] = set()
    for r in ranked:
        f = facts.get(r.talent_id)
        twin = next((o for o in (f.same_person if f else ()) if o in kept), None)
        if twin is not None and r.eligible:
            r = replace(r, eligible=False, excluded_by=f"疑似与已推荐的人才（编号{twin}）为同一人，待审核人员核对")
        if r.eligible:
            kept.add(r.talent_id)
        out.append(r)
    return out


# -------------------------------------------------------------------- features
#: Patents and projects saturate: this many count as full evidence.
EVIDENCE_SATURATION = 40


def features(mode: str, d: DemandFacts, t: TalentFacts, cfg: RankingConfig
             ) -> tuple[list[Contribution], dict[str, float]]:
    """The policy features of one candidate: the hand contributions (what the explanation shows) and the
    learner's values (``engine/ltr.FEATURES``), computed in one pass so the two never disagree."""
    out: list[Contribution] = []
    ties = set(t.province_ties)
    near = cfg.neighbours.get(d.city, ()) if d.city else ()
    same_city = bool(d.city) and t.city == d.city
    evidence = min(1.0, math.log1p(t.patents + t.projects) / math.log1p(EVIDENCE_SATURATION))
    values = {
        "tie_born": float("born" in ties), "tie_history": float("history" in ties), "tie_other": float("other" in ties),
        "same_city": float(same_city), "neighbour_city": float(not same_city and t.city in near),
        "in_province": float(t.in_province), "evidence": evidence,
        "senior_title": float(t.title_level == TitleLevel.SENIOR),
        # for the learned ranker only (no hand weight): the grades of past engagements, where consented
        "graded_history": t.graded_history if t.graded_history is not None else 0.0,
        "graded_known": float(t.graded_history is not None),
    }
    tie_bonus = sum(cfg.tie_bonus.get(k, 0.0) for k in t.province_ties)
    if tie_bonus:
        out.append(Contribution("province_ties", cfg.ties_label, len(t.province_ties), tie_bonus))
    if same_city:
        out.append(Contribution("proximity", "同城", 1.0, cfg.same_city_bonus))
    elif d.city and t.city in near:
        out.append(Contribution("proximity", "邻近城市", 0.5, cfg.neighbour_city_bonus))
    elif t.in_province:
        out.append(Contribution("proximity", "省内", 0.25, cfg.in_province_bonus))
    if evidence > 0:
        out.append(Contribution("evidence", "专利与项目业绩", t.patents + t.projects, cfg.evidence_weight * evidence))
    if values["senior_title"]:
        out.append(Contribution("title", "正高职称", 1.0, cfg.senior_title_bonus))
    for f in modes.get(mode).features:  # the mode's own features (科技副总: posts already held)
        v = f.value(d, t)
        values[f.name] = v
        if v:
            out.append(Contribution(f.name, f.label, v, f.sign * float(getattr(cfg, f.weight_key)) * v))
    return out, values


def _minmax(x: np.ndarray) -> np.ndarray:
    if not len(x):
        return x
    lo, hi = float(x.min()), float(x.max())
    return (x - lo) / (hi - lo) if hi > lo else np.ones_like(x)


def fuse(dense: np.ndarray, lexical: np.ndarray, dense_weight: float) -> np.ndarray:
    """Convex combination of min–max normalised scores over the candidate set (scales differ: e5
    cosines sit in a narrow band near 0.8, TF-IDF cosines spread over 0–0.5)."""
    return dense_weight * _minmax(dense) + (1.0 - dense_weight) * _minmax(lexical)


def cluster_support(ids: Sequence[int], semantic: np.ndarray,
                    neighbours: Callable[[int], Iterable[int]], k: int) -> np.ndarray:
    """Mean semantic score of each candidate's k nearest colleagues (0 for those outside the candidates).

    Vectorised (a sorted-id lookup and one ``bincount``): the plain double loop over candidates and
    their neighbours was a quarter of a request's time."""
    n = len(ids)
    out = np.zeros(n, dtype=np.float64)
    if not n:
        return out
    ids_arr = np.asarray(ids, dtype=np.int64)
    rows = [np.asarray(neighbours(int(t)), dtype=np.int64)[:k] for t in ids_arr]
    lens = np.fromiter((len(r) for r in rows), dtype=np.int64, count=n)
    if not lens.any():
        return out
    flat = np.concatenate(rows)
    order = np.argsort(ids_arr, kind="stable")
    sorted_ids = ids_arr[order]
    pos = np.clip(np.searchsorted(sorted_ids, flat), 0, n - 1)
    vals = np.where(sorted_ids[pos] == flat, np.asarray(semantic, dtype=np.float64)[order][pos], 0.0)
    sums = np.bincount(np.repeat(np.arange(n), lens), weights=vals, minlength=n)
    has = lens > 0
    out[has] = sums[has] / lens[has]
    return out


def graph_share(text: str, cfg: RankingConfig) -> float:
    """The share (0–1) of the cluster-support weight a demand of this length gets."""
    if cfg.graph_short_chars is None:
        return 1.0
    lo, hi = cfg.graph_short_chars
    n = len(text)
    return 1.0 if n <= lo else 0.0 if n >= hi else (hi - n) / (hi - lo)


def semantic_resolution(semantic: np.ndarray, top: int = 20) -> float:
    """The median gap between consecutive scores among the best ``top``: what one step of expertise is
    worth in this list (features and learned corrections are measured in it)."""
    best = np.sort(np.asarray(semantic, dtype=np.float64))[::-1][:top]
    return float(np.median(-np.diff(best))) if len(best) > 1 else 0.0


def rank(mode: str, demand: DemandFacts, talents: Sequence[TalentFacts], dense: np.ndarray,
         lexical: np.ndarray, cfg: RankingConfig, include_excluded: bool = False,
         use_features: bool = True, neighbours: Callable[[int], Iterable[int]] | None = None,
         eligible_first: bool = True) -> list[RankedTalent]:
    """Score candidates for one demand in one mode, best first; excluded talents only when asked (after
    the eligible ones, unless ``eligible_first`` is off: evaluation compares scores, not mode rules)."""
    modes.get(mode)  # an unknown mode is a clear error
    semantic = fuse(np.asarray(dense, dtype=np.float64), np.asarray(lexical, dtype=np.float64),
                    cfg.dense_weight)
    support = None
    share = graph_share(demand.text, cfg)
    g_weight = cfg.graph_weight * share
    if neighbours is not None and cfg.graph_k > 0 and g_weight > 0:
        support = cluster_support([t.id for t in talents], semantic, neighbours, cfg.graph_k)
    f_scale = 1.0
    if (cfg.feature_gaps is not None or cfg.graph_gaps is not None) and len(semantic) > 1:
        top = np.argsort(-semantic, kind="stable")[:20]
        gap = semantic_resolution(semantic)
        # A zero gap means the semantic scores cannot tell the candidates apart at all (a tiny or
        # uniform pool): the features then decide at their plain weights.
        if cfg.feature_gaps is not None and gap > 0:
            f_scale = cfg.feature_gaps * gap / 0.03
        if cfg.graph_gaps is not None and support is not None:
            spread = float(np.std(support[top]))
            g_weight = share * cfg.graph_gaps * gap / spread if spread > 1e-9 else 0.0
    out: list[RankedTalent] = []
    for i, t in enumerate(talents):
        reason = exclusion(mode, demand, t, cfg)
        if reason and not include_excluded:
            continue
        contribs = [Contribution("semantic", "内容匹配度", float(semantic[i]), float(semantic[i]))]
        sup = float(support[i]) if support is not None else 0.0
        if support is not None:
            contribs.append(Contribution("cluster_support", "同方向专家群佐证", sup, g_weight * sup))
        values: dict[str, float] = {}
        if use_features:
            hand, values = features(mode, demand, t, cfg)
            contribs += [c if f_scale == 1.0 else replace(c, contribution=c.contribution * f_scale) for c in hand]
        score = sum(c.contribution for c in contribs)
        out.append(RankedTalent(t.id, score, float(dense[i]), float(lexical[i]), float(semantic[i]),
                                reason is None, reason, tuple(contribs), values, sup))
    out.sort(key=lambda r: (eligible_first and not r.eligible, -r.score, r.talent_id))
    return out
