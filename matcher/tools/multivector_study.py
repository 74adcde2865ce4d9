"""A study for multi-vector matching (issue "Relevance that beats plain retrieval", item 2), before any
serving change: does scoring a profile by its best-matching sentence, beside the whole-profile cosine,
improve the semantic fusion on data nobody tuned on?

For each set the pool is built as ``matcher eval`` builds it; for each demand the candidates are the union
of the dense and lexical top-``n`` (as the service ranks them), and each candidate's profile is split into
sentences (``explain.sentences_of``, the sentences the explanations already align), encoded as passages
once (the vector cache keeps them) and scored by the best sentence's cosine to the demand (*max-sim*). The
semantic fusion becomes

    w · minmax((1 − a) · whole-profile cosine + a · max-sim) + (1 − w) · minmax(lexical)

with ``a = 0, w = 0.5`` the hybrid of today. The grid of ``(a, w)`` is scored on the **development parts**
only (``tools/splits.py``), each set weighing the same (mean of the sets' dev nDCG@10); the chosen setting
and the hybrid are then reported once on every **test part**, the held-out set included, with 95 % bootstrap
intervals and the paired difference. Nothing here changes the service: the figures decide whether the
sentence index is worth building.

Study 2 (``--adaptive``) adds a property of the list, known before ranking it: when the best raw lexical
cosine among the candidates is below a floor, the demand shares too few words with the pool for the lexical
side to be evidence and the list is ranked by the dense side alone; the floor is a third grid dimension.

``python -m matcher.tools.multivector_study [--adaptive]`` (about two minutes on 2 cores; the sentence
vectors are cached for the next run)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from itertools import product
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select

from matcher.config import get_settings
from matcher.engine.explain import sentences_of
from matcher.engine.metrics import ndcg_at
from matcher.engine.ranking import fuse
from matcher.services.pool.facts import demand_facts
from matcher.storage.models import Demand, Talent
from matcher.tools.evaluation import load_qrels, loaded
from matcher.tools.splits import EVAL_DIR, read_split
from matcher.tools.study_report import finish, mean_rows, print_dev

DEV_SETS: tuple[str, ...] = ("demo", "small", "csl")
TEST_SETS: tuple[str, ...] = ("heldout", "demo", "small", "csl")
ALPHAS: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)
WEIGHTS: tuple[float, ...] = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
#: Study 2 (``--adaptive``): below this best raw lexical cosine among a list's candidates, the demand shares
#: too few words with the pool for the lexical side to be evidence, and the list is ranked by the dense side
#: alone (w = 1); 0 switches it off. A property of the list, known before ranking it (item 4's idea).
LEXICAL_FLOORS: tuple[float, ...] = (0.0, 0.1, 0.15, 0.2, 0.25, 0.3)
HYBRID = (0.0, 0.5)
HYBRID_POINT = (0.0, 0.5, 0.0)


def _minmax(x: np.ndarray) -> np.ndarray:
    lo, hi = float(x.min()), float(x.max())
    return (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)


Point = tuple[float, float, float]  # (a, w, lexical floor)


def grid(adaptive: bool) -> list[Point]:
    return [(a, w, f) for a, w in product(ALPHAS, WEIGHTS) for f in (LEXICAL_FLOORS if adaptive else (0.0,))]


def score_set(dataset: Path, n: int = 200, k: int = 10,
              adaptive: bool = False) -> dict[str, dict[Point, dict[str, float]]]:
    """Part → (a, w, floor) → demand → nDCG@10, for every grid point (one candidate pass per demand)."""
    settings = get_settings()
    qrels = load_qrels(dataset / "qrels.csv")
    parts = read_split(dataset)
    out: dict[str, dict[Point, dict[str, float]]] = {"dev": {}, "test": {}}
    points = grid(adaptive)
    with loaded(dataset, settings) as (db, pool):
        with db.session() as s:
            ext = {tid: e for tid, e in s.execute(select(Talent.id, Talent.external_id))}
            demands = [(d.external_id, demand_facts(s, d)) for d in s.scalars(select(Demand).order_by(Demand.id))]
        sentence_vectors: dict[int, np.ndarray] = {}
        for ext_id, facts in demands:
            part = parts.get(ext_id)
            rel = qrels.get(ext_id, {})
            if part not in out or not any(g >= 1 for g in rel.values()):
                continue
            q = pool.embedder.encode_queries([facts.text])[0]
            c = pool.candidates(facts.text, n)
            missing = [int(i) for i in c.ids if int(i) not in sentence_vectors]
            for tid in missing:
                sentences = sentences_of(pool.facts[tid].text) or [pool.facts[tid].text]
                sentence_vectors[tid] = pool.embedder.encode_passages(sentences)
            maxsim = np.array([float(np.max(sentence_vectors[int(i)] @ q)) for i in c.ids])
            dense, lexical = c.dense.astype(np.float64), c.lexical.astype(np.float64)
            best_lexical = float(lexical.max()) if lexical.size else 0.0
            for a, w, floor in points:
                semantic = (1 - a) * dense + a * maxsim
                fused = fuse(semantic, lexical, 1.0 if best_lexical < floor else w)
                order = np.lexsort((c.ids, -fused))
                ranking = [ext[int(i)] for i in c.ids[order][:k]]
                out[part].setdefault((a, w, floor), {})[ext_id] = ndcg_at(ranking, rel, k)
    return out


def choose(dev: dict[str, dict[Point, dict[str, float]]]) -> tuple[Point, list[Any]]:
    """The grid point with the best mean over the sets of their dev nDCG@10 (each set weighing the same);
    ties go to the hybrid's side (smaller a, then w nearer 0.5, then a lower floor)."""
    rows = mean_rows(dev)
    rows.sort(key=lambda r: (-round(r[0], 6), r[1][0], abs(r[1][1] - 0.5), r[1][2]))
    return rows[0][1], rows


def main(argv: Sequence[str] = ()) -> None:
    adaptive = "--adaptive" in argv
    dev: dict[str, dict[Point, dict[str, float]]] = {}
    test: dict[str, dict[Point, dict[str, float]]] = {}
    for name in dict.fromkeys((*DEV_SETS, *TEST_SETS)):
        print(f"scoring {name} …", file=sys.stderr)
        scored = score_set(EVAL_DIR / name, adaptive=adaptive)
        if name in DEV_SETS:
            dev[name] = scored["dev"]
        if name in TEST_SETS:
            test[name] = scored["test"]
    chosen, rows = choose(dev)
    print_dev(rows, HYBRID_POINT, 5, lambda p: f"a={p[0]:.2f} w={p[1]:.2f} floor={p[2]:.2f}")
    print(f"chosen on dev: a={chosen[0]:.2f} (max-sim share of the dense score), w={chosen[1]:.2f} (dense share), "
          f"lexical floor={chosen[2]:.2f}")
    finish(test, chosen, HYBRID_POINT, "test parts: nDCG@10 [95% CI], chosen − hybrid [95% CI], Wilcoxon p",
           "--json" in argv)


if __name__ == "__main__":
    main(sys.argv[1:])
