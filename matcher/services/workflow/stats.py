"""Summary statistics for officials: demands and matches by their dimensions, and time to approval."""

from __future__ import annotations

import statistics
from typing import Any

from sqlalchemy import String, cast, func, select

from matcher.domain.labels import label
from matcher.domain.vocabulary import Role
from matcher.services.access import Actor, require
from matcher.storage.db import Database
from matcher.storage.models import AuditEvent, Demand, Match
from matcher.views import (
    CountView,
    DemandStatsView,
    DurationView,
    MatchStatsView,
    MonthCountView,
    RewardStatsView,
    StatsView,
)


def _counts(session: Any, column: Any) -> list[CountView]:
    rows = session.execute(select(column, func.count()).group_by(column).order_by(func.count().desc()))
    return [CountView(key=k, label=label(k) if k else "（未填）", count=n) for k, n in rows]


def summary(db: Database, actor: Actor) -> StatsView:
    require(actor, Role.OFFICIAL, Role.ADMIN)
    with db.session() as s:
        created = {i: c for i, c in s.execute(select(Demand.id, Demand.created_at))}
        approvals = s.execute(select(Match.demand_id, func.min(AuditEvent.at))
                              .join(AuditEvent, (AuditEvent.entity == "match")
                                    & (AuditEvent.entity_id == cast(Match.id, String)))
                              .where(AuditEvent.action == "approve").group_by(Match.demand_id)).all()
        days = []
        for demand_id, at in approvals:
            start = created.get(demand_id)
            if start is not None and at is not None:
                a, b = start.replace(tzinfo=None), at.replace(tzinfo=None)
                days.append((b - a).total_seconds() / 86400)
        month = func.substr(cast(Demand.created_at, String), 1, 7)
        return StatsView(
            demands=DemandStatsView(
                total=len(created), by_sector=_counts(s, Demand.sector), by_city=_counts(s, Demand.city),
                by_status=_counts(s, Demand.status),
                by_month=[MonthCountView(key=k, count=n) for k, n in s.execute(
                    select(month, func.count()).group_by(month).order_by(month))]),
            matches=MatchStatsView(total=s.scalar(select(func.count()).select_from(Match)) or 0,
                                   by_mode=_counts(s, Match.mode), by_status=_counts(s, Match.status)),
            time_to_approval_days=DurationView(
                count=len(days), median=round(statistics.median(days), 2) if days else None,
                mean=round(statistics.fmean(days), 2) if days else None),
            rewards=RewardStatsView(total_amount=float(s.scalar(select(func.sum(Match.reward_amount))) or 0.0)),
        )
