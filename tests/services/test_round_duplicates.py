"""A matching round never puts two records of one person on one demand, even through two modes' lists
(each list keeps one record of an open duplicate pair; two lists could keep different ones)."""

from __future__ import annotations

from types import SimpleNamespace

from matcher.domain.facts import TalentFacts
from matcher.engine.assignment.problem import Candidate
from matcher.services.workflow.rounds import _one_per_person


def _facts(tid: int, twins: tuple[int, ...] = ()) -> TalentFacts:
    return TalentFacts(id=tid, external_id=f"T{tid}", name="王磊", text="煤气化", same_person=twins)


def test_one_record_per_person_across_a_demands_modes() -> None:
    pool = SimpleNamespace(facts={1: _facts(1, (2,)), 2: _facts(2, (1,)), 3: _facts(3)})
    mine = [Candidate(7, 1, "tech_vp", 0.80), Candidate(7, 2, "flexible", 0.85), Candidate(7, 3, "flexible", 0.6),
            Candidate(7, 2, "tech_vp", 0.70)]
    kept = _one_per_person(pool, mine)  # type: ignore[arg-type]
    assert {c.talent_id for c in kept} == {2, 3}  # record 2 scores higher in one of its modes
    assert len([c for c in kept if c.talent_id == 2]) == 2  # both of its modes stay for the solver
    tie = [Candidate(7, 1, "flexible", 0.5), Candidate(7, 2, "tech_vp", 0.5)]
    assert [c.talent_id for c in _one_per_person(pool, tie)] == [1]  # type: ignore[arg-type]
