"""The approximate-index study: recall is measured against exact search, and the choice follows it."""

from __future__ import annotations

import numpy as np

from matcher.tools.ann_study import choose, corpus, extrapolate, recall_at, sentences, study


def test_recall_counts_the_overlap_with_the_exact_top_k() -> None:
    truth = np.array([[1, 2, 3, 4], [5, 6, 7, 8]])
    found = np.array([[4, 3, 9, 9], [5, 6, 7, 8]])
    assert recall_at(found, truth, 4) == (0.5 + 1.0) / 2


def test_study_on_clustered_vectors_and_the_choice() -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(40, 32))
    base = centres[rng.integers(0, 40, 6000)] + 0.3 * rng.normal(size=(6000, 32))
    base = (base / np.linalg.norm(base, axis=1, keepdims=True)).astype(np.float32)
    queries = base[:200] + 0.05 * rng.normal(size=(200, 32)).astype(np.float32)
    queries = (queries / np.linalg.norm(queries, axis=1, keepdims=True)).astype(np.float32)
    rows = study(base, queries, log=lambda _m: None, hnsw_ms=(8,), ef_constructions=(40,), ef_searches=(10, 200),
                 nlists=(64,), nprobes=(1, 64))
    by = {(r["index"], r.get("efSearch"), r.get("nprobe")): float(r["recall@10"]) for r in rows}  # type: ignore[arg-type]
    assert by[("flat", None, None)] == 1.0
    assert by[("hnsw", 200, None)] >= by[("hnsw", 10, None)]
    assert by[("ivf_flat", None, 64)] == 1.0  # every list probed: exact
    assert by[("ivf_flat", None, 1)] < 1.0
    best = choose(rows, target=0.9)
    assert best is not None and best["index"] == "hnsw" and float(best["recall@10"]) >= 0.9  # type: ignore[arg-type]
    assert choose(rows, target=1.01) is None


def test_corpus_is_distinct_real_text() -> None:
    text = "气化炉渣口堵渣。灰渣黏温特性差；短。\n需要高水平专家"
    assert sentences(text) == ["气化炉渣口堵渣。", "灰渣黏温特性差；", "需要高水平专家"]  # fragments < 6 dropped
    texts, demands = corpus(20261126, talents=50, demands=10)
    assert len(texts) == len(set(texts)) > 1000 and len(demands) == 10


def test_choice_with_a_trend_rejects_settings_that_fall_below_target_at_scale() -> None:
    assert abs(extrapolate([(1000, 0.99), (2000, 0.98), (4000, 0.97)], 8000) - 0.96) < 1e-9
    rows = [
        {"index": "hnsw", "pool": 4000, "M": 16, "efConstruction": 40, "efSearch": 32, "recall@10": 0.97,
         "ms_per_query": 0.1},
        {"index": "hnsw", "pool": 4000, "M": 16, "efConstruction": 40, "efSearch": 128, "recall@10": 0.995,
         "ms_per_query": 0.3},
    ]
    trend = [
        {"pool": 1000, "M": 16, "efConstruction": 40, "efSearch": 32, "recall@10": 0.99},
        {"pool": 2000, "M": 16, "efConstruction": 40, "efSearch": 32, "recall@10": 0.98},
        {"pool": 1000, "M": 16, "efConstruction": 40, "efSearch": 128, "recall@10": 0.997},
        {"pool": 2000, "M": 16, "efConstruction": 40, "efSearch": 128, "recall@10": 0.996},
    ]
    assert choose(rows)["efSearch"] == 32  # type: ignore[index]  # fastest on the measured pool
    best = choose(rows, trend=trend, at_pool=1_000_000)
    assert best is not None and best["efSearch"] == 128  # efSearch 32 projects to ≈ 0.89 at 1M
