"""Round assignment: constraints on small cases whose optimum is known by hand."""

import pytest

from matcher.engine.assignment import AssignmentProblem, Candidate, check_feasibility, greedy, milp, summarize


def C(d: int, t: int, s: float, mode: str = "flexible") -> Candidate:
    return Candidate(d, t, mode, s)


def caps(talents: dict[int, int], mode: str = "flexible") -> tuple[dict, dict]:
    return {(t, mode): c for t, c in talents.items()}, dict(talents)


def test_fairness_beats_greedy_on_a_known_case() -> None:
    # D1 likes t1 (0.9) and t2 (0.85); D2 can only use t1 (0.8). One post each.
    cap, total = caps({1: 1, 2: 1})
    p = AssignmentProblem([C(1, 1, 0.9), C(1, 2, 0.85), C(2, 1, 0.8)], {1: 1, 2: 1}, cap, total)
    g = greedy.solve(p)
    assert {(c.demand_id, c.talent_id) for c in g.chosen} == {(1, 1)}  # D2 left with nothing
    m = milp.solve(p)
    assert {(c.demand_id, c.talent_id) for c in m.chosen} == {(1, 2), (2, 1)}
    assert m.floor == pytest.approx(0.8)
    rep_g, rep_m = summarize(p, g), summarize(p, m)
    assert rep_g["worst_demand"]["quality"] == 0.0 and rep_g["demands_short"] == [{"demand_id": 2, "missing": 1}]
    assert rep_m["worst_demand"]["quality"] == pytest.approx(0.8)
    assert rep_m["total_score"] == pytest.approx(1.65) and rep_m["demands_short"] == []


def test_total_is_maximised_once_the_floor_is_kept() -> None:
    # Both demands can reach 0.5 with anyone; afterwards the total decides: t1→D1, t2→D2 gives 1.7.
    cap, total = caps({1: 1, 2: 1})
    cands = [C(1, 1, 0.9), C(1, 2, 0.5), C(2, 1, 0.6), C(2, 2, 0.8)]
    m = milp.solve(AssignmentProblem(cands, {1: 1, 2: 1}, cap, total))
    assert sorted((c.demand_id, c.talent_id) for c in m.chosen) == [(1, 1), (2, 2)]


def test_per_mode_and_total_capacities() -> None:
    # t1 may be 科技副总 once and flexible twice, but only 2 posts in total.
    cap = {(1, "tech_vp"): 1, (1, "flexible"): 2}
    total = {1: 2}
    cands = [C(d, 1, 0.9, "tech_vp") for d in (1, 2, 3)] + [C(d, 1, 0.7, "flexible") for d in (1, 2, 3)]
    p = AssignmentProblem(cands, {1: 1, 2: 1, 3: 1}, cap, total)
    for solver in (greedy.solve, milp.solve):
        chosen = solver(p).chosen
        assert len(chosen) == 2
        assert sum(c.mode == "tech_vp" for c in chosen) <= 1
        assert len({c.demand_id for c in chosen}) == 2  # never the same talent twice for one demand


def test_wanted_counts_forbidden_and_forced_pairs() -> None:
    cap, total = caps({1: 3, 2: 3, 3: 3, 4: 3})
    cands = [C(1, t, 1.0 - t / 10) for t in (1, 2, 3, 4)]
    p = AssignmentProblem(cands, {1: 2}, cap, total, forbidden={(1, 1)}, forced={(1, 4)})
    chosen = sorted(c.talent_id for c in milp.solve(p).chosen)
    assert chosen == [2, 4]  # t1 forbidden, t4 required, the best other one fills the second post
    assert sorted(c.talent_id for c in greedy.solve(p).chosen) == [2, 4]


def test_feasibility_messages_in_plain_words() -> None:
    cap = {(1, "tech_vp"): 1, (2, "tech_vp"): 0}
    total = {1: 1, 2: 1}
    p = AssignmentProblem([C(7, 1, 0.9, "tech_vp"), C(7, 2, 0.8, "tech_vp")], {7: 3}, cap, total,
                          demand_names={7: "D-123"}, forced={(7, 9)})
    messages = [i.message for i in check_feasibility(p)]
    assert any(m.startswith("D-123 wants 3 proposals but only 1 eligible talent(s) with free capacity (科技副总)")
               for m in messages), messages
    assert any("must get talent 9" in m for m in messages)
    assert any("wants 3 proposals but all talents together have free capacity for 2" in m for m in messages)


def test_solver_is_deterministic() -> None:
    import random

    rng = random.Random(3)
    cands = [C(d, t, round(rng.random(), 3)) for d in range(1, 21) for t in rng.sample(range(1, 31), 8)]
    cap, total = caps({t: rng.randint(1, 2) for t in range(1, 31)})
    p = AssignmentProblem(cands, {d: 3 for d in range(1, 21)}, cap, total)
    a, b = milp.solve(p), milp.solve(p)
    assert [(c.demand_id, c.talent_id) for c in a.chosen] == [(c.demand_id, c.talent_id) for c in b.chosen]
    ra, rg = summarize(p, a), summarize(p, greedy.solve(p))
    assert ra["worst_demand"]["quality"] >= rg["worst_demand"]["quality"] - 1e-9
    loads = {}
    for c in a.chosen:
        loads[c.talent_id] = loads.get(c.talent_id, 0) + 1
    assert all(n <= total[t] for t, n in loads.items())
