"""The tables every figure of the office's view is computed from, read from the database in a few queries.

One row per demand with its dimensions (sector, GB/T 4754 code, city, county, programme, month) and the date
it reached each stage of the funnel; one row per demand and mode of supply (the read model the supply job
writes); one row per match, per engagement and per handover with its time limit. The figures
(``figures.py``) are plain pandas over these frames, so a test can hand-make them and the API can slice
them by the caller's office without another query.

Decisions:
- A stage's date is the Asia/Shanghai calendar date (``deadlines.local_date``) of the first time a demand
  reached it: posted (the row's creation), taken up (the ``take_up`` event), proposed (its first match
  submitted to an office), approved (the first ``approve``), engaged (the first agreement in force),
  graded (the first grade an office gave), rewarded (the first 奖补 paid). The funnel reads *first*
  times: the question is how long until a demand got that far, not how often.
- Working days come from the official calendar (``domain/calendar.py``) through a cumulative index over the
  frames' date range, so a difference of two dates is a subtraction, not a loop per row.
- A handover (``Handover``) is a stage a unit owed within a programme's time limit, done: the take-up
  (owed by the office of the enterprise's area, the board's 督查), the first contact (the match's
  intermediary) and each review decision (the deciding office, as the audit event names it). Only done
  handovers count; open ones are the 督查 list's (``programme/deadlines.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select

from matcher.domain.calendar import WorkCalendar
from matcher.domain.offices import OfficeLevel, OfficeTree, office_tree
from matcher.domain.programmes import Programme, ProgrammeSet, programmes
from matcher.services.programme.calendar import work_calendar
from matcher.services.programme.deadlines import local_date
from matcher.storage.db import Database
from matcher.storage.models import (
    Assessment,
    AuditEvent,
    Demand,
    DemandSupply,
    Engagement,
    EngagementGrade,
    Enterprise,
    Match,
    Reward,
)

#: The funnel's stages in order, with their Chinese labels.
STAGES: tuple[tuple[str, str], ...] = (
    ("posted", "出榜"), ("taken_up", "揭榜"), ("proposed", "提交推荐"), ("approved", "审核通过"),
    ("engaged", "协议生效"), ("graded", "考核定级"), ("rewarded", "奖补兑现"),
)
STAGE_KEYS: tuple[str, ...] = tuple(k for k, _ in STAGES)
STAGE_LABELS: dict[str, str] = dict(STAGES)
#: The review decisions that end a review handover.
DECISIONS = ("recommend", "send_back", "approve", "reject")
#: A grade as a number for averages (优秀 4 … 不合格 1).
GRADE_POINTS = {"excellent": 4, "good": 3, "pass": 2, "fail": 1}


@dataclass(frozen=True)
class Frames:
    """The office's tables at one moment (``computed_at``, UTC)."""

    demands: pd.DataFrame
    supply: pd.DataFrame
    matches: pd.DataFrame
    engagements: pd.DataFrame
    handovers: pd.DataFrame
    workdays: WorkdayIndex
    computed_at: datetime


class WorkdayIndex:
    """Working days between dates by subtraction: the count of working days up to each date of a range."""

    def __init__(self, calendar: WorkCalendar, first: date, last: date) -> None:
        self.first = first - timedelta(days=1)
        n = (last - self.first).days + 1
        days = [self.first + timedelta(days=i) for i in range(n)]
        self.cumulative = np.cumsum([0] + [int(calendar.is_working_day(d)) for d in days[1:]])
        self.calendar = calendar

    def ordinal(self, values: pd.Series) -> np.ndarray:
        """Each date's position in the cumulative index (NaN for a missing date)."""
        out = np.full(len(values), np.nan)
        for i, v in enumerate(values):
            if isinstance(v, date):
                j = (v - self.first).days
                out[i] = self.cumulative[min(max(j, 0), len(self.cumulative) - 1)]
        return out

    def between(self, start: pd.Series, end: pd.Series) -> np.ndarray:
        """Working days after ``start`` up to ``end`` (``WorkCalendar.working_days_between``), NaN where
        either is missing, 0 where the end is not after the start."""
        diff = self.ordinal(end) - self.ordinal(start)
        return np.where(np.isnan(diff), np.nan, np.maximum(diff, 0))


def records_of(df: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame's rows as plain dicts (typed ``Any``: pandas' cell types are a union nobody can narrow)."""
    return [{str(k): v for k, v in r.items()} for r in df.to_dict("records")]


def _day(at: datetime | None) -> date | None:
    return local_date(at) if at is not None else None


def _first_events(db_session: object, entity: str, actions: Sequence[str]) -> dict[int, datetime]:
    s = db_session
    rows = s.execute(select(AuditEvent.entity_id, func.min(AuditEvent.at))  # type: ignore[attr-defined]
                     .where(AuditEvent.entity == entity, AuditEvent.action.in_(actions))
                     .group_by(AuditEvent.entity_id))
    return {int(k): v for k, v in rows if str(k).isdigit()}


def _programme(rules: ProgrammeSet, named: str | None, mode: str) -> Programme | None:
    if named and named in rules and rules.get(named).covers(mode):
        return rules.get(named)
    return rules.default_for(mode)


def load(db: Database, now: datetime | None = None) -> Frames:
    """Read the frames (every demand the database holds: the caller's office is applied by ``scope``)."""
    now = now or datetime.now(UTC)
    tree = office_tree()
    rules = programmes()
    with db.session() as s:
        ents = {e.id: e for e in s.scalars(select(Enterprise))}
        taken = _first_events(s, "demand", ("take_up",))
        match_rows = s.execute(select(Match.id, Match.demand_id, Match.talent_id, Match.intermediary_id, Match.mode,
                                      Match.status, Match.programme_key, Match.created_at)).all()
        submitted = _first_events(s, "match", ("submit",))
        approved = _first_events(s, "match", ("approve",))
        contacted = _first_events(s, "match", ("contact",))
        engagement_rows = s.execute(select(Engagement.id, Engagement.match_id, Engagement.mode, Engagement.status,
                                           Engagement.programme_key, Engagement.started_at)).all()
        grades: dict[int, list[tuple[datetime, str]]] = {}
        for eid, at, grade in s.execute(select(EngagementGrade.engagement_id, EngagementGrade.created_at,
                                               EngagementGrade.grade)):
            grades.setdefault(eid, []).append((at, grade))
        paid: dict[int, datetime] = {int(k): v for k, v in s.execute(
            select(Reward.engagement_id, func.min(Reward.paid_at)).where(Reward.paid_at.is_not(None))
            .group_by(Reward.engagement_id)) if v is not None}
        scores: dict[int, list[float]] = {}
        for eid, sc in s.execute(select(Assessment.engagement_id, Assessment.scores)
                                 .where(Assessment.party == "enterprise")):
            values = [float(v) for v in (sc or {}).values() if isinstance(v, int | float)]
            if values:
                scores.setdefault(eid, []).append(sum(values) / len(values))
        decisions = s.execute(select(AuditEvent.entity_id, AuditEvent.at, AuditEvent.after)
                              .where(AuditEvent.entity == "match", AuditEvent.action.in_(DECISIONS))).all()
        review_starts = s.execute(select(AuditEvent.entity_id, AuditEvent.at)
                                  .where(AuditEvent.entity == "match",
                                         AuditEvent.action.in_(("submit", "resubmit", "recommend")))).all()
        demand_rows = s.execute(select(Demand.id, Demand.title, Demand.description, Demand.sector,
                                       Demand.industry_code, Demand.modes, Demand.city, Demand.enterprise_id,
                                       Demand.intermediary_id, Demand.programme, Demand.status,
                                       Demand.proposals_wanted, Demand.created_at)).all()
        supply_rows = s.execute(select(DemandSupply.demand_id, DemandSupply.mode, DemandSupply.supply,
                                       DemandSupply.best_probability, DemandSupply.nearest,
                                       DemandSupply.computed_at)).all()
    by_match_demand = {m.id: m.demand_id for m in match_rows}
    match_by_id = {m.id: m for m in match_rows}
    first_per_demand: dict[str, dict[int, datetime]] = {"proposed": {}, "approved": {}, "engaged": {},
                                                       "graded": {}, "rewarded": {}}

    def keep_first(stage: str, demand_id: int | None, at: datetime | None) -> None:
        if demand_id is None or at is None:
            return
        cur = first_per_demand[stage].get(demand_id)
        if cur is None or _aware(at) < _aware(cur):
            first_per_demand[stage][demand_id] = at

    for mid, at in submitted.items():
        keep_first("proposed", by_match_demand.get(mid), at)
    for mid, at in approved.items():
        keep_first("approved", by_match_demand.get(mid), at)
    eng_records = []
    for e in engagement_rows:
        m = match_by_id.get(e.match_id)
        demand_id = m.demand_id if m else None
        keep_first("engaged", demand_id, e.started_at)
        g = sorted(grades.get(e.id, []), key=lambda x: _aware(x[0]))
        if g:
            keep_first("graded", demand_id, g[0][0])
        keep_first("rewarded", demand_id, paid.get(e.id))
        eng_records.append({
            "id": e.id, "match_id": e.match_id, "demand_id": demand_id, "talent_id": m.talent_id if m else None,
            "intermediary_id": m.intermediary_id if m else None, "mode": e.mode, "status": e.status,
            "programme": e.programme_key, "grades": [x[1] for x in g],
            "grade_points": (float(np.mean([GRADE_POINTS.get(x[1], np.nan) for x in g])) if g else np.nan),
            "enterprise_score": float(np.mean(scores[e.id])) if e.id in scores else np.nan,
        })
    records = []
    for d in demand_rows:
        ent = ents.get(d.enterprise_id)
        county = ent.county_code if ent is not None else None
        row = {
            "id": d.id, "title": d.title, "text": f"{d.title}。{d.description}", "sector": d.sector or "other",
            "industry_code": d.industry_code or "", "modes": list(d.modes or []), "city": d.city or "",
            "county_code": county or "", "city_code": _city_code(tree, county),
            "office_code": tree.office_at(county, OfficeLevel.COUNTY).code,
            "enterprise_id": d.enterprise_id, "intermediary_id": d.intermediary_id,
            "programme": d.programme or "", "status": d.status, "wanted": int(d.proposals_wanted or 3),
            "created_at": _aware(d.created_at),
            "posted": _day(d.created_at), "taken_up": _day(taken.get(d.id)),
        }
        for stage in ("proposed", "approved", "engaged", "graded", "rewarded"):
            row[stage] = _day(first_per_demand[stage].get(d.id))
        row["month"] = row["posted"].strftime("%Y-%m") if row["posted"] else ""
        row["quarter"] = f"{row['posted'].year}Q{(row['posted'].month - 1) // 3 + 1}" if row["posted"] else ""
        records.append(row)
    demands = pd.DataFrame.from_records(records, columns=[
        "id", "title", "text", "sector", "industry_code", "modes", "city", "county_code", "city_code",
        "office_code", "enterprise_id", "intermediary_id", "programme", "status", "wanted", "created_at",
        *STAGE_KEYS, "month", "quarter"])
    supply = pd.DataFrame.from_records(
        [{"demand_id": r.demand_id, "mode": r.mode, "supply": int(r.supply), "best_probability": r.best_probability,
          "nearest": list(r.nearest or []), "computed_at": _aware(r.computed_at)} for r in supply_rows],
        columns=["demand_id", "mode", "supply", "best_probability", "nearest", "computed_at"])
    matches = pd.DataFrame.from_records(
        [{"id": m.id, "demand_id": m.demand_id, "talent_id": m.talent_id, "intermediary_id": m.intermediary_id,
          "mode": m.mode, "status": m.status, "submitted": _day(submitted.get(m.id)),
          "approved": _day(approved.get(m.id)), "shortlisted": _day(m.created_at),
          "contacted": _day(contacted.get(m.id))} for m in match_rows],
        columns=["id", "demand_id", "talent_id", "intermediary_id", "mode", "status", "submitted", "approved",
                 "shortlisted", "contacted"])
    engagements = pd.DataFrame.from_records(eng_records, columns=[
        "id", "match_id", "demand_id", "talent_id", "intermediary_id", "mode", "status", "programme", "grades",
        "grade_points", "enterprise_score"])
    dates = [d for col in STAGE_KEYS for d in demands[col] if isinstance(d, date)]
    dates += [d for d in matches["shortlisted"] if isinstance(d, date)]
    first = min(dates, default=local_date(now)) - timedelta(days=7)
    last = max([*dates, local_date(now)]) + timedelta(days=7)
    workdays = WorkdayIndex(work_calendar(db), first, last)
    handovers = _handovers(demands, matches, decisions, review_starts, rules, tree, workdays)
    return Frames(demands, supply, matches, engagements, handovers, workdays, now)


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _city_code(tree: OfficeTree, county: str | None) -> str:
    """The code of the city whose area holds the county ("" when the county is unknown)."""
    if not county or county not in tree:
        return ""
    office = tree.office_at(county, OfficeLevel.CITY)
    return "" if office.code == tree.province.code else office.code


def _handovers(demands: pd.DataFrame, matches: pd.DataFrame, decisions: Sequence[object],
               review_starts: Sequence[object], rules: ProgrammeSet, tree: OfficeTree,
               workdays: WorkdayIndex) -> pd.DataFrame:
    """The done handovers, each with its unit, the working days it took and its limit."""
    rows: list[dict[str, object]] = []
    programme_of: dict[int, str] = {int(k): str(v or "") for k, v in zip(demands["id"], demands["programme"],
                                                                          strict=True)}
    for d in records_of(demands):
        if not isinstance(d["taken_up"], date):
            continue
        modes = list(d["modes"] or ["flexible"])
        prog = next((p for p in (_programme(rules, d["programme"] or None, m) for m in modes) if p is not None), None)
        if prog is None:
            continue
        limit = min(rules.time_limit(prog, m, "take_up") for m in modes if prog.covers(m))
        rows.append({"stage": "take_up", "unit_kind": "office", "unit": d["office_code"], "demand_id": d["id"],
                     "start": d["posted"], "done": d["taken_up"], "limit": limit, "programme": prog.key})
    match_of: dict[int, dict[str, Any]] = {}
    for m in records_of(matches):
        match_of[int(m["id"])] = m
        if not isinstance(m["contacted"], date) or pd.isna(m["intermediary_id"]) or \
                m["demand_id"] not in programme_of:
            continue
        prog = _programme(rules, programme_of[m["demand_id"]] or None, m["mode"])
        if prog is None:
            continue
        rows.append({"stage": "first_contact", "unit_kind": "intermediary", "unit": str(int(m["intermediary_id"])),
                     "demand_id": m["demand_id"], "start": m["shortlisted"], "done": m["contacted"],
                     "limit": rules.time_limit(prog, m["mode"], "first_contact"), "programme": prog.key})
    starts: dict[int, list[datetime]] = {}
    for row in review_starts:
        key, when = row[0], row[1]  # type: ignore[index]
        if str(key).isdigit():
            starts.setdefault(int(key), []).append(_aware(when))
    for row in decisions:
        key, when, after = row[0], row[1], row[2]  # type: ignore[index]
        if not str(key).isdigit() or int(key) not in match_of:
            continue
        mid, decided = int(key), _aware(when)
        before = [t for t in starts.get(mid, []) if t <= decided]
        office = (after or {}).get("office")
        if not before or not office:
            continue
        demand_id, mode = int(match_of[mid]["demand_id"]), str(match_of[mid]["mode"])
        prog = _programme(rules, programme_of.get(demand_id) or None, mode)
        if prog is None:
            continue
        rows.append({"stage": "review", "unit_kind": "office", "unit": str(office), "demand_id": demand_id,
                     "start": local_date(max(before)), "done": local_date(decided),
                     "limit": rules.time_limit(prog, mode, "review"), "programme": prog.key})
    out = pd.DataFrame.from_records(rows, columns=["stage", "unit_kind", "unit", "demand_id", "start", "done",
                                                   "limit", "programme"])
    out["days"] = workdays.between(out["start"], out["done"]) if len(out) else []
    out["within"] = out["days"] <= out["limit"] if len(out) else []
    return out
