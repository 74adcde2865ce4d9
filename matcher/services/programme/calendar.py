"""The working-day calendar a deployment counts time limits on: the project's holiday table
(``data/reference/holidays.csv``, from the State Council's notices as the chinese-calendar package encodes
them) with the years officials entered on top, stored in the database so every worker counts alike.

The State Council publishes each next year's holidays late in the year; until an official enters that
year (``matcher holidays add FILE``), its dates count Monday–Friday and are marked provisional
(``domain/calendar.py``). An entered year replaces that year of the table as a whole: one notice, one
year."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy import delete, func, select

from matcher.domain.calendar import CalendarDay, RowProblem, WorkCalendar, parse_year
from matcher.domain.vocabulary import Role
from matcher.errors import Invalid
from matcher.services.access import Actor, require
from matcher.services.audit import record
from matcher.storage.db import Database
from matcher.storage.models import HolidayDay


@dataclass(frozen=True)
class YearAdded:
    year: int
    holidays: int
    workdays: int
    replaced: int  # rows of an earlier entry of the same year


class HolidayFileInvalid(Invalid):
    """An added year's file with row-level problems: nothing is stored, every problem is reported."""

    def __init__(self, problems: list[RowProblem]) -> None:
        first = problems[0]
        super().__init__("; ".join(str(p) for p in problems[:20]) + (" …" if len(problems) > 20 else ""),
                         field=first.field)
        self.problems = problems


_cache: dict[str, tuple[tuple[int, str], WorkCalendar]] = {}
_lock = threading.Lock()


def work_calendar(db: Database) -> WorkCalendar:
    """The calendar with the entered years (read once, again only when an entry changed: the key is the
    stored rows' count and newest entry, one cheap query)."""
    with db.session() as s:
        count, newest = s.execute(select(func.count(), func.max(HolidayDay.added_at))).one()
        key = (int(count or 0), str(newest))
        with _lock:
            cached = _cache.get(db.url)
            if cached is not None and cached[0] == key:
                return cached[1]
        rows = [CalendarDay(r.day, r.kind, r.name) for r in s.scalars(select(HolidayDay))]  # type: ignore[arg-type]
    calendar = WorkCalendar.load(extra_rows=rows)
    with _lock:
        _cache[db.url] = (key, calendar)
    return calendar


def add_year(db: Database, actor: Actor, text: str, year: int) -> YearAdded:
    """Enter (or re-enter) one year's holidays and working weekends from its CSV (``date,kind,name``): all
    rows or none; a row-level report of every problem. The province's officials and admins only."""
    require(actor, Role.OFFICIAL, Role.ADMIN)
    if actor.role == Role.OFFICIAL and actor.office_code is not None and not actor.office_code.endswith("0000"):
        raise Invalid("a year of the official calendar is entered by the province office", field="office")
    if not 2000 <= year <= 2100:
        raise Invalid("year must be between 2000 and 2100", field="year")
    days, problems = parse_year(text, year)
    if problems:
        raise HolidayFileInvalid(problems)
    with db.session() as s:
        replaced = s.scalar(select(func.count()).select_from(HolidayDay).where(HolidayDay.year == year)) or 0
        s.execute(delete(HolidayDay).where(HolidayDay.year == year))
        for d in days:
            s.add(HolidayDay(day=d.date, kind=d.kind, name=d.name, year=year, added_by=actor.user_id))
        added = YearAdded(year, sum(d.kind == "holiday" for d in days), sum(d.kind == "workday" for d in days),
                          replaced)
        record(s, action="holidays_add", entity="calendar", entity_id=str(year), actor_user_id=actor.user_id,
               actor_role=actor.role, after={"holidays": added.holidays, "workdays": added.workdays,
                                             "replaced": replaced})
    return added


def entered_years(db: Database) -> list[int]:
    """Every year the calendar knows: the table's and the entered ones."""
    return sorted(work_calendar(db).years)
