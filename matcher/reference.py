"""Reference data: GB/T 4754 industry codes, NSFC discipline codes, the focus-sector mapping, the
unified social credit code check digit (GB 32100-2015), and the region the deployment serves.

The region — province, its cities and which are neighbours, the provinces counted as near, and the
wording of the three ties (晋籍/晋历/晋缘 for Shanxi) — is a JSON file in ``data/regions/`` chosen by
``MATCHER_REGION`` (a file name there, or a path), so another province deploys by adding a file."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from matcher.config import PROJECT_ROOT, get_settings

REFERENCE_DIR = PROJECT_ROOT / "data" / "reference"
REGIONS_DIR = PROJECT_ROOT / "data" / "regions"


@dataclass(frozen=True)
class Region:
    key: str
    name: str  # 山西省
    short: str  # 晋
    ties: dict[str, str]  # TieKind value → label (born → 晋籍 …)
    ties_title: str  # 晋缘关系
    neighbours: dict[str, tuple[str, ...]]  # city → adjacent cities (a rough neighbourhood)
    near_regions: tuple[str, ...]  # provinces close enough for on-site service (科技副总)

    @property
    def cities(self) -> tuple[str, ...]:
        return tuple(self.neighbours)

    @property
    def ties_label(self) -> str:
        return "/".join(self.ties[k] for k in ("born", "history", "other"))


def load_region(name_or_path: str) -> Region:
    """A region file by name (``shanxi`` → data/regions/shanxi.json) or path; checked as it loads."""
    path = Path(name_or_path)
    if not path.suffix:
        path = REGIONS_DIR / f"{name_or_path}.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    neighbours = {c: tuple(n) for c, n in raw["cities"].items()}
    unknown = {n for ns in neighbours.values() for n in ns} - set(neighbours)
    if unknown:
        raise ValueError(f"{path}: neighbours that are not cities of the region: {sorted(unknown)}")
    if set(raw["ties"]) != {"born", "history", "other"}:
        raise ValueError(f"{path}: ties must name born, history and other")
    return Region(raw["key"], raw["name"], raw["short"], dict(raw["ties"]), raw["ties_title"], neighbours,
                  tuple(raw["near_regions"]))


@lru_cache(maxsize=8)
def _region(name_or_path: str) -> Region:
    return load_region(name_or_path)


def region() -> Region:
    """The region this deployment serves (``MATCHER_REGION``, default Shanxi)."""
    return _region(get_settings().region)


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
