"""Bounds and text rules shared by every way data enters: the JSON API, the console's forms and file
imports. One definition, so a value one door refuses cannot come in through another and later break a
page, a list or an export (a control character makes XLSX writers fail; ``inf`` breaks JSON).
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import AfterValidator, Field, GetJsonSchemaHandler

from matcher.domain import modes

#: Largest id the API accepts in a path or a body (ids are 32-bit in PostgreSQL's SERIAL columns).
MAX_ID = 2**31 - 1
#: Largest offset of any list: deeper pages are not a use case and huge offsets overflow drivers.
MAX_OFFSET = 100_000
#: 万元. A demand's budget and a 奖补 amount above these are typing errors, not programmes.
MAX_BUDGET = 1_000_000.0
#: Money in integer yuan (奖补, salaries, budgets): 20亿元, above any programme's budget and within the
#: 32-bit integer columns both back ends hold.
MAX_YUAN = 2_000_000_000
MAX_MONTHS = 120
#: Counts in imported profiles (patents, projects, posts held).
MAX_COUNT = 100_000

# C0 controls except tab/newline/carriage return, DEL and C1 controls: never meaningful in user text.
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Single-line fields (names, titles, cities) refuse line breaks and tabs too.
_CONTROL_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def check_text(value: str, multiline: bool = True) -> str:
    """Return ``value`` or raise ``ValueError`` naming the first control character found."""
    found = (_CONTROL_MULTILINE if multiline else _CONTROL_LINE).search(value)
    if found:
        raise ValueError(f"contains a control character (U+{ord(found.group()):04X})")
    return value


def check_number(value: float, upper: float, lower: float = 0.0) -> float:
    """A finite number within [lower, upper], or ``ValueError``."""
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    if value < lower:
        raise ValueError(f"must be at least {lower:g}")
    if value > upper:
        raise ValueError(f"must be at most {upper:g}")
    return value


# ------------------------------------------------------------------ the same rules as pydantic types
# (the request models, the self-correction model derived from the talent's fields, the views)
def _line(v: str) -> str:
    return check_text(v, multiline=False)


def _text(v: str) -> str:
    return check_text(v, multiline=True)


#: Text on one line (names, titles, cities, keywords) and free text (descriptions, plans, reasons): both
#: refuse control characters, so nothing stored can break a page or an export later.
Line = Annotated[str, AfterValidator(_line)]
Text = Annotated[str, AfterValidator(_text)]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


def _mode(v: str) -> str:
    if not modes.is_mode(v):
        raise ValueError(f"unknown mode '{v}' (one of {', '.join(modes.codes())})")
    return v


class _ModesSchema:
    """The modes registered when the schema is generated (OpenAPI), not when this module was imported."""

    def __get_pydantic_json_schema__(self, core: Any, handler: GetJsonSchemaHandler) -> dict[str, Any]:
        return {"type": "string", "enum": list(modes.codes()),
                "description": "engagement mode: " + ", ".join(f"{c} ({lb})" for c, lb in modes.labels().items())}


#: An engagement mode's code, checked against the registry at validation time (a mode registered later is
#: accepted without rebuilding any model).
ModeCode = Annotated[str, AfterValidator(_mode), _ModesSchema()]
