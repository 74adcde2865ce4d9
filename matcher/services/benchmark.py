"""``matcher bench``: encoding rate, index build time, ranking latency percentiles and memory.

Large pools (100k, 1M) cannot be encoded on a 2-core machine in benchmark time (≈25 profiles/s), so
their vectors are synthetic but realistic: each is a real demo profile's e5 vector plus small Gaussian
noise (σ chosen so neighbours stay in their topic), re-normalised. Texts are the generator's real
profiles, so the lexical side is real. Query encoding is real and included in every latency.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable

import numpy as np

from matcher.config import Settings
from matcher.demo import generator
from matcher.engine.embedding import load_embedder
from matcher.engine.index import VectorIndex
from matcher.engine.pool import TalentPool
from matcher.engine.ranking import DemandFacts, RankingConfig, TalentFacts

REAL = 2000


def _rss_mib() -> float:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _facts(seed: int, start: int, stop: int) -> list[TalentFacts]:
    out = []
    for i in range(start, stop):
        row, _ = generator.talent(seed, i)
        text = row["profile"] + "\n研究领域：" + "、".join(row["research_fields"]) + "\n" + row["achievements"]
        out.append(TalentFacts(id=i + 1, external_id=row["external_id"], name=row["name"], text=text,
                               institution_type=row["institution_type"], title_level=row["title_level"],
                               sector=row["sector"], city=row["city"], in_province=row["in_province"],
                               province_ties=tuple(row["province_ties"]), mode_capacity=row["mode_capacity"],
                               flexible_forms=tuple(row["flexible_forms"]), patents=row["patents"],
                               projects=row["projects"], external_engagements=row["external_engagements"]))
    return out


def _vectors(real: np.ndarray, n: int, noise: float) -> np.ndarray:
    """The first len(real) rows are the real vectors; row i beyond is real[i mod R] plus noise."""
    r = len(real)
    out = np.empty((n, real.shape[1]), dtype=np.float32)
    out[:min(n, r)] = real[:min(n, r)]
    rng = np.random.default_rng(n)
    for start in range(r, n, 100_000):
        stop = min(n, start + 100_000)
        block = real[np.arange(start, stop) % r] + rng.normal(0, noise, (stop - start, real.shape[1]))
        out[start:stop] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def _pct(xs: list[float]) -> str:
    a = np.array(xs) * 1000
    return f"p50 {np.percentile(a, 50):.1f} ms, p95 {np.percentile(a, 95):.1f} ms, p99 {np.percentile(a, 99):.1f} ms"


def run_benchmark(settings: Settings, sizes: list[int], hnsw_sizes: list[int], n_queries: int,
                  log: Callable[[str], None] = print, noise: float = 0.01) -> None:
    seed = settings.demo_seed
    t0 = time.perf_counter()
    embedder = load_embedder(settings.embedding_model, settings.model_cache_dir, settings.embedding_cache_dir)
    log(f"model {embedder.model_id} loaded in {time.perf_counter() - t0:.1f} s")
    base_facts = _facts(seed, 0, REAL)
    sample = [f.text + f" #{i}" for i, f in enumerate(base_facts[:128])]  # uncached texts
    t0 = time.perf_counter()
    embedder.inner.encode_passages(sample)
    rate = len(sample) / (time.perf_counter() - t0)
    avg_len = sum(len(t) for t in sample) / len(sample)
    demands, _ = generator.demands(seed, max(n_queries, 300), generator.enterprises(seed))
    titles = [d["title"] + f" {i}" for i, d in enumerate(demands[:128])]
    t0 = time.perf_counter()
    embedder.inner.encode_queries(titles)
    qrate = len(titles) / (time.perf_counter() - t0)
    log(f"encoding: {rate:.1f} profiles/s (avg {avg_len:.0f} chars), {qrate:.1f} short queries/s "
        f"(avg {sum(map(len, titles)) / len(titles):.0f} chars)")
    log(f"encoding {REAL} real profiles for the base vectors (cached after the first run) …")
    real_vecs = embedder.encode_passages([f.text for f in base_facts], progress=True)
    queries = [DemandFacts(id=i, text=d["title"] + "\n" + d["description"], city=d["city"])
               for i, d in enumerate(demands[:n_queries])]
    for kind, n in [("flat", s) for s in sizes] + [("hnsw", s) for s in hnsw_sizes]:
        log(f"--- {n:,} talents, {kind} index ---")
        rss0 = _rss_mib()
        t0 = time.perf_counter()
        facts = base_facts[:n] + (_facts(seed, REAL, n) if n > REAL else [])
        vecs = _vectors(real_vecs, n, noise)
        log(f"pool data prepared in {time.perf_counter() - t0:.1f} s")
        pool = TalentPool(embedder, None, kind=kind, cfg=RankingConfig(), hnsw_m=settings.hnsw_m,
                          ef_search=settings.hnsw_ef_search)
        t0 = time.perf_counter()
        pool.load_prepared(facts, vecs, progress=True)
        log(f"index build (vectors + neighbour graph + lexical): {time.perf_counter() - t0:.1f} s; "
            f"lexical mode: {'rescore candidates' if pool.lexical.rescore_only else 'inverted index'}")
        pool.propose(DemandFacts(id=-1, text="预热"), "flexible", k=10)  # jieba dictionary, first-call costs
        tag = f" [{time.time_ns()}]"  # never seen before: the query is really encoded
        cold_queries = [DemandFacts(id=q.id, text=q.text + tag, city=q.city) for q in queries]
        for label, batch in (("cold: query encoded in the request", cold_queries),
                             ("warm: demand vector cached at posting", cold_queries)):
            lat = []
            for q in batch:
                t0 = time.perf_counter()
                pool.propose(q, "flexible", k=10)
                lat.append(time.perf_counter() - t0)
            log(f"ranking one demand, top 10 with explanations, {len(lat)} demands, {label}: {_pct(lat)}")
        if kind == "hnsw":
            exact = VectorIndex(vecs.shape[1])
            for start in range(0, n, 100_000):
                exact.add(np.arange(start, min(n, start + 100_000)) + 1, vecs[start:start + 100_000])
            qv = embedder.encode_queries([q.text for q in queries])
            e = exact.search(qv, 10)[1]
            a = pool.index.search(qv, 10)[1]
            recall = np.mean([len(set(e[i]) & set(a[i])) / 10 for i in range(len(qv))])
            log(f"HNSW recall@10 against exact search: {recall:.3f} (M={settings.hnsw_m}, "
                f"efSearch={settings.hnsw_ef_search})")
            del exact
        log(f"memory: RSS {_rss_mib():.0f} MiB (+{_rss_mib() - rss0:.0f} MiB for this pool)")
        del pool, facts, vecs
