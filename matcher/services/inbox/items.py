"""The inbox: items opened and closed from the audit trail's events, in the event's transaction (an outbox:
nothing exists for a change that rolled back), and each opened item's deliveries queued beside it.

``on_event`` is called by ``services/audit.record`` for every event; the rules are ``domain/inbox.KINDS``.
Who an item is for: the office whose review step a match now waits at; the intermediary a match was sent
back to; each party of a drafted agreement (the talent's account, or — without one — the grading office
that confirms for them); the talent, when proposed or approved, if they consented to be proposed. Closing:
the action the item asks for, by anyone of its audience (one official of an office acting closes the
office's item for all of them)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from matcher.domain.inbox import CONFIRM_AGREEMENT, CONTACT_SHARED, ENDS_DEMAND, KINDS, WATCHED, Audience, InboxKind
from matcher.domain.offices import office_tree
from matcher.domain.privacy import ConsentState
from matcher.domain.programmes import programmes
from matcher.domain.vocabulary import Role
from matcher.errors import NotFound
from matcher.services import audit
from matcher.services.access import ACCESS_LISTENERS, Actor
from matcher.services.inbox.delivery import queue, users_of
from matcher.services.workflow import review as steps
from matcher.storage.db import Database
from matcher.storage.models import (
    AuditEvent,
    Demand,
    Engagement,
    InboxItem,
    Match,
    Notification,
    PersonalDataAccess,
    Talent,
    User,
    iso,
)
from matcher.views import InboxItemView

Target = tuple[Audience, str]


# ------------------------------------------------------------------ the hook
def on_event(s: Session, event: AuditEvent) -> None:
    """Open and close the items this event calls for (``domain/inbox.KINDS``)."""
    if event.action not in WATCHED:
        return
    s.flush()  # the change the event records is visible to the reads below
    if event.entity == "demand":
        if event.action in ENDS_DEMAND:
            ids = [str(i) for i in s.scalars(select(Match.id).where(Match.demand_id == int(event.entity_id)))]
            s.execute(update(InboxItem).where(InboxItem.entity == "match", InboxItem.entity_id.in_(ids),
                                              InboxItem.closed_at.is_(None))
                      .values(closed_at=datetime.now(UTC), closed_by_action=event.action)
                      .execution_options(synchronize_session=False))
        return
    for kind in KINDS.values():
        if event.action in kind.closes:
            _close(s, kind, event)
    for kind in KINDS.values():
        if event.action in kind.opens:
            for target, entity, entity_id, subject, link, key in _targets(s, kind, event):
                open_item(s, kind, target, entity, entity_id, subject, link, key)


def _close(s: Session, kind: InboxKind, event: AuditEvent) -> None:
    where = [InboxItem.kind == kind.code, InboxItem.closed_at.is_(None)]
    if kind is CONFIRM_AGREEMENT:
        where += [InboxItem.entity == "engagement", InboxItem.entity_id == event.entity_id]
        party = (event.after or {}).get("party")
        if event.action == "confirm_agreement" and party:
            where.append(InboxItem.key.like(f"%:{party}"))
    else:
        where += [InboxItem.entity == event.entity, InboxItem.entity_id == event.entity_id]
    s.execute(update(InboxItem).where(*where)
              .values(closed_at=datetime.now(UTC), closed_by_action=event.action)
              .execution_options(synchronize_session=False))


def _fresh(s: Session, model: Any, row_id: Any) -> Any:
    return s.execute(select(model).where(model.id == int(row_id)).execution_options(populate_existing=True)) \
        .scalar_one_or_none()


def _proposable_talent(s: Session, talent_id: int) -> bool:
    """Talents hear from the inbox only with an account and an explicit consent to be proposed."""
    t = s.get(Talent, talent_id)
    has_account = s.scalar(select(func.count()).select_from(User).where(User.talent_id == talent_id,
                                                                         User.active.is_(True)))
    return bool(t is not None and t.withdrawn_at is None and t.consent_propose == ConsentState.GRANTED
                and has_account)


def _targets(s: Session, kind: InboxKind, event: AuditEvent) -> list[tuple[Target, str, str, str, str, str]]:
    """(audience, entity, entity id, subject, link, key) of each item ``event`` opens."""
    out: list[tuple[Target, str, str, str, str, str]] = []
    if kind is CONFIRM_AGREEMENT:
        e = _fresh(s, Engagement, event.entity_id)
        if e is None:
            return out
        m = _fresh(s, Match, e.match_id)
        d = s.get(Demand, m.demand_id) if m is not None else None
        if m is None or d is None:
            return out
        version = (event.after or {}).get("version", 1)
        link = f"/console/engagements/{e.id}"
        parties: list[tuple[Target, str]] = [((Audience.ENTERPRISE, str(d.enterprise_id)), "enterprise")]
        if m.intermediary_id:
            parties.append(((Audience.INTERMEDIARY, str(m.intermediary_id)), "intermediary"))
        if _proposable_talent(s, m.talent_id):
            parties.append(((Audience.TALENT, str(m.talent_id)), "talent"))
        else:  # the grading office confirms for a talent without an account, with the signed copy
            parties.append(((Audience.OFFICE, m.graded_by_office or office_tree().province.code), "talent"))
        for target, party in parties:
            out.append((target, "engagement", str(e.id), d.title, link, f"{kind.code}:{e.id}:v{version}:{party}"))
        return out
    if event.entity != "match":
        return out
    m = _fresh(s, Match, event.entity_id)
    d = s.get(Demand, m.demand_id) if m is not None else None
    if m is None or d is None:
        return out
    link = f"/console/matches/{m.id}"
    stamp = event.id or 0
    if kind.code == "review":
        at = steps.step_at(programmes(), m, d, steps.county_of(s, d))
        if at is not None:
            out.append(((Audience.OFFICE, at.office.code), "match", str(m.id), f"{d.title}（{at.label}）", link,
                        f"review:{m.id}:{stamp}"))
    elif kind.code == "revise" and m.intermediary_id:
        out.append(((Audience.INTERMEDIARY, str(m.intermediary_id)), "match", str(m.id), d.title, link,
                    f"revise:{m.id}:{stamp}"))
    elif kind.code in ("proposed", "approved") and _proposable_talent(s, m.talent_id):
        out.append(((Audience.TALENT, str(m.talent_id)), "match", str(m.id), d.title, "/console/me",
                    f"{kind.code}:{m.id}"))
    return out


def open_item(s: Session, kind: InboxKind, target: Target, entity: str, entity_id: str, subject: str, link: str,
              key: str) -> InboxItem | None:
    """Open the item (once per ``key``: a repeated event opens nothing) and queue its deliveries."""
    if s.scalar(select(InboxItem.id).where(InboxItem.key == key)) is not None:
        return None
    item = InboxItem(key=key, kind=kind.code, audience=target[0].value, audience_id=target[1], entity=entity,
                     entity_id=entity_id, title=kind.title(subject), link=link, closed_by_action="")
    s.add(item)
    s.flush()
    queue(s, item)
    return item


def open_item_once(s: Session, kind: InboxKind, target: Target, entity: str, entity_id: str, subject: str,
                   link: str, key: str) -> bool:
    """``open_item`` for the periodic jobs (reminders, alerts), which several workers may run at the same
    moment: inside a savepoint, so a concurrent insert of the same key loses quietly. Whether it opened."""
    try:
        with s.begin_nested():
            return open_item(s, kind, target, entity, entity_id, subject, link, key) is not None
    except IntegrityError:
        return False


# ------------------------------------------------------------------ who sees what
def audience_filter(actor: Actor) -> ColumnElement[bool]:
    """The items ``actor`` is in the audience of."""
    mine = [and_(InboxItem.audience == Audience.USER, InboxItem.audience_id == str(actor.user_id or -1))]
    if actor.role == Role.OFFICIAL:
        office = actor.office_code or office_tree().province.code
        mine.append(and_(InboxItem.audience == Audience.OFFICE, InboxItem.audience_id == office))
    if actor.role == Role.ENTERPRISE and actor.enterprise_id:
        mine.append(and_(InboxItem.audience == Audience.ENTERPRISE, InboxItem.audience_id == str(actor.enterprise_id)))
    if actor.role == Role.INTERMEDIARY and actor.intermediary_id:
        mine.append(and_(InboxItem.audience == Audience.INTERMEDIARY,
                         InboxItem.audience_id == str(actor.intermediary_id)))
    if actor.role == Role.TALENT and actor.talent_id:
        mine.append(and_(InboxItem.audience == Audience.TALENT, InboxItem.audience_id == str(actor.talent_id)))
    return or_(*mine)


def item_view(i: InboxItem) -> InboxItemView:
    kind = KINDS.get(i.kind)
    return InboxItemView(id=i.id, kind=i.kind, kind_label=kind.label if kind else i.kind,
                         notice=bool(kind and kind.notice), title=i.title, link=i.link, entity=i.entity,
                         entity_id=i.entity_id, created_at=iso(i.created_at), read_at=iso(i.read_at),
                         closed_at=iso(i.closed_at), closed_by_action=i.closed_by_action)


def list_items(db: Database, actor: Actor, state: str = "open", unread: bool = False, kind: str | None = None,
               limit: int = 50, offset: int = 0) -> tuple[list[InboxItemView], int]:
    """The caller's items: ``open`` (to do, and notices not yet read), ``closed`` or ``all``."""
    where: list[ColumnElement[bool]] = [audience_filter(actor)]
    if state == "open":
        where.append(InboxItem.closed_at.is_(None))
    elif state == "closed":
        where.append(InboxItem.closed_at.is_not(None))
    if unread:
        where.append(InboxItem.read_at.is_(None))
    if kind:
        where.append(InboxItem.kind == kind)
    with db.session() as s:
        total = s.scalar(select(func.count()).select_from(InboxItem).where(*where)) or 0
        rows = s.scalars(select(InboxItem).where(*where).order_by(InboxItem.id.desc()).limit(limit).offset(offset))
        return [item_view(i) for i in rows], int(total)


def unread_count(db: Database, actor: Actor) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(InboxItem).where(
            audience_filter(actor), InboxItem.closed_at.is_(None), InboxItem.read_at.is_(None))) or 0)


def mark_read(db: Database, actor: Actor, item_id: int) -> InboxItemView:
    """Mark one of the caller's items read; a notice is closed by reading it."""
    with db.session() as s:
        i = s.scalar(select(InboxItem).where(InboxItem.id == item_id, audience_filter(actor)))
        if i is None:
            raise NotFound(f"inbox item {item_id} not found", field="item_id")
        now = datetime.now(UTC)
        if i.read_at is None:
            i.read_at = now
        kind = KINDS.get(i.kind)
        if kind is not None and kind.notice and i.closed_at is None:
            i.closed_at, i.closed_by_action = now, "read"
        s.flush()
        return item_view(i)


def deliveries(db: Database, item_id: int) -> list[Notification]:
    with db.session() as s:
        rows = list(s.scalars(select(Notification).where(Notification.item_id == item_id).order_by(Notification.id)))
        s.expunge_all()
        return rows


def on_access(s: Session, row: PersonalDataAccess) -> None:
    """The talent is told when their contact data is given to someone (released by an approval, or shown
    to the demand's enterprise or intermediary): one notice per recipient and demand, never one per page
    view; only a talent with an account who consented to be proposed hears anything."""
    if row.action not in ("released", "viewed") or not _proposable_talent(s, row.talent_id):
        return
    who = row.actor_name or row.actor_role
    if row.action == "released":
        key = f"contact_shared:{row.talent_id}:released:{row.demand_id}"
        subject = "审核通过，已提供给需求企业和中介机构"
    else:
        key = f"contact_shared:{row.talent_id}:{row.actor_user_id or who}:{row.demand_id}"
        subject = f"{who}查看了您的联系方式"
    demand = s.get(Demand, row.demand_id) if row.demand_id else None
    if demand is not None:
        subject += f"（需求：{demand.title}）"
    open_item(s, CONTACT_SHARED, (Audience.TALENT, str(row.talent_id)), "talent", str(row.talent_id), subject,
              "/console/me", key[:120])


audit.LISTENERS.append(on_event)  # the trail calls the inbox with every event (``services/audit``)
ACCESS_LISTENERS.append(on_access)  # and with every row of a talent's access log (``services/access``)

__all__ = [
    "audience_filter",
    "deliveries",
    "item_view",
    "list_items",
    "mark_read",
    "on_access",
    "on_event",
    "open_item",
    "unread_count",
    "users_of",
]
