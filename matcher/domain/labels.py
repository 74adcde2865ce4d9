"""The Chinese label of any stored value, and parsing a label back: one function for pages, exports,
imports and messages. Modes come from their registry, the three ties from the region file (晋籍 in
Shanxi, 陕籍 in Shaanxi …), the office levels from ``offices`` (省级 …), everything else from the
vocabulary's table."""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from matcher.domain import modes, offices
from matcher.domain.vocabulary import LABELS, TieKind
from matcher.reference import region

E = TypeVar("E", bound=StrEnum)

_TIE_VALUES = frozenset(t.value for t in TieKind)


def label(value: str) -> str:
    """Chinese label for a stored value (the value itself when none is known)."""
    if modes.is_mode(value):
        return modes.get(value).label
    if isinstance(value, TieKind) or value in _TIE_VALUES:
        return region().ties.get(str(value), LABELS.get(value, value))
    if isinstance(value, offices.OfficeLevel):  # members only: a bare "city" is not relabelled
        return offices.LABELS[value]
    return LABELS.get(value, value)


def parse_enum(enum: type[E], raw: str) -> E:
    """Accept either the stored English value or its Chinese label, so imports can use either."""
    text = raw.strip()
    for member in enum:
        if text == member.value or text == label(member):
            return member
    allowed = "、".join(f"{m.value}/{label(m)}" for m in enum)
    raise ValueError(f"'{raw}' is not one of {allowed}")
