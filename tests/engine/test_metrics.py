"""The evaluation's statistics: per-query metrics, bootstrap intervals, the paired test."""

from __future__ import annotations

import math

import numpy as np
import pytest

from matcher.engine.metrics import mean_ci, paired_difference, per_query


def test_per_query_skips_queries_without_a_relevant_item() -> None:
    runs = {"q1": ["a", "b", "c"], "q2": ["x", "y"]}
    qrels = {"q1": {"b": 2, "c": 1}, "q2": {"z": 0}}
    rows = per_query(runs, qrels)
    assert list(rows) == ["q1"]
    assert rows["q1"]["mrr"] == 0.5 and rows["q1"]["recall@1"] == 0.0 and rows["q1"]["recall@5"] == 1.0


def test_the_interval_holds_the_mean_narrows_with_more_queries_and_is_reproducible() -> None:
    rng = np.random.default_rng(1)
    small, large = rng.uniform(0, 1, 20), rng.uniform(0, 1, 2000)
    m, lo, hi = mean_ci(small, seed=3)
    assert lo < m < hi and m == pytest.approx(small.mean())
    _, lo2, hi2 = mean_ci(large, seed=3)
    assert hi2 - lo2 < (hi - lo) / 5
    assert mean_ci(small, seed=3) == (m, lo, hi)  # the same draws for the same seed
    assert all(math.isnan(v) for v in mean_ci([]))


def test_the_paired_difference_sees_a_consistent_gain_and_not_noise() -> None:
    rng = np.random.default_rng(2)
    base = rng.uniform(0.3, 0.9, 60)
    better = base + 0.05  # better on every query
    d = paired_difference(better, base)
    assert d["lo"] > 0 and d["p"] < 0.001 and (d["wins"], d["losses"]) == (60, 0)
    noise = base + rng.normal(0, 0.05, 60)
    n = paired_difference(noise, base)
    assert n["lo"] < 0 < n["hi"] and n["p"] > 0.01
    same = paired_difference(base, base)
    assert (same["diff"], same["p"]) == (0.0, 1.0)
