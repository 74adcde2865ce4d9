"""What one talent edit makes a request wait for, on large pools: the vector index's add + tombstone,
the neighbour search the pool's neighbour graph runs for the edited talent (k=11, ef=64), the lexical
row's replacement — and what a search costs right after an edit, and what a compaction costs.

Why synthetic data, and which: encoding a million profiles is not possible in benchmark time on two
cores, and encoding is not what an edit waits for here. Vectors are ``matcher bench``'s clustered
mixtures (``benchmark._vectors``), made from 2,000 synthetic base vectors that play the real demo
vectors' part: one per demo talent, near its topic's centre, all sharing a common direction as e5
vectors do. Texts are assembled from phrases of the demo generator's real profiles (about 210
characters each, mostly from one topic), so the lexical index sees realistic character n-grams.

``python -m matcher.tools.edit_bench --sizes 100000,1000000``
"""

from __future__ import annotations

import argparse
import gc
import json
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from matcher.demo import generator
from matcher.engine.index import VectorIndex
from matcher.engine.lexical import LexicalIndex
from matcher.tools.benchmark import REAL, _rss_mib, _vectors, demo_talent_facts

DEMO_SEED = 20261126  # the project's default demo seed (Settings.demo_seed)
PERSIST_THRESHOLD = 200_000  # TalentPool saves the index after each edit up to this many talents


def synthetic_vectors(n: int, dim: int = 384, seed: int = DEMO_SEED, noise: float = 0.005) -> np.ndarray:
    """``n`` unit vectors clustered by the demo generator's topics (see the module's docstring)."""
    rng = np.random.default_rng(seed)
    topics = [generator.talent(seed, i)[1].topic for i in range(REAL)]
    keys = sorted(set(topics))
    common = rng.normal(size=dim)
    common /= np.linalg.norm(common)
    centres = rng.normal(size=(len(keys), dim))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    spread = rng.normal(size=(REAL, dim))
    spread /= np.linalg.norm(spread, axis=1, keepdims=True)
    # cosine ≈ 0.93 within a topic and ≈ 0.7 across topics before mixing, like e5's anisotropic space
    base = 0.8 * common + 0.45 * centres[[keys.index(t) for t in topics]] + 0.25 * spread
    base = (base / np.linalg.norm(base, axis=1, keepdims=True)).astype(np.float32)
    return _vectors(base, n, noise, seed)


def synthetic_texts(n: int, seed: int = DEMO_SEED, chars: int = 200) -> list[str]:
    """``n`` profile-like texts: phrases of the demo's real profiles, two thirds from one topic."""
    facts = demo_talent_facts(seed, 0, REAL)
    by_topic: dict[str, list[str]] = {}
    every: list[str] = []
    for i, f in enumerate(facts):
        phrases = [p for p in re.split(r"[，。；、：\n]", f.text) if p]
        by_topic.setdefault(generator.talent(seed, i)[1].topic, []).extend(phrases)
        every.extend(phrases)
    pools = [np.array(v, dtype=object) for v in by_topic.values()]
    every_arr = np.array(every, dtype=object)
    mean_len = float(np.mean([len(p) for p in every]))
    per_text = max(2, round(chars / (mean_len + 1)))
    rng = np.random.default_rng(seed + n)
    out: list[str] = []
    for start in range(0, n, 50_000):
        m = min(n, start + 50_000) - start
        topic = rng.integers(0, len(pools), m)
        own = rng.random((m, per_text)) < 0.67
        anywhere = every_arr[rng.integers(0, len(every_arr), (m, per_text))]
        draws = rng.random((m, per_text))
        for r in range(m):
            pool = pools[topic[r]]
            parts = [pool[int(d * len(pool))] if o else a
                     for d, o, a in zip(draws[r], own[r], anywhere[r], strict=True)]
            out.append("，".join(parts) + "。")
    return out


def _stats(size: int, kind: str, step: str, seconds: list[float], mode: str) -> dict[str, Any]:
    a = np.array(seconds) * 1000
    return {"size": size, "kind": kind, "step": step, "n": len(a), "lexical_mode": mode,
            "p50_ms": round(float(np.percentile(a, 50)), 2), "p95_ms": round(float(np.percentile(a, 95)), 2),
            "max_ms": round(float(a.max()), 2)}


def _timed(fn: Callable[..., object], *args: Any, **kwargs: Any) -> float:
    t0 = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - t0


def run_edit_bench(sizes: list[int], edits: int = 50, kind: str = "hnsw", dim: int = 384,
                   log: Callable[[str], None] = print, hnsw_m: int = 16, ef_construction: int = 200,
                   ef_search: int = 128, seed: int = DEMO_SEED, time_save: bool = True) -> list[dict[str, Any]]:
    """Per size: build the pool's two indexes, apply ``edits`` single-talent edits as the change feed
    does (one talent per call), time each step, then compact both indexes. Returns the table's rows."""
    rows: list[dict[str, Any]] = []
    for n in sizes:
        gc.collect()
        rss0 = _rss_mib()
        log(f"--- {n:,} talents, {kind} index (M={hnsw_m}, efConstruction={ef_construction}, "
            f"efSearch={ef_search}), dim {dim} ---")
        t0 = time.perf_counter()
        vecs = synthetic_vectors(n, dim, seed)
        texts = synthetic_texts(n, seed)
        log(f"synthetic data: {time.perf_counter() - t0:.1f} s")
        ids = np.arange(1, n + 1, dtype=np.int64)
        index = VectorIndex(dim, kind, hnsw_m, ef_search, ef_construction)
        t0 = time.perf_counter()
        for start in range(0, n, 50_000):
            index.add(ids[start:start + 50_000], vecs[start:start + 50_000])
        build = time.perf_counter() - t0
        lexical = LexicalIndex()
        t0 = time.perf_counter()
        lexical.fit(ids.tolist(), texts)
        lex_fit = time.perf_counter() - t0
        mode = "rescore" if lexical.rescore_only else "inverted"
        log(f"vector index built in {build:.1f} s, lexical index ({mode}) in {lex_fit:.1f} s; "
            f"RSS +{_rss_mib() - rss0:.0f} MiB")

        rng = np.random.default_rng(seed)
        targets = rng.choice(ids, edits + 1, replace=False)
        others = rng.integers(0, n, (edits + 1, 3))
        moved = vecs[others[:, 0]] + rng.normal(0, 0.02, (edits + 1, dim)).astype(np.float32)
        moved /= np.linalg.norm(moved, axis=1, keepdims=True)
        new_texts = [texts[int(j)] + f"（修订{i}）" for i, j in enumerate(others[:, 1])]
        queries, q_texts = vecs[others[:, 2]], [texts[int(j)][:60] for j in others[:, 2]]
        before = [_timed(index.search, queries[[i]], 10) for i in range(1, edits + 1)]
        steps: dict[str, list[float]] = {k: [] for k in (
            "vector add + tombstone", "neighbours (k=11, ef=64)", "lexical upsert", "edit total (request waits)",
            "vector search after the edit (k=10)", "lexical search after the edit (k=100)")}
        for i, tid in enumerate(targets.tolist()):
            v = moved[[i]]
            t_vec = _timed(index.add, np.array([tid]), v)
            t_nb = _timed(index.search, v, 11, ef=64)
            t_lex = _timed(lexical.upsert, [tid], [new_texts[i]])
            t_search = _timed(index.search, queries[[i]], 10)
            t_lsearch = _timed(lexical.search, q_texts[i], 100)
            if i == 0:
                continue  # the first edit warms up (thread pools, first allocations); not counted
            for step, t in zip(steps, (t_vec, t_nb, t_lex, t_vec + t_nb + t_lex, t_search, t_lsearch), strict=True):
                steps[step].append(t)
        rows.append(_stats(n, kind, "vector search before any edit (k=10)", before, mode))
        rows += [_stats(n, kind, step, ts, mode) for step, ts in steps.items()]
        log(f"tombstones: vector {index.tombstone_share:.5f}, lexical {lexical.tombstone_share:.5f} of positions")
        if time_save and n <= PERSIST_THRESHOLD:
            with tempfile.TemporaryDirectory() as tmp:
                rows.append(_stats(n, kind, "index save (the pool saves after each edit ≤ 200k)",
                                   [_timed(index.save, Path(tmp), "bench", "bench")], mode))
        rows.append(_stats(n, kind, "vector index compaction (background)", [_timed(index.compact)], mode))
        rows.append(_stats(n, kind, "lexical compaction (background)", [_timed(lexical.compact)], mode))
        after = [_timed(index.search, queries[[i]], 10) for i in range(1, edits + 1)]
        rows.append(_stats(n, kind, "vector search after compaction (k=10)", after, mode))
        log(f"RSS after compaction: +{_rss_mib() - rss0:.0f} MiB")
        _print_table([r for r in rows if r["size"] == n], log)
        worst = max(r["max_ms"] for r in rows if r["size"] == n and r["step"] == "edit total (request waits)")
        log(f"target ≤ 100 ms per edit (vector, HNSW, lexical row, neighbours): "
            f"{'met' if worst <= 100 else 'NOT met'} at {n:,} (worst edit {worst:.1f} ms)")
        del index, lexical, vecs, texts
    return rows


def _print_table(rows: list[dict[str, Any]], log: Callable[[str], None]) -> None:
    log(f"{'size':>10}  {'kind':<5} {'step':<54} {'n':>3} {'p50 ms':>10} {'p95 ms':>10} {'max ms':>10}")
    for r in rows:
        log(f"{r['size']:>10,}  {r['kind']:<5} {r['step']:<54} {r['n']:>3} {r['p50_ms']:>10.2f} "
            f"{r['p95_ms']:>10.2f} {r['max_ms']:>10.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--sizes", default="100000,1000000", help="comma-separated pool sizes")
    ap.add_argument("--edits", type=int, default=50)
    ap.add_argument("--kind", default="hnsw", choices=["flat", "hnsw"])
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--m", type=int, default=16, help="HNSW M")
    ap.add_argument("--ef-construction", type=int, default=200)
    ap.add_argument("--ef-search", type=int, default=128)
    ap.add_argument("--no-save", action="store_true", help="do not time an index save")
    ap.add_argument("--json", type=Path, help="also write the rows here")
    args = ap.parse_args()
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s]
    rows = run_edit_bench(sizes, args.edits, args.kind, args.dim, hnsw_m=args.m, ef_construction=args.ef_construction,
                          ef_search=args.ef_search, time_save=not args.no_save,
                          log=lambda m: print(m, flush=True))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
