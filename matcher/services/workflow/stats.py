"""Summary statistics for officials: demands and matches by their dimensions, and time to approval."""

from __future__ import annotations

import statistics
from typing import Any

from sqlalchemy import String, cast, func, select

from matcher.domain.labels import label
from matcher.domain.offices import OfficeTree, office_tree
from matcher.domain.programmes import programmes
from matcher.domain.vocabulary import Role
from matcher.domain.workflow import APPROVED_OR_LATER, AWAITING_REVIEW
from matcher.services.access import Actor, demand_scope, require
from matcher.services.workflow.review import step_at
from matcher.storage.db import Database
from matcher.storage.models import AuditEvent, Demand, Enterprise, Match
from matcher.views import (
    CountView,
    DemandStatsView,
    DurationView,
    MatchStatsView,
    MonthCountView,
    OfficeStatsView,
    RewardStatsView,
    StatsView,
)

#: The audit actions that are an office's review decisions.
REVIEW_DECISIONS = ("recommend", "send_back", "approve", "reject")


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
            rewards=RewardStatsView(total_yuan=int(s.scalar(
                select(func.sum(Match.reward_yuan)).join(Demand, Demand.id == Match.demand_id).where(scope))
                or 0)),
            by_office=_by_office(s, actor, scope),
        )


def _by_office(s: Any, actor: Actor, scope: Any) -> list[OfficeStatsView]:
    """The actor's office and each office directly below it: demands, matches, approvals and 奖补 of the
    enterprises in its area (an enterprise of unknown county counts for the province only), the review
    decisions its own officials took (from the audit trail, by the office each decision names) and the
    matches waiting at a step it takes now."""
    tree = office_tree()
    top = tree.get(actor.office_code) if actor.office_code else tree.province
    offices = [top, *tree.children(top.code)]
    lines = {o.code: {"demands": 0, "matches": 0, "approved": 0, "amount": 0, "decisions": 0, "awaiting": 0}
             for o in offices}

    def holders(county: str | None) -> list[str]:
        return [o.code for o in offices if _holds(tree, o.code, county)]

    for county, n in s.execute(select(Enterprise.county_code, func.count(Demand.id))
                               .join(Enterprise, Enterprise.id == Demand.enterprise_id)
                               .where(scope).group_by(Enterprise.county_code)):
        for code in holders(county):
            lines[code]["demands"] += n
    rules = programmes()
    rows = s.execute(select(Match, Demand, Enterprise.county_code).join(Demand, Demand.id == Match.demand_id)
                     .join(Enterprise, Enterprise.id == Demand.enterprise_id).where(scope))
    for m, d, county in rows:
        for code in holders(county):
            line = lines[code]
            line["matches"] += 1
            line["approved"] += int(m.status in APPROVED_OR_LATER)
            line["amount"] += int(m.reward_yuan or 0)
        if m.status in AWAITING_REVIEW:
            at = step_at(rules, m, d, county)
            if at is not None and at.office.code in lines:
                lines[at.office.code]["awaiting"] += 1
    in_scope = select(cast(Match.id, String)).join(Demand, Demand.id == Match.demand_id).where(scope)
    for after in s.scalars(select(AuditEvent.after).where(AuditEvent.entity == "match",
                                                          AuditEvent.action.in_(REVIEW_DECISIONS),
                                                          AuditEvent.entity_id.in_(in_scope))):
        office = (after or {}).get("office")
        if office in lines:
            lines[office]["decisions"] += 1
    return [OfficeStatsView(code=o.code, name=o.display_name, level=o.level.value, demands=lines[o.code]["demands"],
                            matches=lines[o.code]["matches"], approved=lines[o.code]["approved"],
                            rewarded_yuan=int(lines[o.code]["amount"]),
                            decisions_taken=lines[o.code]["decisions"], awaiting_its_review=lines[o.code]["awaiting"])
            for o in offices]


def _holds(tree: OfficeTree, office: str, county: str | None) -> bool:
    """Whether the office's area holds an enterprise in ``county`` (unknown: the province's only)."""
    if office == tree.province.code:
        return True
    return county is not None and county in tree and tree.contains(office, county)
