"""Calibration and abstention (engine/calibration.py): the maps, their JSON, the metrics against cases
worked by hand, the threshold rule, and the committed map (models/calibration.json). No model runs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from matcher.config import PROJECT_ROOT
from matcher.engine import calibration as cal


def _sample(n: int = 4000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Scores in [0, 1] with P(relevant | s) = s: a sample whose true map is the identity."""
    rng = np.random.default_rng(seed)
    s = rng.uniform(0, 1, n)
    return s, (rng.uniform(0, 1, n) < s).astype(int)


@pytest.mark.parametrize("method", cal.METHODS)
def test_the_map_is_monotone_and_within_zero_and_one(method: str) -> None:
    s, y = _sample()
    m = cal.fit(method, s, y, "dense")
    grid = np.linspace(-1, 2, 1001)  # beyond the data on both sides
    p = m.probability(grid)
    assert np.all(np.diff(p) >= 0) and p.min() >= 0 and p.max() <= 1


def test_isotonic_follows_sklearn_and_clips_outside_the_data() -> None:
    from sklearn.isotonic import IsotonicRegression

    s, y = _sample(500, seed=1)
    m = cal.fit_isotonic(s, y, "dense")
    ref = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(s, y)
    grid = np.linspace(-0.5, 1.5, 777)
    assert np.allclose(m.probability(grid), ref.predict(grid), atol=1e-12)
    assert m.probability([-10.0])[0] == m.y[0] and m.probability([10.0])[0] == m.y[-1]


@pytest.mark.parametrize("method", cal.METHODS)
def test_the_json_round_trip_gives_the_same_probabilities_bit_for_bit(method: str, tmp_path: Path) -> None:
    s, y = _sample(800, seed=2)
    m = cal.fit(method, s * 0.1 + 0.8, y, "lexical", {"sets": ["x"]}).with_threshold(0.3, {"rule": "test"})
    path = tmp_path / "calibration.json"
    m.save(path)
    back = cal.Calibrator.load(path)
    grid = np.linspace(0.7, 1.0, 5001)
    assert np.array_equal(back.probability(grid), m.probability(grid))
    assert back == m
    text = path.read_text(encoding="utf-8")
    assert json.loads(text)["method"] == method  # plain JSON, no pickle
    data = json.loads(text)
    data["version"] = cal.VERSION + 1
    with pytest.raises(ValueError, match="version"):
        cal.Calibrator.from_dict(data)


def test_platt_recovers_a_logistic_curve() -> None:
    rng = np.random.default_rng(3)
    s = rng.uniform(0.8, 0.95, 20_000)
    y = (rng.uniform(0, 1, s.size) < 1 / (1 + np.exp(-(60 * s - 52)))).astype(int)
    m = cal.fit_platt(s, y, "dense")
    assert m.slope == pytest.approx(60, rel=0.1) and m.intercept == pytest.approx(-52, rel=0.1)


def test_a_bad_map_or_bad_data_is_refused() -> None:
    with pytest.raises(ValueError):
        cal.Calibrator("isotonic", "dense", x=(0.0, 1.0), y=(0.5, 0.2))
    with pytest.raises(ValueError):
        cal.Calibrator("spline", "dense")
    with pytest.raises(ValueError):
        cal.fit_isotonic([0.1, 0.2], [0, 2], "dense")
    with pytest.raises(ValueError):
        cal.fit_platt([0.1, 0.2], [1, 1], "dense")


def test_the_calibration_error_is_near_zero_when_calibrated_and_large_when_not() -> None:
    s, y = _sample(20_000, seed=4)
    assert cal.expected_calibration_error(s, y) < 0.02
    overconfident = np.where(s > 0.5, 0.99, 0.01)  # says 99 % where the truth is 50–100 %
    assert cal.expected_calibration_error(overconfident, y) > 0.2
    assert cal.expected_calibration_error(np.full(s.size, 0.9), y) == pytest.approx(abs(0.9 - y.mean()))


def test_the_calibration_error_and_the_bins_by_hand() -> None:
    p = np.array([0.05, 0.05, 0.55, 0.65, 1.0])
    y = np.array([0, 1, 1, 0, 1])
    bins = cal.reliability_bins(p, y)
    assert [(b.lo, b.count) for b in bins] == [(0.0, 2), (0.5, 1), (0.6, 1), (0.9, 1)]  # 1.0 in the last bin
    assert bins[0].mean_predicted == pytest.approx(0.05) and bins[0].observed == 0.5
    # (2·|0.05 − 0.5| + |0.55 − 1| + |0.65 − 0| + |1 − 1|) / 5
    assert cal.expected_calibration_error(p, y) == pytest.approx((0.9 + 0.45 + 0.65 + 0.0) / 5)


def test_brier_auc_and_the_base_rate_by_hand() -> None:
    p = np.array([0.9, 0.2, 0.6, 0.4])
    y = np.array([1, 0, 0, 1])
    assert cal.brier_score(p, y) == pytest.approx((0.01 + 0.04 + 0.36 + 0.36) / 4)
    # positives 0.9, 0.4; negatives 0.2, 0.6: pairs won 0.9>0.2, 0.9>0.6, 0.4>0.2, lost 0.4<0.6 → 3/4
    assert cal.roc_auc(p, y) == pytest.approx(0.75)
    assert cal.base_rate_brier(y) == pytest.approx(0.25)  # prevalence 0.5
    assert cal.base_rate_brier(y, rate=0.2) == pytest.approx((0.64 + 0.04 + 0.04 + 0.64) / 4)
    assert math.isnan(cal.roc_auc([0.1, 0.2], [1, 1]))
    r = cal.calibration_report(p, y)
    assert r["pairs"] == 4 and r["prevalence"] == 0.5 and r["brier"] == cal.brier_score(p, y)


def test_abstention_marks_a_list_whose_best_is_below_the_threshold() -> None:
    m = cal.Calibrator("isotonic", "lexical", x=(0.0, 0.1, 0.3), y=(0.0, 0.2, 0.9), threshold=0.5)
    assert m.no_suitable_expert([0.05, 0.08])  # best p = 0.16
    assert not m.no_suitable_expert([0.05, 0.3])  # best p = 0.9
    assert m.no_suitable_expert([])  # nobody found at all
    assert not m.with_threshold(None).no_suitable_expert([0.0])
    assert cal.abstains(0.49, 0.5) and not cal.abstains(0.5, 0.5)
    assert list(cal.abstains(np.array([0.1, 0.7]), 0.5)) == [True, False]

    class Row:
        lexical = 0.3

    assert m.scores_of([Row(), Row()]).tolist() == [0.3, 0.3]


def test_the_threshold_is_the_largest_within_the_false_mark_limit_on_every_set() -> None:
    normal = {"a": np.arange(1, 21) / 20, "b": np.array([0.3, 0.6, 0.7, 0.8, 0.9])}
    removed = {"a": np.array([0.01, 0.02, 0.5]), "b": np.array([0.05, 0.2])}
    # a: 20 lists, at most 1 false mark → t = 0.10 (0.05 below it); b: 5 lists, none → t = 0.3
    assert cal.largest_admissible_threshold(normal["a"], 0.05) == pytest.approx(0.10)
    assert cal.largest_admissible_threshold(normal["b"], 0.05) == pytest.approx(0.3)
    c = cal.choose_threshold(normal, removed, max_false=0.05, min_marked=0.6)
    assert c.threshold == pytest.approx(0.10)
    assert c.false_marks == {"a": pytest.approx(0.05), "b": 0.0}
    assert c.marked == {"a": pytest.approx(2 / 3), "b": 0.5} and not c.met  # b marks 1 of 2 < 0.6
    assert cal.choose_threshold(normal, removed, 0.05, 0.5).met
    # a limit that lets every list be marked gives a threshold above every probability
    assert cal.choose_threshold({"a": np.array([0.5])}, {"a": np.array([0.2])}, max_false=1.0).threshold > 1.0


def test_the_committed_map_loads_and_is_a_probability_non_decreasing_in_the_score() -> None:
    m = cal.Calibrator.load(PROJECT_ROOT / "models" / "calibration.json")
    assert m.method in cal.METHODS and m.score in ("dense", "lexical", "semantic", "score")
    assert m.threshold is not None and 0 < m.threshold <= 1
    assert m.fitted_on["parts"] == "dev" and "heldout" not in m.fitted_on["sets"]
    lo = min(m.x) if m.x else -1.0
    hi = max(m.x) if m.x else 2.0
    p = m.probability(np.linspace(lo - 1, hi + 1, 10_001))
    assert p.min() >= 0 and p.max() <= 1 and np.all(np.diff(p) >= 0)
    assert p[-1] > p[0]  # the score says something
