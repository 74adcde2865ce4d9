"""Learning to rank from recorded decisions: the feature vector, graded labels, training and the learned
ranker used at serving time.

Why LightGBM's lambdarank: it optimises nDCG directly over each shown list, handles a few dozen
mixed features without scaling, saves to a plain-text format (no pickle), gives per-feature
contributions for explanations (``pred_contrib``), and — since 4.1 — corrects position bias itself
(unbiased LambdaMART, Hu et al. 2019: per-position bias factors learned jointly with the ranker from
each row's shown position). Monotone constraints keep more semantic evidence from ever lowering a
score, so a model trained on one pool cannot turn retrieval upside down on another.

Plain data in, plain data out: no database, no web server (services/learning/ does the I/O).
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from matcher.domain import modes
from matcher.engine.metrics import ndcg_at, reciprocal_rank
from matcher.engine.ranking import Contribution, RankedTalent, semantic_resolution

#: The ranker's inputs every mode shares, in a fixed order; then each mode's own features and one column per
#: mode (``feature_names``). A saved model records its own list and is scored with it.
BASE_FEATURES: tuple[str, ...] = (
    "semantic", "dense", "lexical", "cluster_support",
    "tie_born", "tie_history", "tie_other",
    "same_city", "neighbour_city", "in_province",
    "evidence", "senior_title",
    "graded_history", "graded_known",
)
_BASE_LABELS: dict[str, str] = {
    "semantic": "内容匹配度", "dense": "语义相似度", "lexical": "关键词重合", "cluster_support": "同方向专家群佐证",
    "tie_born": "籍贯在本省", "tie_history": "曾在本省学习工作", "tie_other": "其他本省渊源",
    "same_city": "同城", "neighbour_city": "邻近城市", "in_province": "省内",
    "evidence": "专利与项目业绩", "senior_title": "正高职称",
    "graded_history": "以往合作考核等次", "graded_known": "有以往合作考核记录",
}


def feature_names() -> tuple[str, ...]:
    """The learner's columns for the modes registered now: shared features, the modes' own, one-hot modes."""
    return BASE_FEATURES + modes.feature_names() + tuple(f"mode_{c}" for c in modes.codes())


def feature_label(name: str) -> str:
    if name in _BASE_LABELS:
        return _BASE_LABELS[name]
    if name.startswith("mode_") and modes.is_mode(name[5:]):
        return modes.get(name[5:]).label + "模式"
    own = {f.name: f.label for m in modes.all_modes() for f in m.features}
    return own.get(name, name)


#: The learned model re-orders the hand ranking's best ``RERANK_WINDOW`` eligible candidates and leaves the
#: rest in hand order: it was trained on the top-10 lists people were shown, and scoring hundreds of
#: weaker candidates would ask it to extrapolate far outside what it saw (measured: re-scoring every
#: candidate put it below plain retrieval on all three evaluation sets, CSL nDCG@10 0.561 vs 0.612).
RERANK_WINDOW = 20

#: The model learns a correction on top of the hand weights: training starts from ``RESIDUAL_SCALE`` ×
#: the hand score (LightGBM ``init_score``) and the served score is that plus the trees' output. On the
#: demo's history (874 held-out lists) nDCG@10 / MRR were 0.868 / 0.934 learning from scratch and
#: 0.877 / 0.954 with scale 5 (0.876 with 10, 0.868 with 20): the model no longer has to rediscover
#: what the hand weights already know, and where decisions say nothing it stays close to them.
RESIDUAL_SCALE = 5.0

#: The learned correction is bounded, in each list, to ± ``CORRECTION_GAPS`` × the semantic resolution
#: of that list (the median gap between consecutive hand scores among its best 20), like the hand
#: features (``RankingConfig.feature_gaps``): what officials' decisions teach may reorder near-equals,
#: never override a clear difference in expertise. Measured with the demo's model (docs/learning.md):
#: unbounded, it beat the hand weights on the held-out decisions by most (nDCG@10 0.868 vs 0.829) but
#: fell below plain retrieval on the small pool (0.932 vs 0.953) and the demo set (0.930 vs 0.933); at
#: 1 gap it still beats the hand weights (0.839) and is at least the hybrid on both (0.954, 0.933); at 2
#: the small pool fell below it again (0.951).
CORRECTION_GAPS = 1.0

#: +1: the score may only rise with it (semantic evidence must never count against a talent).
MONOTONE: dict[str, int] = {"semantic": 1, "dense": 1, "lexical": 1}

#: Graded labels from decision events, replayed in time order: a positive event raises the grade to
#: its value, a negative one (rejected, declined) sets it back to 0 — a later resubmission and approval
#: raise it again. Why these grades: shortlisting says "worth a call" (1); approval is the office's
#: judgement of fit (2); a solved problem or a paid 奖补 is the outcome the programme exists for (3);
#: "partly solved" is still an approved fit (2); "not solved" keeps only the shortlisting credit (1).
GRADES: dict[str, int] = {
    "shortlisted": 1, "contact_accepted": 1, "contact_no_answer": 1, "submitted": 1,
    "approved": 2, "confirmed": 2, "outcome_partly": 2, "outcome_not": 1, "outcome_solved": 3, "rewarded": 3,
}
NEGATIVE = frozenset({"rejected", "contact_declined"})


def feature_vector(mode: str, ranked: RankedTalent) -> dict[str, float]:
    """What the ranking knew about this candidate, as named numbers: its scores, the feature values the
    ranking derived (``ranking.features``) and the mode as a one-hot column."""
    out = {"semantic": ranked.semantic, "dense": ranked.dense, "lexical": ranked.lexical,
           "cluster_support": ranked.support, **ranked.values}
    for code in modes.codes():
        out[f"mode_{code}"] = float(code == mode)
    return out


def matrix(vectors: Sequence[Mapping[str, float]], features: Sequence[str] | None = None) -> np.ndarray:
    features = feature_names() if features is None else features
    return np.array([[float(v.get(f, 0.0)) for f in features] for v in vectors], dtype=np.float64).reshape(
        len(vectors), len(features))


def grade(kinds_in_time_order: Sequence[str]) -> int:
    g = 0
    for k in kinds_in_time_order:
        if k in NEGATIVE:
            g = 0
        elif k in GRADES:
            g = max(g, GRADES[k])
    return g


@dataclass
class ListSample:
    """One shown list: its rows' features, hand scores, shown positions (0-based) and graded labels."""

    list_id: str
    at: float
    ids: list[str]
    X: np.ndarray
    hand: np.ndarray
    position: np.ndarray
    label: np.ndarray


def list_metrics(samples: Sequence[ListSample], scores: Sequence[np.ndarray]) -> dict[str, float]:
    """Mean nDCG@10 and MRR of the orders the scores give, over lists with at least one positive label."""
    nd, rr = [], []
    for s, sc in zip(samples, scores, strict=True):
        if not (s.label > 0).any():
            continue
        order = [s.ids[i] for i in np.lexsort((np.arange(len(sc)), -np.asarray(sc)))]
        rel = {s.ids[i]: int(s.label[i]) for i in range(len(s.ids)) if s.label[i] > 0}
        nd.append(ndcg_at(order, rel, 10))
        rr.append(reciprocal_rank(order, rel))
    return {"ndcg10": float(np.mean(nd)) if nd else 0.0, "mrr": float(np.mean(rr)) if rr else 0.0, "lists": len(nd)}


#: 100 rounds of 7-leaf trees at learning rate 0.15: the explanation of a page (TreeSHAP over 10 rows) takes
#: 0.6 ms instead of 8.7 ms with 300 rounds of 15 leaves at 0.05, which made match lists through HTTP
#: three times slower; on the demo's history the held-out nDCG@10 is 0.834 vs 0.839 and against the
#: simulator's ground truth 0.9927 for both (``matcher ltr-study``).
ROUNDS, LEARNING_RATE, LEAVES = 100, 0.15, 7


def train(samples: Sequence[ListSample], features: Sequence[str] | None = None, position_debias: bool = True,
          rounds: int = ROUNDS, seed: int = 0, residual_scale: float = RESIDUAL_SCALE) -> Any:
    """A lambdarank booster on these lists (positions given to LightGBM when ``position_debias``),
    starting from ``residual_scale`` × the hand scores."""
    import lightgbm as lgb

    features = feature_names() if features is None else features
    X = np.vstack([s.X for s in samples])
    y = np.concatenate([s.label for s in samples])
    group = [len(s.ids) for s in samples]
    position = np.concatenate([s.position for s in samples]).astype(np.int32)
    init = np.concatenate([s.hand for s in samples]) * residual_scale if residual_scale else None
    data = lgb.Dataset(X, label=y, group=group, feature_name=list(features), init_score=init,
                       position=position if position_debias else None, free_raw_data=False)
    params = {
        "objective": "lambdarank", "metric": "ndcg", "eval_at": [10], "learning_rate": LEARNING_RATE,
        "num_leaves": LEAVES,
        "min_data_in_leaf": 20, "feature_fraction": 0.9, "bagging_fraction": 0.8, "bagging_freq": 1,
        "lambdarank_truncation_level": 20, "label_gain": [0, 1, 3, 7], "seed": seed, "deterministic": True,
        "num_threads": 2, "verbose": -1,
        "monotone_constraints": [MONOTONE.get(f, 0) for f in features], "monotone_constraints_method": "advanced",
    }
    return lgb.train(params, data, num_boost_round=rounds)


class LearnedRanker:
    """A trained booster at serving time: scores candidate feature rows, explains one row.

    Scores are in the hand score's units: ``hand + correction``, where the correction is the trees'
    output over ``residual_scale`` (training started from ``residual_scale`` × hand), centred on the list's
    median and bounded to ± ``correction_gaps`` × the list's semantic resolution (None: unbounded). A
    model trained from scratch (``residual_scale`` 0) is scored by its trees alone."""

    def __init__(self, model_text: str, version: str, features: Sequence[str] | None = None,
                 residual_scale: float = 0.0, correction_gaps: float | None = CORRECTION_GAPS,
                 modes: Sequence[str] | None = None) -> None:
        import lightgbm as lgb

        self.booster = lgb.Booster(model_str=model_text)
        features = feature_names() if features is None else features
        if list(self.booster.feature_name()) != list(features):
            raise ValueError(f"model features {self.booster.feature_name()} do not match {list(features)}")
        self.version = version
        self.features = tuple(features)  # its own columns: a mode registered later is simply not one of them
        self.residual_scale = residual_scale
        self.correction_gaps = correction_gaps
        # where the model re-orders (only modes it was trained with); the hand weights rank the other modes
        trained = {f[5:] for f in self.features if f.startswith("mode_")}
        self.modes = tuple(m for m in (_all_codes() if modes is None else modes) if m in trained)
        self._explained: dict[tuple[Any, ...], list[Contribution]] = {}
        self._lock = threading.Lock()

    def only(self, modes: Sequence[str]) -> LearnedRanker:
        """The same model re-ordering only ``modes`` (shares the parsed booster; a fresh explanation cache)."""
        other = copy.copy(self)
        other.modes = tuple(m for m in self.modes if m in modes)
        other._explained, other._lock = {}, threading.Lock()
        return other

    @property
    def name(self) -> str:
        return f"ltr-{self.version}"

    def applies(self, mode: str) -> bool:
        return mode in self.modes

    def raw(self, X: np.ndarray) -> np.ndarray:
        """The trees' output alone: what the model learned, before centring and bounding."""
        return np.asarray(self.booster.predict(X, num_threads=1), dtype=np.float64) if len(X) else np.zeros(0)

    def rerank(self, mode: str, ranked: list[RankedTalent], window: int = RERANK_WINDOW,
               eligible_only: bool = True) -> list[RankedTalent]:
        """The one re-ranking step (the service and the evaluation both call it): the best ``window``
        candidates re-ordered by the model's bounded correction, the rest after them in hand order. The
        service re-orders eligible candidates and keeps the excluded last; the evaluation, which compares
        scorings regardless of the mode's rules, passes ``eligible_only=False``. Returns new rows."""
        candidates = [r for r in ranked if r.eligible] if eligible_only else list(ranked)
        head, tail = candidates[:window], candidates[window:]
        scores, adjust = self.rescore(matrix([feature_vector(mode, r) for r in head], self.features),
                                      np.array([r.score for r in head]))
        moved = [replace(r, hand_score=r.score, score=float(sc), ranker=self.name, model_adjust=a)
                 for r, sc, a in zip(head, scores, adjust, strict=True)]
        moved.sort(key=lambda r: (-r.score, r.talent_id))
        return moved + tail + ([r for r in ranked if not r.eligible] if eligible_only else [])

    def explained(self, mode: str, rows: Sequence[RankedTalent]) -> list[RankedTalent]:
        """Rows this model re-scored, with their contributions under the model (one call for a page)."""
        mine = [i for i, r in enumerate(rows) if r.ranker == self.name]
        out = list(rows)
        contribs = self.contributions_many([feature_vector(mode, rows[i]) for i in mine],
                                           [rows[i].hand_score or 0.0 for i in mine],
                                           [rows[i].model_adjust for i in mine])
        for i, c in zip(mine, contribs, strict=True):
            out[i] = replace(rows[i], contributions=tuple(c))
        return out

    def score(self, X: np.ndarray, hand: np.ndarray) -> np.ndarray:
        """Scores of one list's feature rows ``X`` whose hand-weighted scores are ``hand``."""
        return self.rescore(X, hand)[0]

    def rescore(self, X: np.ndarray, hand: np.ndarray) -> tuple[np.ndarray, list[tuple[float, float]]]:
        """Scores of one list, and per row the (offset, factor) that turn its trees' output into its
        correction — what ``contributions_many`` needs to make a row's explanation add up to its score."""
        if not len(X):
            return np.zeros(0), []
        trees = self.raw(X)
        hand = np.asarray(hand, dtype=np.float64)
        if not self.residual_scale:
            return trees, [(0.0, 1.0)] * len(trees)
        offset = float(np.median(trees)) if self.correction_gaps is not None else 0.0
        raw = (trees - offset) / self.residual_scale
        if self.correction_gaps is None:
            return hand + raw, [(0.0, 1.0)] * len(trees)
        bound = self.correction_gaps * semantic_resolution(hand)
        corr = np.clip(raw, -bound, bound)
        factor = np.divide(corr, raw, out=np.zeros_like(raw), where=np.abs(raw) > 1e-12)
        return hand + corr, [(offset, float(f)) for f in factor]

    def contributions(self, x: Mapping[str, float], hand: float,
                      adjust: tuple[float, float] = (0.0, 1.0)) -> list[Contribution]:
        """The hand score and each feature's share of the correction under the model (SHAP values from
        ``pred_contrib``, scaled as the correction was); with the model's base value, listed last, they
        add up to the score."""
        return self.contributions_many([x], [hand], [adjust])[0]

    def contributions_many(self, xs: Sequence[Mapping[str, float]], hands: Sequence[float],
                           adjust: Sequence[tuple[float, float]] | None = None) -> list[list[Contribution]]:
        """``contributions`` for several rows in one call into LightGBM (each call has a fixed cost of
        about a millisecond: one per row of a page would double a request's time)."""
        if not xs:
            return []
        adjust = list(adjust) if adjust is not None else [(0.0, 1.0)] * len(xs)
        keys = [(tuple(round(float(x.get(f, 0.0)), 6) for f in self.features), round(float(h), 6),
                 round(a[0], 6), round(a[1], 6)) for x, h, a in zip(xs, hands, adjust, strict=True)]
        with self._lock:
            known = {k: self._explained[k] for k in keys if k in self._explained}
        todo = [i for i, k in enumerate(keys) if k not in known]
        if todo:
            # TreeSHAP is the costly part (≈ 0.9 ms a row for 300 trees): rows seen before (a list viewed
            # again, the next page) come from a small cache.
            fresh = self._explain([xs[i] for i in todo], [hands[i] for i in todo], [adjust[i] for i in todo])
            with self._lock:
                for i, rows_i in zip(todo, fresh, strict=True):
                    known[keys[i]] = self._explained[keys[i]] = rows_i
                while len(self._explained) > 4096:
                    self._explained.pop(next(iter(self._explained)))
        return [list(known[k]) for k in keys]

    def _explain(self, xs: Sequence[Mapping[str, float]], hands: Sequence[float],
                 adjust: Sequence[tuple[float, float]]) -> list[list[Contribution]]:
        contribs = np.asarray(self.booster.predict(matrix(xs, self.features), pred_contrib=True, num_threads=1))
        rows = []
        for x, hand, (offset, factor), contrib in zip(xs, hands, adjust, contribs, strict=True):
            scale = factor / self.residual_scale if self.residual_scale else 1.0
            out = [Contribution(f, feature_label(f), float(x.get(f, 0.0)), float(c) * scale)
                   for f, c in zip(self.features, contrib[:-1], strict=True) if abs(c * scale) >= 1e-5]
            out.sort(key=lambda c: -abs(c.contribution))
            if self.residual_scale:
                out.insert(0, Contribution("hand", "手工权重得分", float(hand), float(hand)))
            out.append(Contribution("base", "模型基准分", 1.0, (float(contrib[-1]) - offset) * scale))
            rows.append(out)
        return rows


def mode_of(sample: ListSample, features: Sequence[str] | None = None) -> str:
    """The engagement mode a shown list was ranked in (its rows' one-hot mode columns)."""
    names = list(feature_names() if features is None else features)
    row = sample.X[0]
    return next((n[5:] for i, n in enumerate(names) if n.startswith("mode_") and row[i] > 0), modes.DEFAULT)


def _all_codes() -> tuple[str, ...]:
    return modes.codes()
