"""The working-day calendar (``matcher/domain/calendar.py``) and its table (``data/reference/holidays.csv``).

Expectations come from two sides: the installed chinese-calendar package, asked at test time (every day of
the entered years, and due dates stepped with its ``is_workday``), and literal dates checked by hand against
the package's 2026 data (State Council notice for 2026: weekdays off 01-01/02, 02-16…20, 02-23, 04-06,
05-01, 05-04/05, 06-19, 09-25, 10-01/02, 10-05…07; weekends worked 01-04, 02-14, 02-28, 05-09, 09-20, 10-10).

``tests/domain/data/holidays-2027.csv`` is a TEST FIXTURE with invented rows, NOT the official 2027
calendar (the State Council had not published it when this was written): it only stands for "a year
officials entered later"."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import chinese_calendar
import pytest

from matcher.domain.calendar import DEFAULT_TABLE, CalendarDay, WorkCalendar, WorkingDays, parse_table, parse_year
from matcher.tools import holidays as tool

D = dt.date.fromisoformat
FIXTURE_2027 = Path(__file__).parent / "data" / "holidays-2027.csv"  # invented test rows, not official data


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar.load()


@pytest.fixture(scope="module")
def cal_2027() -> WorkCalendar:
    rows, problems = tool.check_year_file(FIXTURE_2027, 2027)
    assert problems == []
    return WorkCalendar.load(extra_rows=rows)


def _days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def _package_due(start: dt.date, n: int) -> dt.date:
    """The n-th working day after start, stepped with the package's own judgement of each day."""
    day = start
    while n:
        day += dt.timedelta(days=1)
        n -= chinese_calendar.is_workday(day)
    return day


# --- the table and the package -----------------------------------------------------------------------------

def test_shipped_table_is_what_the_tool_generates_from_the_installed_package() -> None:
    assert DEFAULT_TABLE.read_text(encoding="utf-8") == tool.render_table(tool.package_rows())


def test_tool_writes_the_same_bytes_twice(tmp_path: Path) -> None:
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    assert tool.main(["--out", str(first)]) == 0
    assert tool.main(["--out", str(second)]) == 0
    assert first.read_bytes() == second.read_bytes() == DEFAULT_TABLE.read_bytes()


def test_entered_years_are_those_the_package_knows_from_2020(cal: WorkCalendar) -> None:
    last = max(chinese_calendar.holidays).year
    assert last >= 2026
    assert cal.years == frozenset(range(2020, last + 1))


def test_every_day_of_the_entered_years_agrees_with_the_package(cal: WorkCalendar) -> None:
    days = _days(dt.date(min(cal.years), 1, 1), dt.date(max(cal.years), 12, 31))
    disagree = [d for d in days if cal.is_working_day(d) != chinese_calendar.is_workday(d)]
    assert disagree == []
    assert not any(cal.is_provisional(d) for d in days)


def test_due_dates_agree_with_stepping_the_package(cal: WorkCalendar) -> None:
    wrong = []
    for start in _days(D("2025-12-01"), D("2026-11-30")):
        for n in (1, 3, 10, 20):
            due = cal.add_working_days(start, n)
            if (due.date, due.provisional) != (_package_due(start, n), False):
                wrong.append((start, n, due))
            elif cal.working_days_between(start, due.date) != WorkingDays(days=n, provisional=False):
                wrong.append((start, n, "inverse"))
    assert wrong == []


# --- 2026 by hand -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("day", "working"), [
    ("2026-02-14", True),   # Saturday, 调休 before Spring Festival
    ("2026-02-15", False),  # Sunday, inside the holiday
    ("2026-02-16", False),  # Monday, Spring Festival
    ("2026-02-23", False),  # Monday, last day of Spring Festival
    ("2026-02-24", True),   # Tuesday, back at work
    ("2026-02-28", True),   # Saturday, 调休 after Spring Festival
    ("2026-03-07", False),  # an ordinary Saturday
    ("2026-03-09", True),   # an ordinary Monday
    ("2026-09-20", True),   # Sunday, 调休 for National Day
    ("2026-09-25", False),  # Friday, Mid-autumn
    ("2026-10-07", False),  # Wednesday, National Day
    ("2026-10-08", True),   # Thursday
    ("2026-10-10", True),   # Saturday, 调休 after National Day
    ("2026-01-04", True),   # Sunday, 调休 for New Year
])
def test_is_working_day_2026(cal: WorkCalendar, day: str, working: bool) -> None:
    assert cal.is_working_day(D(day)) is working


@pytest.mark.parametrize(("start", "n", "due"), [
    ("2026-03-06", 1, "2026-03-09"),   # ordinary Friday → Monday
    ("2026-03-06", 5, "2026-03-13"),
    ("2026-03-09", 1, "2026-03-10"),   # the start day is not counted
    ("2026-02-13", 1, "2026-02-14"),   # Friday → the 调休 Saturday
    ("2026-02-13", 2, "2026-02-24"),   # over the whole Spring Festival
    ("2026-02-13", 5, "2026-02-27"),
    ("2026-02-13", 6, "2026-02-28"),   # ends on the second 调休 Saturday
    ("2026-02-13", 7, "2026-03-02"),
    ("2026-02-17", 1, "2026-02-24"),   # starting inside the holiday
    ("2026-09-18", 1, "2026-09-20"),   # Friday → the 调休 Sunday
    ("2026-09-24", 1, "2026-09-28"),   # over Mid-autumn (Friday off) and the weekend
    ("2026-09-30", 1, "2026-10-08"),   # over National Day
    ("2026-09-30", 3, "2026-10-10"),   # the 调休 Saturday counts
    ("2026-09-30", 4, "2026-10-12"),
    ("2025-12-31", 1, "2026-01-04"),   # New Year: Jan 1–2 off, Sunday Jan 4 worked
])
def test_add_working_days_2026(cal: WorkCalendar, start: str, n: int, due: str) -> None:
    result = cal.add_working_days(D(start), n)
    assert result.date == D(due)
    assert result.provisional is False


@pytest.mark.parametrize(("start", "end", "days"), [
    ("2026-02-13", "2026-02-24", 2),
    ("2026-09-30", "2026-10-08", 1),
    ("2026-01-31", "2026-02-28", 16),  # February 2026: 20 weekdays − 6 off + 2 调休 Saturdays
    ("2026-10-08", "2026-10-08", 0),
    ("2026-10-09", "2026-10-08", 0),   # end before start
])
def test_working_days_between_2026(cal: WorkCalendar, start: str, end: str, days: int) -> None:
    result = cal.working_days_between(D(start), D(end))
    assert result.days == days
    assert result.provisional is False


# --- years nobody entered, and a year entered later -------------------------------------------------------

@pytest.mark.parametrize(("start", "n", "due"), [
    ("2031-01-30", 1, "2031-01-31"),   # Thursday → Friday
    ("2031-01-31", 1, "2031-02-03"),   # Friday → Monday: weekends only
    ("2031-09-30", 1, "2031-10-01"),   # National Day unknown: Wednesday counted
    ("2031-09-30", 10, "2031-10-14"),
])
def test_a_year_nobody_entered_is_counted_monday_to_friday_and_flagged(cal: WorkCalendar, start: str, n: int,
                                                                       due: str) -> None:
    result = cal.add_working_days(D(start), n)
    assert result.date == D(due)
    assert result.provisional is True
    assert cal.is_provisional(D(due))
    assert cal.working_days_between(D(start), D(due)).provisional is True


def test_crossing_into_an_unentered_year_is_provisional(cal: WorkCalendar) -> None:
    assert 2027 not in cal.years
    due = cal.add_working_days(D("2026-12-31"), 1)
    assert due == type(due)(date=D("2027-01-01"), provisional=True)
    assert cal.working_days_between(D("2026-12-30"), D("2027-01-01")).provisional is True
    # a count that stays in 2026 is not
    assert cal.working_days_between(D("2026-12-01"), D("2026-12-31")).provisional is False


@pytest.mark.parametrize(("start", "n", "due", "due_without"), [
    ("2026-12-31", 1, "2027-01-04", "2027-01-01"),
    ("2027-02-04", 1, "2027-02-12", "2027-02-05"),
    ("2027-01-29", 1, "2027-01-31", "2027-02-01"),   # the fixture's 调休 Sunday
    ("2027-09-30", 2, "2027-10-09", "2027-10-04"),
])
def test_a_year_entered_later_counts_its_rows(cal: WorkCalendar, cal_2027: WorkCalendar, start: str, n: int,
                                              due: str, due_without: str) -> None:
    assert 2027 in cal_2027.years
    entered = cal_2027.add_working_days(D(start), n)
    assert (entered.date, entered.provisional) == (D(due), False)
    unentered = cal.add_working_days(D(start), n)
    assert (unentered.date, unentered.provisional) == (D(due_without), True)


def test_extra_rows_replace_their_year_of_the_table() -> None:
    # officials' entry for 2026 with one holiday only: the package's other 2026 days no longer apply
    only = [CalendarDay(D("2026-06-19"), "holiday", "端午")]
    cal = WorkCalendar.load(extra_rows=only)
    assert not cal.is_working_day(D("2026-06-19"))
    assert cal.is_working_day(D("2026-02-16"))
    assert not cal.is_working_day(D("2026-02-14"))
    assert not cal.is_working_day(D("2025-10-01"))  # other years untouched


@pytest.mark.parametrize(("row", "message"), [
    (CalendarDay(D("2026-02-14"), "holiday", "春节"), "Saturday: a holiday row"),
    (CalendarDay(D("2026-02-16"), "workday", "春节"), "Monday: a workday row"),
])
def test_an_inconsistent_calendar_cannot_be_built(row: CalendarDay, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        WorkCalendar.from_rows([row])


def test_a_row_outside_the_entered_years_is_refused() -> None:
    with pytest.raises(ValueError, match="not among the entered years"):
        WorkCalendar.from_rows([CalendarDay(D("2026-02-16"), "holiday", "春节")], years=[2027])


# --- refusals and status -------------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [0, -1, -30])
def test_a_limit_of_no_working_day_is_refused(cal: WorkCalendar, n: int) -> None:
    with pytest.raises(ValueError, match="at least 1 working day"):
        cal.add_working_days(D("2026-03-02"), n)


@pytest.mark.parametrize("n", [1.5, True, "3"])
def test_a_limit_is_a_whole_number(cal: WorkCalendar, n: object) -> None:
    with pytest.raises(TypeError):
        cal.add_working_days(D("2026-03-02"), n)  # type: ignore[arg-type]


@pytest.mark.parametrize(("today", "soon", "expected"), [
    ("2026-10-10", 2, "overdue"),    # the day after the due date (a 调休 Saturday)
    ("2026-10-09", 2, "due_soon"),   # the due date itself: 0 working days left
    ("2026-10-08", 2, "due_soon"),   # 1 left
    ("2026-09-30", 2, "due_soon"),   # 2 left, the National Day holiday between does not count
    ("2026-09-29", 2, "due"),        # 3 left
    ("2026-10-08", 0, "due"),        # 1 left, nothing counts as soon
    ("2026-10-09", 0, "due_soon"),
    ("2026-09-29", 3, "due_soon"),
])
def test_status_at_the_boundaries(cal: WorkCalendar, today: str, soon: int, expected: str) -> None:
    assert cal.status(D("2026-10-09"), D(today), soon=soon) == expected


def test_status_refuses_a_negative_soon(cal: WorkCalendar) -> None:
    with pytest.raises(ValueError, match="at least 0"):
        cal.status(D("2026-10-09"), D("2026-10-01"), soon=-1)


# --- checking the file of an added year ----------------------------------------------------------------------

def test_the_2027_fixture_passes_the_checks() -> None:
    rows, problems = tool.check_year_file(FIXTURE_2027)
    assert problems == []
    assert len(rows) == 15
    assert {r.date.year for r in rows} == {2027}


def test_the_checks_name_each_bad_row_and_column(tmp_path: Path) -> None:
    path = tmp_path / "2027.csv"
    path.write_text("\ufeffdate,kind,name\n"          # row 1, with the BOM Excel writes
                    "2027-01-01,holiday,元旦\n"        # 2 good
                    "2027-02-30,holiday,春节\n"        # 3 no such day
                    "2027/02/08,holiday,春节\n"        # 4 not YYYY-MM-DD
                    "2027-02-09,rest,春节\n"           # 5 unknown kind
                    "2027-02-06,holiday,春节\n"        # 6 Saturday as a holiday
                    "2027-02-22,workday,春节\n"        # 7 Monday as a workday
                    "2027-01-01,holiday,元旦\n"        # 8 repeats row 2
                    "2027-10-01,holiday,\n"            # 9 no name
                    "2028-01-03,holiday,元旦\n"        # 10 another year
                    "2027-10-04,holiday,国庆节\n",     # 11 good
                    encoding="utf-8")
    rows, problems = tool.check_year_file(path, 2027)
    assert [r.date for r in rows] == [D("2027-01-01"), D("2027-10-04")]
    assert [(p.row, p.field) for p in problems] == [
        (3, "date"), (4, "date"), (5, "kind"), (6, "date"), (7, "date"), (8, "date"), (9, "name"), (10, "date")]
    text = {p.row: str(p) for p in problems}
    assert "no such day" in text[3]
    assert "Saturday" in text[6] and "holiday" in text[6]
    assert "Monday" in text[7] and "workday" in text[7]
    assert "repeats row 2" in text[8]
    assert text[10].startswith("row 10, column 'date'") and "2027" in text[10]


def test_the_year_defaults_to_the_first_good_row() -> None:
    _, problems = parse_year("date,kind,name\n2027-01-01,holiday,元旦\n2028-01-03,holiday,元旦\n")
    assert [(p.row, p.field) for p in problems] == [(3, "date")]


@pytest.mark.parametrize(("text", "expected"), [
    ("date,kind\n2027-01-01,holiday\n", [(1, "name")]),
    ("day,type,label\n", [(1, "date"), (1, "kind"), (1, "name")]),
])
def test_a_missing_column_is_a_file_problem(text: str, expected: list[tuple[int, str]]) -> None:
    rows, problems = parse_table(text)
    assert rows == []
    assert [(p.row, p.field) for p in problems] == expected


def test_an_empty_year_is_refused() -> None:
    rows, problems = parse_year("date,kind,name\n")
    assert rows == [] and len(problems) == 1


def test_check_command_exits_non_zero_on_problems(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("date,kind,name\n2027-02-06,holiday,春节\n", encoding="utf-8")
    assert tool.main(["--check", str(bad)]) == 1
    assert tool.main(["--check", str(FIXTURE_2027), "--year", "2027"]) == 0
