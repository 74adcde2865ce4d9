"""A study for calibration and abstention (issue "relevance", item 5): can a list's scores say how likely
each proposed expert is to be relevant, and say "no suitable expert in the pool" when nobody is?

For each set the pool is built as ``matcher eval`` builds it (``tools/evaluation.loaded``) and every demand
with a relevant talent is ranked with the full ranking as ``matcher eval`` ranks it (``rank_variants``'
"full": the hand ranking in the evaluation mode, excluded talents kept in score order — the labels grade
expertise, not a mode's rules). The top ``K`` items of each list give (score, label) pairs; label 1 when the
talent's grade is ≥ 1, and 0 for an unjudged pair, as the metrics read the qrels (``rel.get(doc, 0)``: the
sets list only their relevant pairs, every other pair counts as not relevant).

Each list is ranked a second time with its relevant talents out of the pool: the candidates are drawn again
from the rest of the pool (``PoolSearch.candidates(…, allowed=…)``, the filter the service applies inside
the index), and normalised, scored and supported over the new candidate set. That is the state
``TalentPool.remove`` leaves (the talents are gone from both indexes; the lexical vocabulary and IDF and the
other talents' neighbour lists stay as they were), not the old list with its relevant rows dropped, whose
min–max normalisation would still remember them. These "nobody fits" lists are what the abstention flag
must catch.

Choices, all on the **development parts** of ``demo``, ``small`` and ``csl`` (pooled pairs):

* the score the map applies to (``SCORES``, fields of ``RankedTalent``) and the method (isotonic or Platt)
  by out-of-fold figures: five folds by demand, each fold's pairs predicted by a map fitted on the other
  four; the score is the one whose abstention marks the most removed-relevant lists at the threshold
  chosen below (a list-relative score cannot say that a list's best is poor), the method the one with the
  lower mean out-of-fold Brier score over the three sets (each set weighing the same);
* the threshold: the largest best-probability threshold that marks at most ``MAX_FALSE`` of the normal
  lists on every dev part (``engine/calibration.choose_threshold``), with the map fitted on all dev pairs.

The map fitted on all dev pairs, with its threshold, is written to ``models/calibration.json``; the test
parts (``heldout`` is test only) are then reported once: ECE, Brier against the base rate, AUC, the
reliability bins, and the shares of lists marked, with 95 % bootstrap intervals over the lists.

``python -m matcher.tools.calibration_study [--no-write] [--json]`` (a few minutes on 2 cores: each set's
profiles are encoded once, and cached for the next run)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from tqdm import tqdm

from matcher.config import PROJECT_ROOT, Settings, get_settings
from matcher.domain import modes
from matcher.domain.facts import DemandFacts
from matcher.engine import calibration as cal
from matcher.engine.embedding import CachedEmbedder, load_embedder
from matcher.engine.metrics import mean_ci
from matcher.engine.pool import TalentPool
from matcher.engine.ranking import RankedTalent, rank
from matcher.services.pool.facts import demand_facts
from matcher.storage.models import Demand, Talent
from matcher.tools.evaluation import load_qrels, loaded
from matcher.tools.splits import EVAL_DIR, SEEN, read_split

FIT_SETS: tuple[str, ...] = ("demo", "small", "csl")
TEST_SETS: tuple[str, ...] = ("demo", "small", "csl", "heldout")
#: The list items a list's pairs come from: the top 20 (two pages of the service's default 10).
K = 20
#: Candidates per demand, as ``rank_variants`` draws them.
N_CANDIDATES = 200
#: The scores of a ranked row the map may apply to. The ranking's expertise score is ``semantic`` (its
#: "内容匹配度": dense and lexical fused after min–max normalisation over the list's candidates) and
#: ``score`` adds cluster support and the policy features (eligibility is apart: ``exclusion``). Both are
#: relative to the list — its best is near 1 whoever it is — so the two raw scores they are made of are
#: candidates too: the e5 cosine of the pair (``dense``) and the TF-IDF cosine (``lexical``).
SCORES: tuple[str, ...] = ("dense", "lexical", "semantic", "score")
FOLDS = 5
SEED = 2026
MAX_FALSE = 0.05  # at most this share of normal lists (relevant talents present) marked
MIN_MARKED = 0.80  # the target share of removed-relevant lists marked
OUT = PROJECT_ROOT / "models" / "calibration.json"


@dataclass
class RankedList:
    """One demand's top-K: each score in ``SCORES`` (K values) and the 0/1 labels."""

    scores: dict[str, np.ndarray]
    labels: np.ndarray


@dataclass
class SetLists:
    name: str
    parts: dict[str, str]  # demand id → dev / test
    normal: dict[str, RankedList] = field(default_factory=dict)  # the whole pool
    removed: dict[str, RankedList] = field(default_factory=dict)  # the demand's relevant talents out of the pool
    seconds: float = 0.0

    def ids(self, part: str) -> list[str]:
        return sorted(q for q in self.normal if self.parts.get(q) == part)


def ranked_rows(pool: TalentPool, demand: DemandFacts, allowed: np.ndarray | None, n: int = N_CANDIDATES
                ) -> list[RankedTalent]:
    """The full ranking of ``rank_variants`` (evaluation mode, excluded talents kept in score order), over
    the pool or over the ``allowed`` talents only."""
    talents, dense, lexical = pool.known(pool.candidates(demand.text, n, allowed))
    return rank(modes.EVALUATION_MODE, demand, talents, dense, lexical, pool.cfg, include_excluded=True,
                neighbours=pool.neighbours_of, eligible_first=False)


def _list(rows: Sequence[RankedTalent], relevant: set[int], k: int) -> RankedList:
    top = list(rows)[:k]
    return RankedList({s: np.array([float(getattr(r, s)) for r in top]) for s in SCORES},
                      np.array([int(r.talent_id in relevant) for r in top], dtype=np.int64))


def collect(dataset: Path, settings: Settings, embedder: CachedEmbedder, k: int = K) -> SetLists:
    """Every demand with a relevant talent, ranked over the whole pool and without its relevant talents."""
    start = time.perf_counter()
    qrels = load_qrels(dataset / "qrels.csv")
    out = SetLists(dataset.name, read_split(dataset))
    with loaded(dataset, settings, embedder=embedder) as (db, pool):
        with db.session() as s:
            by_ext = {e: tid for tid, e in s.execute(select(Talent.id, Talent.external_id))}
            demands = [(d.external_id, demand_facts(s, d)) for d in s.scalars(select(Demand).order_by(Demand.id))]
        everyone = np.array(sorted(pool.facts), dtype=np.int64)
        for ext_id, facts in tqdm(demands, desc=f"{dataset.name}: ranking demands", file=sys.stderr):
            relevant = {by_ext[t] for t, g in qrels.get(ext_id, {}).items() if g >= 1 and t in by_ext}
            if not relevant or out.parts.get(ext_id) not in ("dev", "test"):
                continue
            out.normal[ext_id] = _list(ranked_rows(pool, facts, None), relevant, k)
            rest = everyone[~np.isin(everyone, np.fromiter(relevant, dtype=np.int64))]
            removed = _list(ranked_rows(pool, facts, rest), relevant, k)
            if removed.labels.any():
                raise AssertionError(f"{ext_id}: a removed talent came back in the list")
            out.removed[ext_id] = removed
    out.seconds = time.perf_counter() - start
    return out


# ------------------------------------------------------------------ pooling and folds
def pairs(lists: dict[str, RankedList], ids: Sequence[str], score: str) -> tuple[np.ndarray, np.ndarray]:
    if not ids:
        return np.zeros(0), np.zeros(0, dtype=np.int64)
    return (np.concatenate([lists[q].scores[score] for q in ids]),
            np.concatenate([lists[q].labels for q in ids]))


def folds_of(keys: Sequence[tuple[str, str]], folds: int = FOLDS, seed: int = SEED) -> dict[tuple[str, str], int]:
    """(set, demand) → fold, the keys sorted and shuffled with ``seed``: every pair of a list in one fold."""
    order = sorted(keys)
    rng = np.random.default_rng(seed)
    return {key: i % folds for i, key in zip(rng.permutation(len(order)), order, strict=True)}


def out_of_fold(sets: dict[str, SetLists], score: str, method: str, folds: int = FOLDS
                ) -> dict[str, dict[str, np.ndarray]]:
    """Set → demand → out-of-fold probabilities of the dev lists' pairs (``normal``) and of the same demands'
    removed-relevant lists (``removed``), each from the map fitted on the other folds' normal lists."""
    keys = [(name, q) for name, sl in sets.items() for q in sl.ids("dev")]
    fold = folds_of(keys, folds)
    out: dict[str, dict[str, np.ndarray]] = {"normal": {}, "removed": {}}
    for f in range(folds):
        train = [key for key in keys if fold[key] != f]
        s = np.concatenate([sets[n].normal[q].scores[score] for n, q in train])
        y = np.concatenate([sets[n].normal[q].labels for n, q in train])
        m = cal.fit(method, s, y, score)
        for n, q in (key for key in keys if fold[key] == f):
            out["normal"][f"{n}/{q}"] = m.probability(sets[n].normal[q].scores[score])
            out["removed"][f"{n}/{q}"] = m.probability(sets[n].removed[q].scores[score])
    return out


def best_per_list(probabilities: dict[str, np.ndarray], name: str) -> np.ndarray:
    return np.array([p.max() if p.size else 0.0 for key, p in sorted(probabilities.items())
                     if key.startswith(name + "/")])


@dataclass
class Candidate:
    """One (score, method) on the development parts, out of fold."""

    score: str
    method: str
    per_set: dict[str, dict[str, Any]]
    mean_brier: float
    threshold: cal.ThresholdChoice

    @property
    def mean_marked(self) -> float:
        return float(np.mean(list(self.threshold.marked.values())))


def evaluate_candidate(sets: dict[str, SetLists], score: str, method: str) -> Candidate:
    oof = out_of_fold(sets, score, method)
    per_set: dict[str, dict[str, Any]] = {}
    normal_best: dict[str, np.ndarray] = {}
    removed_best: dict[str, np.ndarray] = {}
    for name, sl in sets.items():
        ids = sl.ids("dev")
        p = np.concatenate([oof["normal"][f"{name}/{q}"] for q in ids])
        y = np.concatenate([sl.normal[q].labels for q in ids])
        per_set[name] = cal.calibration_report(p, y)
        normal_best[name] = best_per_list(oof["normal"], name)
        removed_best[name] = best_per_list(oof["removed"], name)
    choice = cal.choose_threshold(normal_best, removed_best, MAX_FALSE, MIN_MARKED)
    return Candidate(score, method, per_set, float(np.mean([r["brier"] for r in per_set.values()])), choice)


def choose(candidates: Sequence[Candidate]) -> tuple[str, str]:
    """The score whose out-of-fold abstention marks the most removed-relevant lists (mean over the dev
    sets, its better method's figure), then that score's method with the lower mean out-of-fold Brier."""
    by_score: dict[str, list[Candidate]] = {}
    for c in candidates:
        by_score.setdefault(c.score, []).append(c)
    score = max(by_score, key=lambda s: (round(max(c.mean_marked for c in by_score[s]), 6),
                                         -min(c.mean_brier for c in by_score[s])))
    method = min(by_score[score], key=lambda c: (round(c.mean_brier, 6), c.method)).method
    return score, method


# ------------------------------------------------------------------ the final map and the test parts
def fit_final(sets: dict[str, SetLists], score: str, method: str, k: int) -> cal.Calibrator:
    """The map fitted on every dev pair, and the threshold chosen with it on the dev lists."""
    s, y = (np.concatenate(v) for v in zip(*(pairs(sl.normal, sl.ids("dev"), score) for sl in sets.values()),
                                           strict=True))
    fitted_on = {"sets": list(sets), "parts": "dev", "top_k": k, "pairs": int(y.size), "positives": int(y.sum()),
                 "lists": {n: len(sl.ids("dev")) for n, sl in sets.items()},
                 "relevant": "grade >= 1; unjudged pairs count as not relevant",
                 "ranking": "full (rank_variants), evaluation mode, excluded talents kept",
                 "study": "python -m matcher.tools.calibration_study"}
    m = cal.fit(method, s, y, score, fitted_on)
    normal_best = {n: np.array([m.best_probability(sl.normal[q].scores[score]) for q in sl.ids("dev")])
                   for n, sl in sets.items()}
    removed_best = {n: np.array([m.best_probability(sl.removed[q].scores[score]) for q in sl.ids("dev")])
                    for n, sl in sets.items()}
    t = cal.choose_threshold(normal_best, removed_best, MAX_FALSE, MIN_MARKED)
    rule = (f"largest threshold on the best probability of a list with at most {MAX_FALSE:.0%} of normal lists "
            f"marked on every dev part; target at least {MIN_MARKED:.0%} of removed-relevant lists marked")
    return m.with_threshold(t.threshold, {"rule": rule, "dev_false_marks": t.false_marks,
                                          "dev_marked": t.marked, "dev_target_met": t.met})


def report_test(sl: SetLists, m: cal.Calibrator) -> dict[str, Any]:
    ids = sl.ids("test")
    s, y = pairs(sl.normal, ids, m.score)
    p = m.probability(s)
    out = cal.calibration_report(p, y)
    # Brier minus the base rate's, per list (its K pairs), for an interval over the lists.
    rate = float(y.mean())
    per_list = [float(np.mean((m.probability(sl.normal[q].scores[m.score]) - sl.normal[q].labels) ** 2
                              - (rate - sl.normal[q].labels) ** 2)) for q in ids]
    out["brier_minus_base"] = mean_ci(per_list)
    threshold = m.threshold if m.threshold is not None else -np.inf
    false = [float(m.best_probability(sl.normal[q].scores[m.score]) < threshold) for q in ids]
    marked = [float(m.best_probability(sl.removed[q].scores[m.score]) < threshold) for q in ids]
    out.update(lists=len(ids), false_marks=mean_ci(false), marked=mean_ci(marked))
    return out


# ------------------------------------------------------------------ printing
def score_at(m: cal.Calibrator, probability: float, lo: float, hi: float, steps: int = 200_001) -> float:
    """The smallest score in [lo, hi] whose probability reaches ``probability`` (what the threshold means in
    the score's own units; nan when none does)."""
    grid = np.linspace(lo, hi, steps)
    reached = np.flatnonzero(m.probability(grid) >= probability)
    return float(grid[reached[0]]) if reached.size else float("nan")


def _fmt_report(r: dict[str, Any]) -> str:
    return (f"pairs {r['pairs']} (prevalence {r['prevalence']:.3f}): ECE {r['ece']:.4f}, Brier {r['brier']:.4f} "
            f"(base rate {r['base_brier']:.4f}), AUC {r['auc']:.4f}")


def _fmt_bins(bins: Sequence[cal.ReliabilityBin]) -> str:
    return "; ".join(f"[{b.lo:.1f},{b.hi:.1f}) pred {b.mean_predicted:.3f} obs {b.observed:.3f} n={b.count}"
                     for b in bins)


def _share(ci: tuple[float, float, float]) -> str:
    return f"{ci[0]:.1%} [{ci[1]:.1%}, {ci[2]:.1%}]"


def main(argv: Sequence[str] = ()) -> None:
    started = time.perf_counter()
    settings = get_settings()
    embedder = load_embedder(settings.embedding_model, settings.model_cache_dir, settings.embedding_cache_dir,
                             settings.embedding_batch_size, settings.embedding_backend)
    sets: dict[str, SetLists] = {}
    for name in dict.fromkeys((*FIT_SETS, *TEST_SETS)):
        print(f"{name}: loading the pool and ranking each demand twice (whole pool, relevant talents out) …",
              file=sys.stderr)
        sets[name] = collect(EVAL_DIR / name, settings, embedder)
        sl = sets[name]
        print(f"  {name}: {len(sl.ids('dev'))} dev lists, {len(sl.ids('test'))} test lists, top {K}, "
              f"{sl.seconds:.0f} s", file=sys.stderr)
    fit_sets = {n: sets[n] for n in FIT_SETS}

    print(f"\ndevelopment parts ({', '.join(FIT_SETS)}), top-{K} pairs, {FOLDS}-fold out-of-fold by demand:")
    candidates = [evaluate_candidate(fit_sets, s, m) for s in SCORES for m in cal.METHODS]
    for c in candidates:
        t = c.threshold
        print(f"  {c.score:>8} · {c.method:<8} mean Brier {c.mean_brier:.4f}; threshold {t.threshold:.4f} marks "
              + ", ".join(f"{n} {t.marked[n]:.1%} (false {t.false_marks[n]:.1%})" for n in fit_sets)
              + f"; mean marked {c.mean_marked:.1%}")
        for n, r in c.per_set.items():
            print(f"      {n}: {_fmt_report(r)}")
    score, method = choose(candidates)
    print(f"chosen on dev: score '{score}', method '{method}'")

    final = fit_final(fit_sets, score, method, K)
    assert final.threshold is not None
    ab = final.abstention
    print(f"final map: {method} on '{score}', fitted on {final.fitted_on['pairs']} dev pairs "
          f"({final.fitted_on['positives']} relevant); threshold {final.threshold:.4f} "
          f"(best probability of a list below it: no suitable expert)")
    dev_scores = np.concatenate([pairs(sl.normal, sl.ids("dev"), score)[0] for sl in fit_sets.values()])
    print(f"  in '{score}' units: a list is marked when its best '{score}' is below "
          f"{score_at(final, final.threshold, float(dev_scores.min()), float(dev_scores.max())):.4f}")
    print("  dev, in sample: marked " + ", ".join(f"{n} {v:.1%}" for n, v in ab["dev_marked"].items())
          + "; false marks " + ", ".join(f"{n} {v:.1%}" for n, v in ab["dev_false_marks"].items())
          + f"; target {'met' if ab['dev_target_met'] else 'NOT met'}")
    for n, sl in fit_sets.items():
        s, y = pairs(sl.normal, sl.ids("dev"), score)
        print(f"  dev {n}, in sample: {_fmt_report(cal.calibration_report(final.probability(s), y))}")

    print("\ntest parts, reported once (seen: looked at as a whole before the split):")
    results: dict[str, Any] = {}
    for name in TEST_SETS:
        r = report_test(sets[name], final)
        results[name] = r
        seen = " (seen)" if name in SEEN else " (unseen)"
        d = r["brier_minus_base"]
        print(f"  {name}{seen}, {r['lists']} lists: {_fmt_report(r)}; Brier − base rate {d[0]:+.4f} "
              f"[{d[1]:+.4f}, {d[2]:+.4f}]")
        print(f"      no suitable expert: removed-relevant lists marked {_share(r['marked'])}; normal lists "
              f"marked (false) {_share(r['false_marks'])}")
        print(f"      reliability: {_fmt_bins(r['bins'])}")

    if "--no-write" not in argv:
        final.save(OUT)
        print(f"\nwrote {OUT.relative_to(PROJECT_ROOT)}")
    print(f"study took {time.perf_counter() - started:.0f} s")
    if "--json" in argv:
        print(json.dumps({"score": score, "method": method, "threshold": final.threshold,
                          "dev": {f"{c.score}/{c.method}": {"mean_brier": c.mean_brier, **asdict(c.threshold)}
                                  for c in candidates},
                          "test": {n: {k: v for k, v in r.items() if k != "bins"} for n, r in results.items()}},
                         default=float))


if __name__ == "__main__":
    main(sys.argv[1:])
