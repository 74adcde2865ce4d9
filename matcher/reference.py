"""Reference data: GB/T 4754 industry codes, NSFC discipline codes, the focus-sector mapping, and the
unified social credit code check digit (GB 32100-2015), used by imports to reject malformed codes."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from matcher.config import PROJECT_ROOT

REFERENCE_DIR = PROJECT_ROOT / "data" / "reference"

CITIES = ("太原", "大同", "朔州", "忻州", "阳泉", "晋中", "长治", "晋城", "临汾", "运城", "吕梁")

# Rough neighbourhood of the province's cities (adjacent prefectures), for the proximity feature.
NEIGHBOURS: dict[str, tuple[str, ...]] = {
    "太原": ("晋中", "吕梁", "忻州", "阳泉"),
    "大同": ("朔州", "忻州"),
    "朔州": ("大同", "忻州"),
    "忻州": ("太原", "大同", "朔州", "吕梁", "阳泉"),
    "阳泉": ("太原", "晋中", "忻州"),
    "晋中": ("太原", "阳泉", "长治", "临汾", "吕梁"),
    "长治": ("晋中", "晋城", "临汾"),
    "晋城": ("长治", "临汾", "运城"),
    "临汾": ("晋中", "长治", "晋城", "运城", "吕梁"),
    "运城": ("临汾", "晋城"),
    "吕梁": ("太原", "晋中", "临汾", "忻州"),
}


@dataclass(frozen=True)
class SectorRule:
    sector: str
    name: str
    industry_prefixes: tuple[str, ...]
    nsfc_prefixes: tuple[str, ...]


def _read(name: str) -> list[dict[str, str]]:
    with open(REFERENCE_DIR / name, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@lru_cache(maxsize=1)
def industry_codes() -> dict[str, str]:
    return {r["code"]: r["name"] for r in _read("industry_gbt4754_2017.csv")}


@lru_cache(maxsize=1)
def nsfc_codes() -> dict[str, str]:
    return {r["code"]: r["name"] for r in _read("disciplines_nsfc.csv")}


@lru_cache(maxsize=1)
def sector_rules() -> tuple[SectorRule, ...]:
    def split(v: str) -> tuple[str, ...]:
        return tuple(p for p in v.split(";") if p)

    return tuple(SectorRule(r["sector"], r["name"], split(r["industry_prefixes"]), split(r["nsfc_prefixes"]))
                 for r in _read("sectors.csv"))


def sector_for_industry(code: str) -> str:
    """The first focus sector whose industry prefixes match ``code`` (row order decides), else ``other``."""
    for rule in sector_rules():
        if any(code.startswith(p) for p in rule.industry_prefixes):
            return rule.sector
    return "other"


_CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_check_char(first17: str) -> str:
    total = sum(_CREDIT_ALPHABET.index(c) * w for c, w in zip(first17, _CREDIT_WEIGHTS, strict=True))
    return _CREDIT_ALPHABET[(31 - total % 31) % 31]


def is_valid_credit_code(code: str) -> bool:
    """Unified social credit code: 18 characters from the standard alphabet with a valid check digit."""
    if len(code) != 18 or any(c not in _CREDIT_ALPHABET for c in code):
        return False
    return credit_check_char(code[:17]) == code[17]


def path_in_reference(name: str) -> Path:
    return REFERENCE_DIR / name
