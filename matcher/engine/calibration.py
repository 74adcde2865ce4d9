"""Calibration and abstention (issue "relevance", item 5): what a ranking score means as a chance, and when
a list should say that nobody in the pool fits.

A ranking orders candidates; it does not say whether the best of them is any good. The calibrator maps one
score of a (demand, talent) pair — the field of ``RankedTalent`` named by ``Calibrator.score`` — to
P(relevant), relevant being grade ≥ 1 as in ``engine/metrics.py``; a list whose best probability is below
``Calibrator.threshold`` is marked "no suitable expert in the pool". Both were fitted and chosen by
``python -m matcher.tools.calibration_study`` on the development parts of the relevance sets and are kept in
``models/calibration.json`` (docs/relevance.md, "Calibration and abstention").

Two maps: isotonic regression (a non-decreasing step function, linear between its thresholds, clipped
outside them) and Platt scaling (a logistic curve in the score). Either is stored as plain JSON — the
isotonic thresholds or the two logistic coefficients, the score it applies to, what it was fitted on — never
as a pickle: the file is read by whatever version of the code loads it and is reviewed as text.

A leaf of the engine: numpy and scikit-learn only, no database, no model."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

VERSION = 1
METHODS: tuple[str, ...] = ("isotonic", "platt")
#: Equal-width bins of predicted probability for the reliability diagram and the calibration error.
BINS = 10


# ------------------------------------------------------------------ the map
@dataclass(frozen=True)
class Calibrator:
    """Score → P(relevant). ``x``/``y``: the isotonic thresholds (``method == "isotonic"``); ``slope`` and
    ``intercept``: the logistic curve on the raw score (``method == "platt"``). ``threshold``: a list whose
    best probability is below it is marked "no suitable expert in the pool" (None: never marked)."""

    method: str
    score: str
    x: tuple[float, ...] = ()
    y: tuple[float, ...] = ()
    slope: float = 0.0
    intercept: float = 0.0
    threshold: float | None = None
    fitted_on: Mapping[str, Any] = field(default_factory=dict)
    abstention: Mapping[str, Any] = field(default_factory=dict)
    version: int = VERSION

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown calibration method '{self.method}' (one of {', '.join(METHODS)})")
        if self.method == "isotonic":
            if not self.x or len(self.x) != len(self.y):
                raise ValueError("an isotonic calibrator needs thresholds x and y of the same, non-zero length")
            if any(b < a for a, b in zip(self.x, self.x[1:], strict=False)) or any(
                    b < a for a, b in zip(self.y, self.y[1:], strict=False)):
                raise ValueError("isotonic thresholds must be non-decreasing in x and in y")

    def probability(self, scores: np.ndarray | Sequence[float]) -> np.ndarray:
        """P(relevant) of each score, in [0, 1] and non-decreasing in the score."""
        s = np.asarray(scores, dtype=np.float64)
        if self.method == "isotonic":
            # np.interp clips to the end values outside [x0, xn]: sklearn's out_of_bounds="clip".
            return np.clip(np.interp(s, np.asarray(self.x), np.asarray(self.y)), 0.0, 1.0)
        z = np.clip(self.slope * s + self.intercept, -500.0, 500.0)
        return 1.0 / (1.0 + np.exp(-z))

    def scores_of(self, rows: Iterable[Any]) -> np.ndarray:
        """The calibrated score of each ranked row (``RankedTalent`` or anything with that attribute)."""
        return np.fromiter((float(getattr(r, self.score)) for r in rows), dtype=np.float64)

    def best_probability(self, scores: np.ndarray | Sequence[float]) -> float:
        """The list's best probability (0 for an empty list: nobody was found)."""
        p = self.probability(scores)
        return float(p.max()) if p.size else 0.0

    def no_suitable_expert(self, scores: np.ndarray | Sequence[float]) -> bool:
        """Whether a list with these scores (its shown items) is marked "no suitable expert in the pool"."""
        return self.threshold is not None and abstains(self.best_probability(scores), self.threshold)

    def with_threshold(self, threshold: float | None, abstention: Mapping[str, Any] | None = None) -> Calibrator:
        return Calibrator(self.method, self.score, self.x, self.y, self.slope, self.intercept, threshold,
                          dict(self.fitted_on), dict(abstention or {}), self.version)

    # ------------------------------------------------------------ JSON
    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"version": self.version, "method": self.method, "score": self.score}
        if self.method == "isotonic":
            out["x"] = list(self.x)
            out["y"] = list(self.y)
        else:
            out["slope"] = self.slope
            out["intercept"] = self.intercept
        out["threshold"] = self.threshold
        out["abstention"] = dict(self.abstention)
        out["fitted_on"] = dict(self.fitted_on)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Calibrator:
        version = int(data.get("version", 0))
        if version != VERSION:
            raise ValueError(f"calibration file version {version}, this code reads version {VERSION}")
        threshold = data.get("threshold")
        return cls(method=str(data["method"]), score=str(data["score"]),
                   x=tuple(float(v) for v in data.get("x", ())), y=tuple(float(v) for v in data.get("y", ())),
                   slope=float(data.get("slope", 0.0)), intercept=float(data.get("intercept", 0.0)),
                   threshold=None if threshold is None else float(threshold),
                   fitted_on=dict(data.get("fitted_on", {})), abstention=dict(data.get("abstention", {})),
                   version=version)

    def save(self, path: Path) -> None:
        """JSON; floats are written by ``repr`` and read back to the same bits."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.as_dict(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Calibrator:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


def fit_isotonic(scores: np.ndarray | Sequence[float], labels: np.ndarray | Sequence[int], score: str,
                 fitted_on: Mapping[str, Any] | None = None) -> Calibrator:
    """Isotonic regression of the 0/1 labels on the score (non-decreasing, clipped outside the data)."""
    from sklearn.isotonic import IsotonicRegression

    s, y = _check(scores, labels)
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip").fit(s, y)
    return Calibrator("isotonic", score, x=tuple(float(v) for v in iso.X_thresholds_),
                      y=tuple(float(v) for v in iso.y_thresholds_), fitted_on=dict(fitted_on or {}))


def fit_platt(scores: np.ndarray | Sequence[float], labels: np.ndarray | Sequence[int], score: str,
              fitted_on: Mapping[str, Any] | None = None) -> Calibrator:
    """Platt scaling: an unregularised logistic regression of the labels on the score, fitted on the
    standardised score (the cosines sit in a narrow band) and stored on the raw one."""
    from sklearn.linear_model import LogisticRegression

    s, y = _check(scores, labels)
    if len(np.unique(y)) < 2:
        raise ValueError("Platt scaling needs both relevant and non-relevant pairs")
    mu, sd = float(s.mean()), float(s.std()) or 1.0
    lr = LogisticRegression(C=np.inf, max_iter=1000).fit(((s - mu) / sd)[:, None], y)
    a, b = float(lr.coef_[0, 0]), float(lr.intercept_[0])
    return Calibrator("platt", score, slope=a / sd, intercept=b - a * mu / sd, fitted_on=dict(fitted_on or {}))


def fit(method: str, scores: np.ndarray | Sequence[float], labels: np.ndarray | Sequence[int], score: str,
        fitted_on: Mapping[str, Any] | None = None) -> Calibrator:
    if method == "isotonic":
        return fit_isotonic(scores, labels, score, fitted_on)
    if method == "platt":
        return fit_platt(scores, labels, score, fitted_on)
    raise ValueError(f"unknown calibration method '{method}' (one of {', '.join(METHODS)})")


def _check(scores: np.ndarray | Sequence[float], labels: np.ndarray | Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(labels, dtype=np.float64).ravel()
    if s.shape != y.shape or not s.size:
        raise ValueError("scores and labels must be non-empty and of the same length")
    if not np.all(np.isfinite(s)):
        raise ValueError("scores must be finite")
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("labels must be 0 or 1")
    return s, y


# ------------------------------------------------------------------ how good a probability is
@dataclass(frozen=True)
class ReliabilityBin:
    """One bin of the reliability diagram: predicted probabilities in [lo, hi) (the last bin includes 1)."""

    lo: float
    hi: float
    mean_predicted: float
    observed: float
    count: int


def _pairs(probabilities: np.ndarray | Sequence[float],
           labels: np.ndarray | Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(probabilities, dtype=np.float64).ravel()
    y = np.asarray(labels, dtype=np.float64).ravel()
    if p.shape != y.shape:
        raise ValueError("probabilities and labels must have the same length")
    return p, y


def reliability_bins(probabilities: np.ndarray | Sequence[float], labels: np.ndarray | Sequence[int],
                     bins: int = BINS) -> list[ReliabilityBin]:
    """The non-empty equal-width bins: mean predicted probability, observed frequency of relevance, count."""
    p, y = _pairs(probabilities, labels)
    idx = np.minimum((np.clip(p, 0.0, 1.0) * bins).astype(np.int64), bins - 1)
    out = []
    for b in range(bins):
        inside = idx == b
        n = int(inside.sum())
        if n:
            out.append(ReliabilityBin(b / bins, (b + 1) / bins, float(p[inside].mean()), float(y[inside].mean()), n))
    return out


def expected_calibration_error(probabilities: np.ndarray | Sequence[float], labels: np.ndarray | Sequence[int],
                               bins: int = BINS) -> float:
    """Σ over the equal-width bins of (count / N) · |mean predicted − observed frequency|; nan when empty."""
    p, _ = _pairs(probabilities, labels)
    if not p.size:
        return float("nan")
    return float(sum(b.count * abs(b.mean_predicted - b.observed) for b in reliability_bins(probabilities, labels,
                                                                                            bins)) / p.size)


def brier_score(probabilities: np.ndarray | Sequence[float], labels: np.ndarray | Sequence[int]) -> float:
    """Mean squared difference between the probability and the 0/1 label (lower is better)."""
    p, y = _pairs(probabilities, labels)
    return float(np.mean((p - y) ** 2)) if p.size else float("nan")


def base_rate_brier(labels: np.ndarray | Sequence[int], rate: float | None = None) -> float:
    """The Brier score of a constant prediction: ``rate``, or the labels' own prevalence (the best constant
    in hindsight, so the hardest base rate to beat)."""
    y = np.asarray(labels, dtype=np.float64).ravel()
    if not y.size:
        return float("nan")
    r = float(y.mean()) if rate is None else float(rate)
    return float(np.mean((r - y) ** 2))


def roc_auc(probabilities: np.ndarray | Sequence[float], labels: np.ndarray | Sequence[int]) -> float:
    """Area under the ROC curve (scikit-learn); nan when the labels hold one class only."""
    from sklearn.metrics import roc_auc_score

    p, y = _pairs(probabilities, labels)
    if len(np.unique(y)) < 2:
        return float("nan")
    return float(roc_auc_score(y, p))


def calibration_report(probabilities: np.ndarray | Sequence[float], labels: np.ndarray | Sequence[int],
                       bins: int = BINS) -> dict[str, Any]:
    """ECE, Brier, the base rate's Brier, AUC, prevalence and the reliability bins of one sample."""
    p, y = _pairs(probabilities, labels)
    return {"pairs": int(p.size), "prevalence": float(y.mean()) if y.size else float("nan"),
            "ece": expected_calibration_error(p, y, bins), "brier": brier_score(p, y),
            "base_brier": base_rate_brier(y), "auc": roc_auc(p, y), "bins": reliability_bins(p, y, bins)}


# ------------------------------------------------------------------ abstention
def abstains(best_probability: float | np.ndarray, threshold: float) -> Any:
    """A list is marked "no suitable expert in the pool" when its best probability is below the threshold."""
    return np.asarray(best_probability) < threshold if isinstance(best_probability, np.ndarray) \
        else bool(best_probability < threshold)


def marked_share(best: np.ndarray | Sequence[float], threshold: float) -> float:
    b = np.asarray(best, dtype=np.float64)
    return float(np.mean(b < threshold)) if b.size else float("nan")


@dataclass(frozen=True)
class ThresholdChoice:
    """The threshold and, per set, the share of normal lists marked (false marks) and of lists whose
    relevant talents were removed that were marked (the lists that should be)."""

    threshold: float
    max_false: float
    min_marked: float
    false_marks: dict[str, float]
    marked: dict[str, float]
    met: bool  # every set within max_false and marking at least min_marked


def largest_admissible_threshold(normal_best: np.ndarray | Sequence[float], max_false: float) -> float:
    """The largest t with share(best < t) ≤ max_false on these normal lists (inf when every list may be
    marked). Sorted bests v and m = ⌊max_false · n⌋: fewer than m + 1 lists are below v[m], and any larger t
    puts v[m] below it too."""
    v = np.sort(np.asarray(normal_best, dtype=np.float64))
    m = math.floor(max_false * v.size + 1e-9)
    return float(v[m]) if m < v.size else math.inf


def choose_threshold(normal_best: Mapping[str, np.ndarray | Sequence[float]],
                     removed_best: Mapping[str, np.ndarray | Sequence[float]], max_false: float = 0.05,
                     min_marked: float = 0.80) -> ThresholdChoice:
    """The largest threshold whose false-mark share is at most ``max_false`` on *every* set (marking grows
    with the threshold, so this marks the most lists within the limit); a pooled limit would let the largest
    set decide. ``met`` says whether it also marks at least ``min_marked`` of each set's removed lists."""
    if not normal_best:
        raise ValueError("no normal lists to choose a threshold on")
    t = min(largest_admissible_threshold(v, max_false) for v in normal_best.values())
    if math.isinf(t):
        t = 1.0 + 1e-12  # every list may be marked: above any probability
    false = {k: marked_share(v, t) for k, v in normal_best.items()}
    marked = {k: marked_share(v, t) for k, v in removed_best.items()}
    met = all(f <= max_false for f in false.values()) and all(m >= min_marked for m in marked.values())
    return ThresholdChoice(t, max_false, min_marked, false, marked, met)
