"""Study 6 (issue "Relevance that beats plain retrieval", item 4): when to apply query expansion, decided by
a small fitted model of the list instead of a hand threshold.

Study 4's feedback (``tools/prf_study``: m = 3 profiles fed back, β = 0.5, γ = 1.0) lifted CSL and cost the
demo set; study 5's gate on one property (the best lexical cosine) kept the demo set level and gave most of
CSL's gain back. Here a logistic regression reads the list's properties known before re-ranking
(``prf_study.list_features``: the demand's length, the best and the mean top-10 lexical cosine, the best
dense cosine, the dense head's margin and spread, the agreement of the two sides' top 10) and predicts
whether feedback raises the list's nDCG@10 over the hybrid's. Feedback is applied where the predicted
probability reaches a threshold.

Protocol: development parts only for every choice. The model is fitted on the lists where feedback changes
nDCG@10 (each set weighing the same); the threshold is chosen on out-of-fold probabilities, each set's lists
predicted by a model fitted on the *other two sets* (the gate must carry to a set it has not seen); the
final model is fitted on the three dev parts and reported once on the test parts — *seen* sets, labelled so
— against the hybrid. The held-out set is read only with ``--heldout``.

Studies 4 and 5's chosen points are scored beside it, so ``--heldout`` reads the held-out set once for all
three choices.

``python -m matcher.tools.gate_study [--no-worse] [--heldout] [--json]`` (about four minutes on 2 cores,
vectors from the cache)."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from matcher.tools.prf_study import DEV_SETS, HYBRID_POINT, Point, score_set
from matcher.tools.splits import EVAL_DIR
from matcher.tools.study_report import finish

FEEDBACK_POINT: Point = (3, 0.5, 1.0, float("inf"))  # study 4's choice on the dev parts
LEXICAL_GATE_POINT: Point = (3, 0.5, 0.25, 0.25)  # study 5's choice (``--no-worse``), reported beside it
FEATURES: tuple[str, ...] = ("log_length", "best_lexical", "lexical_top10", "dense_top1", "dense_margin",
                             "dense_spread", "agreement")
THRESHOLDS: tuple[float, ...] = tuple(round(t, 2) for t in np.arange(0.30, 0.76, 0.05))
GATED = "gated"

#: set → demand → (features, hybrid nDCG@10, feedback nDCG@10)
Lists = dict[str, dict[str, tuple[dict[str, float], float, float]]]


def lists_of(scores: Mapping[Point, Mapping[str, float]], features: Mapping[str, dict[str, float]]
             ) -> dict[str, tuple[dict[str, float], float, float]]:
    return {q: (features[q], scores[HYBRID_POINT][q], scores[FEEDBACK_POINT][q]) for q in scores[HYBRID_POINT]}


def fit(lists: Lists) -> Any:
    """The gate fitted on these sets' lists where feedback changes nDCG@10 (label: it helps), each set
    weighing the same; None when one class is missing."""
    X, y, w = [], [], []
    for per_set in lists.values():
        changed = [(f, fb > h) for f, h, fb in per_set.values() if fb != h]
        for f, helps in changed:
            X.append([f[name] for name in FEATURES])
            y.append(int(helps))
            w.append(1.0 / len(changed))
    if len(set(y)) < 2:
        return None
    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))
    model.fit(np.array(X), np.array(y), logisticregression__sample_weight=np.array(w))
    return model


def probabilities(model: Any, per_set: Mapping[str, tuple[dict[str, float], float, float]]) -> dict[str, float]:
    """P(feedback helps) for each list (0 without a model: never apply)."""
    if model is None or not per_set:
        return dict.fromkeys(per_set, 0.0)
    ids = sorted(per_set)
    p = model.predict_proba(np.array([[per_set[q][0][name] for name in FEATURES] for q in ids]))[:, 1]
    return dict(zip(ids, p.tolist(), strict=True))


def gated(per_set: Mapping[str, tuple[dict[str, float], float, float]], p: Mapping[str, float], threshold: float
          ) -> dict[str, float]:
    """Each list's nDCG@10 when feedback is applied where P(helps) ≥ ``threshold``."""
    return {q: (fb if p[q] >= threshold else h) for q, (_, h, fb) in per_set.items()}


def choose_threshold(dev: Lists, no_worse: bool = False) -> tuple[float, list[tuple[float, dict[str, float]]]]:
    """The threshold with the best mean over the sets of their out-of-fold dev nDCG@10 (each set predicted
    by the gate fitted on the others); ties go to the higher threshold (fewer lists changed). ``no_worse``:
    only thresholds no set's dev part falls below the hybrid with. Returns it and every threshold's figures."""
    oof = {name: probabilities(fit({k: v for k, v in dev.items() if k != name}), per_set)
           for name, per_set in dev.items()}
    hybrid = {name: float(np.mean([h for _, h, _ in per_set.values()])) for name, per_set in dev.items()}
    rows = []
    for t in THRESHOLDS:
        per = {name: float(np.mean(list(gated(per_set, oof[name], t).values()))) for name, per_set in dev.items()}
        rows.append((t, per))
    allowed = [r for r in rows if not no_worse or all(r[1][k] >= hybrid[k] for k in hybrid)]
    if not allowed:
        return float("inf"), rows
    best = max(allowed, key=lambda r: (round(float(np.mean(list(r[1].values()))), 6), r[0]))
    return best[0], rows


def main(argv: Sequence[str] = ()) -> None:
    points = [HYBRID_POINT, FEEDBACK_POINT, LEXICAL_GATE_POINT]
    dev: Lists = {}
    test: Lists = {}
    study: dict[str, dict[Point, dict[str, float]]] = {}  # the test parts' figures of every point scored
    names = list(DEV_SETS) + (["heldout"] if "--heldout" in argv else [])
    for name in names:
        print(f"scoring {name} …", file=sys.stderr)
        features: dict[str, dict[str, dict[str, float]]] = {}
        parts = ("test",) if name == "heldout" else ("dev", "test")
        scored = score_set(EVAL_DIR / name, parts, points=points, features=features)
        if name != "heldout":
            dev[name] = lists_of(scored["dev"], features["dev"])
        test[name] = lists_of(scored["test"], features["test"])
        study[name] = scored["test"]
    hybrid = {name: float(np.mean([h for _, h, _ in per_set.values()])) for name, per_set in dev.items()}
    feedback = {name: float(np.mean([fb for _, _, fb in per_set.values()])) for name, per_set in dev.items()}
    threshold, rows = choose_threshold(dev, no_worse="--no-worse" in argv)
    print("development parts, nDCG@10 (gated: out-of-fold, each set's gate fitted on the other two sets)")
    for label, per in [("hybrid", hybrid), ("feedback on every list", feedback),
                       *((f"gate ≥ {t:.2f}", figures) for t, figures in rows)]:
        print(f"  {label}: " + ", ".join(f"{k} {v:.4f}" for k, v in per.items())
              + f"; mean {np.mean(list(per.values())):.4f}")
    model = fit(dev)
    coefficients = model[-1].coef_[0] if model is not None else np.zeros(len(FEATURES))
    print(f"chosen on dev: threshold {threshold:.2f}; the gate fitted on the three dev parts, standardised "
          "coefficients: " + ", ".join(f"{n} {c:+.2f}" for n, c in zip(FEATURES, coefficients, strict=True)))
    report: dict[str, dict[Any, dict[str, float]]] = {}
    for name, per_set in test.items():
        p = probabilities(model, per_set)
        report[name] = {HYBRID_POINT: {q: h for q, (_, h, _) in per_set.items()},
                        GATED: gated(per_set, p, threshold), FEEDBACK_POINT: study[name][FEEDBACK_POINT],
                        LEXICAL_GATE_POINT: study[name][LEXICAL_GATE_POINT]}
        applied = sum(1 for q in per_set if p[q] >= threshold)
        print(f"  {name} test: feedback applied to {applied} of {len(per_set)} lists", file=sys.stderr)
    seen = "test parts (demo, small, csl: seen sets" + ("; heldout: unseen" if "--heldout" in argv else "") + ")"
    finish(report, FEEDBACK_POINT, HYBRID_POINT, f"study 4, feedback on every list — {seen}: nDCG@10 [95% CI], "
           "feedback − hybrid [95% CI], Wilcoxon p", "--json" in argv)
    finish(report, LEXICAL_GATE_POINT, HYBRID_POINT, f"study 5, feedback below a lexical floor — {seen}",
           "--json" in argv)
    finish(report, GATED, HYBRID_POINT, f"study 6, the fitted gate — {seen}: nDCG@10 [95% CI], gated − hybrid "
           "[95% CI], Wilcoxon p", "--json" in argv)


if __name__ == "__main__":
    main(sys.argv[1:])
