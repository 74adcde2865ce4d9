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

from matcher.domain import modes
from matcher.domain.labels import label, parse_enum
from matcher.domain.offices import office_tree
from matcher.reference import industry_codes, is_valid_credit_code, nsfc_codes, region
from matcher.validation import MAX_BUDGET, MAX_COUNT, check_number, check_text

#: List separators, strongest first: a cell is split on the strongest kind it holds, so "煤气化、灰熔融性"
#: is two entries but "精密加工、激光熔覆;零件表面完整性" (as exports write lists) keeps the first whole.
_SEPARATORS = (re.compile(r"[;；|\n]+"), re.compile(r"[,，]+"), re.compile(r"、+"))


def split_list(raw: str) -> list[str]:
    for sep in _SEPARATORS:
        if sep.search(raw):
            return [p.strip() for p in sep.split(raw) if p.strip()]
    return [raw.strip()] if raw.strip() else []


def text_list(max_items: int, max_len: int) -> Callable[[str], list[str]]:
    def parse(raw: str) -> list[str]:
        items = [check_text(p, multiline=False) for p in split_list(raw)]
        if len(items) > max_items:
            raise ValueError(f"more than {max_items} entries")
        long = [p for p in items if len(p) > max_len]
        if long:
            raise ValueError(f"entry longer than {max_len} characters: '{_shown(long[0])}'")
        return items

    return parse


def line_or_text(max_len: int, multiline: bool = False) -> Callable[[str], str]:
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


def whole(raw: str, upper: float = MAX_COUNT) -> int:
    value = _number(raw, upper)
    if value != int(value):
        raise ValueError(f"'{_shown(raw)}' is not a whole number")
    return int(value)


def amount(raw: str) -> float:
    return _number(raw, MAX_BUDGET)


_TRUE = {"1", "true", "yes", "y", "是", "省内", "t"}
_FALSE = {"0", "false", "no", "n", "否", "省外", "f"}


def yes_no(raw: str) -> bool:
    v = raw.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise ValueError(f"'{raw}' is not yes/no (是/否)")


def day(raw: str) -> date:
    text = raw.strip().split(" ")[0].replace("/", "-").replace(".", "-")
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise ValueError(f"'{raw}' is not a date like 2027-03-31") from None


def enum_value(enum: type) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        return str(parse_enum(enum, raw))

    return parse


def enum_list(enum: type) -> Callable[[str], list[str]]:
    def parse(raw: str) -> list[str]:
        return [str(parse_enum(enum, p)) for p in split_list(raw)]

    return parse


def tier(raw: str) -> str | None:
    """A talent tier of the deployment's programmes (``talent_tiers``: 杰出人才, 领军人才, 青年人才), by code or
    Chinese label; blank: none."""
    from matcher.domain.programmes import programmes

    value = raw.strip()
    if not value:
        return None
    tiers = programmes().tiers
    for code, name in tiers.items():
        if value in (code, name):
            return code
    shown = "、".join(tiers.values()) or "（本部署未定义人才层次）"
    raise ValueError(f"'{value}' is not a talent tier (one of {shown})")


def fmt_tier(code: Any) -> str:
    from matcher.domain.programmes import programmes

    return programmes().tiers.get(code, code) if code else ""


def industry(raw: str) -> str:
    code = raw.strip()
    if code not in industry_codes():
        raise ValueError(f"'{code}' is not a GB/T 4754-2017 industry code")
    return code


def nsfc_list(raw: str) -> list[str]:
    codes = split_list(raw)
    unknown = [c for c in codes if c not in nsfc_codes()]
    if unknown:
        raise ValueError(f"unknown NSFC discipline code(s): {', '.join(unknown)}")
    return codes


def county(raw: str) -> str:
    """A county of the region, as its GB/T 2260 code, from what a person writes (``太原市小店区``, ``小店区``,
    ``140105``): a name several cities share (城区) must carry its city."""
    office = office_tree().find(raw)
    if office is None:
        raise ValueError(f"'{_shown(raw)}' is no single county of {region().name}: write it with its city, "
                         "e.g. 太原市小店区")
    return office.code


def fmt_county(code: Any) -> str:
    """A county code as people read it (太原市小店区); the import reads it back."""
    tree = office_tree()
    return tree.get(code).display_name if code in tree else str(code or "")


def credit(raw: str) -> str:
    code = raw.strip().upper()
    if not is_valid_credit_code(code):
        raise ValueError(f"'{raw}' is not a valid unified social credit code")
    return code


def capacity(raw: str) -> dict[str, int]:
    """``tech_vp:1;flexible:2`` or ``科技副总:1；柔性引才:2``; a mode without a number means the mode's
    default capacity (1 for the built-in modes)."""
    out: dict[str, int] = {}
    for part in split_list(raw):
        name, _, num = part.replace("：", ":").partition(":")
        mode = modes.parse(name)
        out[mode] = whole(num, upper=20) if num.strip() else modes.get(mode).default_capacity
    return out


def mode_list(raw: str) -> list[str]:
    return [modes.parse(p) for p in split_list(raw)]


def fmt_list(values: Any) -> str:
    """Entries joined by ";" — with a trailing ";" when a single entry holds a weaker separator, so the
    cell re-imports as that one entry (``split_list``)."""
    items = [str(v) for v in values or []]
    text = ";".join(items)
    return text + ";" if len(items) == 1 and any(sep.search(items[0]) for sep in _SEPARATORS[1:]) else text


def fmt_capacity(values: Any) -> str:
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


def column(name: str, aliases: str, parse: Callable[[str], Any], required: bool = False, default: Any = None,
           fmt: Callable[[Any], str] = format_cell, contact: bool = False) -> Column:
    return Column(name, tuple(aliases.split()), parse, required, default, fmt, contact)


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


#: A cell holding this clears the stored value (to the column's default); an empty cell leaves it as it is.
CLEAR = ("[清空]", "[clear]")


def default_of(col: Column) -> Any:
    return col.default() if callable(col.default) else col.default


def parse_row(columns: tuple[Column, ...], cells: dict[str, str]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Parse one row (column name → raw text). Returns (values, problems): only what the row holds — a
    column the file does not have, or an empty cell, is left out, so an update keeps the stored value (a
    new record gets ``with_defaults``); a cell holding a ``CLEAR`` marker sets the column's default."""
    values: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for col in columns:
        raw = cells.get(col.name)
        text = (raw or "").strip()
        if not text:
            if col.required and raw is not None:
                problems.append((col.name, "required but empty"))
            continue
        if text in CLEAR:
            if col.required:
                problems.append((col.name, "required: cannot be cleared"))
            else:
                values[col.name] = default_of(col)
            continue
        try:
            values[col.name] = col.parse(text)
        except ValueError as exc:
            problems.append((col.name, str(exc)))
    return values, problems


def with_defaults(columns: tuple[Column, ...], values: dict[str, Any]) -> dict[str, Any]:
    """A new record's values: what the row holds, and each other column's default."""
    return {**{c.name: default_of(c) for c in columns if not c.required}, **values}


def format_row(columns: tuple[Column, ...], values: dict[str, Any], with_contact: bool = True) -> dict[str, str]:
    return {c.name: c.fmt(values.get(c.name)) for c in columns if with_contact or not c.contact}
