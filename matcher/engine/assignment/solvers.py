"""Solvers by name, so a round (and the benchmark) chooses one by configuration: ``milp`` (exact, the
default), ``greedy`` (the baseline shown beside it). A new solver is a function from an
``AssignmentProblem`` (and a time limit) to an ``Assignment``, added to ``SOLVERS``."""

from __future__ import annotations

from collections.abc import Callable

from matcher.engine.assignment import greedy, milp
from matcher.engine.assignment.problem import Assignment, AssignmentProblem

Solver = Callable[[AssignmentProblem, float], Assignment]

SOLVERS: dict[str, Solver] = {
    "milp": lambda problem, time_limit: milp.solve(problem, time_limit=time_limit),
    "greedy": lambda problem, time_limit: greedy.solve(problem),
}
DEFAULT, BASELINE = "milp", "greedy"


def solve(name: str, problem: AssignmentProblem, time_limit: float = 120.0) -> Assignment:
    try:
        solver = SOLVERS[name]
    except KeyError:
        raise ValueError(f"unknown solver '{name}' (one of {', '.join(SOLVERS)})") from None
    return solver(problem, time_limit)
