"""Ranking metrics over graded relevance labels (qrels), as in TREC: grade ≥ 1 is relevant."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from matcher.engine.ranking import DemandFacts, fuse, rank

if TYPE_CHECKING:
    from matcher.engine.pool import TalentPool

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


def rank_variants(pool: TalentPool, text: str, k: int, demand: DemandFacts | None = None, n: int = 200,
                  mode: str = "flexible") -> dict[str, list[int]]:
    """Rankings of the whole pool by lexical, dense, hybrid and full scoring (``matcher eval``). The full
    ranking scores everyone with ``mode``'s features and keeps excluded talents in score order: the
    labels grade expertise, whatever the mode, so the eligibility rules (tested on their own) would
    only blur the comparison of scorings."""
    q = pool.embedder.encode_queries([text])
    _, d_ids = pool.index.search(q, k)
    l_ids, _ = pool.lexical.search(text, k)
    c = pool.candidates(text, n)
    ids, dense, lexical = c.ids, c.dense, c.lexical
    hybrid = fuse(dense.astype(np.float64), lexical.astype(np.float64), pool.cfg.dense_weight)
    order = np.lexsort((ids, -hybrid))
    out = {"lexical": l_ids.tolist()[:k], "dense": [int(i) for i in d_ids[0] if i >= 0][:k],
           "hybrid": ids[order].tolist()[:k]}
    if demand is not None:
        talents, dense, lexical = pool.known(c)
        ranked = rank(mode, demand, talents, dense, lexical, pool.cfg, include_excluded=True,
                      neighbours=pool.neighbours_of, eligible_first=False)
        out["full"] = [r.talent_id for r in ranked][:k]
        if pool.learned is not None and not pool.learned.applies(mode):
            out["learned"] = out["full"]  # the model does not re-order this mode: the hand ranking stands
        elif pool.learned is not None:  # the adopted model, on the same candidates and features
            from matcher.engine.ltr import RERANK_WINDOW, feature_vector
            from matcher.engine.ltr import matrix as ltr_matrix

            by_id = {t.id: t for t in talents}
            head = ranked[:RERANK_WINDOW]  # re-ordered as the service does; the rest keep the hand order
            vectors = [feature_vector(mode, by_id[r.talent_id], r, demand, pool.cfg.neighbours) for r in head]
            scores = pool.learned.score(ltr_matrix(vectors), np.array([r.score for r in head]))
            tids = np.array([r.talent_id for r in head])
            rest = [r.talent_id for r in ranked[len(head):]]
            out["learned"] = (tids[np.lexsort((tids, -scores))].tolist() + rest)[:k]
    return out
