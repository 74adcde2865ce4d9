"""``matcher eval``: load a labelled dataset into a throwaway database and index, rank every demand
with each scoring variant, and report the metrics side by side."""

from __future__ import annotations

import csv
import tempfile
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select
from tqdm import tqdm

from matcher.config import Settings
from matcher.engine.embedding import CachedEmbedder
from matcher.engine.ltr import LearnedRanker
from matcher.engine.metrics import evaluate
from matcher.engine.variants import rank_variants
from matcher.services.files.importing import import_file
from matcher.services.learning import training as learning
from matcher.services.pool.facts import build_pool, demand_facts
from matcher.storage.db import Database
from matcher.storage.models import Demand, Talent

VARIANTS = ("lexical", "dense", "hybrid", "full")


def load_qrels(path: Path) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = defaultdict(dict)
    with open(path, encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            out[row["demand_external_id"]][row["talent_external_id"]] = int(row["grade"])
    return out


def run_eval(dataset: Path, settings: Settings, limit_demands: int | None = None, k: int = 100,
             run_out: Path | None = None, progress: bool = True,
             log: Callable[[str], None] = print,
             embedder: CachedEmbedder | None = None, with_learned: bool = True,
             learned: LearnedRanker | None = None) -> dict[str, dict[str, float]]:
    """Metrics per ranking variant; a ``learned`` row too when ``matcher learn`` adopted a model (in
    ``settings.var_dir``) or ``learned`` is given (a candidate, for the adoption guard): the model is
    applied to the dataset's candidates and features as is."""
    qrels = load_qrels(dataset / "qrels.csv")
    with tempfile.TemporaryDirectory(prefix="matcher-eval-") as tmp:
        db = Database(f"sqlite:///{tmp}/eval.db")
        db.upgrade()
        for kind in ("talents", "demands"):
            report = import_file(db, kind, dataset / f"{kind}.csv")
            if not report.ok:
                raise ValueError(f"{dataset}/{kind}.csv: " + "; ".join(str(e) for e in report.errors[:5]))
        pool = build_pool(settings, db, progress=progress, log=log, persist=False, embedder=embedder)
        pool.learned = learned if learned is not None else learning.load_current(settings) if with_learned else None
        variant_names = (*VARIANTS, "learned") if pool.learned is not None else VARIANTS
        runs: dict[str, dict[str, list[str]]] = {v: {} for v in variant_names}
        with db.session() as s:
            ext = {tid: ext_id for tid, ext_id in s.execute(select(Talent.id, Talent.external_id))}
            demands = list(s.scalars(select(Demand).order_by(Demand.id)))
            if limit_demands:
                demands = demands[:limit_demands]
            facts = [demand_facts(s, d) for d in demands]
        for d, f in tqdm(list(zip(demands, facts, strict=True)), desc="ranking demands", disable=not progress):
            variants = rank_variants(pool, f.text, k, demand=f)
            for v in variant_names:
                runs[v][d.external_id] = [ext[i] for i in variants[v]]
    results = {v: evaluate(runs[v], qrels) for v in variant_names}
    if run_out is not None:
        write_trec_run(run_out, runs["full"], tag="matcher-full")
    return results


def relevance_guard(settings: Settings, datasets: Sequence[Path]) -> Callable[[LearnedRanker], list[dict[str, Any]]]:
    """``matcher learn``'s check before a model may re-order the evaluation mode: on each relevance set the
    model's ranking must be at least plain retrieval (the hybrid) by nDCG@10."""

    def check(candidate: LearnedRanker) -> list[dict[str, Any]]:
        rows = []
        for dataset in datasets:
            res = run_eval(Path(dataset), settings, progress=False, log=lambda m: None, learned=candidate)
            rows.append({"dataset": Path(dataset).name, "hybrid_ndcg10": round(res["hybrid"]["ndcg@10"], 4),
                         "learned_ndcg10": round(res["learned"]["ndcg@10"], 4),
                         "passed": bool(res["learned"]["ndcg@10"] >= res["hybrid"]["ndcg@10"])})
        return rows

    return check


def write_trec_run(path: Path, run: dict[str, list[str]], tag: str) -> None:
    """TREC run format: ``query Q0 doc rank score tag``. The score column is rank-derived (k − rank + 1):
    trec_eval orders by it, and the engine's raw scores of different variants are not comparable."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for q, docs in run.items():
            for r, doc in enumerate(docs, start=1):
                fh.write(f"{q} Q0 {doc} {r} {len(docs) - r + 1} {tag}\n")


def format_table(results: dict[str, dict[str, float]]) -> str:
    metrics = ("recall@1", "recall@5", "recall@10", "mrr", "ndcg@10", "p@10_excl_top")
    lines = ["| ranking | " + " | ".join(metrics) + " |", "|---" * (len(metrics) + 1) + "|"]
    for v, m in results.items():
        lines.append(f"| {v} | " + " | ".join(f"{m.get(x, 0.0):.3f}" for x in metrics) + " |")
    n = next(iter(results.values()), {}).get("queries", 0)
    lines.append(f"({int(n)} demands with at least one relevant talent)")
    return "\n".join(lines)
