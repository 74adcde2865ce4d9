"""Matching rounds: propose a set of matches for all open demands at once (officials).

A round is a job of kind ``round`` (``services/jobs.py``): it runs through visible stages (scoring →
solving → writing), is stored with its parameters and report (the job's result), and writes its
proposals into the same workflow as single proposals (matches in state ``shortlisted`` carrying the
round's id) — in one transaction with the job's completion, so a round the sweep failed meanwhile
writes nothing. Rerunning a round with the same inputs gives the same result: inputs are read in id
order and both solvers are deterministic. The solver is chosen by name (``engine/assignment/solvers``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from sqlalchemy import select

from matcher.domain import modes
from matcher.domain.facts import DemandFacts
from matcher.domain.vocabulary import Role
from matcher.domain.workflow import LIVE_DEMANDS
from matcher.engine.assignment import AssignmentProblem, Candidate, check_feasibility, solvers, summarize
from matcher.engine.assignment.problem import hard_errors
from matcher.engine.pool import Filters, TalentPool
from matcher.errors import Invalid, NotReady
from matcher.services import jobs
from matcher.services.access import Actor, in_area, proposable_ids, require
from matcher.services.audit import record
from matcher.services.pool.facts import current_loads, demand_facts, modes_covered, ready, same_person_map
from matcher.storage.db import Database, insert_unless_exists
from matcher.storage.models import Demand, Match, Talent
from matcher.views import JobView, RoundView


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
    solver: str = solvers.DEFAULT
    office_code: str | None = None  # the office that started it: its area's demands only (None: the province)


def start_round(db: Database, actor: Actor, params: RoundParams) -> RoundView:
    """Record the round as a queued job (the runtime's executor runs it)."""
    require(actor, Role.OFFICIAL)
    if not 1 <= params.proposals_wanted <= 20:
        raise Invalid("proposals_wanted must be between 1 and 20", field="proposals_wanted")
    if params.solver not in solvers.SOLVERS:
        raise Invalid(f"unknown solver '{params.solver}' (one of {', '.join(solvers.SOLVERS)})", field="solver")
    params = replace(params, office_code=actor.office_code)  # a city's round covers the city's demands
    return round_view(jobs.create(db, actor, KIND, _jsonable(params)))


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


def round_view(job: JobView) -> RoundView:
    return RoundView(id=job.id, status=job.status, stage=job.stage, progress=job.progress, params=job.params,
                     report=job.result, error=job.error, created_by=job.created_by, created_at=job.created_at,
                     finished_at=job.finished_at)


def get_round(db: Database, actor: Actor, round_id: int) -> RoundView:
    require(actor, Role.OFFICIAL, Role.ADMIN)
    return round_view(jobs.get(db, actor, round_id, kind=KIND))


def list_rounds(db: Database, actor: Actor) -> list[RoundView]:
    require(actor, Role.OFFICIAL, Role.ADMIN)
    return [round_view(j) for j in jobs.recent(db, actor, KIND)]


def score_candidates(pool: TalentPool, items: list[tuple[DemandFacts, list[str]]], per_mode: int,
                     existing: Collection[tuple[int, int]] = (),
                     progress: Callable[[float], None] = lambda f: None
                     ) -> tuple[list[Candidate], dict[tuple[int, int, str], dict[str, Any]]]:
    """The engine's eligible top candidates of every demand in every mode it wants (plain data)."""
    cands: list[Candidate] = []
    explanations: dict[tuple[int, int, str], dict[str, Any]] = {}
    for i, (facts, wanted_modes) in enumerate(items):
        mine: list[Candidate] = []
        for mode in wanted_modes:
            proposals, _ = pool.propose(facts, mode, k=per_mode, filters=Filters(), explain_results=False)
            for prop in proposals:
                if (facts.id, prop.talent.id) in existing:
                    continue  # already proposed through the single-demand workflow
                mine.append(Candidate(facts.id, prop.talent.id, mode, round(prop.ranked.score, 6)))
                explanations[(facts.id, prop.talent.id, mode)] = prop.explanation.as_json()
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
        area = in_area(p.office_code)
        if area is not None:
            stmt = stmt.where(area)
        if p.sector:
            stmt = stmt.where(Demand.sector == p.sector)
        if p.city:
            stmt = stmt.where(Demand.city == p.city)
        demands = list(s.scalars(stmt))
        facts = {d.id: demand_facts(s, d) for d in demands}
        loads = current_loads(s)
        existing = {(m.demand_id, m.talent_id) for m in s.scalars(select(Match))}
        # a person already on a demand is on it under every record an open duplicate pair links
        twins = same_person_map(s, {t for _, t in existing})
        existing |= {(d, twin) for d, t in list(existing) for twin in twins.get(t, ())}
    items = [(facts[d.id], sorted(set(d.modes or [modes.DEFAULT]))) for d in demands]
    cands, explanations = score_candidates(pool, items, p.candidates_per_mode, existing, progress)
    capacity, total = capacities(pool, {c.talent_id for c in cands}, loads, p.max_posts_per_talent)
    wanted = {d.id: p.per_demand.get(d.id, p.proposals_wanted) for d in demands}
    problem = AssignmentProblem(cands, wanted, capacity, total, forbidden=set(p.forbidden_pairs),
                                forced=set(p.forced_pairs), demand_names={d.id: d.external_id for d in demands})
    return problem, {"explanations": explanations}


def _work(ctx: jobs.JobContext, raw: dict[str, Any], report: jobs.Reporter) -> dict[str, Any]:
    """The job. Every stage is written to the job so the console can follow it."""
    pool = ready(ctx.pool())
    if pool is None:
        raise NotReady("the matching index is still being built; start the round again in a moment")
    params = params_from_json(raw)
    report("scoring", 0.0, force=True)
    problem, extra = build_problem(ctx.db, pool, params, progress=lambda f: report("scoring", round(0.7 * f, 3)))
    issues = check_feasibility(problem)
    fatal = hard_errors(issues)
    if fatal:
        raise jobs.JobFailed("; ".join(i.message for i in fatal), {"infeasible": [i.message for i in issues]})
    report("solving", 0.75, force=True)
    solved = solvers.solve(params.solver, problem, params.time_limit)
    baseline = solvers.solve(solvers.BASELINE, problem, params.time_limit)
    chosen = {(c.demand_id, c.talent_id) for c in solved.chosen}
    alternates: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for c in sorted(problem.usable(), key=lambda c: (c.demand_id, -c.score, c.talent_id)):
        if (c.demand_id, c.talent_id) not in chosen and len(alternates[c.demand_id]) < params.alternates \
                and all(a["talent_id"] != c.talent_id for a in alternates[c.demand_id]):
            alternates[c.demand_id].append({"talent_id": c.talent_id, "mode": c.mode, "score": c.score})
    notes = [i.message for i in issues]
    result = {
        "demands": len(problem.wanted), "candidates": len(problem.candidates),
        "solver": summarize(problem, solved), "greedy": summarize(problem, baseline),
        "floor": solved.floor, "notes": notes,
        "proposals": [{"demand_id": c.demand_id, "talent_id": c.talent_id, "mode": c.mode, "score": c.score}
                      for c in solved.chosen],
        "alternates": {str(k): v for k, v in sorted(alternates.items())},
    }
    with ctx.db.session() as s:
        report.guard(s, "writing")
        # Written as things stand now: demands withdrawn or closed while the round ran get nothing, a talent
        # who may no longer be proposed (consent withdrawn, withdrew, merged) is not written, and a pair an
        # intermediary shortlisted meanwhile is skipped (none of these fails the round).
        demands = {d.id: d for d in s.scalars(select(Demand).where(
            Demand.id.in_(list(problem.wanted)), Demand.status.in_(LIVE_DEMANDS)))}
        chosen_ids = sorted({c.talent_id for c in solved.chosen})
        talents = {t.id: t for t in s.scalars(select(Talent).where(Talent.id.in_(chosen_ids)))}
        may = proposable_ids(s, chosen_ids)  # the one gate, as things stand now
        skipped = gone = 0
        round_id = report.job_id
        for c in solved.chosen:
            d, t = demands.get(c.demand_id), talents.get(c.talent_id)
            if t is None or t.id not in may or c.mode not in modes_covered(t):
                gone += 1
                continue
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
            notes.append(f"{skipped} proposal(s) not written: the demand ended or the pair was shortlisted meanwhile")
        if gone:
            notes.append(f"{gone} proposal(s) not written: the talent may no longer be proposed (consent "
                         "withdrawn, withdrew from the platform, or merged into another record)")
        record(s, action="finish", entity="round", entity_id=round_id,
               after={k: result[k] for k in ("demands", "candidates", "floor")})
        report.finish(s, result)
    return result


KIND = "round"
ROUND = jobs.JobKind(KIND, "批量匹配", _work)
