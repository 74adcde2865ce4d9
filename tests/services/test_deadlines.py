"""Time limits on open items and the 督查 summary (``services/programme/deadlines.py``).

Every expected date below is written out by hand from data/reference/holidays.csv (2026: 中秋 on Friday
25 September; 国庆节 1–7 October with 1, 2, 5, 6, 7 October weekday holidays and Saturday 10 October
worked; 2027 and 2031 not entered), not computed with the calendar under test. Each stage's start is
placed on a known date by an audit event written directly, at a chosen instant."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from matcher.config import get_settings
from matcher.domain.programmes import ProgrammeSet, load_programmes
from matcher.errors import Forbidden, Invalid
from matcher.services.access import Actor
from matcher.services.programme import deadlines as dl
from matcher.services.workflow import demands as demand_svc
from matcher.services.workflow import matches as match_svc
from matcher.storage.db import Database
from matcher.storage.models import AuditEvent, Demand, Match
from tests.conftest import COMPLETE_PARTS
from tests.services import factories as f

PROVINCE = Actor(None, "official")
ADMIN = Actor(None, "admin")
TAIYUAN = Actor(None, "official", office_code="140100")
XIAODIAN = Actor(None, "official", office_code="140105")


# ------------------------------------------------------------------ helpers
def at(day: str, hour: int = 10, minute: int = 0) -> datetime:
    """An instant on ``day`` at Beijing time, as the UTC the database stores."""
    local = datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=dl.SHANGHAI)
    return local.astimezone(UTC)


def event(s: Any, entity: str, entity_id: int, action: str, when: datetime) -> None:
    s.add(AuditEvent(action=action, entity=entity, entity_id=str(entity_id), at=when))
    s.flush()


def rules(tmp_path: Path, *, take_up: int = 5, first_contact: int = 3, review: int = 5, reward: int = 20,
          first: str = "county", graded: str = "province") -> ProgrammeSet:
    """A programme file of one programme for ``flexible`` (the default for it, having no enrolment of its own),
    its first review at ``first``, graded at ``graded``; ``tech_vp`` and ``dual_appointment`` uncovered."""
    doc = {
        "version": "2026-12-v1",
        "time_limits": {"take_up": take_up, "first_contact": first_contact, "review": review,
                        "reward_decision": reward},
        "programmes": {"county_pilot": {
            "label": "县级试点", "version": "2026-12-v1", "modes": ["flexible"], "demand_must_belong": False,
            "review": {"flexible": [{"level": first, "name": "初审", "actions": ["recommend", "send_back"]},
                                    {"level": "province", "name": "终审", "actions": ["approve", "reject"]}]},
            "graded_by": {"flexible": graded}}},
    }
    path = tmp_path / f"rules-{take_up}-{first_contact}-{review}-{reward}-{first}-{graded}.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return load_programmes(str(path))


def posted(db: Database, when: datetime, county: str | None = "140105", **kw: Any) -> int:
    """An open demand whose ``post`` event is at ``when`` (its row created years earlier, to show the
    event wins)."""
    with db.session() as s:
        d = f.demand(s, f.enterprise(s, county_code=county), created_at=datetime(2020, 1, 6, tzinfo=UTC), **kw)
        event(s, "demand", d.id, "post", when)
        return d.id


def a_match(db: Database, status: str, action: str | None, when: datetime | None, county: str | None = "140105",
            demand_status: str = "taken_up", mode: str = "flexible", **kw: Any) -> int:
    with db.session() as s:
        agency = f.intermediary(s)
        d = f.demand(s, f.enterprise(s, county_code=county), status=demand_status, intermediary_id=agency.id,
                     modes=[mode])
        m = f.match(s, d, f.talent(s), status=status, mode=mode, **kw)
        if action is not None and when is not None:
            event(s, "match", m.id, action, when)
        return m.id


def only(items: list[dl.DueItem], kind: str, item_id: int) -> dl.DueItem:
    found = [i for i in items if i.kind == kind and i.id == item_id]
    assert len(found) == 1, f"{kind} {item_id} is not listed once: {[(i.kind, i.id) for i in items]}"
    return found[0]


def ids(items: list[dl.DueItem]) -> set[tuple[str, int]]:
    return {(i.kind, i.id) for i in items}


# ------------------------------------------------------------------ due dates on the official calendar
@pytest.mark.parametrize("instant, limit, started, due", [
    # Monday 28 Sep: 29, 30 Sep, then the holiday to 7 Oct; 8, 9 Oct, and the 调休 Saturday 10 Oct is the 5th.
    (at("2026-09-28"), 5, date(2026, 9, 28), date(2026, 10, 10)),
    (at("2026-09-28"), 3, date(2026, 9, 28), date(2026, 10, 8)),
    (at("2026-09-28"), 10, date(2026, 9, 28), date(2026, 10, 16)),
    (at("2026-09-30"), 1, date(2026, 9, 30), date(2026, 10, 8)),
    (at("2026-10-09"), 1, date(2026, 10, 9), date(2026, 10, 10)),  # Friday → the Saturday worked
    (at("2026-10-10"), 1, date(2026, 10, 10), date(2026, 10, 12)),  # the start day is not counted
    (at("2026-10-03"), 1, date(2026, 10, 3), date(2026, 10, 8)),  # posted in the holiday
    (at("2026-09-24"), 1, date(2026, 9, 24), date(2026, 9, 28)),  # 中秋 Friday 25 Sep is off
    # The Beijing date counts: 23:30 UTC on Sunday 27 Sep is 07:30 on Monday 28 Sep in Taiyuan.
    (datetime(2026, 9, 27, 23, 30, tzinfo=UTC), 5, date(2026, 9, 28), date(2026, 10, 10)),
    # 17:00 UTC on 30 Sep is 01:00 on 1 Oct: the stage starts in the holiday.
    (datetime(2026, 9, 30, 17, 0, tzinfo=UTC), 1, date(2026, 10, 1), date(2026, 10, 8)),
])
def test_due_dates_follow_the_official_calendar(db, tmp_path, instant: datetime, limit: int, started: date,  # type: ignore[no-untyped-def]
                                                due: date) -> None:
    demand_id = posted(db, instant)
    items = dl.open_items(db, PROVINCE, today=date(2026, 9, 1), programmes=rules(tmp_path, take_up=limit))
    item = only(items, "demand", demand_id)
    assert (item.started, item.due, item.limit_days) == (started, due, limit)
    assert item.provisional is False
    assert (item.stage, item.stage_label, item.programme) == ("take_up", "待揭榜", "county_pilot@2026-12-v1")


def test_the_deployment_s_limits_and_the_earliest_due_of_a_demand_s_modes(db) -> None:  # type: ignore[no-untyped-def]
    """Shanxi's file: 科技副总 allows 15 working days to take up, 产业人才对接 (flexible) the default 10; a
    demand open to both is late at the earlier date."""
    only_vp = posted(db, at("2026-09-28"), modes=["tech_vp"])
    both = posted(db, at("2026-09-28"), modes=["tech_vp", "flexible"])
    items = dl.open_items(db, PROVINCE, today=date(2026, 9, 28))
    vp, mixed = only(items, "demand", only_vp), only(items, "demand", both)
    # 15 working days from 28 Sep: 29, 30 Sep, 8, 9, 10 (Sat), 12–16, 19–23 Oct.
    assert (vp.due, vp.limit_days, vp.programme, vp.mode) == (date(2026, 10, 23), 15, "tech_vp_programme@2026-12-v2",
                                                              "tech_vp")
    assert (mixed.due, mixed.limit_days, mixed.programme, mixed.mode) == (
        date(2026, 10, 16), 10, "industry_talent@2026-12-v2", "flexible")


@pytest.mark.parametrize("today, status, left", [
    (date(2026, 10, 12), "due", 4),  # started that day: 13, 14, 15, 16 remain
    (date(2026, 10, 13), "due", 3),
    (date(2026, 10, 14), "due_soon", 2),
    (date(2026, 10, 16), "due_soon", 0),  # the due date itself
    (date(2026, 10, 17), "overdue", -1),  # a Saturday: no working day passed, but it is late
    (date(2026, 10, 19), "overdue", -1),
    (date(2026, 10, 20), "overdue", -2),
    (date(2026, 10, 24), "overdue", -5),  # 19–23 Oct
])
def test_status_at_a_fixed_today(db, tmp_path, today: date, status: str, left: int) -> None:  # type: ignore[no-untyped-def]
    assert get_settings().due_soon_days == 2  # the default the table is written for
    demand_id = posted(db, at("2026-10-12"))
    item = only(dl.open_items(db, PROVINCE, today=today, programmes=rules(tmp_path, take_up=4)), "demand", demand_id)
    assert item.due == date(2026, 10, 16)
    assert (item.status, item.working_days_left) == (status, left)


@pytest.mark.parametrize("instant, limit, today, due, provisional", [
    (at("2031-03-03"), 5, date(2031, 3, 3), date(2031, 3, 10), True),  # 2031 counted Monday to Friday
    # 25, 28–31 Dec 2026, then 1 (Fri), 4–7 Jan 2027: the count runs into a year nobody entered.
    (at("2026-12-24"), 10, date(2026, 12, 24), date(2027, 1, 7), True),
    (at("2026-12-21"), 5, date(2026, 12, 21), date(2026, 12, 28), False),
    # due in an entered year, but today lies in 2027: the days overdue are counted on a provisional year.
    (at("2026-12-21"), 5, date(2027, 1, 5), date(2026, 12, 28), True),
])
def test_a_year_nobody_entered_is_provisional(db, tmp_path, instant: datetime, limit: int, today: date,  # type: ignore[no-untyped-def]
                                              due: date, provisional: bool) -> None:
    demand_id = posted(db, instant)
    item = only(dl.open_items(db, PROVINCE, today=today, programmes=rules(tmp_path, take_up=limit)), "demand",
                demand_id)
    assert (item.due, item.provisional) == (due, provisional)


# ------------------------------------------------------------------ when each stage started
def test_the_latest_starting_event_wins_and_rows_without_one_fall_back(db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    programmes = rules(tmp_path)
    resubmitted = a_match(db, "resubmitted", None, None)
    with db.session() as s:  # submitted, rejected and resubmitted twice; written out of order
        event(s, "match", resubmitted, "submit", at("2026-09-01"))
        event(s, "match", resubmitted, "resubmit", at("2026-09-15"))
        event(s, "match", resubmitted, "resubmit", at("2026-10-12"))
        event(s, "match", resubmitted, "resubmit", at("2026-09-20"))
        event(s, "match", resubmitted, "contact", at("2026-10-20"))  # not an action that starts a review
        event(s, "demand", resubmitted, "resubmit", at("2026-10-21"))  # another entity with the same id
    imported = a_match(db, "submitted", None, None, updated_at=at("2026-10-09"), created_at=at("2026-08-03"))
    with db.session() as s:  # its shortlisting is on the trail, its submission is not: the row's time counts
        event(s, "match", imported, "shortlist", at("2026-08-03"))
    with db.session() as s:  # an open demand with no post event: its row's creation
        bare = f.demand(s, f.enterprise(s, county_code="140105"), created_at=at("2026-09-30", hour=23))
        bare_id = bare.id
    items = dl.open_items(db, PROVINCE, today=date(2026, 10, 12), programmes=programmes)
    assert only(items, "match", resubmitted).started == date(2026, 10, 12)
    assert only(items, "match", imported).started == date(2026, 10, 9)
    assert only(items, "demand", bare_id).started == date(2026, 9, 30)


def test_the_services_record_the_actions_each_stage_starts_with(db) -> None:  # type: ignore[no-untyped-def]
    """Through the real services: post, shortlist, submit, resubmit, report outcome. The rows' own times are
    then moved to 2020, so only the audit event can give today's date."""
    with db.session() as s:
        ent = f.enterprise(s, county_code="140105")
        agency = f.intermediary(s)
        taken = f.demand(s, ent, status="taken_up", intermediary_id=agency.id)
        talent = f.talent(s)
        shortlisted = f.match(s, taken, talent, status="shortlisted", mode="dual_appointment")
        rejected = f.match(s, taken, f.talent(s), status="rejected")
        engaged = f.match(s, taken, f.talent(s), status="engaged", mode="tech_vp")
        ids_ = (taken.id, talent.id, shortlisted.id, rejected.id, engaged.id, ent.id, agency.id)
    taken_id, talent_id, shortlisted_id, rejected_id, engaged_id, ent_id, agency_id = ids_
    owner = Actor(None, "enterprise", enterprise_id=ent_id)
    broker = Actor(None, "intermediary", intermediary_id=agency_id)
    demand_id = demand_svc.create_demand(db, owner, {"title": "焦炉煤气精脱硫", "description": "有机硫偏高。",
                                                     "modes": ["flexible"], **COMPLETE_PARTS}).id
    new = match_svc.shortlist(db, None, broker, taken_id, talent_id, "flexible").id
    match_svc.submit(db, broker, shortlisted_id, "先做小试")
    match_svc.submit(db, broker, rejected_id, "补充方案")
    match_svc.report_outcome(db, broker, engaged_id, "solved", "按期完成")
    old = datetime(2020, 1, 6, tzinfo=UTC)
    with db.session() as s:
        s.execute(update(Demand).where(Demand.id == demand_id).values(created_at=old, updated_at=old))
        s.execute(update(Match).values(created_at=old, updated_at=old))
    today = dl.shanghai_today()
    items = dl.open_items(db, PROVINCE, today=today)
    expected = {("demand", demand_id): "take_up", ("match", new): "first_contact",
                ("match", shortlisted_id): "review", ("match", rejected_id): "review",
                ("match", engaged_id): "reward_decision"}
    for (kind, item_id), stage in expected.items():
        item = only(items, kind, item_id)
        assert (item.stage, item.started) == (stage, today)


# ------------------------------------------------------------------ who owes each step
def test_each_stage_is_owed_by_its_unit(db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    when = at("2026-10-12")
    with db.session() as s:
        xd, nowhere = f.enterprise(s, county_code="140105"), f.enterprise(s, county_code=None)
        on_board, unknown_board = f.demand(s, xd), f.demand(s, nowhere)
        agency = f.intermediary(s, name="晋才中介")
        taken = f.demand(s, xd, status="taken_up", intermediary_id=agency.id)
        taken_nowhere = f.demand(s, nowhere, status="taken_up", intermediary_id=agency.id)
        contact = f.match(s, taken, f.talent(s))
        review = f.match(s, taken, f.talent(s), status="submitted")
        review_nowhere = f.match(s, taken_nowhere, f.talent(s), status="submitted")
        reward = f.match(s, taken, f.talent(s), status="outcome_reported")
        for d in (on_board, unknown_board):
            event(s, "demand", d.id, "post", when)
        for m, action in ((contact, "shortlist"), (review, "submit"), (review_nowhere, "submit"),
                          (reward, "report_outcome")):
            event(s, "match", m.id, action, when)
        agency_id = agency.id
        keys = {"board": ("demand", on_board.id), "board_nowhere": ("demand", unknown_board.id),
                "contact": ("match", contact.id), "review": ("match", review.id),
                "review_nowhere": ("match", review_nowhere.id), "reward": ("match", reward.id)}
    county_first = dl.open_items(db, PROVINCE, today=date(2026, 10, 12), programmes=rules(tmp_path))
    unit = {k: (i.stage, i.unit_kind, i.unit_id, i.unit_code, i.unit_name, i.county_code)
            for k, (kind, item_id) in keys.items() for i in [only(county_first, kind, item_id)]}
    assert unit == {
        "board": ("take_up", "office", None, "140105", "太原市小店区", "140105"),
        "board_nowhere": ("take_up", "office", None, "140000", "山西省", None),
        "contact": ("first_contact", "intermediary", agency_id, None, "晋才中介", "140105"),
        "review": ("review", "office", None, "140105", "太原市小店区", "140105"),  # the county's 初审
        "review_nowhere": ("review", "office", None, "140000", "山西省", None),
        "reward": ("reward_decision", "office", None, "140000", "山西省", "140105"),  # graded by the province
    }
    # Shanxi's 产业人才对接: flexible is reviewed (审核) and graded by the city.
    shanxi = dl.open_items(db, PROVINCE, today=date(2026, 10, 12))
    assert (only(shanxi, *keys["review"]).unit_code, only(shanxi, *keys["review"]).unit_name) == ("140100", "太原市")
    assert only(shanxi, *keys["reward"]).unit_code == "140100"
    assert only(shanxi, *keys["review"]).programme == "industry_talent@2026-12-v2"
    # A city-level first review in another file names the city.
    city_first = dl.open_items(db, PROVINCE, today=date(2026, 10, 12), programmes=rules(tmp_path, first="city"))
    assert only(city_first, *keys["review"]).unit_code == "140100"
    # limits: 3 working days to first contact, 5 to review, 20 to the reward decision (13–16, 19 Oct …)
    dues = {k: only(county_first, *keys[k]).due for k in ("contact", "review", "reward")}
    assert dues == {"contact": date(2026, 10, 15), "review": date(2026, 10, 19), "reward": date(2026, 11, 9)}


def test_a_mode_without_a_default_programme_is_skipped_with_its_reason(db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    vp_match = a_match(db, "submitted", "submit", at("2026-10-12"), mode="tech_vp")
    vp_demand = posted(db, at("2026-10-12"), modes=["tech_vp"])
    mixed = posted(db, at("2026-10-12"), modes=["tech_vp", "flexible"])
    programmes = rules(tmp_path)
    listed = dl.open_items(db, PROVINCE, today=date(2026, 10, 12), programmes=programmes)
    assert ("match", vp_match) not in ids(listed) and ("demand", vp_demand) not in ids(listed)
    assert only(listed, "demand", mixed).mode == "flexible"
    summary = dl.oversight(db, PROVINCE, today=date(2026, 10, 12), programmes=programmes)
    skipped = {(k.kind, k.id): k for k in summary.skipped}
    assert set(skipped) == {("match", vp_match), ("demand", vp_demand)}
    assert "tech_vp" in skipped[("match", vp_match)].reason and skipped[("match", vp_match)].stage == "review"


# ------------------------------------------------------------------ what is open
def test_what_moved_on_is_no_longer_open(db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    when = at("2026-10-12")
    open_demand = posted(db, when)
    gone = {
        "closed": posted(db, when, status="closed"), "withdrawn": posted(db, when, status="withdrawn"),
        "taken_up": posted(db, when, status="taken_up"),
    }
    still = a_match(db, "shortlisted", "shortlist", when)
    moved = {
        "tried": a_match(db, "shortlisted", "shortlist", when, contact_log={"attempts": [{"at": "x", "note": "电话"}],
                                                                             "answer": "pending"}),
        "answered": a_match(db, "shortlisted", "shortlist", when, contact_log={"attempts": [], "answer": "accepted",
                                                                                "answered_by": "talent"}),
        "approved": a_match(db, "approved", "submit", when), "rejected": a_match(db, "rejected", "submit", when),
        "engaged": a_match(db, "engaged", "submit", when), "rewarded": a_match(db, "rewarded", "report_outcome", when),
        "on_a_withdrawn_demand": a_match(db, "submitted", "submit", when, demand_status="withdrawn"),
        "shortlisted_on_a_closed_demand": a_match(db, "shortlisted", "shortlist", when, demand_status="closed"),
    }
    with db.session() as s:  # a round's proposal on a demand still on the board: the take-up is what is owed
        d = f.demand(s, f.enterprise(s, county_code="140105"))
        on_board, unassigned = d.id, f.match(s, d, f.talent(s)).id
    awaiting_reward = a_match(db, "outcome_reported", "report_outcome", when, demand_status="closed")
    items = ids(dl.open_items(db, PROVINCE, today=date(2026, 10, 12), programmes=rules(tmp_path)))
    assert {("demand", open_demand), ("match", still), ("match", awaiting_reward), ("demand", on_board)} <= items
    assert not {("demand", i) for i in gone.values()} & items
    assert not {("match", i) for i in (*moved.values(), unassigned)} & items
    with db.session() as s:
        s.execute(update(Demand).where(Demand.id == open_demand).values(status="closed"))
        s.execute(update(Match).where(Match.id == still).values(status="submitted"))
    after = dl.open_items(db, PROVINCE, today=date(2026, 10, 12), programmes=rules(tmp_path))
    assert ("demand", open_demand) not in ids(after)
    assert only(after, "match", still).stage == "review"


# ------------------------------------------------------------------ who may see what
@pytest.fixture()
def area(db):  # type: ignore[no-untyped-def]
    """Items in two 太原 counties, one 大同 county and an enterprise of unknown county; at 19 Oct with
    5-day limits: posted 9 Oct is due 15 Oct (overdue), 13 Oct → 20 Oct (due soon), 19 Oct → 26 Oct (due)."""
    overdue, soon, due = at("2026-10-09"), at("2026-10-13"), at("2026-10-19")
    made = {
        "xd_overdue": ("demand", posted(db, overdue, "140105")),
        "xd_soon": ("demand", posted(db, soon, "140105")),
        "xd_review": ("match", a_match(db, "submitted", "submit", overdue, "140105")),
        "yz_due": ("demand", posted(db, due, "140106")),
        "pc_overdue": ("demand", posted(db, overdue, "140213")),
        "nowhere_soon": ("demand", posted(db, soon, None)),
    }
    return made


@pytest.mark.parametrize("actor, sees", [
    (PROVINCE, {"xd_overdue", "xd_soon", "xd_review", "yz_due", "pc_overdue", "nowhere_soon"}),
    (ADMIN, {"xd_overdue", "xd_soon", "xd_review", "yz_due", "pc_overdue", "nowhere_soon"}),
    (Actor(None, "official", office_code="140000"),
     {"xd_overdue", "xd_soon", "xd_review", "yz_due", "pc_overdue", "nowhere_soon"}),
    (TAIYUAN, {"xd_overdue", "xd_soon", "xd_review", "yz_due"}),
    (XIAODIAN, {"xd_overdue", "xd_soon", "xd_review"}),
    (Actor(None, "official", office_code="140200"), {"pc_overdue"}),
])
def test_an_office_sees_the_items_of_its_area(db, tmp_path, area, actor: Actor, sees: set[str]) -> None:  # type: ignore[no-untyped-def]
    items = dl.open_items(db, actor, today=date(2026, 10, 19), programmes=rules(tmp_path))
    assert ids(items) == {area[k] for k in sees}


@pytest.mark.parametrize("actor", [Actor(None, "enterprise", enterprise_id=1), Actor(None, "intermediary",
                                   intermediary_id=1), Actor(None, "talent", talent_id=1), Actor(None, "system")])
def test_enterprises_intermediaries_and_talents_are_refused(db, actor: Actor) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Forbidden):
        dl.open_items(db, actor)
    with pytest.raises(Forbidden):
        dl.oversight(db, actor)


def test_most_overdue_first_and_the_filters(db, tmp_path, area) -> None:  # type: ignore[no-untyped-def]
    programmes = rules(tmp_path)
    items = dl.open_items(db, PROVINCE, today=date(2026, 10, 19), programmes=programmes)
    assert [i.working_days_left for i in items] == sorted(i.working_days_left for i in items)
    assert [i.status for i in items] == ["overdue"] * 3 + ["due_soon"] * 2 + ["due"]
    assert items[0].working_days_left == -2  # 16 and 19 Oct past the 15th
    overdue = dl.open_items(db, PROVINCE, today=date(2026, 10, 19), programmes=programmes, status="overdue")
    assert ids(overdue) == {area["xd_overdue"], area["xd_review"], area["pc_overdue"]}
    reviews = dl.open_items(db, PROVINCE, today=date(2026, 10, 19), programmes=programmes, stage="review")
    assert ids(reviews) == {area["xd_review"]}
    with pytest.raises(Invalid):
        dl.open_items(db, PROVINCE, status="late")
    with pytest.raises(Invalid):
        dl.open_items(db, PROVINCE, stage="approval")


# ------------------------------------------------------------------ the 督查 summary
def test_the_summary_rolls_counties_up_to_the_city_and_the_province(db, tmp_path, area) -> None:  # type: ignore[no-untyped-def]
    programmes = rules(tmp_path)
    summary = dl.oversight(db, PROVINCE, today=date(2026, 10, 19), programmes=programmes)
    assert (summary.overdue, summary.due_soon, summary.due) == (3, 2, 1)
    offices = {o.code: (o.overdue, o.due_soon, o.due) for o in summary.offices}
    assert offices == {"140000": (3, 2, 1), "140100": (2, 1, 1), "140105": (2, 1, 0), "140106": (0, 0, 1),
                       "140200": (1, 0, 0), "140213": (1, 0, 0)}
    assert [o.code for o in summary.offices] == ["140000", "140100", "140105", "140106", "140200", "140213"]
    by_code = {o.code: o for o in summary.offices}
    assert {(i.kind, i.id) for i in by_code["140100"].overdue_items} == {area["xd_overdue"], area["xd_review"]}
    assert (by_code["140105"].name, by_code["140105"].level_label) == ("太原市小店区", "县级")
    units = [(u.unit_kind, u.unit_code, u.overdue, u.due_soon, u.due) for u in summary.units]
    assert units == [("office", "140105", 2, 1, 0), ("office", "140213", 1, 0, 0), ("office", "140000", 0, 1, 0),
                     ("office", "140106", 0, 0, 1)]
    assert summary.skipped == ()

    county = dl.oversight(db, XIAODIAN, today=date(2026, 10, 19), programmes=programmes)
    assert [(o.code, o.overdue, o.due_soon, o.due) for o in county.offices] == [("140105", 2, 1, 0)]
    city = dl.oversight(db, TAIYUAN, today=date(2026, 10, 19), programmes=programmes)
    assert [(o.code, o.overdue, o.due_soon, o.due) for o in city.offices] == [
        ("140100", 2, 1, 1), ("140105", 2, 1, 0), ("140106", 0, 0, 1)]


def test_export_rows_are_text_under_chinese_headers(db, tmp_path, area) -> None:  # type: ignore[no-untyped-def]
    items = dl.open_items(db, PROVINCE, today=date(2026, 10, 19), programmes=rules(tmp_path), status="overdue")
    rows = dl.oversight_rows(items)
    assert len(rows) == 3 and all(list(r) == list(dl.EXPORT_COLUMNS) for r in rows)
    assert all(isinstance(v, str) for r in rows for v in r.values())
    review = next(r for r in rows if r["类型"] == "匹配")
    assert review == {
        "类型": "匹配", "编号": str(area["xd_review"][1]), "需求编号": review["需求编号"], "需求标题": "焦炉煤气精脱硫",
        "环节": "待审核", "开始日期": "2026-10-09", "截止日期": "2026-10-15", "时限(工作日)": "5", "状态": "已逾期",
        "剩余工作日": "-2", "暂定": "否", "责任单位类型": "主管部门", "责任单位": "太原市小店区",
        "所在区县": "太原市小店区", "适用规则": "county_pilot@2026-12-v1",
    }
    assert dl.oversight_rows([]) == []
