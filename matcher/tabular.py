"""Column specifications for talent and demand tables, shared by import, export and the eval datasets.

One spec per column says its English name, the Chinese headers accepted as aliases, how a cell is
parsed and how a value is written back, so an exported file re-imports unchanged. Parsing a row
returns either the model values or a list of (column, reason) problems; nothing here touches the
database.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from matcher.domain.vocabulary import (
    FlexibleForm,
    InstitutionType,
    Mode,
    Sector,
    TieKind,
    TitleLevel,
    label,
    parse_enum,
)
from matcher.reference import industry_codes, is_valid_credit_code, nsfc_codes, region
from matcher.validation import MAX_BUDGET, MAX_COUNT, MAX_MONTHS, check_number, check_text

_LIST_SPLIT = re.compile(r"[;；,，、|\n]+")


def split_list(raw: str) -> list[str]:
    return [p.strip() for p in _LIST_SPLIT.split(raw) if p.strip()]


def _text_list(max_items: int, max_len: int) -> Callable[[str], list[str]]:
    def parse(raw: str) -> list[str]:
        items = [check_text(p, multiline=False) for p in split_list(raw)]
        if len(items) > max_items:
            raise ValueError(f"more than {max_items} entries")
        long = [p for p in items if len(p) > max_len]
        if long:
            raise ValueError(f"entry longer than {max_len} characters: '{_shown(long[0])}'")
        return items

    return parse


def _str(max_len: int, multiline: bool = False) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if len(raw) > max_len:
            raise ValueError(f"longer than {max_len} characters")
        return check_text(raw, multiline)

    return parse


def _shown(raw: str) -> str:
    """A cell as quoted in an error message: short, so a 20 kB cell does not flood the report."""
    return raw if len(raw) <= 40 else raw[:37] + "…"


def _number(raw: str, upper: float) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"'{_shown(raw)}' is not a number") from None
    try:
        return check_number(value, upper)
    except ValueError as exc:
        raise ValueError(f"'{_shown(raw)}' {exc}") from None


def _int(raw: str, upper: float = MAX_COUNT) -> int:
    value = _number(raw, upper)
    if value != int(value):
        raise ValueError(f"'{_shown(raw)}' is not a whole number")
    return int(value)


def _float(raw: str) -> float:
    return _number(raw, MAX_BUDGET)


_TRUE = {"1", "true", "yes", "y", "是", "省内", "t"}
_FALSE = {"0", "false", "no", "n", "否", "省外", "f"}


def _bool(raw: str) -> bool:
    v = raw.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise ValueError(f"'{raw}' is not yes/no (是/否)")


def _date(raw: str) -> date:
    text = raw.strip().split(" ")[0].replace("/", "-").replace(".", "-")
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise ValueError(f"'{raw}' is not a date like 2027-03-31") from None


def _enum(enum: type) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        return str(parse_enum(enum, raw))

    return parse


def _enum_list(enum: type) -> Callable[[str], list[str]]:
    def parse(raw: str) -> list[str]:
        return [str(parse_enum(enum, p)) for p in split_list(raw)]

    return parse


def _industry(raw: str) -> str:
    code = raw.strip()
    if code not in industry_codes():
        raise ValueError(f"'{code}' is not a GB/T 4754-2017 industry code")
    return code


def _nsfc_list(raw: str) -> list[str]:
    codes = split_list(raw)
    unknown = [c for c in codes if c not in nsfc_codes()]
    if unknown:
        raise ValueError(f"unknown NSFC discipline code(s): {', '.join(unknown)}")
    return codes


def _credit(raw: str) -> str:
    code = raw.strip().upper()
    if not is_valid_credit_code(code):
        raise ValueError(f"'{raw}' is not a valid unified social credit code")
    return code


def _capacity(raw: str) -> dict[str, int]:
    """``tech_vp:1;flexible:2`` or ``科技副总:1；柔性引才:2``; a mode without a number means capacity 1."""
    out: dict[str, int] = {}
    for part in split_list(raw):
        name, _, num = part.replace("：", ":").partition(":")
        mode = str(parse_enum(Mode, name))
        out[mode] = _int(num, upper=20) if num.strip() else 1
    return out


def _fmt_list(values: Any) -> str:
    return ";".join(str(v) for v in values or [])


def _fmt_capacity(values: Any) -> str:
    return ";".join(f"{k}:{v}" for k, v in (values or {}).items())


def format_cell(value: Any) -> str:
    """A value as the text of a cell (also how a typed workbook cell is read back as text on import)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


@dataclass(frozen=True)
class Column:
    name: str
    aliases: tuple[str, ...]
    parse: Callable[[str], Any]
    required: bool = False
    default: Any = None
    fmt: Callable[[Any], str] = format_cell
    contact: bool = False  # personal contact data: exported only when asked


def _c(name: str, aliases: str, parse: Callable[[str], Any], required: bool = False, default: Any = None,
       fmt: Callable[[Any], str] = format_cell, contact: bool = False) -> Column:
    return Column(name, tuple(aliases.split()), parse, required, default, fmt, contact)


TALENT_COLUMNS: tuple[Column, ...] = (
    _c("external_id", "编号 人才编号", _str(64), required=True),
    _c("name", "姓名", _str(100), required=True),
    _c("profile", "简介 个人简介 研究简介 专长", _str(20000, multiline=True), required=True),
    _c("affiliation", "单位 工作单位 所在单位", _str(200), default=""),
    _c("institution_type", "单位类型 机构类型", _enum(InstitutionType), default="other"),
    _c("title", "职称", _str(50), default=""),
    _c("title_level", "职称级别 职称等级", _enum(TitleLevel), default="other"),
    _c("discipline_codes", "学科代码", _nsfc_list, default=list, fmt=_fmt_list),
    _c("sector", "领域 产业领域", _enum(Sector), default="other"),
    _c("research_fields", "研究领域 研究方向", _text_list(30, 100), default=list, fmt=_fmt_list),
    _c("achievements", "成果 主要成果 业绩", _str(20000, multiline=True), default=""),
    _c("patents", "专利数 发明专利", _int, default=0),
    _c("projects", "项目数 主持项目", _int, default=0),
    _c("mode_capacity", "服务模式 意愿模式 模式容量", _capacity, default=lambda: {"flexible": 1}, fmt=_fmt_capacity),
    _c("flexible_forms", "柔性形式 柔性方式", _enum_list(FlexibleForm), default=list, fmt=_fmt_list),
    _c("city", "城市 所在地", _str(50), default=""),
    _c("in_province", "是否省内 省内", _bool, default=True),
    _c("province_ties", "省籍关系 地缘关系", _enum_list(TieKind), default=list, fmt=_fmt_list),  # + the region's
    _c("tie_detail", "关系说明", _str(300), default=""),
    _c("external_engagements", "在外任职数 现有兼职", _int, default=0),
    _c("active", "有效 是否有效 在库", _bool, default=True),  # 否 takes a talent out of the pool
    _c("phone", "电话 手机 联系电话", _str(30), default="", contact=True),
    _c("email", "邮箱 电子邮箱", _str(120), default="", contact=True),
)

DEMAND_COLUMNS: tuple[Column, ...] = (
    _c("external_id", "编号 需求编号 榜单编号", _str(64), required=True),
    _c("enterprise", "企业 企业名称 发榜单位", _str(200), required=True),
    _c("title", "标题 需求名称 榜单名称", _str(200), required=True),
    _c("description", "描述 需求描述 技术需求", _str(20000, multiline=True), required=True),
    _c("credit_code", "统一社会信用代码 信用代码", _credit, default=None),
    _c("sector", "领域 产业领域", _enum(Sector), default=None),
    _c("industry_code", "行业代码 国民经济行业代码", _industry, default=""),
    _c("keywords", "关键词", _text_list(20, 50), default=list, fmt=_fmt_list),
    _c("modes", "引才方式 需求模式 模式", _enum_list(Mode), default=lambda: ["flexible"], fmt=_fmt_list),
    _c("city", "城市 所在地", _str(50), default=""),
    _c("budget_min", "预算下限 预算下限万元", _float, default=None),
    _c("budget_max", "预算上限 预算上限万元", _float, default=None),
    _c("duration_months", "周期 周期月 服务周期", lambda raw: _int(raw, upper=MAX_MONTHS), default=None),
    _c("deadline", "截止日期 揭榜截止", _date, default=None),
    _c("proposals_wanted", "推荐人数", lambda raw: _int(raw, upper=20), default=3),
)


def header_map(columns: tuple[Column, ...], headers: list[str]) -> tuple[dict[str, str], list[str]]:
    """Map file headers to column names. Returns (header → column name, unknown headers)."""
    lookup: dict[str, str] = {}
    for col in columns:
        lookup[col.name.lower()] = col.name
        for alias in col.aliases:
            lookup[alias] = col.name
        lookup[label(col.name)] = col.name
    if any(c.name == "province_ties" for c in columns):
        here = region()  # 晋缘关系 / 与山西关系 in Shanxi, 陕缘关系 / 与陕西关系 in Shaanxi
        lookup[here.ties_title] = lookup[f"与{here.name.removesuffix('省')}关系"] = "province_ties"
    mapping, unknown = {}, []
    for h in headers:
        key = str(h).strip()
        key = key.lower() if key.isascii() else key
        if key in lookup:
            mapping[h] = lookup[key]
        else:
            unknown.append(str(h))
    return mapping, unknown


def parse_row(columns: tuple[Column, ...], cells: dict[str, str]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Parse one row (column name → raw text). Returns (values, problems)."""
    values: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for col in columns:
        raw = (cells.get(col.name) or "").strip()
        if not raw:
            if col.required:
                problems.append((col.name, "required but empty"))
            else:
                values[col.name] = col.default() if callable(col.default) else col.default
            continue
        try:
            values[col.name] = col.parse(raw)
        except ValueError as exc:
            problems.append((col.name, str(exc)))
    return values, problems


def format_row(columns: tuple[Column, ...], values: dict[str, Any], with_contact: bool = True) -> dict[str, str]:
    return {c.name: c.fmt(values.get(c.name)) for c in columns if with_contact or not c.contact}
