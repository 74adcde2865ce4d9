"""What a ranked list means as a chance: each proposal's calibrated probability that the talent's expertise
fits the demand, and the list's verdict — "no suitable expert in the pool" when even its best eligible
proposal is unlikely to fit (issue "relevance", item 5; docs/relevance.md "Calibration and abstention").

The calibrator (``engine/calibration.py``) was fitted on expertise labels, which know nothing of a mode's
rules: the probability is the expertise's, and the mode's eligibility applies after it — the verdict looks at
the eligible proposals among the list's first ``top_k`` (the depth it was fitted on), so a list is not called
empty because the best expert is excluded, nor full because an excluded one fits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from matcher.config import get_settings
from matcher.engine.calibration import Calibrator
from matcher.engine.explain import Explanation

#: The list depth the calibrator's threshold was chosen at when its file does not say.
DEFAULT_TOP_K = 20


class Scored(Protocol):
    """A ranked row (``RankedTalent``) or its explanation: both carry the raw scores and eligibility."""

    @property
    def eligible(self) -> bool: ...


@dataclass(frozen=True)
class Verdict:
    """The list's best eligible probability among its first ``top_k``, and whether that is below the
    threshold ("no suitable expert in the pool")."""

    best_probability: float | None
    no_suitable_expert: bool
    threshold: float | None
    top_k: int


@lru_cache(maxsize=4)
def _load(path: Path | None) -> Calibrator | None:
    if path is None or not path.exists():
        return None
    return Calibrator.load(path)


def calibrator() -> Calibrator | None:
    """The deployment's calibrator (``Settings.calibration_file``), read once; None when there is none."""
    return _load(get_settings().calibration_file)


def depth(cal: Calibrator | None) -> int:
    """How many of a list's first proposals the verdict looks at."""
    if cal is None:
        return 0
    return int(cal.fitted_on.get("top_k", DEFAULT_TOP_K))


def probabilities(cal: Calibrator | None, explanations: Sequence[Explanation]) -> list[float | None]:
    """Each proposal's P(relevant) of its expertise (None without a calibrator)."""
    if cal is None:
        return [None] * len(explanations)
    values = cal.probability([float(getattr(e, cal.score)) for e in explanations])
    return [round(float(v), 4) for v in values]


def verdict(cal: Calibrator | None, head: Sequence[Scored]) -> Verdict:
    """The verdict on a list whose first rows are ``head`` (in rank order, excluded ones included or not)."""
    if cal is None:
        return Verdict(None, False, None, 0)
    k = depth(cal)
    scores = [float(getattr(e, cal.score)) for e in head[:k] if e.eligible]
    return Verdict(round(cal.best_probability(scores), 4), cal.no_suitable_expert(scores), cal.threshold, k)
