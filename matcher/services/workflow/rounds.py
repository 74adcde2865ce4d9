"""Matching rounds: propose a set of matches for all open demands at once (officials).

A round runs as a background job through visible stages (queued → scoring → solving → done, or
failed), is stored with its parameters and report, and writes its proposals into the same workflow
as single proposals (matches in state ``shortlisted`` carrying the round id). Rerunning a round with
the same inputs gives the same result: inputs are read in id order and both solvers are deterministic.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from matcher.domain.vocabulary import Role
from matcher.domain.workflow import LIVE_DEMANDS
from matcher.engine.assignment import AssignmentProblem, Candidate, check_feasibility, greedy, milp, summarize
from matcher.engine.assignment.problem import hard_errors
from matcher.engine.pool import Filters, TalentPool
from matcher.engine.ranking import DemandFacts
from matcher.errors import Invalid, NotFound
from matcher.services import jobs
from matcher.services.access import Actor, require
from matcher.services.audit import record
from matcher.services.pool import runtime
from matcher.services.pool.facts import current_loads, demand_facts
from matcher.storage.db import Database, insert_unless_exists
from matcher.storage.models import Demand, Match, Round, iso
from matcher.views import RoundView

log = logging.getLogger(__name__)


@dataclass
class RoundParams:
    sector: str | None = None
    city: str | None = None
    proposals_wanted: int = 3
    per_demand: dict[int, int] = field(default_factory=dict)  # demand id → proposals wanted
    forbidden_pairs: list[tuple[int, int]] = field(default_factory=list)
    forced_pairs: list[tuple[int, int]] = field(default_factory=list)
    candidates_per_mode: int = 30
    max_posts_per_talent: int = 2
    alternates: int = 3
    time_limit: float = 120.0


def start_round(db: Database, actor: Actor, params: RoundParams) -> RoundView:
    require(actor, Role.OFFICIAL)
    if not 1 <= params.proposals_wanted <= 20:
        raise Invalid("proposals_wanted must be between 1 and 20", field="proposals_wanted")
    with db.session() as s:
        r = Round(params=_jsonable(params), created_by=actor.user_id, lease_owner=jobs.WORKER_ID,
                  lease_expires_at=datetime.now(UTC) + timedelta(seconds=jobs.LEASE_SECONDS))
        s.add(r)
        s.flush()
        record(s, action="start", entity="round", entity_id=r.id, actor_user_id=actor.user_id,
               actor_role=actor.role, after=r.params)
        return round_view(r)


def _jsonable(p: RoundParams) -> dict[str, Any]:
    out = asdict(p)
    out["per_demand"] = {str(k): v for k, v in p.per_demand.items()}
    out["forbidden_pairs"] = [list(x) for x in p.forbidden_pairs]
    out["forced_pairs"] = [list(x) for x in p.forced_pairs]
    return out


def params_from_json(raw: dict[str, Any]) -> RoundParams:
    p = RoundParams(**{k: v for k, v in raw.items() if k in RoundParams.__dataclass_fields__})
    p.per_demand = {int(k): int(v) for k, v in (raw.get("per_demand") or {}).items()}
    p.forbidden_pairs = [(int(a), int(b)) for a, b in raw.get("forbidden_pairs") or []]
    p.forced_pairs = [(int(a), int(b)) for a, b in raw.get("forced_pairs") or []]
    return p


def round_view(r: Round) -> RoundView:
    return RoundView(id=r.id, status=r.status, progress=round(r.progress, 3), params=r.params or {},
                     report=r.report or {}, error=r.error, created_by=r.created_by, created_at=iso(r.created_at),
                     finished_at=iso(r.finished_at))


def get_round(db: Database, actor: Actor, round_id: int) -> RoundView:
    require(actor, Role.OFFICIAL, Role.ADMIN)
    with db.session() as s:
        r = s.get(Round, round_id)
        if r is None:
            raise NotFound(f"round {round_id} not found", field="round_id")
        return round_view(r)


def list_rounds(db: Database, actor: Actor) -> list[RoundView]:
    require(actor, Role.OFFICIAL, Role.ADMIN)
    with db.session() as s:
        return [round_view(r) for r in s.scalars(select(Round).order_by(Round.id.desc()).limit(100))]


def _stage(db: Database, round_id: int, status: str, progress: float, **fields: Any) -> None:
    with db.session() as s:
        r = s.get(Round, round_id)
        if r is not None:
            r.status, r.progress = status, progress
            for k, v in fields.items():
                setattr(r, k, v)


def score_candidates(pool: TalentPool, items: list[tuple[DemandFacts, list[str]]], per_mode: int,
                     existing: Collection[tuple[int, int]] = (),
                     progress: Callable[[float], None] = lambda f: None
                     ) -> tuple[list[Candidate], dict[tuple[int, int, str], dict[str, Any]]]:
    """The engine's eligible top candidates of every demand in every mode it wants (plain data)."""
    cands: list[Candidate] = []
    explanations: dict[tuple[int, int, str], dict[str, Any]] = {}
    for i, (facts, modes) in enumerate(items):
        mine: list[Candidate] = []
        for mode in modes:
            proposals, _ = pool.propose(facts, mode, k=per_mode, filters=Filters(), explain_results=False)
            for prop in proposals:
                if (facts.id, prop.talent.id) in existing:
                    continue  # already proposed through the single-demand workflow
                mine.append(Candidate(facts.id, prop.talent.id, mode, round(prop.ranked.score, 6)))
                explanations[(facts.id, prop.talent.id, mode)] = prop.explanation
        cands += _one_per_person(pool, mine)
        progress((i + 1) / max(1, len(items)))
    return cands, explanations


def _one_per_person(pool: TalentPool, mine: list[Candidate]) -> list[Candidate]:
    """One demand's candidates across its modes without two records of one person (an open duplicate
    pair): each list keeps only one of them already, but two modes' lists could each keep a different one.
    The better-scored record stays."""
    best: dict[int, float] = {}
    for c in mine:
        best[c.talent_id] = max(best.get(c.talent_id, float("-inf")), c.score)
    out = []
    for c in mine:
        facts = pool.facts.get(c.talent_id)
        twins = facts.same_person if facts is not None else ()
        if any(best.get(t, float("-inf")) > best[c.talent_id] or
               (best.get(t) == best[c.talent_id] and t < c.talent_id) for t in twins):
            continue
        out.append(c)
    return out


def capacities(pool: TalentPool, talents: set[int], loads: dict[int, dict[str, int]], max_posts: int
               ) -> tuple[dict[tuple[int, str], int], dict[int, int]]:
    capacity: dict[tuple[int, str], int] = {}
    total: dict[int, int] = {}
    for t in talents:
        free = {m: max(0, c - loads.get(t, {}).get(m, 0)) for m, c in pool.facts[t].mode_capacity.items()}
        for m, c in free.items():
            capacity[(t, m)] = c
        total[t] = min(sum(free.values()), max_posts)
    return capacity, total


def build_problem(db: Database, pool: TalentPool, p: RoundParams,
                  progress: Callable[[float], None] = lambda f: None) -> tuple[AssignmentProblem, dict[str, Any]]:
    """Score every open demand against the pool in each mode it wants; collect capacities and conflicts."""
    with db.session() as s:
        stmt = select(Demand).where(Demand.status.in_(LIVE_DEMANDS)).order_by(Demand.id)
        if p.sector:
            stmt = stmt.where(Demand.sector == p.sector)
        if p.city:
            stmt = stmt.where(Demand.city == p.city)
        demands = list(s.scalars(stmt))
        facts = {d.id: demand_facts(s, d) for d in demands}
        loads = current_loads(s)
        existing = {(m.demand_id, m.talent_id) for m in s.scalars(select(Match))}
    items = [(facts[d.id], sorted(set(d.modes or ["flexible"]))) for d in demands]
    cands, explanations = score_candidates(pool, items, p.candidates_per_mode, existing, progress)
    capacity, total = capacities(pool, {c.talent_id for c in cands}, loads, p.max_posts_per_talent)
    wanted = {d.id: p.per_demand.get(d.id, p.proposals_wanted) for d in demands}
    problem = AssignmentProblem(cands, wanted, capacity, total, forbidden=set(p.forbidden_pairs),
                                forced=set(p.forced_pairs), demand_names={d.id: d.external_id for d in demands})
    return problem, {"explanations": explanations}


def run_round(db: Database, pool: TalentPool | None, round_id: int) -> None:
    """The background job. Every stage is written to the round so the console can follow it."""
    try:
        pool = runtime.require(pool)
        with db.session() as s:
            # Claimed once (queued → scoring, a compare-and-set) by the process that runs it.
            claimed = s.execute(update(Round).where(Round.id == round_id, Round.status == "queued")
                                .values(status="scoring", progress=0.0, lease_owner=jobs.WORKER_ID))
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return
            r = s.get(Round, round_id)
            assert r is not None
            params = params_from_json(r.params)
        problem, extra = build_problem(db, pool, params,
                                       progress=lambda f: _stage(db, round_id, "scoring", round(0.7 * f, 3)))
        issues = check_feasibility(problem)
        fatal = hard_errors(issues)
        if fatal:
            _stage(db, round_id, "failed", 1.0, error="; ".join(i.message for i in fatal),
                   report={"infeasible": [i.message for i in issues]}, finished_at=datetime.now(UTC))
            return
        _stage(db, round_id, "solving", 0.75)
        solved = milp.solve(problem, time_limit=params.time_limit)
        baseline = greedy.solve(problem)
        chosen = {(c.demand_id, c.talent_id) for c in solved.chosen}
        alternates: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for c in sorted(problem.usable(), key=lambda c: (c.demand_id, -c.score, c.talent_id)):
            if (c.demand_id, c.talent_id) not in chosen and len(alternates[c.demand_id]) < params.alternates \
                    and all(a["talent_id"] != c.talent_id for a in alternates[c.demand_id]):
                alternates[c.demand_id].append({"talent_id": c.talent_id, "mode": c.mode, "score": c.score})
        notes = [i.message for i in issues]
        report = {
            "demands": len(problem.wanted), "candidates": len(problem.candidates),
            "solver": summarize(problem, solved), "greedy": summarize(problem, baseline),
            "floor": solved.floor, "notes": notes,
            "proposals": [{"demand_id": c.demand_id, "talent_id": c.talent_id, "mode": c.mode, "score": c.score}
                          for c in solved.chosen],
            "alternates": {str(k): v for k, v in sorted(alternates.items())},
        }
        with db.session() as s:
            # Written as they stand now: demands withdrawn or closed while the round ran get nothing, and
            # a pair an intermediary shortlisted meanwhile is skipped (not an error that fails the round).
            demands = {d.id: d for d in s.scalars(select(Demand).where(
                Demand.id.in_(list(problem.wanted)), Demand.status.in_(LIVE_DEMANDS)))}
            skipped = 0
            for c in solved.chosen:
                d = demands.get(c.demand_id)
                mid = None if d is None else insert_unless_exists(s, Match, dict(
                    demand_id=c.demand_id, talent_id=c.talent_id, mode=c.mode, round_id=round_id,
                    intermediary_id=d.intermediary_id, score=c.score, status="shortlisted",
                    explanation=extra["explanations"].get((c.demand_id, c.talent_id, c.mode), {}),
                    contact_log={"attempts": [], "answer": "pending"}))
                if mid is None:
                    skipped += 1
                    continue
                record(s, action="round_propose", entity="match", entity_id=mid,
                       after={"round_id": round_id, "talent_id": c.talent_id, "mode": c.mode, "score": c.score})
            if skipped:
                notes.append(f"{skipped} proposal(s) not written: the demand ended or the pair was "
                                       "shortlisted meanwhile")
            r = s.get(Round, round_id)
            assert r is not None
            r.status, r.progress, r.report, r.finished_at = "done", 1.0, report, datetime.now(UTC)
            record(s, action="finish", entity="round", entity_id=round_id,
                   after={k: report[k] for k in ("demands", "candidates", "floor")})
    except Exception as exc:  # the job must always end in a visible state
        log.exception("round %s failed", round_id)
        _stage(db, round_id, "failed", 1.0, error=str(exc), finished_at=datetime.now(UTC))


