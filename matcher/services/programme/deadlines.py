"""Time limits on every open item, and the 督查 (oversight) list of what is overdue, and whose it is.

Every handover of the workflow has a limit in working days in the programme's rules
(``domain/programmes.py``): the board must take a posted demand up (``take_up``), the intermediary must
make the first contact with a shortlisted talent (``first_contact``), the reviewing office must decide a
submitted match (``review``), the grading office must decide the 奖补 once the outcome is reported
(``reward_decision``). An *open item* is a demand or match waiting on one of those steps; this module says
which they are, who owes the step, when the stage started, when it is due on the official calendar
(``domain/calendar.py``, the start day not counted) and whether it is due, due soon or overdue.

Decisions, so the list means the same to everyone who reads it:

- *When a stage started* is the audit trail's time of the transition that began it (``STARTED_BY``: the
  actions the workflow services record), the latest one when there are several (a match resubmitted
  twice starts its review at the second). A row with no such event (imported, or written before the
  trail existed) falls back to the row's ``created_at`` (posting, shortlisting: the row is born in that
  stage) or ``updated_at`` (later stages). The date is the Asia/Shanghai calendar date of the UTC
  instant: a submission at 08:30 Beijing time on Monday is Monday's, though it is still Sunday in UTC.
- *Which programme*: a match's, as its review takes it (``workflow/review.match_programme``: the one it
  was submitted under, else its demand's programme when that covers the mode, else the mode's default). A
  demand is not yet in any one mode; its take-up is owed under its programme for each of its modes (the
  same choice), so the earliest due date binds (ties: the demand's order of modes).
  When no programme is the default for the mode (every covering programme needs its own enrolment, or
  none covers it), the item is *skipped with its reason* rather than given limits nobody configured for
  it: the oversight summary lists the skipped items, so they are seen, not silently dropped.
- *Who owes the step*: the take-up, the board — for the 督查 that is the office of the enterprise's area
  (its county, else the province); the first contact, the match's intermediary; the review, the office at
  the level of the programme's first review step above the enterprise's county (the county, its city or
  the province); the reward decision, the office at the programme's grading level. An enterprise whose
  county nobody recorded is the province's (as ``access.in_area`` has it).
- *容缺 promises*: a match accepted with missing items (``review.py``) owes them by the promised date: an
  item ``promised_items`` of the intermediary's, due on that date (not a working-day limit: the date was
  promised), until every item is supplied — and overdue after it, whatever the match's state.
- *Not open*: a demand no longer ``open``; a shortlisted match whose talent answered or that has a contact
  attempt; a match that moved on. A shortlisted or submitted match whose demand ended (withdrawn, closed)
  waits on nobody — the approval would be refused — so it is not listed; a reported outcome still awaits
  the 奖补 decision after the enterprise closes the demand (the usual end of an engagement), so it is.
- ``working_days_left`` is the working days after today up to the due date (0 on the due date); once
  overdue, minus the working days since the due date, at least 1 (an item due on Friday is one day late
  on Saturday although no working day passed: it is late, and sorts before anything still due).

Officials and admins only, each seeing the items of their office's area (``access.demand_scope``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import get_args
from zoneinfo import ZoneInfo

import pandas as pd
from openpyxl import Workbook
from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from matcher.config import get_settings
from matcher.domain import programmes as programme_rules
from matcher.domain.calendar import WorkCalendar
from matcher.domain.offices import LABELS as LEVEL_LABELS
from matcher.domain.offices import Office, OfficeLevel, OfficeTree, office_tree
from matcher.domain.programmes import STAGES, Programme, ProgrammeSet
from matcher.domain.vocabulary import DemandStatus, MatchStatus, Role
from matcher.domain.workflow import AWAITING_REVIEW, ENDED_DEMANDS
from matcher.errors import Invalid
from matcher.services.access import Actor, demand_scope, require
from matcher.services.files.exporting import write_sheet
from matcher.services.programme.calendar import work_calendar
from matcher.services.workflow.review import outstanding
from matcher.storage.db import Database
from matcher.storage.models import AuditEvent, Demand, Enterprise, Intermediary, Match
from matcher.views import DueItem, DueStatus, Kind, OfficeSummary, Oversight, SkippedItem, Stage, UnitKind, UnitSummary

#: The calendar dates of the programme's rules: the stored instants are UTC.
SHANGHAI = ZoneInfo("Asia/Shanghai")

DUE_STATUSES: tuple[DueStatus, ...] = get_args(DueStatus)
PROMISED: Stage = "promised_items"
#: The programme file's stages (each with a limit in working days), then the 容缺 promise (a date).
ITEM_STAGES: tuple[str, ...] = (*STAGES, PROMISED)
assert get_args(Stage) == ITEM_STAGES, "the stages here are the programme file's stages and the 容缺 promise"

STAGE_LABELS: dict[str, str] = {"take_up": "待揭榜", "first_contact": "待首次联系", "review": "待审核",
                                "reward_decision": "待奖补决定", PROMISED: "容缺待补齐"}
STATUS_LABELS: dict[str, str] = {"due": "未到期", "due_soon": "即将到期", "overdue": "已逾期"}
KIND_LABELS: dict[str, str] = {"demand": "需求", "match": "匹配"}
UNIT_KIND_LABELS: dict[str, str] = {"intermediary": "中介机构", "office": "主管部门", "enterprise": "企业"}

#: The audit actions that begin each stage (``services/workflow``: demands.py, matches.py, rounds.py).
STARTED_BY: dict[str, tuple[str, ...]] = {
    "take_up": ("post", "publish", "extend"),  # on the board: posted, published from 待完善, or extended
    "first_contact": ("shortlist", "round_propose"),
    "review": ("submit", "resubmit", "recommend"),
    "reward_decision": ("report_outcome",),
}
#: For a match, the status that means its stage is open, and the audit action that entered that status.
_MATCH_STAGES: dict[str, tuple[Stage, tuple[str, ...]]] = {
    MatchStatus.SHORTLISTED.value: ("first_contact", STARTED_BY["first_contact"]),
    MatchStatus.SUBMITTED.value: ("review", ("submit", "recommend")),
    MatchStatus.RESUBMITTED.value: ("review", ("resubmit", "recommend")),
    MatchStatus.OUTCOME_REPORTED.value: ("reward_decision", STARTED_BY["reward_decision"]),
}
assert set(AWAITING_REVIEW) <= set(_MATCH_STAGES)
#: The decisions that can accept a submission with missing items (the promise's start).
_PROMISE_ACTIONS = ("recommend", "approve")
_CHUNK = 900  # ids per IN (…): well below every back end's limit on bound parameters


# ------------------------------------------------------------------ defaults
def shanghai_today() -> date:
    return datetime.now(SHANGHAI).date()


def local_date(at: datetime) -> date:
    """The Asia/Shanghai date of a stored instant (SQLite hands back naive datetimes; they are UTC)."""
    aware = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    return aware.astimezone(SHANGHAI).date()


# ------------------------------------------------------------------ public API
def open_items(db: Database, actor: Actor, *, today: date | None = None, calendar: WorkCalendar | None = None,
               status: str | None = None, stage: str | None = None,
               programmes: ProgrammeSet | None = None) -> list[DueItem]:
    """The open items the actor's office may see, most overdue first. ``status`` / ``stage`` narrow the
    list; ``calendar`` and ``programmes`` default to the official calendar and the deployment's programmes."""
    if status is not None and status not in DUE_STATUSES:
        raise Invalid(f"unknown status '{status}' (one of {', '.join(DUE_STATUSES)})", field="status")
    if stage is not None and stage not in ITEM_STAGES:
        raise Invalid(f"unknown stage '{stage}' (one of {', '.join(ITEM_STAGES)})", field="stage")
    items, _ = _collect(db, actor, today, calendar, programmes, stage)
    return [i for i in items if status is None or i.status == status]


def oversight(db: Database, actor: Actor, *, today: date | None = None, calendar: WorkCalendar | None = None,
              programmes: ProgrammeSet | None = None) -> Oversight:
    """The 督查 summary: counts per responsible unit and per office area (county, rolled up to its city and
    the province), the overdue items listed, and the items no programme gives a limit."""
    day = today or shanghai_today()
    items, skipped = _collect(db, actor, day, calendar, programmes, None)
    tree = office_tree()
    return Oversight(today=day, overdue=_count(items, "overdue"), due_soon=_count(items, "due_soon"),
                     due=_count(items, "due"), units=tuple(_by_unit(items)),
                     offices=tuple(_by_office(items, tree, actor.office_code)), skipped=tuple(skipped))


#: The XLSX export's columns, in order (Chinese headers: the file is for the offices).
EXPORT_COLUMNS: tuple[str, ...] = ("类型", "编号", "需求编号", "需求标题", "环节", "开始日期", "截止日期",
                                   "时限(工作日)", "状态", "剩余工作日", "暂定", "责任单位类型", "责任单位",
                                   "所在区县", "适用规则")


def oversight_rows(items: Iterable[DueItem]) -> list[dict[str, str]]:
    """One row per item as the export writes it, every cell text (dates ISO, 是/否 for provisional)."""
    tree = office_tree()
    rows = []
    for i in items:
        county = tree.get(i.county_code).display_name if i.county_code and i.county_code in tree else ""
        cells = (KIND_LABELS[i.kind], str(i.id), str(i.demand_id), i.title, i.stage_label, i.started.isoformat(),
                 i.due.isoformat(), str(i.limit_days), STATUS_LABELS[i.status], str(i.working_days_left),
                 "是" if i.provisional else "否", UNIT_KIND_LABELS[i.unit_kind], i.unit_name, county, i.programme)
        rows.append(dict(zip(EXPORT_COLUMNS, cells, strict=True)))
    return rows


# ------------------------------------------------------------------ gathering the items
@dataclass(frozen=True)
class _Clock:
    """What every item's dates are computed with."""

    today: date
    calendar: WorkCalendar
    soon: int


@dataclass(frozen=True)
class _Pending:
    """An item found waiting, before its dates are computed."""

    kind: Kind
    id: int
    demand_id: int
    title: str
    stage: Stage
    modes: tuple[str, ...]
    actions: tuple[str, ...]  # the audit actions that began the stage
    fallback: datetime
    county: Office | None
    intermediary_id: int | None
    programme: str | None = None  # the demand's programme, or the one the match was submitted under
    review_step: int = 0
    promised_by: date | None = None  # a 容缺 promise: the date, instead of a limit


def _collect(db: Database, actor: Actor, today: date | None, calendar: WorkCalendar | None,
             programmes: ProgrammeSet | None, stage: str | None) -> tuple[list[DueItem], list[SkippedItem]]:
    require(actor, Role.OFFICIAL, Role.ADMIN)
    clock = _Clock(today or shanghai_today(), calendar or work_calendar(db), get_settings().due_soon_days)
    rules = programmes or programme_rules.programmes()
    tree = office_tree()
    with db.session() as s:
        pending = _pending(s, actor, tree, stage)
        starts = _stage_starts(s, pending)
        names = _intermediary_names(s, {p.intermediary_id for p in pending if p.intermediary_id is not None})
    items: list[DueItem] = []
    skipped: list[SkippedItem] = []
    for p in pending:
        started = local_date(starts.get((p.kind, p.id, p.stage), p.fallback))
        found = _item(p, started, clock, rules, tree, names)
        if isinstance(found, DueItem):
            items.append(found)
        else:
            skipped.append(found)
    items.sort(key=lambda i: (i.working_days_left, i.due, i.kind, i.id))
    return items, skipped


def _pending(s: Session, actor: Actor, tree: OfficeTree, stage: str | None) -> list[_Pending]:
    """The demands and matches waiting on a step, in the actor's area: one query for each."""
    scope = demand_scope(actor)
    out: list[_Pending] = []
    if stage in (None, "take_up"):
        rows = s.execute(select(Demand.id, Demand.title, Demand.modes, Demand.created_at, Enterprise.county_code,
                                Demand.programme)
                         .join(Enterprise, Enterprise.id == Demand.enterprise_id)
                         .where(Demand.status == DemandStatus.OPEN, scope).order_by(Demand.id))
        for did, title, modes_, created, county, programme in rows:
            out.append(_Pending("demand", did, did, title, "take_up", tuple(modes_ or ()), STARTED_BY["take_up"],
                                created, _county(tree, county), None, programme))
    statuses = [st for st, (stg, _) in _MATCH_STAGES.items() if stage in (None, stg)]
    if statuses:
        matches = s.execute(select(Match, Demand.title, Demand.status, Enterprise.county_code, Demand.programme)
                            .join(Demand, Demand.id == Match.demand_id)
                            .join(Enterprise, Enterprise.id == Demand.enterprise_id)
                            .where(Match.status.in_(statuses), scope).order_by(Match.id))
        for m, title, d_status, county, d_programme in matches:
            match_stage, actions = _MATCH_STAGES[m.status]
            if match_stage != "reward_decision" and d_status in ENDED_DEMANDS:
                continue  # nobody can take the step: the demand ended
            if match_stage == "first_contact" and not _awaits_contact(m.contact_log, m.intermediary_id):
                continue
            fallback = m.created_at if match_stage == "first_contact" else m.updated_at
            out.append(_Pending("match", m.id, m.demand_id, title, match_stage, (m.mode,), actions, fallback,
                                _county(tree, county), m.intermediary_id, m.programme_key or d_programme,
                                m.review_step or 0))
    if stage in (None, PROMISED):
        promised = s.execute(select(Match, Demand.title, Enterprise.county_code)
                             .join(Demand, Demand.id == Match.demand_id)
                             .join(Enterprise, Enterprise.id == Demand.enterprise_id)
                             .where(Match.promised_by.is_not(None), scope).order_by(Match.id))
        for m, title, county in promised:
            if outstanding(m.missing_items):
                out.append(_Pending("match", m.id, m.demand_id, title, PROMISED, (m.mode,), _PROMISE_ACTIONS,
                                    m.updated_at, _county(tree, county), m.intermediary_id, m.programme_key,
                                    m.review_step or 0, m.promised_by))
    return out


def _awaits_contact(log: dict[str, object] | None, agency: int | None) -> bool:
    """A shortlisted match owes its first contact while nobody has tried and the talent has not answered.
    One without an intermediary (a round's proposal on a demand still on the board) owes nothing yet: the
    demand's take-up is what is late."""
    log = log or {}
    return agency is not None and not log.get("attempts") and log.get("answer", "pending") == "pending"


def _county(tree: OfficeTree, code: str | None) -> Office | None:
    """The enterprise's county office, or None when not recorded (or not a county of this region)."""
    if not code or code not in tree:
        return None
    office = tree.get(code)
    return office if office.level == OfficeLevel.COUNTY else None


def _stage_starts(s: Session, pending: Sequence[_Pending]) -> dict[tuple[str, int, str], datetime]:
    """The time each item's stage began, from the audit trail: the latest event of the action that begins
    it, read in one query per page of ids (not one per item). Keyed by (kind, id, stage): one match may owe
    a review and a 容缺 promise at once, each begun by other actions."""
    wanted: dict[tuple[str, str], dict[str, set[str]]] = defaultdict(dict)  # (entity, id) → stage → actions
    for p in pending:
        wanted[(p.kind, str(p.id))][p.stage] = set(p.actions)
    out: dict[tuple[str, int, str], datetime] = {}
    by_entity: dict[str, list[str]] = defaultdict(list)
    for entity, entity_id in wanted:
        by_entity[entity].append(entity_id)
    actions = sorted({a for acts in STARTED_BY.values() for a in acts} | set(_PROMISE_ACTIONS))
    for entity, ids in by_entity.items():
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start:start + _CHUNK]
            rows = s.execute(select(AuditEvent.entity_id, AuditEvent.action, AuditEvent.at).where(
                and_(AuditEvent.entity == entity, AuditEvent.entity_id.in_(chunk), AuditEvent.action.in_(actions))))
            for entity_id, action, at in rows:
                for stage, begun_by in wanted[(entity, entity_id)].items():
                    if action not in begun_by:
                        continue
                    key = (entity, int(entity_id), stage)
                    if key not in out or _utc(at) > _utc(out[key]):
                        out[key] = at
    return out


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _intermediary_names(s: Session, ids: set[int]) -> dict[int, str]:
    ordered, out = sorted(ids), {}
    for k in range(0, len(ordered), _CHUNK):
        chunk = ordered[k:k + _CHUNK]
        out.update({i: n for i, n in s.execute(select(Intermediary.id, Intermediary.name)
                                                .where(Intermediary.id.in_(chunk)))})
    return out


# ------------------------------------------------------------------ one item's limit, dates and unit
def _item(p: _Pending, started: date, clock: _Clock, rules: ProgrammeSet, tree: OfficeTree,
          names: dict[int, str]) -> DueItem | SkippedItem:
    chosen: tuple[date, bool, int, Programme, str] | None = None
    for mode in p.modes:
        programme = _programme(rules, p.programme, mode)
        if programme is None:
            continue
        if p.promised_by is not None:  # a promised date, not a limit: the working days it left are its limit
            span = clock.calendar.working_days_between(started, p.promised_by)
            chosen = (p.promised_by, span.provisional, max(span.days, 0), programme, mode)
            break
        step = min(p.review_step, len(programme.rules_for(mode).review) - 1) if p.stage == "review" else None
        limit = rules.time_limit(programme, mode, p.stage, step)
        due = clock.calendar.add_working_days(started, limit)
        if chosen is None or due.date < chosen[0]:
            chosen = (due.date, due.provisional, limit, programme, mode)
    if chosen is None:
        what = f"mode {', '.join(p.modes)}" if p.modes else "no mode"
        return SkippedItem(kind=p.kind, id=p.id, demand_id=p.demand_id, stage=p.stage,
                           reason=f"no programme is the default for {what} and the demand names none that "
                           "covers it")
    due_date, provisional, limit, programme, mode = chosen
    status = clock.calendar.status(due_date, clock.today, soon=clock.soon)
    if status == "overdue":
        late = clock.calendar.working_days_between(due_date, clock.today)
        left, provisional = -max(1, late.days), provisional or late.provisional
    else:
        ahead = clock.calendar.working_days_between(clock.today, due_date)
        left, provisional = ahead.days, provisional or ahead.provisional
    unit_kind, unit_id, unit_code, unit_name = _unit(p, programme, mode, tree, names)
    return DueItem(kind=p.kind, id=p.id, demand_id=p.demand_id, title=p.title,
                   mode=mode, stage=p.stage, stage_label=STAGE_LABELS[p.stage], started=started, due=due_date,
                   limit_days=limit, status=status, working_days_left=left, provisional=provisional,
                   unit_kind=unit_kind, unit_id=unit_id, unit_code=unit_code, unit_name=unit_name,
                   county_code=p.county.code if p.county else None, programme=str(programme.identity))


def _unit(p: _Pending, programme: Programme, mode: str, tree: OfficeTree,
          names: dict[int, str]) -> tuple[UnitKind, int | None, str | None, str]:
    """Who owes the step: the intermediary for the first contact, else an office above the enterprise."""
    if p.stage in ("first_contact", PROMISED) and p.intermediary_id is not None:
        return "intermediary", p.intermediary_id, None, names.get(p.intermediary_id, f"中介机构 {p.intermediary_id}")
    if p.stage == "take_up":
        level = OfficeLevel.COUNTY
    elif p.stage == "review":
        review = programme.rules_for(mode).review
        level = review[min(p.review_step, len(review) - 1)].level
    else:
        level = programme.rules_for(mode).graded_by
    office = tree.office_at(p.county.code if p.county else None, level)
    return "office", None, office.code, office.display_name


def _programme(rules: ProgrammeSet, named: str | None, mode: str) -> Programme | None:
    """The programme an item in ``mode`` is owed under: the one named (the demand's, or the match's own)
    when it covers the mode, else the mode's default; None when neither exists."""
    if named and named in rules and rules.get(named).covers(mode):
        return rules.get(named)
    return rules.default_for(mode)


# ------------------------------------------------------------------ the summary
def _count(items: Iterable[DueItem], status: str) -> int:
    return sum(1 for i in items if i.status == status)


def _by_unit(items: Sequence[DueItem]) -> list[UnitSummary]:
    groups: dict[tuple[str, int | None, str | None], list[DueItem]] = defaultdict(list)
    for i in items:
        groups[(i.unit_kind, i.unit_id, i.unit_code)].append(i)
    out = [UnitSummary(unit_kind=g[0].unit_kind, unit_id=g[0].unit_id, unit_code=g[0].unit_code,
                       unit_name=g[0].unit_name, overdue=_count(g, "overdue"), due_soon=_count(g, "due_soon"),
                       due=_count(g, "due"), overdue_items=tuple(i for i in g if i.status == "overdue"))
           for g in groups.values()]
    out.sort(key=lambda u: (-u.overdue, -u.due_soon, -u.due, u.unit_kind, u.unit_name))
    return out


def _by_office(items: Sequence[DueItem], tree: OfficeTree, actor_office: str | None) -> list[OfficeSummary]:
    """Each item counts in its enterprise's county, that county's city and the province (an unknown
    county: the province only). Lines are those of the actor's office and the offices below it, in the
    tree's order (the province, then each city followed by its counties), and only where items are."""
    groups: dict[str, list[DueItem]] = defaultdict(list)
    for i in items:
        county = _county(tree, i.county_code)
        for office in (county, *tree.ancestors(county.code)) if county else (tree.province,):
            groups[office.code].append(i)
    top = actor_office if actor_office and actor_office in tree else tree.province.code
    out = []
    for office in tree:
        g = groups.get(office.code)
        if not g or not tree.contains(top, office.code):
            continue
        out.append(OfficeSummary(code=office.code, name=office.display_name, level=office.level,
                                 level_label=LEVEL_LABELS[office.level], overdue=_count(g, "overdue"),
                                 due_soon=_count(g, "due_soon"), due=_count(g, "due"),
                                 overdue_items=tuple(i for i in g if i.status == "overdue")))
    return out


def export_oversight(db: Database, actor: Actor, path: Path, *, today: date | None = None) -> int:
    """The 督查 list as a workbook for the office (Chinese headers; user text never read as a formula):
    every open item the actor's office sees, most overdue first. Returns the number of rows."""
    rows = oversight_rows(open_items(db, actor, today=today))
    wb = Workbook(write_only=True)
    write_sheet(wb, "督查", pd.DataFrame(rows, columns=list(EXPORT_COLUMNS)))
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return len(rows)
