"""Years of the official calendar entered by officials (stored in the database, counted by every worker):
a 2027 table makes 2027 dates certain and moves due dates over its holidays; a bad file stores nothing and
names each row; only the province's office (or an admin) enters a year; the command line does the same."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from matcher.cli import app as cli
from matcher.config import get_settings
from matcher.errors import Forbidden, Invalid
from matcher.services.access import Actor
from matcher.services.programme import calendar as cal
from matcher.storage.models import AuditEvent, HolidayDay

FIXTURE = Path(__file__).parents[1] / "domain" / "data" / "holidays-2027.csv"  # invented rows: a test fixture
PROVINCE = Actor(None, "official", office_code="140000")


def test_an_entered_year_is_counted_by_its_holidays(db) -> None:  # type: ignore[no-untyped-def]
    before = cal.work_calendar(db)
    assert 2027 not in before.years and before.add_working_days(date(2027, 1, 29), 1).provisional
    added = cal.add_year(db, PROVINCE, FIXTURE.read_text(encoding="utf-8"), 2027)
    assert added.holidays > 0 and added.replaced == 0
    after = cal.work_calendar(db)
    assert 2027 in after.years and 2027 in cal.entered_years(db)
    assert not after.add_working_days(date(2027, 1, 29), 1).provisional
    year = [date(2027, 1, 1) + timedelta(days=i) for i in range(365)]
    off = [d for d in year if d.weekday() < 5 and not after.is_working_day(d)]
    assert off and all(before.is_working_day(d) for d in off)  # weekdays the entry made holidays
    again = cal.add_year(db, PROVINCE, FIXTURE.read_text(encoding="utf-8"), 2027)  # re-entered: replaced whole
    assert again.replaced == added.holidays + added.workdays
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(HolidayDay)) == again.holidays + again.workdays
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "holidays_add")) == 2


@pytest.mark.parametrize("text, field", [
    ("date,kind,name\n2027-02-30,holiday,春节\n", "date"),
    ("date,kind,name\n2027-02-08,vacation,春节\n", "kind"),
    ("date,kind,name\n2028-02-08,holiday,春节\n", "date"),  # another year than the one entered
    ("date,kind,name\n", "date"),  # no rows
])
def test_a_bad_year_stores_nothing_and_names_the_row(db, text: str, field: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Invalid) as caught:
        cal.add_year(db, PROVINCE, text, 2027)
    assert caught.value.field == field and "row 2" in caught.value.message
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(HolidayDay)) == 0


@pytest.mark.parametrize("actor, error", [
    (Actor(None, "official", office_code="140100"), Invalid),  # a city office
    (Actor(None, "enterprise", enterprise_id=1), Forbidden),
    (Actor(None, "intermediary", intermediary_id=1), Forbidden),
])
def test_only_the_province_enters_a_year(db, actor: Actor, error: type[Exception]) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(error):
        cal.add_year(db, actor, FIXTURE.read_text(encoding="utf-8"), 2027)


def test_the_command_line_enters_a_year(db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = {"MATCHER_DATABASE_URL": db.url, "MATCHER_VAR_DIR": str(tmp_path)}
    get_settings.cache_clear()
    try:
        bad = tmp_path / "bad.csv"
        bad.write_text("date,kind,name\n2027-02-06,holiday,春节\n", encoding="utf-8")  # a Saturday as a holiday
        r = CliRunner().invoke(cli, ["holidays", "add", str(bad), "--year", "2027"], env=env)
        assert r.exit_code == 2 and "row 2" in r.output, r.output
        r = CliRunner().invoke(cli, ["holidays", "add", str(FIXTURE), "--year", "2027"], env=env)
        assert r.exit_code == 0 and "2027" in r.output, r.output
        r = CliRunner().invoke(cli, ["holidays", "years"], env=env)
        assert r.exit_code == 0 and "2027" in r.output.split() and "2026" in r.output.split(), r.output
    finally:
        get_settings.cache_clear()
