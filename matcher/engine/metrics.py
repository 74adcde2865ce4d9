"""Ranking metrics over graded relevance labels (qrels), as in TREC: grade ≥ 1 is relevant.

A leaf: the evaluation (``engine/variants.py``, ``tools/evaluation.py``) and the learner (``engine/ltr.py``)
both measure with it, and it imports nothing of theirs."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

Qrels = Mapping[str, Mapping[str, int]]  # query id -> {doc id: grade}


def recall_at(ranking: Sequence[str], rel: Mapping[str, int], k: int) -> float:
    relevant = {d for d, g in rel.items() if g >= 1}
    if not relevant:
        return 0.0
    return len(relevant.intersection(ranking[:k])) / len(relevant)


def reciprocal_rank(ranking: Sequence[str], rel: Mapping[str, int]) -> float:
    for i, d in enumerate(ranking, start=1):
        if rel.get(d, 0) >= 1:
            return 1.0 / i
    return 0.0


def ndcg_at(ranking: Sequence[str], rel: Mapping[str, int], k: int) -> float:
    gains = [2 ** rel.get(d, 0) - 1 for d in ranking[:k]]
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains))
    ideal = sorted((2 ** g - 1 for g in rel.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def precision_at_excluding_top(ranking: Sequence[str], rel: Mapping[str, int], k: int) -> float:
    """Precision@k of grade-1 items once the top-grade items are removed from the ranking.

    For the CSL set this is "field precision with the paper itself left out": the paper is the only
    grade-2 item, papers of the same discipline are grade 1."""
    top = max(rel.values(), default=0)
    rest = [d for d in ranking if rel.get(d, 0) != top or top <= 1][:k]
    return sum(1 for d in rest if rel.get(d, 0) >= 1) / k


def evaluate(runs: Mapping[str, Sequence[str]], qrels: Qrels) -> dict[str, float]:
    """Mean metrics over the queries that have at least one relevant item."""
    rows = []
    for q, ranking in runs.items():
        rel = qrels.get(q, {})
        if not any(g >= 1 for g in rel.values()):
            continue
        rows.append((recall_at(ranking, rel, 1), recall_at(ranking, rel, 5), recall_at(ranking, rel, 10),
                     reciprocal_rank(ranking, rel), ndcg_at(ranking, rel, 10),
                     precision_at_excluding_top(ranking, rel, 10)))
    if not rows:
        return {}
    m = np.mean(np.array(rows), axis=0)
    return {"recall@1": m[0], "recall@5": m[1], "recall@10": m[2], "mrr": m[3], "ndcg@10": m[4],
            "p@10_excl_top": m[5], "queries": float(len(rows))}


# ------------------------------------------------------------------ per query, intervals, the paired test
METRICS: tuple[str, ...] = ("recall@1", "recall@5", "recall@10", "mrr", "ndcg@10", "p@10_excl_top")


def per_query(runs: Mapping[str, Sequence[str]], qrels: Qrels) -> dict[str, dict[str, float]]:
    """Each metric per query (the queries with at least one relevant item): what intervals resample."""
    out: dict[str, dict[str, float]] = {}
    for q, ranking in runs.items():
        rel = qrels.get(q, {})
        if not any(g >= 1 for g in rel.values()):
            continue
        out[q] = {"recall@1": recall_at(ranking, rel, 1), "recall@5": recall_at(ranking, rel, 5),
                  "recall@10": recall_at(ranking, rel, 10), "mrr": reciprocal_rank(ranking, rel),
                  "ndcg@10": ndcg_at(ranking, rel, 10), "p@10_excl_top": precision_at_excluding_top(ranking, rel, 10)}
    return out


def mean_ci(values: Sequence[float], resamples: int = 10_000, seed: int = 0,
            level: float = 0.95) -> tuple[float, float, float]:
    """The mean and its percentile-bootstrap interval (queries resampled with replacement). A leaf's own
    numpy (not scipy's ``bootstrap``): the same draws for the mean and for the paired difference, fixed by
    ``seed``, so a report is reproducible to the last digit."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(resamples, x.size))].mean(axis=1)
    alpha = (1 - level) / 2
    return float(x.mean()), float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))


def paired_difference(a: Sequence[float], b: Sequence[float], resamples: int = 10_000, seed: int = 0,
                      level: float = 0.95) -> dict[str, float]:
    """``a − b`` over the same queries: the mean difference, its bootstrap interval, and the two-sided p of
    the Wilcoxon signed-rank test (scipy; 1.0 when every difference is zero) — is ``a`` better than ``b``
    on these queries beyond what resampling them would move?"""
    from scipy.stats import wilcoxon

    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    mean, lo, hi = mean_ci(d, resamples, seed, level)
    p = float(wilcoxon(d).pvalue) if np.any(d != 0) else 1.0
    return {"diff": mean, "lo": lo, "hi": hi, "p": p, "wins": float(np.sum(d > 0)), "losses": float(np.sum(d < 0)),
            "queries": float(d.size)}
