"""Summary statistics for officials: demands and matches by their dimensions, and time to approval."""

from __future__ import annotations

import statistics
from typing import Any

from sqlalchemy import String, cast, func, select

from matcher.domain.labels import label
from matcher.domain.vocabulary import Role
from matcher.services.access import Actor, demand_scope, require
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


def _counts(session: Any, column: Any, scope: Any, matches: bool = False) -> list[CountView]:
    stmt = select(column, func.count())
    if matches:
        stmt = stmt.select_from(Match).join(Demand, Demand.id == Match.demand_id)
    rows = session.execute(stmt.where(scope).group_by(column).order_by(func.count().desc()))
    return [CountView(key=k, label=label(k) if k else "（未填）", count=n) for k, n in rows]


def summary(db: Database, actor: Actor) -> StatsView:
    """The figures of the demands the official's office sees (its area: ``access.demand_scope``)."""
    require(actor, Role.OFFICIAL, Role.ADMIN)
    scope = demand_scope(actor)
    with db.session() as s:
        created = {i: c for i, c in s.execute(select(Demand.id, Demand.created_at).where(scope))}
        approvals = s.execute(select(Match.demand_id, func.min(AuditEvent.at))
                              .join(AuditEvent, (AuditEvent.entity == "match")
                                    & (AuditEvent.entity_id == cast(Match.id, String)))
                              .join(Demand, Demand.id == Match.demand_id)
                              .where(AuditEvent.action == "approve", scope).group_by(Match.demand_id)).all()
        days = []
        for demand_id, at in approvals:
            start = created.get(demand_id)
            if start is not None and at is not None:
                a, b = start.replace(tzinfo=None), at.replace(tzinfo=None)
                days.append((b - a).total_seconds() / 86400)
        month = func.substr(cast(Demand.created_at, String), 1, 7)
        in_scope = select(Match.id).join(Demand, Demand.id == Match.demand_id).where(scope)
        return StatsView(
            demands=DemandStatsView(
                total=len(created), by_sector=_counts(s, Demand.sector, scope),
                by_city=_counts(s, Demand.city, scope), by_status=_counts(s, Demand.status, scope),
                by_month=[MonthCountView(key=k, count=n) for k, n in s.execute(
                    select(month, func.count()).where(scope).group_by(month).order_by(month))]),
            matches=MatchStatsView(total=s.scalar(select(func.count()).select_from(in_scope.subquery())) or 0,
                                   by_mode=_counts(s, Match.mode, scope, matches=True),
                                   by_status=_counts(s, Match.status, scope, matches=True)),
            time_to_approval_days=DurationView(
                count=len(days), median=round(statistics.median(days), 2) if days else None,
                mean=round(statistics.fmean(days), 2) if days else None),
            rewards=RewardStatsView(total_amount=float(s.scalar(
                select(func.sum(Match.reward_amount)).join(Demand, Demand.id == Match.demand_id).where(scope))
                or 0.0)),
        )
