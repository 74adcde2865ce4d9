"""Greedy baseline: best remaining (demand, talent) pair first, while capacities allow."""

from __future__ import annotations

import time
from collections import Counter

from matcher.engine.assignment.problem import Assignment, AssignmentProblem, Candidate


def solve(p: AssignmentProblem) -> Assignment:
    t0 = time.perf_counter()
    cap = dict(p.capacity)
    total = dict(p.total_capacity)
    got: Counter[int] = Counter()
    pairs: set[tuple[int, int]] = set()
    chosen: list[Candidate] = []
    usable = p.usable()
    forced = [c for c in usable if (c.demand_id, c.talent_id) in p.forced]
    rest = sorted(usable, key=lambda c: (-c.score, c.demand_id, c.talent_id, c.mode))
    for c in forced + rest:
        key = (c.demand_id, c.talent_id)
        if key in pairs or got[c.demand_id] >= p.wanted.get(c.demand_id, 0):
            continue
        if cap.get((c.talent_id, c.mode), 0) <= 0 or total.get(c.talent_id, 0) <= 0:
            continue
        cap[(c.talent_id, c.mode)] -= 1
        total[c.talent_id] -= 1
        got[c.demand_id] += 1
        pairs.add(key)
        chosen.append(c)
    return Assignment("greedy", chosen, "heuristic", time.perf_counter() - t0)
