"""奖补 by rule (``domain/rewards.py``): the issue's acceptance examples, the split across budgets adding up to
the amount, fixed-sum rules, eligibility, every kind of bad rule refused with the key path in the message,
bad inputs refused naming the field, overrides above the cap, the display of amounts, and properties of the
arithmetic over many inputs."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from matcher.domain.offices import OfficeLevel
from matcher.domain.rewards import (
    RewardComputation,
    RewardRule,
    check_override,
    compute,
    parse_rule,
    parse_rules,
    split_shares,
    wan,
    yuan_text,
)
from matcher.domain.vocabulary import Grade, Payee
from matcher.errors import Invalid

PROVINCE, CITY, COUNTY = OfficeLevel.PROVINCE, OfficeLevel.CITY, OfficeLevel.COUNTY
WHERE = "data/programmes/shanxi.json: programmes.tech_vp_programme.rewards.tech_vp"

#: The issue's rule: the host is paid 70 % of the salary for 优秀 and 50 % for 合格, at most 100,000 yuan per
#: person per engagement year, for at most 3 years, province and city carrying half each.
ISSUE_RULE: dict[str, Any] = {
    "version": "2026-12-v1", "payee": "enterprise", "base": "salary",
    "rates": {"优秀": 0.7, "合格": 0.5, "不合格": 0},
    "cap_yuan_per_year": 100000, "max_years": 3, "in_province_only": True,
    "shares": {"province": 50, "city": 50},
}


def raw_rule(**changes: Any) -> dict[str, Any]:
    """The issue's rule as JSON, with keys changed (a value of ``...`` removes the key)."""
    out = copy.deepcopy(ISSUE_RULE)
    for key, value in changes.items():
        if value is ...:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def rule(**changes: Any) -> RewardRule:
    return parse_rule(raw_rule(**changes), WHERE)


def run(r: RewardRule | None = None, *, grade: Grade | str = Grade.EXCELLENT, year: int = 1,
        base: int | None = 200000, in_province: bool = True) -> RewardComputation:
    return compute(r or rule(), grade=grade, engagement_year=year, base_yuan=base, in_province=in_province)


# ------------------------------------------------------------------ the acceptance examples
@pytest.mark.parametrize(("grade", "year", "base", "amount", "capped", "reason"), [
    (Grade.EXCELLENT, 1, 200000, 100000, True, None),  # 140,000 capped at 100,000
    (Grade.PASS, 1, 150000, 75000, False, None),
    (Grade.EXCELLENT, 3, 200000, 100000, True, None),  # the third year still pays
    (Grade.EXCELLENT, 4, 200000, 0, False, "超过最长资助年限（3年）"),
    (Grade.FAIL, 1, 200000, 0, False, "考核不合格"),
])
def test_the_issue_examples(grade: Grade, year: int, base: int, amount: int, capped: bool,
                            reason: str | None) -> None:
    c = run(grade=grade, year=year, base=base)
    assert (c.amount_yuan, c.capped, c.reason_zero) == (amount, capped, reason)
    assert c.rule_version == "2026-12-v1"
    assert sum(c.shares.values()) == amount
    assert c.steps[-1].value == amount


def test_a_capped_computation_reads_line_by_line() -> None:
    c = run(grade="优秀", base=200000)
    assert c.summary == "基数 200,000元 × 优秀 70% = 140,000元 → 封顶 100,000元"
    assert [(s.label, s.value, s.text) for s in c.steps] == [
        ("资格", None, "省内企业"), ("年度", 1, "第1年"), ("基数", 200000, "200,000元"),
        ("比例", Decimal("0.7"), "70%"), ("核算", 140000, "140,000元"), ("封顶", 100000, "100,000元"),
        ("奖补金额", 100000, "100,000元"),
    ]
    assert all(s.note for s in c.steps)
    assert c.inputs == {"grade": Grade.EXCELLENT, "engagement_year": 1, "base_yuan": 200000, "in_province": True}


def test_the_province_city_split_adds_up() -> None:
    assert run(grade=Grade.PASS, base=150000).shares == {PROVINCE: 37500, CITY: 37500}


# ------------------------------------------------------------------ the split
@pytest.mark.parametrize(("amount", "shares", "expected"), [
    (75001, {PROVINCE: 50, CITY: 50}, {PROVINCE: 37501, CITY: 37500}),  # the tie goes to the province
    (75001, {PROVINCE: 33, CITY: 33, COUNTY: 34}, {PROVINCE: 24750, CITY: 24750, COUNTY: 25501}),
    (100, {PROVINCE: 33, CITY: 33, COUNTY: 34}, {PROVINCE: 33, CITY: 33, COUNTY: 34}),
    (1, {PROVINCE: 50, CITY: 50}, {PROVINCE: 1, CITY: 0}),
    (2, {PROVINCE: 33, CITY: 33, COUNTY: 34}, {PROVINCE: 1, CITY: 0, COUNTY: 1}),  # 0.66, 0.66, 0.68
    (1, {CITY: 50, COUNTY: 50}, {CITY: 1, COUNTY: 0}),  # city before county
    (0, {PROVINCE: 50, CITY: 50}, {PROVINCE: 0, CITY: 0}),
    (99999, {PROVINCE: 100}, {PROVINCE: 99999}),
    (10, {COUNTY: 15, PROVINCE: 70, CITY: 15}, {PROVINCE: 7, CITY: 2, COUNTY: 1}),  # 7, 1.5, 1.5
])
def test_the_split_adds_up_exactly(amount: int, shares: dict[OfficeLevel, int],
                                   expected: dict[OfficeLevel, int]) -> None:
    parts = split_shares(amount, shares)
    assert parts == expected and list(parts) == list(expected)  # listed province, city, county
    assert sum(parts.values()) == amount


@pytest.mark.parametrize(("shares", "base", "expected"), [
    ({"province": 50, "city": 50}, 107144, {PROVINCE: 37501, CITY: 37500}),  # 107,144 × 70% = 75,000.8 → 75,001
    ({"province": 33, "city": 33, "county": 34}, 107144, {PROVINCE: 24750, CITY: 24750, COUNTY: 25501}),
])
def test_a_computed_odd_amount_splits_exactly(shares: dict[str, int], base: int,
                                              expected: dict[OfficeLevel, int]) -> None:
    c = run(rule(shares=shares), base=base)
    assert c.amount_yuan == 75001 and c.shares == expected
    assert "四舍五入到元" in c.steps[-2].note


# ------------------------------------------------------------------ other rules and inputs
@pytest.mark.parametrize(("changes", "kwargs", "amount", "reason"), [
    ({}, {"grade": Grade.GOOD}, 0, "考核良好，本规则对该等次不予奖补"),  # 良好 has no rate in the issue's rule
    ({"rates": {"excellent": "0.7", "good": "0.6", "pass": 0.5}}, {"grade": "good"}, 100000, None),
    ({}, {"grade": Grade.PASS, "base": 0}, 0, "核算金额为0元"),
    ({}, {"grade": Grade.PASS, "base": 1}, 1, None),  # 0.5 rounds half up
    ({}, {"grade": Grade.PASS, "base": 3}, 2, None),  # 1.5 → 2
    ({"cap_yuan_per_year": None, "max_years": None}, {"year": 10}, 140000, None),
    ({"cap_yuan_per_year": ..., "max_years": ...}, {"year": 10, "base": 1000000}, 700000, None),
    ({}, {"in_province": False}, 0, "非省内企业"),
    ({}, {"in_province": False, "year": 9, "grade": Grade.FAIL}, 0, "非省内企业"),  # eligibility first
    ({"in_province_only": False}, {"in_province": False}, 100000, None),
])
def test_amounts(changes: dict[str, Any], kwargs: dict[str, Any], amount: int, reason: str | None) -> None:
    c = run(rule(**changes), **kwargs)
    assert (c.amount_yuan, c.reason_zero) == (amount, reason)
    assert sum(c.shares.values()) == amount
    assert c.steps[-1].label == "奖补金额" and c.steps[-1].value == amount


@pytest.mark.parametrize(("rates", "grade", "amount", "capped"), [
    ({"优秀": 1, "良好": 0.8, "合格": 0.5}, Grade.EXCELLENT, 50000, False),
    ({"优秀": 1, "良好": 0.8, "合格": 0.5}, Grade.GOOD, 40000, False),
    ({"优秀": 1, "良好": 0.8, "合格": 0.5}, Grade.PASS, 25000, False),
    ({"优秀": 1}, Grade.FAIL, 0, False),
])
def test_fixed_sum_rules(rates: dict[str, float], grade: Grade, amount: int, capped: bool) -> None:
    r = rule(base="fixed", fixed_yuan=50000, rates=rates, payee="talent", shares={"province": 100})
    c = run(r, grade=grade, base=None)
    assert (c.amount_yuan, c.capped, c.shares) == (amount, capped, {PROVINCE: amount})
    if amount:
        assert c.steps[2].label == "定额" and c.steps[-1].note == "支付给人才"


def test_a_fixed_sum_above_the_cap_is_capped() -> None:
    c = run(rule(base="fixed", fixed_yuan=150000, rates={"优秀": 1}), base=None)
    assert (c.amount_yuan, c.capped) == (100000, True)
    assert c.summary == "定额 150,000元 × 优秀 100% = 150,000元 → 封顶 100,000元"


def test_the_rule_as_parsed() -> None:
    r = rule(rates={"excellent": "0.70", "合格": 0.5})
    assert (r.version, r.payee, r.base, r.fixed_yuan) == ("2026-12-v1", Payee.ENTERPRISE, "salary", None)
    assert dict(r.rates) == {Grade.EXCELLENT: Decimal("0.7"), Grade.PASS: Decimal("0.5")}
    assert all(isinstance(v, Decimal) for v in r.rates.values())
    assert (r.cap_yuan_per_year, r.max_years, r.in_province_only) == (100000, 3, True)
    assert dict(r.shares) == {PROVINCE: 50, CITY: 50}
    with pytest.raises(TypeError):
        r.rates[Grade.GOOD] = Decimal(1)  # type: ignore[index]


@pytest.mark.parametrize(("same", "a", "b"), [
    (True, {}, {"version": "2027-01-v2"}),  # the version is not the rule
    (True, {}, {"rates": {"excellent": "0.70", "pass": "0.5"}}),  # 不合格: 0 is the same as left out
    (True, {}, {"shares": {"city": 50, "province": 50}}),
    (False, {}, {"rates": {"优秀": 0.7, "合格": 0.6}}),
    (False, {}, {"cap_yuan_per_year": 120000}),
    (False, {}, {"max_years": ...}),
    (False, {}, {"in_province_only": False}),
    (False, {}, {"payee": "talent"}),
    (False, {}, {"shares": {"province": 60, "city": 40}}),
])
def test_the_fingerprint(same: bool, a: dict[str, Any], b: dict[str, Any]) -> None:
    first, second = rule(**a).fingerprint, rule(**b).fingerprint
    assert len(first) == 16 and (first == second) is same


# ------------------------------------------------------------------ bad rules
@pytest.mark.parametrize(("changes", "path", "words"), [
    ({"version": ...}, "version", "missing"),
    ({"version": "2026-13-v1"}, "version", "not a version"),
    ({"version": "v1"}, "version", "not a version"),
    ({"version": "2026-12-v0"}, "version", "not a version"),
    ({"payee": "office"}, "payee", "unknown payee"),
    ({"payee": ...}, "payee", "missing"),
    ({"base": "turnover"}, "base", "unknown base"),
    ({"base": "fixed"}, "fixed_yuan", "missing"),
    ({"base": "fixed", "fixed_yuan": 0}, "fixed_yuan", "at least 1"),
    ({"fixed_yuan": 50000}, "fixed_yuan", "only with"),
    ({"bonus": 1}, "bonus", "unknown key"),
    ({"rates": {"优秀": 0.7, "great": 0.9}}, "rates.great", "unknown grade"),
    ({"rates": {"优秀": 0.7, "excellent": 0.6}}, "rates.excellent", "also given"),
    ({"rates": {"优秀": 0.7, "不合格": 0.1}}, "rates.不合格", "pays nothing"),
    ({"rates": {"优秀": 0.7, "fail": "0.2"}}, "rates.fail", "pays nothing"),
    ({"rates": {"优秀": 70}}, "rates.优秀", "fraction from 0 to 1"),
    ({"rates": {"优秀": -0.1}}, "rates.优秀", "fraction from 0 to 1"),
    ({"rates": {"优秀": "seventy"}}, "rates.优秀", "not a number"),
    ({"rates": {"优秀": "NaN"}}, "rates.优秀", "fraction from 0 to 1"),
    ({"rates": {"优秀": True}}, "rates.优秀", "fraction from 0 to 1"),
    ({"rates": {"优秀": None}}, "rates.优秀", "fraction from 0 to 1"),
    ({"rates": {"不合格": 0}}, "rates", "no grade pays"),
    ({"rates": []}, "rates", "must be an object"),
    ({"cap_yuan_per_year": -1}, "cap_yuan_per_year", "at least 1"),
    ({"cap_yuan_per_year": 0}, "cap_yuan_per_year", "at least 1"),
    ({"cap_yuan_per_year": 100000.5}, "cap_yuan_per_year", "whole number"),
    ({"cap_yuan_per_year": "100000"}, "cap_yuan_per_year", "whole number"),
    ({"max_years": 0}, "max_years", "at least 1"),
    ({"max_years": True}, "max_years", "whole number"),
    ({"in_province_only": "yes"}, "in_province_only", "true or false"),
    ({"in_province_only": ...}, "in_province_only", "missing"),
    ({"shares": {"province": 50, "city": 40}}, "shares", "add up to 90, not 100"),
    ({"shares": {"province": 60, "city": 50}}, "shares", "add up to 110, not 100"),
    ({"shares": {"province": 50, "town": 50}}, "shares.town", "unknown office level"),
    ({"shares": {"province": 100, "city": 0}}, "shares.city", "from 1 to 100"),
    ({"shares": {"province": 50.0, "city": 50}}, "shares.province", "whole percentage"),
    ({"shares": {}}, "shares", "empty"),
    ({"shares": ...}, "shares", "missing"),
])
def test_a_bad_rule_is_refused_with_its_key_path(changes: dict[str, Any], path: str, words: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_rule(raw_rule(**changes), WHERE)
    message = str(caught.value)
    assert message.startswith(f"{WHERE}.{path}: "), message
    assert words in message


def test_the_issue_example_path() -> None:
    with pytest.raises(ValueError) as caught:
        parse_rule(raw_rule(rates={"优秀": 1.5}), WHERE)
    assert str(caught.value).startswith(
        "data/programmes/shanxi.json: programmes.tech_vp_programme.rewards.tech_vp.rates.优秀: ")


@pytest.mark.parametrize(("raw", "where", "start"), [
    ([], WHERE, f"{WHERE}: must be an object"),
    (raw_rule(bonus=1), "rules.json", "rules.json: bonus: unknown key"),
])
def test_where_without_a_key_path(raw: Any, where: str, start: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_rule(raw, where)
    assert str(caught.value).startswith(start)


class _Repeated(dict[str, object]):
    """What the programme file's loader reads a JSON object as when a key is given twice."""

    repeated = ("cap_yuan_per_year",)


def test_a_key_given_twice_is_refused() -> None:
    with pytest.raises(ValueError, match=r"rewards\.tech_vp\.cap_yuan_per_year: given twice"):
        parse_rule(_Repeated(raw_rule()), WHERE)


@pytest.mark.parametrize(("raw", "error"), [
    ({"tech_vp": raw_rule()}, None),
    ({}, None),
    ({"flexible": raw_rule()}, r"rewards\.flexible: 'flexible' is not among the programme's modes \(tech_vp\)"),
    ({"tech_vp": raw_rule(max_years=-2)}, r"rewards\.tech_vp\.max_years: "),
])
def test_rules_by_mode(raw: dict[str, Any], error: str | None) -> None:
    where = "data/programmes/shanxi.json: programmes.tech_vp_programme.rewards"
    if error is None:
        rules = parse_rules(raw, where, ["tech_vp"])
        assert set(rules) == set(raw) and all(isinstance(r, RewardRule) for r in rules.values())
    else:
        with pytest.raises(ValueError, match=error):
            parse_rules(raw, where, ("tech_vp",))


@pytest.mark.parametrize("changes", [
    {"version": "2026-12"},
    {"base": "fixed"},  # without fixed_yuan
    {"rates": {Grade.EXCELLENT: Decimal("0.7"), Grade.FAIL: Decimal("0.1")}},
    {"rates": {Grade.EXCELLENT: Decimal("1.2")}},
    {"shares": {PROVINCE: 50, CITY: 40}},
    {"cap_yuan_per_year": -5},
])
def test_a_rule_built_in_code_is_checked_too(changes: dict[str, Any]) -> None:
    fields: dict[str, Any] = {"version": "2026-12-v1", "payee": Payee.ENTERPRISE, "base": "salary",
                              "rates": {Grade.EXCELLENT: Decimal("0.7")}, "in_province_only": True,
                              "shares": {PROVINCE: 100}}
    with pytest.raises(ValueError):
        RewardRule(**{**fields, **changes})


# ------------------------------------------------------------------ bad inputs
@pytest.mark.parametrize(("kwargs", "field"), [
    ({"grade": "great"}, "grade"),
    ({"grade": ""}, "grade"),
    ({"grade": 1}, "grade"),
    ({"year": 0}, "engagement_year"),
    ({"year": -1}, "engagement_year"),
    ({"year": True}, "engagement_year"),
    ({"year": 1.0}, "engagement_year"),
    ({"base": -1}, "base_yuan"),
    ({"base": None}, "base_yuan"),
    ({"base": True}, "base_yuan"),
    ({"base": 1000.5}, "base_yuan"),
    ({"base": "200000"}, "base_yuan"),
    ({"in_province": 1}, "in_province"),
])
def test_bad_inputs_name_the_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(Invalid) as caught:
        run(**kwargs)
    assert caught.value.field == field and caught.value.status == 422


def test_a_fixed_sum_rule_takes_no_salary() -> None:
    with pytest.raises(Invalid) as caught:
        run(rule(base="fixed", fixed_yuan=50000), base=100000)
    assert caught.value.field == "base_yuan"


@pytest.mark.parametrize("grade", [Grade.GOOD, "good", "良好", " 良好 "])
def test_a_grade_by_value_or_label(grade: Grade | str) -> None:
    c = run(rule(rates={"良好": 0.6}), grade=grade)
    assert c.amount_yuan == 100000 and c.inputs["grade"] is Grade.GOOD


# ------------------------------------------------------------------ overrides
@pytest.mark.parametrize(("changes", "amount", "field", "words"), [
    ({}, 100000, None, None),  # the cap itself
    ({}, 0, None, None),
    ({}, 80000, None, None),
    ({}, 100001, "amount_yuan", "100,000元"),
    ({}, -1, "amount_yuan", None),
    ({}, 5000.5, "amount_yuan", None),
    ({}, True, "amount_yuan", None),
    ({}, "80000", "amount_yuan", None),
    ({"cap_yuan_per_year": None}, 5000000, None, None),  # no cap: any whole amount ≥ 0
])
def test_an_override(changes: dict[str, Any], amount: Any, field: str | None, words: str | None) -> None:
    r = rule(**changes)
    computed = run(r)
    if field is None:
        check_override(r, computed, amount)
        return
    with pytest.raises(Invalid) as caught:
        check_override(r, computed, amount)
    assert caught.value.field == field
    if words:
        assert words in caught.value.message and "封顶" in caught.value.message


def test_an_override_checks_against_the_rule_it_was_computed_under() -> None:
    with pytest.raises(ValueError, match="2026-12-v1"):
        check_override(rule(version="2027-01-v2"), run(), 1000)


# ------------------------------------------------------------------ display
@pytest.mark.parametrize(("yuan", "shown"), [
    (100000, "10万元"), (75000, "7.5万元"), (12345, "1.23万元"), (12350, "1.24万元"), (12349, "1.23万元"),
    (0, "0万元"), (49, "0万元"), (50, "0.01万元"), (1000000, "100万元"), (123456789, "12,345.68万元"),
])
def test_wan(yuan: int, shown: str) -> None:
    assert wan(yuan) == shown


@pytest.mark.parametrize(("yuan", "shown"), [(100000, "100,000元"), (0, "0元"), (999, "999元"),
                                             (1234567, "1,234,567元")])
def test_yuan_text(yuan: int, shown: str) -> None:
    assert yuan_text(yuan) == shown


# ------------------------------------------------------------------ properties
_LEVELS = st.sampled_from([(PROVINCE,), (PROVINCE, CITY), (CITY, COUNTY), (PROVINCE, CITY, COUNTY)])


@st.composite
def _shares(draw: st.DrawFn) -> dict[str, int]:
    levels = draw(_LEVELS)
    cuts = sorted(draw(st.lists(st.integers(1, 99), min_size=len(levels) - 1, max_size=len(levels) - 1,
                                unique=True)))
    bounds = [0, *cuts, 100]
    return {lv.value: bounds[i + 1] - bounds[i] for i, lv in enumerate(levels)}


_RATE = st.decimals(min_value=0, max_value=1, places=3)


@given(shares=_shares(), cap=st.none() | st.integers(1, 500000), max_years=st.none() | st.integers(1, 5),
       excellent=_RATE.filter(lambda r: r > 0), good=_RATE, grade=st.sampled_from(list(Grade)),
       year=st.integers(1, 8), base=st.integers(0, 2000000), in_province=st.booleans(),
       province_only=st.booleans())
def test_the_arithmetic_holds_for_any_input(shares: dict[str, int], cap: int | None, max_years: int | None,
                                           excellent: Decimal, good: Decimal, grade: Grade, year: int, base: int,
                                           in_province: bool, province_only: bool) -> None:
    r = rule(shares=shares, cap_yuan_per_year=cap, max_years=max_years, in_province_only=province_only,
             rates={"优秀": str(excellent), "良好": str(good), "合格": "0.5"})
    c = run(r, grade=grade, year=year, base=base, in_province=in_province)
    assert c.amount_yuan >= 0 and all(part >= 0 for part in c.shares.values())
    assert sum(c.shares.values()) == c.amount_yuan
    assert cap is None or c.amount_yuan <= cap
    assert c.amount_yuan <= base
    assert (c.reason_zero is None) == (c.amount_yuan > 0)
    assert c.capped == (cap is not None and c.amount_yuan == cap and "封顶" in c.summary)
    check_override(r, c, c.amount_yuan)  # the computed amount is always a valid override


@given(amount=st.integers(0, 10**9), shares=_shares())
def test_any_split_adds_up(amount: int, shares: dict[str, int]) -> None:
    levels = {OfficeLevel(k): v for k, v in shares.items()}
    parts = split_shares(amount, levels)
    assert sum(parts.values()) == amount
    for lv, part in parts.items():  # each part is within one yuan of its exact share
        assert abs(part * 100 - amount * levels[lv]) < 100


@pytest.mark.parametrize(("amount", "percents", "parts"), [
    (75_000, [50, 30, 20], [37_500, 22_500, 15_000]),
    (100_001, [50, 30, 20], [50_001, 30_000, 20_000]),  # the odd yuan to the largest remainder: the lead's
    (10, [34, 33, 33], [4, 3, 3]),
    (0, [60, 40], [0, 0]),
])
def test_a_teams_split_adds_up_to_the_amount(amount: int, percents: list[int], parts: list[int]) -> None:
    from matcher.domain.rewards import split_by_percent
    assert split_by_percent(amount, percents) == parts and sum(parts) == amount


def test_a_team_split_needs_percentages_that_add_up() -> None:
    from matcher.domain.rewards import split_by_percent
    with pytest.raises(ValueError, match="not 100"):
        split_by_percent(100, [50, 40])


def test_a_rewards_team_split_follows_an_override() -> None:
    from matcher.services.engagements.rewards import team_split
    from matcher.storage.models import Reward
    team = [{"talent_id": 1, "name": "负责人", "percent": 50}, {"talent_id": 2, "name": "成员", "percent": 50}]
    r = Reward(amount_yuan=60_001, computation={"team": team})
    assert [(x.name, x.amount_yuan) for x in team_split(r)] == [("负责人", 30_001), ("成员", 30_000)]
    assert team_split(Reward(amount_yuan=5, computation={})) == []
