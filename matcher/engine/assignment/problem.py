"""The round-assignment problem as plain data, its feasibility check and the report figures.

Objective (documented for officials): every demand d wants w_d proposals; its *quality* is the sum of
the scores of the proposals it gets divided by w_d (a missing proposal counts as 0). The solver first
maximises the worst demand's quality (the fairness floor), then, keeping that floor, the total score.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from matcher.domain.labels import label


@dataclass(frozen=True)
class Candidate:
    demand_id: int
    talent_id: int
    mode: str
    score: float


@dataclass
class AssignmentProblem:
    candidates: list[Candidate]
    wanted: dict[int, int]  # demand id → proposals wanted
    capacity: dict[tuple[int, str], int]  # (talent, mode) → free capacity in that mode
    total_capacity: dict[int, int]  # talent → free capacity over all modes
    forbidden: set[tuple[int, int]] = field(default_factory=set)  # (demand, talent) never together
    forced: set[tuple[int, int]] = field(default_factory=set)  # (demand, talent) must be proposed
    demand_names: dict[int, str] = field(default_factory=dict)

    def usable(self) -> list[Candidate]:
        """Candidates that respect conflicts and have some capacity, in a fixed order (determinism)."""
        out = [c for c in self.candidates if (c.demand_id, c.talent_id) not in self.forbidden
               and self.capacity.get((c.talent_id, c.mode), 0) > 0 and self.total_capacity.get(c.talent_id, 0) > 0]
        return sorted(out, key=lambda c: (c.demand_id, c.talent_id, c.mode))


@dataclass
class Assignment:
    solver: str
    chosen: list[Candidate]
    status: str = "optimal"
    seconds: float = 0.0
    floor: float | None = None  # the fairness floor the solver reached (quality of the worst demand)


@dataclass(frozen=True)
class Infeasibility:
    demand_id: int | None
    message: str


def check_feasibility(p: AssignmentProblem) -> list[Infeasibility]:
    """Plain-word reasons why some demands cannot get all they want, before solving."""
    issues: list[Infeasibility] = []
    usable = p.usable()
    by_demand: dict[int, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
    for c in usable:
        by_demand[c.demand_id][c.mode].add(c.talent_id)
    for d, want in sorted(p.wanted.items()):
        talents = set().union(*by_demand[d].values()) if by_demand[d] else set()
        if len(talents) < want:
            name = p.demand_names.get(d, f"demand {d}")
            modes = "/".join(label(m) for m in sorted(by_demand[d])) or "any mode"
            issues.append(Infeasibility(d, f"{name} wants {want} proposals but only {len(talents)} eligible "
                                           f"talent(s) with free capacity ({modes}) remain after conflicts"))
    candidates = {(c.demand_id, c.talent_id) for c in usable}
    for d, t in sorted(p.forced):
        if (d, t) in p.forbidden:
            issues.append(Infeasibility(d, f"pair demand {d} / talent {t} is both required and forbidden"))
        elif (d, t) not in candidates:
            issues.append(Infeasibility(d, f"demand {d} must get talent {t}, but that talent is not eligible "
                                           "for any of its modes or has no free capacity"))
    forced_load = Counter(t for _, t in p.forced)
    for t, n in sorted(forced_load.items()):
        if n > p.total_capacity.get(t, 0):
            issues.append(Infeasibility(None, f"talent {t} is required by {n} demands but has free capacity "
                                              f"for {p.total_capacity.get(t, 0)}"))
    total_wanted = sum(p.wanted.values())
    total_cap = sum(p.total_capacity.values())
    if total_wanted > total_cap:
        issues.append(Infeasibility(None, f"the round wants {total_wanted} proposals but all talents together "
                                          f"have free capacity for {total_cap}"))
    return issues


def hard_errors(issues: list[Infeasibility]) -> list[Infeasibility]:
    """Issues that make the round impossible (required pairs), as opposed to demands left short."""
    return [i for i in issues if "must get" in i.message or "both required" in i.message
            or "required by" in i.message]


def summarize(p: AssignmentProblem, a: Assignment) -> dict[str, Any]:
    """Figures for the round report: totals, the worst demand, demands short, exposure spread."""
    per_demand: dict[int, list[Candidate]] = defaultdict(list)
    for c in a.chosen:
        per_demand[c.demand_id].append(c)
    quality = {d: sum(c.score for c in per_demand[d]) / w for d, w in p.wanted.items() if w > 0}
    short = {d: w - len(per_demand[d]) for d, w in p.wanted.items() if len(per_demand[d]) < w}
    loads = Counter(c.talent_id for c in a.chosen)
    counts = np.array(sorted(loads.values()), dtype=float)
    if len(counts):
        n = len(counts)
        gini = float((2 * np.arange(1, n + 1) - n - 1) @ counts / (n * counts.sum()))
        top_share = float(np.sort(counts)[::-1][: max(1, n // 10)].sum() / counts.sum())
    else:
        gini, top_share = 0.0, 0.0
    worst = min(quality.items(), key=lambda kv: (kv[1], kv[0])) if quality else (None, 0.0)
    return {
        "solver": a.solver, "status": a.status, "seconds": round(a.seconds, 3),
        "proposals": len(a.chosen), "total_score": round(sum(c.score for c in a.chosen), 4),
        "worst_demand": {"demand_id": worst[0], "quality": round(worst[1], 4)},
        "mean_quality": round(float(np.mean(list(quality.values()))) if quality else 0.0, 4),
        "demands_short": [{"demand_id": d, "missing": m} for d, m in sorted(short.items())],
        "load": {"talents_used": len(loads), "max_per_talent": int(counts.max()) if len(counts) else 0,
                 "gini": round(gini, 4), "top10pct_share": round(top_share, 4)},
    }
