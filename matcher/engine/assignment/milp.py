"""Exact solver: a two-stage mixed-integer programme solved by HiGHS (``scipy.optimize.milp``).

Variables x_c ∈ {0, 1}, one per usable candidate c = (demand, talent, mode), plus the floor z.
Constraints: per demand Σ x ≤ w_d; per (talent, mode) Σ x ≤ capacity; per talent Σ x ≤ total
capacity; per (demand, talent) Σ_mode x ≤ 1; required pairs Σ_mode x = 1.
Stage 1 finds the largest floor z with Σ_{c ∈ d} s_c x_c ≥ w_d z for every demand (the worst demand's
quality); stage 2 keeps that floor and maximises Σ s_c x_c (see ``solve`` for how stage 1 is searched).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from matcher.engine.assignment.problem import Assignment, AssignmentProblem, Candidate


def _rows(groups: Mapping[Any, list[int]], n: int) -> sp.csr_matrix:
    data, rows, cols = [], [], []
    for r, members in enumerate(groups.values()):
        rows += [r] * len(members)
        cols += members
        data += [1.0] * len(members)
    return sp.csr_matrix((data, (rows, cols)), shape=(len(groups), n))


@dataclass
class _Model:
    """The programme's parts shared by both stages (column n is the floor z)."""

    cands: list[Candidate]
    scores: np.ndarray
    constraints: list[LinearConstraint]
    quality: sp.csr_matrix  # per demand: Σ s_c x_c
    wanted: np.ndarray

    @property
    def n(self) -> int:
        return len(self.cands)


def _with_z(m: sp.csr_matrix, zcoef: np.ndarray | None = None) -> sp.csr_matrix:
    z = sp.csr_matrix(zcoef.reshape(-1, 1)) if zcoef is not None else sp.csr_matrix((m.shape[0], 1))
    return sp.hstack([m, z], format="csr")


def _model(p: AssignmentProblem, cands: list[Candidate]) -> _Model:
    """Capacity, per-demand, one-mode-per-pair and required-pair constraints, and the quality rows."""
    n = len(cands)
    by_demand: dict[object, list[int]] = defaultdict(list)
    by_talent_mode: dict[object, list[int]] = defaultdict(list)
    by_talent: dict[object, list[int]] = defaultdict(list)
    by_pair: dict[object, list[int]] = defaultdict(list)
    for i, c in enumerate(cands):
        by_demand[c.demand_id].append(i)
        by_talent_mode[(c.talent_id, c.mode)].append(i)
        by_talent[c.talent_id].append(i)
        by_pair[(c.demand_id, c.talent_id)].append(i)
    demands = [d for d in sorted(p.wanted) if p.wanted[d] > 0]
    cons = []
    dem_rows = _rows({d: by_demand.get(d, []) for d in demands}, n)
    cons.append(LinearConstraint(_with_z(dem_rows), -np.inf, [p.wanted[d] for d in demands]))
    tm_keys = list(by_talent_mode)
    cons.append(LinearConstraint(_with_z(_rows({k: by_talent_mode[k] for k in tm_keys}, n)), -np.inf,
                                 [p.capacity[k] for k in tm_keys]))  # type: ignore[index]
    t_keys = list(by_talent)
    cons.append(LinearConstraint(_with_z(_rows({k: by_talent[k] for k in t_keys}, n)), -np.inf,
                                 [p.total_capacity[k] for k in t_keys]))  # type: ignore[index]
    multi = {k: v for k, v in by_pair.items() if len(v) > 1}
    if multi:
        cons.append(LinearConstraint(_with_z(_rows(multi, n)), -np.inf, 1))
    forced = {k: by_pair[k] for k in sorted(p.forced) if k in by_pair}
    if forced:
        cons.append(LinearConstraint(_with_z(_rows(forced, n)), 1, 1))
    scores = np.array([max(0.0, c.score) for c in cands])
    # quality rows: Σ s x − w_d z ≥ 0 (stage 1) / ≥ w_d (z* − tol) (stage 2)
    quality = dem_rows.multiply(scores.reshape(1, -1)).tocsr()
    return _Model(cands, scores, cons, quality, np.array([p.wanted[d] for d in demands], dtype=float))


def solve(p: AssignmentProblem, time_limit: float = 120.0, tolerance: float = 1e-3) -> Assignment:
    t0 = time.perf_counter()
    cands = p.usable()
    if not cands:
        return Assignment("milp", [], "empty", 0.0, 0.0)
    m = _model(p, cands)
    n = m.n
    integrality = np.concatenate([np.ones(n), [0]])
    bounds = Bounds(np.zeros(n + 1), np.concatenate([np.ones(n), [np.inf]]))
    opts = {"time_limit": time_limit / 2, "disp": False, "mip_rel_gap": 1e-6}

    # Stage 1, the floor: the LP relaxation gives an upper bound z_LP on the best floor z*. Solving the
    # max-min MILP directly is slow (35 s for 300 demands here; its many alternative optima defeat
    # branch and bound), so the floor is searched below z_LP: each step asks stage 2's MILP (maximise
    # the total subject to every demand's quality ≥ z) whether z is reachable. The floor found is
    # within ``tolerance`` (relative) of z*.
    c1 = np.zeros(n + 1)
    c1[-1] = -1.0
    relaxed = milp(c1, constraints=[*m.constraints, LinearConstraint(_with_z(m.quality, -m.wanted), 0, np.inf)],
                   integrality=np.zeros(n + 1), bounds=bounds, options=opts)
    if relaxed.x is None:
        return Assignment("milp", [], f"stage 1 failed: {relaxed.message}", time.perf_counter() - t0)
    bounds2 = Bounds(np.zeros(n + 1), np.concatenate([np.ones(n), [0.0]]))
    c2 = np.concatenate([-m.scores, [0.0]])

    def attempt(z: float) -> Any:
        floor_rows = LinearConstraint(_with_z(m.quality), m.wanted * max(0.0, z), np.inf)
        r = milp(c2, constraints=[*m.constraints, floor_rows], integrality=integrality, bounds=bounds2,
                 options=opts)
        return r if r.x is not None else None

    found = _floor_search(attempt, float(relaxed.x[-1]), tolerance, t0, time_limit)
    if found is None:
        return Assignment("milp", [], "infeasible (required pairs cannot all be met)", time.perf_counter() - t0)
    best, floor, lo, hi = found
    x = best.x
    if best.status != 0:
        status = f"time limit or gap ({best.message})"
    elif hi - lo > 1.001 * tolerance * max(hi, 1e-9):
        status = f"time limit: floor {lo:.4f}, the best floor is at most {hi:.4f}"
    else:
        status = "optimal"
    chosen: list[Candidate] = [cands[i] for i in range(n) if x[i] > 0.5]
    per_demand = np.asarray(m.quality @ x[:n]).ravel() / m.wanted
    achieved = float(per_demand.min()) if len(per_demand) else 0.0
    return Assignment("milp", chosen, status, time.perf_counter() - t0, max(floor, achieved))


def _floor_search(attempt: Any, hi: float, tolerance: float, t0: float, time_limit: float
                  ) -> tuple[Any, float, float, float] | None:
    """The highest reachable floor below the LP bound ``hi``: (stage-2 result, floor, lo, hi), or None
    when not even a floor of 0 is reachable."""
    best = attempt(hi)
    lo = floor = hi
    if best is not None:
        return best, floor, lo, hi
    # The integral optimum is usually just below the LP bound: step down geometrically (0.1 %, 1 %,
    # 10 %, then 0) and bisect only between the first reachable floor and the last unreachable one.
    # Unreachable floors are the slow MILPs (infeasibility must be proved).
    for step in (tolerance, 10 * tolerance, 100 * tolerance, 1.0):
        z = hi * (1 - step) if step < 1 else 0.0
        best = attempt(z)
        if best is not None:
            lo = floor = z
            break
        hi = z
    if best is None:
        return None
    while hi - lo > 1.001 * tolerance * max(hi, 1e-9) and time.perf_counter() - t0 < time_limit:
        mid = (lo + hi) / 2
        found = attempt(mid)
        if found is not None:
            lo, floor, best = mid, mid, found
        else:
            hi = mid
    return best, floor, lo, hi
