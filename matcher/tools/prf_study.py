"""A study for query expansion from the pool itself (issue "Relevance that beats plain retrieval", item 3),
before any serving change: does pseudo-relevance feedback on the first list's best profiles lift the hybrid?

For each demand the candidates are the service's (dense ∪ lexical top-``n``) and the first list is the hybrid
(``fuse(dense, lexical, 0.5)``). Its best ``m`` profiles then feed back two ways:

- **lexical**: their key phrases (``LexicalIndex.key_phrases``: jieba words weighted by count × the pool's
  IDF, the phrases a talent's page shows), the ``PHRASES`` most frequent across the ``m``, become a second
  query; each candidate's lexical score becomes ``lexical + β · lexical(expansion)``;
- **dense** (Rocchio): the query vector moves towards the mean of their passage vectors,
  ``q' = q + γ · mean(p)``, and each candidate's dense score is its cosine to ``q'``.

Both only re-rank the first pass's candidates (what a serving version would afford: no second retrieval).
The grid ``(m, β, γ)`` is scored on the **development parts** only (``tools/splits.py``, each set weighing the
same); ``β = γ = 0`` is the hybrid. The chosen point and the hybrid are then reported on the **test parts** of
demo, small and csl — *seen* sets, labelled so. The held-out set is not read here (``--heldout`` reads it):
docs/relevance.md keeps its next look for the end, once the choices are made.

Study 5 (``--gated``) adds study 2's property of the list as a fourth grid dimension: feedback only for a list
whose best raw lexical cosine among its candidates is below a gate (the demand shares few words with the pool).

``--no-worse`` chooses only among the points with no set's dev part below the hybrid's.

``python -m matcher.tools.prf_study [--gated] [--no-worse] [--heldout] [--json]`` (about six minutes on 2 cores; vectors
come from the cache)."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Sequence
from itertools import product
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select

from matcher.config import get_settings
from matcher.engine.metrics import ndcg_at
from matcher.engine.ranking import fuse
from matcher.services.pool.facts import demand_facts
from matcher.storage.models import Demand, Talent
from matcher.tools.evaluation import load_qrels, loaded
from matcher.tools.splits import EVAL_DIR, read_split
from matcher.tools.study_report import finish, mean_rows, print_dev

DEV_SETS: tuple[str, ...] = ("demo", "small", "csl")
FEEDBACK: tuple[int, ...] = (3, 5, 10)  # m: the first list's best profiles fed back
BETAS: tuple[float, ...] = (0.0, 0.25, 0.5, 1.0)  # weight of the expansion's lexical score
GAMMAS: tuple[float, ...] = (0.0, 0.25, 0.5, 1.0)  # Rocchio step of the dense query
PHRASES = 15  # expansion phrases kept (most frequent across the m profiles)
PER_PROFILE = 8  # key phrases read from each profile

#: ``--gated``: feedback only for a list whose best raw lexical cosine is below this (the demand shares few
#: words with the pool: study 2's property of the list); inf: every list.
GATES: tuple[float, ...] = (float("inf"), 0.3, 0.25, 0.2, 0.15)

Point = tuple[int, float, float, float]  # (m, β, γ, gate)
HYBRID_POINT: Point = (FEEDBACK[0], 0.0, 0.0, float("inf"))


def grid(gated: bool = False) -> list[Point]:
    return [(m, b, g, f) for m, b, g in product(FEEDBACK, BETAS, GAMMAS) for f in (GATES if gated else GATES[:1])
            if (b, g) != (0.0, 0.0) or (m, f) == (FEEDBACK[0], GATES[0])]


def expansion(pool: Any, texts: Sequence[str], demand_text: str) -> str:
    """The feedback profiles' most frequent key phrases, those already in the demand left out."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(pool.lexical.key_phrases(text, limit=PER_PROFILE))
    kept = [w for w, _ in counts.most_common() if w not in demand_text][:PHRASES]
    return " ".join(kept)


def list_features(text: str, dense: np.ndarray, lexical: np.ndarray) -> dict[str, float]:
    """What is known of a list before it is re-ranked (study 6's model of the list): the demand's length,
    how well the pool answers it in words and in meaning, how sharply the dense side separates its head,
    and whether the two sides agree on it."""
    d = np.sort(dense)[::-1]
    lx = np.sort(lexical)[::-1]
    top_d, top_l = set(np.argsort(-dense)[:10].tolist()), set(np.argsort(-lexical)[:10].tolist())
    return {"log_length": float(np.log1p(len(text))), "best_lexical": float(lx[0]) if lx.size else 0.0,
            "lexical_top10": float(lx[:10].mean()) if lx.size else 0.0,
            "dense_top1": float(d[0]) if d.size else 0.0,
            "dense_margin": float(d[0] - d[min(9, len(d) - 1)]) if d.size else 0.0,
            "dense_spread": float(d[:20].std()) if d.size else 0.0,
            "agreement": len(top_d & top_l) / 10.0}


def score_set(dataset: Path, parts_wanted: tuple[str, ...], n: int = 200, k: int = 10, gated: bool = False,
              points: Sequence[Point] | None = None, features: dict[str, dict[str, dict[str, float]]] | None = None
              ) -> dict[str, dict[Point, dict[str, float]]]:
    """Part → (m, β, γ) → demand → nDCG@10, for every grid point (one candidate pass per demand), or for
    ``points``; ``features`` (part → demand → ``list_features``) is filled when given."""
    settings = get_settings()
    qrels = load_qrels(dataset / "qrels.csv")
    parts = read_split(dataset)
    out: dict[str, dict[Point, dict[str, float]]] = {p: {} for p in parts_wanted}
    points = list(points) if points is not None else grid(gated)
    with loaded(dataset, settings) as (db, pool):
        with db.session() as s:
            ext = {tid: e for tid, e in s.execute(select(Talent.id, Talent.external_id))}
            demands = [(d.external_id, demand_facts(s, d)) for d in s.scalars(select(Demand).order_by(Demand.id))]
        for ext_id, facts in demands:
            part = parts.get(ext_id)
            rel = qrels.get(ext_id, {})
            if part not in out or not any(g >= 1 for g in rel.values()):
                continue
            q = pool.embedder.encode_queries([facts.text])[0].astype(np.float64)
            c = pool.candidates(facts.text, n)
            ids = c.ids
            texts = [pool.facts[int(i)].text for i in ids]
            passages = pool.embedder.encode_passages(texts).astype(np.float64)
            dense, lexical = c.dense.astype(np.float64), c.lexical.astype(np.float64)
            first = np.lexsort((ids, -fuse(dense, lexical, 0.5)))
            best_lexical = float(lexical.max()) if lexical.size else 0.0
            if features is not None:
                features.setdefault(part, {})[ext_id] = list_features(facts.text, dense, lexical)
            for m in sorted({point[0] for point in points}):
                top = first[:m]
                extra = expansion(pool, [texts[j] for j in top], facts.text)
                lex2 = pool.lexical.score(extra, [int(i) for i in ids]).astype(np.float64) if extra else \
                    np.zeros(len(ids))
                centroid = passages[top].mean(axis=0)
                for point in points:
                    if point[0] != m:
                        continue
                    _, beta, gamma, gate = point
                    if best_lexical >= gate:
                        beta = gamma = 0.0  # the list shares enough words with the pool: no feedback
                    moved = q + gamma * centroid
                    d2 = passages @ (moved / np.linalg.norm(moved)) if gamma else dense
                    fused = fuse(d2, lexical + beta * lex2, 0.5)
                    order = np.lexsort((ids, -fused))
                    ranking = [ext[int(i)] for i in ids[order][:k]]
                    out[part].setdefault(point, {})[ext_id] = ndcg_at(ranking, rel, k)
    return out


def choose(dev: dict[str, dict[Point, dict[str, float]]], no_worse: bool = False) -> tuple[Point, list[Any]]:
    """The grid point with the best mean over the sets of their dev nDCG@10 (each set weighing the same);
    ties go to the hybrid's side (smaller β and γ, then fewer profiles). ``no_worse``: only among the points
    no set's dev part ranks below the hybrid with (the issue's "never worse than plain retrieval")."""
    rows = mean_rows(dev)
    rows.sort(key=lambda r: (-round(r[0], 6), r[1][1] + r[1][2], r[1][0], -r[1][3]))
    hybrid = next(r[2] for r in rows if r[1] == HYBRID_POINT)
    allowed = [r for r in rows if not no_worse or all(r[2][k] >= hybrid[k] for k in hybrid)]
    return allowed[0][1], allowed


def main(argv: Sequence[str] = ()) -> None:
    dev: dict[str, dict[Point, dict[str, float]]] = {}
    test: dict[str, dict[Point, dict[str, float]]] = {}
    for name in DEV_SETS:
        print(f"scoring {name} …", file=sys.stderr)
        scored = score_set(EVAL_DIR / name, ("dev", "test"), gated="--gated" in argv)
        dev[name], test[name] = scored["dev"], scored["test"]
    if "--heldout" in argv:
        print("scoring heldout …", file=sys.stderr)
        test["heldout"] = score_set(EVAL_DIR / "heldout", ("test",), gated="--gated" in argv)["test"]
    chosen, rows = choose(dev, no_worse="--no-worse" in argv)
    print_dev(rows, HYBRID_POINT, 6, lambda p: f"m={p[0]} beta={p[1]:.2f} gamma={p[2]:.2f} gate={p[3]:.2f}")
    print(f"chosen on dev: m={chosen[0]} profiles fed back, beta={chosen[1]:.2f} (expansion's lexical weight), "
          f"gamma={chosen[2]:.2f} (Rocchio step), gate={chosen[3]:.2f} (best lexical cosine below which)")
    finish(test, chosen, HYBRID_POINT, "test parts (demo, small, csl: seen sets): nDCG@10 [95% CI], "
           "chosen − hybrid [95% CI], Wilcoxon p", "--json" in argv)


if __name__ == "__main__":
    main(sys.argv[1:])
