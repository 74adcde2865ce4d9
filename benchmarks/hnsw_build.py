"""HNSW construction at a large pool: build time against recall, to choose ``efConstruction`` and the
neighbour graph's search width for the first start at a million talents.

The pool is a state folder prepared by ``benchmarks/http_bench.py`` (its vector cache holds every
talent's vector: 2,000 real encodings, the rest synthetic mixtures of them). For each ``efConstruction``
the index is built as the service builds it (``VectorIndex``, the configured M), then:

- recall@10 of the service's search (efSearch as configured) against exact search (``IndexFlatIP``)
  for the open demands' real query vectors — the match lists' retrieval;
- the neighbour graph's search (k = graph_k + 1) at several widths, timed on a sample of talents and
  extrapolated to the pool, with its recall of the exact neighbours.

    .venv/bin/python benchmarks/hnsw_build.py --var var/bench/pool-1000000 --ef-construction 200,120,80

Near-ties among the synthetic mixtures lower every recall figure alike; the comparison between settings
is what this measures. Prints one JSON line (``--out`` also writes it).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import faiss
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from matcher.config import Settings  # noqa: E402


def _recall(found: np.ndarray, exact: np.ndarray) -> float:
    return float(np.mean([len(set(f[f >= 0].tolist()) & set(e.tolist())) / len(e) for f, e in zip(found, exact,
                                                                                                    strict=True)]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--var", type=Path, required=True)
    ap.add_argument("--ef-construction", default="200,120,80")
    ap.add_argument("--graph-ef", default="64,32,24")
    ap.add_argument("--sample", type=int, default=20_000, help="talents whose neighbour search is timed")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()

    from sqlalchemy import select

    from matcher.engine.embedding import load_embedder
    from matcher.engine.index import VectorIndex
    from matcher.engine.ranking import RankingConfig
    from matcher.services.pool.facts import all_talent_facts, demand_text
    from matcher.storage.db import Database
    from matcher.storage.models import Demand

    settings = Settings(var_dir=args.var)
    db = Database.from_settings(settings)
    with db.session() as s:
        facts = all_talent_facts(s)
        demands = [demand_text(d) for d in s.scalars(select(Demand).where(Demand.status == "open"))]

    embedder = load_embedder(settings.embedding_model, settings.model_cache_dir, settings.embedding_cache_dir,
                             settings.embedding_batch_size, settings.embedding_backend)
    began = time.perf_counter()
    vecs = embedder.encode_passages([f.text for f in facts])
    ids = np.array([f.id for f in facts], dtype=np.int64)
    print(f"{len(ids):,} vectors from the cache in {time.perf_counter() - began:.0f} s", flush=True)
    queries = embedder.encode_queries(demands)
    exact_index = faiss.IndexFlatIP(vecs.shape[1])
    exact_index.add(vecs)
    _, exact_q = exact_index.search(queries, 10)
    rng = np.random.default_rng(0)
    sample = np.sort(rng.choice(len(ids), size=min(args.sample, len(ids)), replace=False))
    k = RankingConfig().graph_k + 1
    _, exact_nb = exact_index.search(vecs[sample[:500]], k)
    del exact_index
    pos = {int(t): i for i, t in enumerate(ids)}
    rows = []
    for efc in (int(x) for x in args.ef_construction.split(",")):
        index = VectorIndex(vecs.shape[1], "hnsw", settings.hnsw_m, settings.hnsw_ef_search, efc)
        began = time.perf_counter()
        index.add(ids, vecs)
        build_s = time.perf_counter() - began
        _, found = index.search(queries, 10)
        found_pos = np.vectorize(lambda t: pos.get(int(t), -1))(found)
        row = {"M": settings.hnsw_m, "efConstruction": efc, "build_s": round(build_s, 1),
               "efSearch": settings.hnsw_ef_search, "recall@10": round(_recall(found_pos, exact_q), 4), "graph": []}
        for ef in (int(x) for x in args.graph_ef.split(",")):
            began = time.perf_counter()
            for start in range(0, len(sample), 4096):
                _, nb = index.search(vecs[sample[start:start + 4096]], k, ef=ef)
            took = time.perf_counter() - began
            _, nb = index.search(vecs[sample[:500]], k, ef=ef)
            nb_pos = np.vectorize(lambda t: pos.get(int(t), -1))(nb)
            row["graph"].append({"ef": ef, "pool_s": round(took * len(ids) / len(sample), 1),
                                 "recall": round(_recall(nb_pos, exact_nb), 4)})
        print(json.dumps(row), flush=True)
        rows.append(row)
        del index
    out = {"talents": len(ids), "queries": len(queries), "rows": rows}
    print(json.dumps(out))
    if args.out:
        args.out.write_text(json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
