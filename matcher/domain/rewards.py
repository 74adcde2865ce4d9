"""奖补 (subsidies) by rule: what an engagement year earns its payee, computed line by line, and how the cost
is split across the offices' budgets. Money is whole yuan (``int``) throughout; rates are ``Decimal``.

A rule belongs to a programme and a mode (the programme file's ``rewards`` block, one rule per mode). Its
JSON shape::

    {"version": "2026-12-v1", "payee": "enterprise", "base": "salary",
     "rates": {"优秀": 0.7, "良好": 0.6, "合格": 0.5, "不合格": 0},
     "cap_yuan_per_year": 100000, "max_years": 3, "in_province_only": true,
     "shares": {"province": 50, "city": 50}}

- ``version`` (required): the programmes' format, ``YYYY-MM-vN``. A change of rule is a new version, and
  ``RewardRule.fingerprint`` digests the rule alone so a test can pin each released version.
- ``payee`` (required): ``enterprise`` (the host, 用人单位), ``talent`` or ``intermediary``.
- ``base`` (required): ``salary`` — the salary the host enterprise paid the talent in that engagement year,
  supplied with evidence — or ``fixed``, a fixed sum given as ``fixed_yuan`` (a whole number > 0; only with
  ``fixed``).
- ``rates`` (required): the fraction of the base paid per grade, 0 to 1, keyed by the grade's value
  (``excellent``) or its Chinese label (``优秀``), as numbers or numeric strings (``"0.7"``). A grade left
  out pays nothing; 不合格 may only be 0 or left out; at least one grade must pay.
- ``cap_yuan_per_year`` (optional, null or absent: no cap): the most one person earns per engagement year.
- ``max_years`` (optional, null or absent: no limit): engagement years after it pay nothing.
- ``in_province_only`` (required): true when only host enterprises registered in the province are eligible.
- ``shares`` (required): the percentage of the cost each office level's budget carries (``province``,
  ``city``, ``county``), whole numbers from 1 to 100 adding up to exactly 100.

Checking. ``parse_rule`` (one rule) and ``parse_rules`` (a mode → rule object) refuse every problem with a
ValueError naming ``where`` and the key path, as the programme file's loader does
(``data/programmes/shanxi.json: programmes.tech_vp_programme.rewards.tech_vp.rates.优秀: …``). Unknown keys
are refused.

Arithmetic (``compute``). amount = base × the grade's rate, rounded half up to the yuan, then at most the
cap; nothing when the host is not eligible, after ``max_years``, or for a grade without a rate. The result
keeps each step (a Chinese label, the value, a note) so a page can show 基数 200,000元 × 优秀 70% =
140,000元 → 封顶 100,000元 line by line, and splits the amount across the budgets by the largest-remainder
method so the parts always add up to the amount exactly. ``check_override`` checks an official's changed
amount against the rule. Inputs a user gave are refused with ``Invalid`` naming the field (HTTP 422).

Pure: the standard library, the vocabulary, the office levels and the errors; no database."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from types import MappingProxyType

from matcher.domain.offices import OfficeLevel
from matcher.domain.versions import VERSION as _VERSION
from matcher.domain.vocabulary import LABELS, Grade, Payee
from matcher.errors import Invalid

SALARY, FIXED = "salary", "fixed"
#: What a rule's amount is a fraction of: the year's salary (with evidence), or a fixed sum.
BASES: tuple[str, ...] = (SALARY, FIXED)

#: The order budgets are listed in, and the order that breaks ties when the split hands out leftover yuan.
LEVEL_ORDER: tuple[OfficeLevel, ...] = (OfficeLevel.PROVINCE, OfficeLevel.CITY, OfficeLevel.COUNTY)
GRADE_ORDER: tuple[Grade, ...] = (Grade.EXCELLENT, Grade.GOOD, Grade.PASS, Grade.FAIL)

# The programmes' version format (``domain/programmes.py``): year, month 01-12, v and a counter from 1.
_KEYS: tuple[str, ...] = ("version", "payee", "base", "fixed_yuan", "rates", "cap_yuan_per_year", "max_years",
                          "in_province_only", "shares")
_REQUIRED: dict[str, str] = {
    "version": "the rule's version, such as \"2026-12-v1\" (rules without a version are refused)",
    "payee": f"who is paid ({', '.join(Payee)})",
    "base": f"what the amount is a fraction of ({', '.join(BASES)})",
    "rates": "the fraction of the base paid per grade",
    "in_province_only": "whether only host enterprises registered in the province are eligible (true/false)",
    "shares": "the percentage each office level's budget carries, adding up to 100",
}
_YUAN = Decimal(1)
_CENT_OF_WAN = Decimal("0.01")


def _grade_label(grade: Grade) -> str:
    return LABELS[grade]


_GRADE_NAMES: dict[str, Grade] = {**{g.value: g for g in Grade}, **{_grade_label(g): g for g in Grade}}


# ------------------------------------------------------------------ display
def yuan_text(yuan: int) -> str:
    """Whole yuan with thousands separators: 100000 → ``100,000元``."""
    _whole(yuan)
    return f"{yuan:,}元"


def wan(yuan: int) -> str:
    """Yuan in 万元 with at most two decimals, trailing zeros dropped: 100000 → ``10万元``, 75000 →
    ``7.5万元``, 12345 → ``1.23万元``. Rounded half up to 0.01万元 (100 yuan): 12350 → ``1.24万元``, 49 →
    ``0万元`` — a display, never an amount to pay."""
    _whole(yuan)
    shown = (Decimal(yuan) / 10000).quantize(_CENT_OF_WAN, rounding=ROUND_HALF_UP)
    if shown == 0:
        shown = Decimal(0)
    return f"{shown.normalize():,f}万元"


def percent(rate: Decimal) -> str:
    """A rate as users read it: 0.7 → ``70%``, 0.675 → ``67.5%``."""
    return f"{(rate * 100).normalize():f}%"


def _whole(value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"an amount is whole yuan (int), not {value!r}")


# ------------------------------------------------------------------ the rule
@dataclass(frozen=True, kw_only=True)
class RewardRule:
    """One mode's 奖补 rule in one programme, checked as it is built (``parse_rule`` checks the JSON with key
    paths first). ``rates`` and ``shares`` are read-only once built."""

    version: str
    payee: Payee
    base: str  # SALARY or FIXED
    fixed_yuan: int | None = None  # only with FIXED
    rates: Mapping[Grade, Decimal]
    cap_yuan_per_year: int | None = None
    max_years: int | None = None
    in_province_only: bool
    shares: Mapping[OfficeLevel, int]

    def __post_init__(self) -> None:
        if not _VERSION.fullmatch(self.version):
            raise ValueError(f"version {self.version!r} is not such as \"2026-12-v1\"")
        if self.base not in BASES:
            raise ValueError(f"unknown base {self.base!r} (one of {', '.join(BASES)})")
        if (self.base == FIXED) != (self.fixed_yuan is not None):
            raise ValueError("fixed_yuan is given with a fixed base, and only then")
        for name in ("fixed_yuan", "cap_yuan_per_year", "max_years"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be a whole number, at least 1, not {value!r}")
        rates = {Grade(g): Decimal(str(r)) if isinstance(r, float) else Decimal(r) for g, r in self.rates.items()}
        if any(not r.is_finite() or not 0 <= r <= 1 for r in rates.values()):
            raise ValueError("every rate is a fraction from 0 to 1")
        if rates.get(Grade.FAIL, Decimal(0)) != 0:
            raise ValueError("不合格 pays nothing: its rate is 0 or left out")
        if not any(r > 0 for r in rates.values()):
            raise ValueError("no grade pays: give at least one a positive rate")
        shares = {OfficeLevel(lv): s for lv, s in self.shares.items()}
        if any(isinstance(s, bool) or not isinstance(s, int) or not 1 <= s <= 100 for s in shares.values()):
            raise ValueError("every share is a whole percentage from 1 to 100")
        if sum(shares.values()) != 100:
            raise ValueError(f"the shares add up to {sum(shares.values())}, not 100")
        object.__setattr__(self, "rates", MappingProxyType({g: rates[g] for g in GRADE_ORDER if g in rates}))
        object.__setattr__(self, "shares", MappingProxyType({lv: shares[lv] for lv in LEVEL_ORDER if lv in shares}))

    def rate(self, grade: Grade) -> Decimal:
        """The fraction paid for ``grade`` (0 for a grade the rule leaves out)."""
        return self.rates.get(grade, Decimal(0))

    @property
    def fingerprint(self) -> str:
        """A digest of the rule alone (not its version): equal fingerprints mean equal rules — a rate of 0
        and a grade left out count as the same, and 0.7 as 0.70 — so a released version's digest pins it."""
        canonical = {
            "payee": self.payee.value, "base": self.base, "fixed_yuan": self.fixed_yuan,
            "rates": {g.value: f"{self.rate(g).normalize():f}" for g in GRADE_ORDER},
            "cap_yuan_per_year": self.cap_yuan_per_year, "max_years": self.max_years,
            "in_province_only": self.in_province_only,
            "shares": {lv.value: self.shares[lv] for lv in LEVEL_ORDER if lv in self.shares},
        }
        text = json.dumps(canonical, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


# ------------------------------------------------------------------ reading a rule
def _json(value: object) -> str:
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


class _Reader:
    """Checks one rule's values, each failure naming ``where`` and the key path inside the rule."""

    def __init__(self, where: str) -> None:
        self.where = where

    def at(self, path: str) -> str:
        if not path:
            return self.where
        # "file: a.b" gets ".c" appended; a bare file name gets ": c".
        return f"{self.where}.{path}" if ": " in self.where else f"{self.where}: {path}"

    def fail(self, path: str, problem: str) -> ValueError:
        return ValueError(f"{self.at(path)}: {problem}")

    def mapping(self, value: object, path: str) -> Mapping[str, object]:
        if not isinstance(value, Mapping):
            raise self.fail(path, f"must be an object, not {_json(value)}")
        repeated = getattr(value, "repeated", ())  # the programme loader's JSON objects remember repeated keys
        if repeated:
            raise self.fail(_join(path, str(repeated[0])), "given twice (a duplicate key)")
        for key in value:
            if not isinstance(key, str):
                raise self.fail(path, f"keys are strings, not {key!r}")
        return value

    def whole(self, value: object, path: str, what: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise self.fail(path, f"must be {what}, a whole number of at least 1, not {_json(value)}")
        return value

    def optional_whole(self, obj: Mapping[str, object], key: str, what: str) -> int | None:
        value = obj.get(key)
        return None if value is None else self.whole(value, key, what)

    def rate(self, value: object, path: str) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
            raise self.fail(path, f"must be a fraction from 0 to 1 (a number or a numeric string), not {_json(value)}")
        try:
            rate = Decimal(str(value).strip()) if isinstance(value, str | float) else Decimal(value)
        except InvalidOperation:
            raise self.fail(path, f"{_json(value)} is not a number (a fraction from 0 to 1, such as 0.7)") from None
        if not rate.is_finite() or not 0 <= rate <= 1:
            raise self.fail(path, f"{_json(value)} is not a fraction from 0 to 1 (70% is written 0.7)")
        return rate

    def rates(self, value: object, path: str) -> dict[Grade, Decimal]:
        obj = self.mapping(value, path)
        out: dict[Grade, Decimal] = {}
        given_as: dict[Grade, str] = {}
        for key, raw in obj.items():
            at = _join(path, key)
            grade = _GRADE_NAMES.get(key)
            if grade is None:
                names = ", ".join(f"{g.value}/{_grade_label(g)}" for g in GRADE_ORDER)
                raise self.fail(at, f"unknown grade (one of {names})")
            if grade in out:
                raise self.fail(at, f"the grade {_grade_label(grade)} is also given as '{given_as[grade]}'")
            rate = self.rate(raw, at)
            if grade == Grade.FAIL and rate > 0:
                raise self.fail(at, f"{_grade_label(grade)} pays nothing: its rate is 0 or left out, not {_json(raw)}")
            out[grade], given_as[grade] = rate, key
        if not any(r > 0 for r in out.values()):
            raise self.fail(path, "no grade pays: give at least one grade a positive rate")
        return out

    def shares(self, value: object, path: str) -> dict[OfficeLevel, int]:
        obj = self.mapping(value, path)
        if not obj:
            raise self.fail(path, "empty: at least one office level's budget carries the cost")
        out: dict[OfficeLevel, int] = {}
        for key, raw in obj.items():
            at = _join(path, key)
            if key not in {lv.value for lv in OfficeLevel}:
                raise self.fail(at, f"unknown office level (one of {', '.join(LEVEL_ORDER)})")
            if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= 100:
                raise self.fail(at, f"must be a whole percentage from 1 to 100, not {_json(raw)} "
                                "(leave out a level that carries nothing)")
            out[OfficeLevel(key)] = raw
        total = sum(out.values())
        if total != 100:
            raise self.fail(path, f"the percentages add up to {total}, not 100")
        return out

    def rule(self, raw: object) -> RewardRule:
        obj = self.mapping(raw, "")
        for key in obj:
            if key not in _KEYS:
                raise self.fail(key, f"unknown key (allowed here: {', '.join(_KEYS)})")
        for key, what in _REQUIRED.items():
            if key not in obj:
                raise self.fail(key, f"missing: {what}")
        version = obj["version"]
        if not isinstance(version, str) or not _VERSION.fullmatch(version):
            raise self.fail("version", f"{_json(version)} is not a version such as \"2026-12-v1\" "
                            "(year-month-v<counter>)")
        payee = obj["payee"]
        if payee not in {p.value for p in Payee}:
            raise self.fail("payee", f"unknown payee {_json(payee)} (one of {', '.join(Payee)})")
        base = obj["base"]
        if base not in BASES:
            raise self.fail("base", f"unknown base {_json(base)} (one of {', '.join(BASES)})")
        fixed: int | None = None
        if base == FIXED:
            if obj.get("fixed_yuan") is None:
                raise self.fail("fixed_yuan", "missing: a fixed base needs the fixed sum in yuan")
            fixed = self.whole(obj["fixed_yuan"], "fixed_yuan", "the fixed sum in yuan")
        elif obj.get("fixed_yuan") is not None:
            raise self.fail("fixed_yuan", f"only with \"base\": \"{FIXED}\" (this rule's base is the salary)")
        in_province = obj["in_province_only"]
        if not isinstance(in_province, bool):
            raise self.fail("in_province_only", f"must be true or false, not {_json(in_province)}")
        return RewardRule(
            version=version, payee=Payee(str(payee)), base=str(base), fixed_yuan=fixed,
            rates=self.rates(obj["rates"], "rates"),
            cap_yuan_per_year=self.optional_whole(obj, "cap_yuan_per_year", "the cap in yuan per person per year"),
            max_years=self.optional_whole(obj, "max_years", "the number of engagement years paid"),
            in_province_only=in_province, shares=self.shares(obj["shares"], "shares"))


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def parse_rule(raw: Mapping[str, object], where: str) -> RewardRule:
    """One rule from its JSON object, checked. ``where`` names where the object sits, as errors start: a file
    and the key path of the rule (``data/programmes/shanxi.json: programmes.tech_vp_programme.rewards.tech_vp``;
    each problem's path inside the rule follows after a dot) or a file alone (the path follows ``: ``)."""
    return _Reader(where).rule(raw)


def parse_rules(raw: Mapping[str, object], where: str, modes: Iterable[str]) -> dict[str, RewardRule]:
    """A programme's rules by mode (``{"tech_vp": {…rule…}}``), each checked; a key that is not one of the
    programme's ``modes`` is refused by name. A mode without a rule is simply absent from the result."""
    reader = _Reader(where)
    obj = reader.mapping(raw, "")
    covered = tuple(modes)
    out: dict[str, RewardRule] = {}
    for mode, value in obj.items():
        if mode not in covered:
            raise reader.fail(mode, f"'{mode}' is not among the programme's modes ({', '.join(covered)})")
        out[mode] = _Reader(reader.at(mode)).rule(value)
    return out


# ------------------------------------------------------------------ computing
@dataclass(frozen=True)
class ComputationStep:
    """One line of a computation: a Chinese label (基数, 比例, 核算, 封顶, 奖补金额 …), its value (yuan as
    ``int``, a rate as ``Decimal``, a year's number, or None for a yes/no check), that value as users read
    it (``text``: 200,000元, 70%, 第4年, 省内企业) and a short Chinese note."""

    label: str
    value: int | Decimal | None
    text: str
    note: str


@dataclass(frozen=True)
class RewardComputation:
    """What a rule pays for one engagement year, with how: the inputs, each step, whether the cap applied,
    why the amount is 0 (``reason_zero``, None when something is paid) and the split across the budgets by
    office level (in the order province, city, county; the parts add up to ``amount_yuan`` exactly)."""

    amount_yuan: int
    rule_version: str
    inputs: dict[str, object]
    steps: tuple[ComputationStep, ...]
    capped: bool
    reason_zero: str | None
    shares: dict[OfficeLevel, int]
    summary: str  # the steps on one line: 基数 200,000元 × 优秀 70% = 140,000元 → 封顶 100,000元


def split_shares(amount_yuan: int, shares: Mapping[OfficeLevel, int]) -> dict[OfficeLevel, int]:
    """``amount_yuan`` across the budgets by percentage (which add up to 100), in whole yuan adding up to the
    amount exactly: each level gets the whole part of its share, and the yuan left over go one each to the
    largest fractional parts, ties to the higher office (province, city, county)."""
    _whole(amount_yuan)
    if amount_yuan < 0:
        raise ValueError(f"cannot split a negative amount ({amount_yuan})")
    if sum(shares.values()) != 100:
        raise ValueError(f"the shares add up to {sum(shares.values())}, not 100")
    levels = [lv for lv in LEVEL_ORDER if lv in shares]
    parts = {lv: amount_yuan * shares[lv] // 100 for lv in levels}
    left = amount_yuan - sum(parts.values())  # fewer than len(levels): each part lost less than one yuan
    by_remainder = sorted(levels, key=lambda lv: (-(amount_yuan * shares[lv] % 100), LEVEL_ORDER.index(lv)))
    for lv in by_remainder[:left]:
        parts[lv] += 1
    return parts


def split_by_percent(amount_yuan: int, percents: Sequence[int]) -> list[int]:
    """``amount_yuan`` in whole yuan by these percentages (adding up to 100), the parts adding up to the
    amount exactly: the whole part of each, the yuan left over one each to the largest fractional parts,
    ties to the earlier (a team's lead first). What a team's members receive of the talent's 奖补."""
    _whole(amount_yuan)
    if amount_yuan < 0:
        raise ValueError(f"cannot split a negative amount ({amount_yuan})")
    if any(p < 0 for p in percents) or sum(percents) != 100:
        raise ValueError(f"the percentages add up to {sum(percents)}, not 100")
    parts = [amount_yuan * p // 100 for p in percents]
    left = amount_yuan - sum(parts)
    for i in sorted(range(len(percents)), key=lambda i: (-(amount_yuan * percents[i] % 100), i))[:left]:
        parts[i] += 1
    return parts


def _grade(value: object) -> Grade:
    if isinstance(value, Grade):
        return value
    if isinstance(value, str) and value.strip() in _GRADE_NAMES:
        return _GRADE_NAMES[value.strip()]
    raise Invalid(f"考核等次须为优秀、良好、合格或不合格之一，而不是 {value!r}", field="grade")


def _count(value: object, name: str, least: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise Invalid(f"{what}须为不小于{least}的整数，而不是 {value!r}", field=name)
    return value


def compute(rule: RewardRule, *, grade: Grade | str, engagement_year: int, base_yuan: int | None,
            in_province: bool) -> RewardComputation:
    """What ``rule`` pays for one engagement year (1 for the first) graded ``grade`` (a Grade, its value or
    its Chinese label), with ``base_yuan`` the salary the host paid the talent that year (required by a
    salary rule, an int ≥ 0; None for a fixed-sum rule) and ``in_province`` whether the host is registered
    in the province. Bad inputs: ``Invalid`` naming the field."""
    graded = _grade(grade)
    year = _count(engagement_year, "engagement_year", 1, "合作年度")
    if rule.base == SALARY:
        if base_yuan is None:
            raise Invalid("按薪酬计算的奖补须提供企业当年支付给人才的薪酬（元）", field="base_yuan")
        base = _count(base_yuan, "base_yuan", 0, "薪酬基数（元）")
    else:
        if base_yuan is not None:
            raise Invalid("定额奖补不按薪酬计算，无需提供薪酬基数", field="base_yuan")
        assert rule.fixed_yuan is not None
        base = rule.fixed_yuan
    if not isinstance(in_province, bool):
        raise Invalid(f"是否省内企业须为是或否，而不是 {in_province!r}", field="in_province")
    inputs: dict[str, object] = {"grade": graded, "engagement_year": year, "base_yuan": base_yuan,
                                 "in_province": in_province}
    steps: list[ComputationStep] = []
    label = _grade_label(graded)

    def done(amount: int, reason: str | None, summary: str, capped: bool = False) -> RewardComputation:
        note = f"支付给{LABELS[rule.payee]}" if reason is None else reason
        steps.append(ComputationStep("奖补金额", amount, yuan_text(amount), note))
        return RewardComputation(amount, rule.version, inputs, tuple(steps), capped, reason,
                                 split_shares(amount, rule.shares), summary)

    if rule.in_province_only:
        where = "省内企业" if in_province else "非省内企业"
        steps.append(ComputationStep("资格", None, where, "本规则仅奖补在省内注册的企业"))
        if not in_province:
            return done(0, "非省内企业", "非省内企业 → 0元")
    if rule.max_years is not None:
        steps.append(ComputationStep("年度", year, f"第{year}年", f"最长资助{rule.max_years}年"))
        if year > rule.max_years:
            reason = f"超过最长资助年限（{rule.max_years}年）"
            return done(0, reason, f"第{year}年{reason} → 0元")
    base_label = "基数" if rule.base == SALARY else "定额"
    base_note = f"第{year}年企业支付给人才的薪酬" if rule.base == SALARY else "本规则按定额奖补"
    steps.append(ComputationStep(base_label, base, yuan_text(base), base_note))
    rate = rule.rate(graded)
    if rate == 0:
        reason = "考核不合格" if graded == Grade.FAIL else f"考核{label}，本规则对该等次不予奖补"
        steps.append(ComputationStep("比例", Decimal(0), "0%", reason))
        return done(0, reason, f"{base_label} {yuan_text(base)} × {label} 0% → 0元")
    steps.append(ComputationStep("比例", rate, percent(rate), f"考核{label}"))
    exact = Decimal(base) * rate
    raw = int(exact.quantize(_YUAN, rounding=ROUND_HALF_UP))
    rounded = "，四舍五入到元" if exact != raw else ""
    steps.append(ComputationStep("核算", raw, yuan_text(raw),
                                 f"{yuan_text(base)} × {percent(rate)} = {yuan_text(raw)}{rounded}"))
    summary = f"{base_label} {yuan_text(base)} × {label} {percent(rate)} = {yuan_text(raw)}"
    amount, capped = raw, False
    cap = rule.cap_yuan_per_year
    if cap is not None and raw > cap:
        amount, capped = cap, True
        steps.append(ComputationStep("封顶", cap, yuan_text(cap), f"每人每年最高{yuan_text(cap)}"))
        summary += f" → 封顶 {yuan_text(cap)}"
    return done(amount, None if amount else "核算金额为0元", summary, capped)


def check_override(rule: RewardRule, computed: RewardComputation, amount_yuan: object) -> None:
    """Refuses an official's changed amount that the rule cannot pay: not a whole number of yuan ≥ 0, or
    above the rule's cap per person per year (``Invalid`` naming ``amount_yuan``). ``computed`` must come
    from this rule's version (a ValueError otherwise: a programming error, not a user's)."""
    if computed.rule_version != rule.version:
        raise ValueError(f"the computation was made under rule version {computed.rule_version}, "
                         f"not {rule.version}")
    amount = _count(amount_yuan, "amount_yuan", 0, "调整后的奖补金额（元）")
    cap = rule.cap_yuan_per_year
    if cap is not None and amount > cap:
        raise Invalid(f"调整后的奖补金额 {yuan_text(amount)} 超过本规则每人每年封顶 {yuan_text(cap)}（{wan(cap)}）",
                      field="amount_yuan")
