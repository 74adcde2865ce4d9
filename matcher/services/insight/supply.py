"""Supply per demand: who in the pool could serve it, counted by the engine rather than by keywords.

For each open or recent demand (``Settings.insight_window_days``) and each of its modes, the engine ranks its
first ``insight_depth`` candidates (100 by default) with the excluded ones kept, as an office would read the
list; a candidate is *supply* when the mode's rules leave them in (eligible: consent to be proposed is the
pool's gate, free capacity, no conflict of interest, the mode's own conditions) and their calibrated
probability of fitting the demand is at least the threshold (``insight_min_probability``, by default the
calibrator's own — so a demand with no supply is exactly one whose list says "no suitable expert"). Without
a calibrator every eligible candidate counts, and the rows say so (``threshold`` empty).

The rows are a read model (``storage.models.DemandSupply``): the job kind ``insight_refresh`` rewrites them
when what they depend on changed — the talents (the pool's version and the change feed's head), the
demands, the matches (loads), the ranker or the threshold — named together as the ``signature``. The
runtime asks for a refresh every ``insight_refresh_seconds`` and only queues the job when the signature
moved, so an idle service does no work; several workers may ask, and the job table runs each job once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select

from matcher.config import Settings
from matcher.domain import modes
from matcher.domain.workflow import LIVE_DEMANDS
from matcher.engine.calibration import Calibrator
from matcher.engine.pool import TalentPool
from matcher.services import jobs
from matcher.services.access import SYSTEM
from matcher.services.pool import calibration, feed
from matcher.services.pool.facts import demand_facts, ready
from matcher.storage.db import Database
from matcher.storage.models import Demand, DemandSupply, Job, Match

KIND = "insight_refresh"
#: How many of a demand's nearest talents a row keeps (the gap map shows them for the demands nobody fits).
NEAREST = 3


@dataclass(frozen=True)
class Threshold:
    """The probability a candidate needs to count as supply, and where it came from."""

    value: float | None
    source: str  # "setting", "calibrator" or "none"


def threshold(settings: Settings, cal: Calibrator | None) -> Threshold:
    if settings.insight_min_probability is not None:
        return Threshold(settings.insight_min_probability, "setting")
    if cal is not None and cal.threshold is not None:
        return Threshold(float(cal.threshold), "calibrator")
    return Threshold(None, "none")


def window_start(settings: Settings, now: datetime | None = None) -> datetime:
    return (now or datetime.now(UTC)) - timedelta(days=settings.insight_window_days)


def _in_window(settings: Settings) -> Any:
    return or_(Demand.status.in_(LIVE_DEMANDS), Demand.created_at >= window_start(settings))


def signature(db: Database, pool: TalentPool, settings: Settings) -> str:
    """What the rows depend on, as one string: it moves whenever any of it changes. Only shared state: the
    change feed's head stands for the talents (every change of a talent is written to it), never this
    process's pool mark — that differs between workers and across restarts, and would have every worker
    find the others' rows stale and queue the job again at each look."""
    cal = calibration.calibrator()
    with db.session() as s:
        d_at = s.scalar(select(func.max(Demand.updated_at)))
        d_n = s.scalar(select(func.count()).select_from(Demand).where(_in_window(settings)))
        m_at = s.scalar(select(func.max(Match.updated_at)))
        m_n = s.scalar(select(func.count()).select_from(Match))
    ranker = pool.learned.version if pool.learned is not None else "hand"
    return (f"feed={feed.head(db)};pool={len(pool.facts)};demands={d_n}@{d_at};matches={m_n}@{m_at};"
            f"ranker={ranker};t={threshold(settings, cal).value};depth={settings.insight_depth}")[:200]


def stale(db: Database, pool: TalentPool, settings: Settings) -> bool:
    """Whether the rows were computed on another state than now's (or there are none while demands exist)."""
    sig = signature(db, pool, settings)
    with db.session() as s:
        kept = set(s.scalars(select(DemandSupply.signature).distinct()))
        wanted = s.scalar(select(func.count()).select_from(Demand).where(_in_window(settings))) or 0
    return kept != {sig} if wanted else bool(kept)


def supply_rows(pool: TalentPool, facts: Any, mode_list: list[str], depth: int, cal: Calibrator | None,
                limit: float | None) -> list[dict[str, Any]]:
    """One demand's supply per mode: the count, the best eligible probability and the nearest talents."""
    out = []
    for mode in mode_list:
        _, _, head = pool.propose_with_head(facts, mode, k=0, include_excluded=True, explain_results=False,
                                            head=depth)
        probs = [float(p) for p in cal.probability(cal.scores_of(head))] if cal is not None and head else \
            [None] * len(head)
        eligible = [(r, p) for r, p in zip(head, probs, strict=True) if r.eligible]
        supply = sum(1 for _, p in eligible if limit is None or (p is not None and p >= limit))
        best = max((p for _, p in eligible if p is not None), default=None)
        nearest = [{"talent_id": r.talent_id, "probability": None if p is None else round(p, 4),
                    "eligible": r.eligible, "excluded_by": r.excluded_by}
                   for r, p in zip(head[:NEAREST], probs[:NEAREST], strict=True)]
        out.append({"mode": mode, "supply": supply, "best_probability": None if best is None else round(best, 4),
                    "nearest": nearest})
    return out


def refresh(db: Database, pool: TalentPool, settings: Settings, progress: jobs.Reporter | None = None
            ) -> dict[str, Any]:
    """Recompute every row of the window (and drop those of demands that left it), in one transaction with
    the job's end when run as a job: a reader sees the old rows or the new ones, never a mix. Returns counts."""
    cal = calibration.calibrator()
    limit = threshold(settings, cal)
    sig = signature(db, pool, settings)
    with db.session() as s:
        demands = list(s.scalars(select(Demand).where(_in_window(settings)).order_by(Demand.id)))
        work = [(d.id, demand_facts(s, d), [m for m in (d.modes or [modes.DEFAULT]) if modes.is_mode(m)])
                for d in demands]
    rows: list[DemandSupply] = []
    now = datetime.now(UTC)
    for i, (demand_id, facts, mode_list) in enumerate(work):
        for r in supply_rows(pool, facts, mode_list, settings.insight_depth, cal, limit.value):
            rows.append(DemandSupply(demand_id=demand_id, mode=r["mode"], supply=r["supply"],
                                     best_probability=r["best_probability"], nearest=r["nearest"],
                                     depth=settings.insight_depth, threshold=limit.value, signature=sig,
                                     computed_at=now))
        if progress is not None and i % 20 == 0:
            progress("scoring", (i + 1) / max(1, len(work)))
    result = {"demands": len(work), "rows": len(rows), "threshold": limit.value,
              "threshold_source": limit.source, "depth": settings.insight_depth, "signature": sig}
    with db.session() as s:
        if progress is not None:
            progress.guard(s, "writing")
        s.execute(delete(DemandSupply))
        s.add_all(rows)
        if progress is not None:
            progress.finish(s, result)
    return result


def _work(ctx: jobs.JobContext, params: dict[str, Any], report: jobs.Reporter) -> dict[str, Any]:
    pool = ready(ctx.pool())
    if pool is None:
        raise jobs.JobFailed("the matching index is not ready yet; the refresh is asked for again later")
    return refresh(ctx.db, pool, ctx.settings, progress=report)


REFRESH = jobs.JobKind(KIND, "供需刷新", _work)


def request(db: Database, pool: TalentPool | None, settings: Settings) -> int | None:
    """Queue a refresh when the rows are stale and none is queued or running; returns the job's id."""
    pool = ready(pool)
    if pool is None or not stale(db, pool, settings):
        return None
    with db.session() as s:
        busy = s.scalar(select(func.count()).select_from(Job).where(
            Job.kind == KIND, Job.status.in_(jobs.ACTIVE)))
        if busy:
            return None
        job = jobs.create_in(s, SYSTEM, KIND, {})
        s.commit()
        return job.id
