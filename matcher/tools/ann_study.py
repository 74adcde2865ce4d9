"""``matcher bench ann``: choose the approximate index on distinct *real* encodings.

Why: HNSW recall measured on synthetic mixtures of 2,000 vectors is dominated by near-ties that no
index can order. Here the pool is every distinct sentence the project holds — the demo's profiles and
demands split into sentences, the CSL abstracts' sentences, titles and keywords, the reference data's
names — encoded with the served model (vectors cached on disk, so a second run costs seconds).
Queries are held-out sentences (not in the pool) and full demand texts encoded as queries. Every
index is compared with exact search (``IndexFlatIP``): recall@10 = |ANN top-10 ∩ exact top-10| / 10.
"""

from __future__ import annotations

import csv
import json
import re
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import faiss
import numpy as np

from matcher.config import PROJECT_ROOT, Settings
from matcher.demo import generator
from matcher.engine.embedding import load_embedder
from matcher.tools.benchmark import demo_talent_facts

_SPLIT = re.compile(r"(?<=[。；！？;!?\n])")


def sentences(text: str, min_chars: int = 6) -> list[str]:
    return [s.strip(" \n，,") for s in _SPLIT.split(text) if len(s.strip(" \n，,")) >= min_chars]


def _csv_column(path: Path, *columns: str) -> Iterable[str]:
    if not path.exists():
        return []
    with open(path, encoding="utf-8") as fh:
        return [row[c] for row in csv.DictReader(fh) for c in columns if row.get(c)]


def corpus(seed: int, talents: int = 2000, demands: int = 300) -> tuple[list[str], list[str]]:
    """(passages, demand texts): distinct real sentences of every source, in a fixed order."""
    texts: list[str] = []
    for f in demo_talent_facts(seed, 0, talents):
        texts += sentences(f.text)
    rows, _ = generator.demands(seed, demands, generator.enterprises(seed))
    demand_texts = [r["title"] + "\n" + r["description"] for r in rows]
    for d in demand_texts:
        texts += sentences(d)
    for name in ("csl", "demo"):
        base = PROJECT_ROOT / "data" / "eval" / name
        for t in _csv_column(base / "talents.csv", "profile", "research_fields", "achievements"):
            texts += sentences(t) + [x.strip() for x in re.split(r"[、，,;；]", t) if 6 <= len(x.strip()) < 40]
        texts += list(_csv_column(base / "demands.csv", "title"))
    ref = PROJECT_ROOT / "data" / "reference"
    texts += list(_csv_column(ref / "disciplines_nsfc.csv", "name"))
    texts += list(_csv_column(ref / "industry_gbt4754_2017.csv", "name"))
    seen: set[str] = set()
    out = []
    for t in texts:
        if len(t) >= 4 and t not in seen:
            seen.add(t)
            out.append(t)
    return out, demand_texts


def recall_at(found: np.ndarray, truth: np.ndarray, k: int = 10) -> float:
    return float(np.mean([len(set(f[:k]) & set(t[:k])) / k for f, t in zip(found, truth, strict=True)]))


def _timed_search(index: faiss.Index, q: np.ndarray, k: int) -> tuple[np.ndarray, float]:
    t0 = time.perf_counter()
    ids = np.empty((len(q), k), dtype=np.int64)
    for i in range(len(q)):  # one query at a time, as the service searches
        ids[i] = index.search(q[i:i + 1], k)[1][0]
    return ids, (time.perf_counter() - t0) / len(q) * 1000


def study(base: np.ndarray, queries: np.ndarray, k: int = 10, log: Callable[[str], None] = print,
          hnsw_ms: Iterable[int] = (16, 32, 48), ef_constructions: Iterable[int] = (40, 200),
          ef_searches: Iterable[int] = (16, 32, 64, 128, 256, 512),
          nlists: Iterable[int] = (256, 1024), nprobes: Iterable[int] = (4, 8, 16, 32, 64)) -> list[dict[str, object]]:
    dim = base.shape[1]
    exact = faiss.IndexFlatIP(dim)
    exact.add(base)
    truth, exact_ms = _timed_search(exact, queries, k)
    rows: list[dict[str, object]] = [{"index": "flat", "recall@10": 1.0, "ms_per_query": round(exact_ms, 3)}]
    log(f"exact: {exact_ms:.2f} ms/query over {len(base):,} vectors")
    for m in hnsw_ms:
        for efc in ef_constructions:
            index = faiss.IndexHNSWFlat(dim, m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = efc
            t0 = time.perf_counter()
            index.add(base)
            build = time.perf_counter() - t0
            for ef in ef_searches:
                index.hnsw.efSearch = max(ef, k)
                found, ms = _timed_search(index, queries, k)
                r = recall_at(found, truth, k)
                rows.append({"index": "hnsw", "pool": len(base), "M": m, "efConstruction": efc, "efSearch": ef,
                             "recall@10": round(r, 4), "ms_per_query": round(ms, 3), "build_s": round(build, 1)})
                log(f"hnsw M={m} efC={efc} efS={ef}: recall@10 {r:.4f}, {ms:.2f} ms/query, build {build:.1f} s")
    for nlist in nlists:
        if nlist * 39 > len(base):
            continue  # faiss wants ≥ 39 training points per list
        quantizer = faiss.IndexFlatIP(dim)
        ivf = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        t0 = time.perf_counter()
        ivf.train(base)
        ivf.add(base)
        build = time.perf_counter() - t0
        for nprobe in nprobes:
            ivf.nprobe = nprobe
            found, ms = _timed_search(ivf, queries, k)
            r = recall_at(found, truth, k)
            rows.append({"index": "ivf_flat", "nlist": nlist, "nprobe": nprobe, "recall@10": round(r, 4),
                         "ms_per_query": round(ms, 3), "build_s": round(build, 1)})
            log(f"ivf-flat nlist={nlist} nprobe={nprobe}: recall@10 {r:.4f}, {ms:.2f} ms/query, build {build:.1f} s")
        # IVF with 8-bit scalar codes, exact re-ranking of 4k candidates by the float vectors
        ivf_sq = faiss.IndexIVFScalarQuantizer(faiss.IndexFlatIP(dim), dim, nlist, faiss.ScalarQuantizer.QT_8bit,
                                               faiss.METRIC_INNER_PRODUCT)
        refine = faiss.IndexRefineFlat(ivf_sq)
        t0 = time.perf_counter()
        refine.train(base)
        refine.add(base)
        build = time.perf_counter() - t0
        for nprobe in nprobes:
            faiss.extract_index_ivf(ivf_sq).nprobe = nprobe
            refine.k_factor = 4
            found, ms = _timed_search(refine, queries, k)
            r = recall_at(found, truth, k)
            rows.append({"index": "ivf_sq8_refine", "nlist": nlist, "nprobe": nprobe, "k_factor": 4,
                         "recall@10": round(r, 4), "ms_per_query": round(ms, 3), "build_s": round(build, 1)})
            log(f"ivf-sq8+refine nlist={nlist} nprobe={nprobe}: recall@10 {r:.4f}, {ms:.2f} ms/query")
    return rows


def hnsw_trend(base: np.ndarray, queries: np.ndarray, fractions: Iterable[float] = (0.25, 0.5),
               k: int = 10, log: Callable[[str], None] = print, hnsw_ms: Iterable[int] = (16, 32, 48),
               ef_constructions: Iterable[int] = (40, 200), ef_searches: Iterable[int] = (16, 32, 64, 128, 256, 512)
               ) -> list[dict[str, object]]:
    """HNSW recall on nested random sub-pools (a fixed shuffle, then its first ``fraction``): how recall
    falls as the pool grows, measured rather than assumed. Random, because the pool is ordered by source
    and a prefix would change the mix of texts along with the size."""
    rows: list[dict[str, object]] = []
    shuffled = base[np.random.default_rng(0).permutation(len(base))]
    for frac in fractions:
        sub = shuffled[: int(len(base) * frac)]
        exact = faiss.IndexFlatIP(sub.shape[1])
        exact.add(sub)
        truth = exact.search(queries, k)[1]
        for m in hnsw_ms:
            for efc in ef_constructions:
                index = faiss.IndexHNSWFlat(sub.shape[1], m, faiss.METRIC_INNER_PRODUCT)
                index.hnsw.efConstruction = efc
                index.add(sub)
                for ef in ef_searches:
                    index.hnsw.efSearch = max(ef, k)
                    r = recall_at(index.search(queries, k)[1], truth, k)
                    rows.append({"index": "hnsw", "pool": len(sub), "M": m, "efConstruction": efc, "efSearch": ef,
                                 "recall@10": round(r, 4)})
        log(f"trend: sub-pool of {len(sub):,} vectors measured")
    return rows


def extrapolate(points: list[tuple[int, float]], to_pool: int) -> float:
    """Recall at ``to_pool`` from a least-squares line of recall against log2(pool size) through the
    measured sub-pools: the usual shape of graph-index recall loss, and a pessimistic one when the loss
    flattens with size. Never above the recall measured on the largest pool (a rising line is noise)."""
    if len(points) < 2:
        return points[0][1] if points else 0.0
    x = np.log2([p for p, _ in points])
    y = np.array([r for _, r in points])
    slope, icpt = np.polyfit(x, y, 1)
    largest = max(points)[1]
    return float(min(largest, icpt + slope * np.log2(to_pool)))


def choose(rows: list[dict[str, object]], target: float = 0.95, trend: list[dict[str, object]] | None = None,
           at_pool: int = 1_000_000, margin: float = 0.03) -> dict[str, object] | None:
    """The fastest HNSW setting whose recall@10 reaches ``target`` on the full real pool and, when a
    trend is given, on every measured sub-pool and — with ``margin`` to spare — at ``at_pool`` vectors
    by extrapolation. The margin covers the noise between sub-pools (recall moves by up to ±0.02
    between sizes here) and an extrapolation forty times beyond what was measured."""
    best = None
    for r in rows:
        if r["index"] != "hnsw" or float(r["recall@10"]) < target:  # type: ignore[arg-type]
            continue
        key = (r["M"], r["efConstruction"], r["efSearch"])
        if trend is not None:
            pts = [(int(t["pool"]), float(t["recall@10"])) for t in trend  # type: ignore[call-overload, arg-type]
                   if (t["M"], t["efConstruction"], t["efSearch"]) == key]
            pts.append((int(r.get("pool", 0)), float(r["recall@10"])))  # type: ignore[call-overload, arg-type]
            projected = extrapolate(pts, at_pool)
            if min(x for _, x in pts) < target or projected < target + margin:
                continue
            r = {**r, f"projected_recall@10_at_{at_pool}": round(projected, 4)}
        if best is None or float(r["ms_per_query"]) < float(best["ms_per_query"]):  # type: ignore[arg-type]
            best = r
    return best


def run_study(settings: Settings, n_queries: int = 1000, log: Callable[[str], None] = print,
              out: Path | None = None, grid: dict[str, Iterable[int]] | None = None) -> dict[str, object]:
    texts, demand_texts = corpus(settings.demo_seed)
    rng = np.random.default_rng(settings.demo_seed)
    held = set(rng.choice(len(texts), size=min(n_queries, len(texts) // 10), replace=False).tolist())
    pool_texts = [t for i, t in enumerate(texts) if i not in held]
    query_texts = [t for i, t in enumerate(texts) if i in held] + demand_texts
    embedder = load_embedder(settings.embedding_model, settings.model_cache_dir, settings.embedding_cache_dir,
                             settings.embedding_batch_size, settings.embedding_backend)
    log(f"{len(pool_texts):,} distinct real texts in the pool, {len(query_texts):,} queries "
        f"({len(held):,} held-out sentences + {len(demand_texts)} demands); encoding with {embedder.model_id}")
    t0 = time.perf_counter()
    base = embedder.encode_passages(pool_texts, progress=True)
    queries = embedder.encode_queries(query_texts)
    log(f"encoded in {time.perf_counter() - t0:.0f} s")
    rows = study(base, queries, log=log, **(grid or {}))  # type: ignore[arg-type]
    trend = hnsw_trend(base, queries, log=log)
    best = choose(rows, trend=trend)
    result: dict[str, object] = {"pool": len(pool_texts), "queries": len(query_texts), "model": embedder.model_id,
                                 "rows": rows, "trend": trend, "chosen": best}
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, ensure_ascii=False, indent=1))
    return result
