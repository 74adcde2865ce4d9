"""Engagements as plain rules: the parties of an agreement, the assessment periods of a term, the scored
form each party fills, and the monthly service shortfall against the agreement.

An approved match becomes an engagement. Its three-party agreement (enterprise, talent, intermediary; the
office witnesses) is confirmed by every party before the engagement starts; during it the talent or the
enterprise records service; per assessment period (the programme's ``assessment`` setting: yearly,
half-yearly, or once at the end) each party fills a short form and the grading office records the grade
(``vocabulary.Grade``) with its evidence; 奖补 for a period needs that grade (``domain/rewards.py`` holds
the arithmetic). Pure: dates and numbers in, dates and numbers out.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from matcher.errors import Invalid


class Party(StrEnum):
    """Who signs an agreement and fills an assessment form (the office witnesses and grades)."""

    ENTERPRISE = "enterprise"  # 甲方：用人单位
    TALENT = "talent"  # 乙方：人才
    INTERMEDIARY = "intermediary"  # 丙方：中介机构


PARTIES: tuple[Party, ...] = (Party.ENTERPRISE, Party.TALENT, Party.INTERMEDIARY)
PARTY_LABELS: dict[str, str] = {Party.ENTERPRISE: "甲方（用人单位）", Party.TALENT: "乙方（人才）",
                                Party.INTERMEDIARY: "丙方（中介机构）"}

#: Assessment period → its length in months (``end``: one period over the whole term).
PERIODS: dict[str, int | None] = {"half_yearly": 6, "yearly": 12, "end": None}
PERIOD_LABELS: dict[str, str] = {"half_yearly": "每半年", "yearly": "每年", "end": "期满一次"}

#: The scored form (1–5 each), after the 科技特派员 assessments: service delivered, the agreement's tasks
#: completed, results, and satisfaction with the other parties.
CRITERIA: dict[str, str] = {"service": "服务次数与时长", "completion": "协议任务完成度", "results": "成果与效益",
                            "satisfaction": "满意度"}
SCORE_RANGE = (1, 5)
#: Whose forms the office needs before it grades a period: the talent's self-assessment is shown when
#: given (a talent without an account cannot fill one).
FORMS_BEFORE_GRADE: tuple[Party, ...] = (Party.ENTERPRISE, Party.INTERMEDIARY)

#: What a service record's results count (whole numbers) and revenue in yuan.
RESULT_KEYS: dict[str, str] = {"patents": "专利", "products": "新产品", "standards": "标准",
                               "people_trained": "培养人才", "revenue_yuan": "新增产值（元）"}


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole months, clamped to the month's last day (31 Jan + 1 month = 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class Period:
    """One assessment period: 1-based ``number``, inclusive dates, and the engagement year it falls in
    (what a 奖补 rule's cap and maximum years count)."""

    number: int
    start: date
    end: date
    engagement_year: int

    @property
    def label(self) -> str:
        return f"第{self.number}期（{self.start.isoformat()} 至 {self.end.isoformat()}）"


def periods(start: date, end: date, kind: str) -> tuple[Period, ...]:
    """The assessment periods of a term from ``start`` to ``end`` (inclusive); the last one may be short."""
    if kind not in PERIODS:
        raise ValueError(f"unknown assessment period {kind!r} (one of {', '.join(PERIODS)})")
    if end < start:
        raise ValueError("the term ends before it starts")
    months = PERIODS[kind]
    if months is None:
        return (Period(1, start, end, 1),)
    out: list[Period] = []
    n = 0
    while True:
        first = add_months(start, n * months)
        if first > end:
            break
        last = min(add_months(start, (n + 1) * months) - timedelta(days=1), end)
        out.append(Period(n + 1, first, last, n * months // 12 + 1))
        n += 1
    return tuple(out)


def period(start: date, end: date, kind: str, number: int) -> Period:
    """Period ``number`` of the term, or ``Invalid`` naming the field ``period``."""
    found = periods(start, end, kind)
    if not 1 <= number <= len(found):
        raise Invalid(f"period must be between 1 and {len(found)} for this engagement's term", field="period")
    return found[number - 1]


def check_scores(scores: Mapping[str, object]) -> dict[str, int]:
    """A party's form: every criterion scored with a whole number 1–5, nothing else."""
    low, high = SCORE_RANGE
    unknown = sorted(set(scores) - set(CRITERIA))
    if unknown:
        raise Invalid(f"unknown criterion '{unknown[0]}' (allowed: {', '.join(CRITERIA)})", field="scores")
    out: dict[str, int] = {}
    for key in CRITERIA:
        value = scores.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise Invalid(f"scores.{key} must be a whole number from {low} to {high}", field=f"scores.{key}")
        out[key] = value
    return out


def check_results(results: Mapping[str, object]) -> dict[str, int]:
    """A service record's results: whole numbers ≥ 0 under the known keys."""
    out: dict[str, int] = {}
    for key, value in results.items():
        if key not in RESULT_KEYS:
            raise Invalid(f"unknown result '{key}' (allowed: {', '.join(RESULT_KEYS)})", field="results")
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise Invalid(f"results.{key} must be a whole number, at least 0", field=f"results.{key}")
        out[key] = value
    return out


@dataclass(frozen=True)
class MonthTotal:
    """Service in one calendar month against the agreement's days on site per month."""

    month: str  # YYYY-MM
    days_on_site: float
    remote_hours: float
    agreed_days: int

    @property
    def short(self) -> bool:
        return self.days_on_site < self.agreed_days


def month_totals(records: Iterable[tuple[date, float, float]], start: date, until: date,
                 agreed_days: int) -> list[MonthTotal]:
    """Per complete calendar month from the start's month up to (not including) ``until``'s month: the days
    on site and remote hours recorded, flagged when below the agreed days (a month without records is a
    month of zero days — that is what the office needs to see)."""
    days: dict[str, float] = {}
    hours: dict[str, float] = {}
    for when, on_site, remote in records:
        key = when.strftime("%Y-%m")
        days[key] = days.get(key, 0.0) + on_site
        hours[key] = hours.get(key, 0.0) + remote
    out: list[MonthTotal] = []
    cursor = date(start.year, start.month, 1)
    stop = date(until.year, until.month, 1)
    while cursor < stop:
        key = cursor.strftime("%Y-%m")
        out.append(MonthTotal(key, round(days.get(key, 0.0), 2), round(hours.get(key, 0.0), 2), agreed_days))
        cursor = add_months(cursor, 1)
    return out
