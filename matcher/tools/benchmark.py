"""``matcher bench``: encoding rate, index build time, ranking latency percentiles and memory.

Large pools (100k, 1M) cannot be encoded on a 2-core machine in benchmark time (≈25 profiles/s), so
their vectors are synthetic but realistic: each is a random mixture of three real demo profiles' e5
vectors of its own topic plus a little noise, re-normalised (see ``_vectors``). Texts are the generator's real
profiles, so the lexical side is real. Query encoding is real and included in every latency.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable

import numpy as np

from matcher.config import Settings
from matcher.demo import generator
from matcher.domain.talent import profile_text
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


def demo_talent_facts(seed: int, start: int, stop: int) -> list[TalentFacts]:
    """Generated talents start..stop as the engine sees them (ids start + 1 …), without a database."""
    out = []
    for i in range(start, stop):
        row, _ = generator.talent(seed, i)
        text = profile_text(row["profile"], row["research_fields"], row["achievements"])
        out.append(TalentFacts(id=i + 1, external_id=row["external_id"], name=row["name"], text=text,
                               institution_type=row["institution_type"], title_level=row["title_level"],
                               sector=row["sector"], city=row["city"], in_province=row["in_province"],
                               province_ties=tuple(row["province_ties"]), mode_capacity=row["mode_capacity"],
                               flexible_forms=tuple(row["flexible_forms"]), patents=row["patents"],
                               projects=row["projects"], external_engagements=row["external_engagements"]))
    return out


def _vectors(real: np.ndarray, n: int, noise: float, seed: int) -> np.ndarray:
    """The first len(real) rows are the real vectors. Talent i beyond them is a random convex mixture
    of three real profiles of its own topic plus a little noise: distinct points spread over the topic,
    as a large real pool would be (plain copies plus noise would make near-ties that no ANN index can
    order, and the measured recall would say nothing)."""
    r = len(real)
    out = np.empty((n, real.shape[1]), dtype=np.float32)
    out[:min(n, r)] = real[:min(n, r)]
    if n <= r:
        return out
    by_topic: dict[str, list[int]] = {}
    for i in range(r):
        by_topic.setdefault(generator.talent(seed, i)[1].topic, []).append(i)
    members = {k: np.array(v) for k, v in by_topic.items()}
    rng = np.random.default_rng(n)
    for start in range(r, n, 50_000):
        stop = min(n, start + 50_000)
        topics = [generator.topic_of(seed, i) for i in range(start, stop)]
        picks = np.stack([rng.choice(members[t], 3) for t in topics])
        weights = rng.dirichlet(np.ones(3), size=stop - start).astype(np.float32)
        block = np.einsum("bk,bkd->bd", weights, real[picks])
        block += rng.normal(0, noise, block.shape).astype(np.float32)
        out[start:stop] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def _pct(xs: list[float]) -> str:
    a = np.array(xs) * 1000
    return f"p50 {np.percentile(a, 50):.1f} ms, p95 {np.percentile(a, 95):.1f} ms, p99 {np.percentile(a, 99):.1f} ms"


def run_benchmark(settings: Settings, sizes: list[int], hnsw_sizes: list[int], n_queries: int,
                  log: Callable[[str], None] = print, noise: float = 0.005) -> None:
    seed = settings.demo_seed
    t0 = time.perf_counter()
    embedder = load_embedder(settings.embedding_model, settings.model_cache_dir, settings.embedding_cache_dir,
                             backend=settings.embedding_backend)
    log(f"model {embedder.model_id} loaded in {time.perf_counter() - t0:.1f} s")
    base_facts = demo_talent_facts(seed, 0, REAL)
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
        facts = base_facts[:n] + (demo_talent_facts(seed, REAL, n) if n > REAL else [])
        vecs = _vectors(real_vecs, n, noise, seed)
        log(f"pool data prepared in {time.perf_counter() - t0:.1f} s")
        pool = TalentPool(embedder, None, kind=kind, cfg=RankingConfig(), hnsw_m=settings.hnsw_m,
                          ef_search=settings.hnsw_ef_search, ef_construction=settings.hnsw_ef_construction)
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


def run_round_benchmark(settings: Settings, specs: list[tuple[int, int]], log: Callable[[str], None] = print,
                        noise: float = 0.005, time_limit: float = 600.0) -> None:
    """Solve time and quality of the round solver against greedy, for (demands, talents) sizes."""
    from matcher.engine.assignment import AssignmentProblem, check_feasibility, greedy, milp, summarize
    from matcher.services.workflow.rounds import capacities, score_candidates

    seed = settings.demo_seed
    embedder = load_embedder(settings.embedding_model, settings.model_cache_dir, settings.embedding_cache_dir,
                             backend=settings.embedding_backend)
    base = demo_talent_facts(seed, 0, REAL)
    real = embedder.encode_passages([f.text for f in base], progress=True)
    companies = generator.enterprises(seed)
    hosts = {c["name"]: c["can_host_joint_post"] for c in companies}
    for n_demands, n_talents in specs:
        log(f"--- round: {n_demands:,} demands × {n_talents:,} talents ---")
        facts = base[:n_talents] + (demo_talent_facts(seed, REAL, n_talents) if n_talents > REAL else [])
        kind = "flat" if n_talents <= 200_000 else "hnsw"
        pool = TalentPool(embedder, None, kind=kind, cfg=RankingConfig(), hnsw_m=settings.hnsw_m,
                          ef_search=settings.hnsw_ef_search)
        pool.load_prepared(facts, _vectors(real, n_talents, noise, seed))
        rows, _ = generator.demands(seed, n_demands, companies)
        items = [(DemandFacts(id=i + 1, text=r["title"] + "\n" + r["description"], modes=tuple(r["modes"]),
                              city=r["city"], sector=r["sector"], can_host_joint_post=hosts[r["enterprise"]]),
                  list(r["modes"])) for i, r in enumerate(rows)]
        t0 = time.perf_counter()
        cands, _ = score_candidates(pool, items, 30)
        scoring = time.perf_counter() - t0
        capacity, total = capacities(pool, {c.talent_id for c in cands}, {}, 2)
        problem = AssignmentProblem(cands, {f.id: 3 for f, _ in items}, capacity, total)
        issues = check_feasibility(problem)
        solved = milp.solve(problem, time_limit=time_limit)
        base_line = greedy.solve(problem)
        log(f"scoring {len(items)} demands: {scoring:.1f} s, {len(cands):,} candidate pairs; "
            f"{len(issues)} feasibility notes")
        for a in (solved, base_line):
            r = summarize(problem, a)
            log(f"{r['solver']:>6}: {r['seconds']:.2f} s ({r['status']}), total {r['total_score']:.1f}, "
                f"worst demand {r['worst_demand']['quality']:.3f}, mean {r['mean_quality']:.3f}, "
                f"demands short {len(r['demands_short'])}, talents used {r['load']['talents_used']}, "
                f"load gini {r['load']['gini']:.3f}")
        del pool, facts


def run_encoding_benchmark(settings: Settings, backends: list[str], n_profiles: int = 128, n_demands: int = 60,
                           log: Callable[[str], None] = print) -> dict[str, dict[str, float]]:
    """Encoding backends side by side in one run, on the same never-seen texts: profiles/s (batched, as an
    import encodes), short queries/s, and the latency of one never-seen full demand (as a request pays
    it). Each backend runs its texts after a warm-up; nothing is served from the vector cache."""
    from matcher.engine.embedding import load_inner

    seed = settings.demo_seed
    tag = f" #{time.time_ns() % 100000}"
    profiles = [f.text + tag for f in demo_talent_facts(seed, 0, n_profiles)]
    rows, _ = generator.demands(seed, max(n_demands, 128), generator.enterprises(seed))
    titles = [r["title"] + tag for r in rows[:128]]
    full = [r["title"] + "\n" + r["description"] + tag for r in rows[:n_demands]]
    out: dict[str, dict[str, float]] = {}
    for backend in backends:
        inner = load_inner(settings.embedding_model, settings.model_cache_dir, settings.embedding_batch_size, backend)
        inner.encode_passages(profiles[:16])
        inner.encode_queries(full[:5])
        t0 = time.perf_counter()
        inner.encode_passages(profiles)
        rate = len(profiles) / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        inner.encode_queries(titles)
        qrate = len(titles) / (time.perf_counter() - t0)
        lat = []
        for text in full:
            t0 = time.perf_counter()
            inner.encode_queries([text])
            lat.append(time.perf_counter() - t0)
        a = np.array(lat) * 1000
        out[backend] = {"profiles_per_s": round(rate, 1), "short_queries_per_s": round(qrate, 1),
                        "demand_p50_ms": round(float(np.percentile(a, 50)), 1),
                        "demand_p95_ms": round(float(np.percentile(a, 95)), 1)}
        log(f"{backend:>10}: {rate:.1f} profiles/s (avg {sum(map(len, profiles)) / len(profiles):.0f} chars), "
            f"{qrate:.1f} short queries/s, one never-seen demand (avg {sum(map(len, full)) / len(full):.0f} chars) "
            f"p50 {out[backend]['demand_p50_ms']} ms, p95 {out[backend]['demand_p95_ms']} ms")
        del inner
    return out
