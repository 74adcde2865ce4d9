"""Ranking by engagement mode: eligibility rules, features, fused scores and readable explanations.

All rules and weights live here, in ``RankingConfig`` and ``MODE_RULES``, so an official can read in
one place why a talent was proposed or left out. The ranker takes plain data (``DemandFacts``,
``TalentFacts`` and retrieval scores) and knows nothing of databases or HTTP.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

import numpy as np

from matcher.domain.vocabulary import InstitutionType, Mode, TitleLevel, label
from matcher.reference import region


@dataclass(frozen=True)
class TalentFacts:
    id: int
    external_id: str
    name: str
    text: str
    institution_type: str = "other"
    title_level: str = "other"
    sector: str = "other"
    city: str = ""
    in_province: bool = True
    province_ties: tuple[str, ...] = ()
    mode_capacity: dict[str, int] = field(default_factory=dict)
    flexible_forms: tuple[str, ...] = ()
    load: dict[str, int] = field(default_factory=dict)  # current engagements on the platform, per mode
    external_engagements: int = 0
    patents: int = 0
    projects: int = 0
    employer_enterprise_id: int | None = None
    available_from: date | None = None
    available_until: date | None = None
    same_person: tuple[int, ...] = ()  # other records that probably hold this person (open duplicate pairs)


@dataclass(frozen=True)
class DemandFacts:
    id: int
    text: str
    modes: tuple[str, ...] = ("flexible",)
    city: str = ""
    sector: str = "other"
    enterprise_id: int | None = None
    can_host_joint_post: bool = False
    declined_talent_ids: frozenset[int] = frozenset()


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


@dataclass
class Contribution:
    name: str
    label: str
    value: float
    contribution: float


@dataclass
class RankedTalent:
    talent_id: int
    score: float
    dense: float
    lexical: float
    semantic: float
    eligible: bool
    excluded_by: str | None
    contributions: list[Contribution]
    mode_fit: str
    hand_score: float | None = None  # the hand-weighted score, kept when a learned model re-scores
    ranker: str = "hand"
    vector: dict[str, float] | None = None  # the learned ranker's inputs (engine/ltr.py), when computed
    model_adjust: tuple[float, float] = (0.0, 1.0)  # how the learned ranker scaled this row's correction

    def as_dict(self) -> dict[str, Any]:
        return {
            "talent_id": self.talent_id, "score": round(self.score, 4), "eligible": self.eligible,
            "excluded_by": self.excluded_by, "mode_fit": self.mode_fit, "ranker": self.ranker,
            "features": [{"name": c.name, "label": c.label, "value": round(c.value, 4),
                          "contribution": round(c.contribution, 4)} for c in self.contributions],
        }


# ------------------------------------------------------------------ mode rules
# A rule returns the reason a talent is excluded, or None.
Rule = Callable[[DemandFacts, TalentFacts, RankingConfig], str | None]


def _free(t: TalentFacts, mode: str) -> int:
    return t.mode_capacity.get(mode, 0) - t.load.get(mode, 0)


def _academic(t: TalentFacts) -> bool:
    return t.institution_type in (InstitutionType.UNIVERSITY, InstitutionType.INSTITUTE)


def _near(t: TalentFacts, cfg: RankingConfig) -> bool:
    return t.in_province or any(t.city.startswith(r) for r in cfg.near_regions)


def _not_own_employer(d: DemandFacts, t: TalentFacts, cfg: RankingConfig) -> str | None:
    if d.enterprise_id is not None and t.employer_enterprise_id == d.enterprise_id:
        return "人才为发榜企业本单位人员（利益冲突）"
    if t.id in d.declined_talent_ids:
        return "人才已婉拒该需求"
    return None


def _available(d: DemandFacts, t: TalentFacts, cfg: RankingConfig) -> str | None:
    today = date.today()
    if t.available_from is not None and today < t.available_from:
        return f"本人{t.available_from.isoformat()}起方可服务"
    if t.available_until is not None and today > t.available_until:
        return f"本人可服务时间已于{t.available_until.isoformat()}结束"
    return None


def _tech_vp(d: DemandFacts, t: TalentFacts, cfg: RankingConfig) -> str | None:
    if not _academic(t):
        return "科技副总须来自高校或科研院所"
    if t.title_level not in (TitleLevel.SENIOR, TitleLevel.ASSOCIATE):
        return "科技副总须具有正高或副高职称"
    if t.mode_capacity.get(Mode.TECH_VP, 0) <= 0:
        return "本人未表示愿意担任科技副总"
    if _free(t, Mode.TECH_VP) <= 0:
        return "科技副总名额已满"
    if not _near(t, cfg):
        return "科技副总须在省内或周边地区，便于驻企服务"
    return None


def _dual(d: DemandFacts, t: TalentFacts, cfg: RankingConfig) -> str | None:
    if not _academic(t):
        return "双聘须为高校或科研院所科研人员"
    if not d.can_host_joint_post:
        return "发榜企业暂不具备设立双聘岗位的条件"
    if t.mode_capacity.get(Mode.DUAL_APPOINTMENT, 0) <= 0:
        return "本人未表示愿意双聘"
    if _free(t, Mode.DUAL_APPOINTMENT) <= 0:
        return "双聘名额已满"
    return None


def _flexible(d: DemandFacts, t: TalentFacts, cfg: RankingConfig) -> str | None:
    if t.mode_capacity.get(Mode.FLEXIBLE, 0) <= 0:
        return "本人未表示接受柔性引才"
    if _free(t, Mode.FLEXIBLE) <= 0:
        return "柔性服务名额已满"
    return None


MODE_RULES: dict[str, tuple[Rule, ...]] = {
    Mode.TECH_VP: (_not_own_employer, _available, _tech_vp),
    Mode.DUAL_APPOINTMENT: (_not_own_employer, _available, _dual),
    Mode.FLEXIBLE: (_not_own_employer, _available, _flexible),
}


def one_per_person(ranked: list[RankedTalent], facts: Mapping[int, TalentFacts]) -> list[RankedTalent]:
    """Drop a candidate when a record that probably holds the same person ranks above it (a list must
    never propose one person twice). Excluded rows are kept, with the reason, for ``include_excluded``."""
    out: list[RankedTalent] = []
    kept: dict[int, int] = {}  # talent id -> its position in the output
    for r in ranked:
        f = facts.get(r.talent_id)
        twin = next((o for o in (f.same_person if f else ()) if o in kept), None)
        if twin is not None and r.eligible:
            r.eligible, r.excluded_by = False, f"疑似与已推荐的人才（编号{twin}）为同一人，待审核人员核对"
        if r.eligible:
            kept[r.talent_id] = len(out)
        out.append(r)
    return out


def demand_exclusion(mode: str, demand: DemandFacts) -> str | None:
    """A reason that excludes *every* talent from this demand in this mode (the demand's own side of the
    rules), so a search can stop at once instead of widening over the whole pool to find nobody."""
    if mode == Mode.DUAL_APPOINTMENT and not demand.can_host_joint_post:
        return "发榜企业暂不具备设立双聘岗位的条件"
    return None


def exclusion(mode: str, demand: DemandFacts, talent: TalentFacts, cfg: RankingConfig | None = None) -> str | None:
    cfg = cfg or RankingConfig()
    for rule in MODE_RULES[mode]:
        reason = rule(demand, talent, cfg)
        if reason:
            return reason
    return None


def mode_fit_text(mode: str, t: TalentFacts) -> str:
    who = f"{label(t.institution_type)}·{label(t.title_level)}"
    if mode == Mode.TECH_VP:
        return f"{who}，愿任科技副总，剩余名额{_free(t, Mode.TECH_VP)}"
    if mode == Mode.DUAL_APPOINTMENT:
        return f"{who}，愿意校企双聘，剩余名额{_free(t, Mode.DUAL_APPOINTMENT)}"
    forms = "、".join(label(f) for f in t.flexible_forms) or "柔性服务"
    where = "省内" if t.in_province else "省外"
    return f"{where}{who}，可提供{forms}，剩余名额{_free(t, Mode.FLEXIBLE)}"


# -------------------------------------------------------------------- features
def features(mode: str, d: DemandFacts, t: TalentFacts, cfg: RankingConfig) -> list[Contribution]:
    out: list[Contribution] = []
    ties = sum(cfg.tie_bonus.get(k, 0.0) for k in t.province_ties)
    if ties:
        out.append(Contribution("province_ties", cfg.ties_label, len(t.province_ties), ties))
    if d.city and t.city == d.city:
        out.append(Contribution("proximity", "同城", 1.0, cfg.same_city_bonus))
    elif d.city and t.city in cfg.neighbours.get(d.city, ()):
        out.append(Contribution("proximity", "邻近城市", 0.5, cfg.neighbour_city_bonus))
    elif t.in_province:
        out.append(Contribution("proximity", "省内", 0.25, cfg.in_province_bonus))
    evidence = math.log1p(t.patents + t.projects) / math.log1p(40)
    if evidence > 0:
        out.append(Contribution("evidence", "专利与项目业绩", t.patents + t.projects,
                                cfg.evidence_weight * min(evidence, 1.0)))
    if t.title_level == TitleLevel.SENIOR:
        out.append(Contribution("title", "正高职称", 1.0, cfg.senior_title_bonus))
    if mode == Mode.TECH_VP:
        posts = t.load.get(Mode.TECH_VP, 0) + t.external_engagements
        if posts:
            out.append(Contribution("load", "已在其他单位任职", posts, -cfg.tech_vp_load_penalty * posts))
    return out


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


def rank(mode: str, demand: DemandFacts, talents: Sequence[TalentFacts], dense: np.ndarray,
         lexical: np.ndarray, cfg: RankingConfig, include_excluded: bool = False,
         use_features: bool = True, neighbours: Callable[[int], Iterable[int]] | None = None,
         eligible_first: bool = True) -> list[RankedTalent]:
    """Score candidates for one demand in one mode, best first; excluded talents only when asked (after
    the eligible ones, unless ``eligible_first`` is off: evaluation compares scores, not mode rules)."""
    if mode not in MODE_RULES:
        raise ValueError(f"unknown mode '{mode}'")
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
        gap = float(np.median(-np.diff(semantic[top]))) if len(top) > 1 else 0.0
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
        if support is not None:
            contribs.append(Contribution("cluster_support", "同方向专家群佐证", float(support[i]),
                                         g_weight * float(support[i])))
        if use_features:
            contribs += [c if f_scale == 1.0 else Contribution(c.name, c.label, c.value, c.contribution * f_scale)
                         for c in features(mode, demand, t, cfg)]
        score = sum(c.contribution for c in contribs)
        out.append(RankedTalent(t.id, score, float(dense[i]), float(lexical[i]), float(semantic[i]),
                                reason is None, reason, contribs, ""))  # mode_fit: filled by explain()
    out.sort(key=lambda r: (eligible_first and not r.eligible, -r.score, r.talent_id))
    return out


# ----------------------------------------------------------------- explanation
STOPWORDS = frozenset((
    "我们", "公司", "企业", "需要", "希望", "专家", "技术", "问题", "进行", "开展", "提出",
    "方案", "相关", "以及", "方面", "研究", "工作", "系统", "主要", "目前", "现有", "实现",
    "提高", "建立", "优化", "项目", "方式", "提供", "采用", "通过", "导致", "影响", "一个",
    "没有", "能够", "万元", "周期", "预算", "预计", "省内外", "欢迎", "揭榜", "个月", "科技",
    "副总", "双聘", "柔性", "顾问", "指导", "合作", "长期", "从事", "主持", "参与", "负责", "领域", "取得",
    "成果", "发表", "论文", "获得", "担任", "教授", "研究员", "博士",
))
_WORDLIKE = re.compile(r"^[0-9A-Za-z\u4e00-\u9fff]+$")
_SENT = re.compile(r"[^。；;！？\n]+[。；;！？]?")


@lru_cache(maxsize=256)
def _words(text: str) -> list[str]:
    """jieba words of a demand (cached: one demand is explained against many talents); punctuation → ""."""
    import jieba

    return [w if _WORDLIKE.match(w) else "" for w in jieba.cut(text)]


def matched_terms(demand_text: str, talent_text: str, limit: int = 8) -> list[str]:
    """Phrases of the demand that also occur in the talent's text, longest first.

    jieba splits technical terms (黏温特性 → 黏温 + 特性); adjacent words are merged back while the
    merged phrase still occurs in the talent's text, so a reviewer sees the term as written."""
    words = _words(demand_text)
    found: list[str] = []
    i = 0
    while i < len(words):
        phrase = words[i].strip()
        j = i + 1
        if phrase and phrase in talent_text:
            while j < len(words) and words[j].strip() and phrase + words[j] in talent_text:
                phrase += words[j]
                j += 1
        i = j
        if len(phrase) < 2 or phrase in STOPWORDS or phrase in found or phrase.isdigit() or phrase not in talent_text:
            continue
        found.append(phrase)
    found.sort(key=lambda w: (-len(w), demand_text.index(w)))
    return found[:limit]


def phrases_with(text: str, terms: Sequence[str], limit: int = 2) -> list[str]:
    """The sentences of ``text`` that contain the most matched terms (what a reviewer reads)."""
    sentences = [s.strip() for s in _SENT.findall(text) if s.strip()]
    scored = sorted(((sum(t in s for t in terms), -i, s) for i, s in enumerate(sentences)), reverse=True)
    return [s for n, _, s in scored[:limit] if n > 0]


def sentences_of(text: str, limit: int = 12, min_chars: int = 4) -> list[str]:
    """The text's sentences, in order, at most ``limit`` (what sentence alignment compares)."""
    return [x.strip() for x in _SENT.findall(text) if len(x.strip()) >= min_chars][:limit]


def explain(demand: DemandFacts, talent: TalentFacts, ranked: RankedTalent, mode: str) -> dict[str, Any]:
    ranked.mode_fit = mode_fit_text(mode, talent)
    terms = matched_terms(demand.text, talent.text)
    return {
        **ranked.as_dict(),
        "matched_terms": terms,
        "demand_phrases": phrases_with(demand.text, terms),
        "talent_phrases": phrases_with(talent.text, terms),
        "scores": {"dense": round(ranked.dense, 4), "lexical": round(ranked.lexical, 4),
                   "semantic": round(ranked.semantic, 4)},
    }
