"""Service during an engagement: dated entries by the talent or the enterprise (days on site, remote hours,
tasks, results, attachments), seen by the intermediary and the office, and the office's totals against the
agreement — each complete month whose days on site fall below the agreed number is flagged."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher.domain import engagements as rules
from matcher.domain.vocabulary import EngagementStatus, Role
from matcher.errors import Conflict, Forbidden, Invalid
from matcher.services.access import Actor
from matcher.services.audit import record
from matcher.services.engagements.common import attachment_of, visible_engagement
from matcher.services.programme.deadlines import shanghai_today
from matcher.storage.db import Database
from matcher.storage.models import ServiceRecord, iso
from matcher.views import MonthTotalView, ServiceRecordView, ServiceSummaryView

MAX_DAYS_PER_ENTRY = 31.0
MAX_HOURS_PER_ENTRY = 744.0  # a month of hours


def record_view(r: ServiceRecord) -> ServiceRecordView:
    return ServiceRecordView(
        id=r.id,
        service_date=r.service_date.isoformat(),
        days_on_site=r.days_on_site,
        remote_hours=r.remote_hours,
        tasks=r.tasks,
        results=dict(r.results or {}),
        attachments=[int(a) for a in r.attachment_ids or []],
        recorded_role=r.recorded_role,
        created_at=iso(r.created_at),
    )


def add_record(
    db: Database,
    actor: Actor,
    engagement_id: int,
    *,
    service_date: date,
    days_on_site: float,
    remote_hours: float,
    tasks: str,
    results: dict[str, Any],
    attachment_ids: list[int],
) -> ServiceRecordView:
    """A dated entry of service, by the talent or the enterprise, on a running engagement, dated within its
    term and not in the future."""
    if actor.role not in (Role.TALENT, Role.ENTERPRISE):
        raise Forbidden("service is recorded by the talent or the enterprise")
    if not 0 <= days_on_site <= MAX_DAYS_PER_ENTRY:
        raise Invalid(f"days_on_site must be between 0 and {MAX_DAYS_PER_ENTRY:g}", field="days_on_site")
    if not 0 <= remote_hours <= MAX_HOURS_PER_ENTRY:
        raise Invalid(f"remote_hours must be between 0 and {MAX_HOURS_PER_ENTRY:g}", field="remote_hours")
    if days_on_site == 0 and remote_hours == 0 and not tasks.strip():
        raise Invalid("an entry records days on site, remote hours or tasks", field="tasks")
    checked = rules.check_results(results)
    with db.session() as s:
        e, _, _ = visible_engagement(s, actor, engagement_id)
        if e.status != EngagementStatus.ACTIVE:
            raise Conflict(f"service is recorded on a running engagement; this one is '{e.status}'", field="status")
        if not e.start_date <= service_date <= min(e.end_date, shanghai_today()):
            raise Invalid(
                f"service_date must be within the term ({e.start_date} to {e.end_date}) and not in the future",
                field="service_date",
            )
        for a in attachment_ids:
            attachment_of(s, e.id, a, "record", field="attachment_ids")
        r = ServiceRecord(
            engagement_id=e.id,
            service_date=service_date,
            days_on_site=float(days_on_site),
            remote_hours=float(remote_hours),
            tasks=tasks.strip(),
            results=checked,
            attachment_ids=[str(a) for a in attachment_ids],
            recorded_by=actor.user_id,
            recorded_role=actor.role,
        )
        s.add(r)
        s.flush()
        record(
            s,
            action="record_service",
            entity="engagement",
            entity_id=e.id,
            actor_user_id=actor.user_id,
            actor_role=actor.role,
            after={
                "record": r.id,
                "date": service_date.isoformat(),
                "days_on_site": days_on_site,
                "remote_hours": remote_hours,
            },
        )
        return record_view(r)


def summary_of(
    s: Session, engagement_id: int, start: date, end: date, agreed_days: int, today: date | None = None
) -> ServiceSummaryView:
    rows = list(
        s.scalars(
            select(ServiceRecord)
            .where(ServiceRecord.engagement_id == engagement_id)
            .order_by(ServiceRecord.service_date, ServiceRecord.id)
        )
    )
    now = today or shanghai_today()
    until = now if now <= end else end + timedelta(days=1)  # a finished term counts its last month
    months = rules.month_totals(
        ((r.service_date, r.days_on_site, r.remote_hours) for r in rows), start, until, agreed_days
    )
    results: dict[str, int] = {}
    for r in rows:
        for k, v in (r.results or {}).items():
            results[k] = results.get(k, 0) + int(v)
    return ServiceSummaryView(
        records=[record_view(r) for r in rows],
        months=[
            MonthTotalView(
                month=t.month,
                days_on_site=t.days_on_site,
                remote_hours=t.remote_hours,
                agreed_days=t.agreed_days,
                short=t.short,
            )
            for t in months
        ],
        short_months=sum(t.short for t in months),
        results=results,
    )


def service_summary(db: Database, actor: Actor, engagement_id: int, today: date | None = None) -> ServiceSummaryView:
    """Every entry, and per complete month the totals against the agreed days on site (short months flagged)."""
    with db.session() as s:
        e, _, _ = visible_engagement(s, actor, engagement_id)
        return summary_of(s, e.id, e.start_date, e.end_date, e.days_on_site_per_month, today)
