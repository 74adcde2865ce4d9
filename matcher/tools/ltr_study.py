"""``matcher ltr-study``: the learned ranker against the demo simulator's own ground truth.

The held-out labels ``matcher learn`` reports are themselves position-biased (they come from the same
biased examination), so a model that learns the bias fits them better without ranking better. The
simulator knows what it would do with every row whatever its position — the probability of a
shortlist, an acceptance, an approval and a solved problem (``demo/history.py``) — so on the newest
20 % of lists each ranker is scored by nDCG@10 against that expected utility: hand weights, the
learned model with and without position debiasing, bounded (as served) and unbounded.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from matcher.config import Settings
from matcher.demo.history import true_utility
from matcher.engine.ltr import CORRECTION_GAPS, RESIDUAL_SCALE, LearnedRanker, feature_names, train
from matcher.services.learning.decisions import training_lists
from matcher.storage.db import Database


def _ndcg(scores: np.ndarray, gains: np.ndarray, k: int = 10) -> float:
    order = np.lexsort((np.arange(len(scores)), -np.asarray(scores)))[:k]
    dcg = sum(gains[j] / math.log2(i + 2) for i, j in enumerate(order))
    ideal = sorted(gains, reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return float(dcg / idcg) if idcg > 0 else 0.0


def run(settings: Settings, db: Database, test_share: float = 0.2) -> dict[str, Any]:
    lists = training_lists(db)
    cut = int(len(lists) * (1 - test_share))
    train_lists, test_lists = lists[:cut], lists[cut:]
    if not train_lists or not test_lists:
        raise ValueError("no decision history: run `matcher demo history` first")
    index = {f: i for i, f in enumerate(feature_names())}

    def score(scorer: Any) -> float:
        return round(float(np.mean([_ndcg(scorer(x), true_utility(x.X, index)) for x in test_lists])), 4)

    out: dict[str, Any] = {"test_lists": len(test_lists), "hand": score(lambda x: x.hand)}
    for debias in (True, False):
        booster = train(train_lists, position_debias=debias, residual_scale=RESIDUAL_SCALE)
        for gaps in (None, CORRECTION_GAPS):
            ranker = LearnedRanker(booster.model_to_string(), "study", residual_scale=RESIDUAL_SCALE,
                                   correction_gaps=gaps)
            name = f"learned_{'debiased' if debias else 'plain'}_{'bounded' if gaps else 'unbounded'}"
            out[name] = score(lambda x, r=ranker: r.score(x.X, x.hand))
    return out
