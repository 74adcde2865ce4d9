"""The feedback study's choice (``tools/prf_study``): the grid holds the hybrid once, the choice takes the best
mean of the sets' dev figures, and ``no_worse`` keeps only points no set ranks below the hybrid with."""

from __future__ import annotations

from matcher.tools.prf_study import HYBRID_POINT, choose, grid


def test_the_grid_holds_the_hybrid_once() -> None:
    plain, gated = grid(), grid(gated=True)
    assert plain.count(HYBRID_POINT) == 1 and gated.count(HYBRID_POINT) == 1
    assert not [p for p in gated if (p[1], p[2]) == (0.0, 0.0) and p != HYBRID_POINT]
    assert len(set(gated)) == len(gated) > len(plain)


def test_no_worse_refuses_a_point_that_costs_one_set() -> None:
    costly, safe = (3, 0.5, 1.0, float("inf")), (3, 0.5, 0.25, 0.25)
    dev = {"a": {HYBRID_POINT: {"q": 0.90}, costly: {"q": 0.80}, safe: {"q": 0.91}},
           "b": {HYBRID_POINT: {"q": 0.50}, costly: {"q": 0.70}, safe: {"q": 0.52}}}
    assert choose(dev)[0] == costly  # the best mean (0.75) although set a loses
    assert choose(dev, no_worse=True)[0] == safe
