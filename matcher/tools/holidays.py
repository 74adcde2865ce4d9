"""The holiday table: regenerate ``data/reference/holidays.csv`` from the installed chinese-calendar package,
or check the file of one year officials add later.

    python -m matcher.tools.holidays [--out PATH]          # write the table (default: the shipped one)
    python -m matcher.tools.holidays --check FILE [--year Y]  # check an added year; exit 1 on problems

The table holds only the exceptions to the Monday–Friday week, one row a day: ``holiday`` for a weekday
off, ``workday`` for a weekend day worked (调休), named with the holiday's Chinese name. The package also
lists the weekend days inside a holiday period; they are off anyway, so they are left out. The output is
sorted by date with ``\\n`` line ends, so regenerating with the same package gives the same bytes (the tests
compare the shipped file with it, so it never goes stale).

The row checks themselves live in ``matcher.domain.calendar`` (``parse_year``): the later upload of an added
year runs in the services, which may not import a tool."""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections.abc import Sequence
from pathlib import Path

import chinese_calendar

from matcher.domain.calendar import COLUMNS, DEFAULT_TABLE, CalendarDay, RowProblem, parse_year

#: The first year of the table: older years can hold no open time limit.
FIRST_YEAR = 2020


def package_years(first_year: int = FIRST_YEAR) -> list[int]:
    """The years from ``first_year`` the installed package knows (it refuses dates outside its range)."""
    last = max(chinese_calendar.holidays).year
    return list(range(first_year, last + 1))


def _chinese_name(english: str) -> str:
    return str(chinese_calendar.Holiday(english).chinese)


def package_rows(first_year: int = FIRST_YEAR) -> list[CalendarDay]:
    """The exceptions the package knows from ``first_year`` on, sorted by date: its holidays that fall on a
    weekday, its working days that fall on a weekend."""
    years = set(package_years(first_year))
    rows = [CalendarDay(date=day, kind="holiday", name=_chinese_name(english))
            for day, english in chinese_calendar.holidays.items() if day.year in years and day.weekday() < 5]
    rows += [CalendarDay(date=day, kind="workday", name=_chinese_name(english))
             for day, english in chinese_calendar.workdays.items() if day.year in years and day.weekday() >= 5]
    return sorted(rows, key=lambda r: r.date)


def render_table(rows: Sequence[CalendarDay]) -> str:
    """The CSV text of ``rows`` (header ``date,kind,name``, ``\\n`` line ends)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows((r.date.isoformat(), r.kind, r.name) for r in rows)
    return out.getvalue()


def write_table(path: Path = DEFAULT_TABLE, first_year: int = FIRST_YEAR) -> int:
    """Write the package's table to ``path``; the number of rows."""
    rows = package_rows(first_year)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_table(rows), encoding="utf-8", newline="")
    return len(rows)


def check_year_file(path: Path, year: int | None = None) -> tuple[list[CalendarDay], list[RowProblem]]:
    """The rows of the CSV of one added year (columns ``date,kind,name``, UTF-8, a BOM from Excel accepted)
    and its row-level problems: a bad date, an unknown kind, a holiday on a weekend or a workday on a weekday,
    a repeated date, a missing name, a row outside the year (``year``, else the first row's)."""
    return parse_year(path.read_text(encoding="utf-8-sig"), year)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_TABLE, help="where to write the table")
    ap.add_argument("--check", type=Path, help="check the CSV of one added year instead of writing the table")
    ap.add_argument("--year", type=int, help="with --check: the year the file must cover")
    args = ap.parse_args(argv)
    if args.check is not None:
        rows, problems = check_year_file(args.check, args.year)
        for problem in problems:
            print(problem, file=sys.stderr)
        print(f"{args.check}: {len(rows)} good rows, {len(problems)} problems")
        return 1 if problems else 0
    n = write_table(args.out)
    years = package_years()
    print(f"{args.out}: {n} rows, years {years[0]}–{years[-1]} (chinese-calendar {chinese_calendar.__version__})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
