"""Study 6's choices (``tools/gate_study``): the gate learns from the lists where feedback changes the figure,
its threshold is chosen out of fold (each set predicted by a gate fitted on the other sets), and a list under
the threshold keeps the hybrid's figure."""

from __future__ import annotations

import numpy as np

from matcher.tools.gate_study import FEATURES, choose_threshold, fit, gated, probabilities


def _list(short: bool, helps: bool) -> tuple[dict[str, float], float, float]:
    """A list whose features say 'short demand, few shared words' when ``short``; feedback's figure after."""
    f = dict.fromkeys(FEATURES, 0.5)
    f["log_length"], f["best_lexical"] = (2.0, 0.1) if short else (5.0, 0.6)
    return f, 0.5, 0.7 if helps else 0.3


def _set(n: int, seed: int) -> dict[str, tuple[dict[str, float], float, float]]:
    rng = np.random.default_rng(seed)
    out = {}
    for i in range(n):
        short = bool(i % 2)
        features, h, fb = _list(short, helps=short)  # feedback helps exactly the short lists
        out[f"q{i}"] = ({k: v + float(rng.normal(0, 0.05)) for k, v in features.items()}, h, fb)
    return out


def test_the_gate_applies_feedback_where_it_helped_on_other_sets() -> None:
    dev = {"a": _set(40, 1), "b": _set(40, 2), "c": _set(40, 3)}
    threshold, rows = choose_threshold(dev)
    assert 0.3 <= threshold <= 0.75 and len(rows) > 3
    model = fit(dev)
    unseen = _set(20, 4)
    scores = gated(unseen, probabilities(model, unseen), threshold)
    # every short list gets feedback (0.7), every long one keeps the hybrid (0.5): never feedback's 0.3
    assert sorted(set(scores.values())) == [0.5, 0.7]
    assert all(scores[q] == (0.7 if int(q[1:]) % 2 else 0.5) for q in unseen)


def test_without_both_outcomes_no_gate_is_fitted_and_nothing_changes() -> None:
    only_losses = {"a": {f"q{i}": _list(True, helps=False) for i in range(5)}}
    model = fit(only_losses)
    assert model is None
    assert set(gated(only_losses["a"], probabilities(model, only_losses["a"]), 0.5).values()) == {0.5}


def test_no_worse_refuses_every_threshold_that_costs_a_set() -> None:
    """Feedback helps the short lists of sets a and c a lot and costs set b's a little; it always costs long
    lists. Out of fold, b's gate (fitted on a and c) applies it to b's short lists: the best mean threshold
    costs b, and ``no_worse`` refuses it."""
    def one(short_gain: float) -> dict[str, tuple[dict[str, float], float, float]]:
        out = {}
        for i in range(20):
            features, h, _ = _list(bool(i % 2), helps=True)
            out[f"q{i}"] = (features, h, h + short_gain if i % 2 else 0.3)
        return out

    dev = {"a": one(0.4), "b": one(-0.1), "c": one(0.4)}
    best, rows = choose_threshold(dev)
    safe, _ = choose_threshold(dev, no_worse=True)
    by_t = dict(rows)
    hybrid_b = float(np.mean([h for _, h, _ in dev["b"].values()]))  # 0.5, as every set's
    assert by_t[best]["b"] < hybrid_b and np.mean(list(by_t[best].values())) > 0.5  # the best mean costs set b
    assert safe != best and (safe == float("inf") or by_t[safe]["b"] >= hybrid_b)
