"""Six months of simulated decisions for the demo, so that learning to rank has something to learn from.

The simulator (documented in docs/learning.md) replays a plausible programme over the demo's demands:
each day intermediaries open proposal lists (the hand-weighted ranking, top 10, as the service shows
it) and decide; talents answer; officials review; engagements end with an outcome and sometimes 奖补.

- **Position bias.** An intermediary examines rank r with probability ``EXAMINE[r]`` (1.0 at the top,
  0.2 at rank 10), and only examined rows can be picked: what is picked is biased toward the top.
- **Intermediaries** shortlist an examined talent with probability rising with the semantic fit.
- **Talents** decline 15 % of contacts (25 % for 科技副总, a heavier commitment).
- **Officials** approve good fits and reject weak ones (logistic in the semantic fit, penalised by
  existing posts) — plus **one planted preference the hand weights lack**: for 科技副总 they strongly
  favour 晋籍 talents (born in the province). The hand weights give every province tie the same small
  bonus, whatever the mode.
- **Outcomes** are solved / partly / not, better for better fits; solved engagements usually get 奖补.
- Noise everywhere (every draw is random, seeded).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import func, select

from matcher.engine.ltr import feature_vector
from matcher.engine.pool import TalentPool
from matcher.engine.ranking import demand_exclusion
from matcher.services.learning.decisions import write_events
from matcher.services.pool.facts import demand_facts
from matcher.storage.db import Database
from matcher.storage.models import DecisionEvent, Demand

EXAMINE = (1.0, 0.85, 0.7, 0.58, 0.48, 0.4, 0.33, 0.28, 0.24, 0.2)
BORN_TECH_VP_BONUS = 2.5  # the planted preference, in logits of the officials' approval


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def approval_logit(semantic: float, mode: str, born: bool, load: float) -> float:
    return 6.0 * (semantic - 0.8) + (BORN_TECH_VP_BONUS if (born and mode == "tech_vp") else 0.0) - 0.8 * load


def simulate(db: Database, pool: TalentPool, seed: int, days: int = 182, lists_per_day: int = 24,
             end: datetime | None = None, log: Callable[[str], None] = print) -> dict[str, int]:
    """Write the simulated history (``source='simulated'``); returns counts per event kind."""
    rng = np.random.default_rng(seed)
    end = end or datetime.now(UTC)
    start = end - timedelta(days=days)
    with db.session() as s:
        facts = [demand_facts(s, d) for d in s.scalars(select(Demand).order_by(Demand.id))]
    learned, pool.learned = pool.learned, None  # the history was ranked by the hand weights
    rows: list[dict[str, Any]] = []
    counts: dict[str, int] = {}

    def add(kind: str, at: datetime, d: int, t: int, mode: str, **extra: Any) -> None:
        rows.append({"at": at, "kind": kind, "demand_id": d, "talent_id": t, "mode": mode, "list_id": None,
                     "rank": None, "ranker": "hand", "features": None, "reason": "", "actor_user_id": None,
                     "source": "simulated", **extra})
        counts[kind] = counts.get(kind, 0) + 1

    try:
        for day in range(days):
            for _ in range(lists_per_day):
                d = facts[int(rng.integers(len(facts)))]
                mode = str(d.modes[int(rng.integers(len(d.modes)))])
                if demand_exclusion(mode, d):
                    continue
                page, _ = pool.propose(d, mode, k=10, explain_results=False)
                if not page:
                    continue
                shown_at = start + timedelta(days=day, seconds=float(rng.uniform(8, 18)) * 3600)
                list_id = uuid.uuid4().hex
                vectors = [feature_vector(mode, p.ranked) for p in page]
                for i, (p, v) in enumerate(zip(page, vectors, strict=True)):
                    add("shown", shown_at, d.id, p.talent.id, mode, list_id=list_id, rank=i + 1,
                        features={**v, "hand_score": p.ranked.score})
                for i, (p, v) in enumerate(zip(page, vectors, strict=True)):
                    sem = float(v.get("semantic", p.ranked.semantic))
                    if rng.random() > EXAMINE[i] or rng.random() > _sigmoid(8.0 * (sem - 0.75)):
                        continue
                    at = shown_at + timedelta(hours=float(rng.uniform(0.2, 30)))
                    add("shortlisted", at, d.id, p.talent.id, mode)
                    at += timedelta(days=float(rng.uniform(0.5, 5)))
                    if rng.random() < (0.25 if mode == "tech_vp" else 0.15):
                        add("contact_declined", at, d.id, p.talent.id, mode)
                        continue
                    add("contact_accepted", at, d.id, p.talent.id, mode)
                    at += timedelta(days=float(rng.uniform(1, 7)))
                    add("submitted", at, d.id, p.talent.id, mode)
                    at += timedelta(days=float(rng.uniform(1, 10)))
                    logit = approval_logit(sem, mode, v.get("tie_born", 0.0) > 0, float(v.get("load", 0.0)))
                    if rng.random() > _sigmoid(logit + float(rng.normal(0, 0.5))):
                        add("rejected", at, d.id, p.talent.id, mode, reason="与企业需求的契合度不足")
                        continue
                    add("approved", at, d.id, p.talent.id, mode)
                    at += timedelta(days=float(rng.uniform(3, 20)))
                    add("confirmed", at, d.id, p.talent.id, mode)
                    at += timedelta(days=float(rng.uniform(20, 60)))
                    u = rng.random()
                    solved = _sigmoid(5.0 * (sem - 0.8) + 0.5)
                    result = "solved" if u < solved else ("partly" if u < solved + (1 - solved) * 0.6 else "not")
                    if at < end:
                        add(f"outcome_{result}", at, d.id, p.talent.id, mode)
                        if result == "solved" and rng.random() < 0.8:
                            add("rewarded", at + timedelta(days=float(rng.uniform(5, 30))), d.id, p.talent.id, mode)
            if day % 30 == 29:
                log(f"simulated history: {day + 1} of {days} days")
    finally:
        pool.learned = learned
    rows = [r for r in rows if r["at"] < end]
    write_events(db, rows)
    return counts


def has_history(db: Database) -> bool:
    with db.session() as s:
        return bool(s.scalar(select(func.count()).select_from(DecisionEvent)
                             .where(DecisionEvent.source == "simulated")))


def true_utility(X: np.ndarray, index: dict[str, int]) -> np.ndarray:
    """What the simulator expects of each row whatever its position: P(shortlisted | examined) ×
    P(accepts) × P(approved) × (2 + P(solved)) — the grade a row would earn, averaged over the draws
    (the officials' noise left out). ``index`` maps feature names to columns of ``X``."""
    sem = X[:, index["semantic"]]
    tech_vp = X[:, index["mode_tech_vp"]] > 0
    born = X[:, index["tie_born"]] > 0
    load = X[:, index["load"]]
    sig = lambda z: 1.0 / (1.0 + np.exp(-z))  # noqa: E731
    logit = 6.0 * (sem - 0.8) + np.where(born & tech_vp, BORN_TECH_VP_BONUS, 0.0) - 0.8 * load
    accepts = 1.0 - np.where(tech_vp, 0.25, 0.15)
    return sig(8.0 * (sem - 0.75)) * accepts * sig(logit) * (2.0 + sig(5.0 * (sem - 0.8) + 0.5))
