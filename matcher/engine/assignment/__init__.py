"""Assigning talents to many demands at once under capacities, conflicts and a fairness floor.

The problem is stated once (``problem.AssignmentProblem``); solvers take it and return an
``Assignment``: ``milp.solve`` (the default, SciPy's HiGHS MILP) and ``greedy.solve`` (the baseline).
"""

from matcher.engine.assignment.problem import (
    Assignment,
    AssignmentProblem,
    Candidate,
    Infeasibility,
    check_feasibility,
    summarize,
)

__all__ = ["Assignment", "AssignmentProblem", "Candidate", "Infeasibility", "check_feasibility", "summarize"]
