"""``matcher eval``: load a labelled dataset into a throwaway database and index, rank every demand
with each scoring variant, and report the metrics side by side — on the set's development part, its test
part (``tools/splits.py``) or all of it, with 95 % bootstrap intervals and the paired test of the full
ranking against the hybrid (plain retrieval) when asked (``--ci``)."""

from __future__ import annotations

import csv
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from tqdm import tqdm

from matcher.config import Settings
from matcher.engine.embedding import CachedEmbedder
from matcher.engine.ltr import LearnedRanker
from matcher.engine.metrics import METRICS, evaluate, mean_ci, paired_difference, per_query
from matcher.engine.pool import TalentPool
from matcher.engine.variants import rank_variants
from matcher.services.files.importing import import_file
from matcher.services.learning import training as learning
from matcher.services.pool.facts import build_pool, demand_facts
from matcher.storage.db import Database
from matcher.storage.models import Demand, Talent
from matcher.tools.splits import PARTS, SEEN, read_split

VARIANTS = ("lexical", "dense", "hybrid", "full")


def load_qrels(path: Path) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = defaultdict(dict)
    with open(path, encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            out[row["demand_external_id"]][row["talent_external_id"]] = int(row["grade"])
    return out


@contextmanager
def loaded(dataset: Path, settings: Settings, progress: bool = False, log: Callable[[str], None] = lambda m: None,
           embedder: CachedEmbedder | None = None) -> Iterator[tuple[Database, TalentPool]]:
    """The dataset imported into a throwaway SQLite database, and its pool (not saved): what every
    evaluation and study ranks against."""
    with tempfile.TemporaryDirectory(prefix="matcher-eval-") as tmp:
        db = Database(f"sqlite:///{tmp}/eval.db")
        db.upgrade()
        for kind in ("talents", "demands"):
            report = import_file(db, kind, dataset / f"{kind}.csv")
            if not report.ok:
                raise ValueError(f"{dataset}/{kind}.csv: " + "; ".join(str(e) for e in report.errors[:5]))
        yield db, build_pool(settings, db, progress=progress, log=log, persist=False, embedder=embedder)


@dataclass
class EvalRun:
    """The rankings of one dataset (variant → demand → talent ids) and its labels: the means, the intervals
    and the paired test are all computed from these."""

    dataset: str
    part: str
    runs: dict[str, dict[str, list[str]]]
    qrels: dict[str, dict[str, int]]

    def results(self) -> dict[str, dict[str, float]]:
        return {v: evaluate(r, self.qrels) for v, r in self.runs.items()}

    def intervals(self, against: str = "hybrid", resamples: int = 10_000, seed: int = 0) -> dict[str, Any]:
        """Per variant and metric the mean with its 95 % interval; per variant other than ``against``, the
        paired difference to it (mean, interval, Wilcoxon p, wins/losses) on the same demands."""
        queries = {v: per_query(r, self.qrels) for v, r in self.runs.items()}
        base = queries.get(against, {})
        out: dict[str, Any] = {"dataset": self.dataset, "part": self.part, "seen": self.dataset in SEEN,
                               "variants": {}, "paired": {}}
        for v, rows in queries.items():
            ids = sorted(rows)
            out["variants"][v] = {m: dict(zip(("mean", "lo", "hi"), mean_ci([rows[q][m] for q in ids], resamples,
                                                                            seed), strict=True)) for m in METRICS}
            out["variants"][v]["queries"] = len(ids)
            if v != against and base:
                out["paired"][v] = {m: paired_difference([rows[q][m] for q in ids], [base[q][m] for q in ids],
                                                         resamples, seed) for m in METRICS}
        return out


def run_eval(dataset: Path, settings: Settings, limit_demands: int | None = None, k: int = 100,
             run_out: Path | None = None, progress: bool = True,
             log: Callable[[str], None] = print,
             embedder: CachedEmbedder | None = None, with_learned: bool = True,
             learned: LearnedRanker | None = None, part: str = "all") -> dict[str, dict[str, float]]:
    """Metrics per ranking variant; a ``learned`` row too when ``matcher learn`` adopted a model (in
    ``settings.var_dir``) or ``learned`` is given (a candidate, for the adoption guard): the model is
    applied to the dataset's candidates and features as is. ``part``: ``dev``, ``test`` or ``all``."""
    return rank_dataset(dataset, settings, limit_demands, k, run_out, progress, log, embedder, with_learned,
                        learned, part).results()


def rank_dataset(dataset: Path, settings: Settings, limit_demands: int | None = None, k: int = 100,
                 run_out: Path | None = None, progress: bool = True,
                 log: Callable[[str], None] = print,
                 embedder: CachedEmbedder | None = None, with_learned: bool = True,
                 learned: LearnedRanker | None = None, part: str = "all") -> EvalRun:
    """Rank every demand of the dataset's ``part`` with every variant (the pool holds all its talents)."""
    if part not in PARTS:
        raise ValueError(f"unknown part '{part}' (one of {', '.join(PARTS)})")
    qrels = load_qrels(dataset / "qrels.csv")
    wanted = None if part == "all" else {q for q, p in read_split(dataset).items() if p == part}
    with loaded(dataset, settings, progress, log, embedder) as (db, pool):
        pool.learned = learned if learned is not None else learning.load_current(settings) if with_learned else None
        variant_names = (*VARIANTS, "learned") if pool.learned is not None else VARIANTS
        runs: dict[str, dict[str, list[str]]] = {v: {} for v in variant_names}
        with db.session() as s:
            ext = {tid: ext_id for tid, ext_id in s.execute(select(Talent.id, Talent.external_id))}
            demands = [d for d in s.scalars(select(Demand).order_by(Demand.id))
                       if wanted is None or d.external_id in wanted]
            if limit_demands:
                demands = demands[:limit_demands]
            facts = [demand_facts(s, d) for d in demands]
        for d, f in tqdm(list(zip(demands, facts, strict=True)), desc="ranking demands", disable=not progress):
            variants = rank_variants(pool, f.text, k, demand=f)
            for v in variant_names:
                runs[v][d.external_id] = [ext[i] for i in variants[v]]
    if run_out is not None:
        write_trec_run(run_out, runs["full"], tag="matcher-full")
    return EvalRun(dataset.name, part, runs, qrels)


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


def format_intervals(report: dict[str, Any], against: str = "hybrid") -> str:
    """The means with their 95 % intervals, and each variant's paired difference to ``against``."""
    metrics = ("recall@1", "mrr", "ndcg@10", "p@10_excl_top")
    seen = " (seen: this set was looked at as a whole before the split)" if report["seen"] else ""
    lines = [f"{report['dataset']} · {report['part']} part{seen}",
             "| ranking | " + " | ".join(f"{m} [95% CI]" for m in metrics) + " |", "|---" * (len(metrics) + 1) + "|"]
    for v, rows in report["variants"].items():
        lines.append(f"| {v} | " + " | ".join(f"{rows[m]['mean']:.3f} [{rows[m]['lo']:.3f}, {rows[m]['hi']:.3f}]"
                                              for m in metrics) + " |")
    for v, rows in report["paired"].items():
        d = rows["ndcg@10"]
        lines.append(f"{v} − {against}, nDCG@10: {d['diff']:+.4f} [{d['lo']:+.4f}, {d['hi']:+.4f}], Wilcoxon p = "
                     f"{d['p']:.3f}, better on {int(d['wins'])} / worse on {int(d['losses'])} of {int(d['queries'])}")
    return "\n".join(lines)


def format_table(results: dict[str, dict[str, float]]) -> str:
    metrics = METRICS
    lines = ["| ranking | " + " | ".join(metrics) + " |", "|---" * (len(metrics) + 1) + "|"]
    for v, m in results.items():
        lines.append(f"| {v} | " + " | ".join(f"{m.get(x, 0.0):.3f}" for x in metrics) + " |")
    n = next(iter(results.values()), {}).get("queries", 0)
    lines.append(f"({int(n)} demands with at least one relevant talent)")
    return "\n".join(lines)
