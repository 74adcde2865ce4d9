"""Reminders and escalation from the time limits (``services/inbox/reminders.py``).

At Monday 19 October 2026 with 5 working days to take a demand up and 3 to the first contact (the
programme of ``test_deadlines.rules``): posted 13 Oct is due 20 Oct (due soon), posted 9 Oct was due
15 Oct (overdue); shortlisted 15 Oct is due 20 Oct, shortlisted 9 Oct was due 14 Oct."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select, update

from matcher.services.access import Actor
from matcher.services.inbox import items, reminders
from matcher.storage.models import Demand, InboxItem, Match, Notification, User
from tests.services.test_deadlines import a_match, at, posted, rules

TODAY = date(2026, 10, 19)


def account(db: Any, role: str, mail: str, **kw: Any) -> Actor:
    with db.session() as s:
        u = User(username=f"{role}-{mail}", role=role, email=mail, token_hash=mail.ljust(64, "0")[:64], **kw)
        s.add(u)
        s.flush()
        return Actor(u.id, role, office_code=kw.get("office_code"), intermediary_id=kw.get("intermediary_id"))


@pytest.fixture()
def world(db: Any) -> dict[str, Any]:
    w: dict[str, Any] = {
        "soon_demand": posted(db, at("2026-10-13"), county="140105"),
        "late_demand": posted(db, at("2026-10-09"), county="140105"),
        "late_nowhere": posted(db, at("2026-10-09"), county=None),  # the province's: above it, the admins
        "soon_contact": a_match(db, "shortlisted", "shortlist", at("2026-10-15"), county="140105"),
        "late_contact": a_match(db, "shortlisted", "shortlist", at("2026-10-09"), county="140105"),
    }
    with db.session() as s:
        w["agency"] = s.get(Match, w["soon_contact"]).intermediary_id
        w["late_agency"] = s.get(Match, w["late_contact"]).intermediary_id
    w["xiaodian"] = account(db, "official", "xd@example.cn", office_code="140105")
    w["taiyuan"] = account(db, "official", "ty@example.cn", office_code="140100")
    w["admin"] = account(db, "admin", "admin@example.cn")
    w["agent"] = account(db, "intermediary", "agent@example.cn", intermediary_id=w["agency"])
    return w


def notices(db: Any) -> dict[tuple[str, str, str], tuple[str, str]]:
    """(kind, entity, id) → (audience, audience id) of every open reminder."""
    with db.session() as s:
        rows = s.scalars(select(InboxItem).where(InboxItem.kind.in_(("due_soon", "overdue")),
                                                 InboxItem.closed_at.is_(None)))
        return {(r.kind, r.entity, r.entity_id): (r.audience, r.audience_id) for r in rows}


def test_due_soon_reminds_the_owner_and_overdue_goes_to_the_office_above(db: Any, tmp_path: Any,
                                                                         world: dict[str, Any]) -> None:
    w = world
    done = reminders.sweep(db, today=TODAY, programmes=rules(tmp_path))
    assert (done.reminded, done.escalated) == (2, 3)
    admin_id = str(w["admin"].user_id)
    assert notices(db) == {
        ("due_soon", "demand", str(w["soon_demand"])): ("office", "140105"),  # the county's board owes it
        ("overdue", "demand", str(w["late_demand"])): ("office", "140100"),  # county → its city
        ("overdue", "demand", str(w["late_nowhere"])): ("user", admin_id),  # province → its administrators
        ("due_soon", "match", str(w["soon_contact"])): ("intermediary", str(w["agency"])),
        ("overdue", "match", str(w["late_contact"])): ("office", "140105"),  # the intermediary's area office
    }
    # each reaches its audience's inbox and their e-mail
    mine, _ = items.list_items(db, w["taiyuan"])
    late = next(i for i in mine if i.kind == "overdue")
    assert late.kind_label == "逾期督办" and "已逾期2个工作日" in late.title and "太原市小店区" in late.title
    agent, _ = items.list_items(db, w["agent"])
    assert [(i.kind, i.entity_id) for i in agent] == [("due_soon", str(w["soon_contact"]))]
    assert "剩余1个工作日" in agent[0].title
    with db.session() as s:
        mails = set(s.scalars(select(Notification.target).where(Notification.channel == "email")))
    assert {"xd@example.cn", "ty@example.cn", "admin@example.cn", "agent@example.cn"} <= mails


def test_each_reminder_is_sent_once_and_closed_when_the_step_is_taken(db: Any, tmp_path: Any,
                                                                      world: dict[str, Any]) -> None:
    w = world
    programmes = rules(tmp_path)
    reminders.sweep(db, today=TODAY, programmes=programmes)
    with db.session() as s:
        before = s.scalar(select(Notification.id).order_by(Notification.id.desc()).limit(1))
    again = reminders.sweep(db, today=TODAY, programmes=programmes)
    assert (again.reminded, again.escalated, again.closed) == (0, 0, 0)
    with db.session() as s:
        assert s.scalar(select(Notification.id).order_by(Notification.id.desc()).limit(1)) == before
    # the due-soon demand is taken up; the next day the rest has moved on: soon → overdue is a new escalation
    with db.session() as s:
        s.execute(update(Demand).where(Demand.id == w["soon_demand"]).values(status="taken_up"))
    later = reminders.sweep(db, today=date(2026, 10, 21), programmes=programmes)
    assert later.closed == 1 and later.escalated == 1 and later.reminded == 0
    open_now = notices(db)
    assert ("due_soon", "demand", str(w["soon_demand"])) not in open_now
    assert open_now[("overdue", "match", str(w["soon_contact"]))] == ("office", "140105")
    with db.session() as s:
        closed = s.scalar(select(InboxItem).where(InboxItem.kind == "due_soon",
                                                  InboxItem.entity_id == str(w["soon_demand"])))
        assert closed is not None and closed.closed_by_action == "step_taken"


def test_a_read_reminder_stays_read_and_is_not_sent_again(db: Any, tmp_path: Any, world: dict[str, Any]) -> None:
    w = world
    programmes = rules(tmp_path)
    reminders.sweep(db, today=TODAY, programmes=programmes)
    mine, _ = items.list_items(db, w["agent"])
    items.mark_read(db, w["agent"], mine[0].id)
    assert items.list_items(db, w["agent"])[0] == []
    assert reminders.sweep(db, today=TODAY, programmes=programmes).reminded == 0
    assert items.list_items(db, w["agent"])[0] == []
