"""Reminders and escalation from the time limits: nobody has to look at the 督查 list to learn that a step
is due.

A periodic sweep (the job kind ``reminders``, queued by ``services/runtime`` every
``MATCHER_REMINDER_INTERVAL_SECONDS`` through ``services/jobs.queue_periodic``) reads every open item
with its limit (``services/programme/deadlines``, the whole province) and

- for a step *due soon* (``MATCHER_DUE_SOON_DAYS`` working days or fewer left) opens a ``due_soon`` notice
  for whoever owes it: the office, the intermediary or the enterprise the 督查 list names;
- for an *overdue* step opens an ``overdue`` notice for the office above the one responsible — a county's
  city, a city's province, and above the province its administrators (each admin account); an
  intermediary's or an enterprise's overdue step goes to the office of the enterprise's area (its county,
  else the province), the office that supervises them there.

Each is sent once: the item's key names the open item, its stage and its due date, and the inbox opens one
item per key (a second sweep, or a second worker sweeping at the same moment, opens nothing — the unique
key decides, inside a savepoint). A new due date (a match resubmitted, a stage started again) is a new
reminder. Once the step is taken the item is no longer open and the sweep closes its notices, read or not,
so nobody is reminded of work already done. Deliveries (e-mail, webhooks) follow the inbox's own rules and
preferences (``services/inbox/delivery.queue``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from matcher.domain.calendar import WorkCalendar
from matcher.domain.inbox import DUE_SOON, OVERDUE, Audience, InboxKind
from matcher.domain.offices import office_tree
from matcher.domain.programmes import ProgrammeSet
from matcher.domain.vocabulary import Role
from matcher.services import jobs
from matcher.services.access import Actor
from matcher.services.inbox.items import open_item_once
from matcher.services.programme import deadlines
from matcher.storage.db import Database
from matcher.storage.models import InboxItem, User
from matcher.views import DueItem

log = logging.getLogger(__name__)

#: The sweep reads the whole province's items, as an administrator would.
SWEEPER = Actor(user_id=None, role=Role.ADMIN, name="reminders")

Target = tuple[Audience, str]


@dataclass(frozen=True)
class SweepResult:
    reminded: int  # due_soon notices opened
    escalated: int  # overdue notices opened
    closed: int  # notices closed because their step was taken


def item_stem(item: DueItem) -> str:
    """What a reminder is about: the open item and its stage (the due date is added to the key)."""
    return f"{item.kind}:{item.id}:{item.stage}"


def owner(item: DueItem) -> Target:
    """Whoever owes the step, as the 督查 list names them."""
    if item.unit_kind == "intermediary" and item.unit_id is not None:
        return Audience.INTERMEDIARY, str(item.unit_id)
    if item.unit_kind == "enterprise" and item.unit_id is not None:
        return Audience.ENTERPRISE, str(item.unit_id)
    return Audience.OFFICE, item.unit_code or office_tree().province.code


def above(s: Session, item: DueItem) -> list[Target]:
    """Whom an overdue step is escalated to: the office above the responsible one; for a unit that is not
    an office, the office of the enterprise's area; above the province, each active administrator."""
    tree = office_tree()
    if item.unit_kind != "office":
        area = item.county_code if item.county_code and item.county_code in tree else tree.province.code
        return [(Audience.OFFICE, area)]
    code = item.unit_code or tree.province.code
    parents = tree.ancestors(code) if code in tree else ()
    if parents:
        return [(Audience.OFFICE, parents[0].code)]
    admins = s.scalars(select(User.id).where(User.role == Role.ADMIN, User.active.is_(True)).order_by(User.id))
    return [(Audience.USER, str(i)) for i in admins]


def _link(item: DueItem, target: Target) -> str:
    if target[0] == Audience.OFFICE and item.kind == "demand":
        return "/console/oversight"
    return f"/console/matches/{item.id}" if item.kind == "match" else f"/console/demands/{item.id}"


def _subject(item: DueItem, escalated: bool) -> str:
    days = (f"已逾期{-item.working_days_left}个工作日" if item.working_days_left < 0
            else f"剩余{item.working_days_left}个工作日")
    who = f"，责任单位：{item.unit_name}" if escalated else ""
    return f"{item.title}（{item.stage_label}，{item.due.isoformat()}到期，{days}{who}）"


def _open_once(s: Session, kind: InboxKind, target: Target, item: DueItem, key: str) -> bool:
    """Open the notice unless its key exists (``items.open_item_once``: a concurrent sweep loses quietly)."""
    return open_item_once(s, kind, target, item.kind, str(item.id), _subject(item, kind is OVERDUE),
                          _link(item, target), key)


def sweep(db: Database, *, today: date | None = None, calendar: WorkCalendar | None = None,
          programmes: ProgrammeSet | None = None) -> SweepResult:
    """Open the reminders and escalations the open items call for, close those whose step was taken."""
    items = deadlines.open_items(db, SWEEPER, today=today, calendar=calendar, programmes=programmes)
    live = {item_stem(i) for i in items}
    reminded = escalated = 0
    with db.session() as s:
        for i in items:
            if i.status == "due_soon":
                t = owner(i)
                key = f"{DUE_SOON.code}:{item_stem(i)}:{i.due.isoformat()}:{t[0]}:{t[1]}"
                reminded += _open_once(s, DUE_SOON, t, i, key)
            elif i.status == "overdue":
                for t in above(s, i):
                    key = f"{OVERDUE.code}:{item_stem(i)}:{i.due.isoformat()}:{t[0]}:{t[1]}"
                    escalated += _open_once(s, OVERDUE, t, i, key)
        stale = [row.id for row in s.scalars(select(InboxItem).where(
            InboxItem.kind.in_((DUE_SOON.code, OVERDUE.code)), InboxItem.closed_at.is_(None)))
            if ":".join(row.key.split(":")[1:4]) not in live]
        if stale:
            s.execute(update(InboxItem).where(InboxItem.id.in_(stale))
                      .values(closed_at=datetime.now(UTC), closed_by_action="step_taken")
                      .execution_options(synchronize_session=False))
    if reminded or escalated or stale:
        log.info("reminders: %d due soon, %d escalated, %d closed", reminded, escalated, len(stale))
    return SweepResult(reminded=reminded, escalated=escalated, closed=len(stale))


def _work(ctx: jobs.JobContext, params: dict[str, Any], report: jobs.Reporter) -> dict[str, Any]:
    done = sweep(ctx.db)
    return {"reminded": done.reminded, "escalated": done.escalated, "closed": done.closed}


#: The sweep as a job (``services/jobs.queue_periodic``): of several workers about one sweeps per period.
REMINDERS = jobs.JobKind("reminders", "到期提醒", _work)
