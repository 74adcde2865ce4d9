"""Reference data: GB/T 4754 industry codes, NSFC discipline codes, the focus-sector mapping, the
unified social credit code check digit (GB 32100-2015), and the region the deployment serves.

The region — province, its cities and which are neighbours, the provinces counted as near, and the
wording of the three ties (晋籍/晋历/晋缘 for Shanxi) — is a JSON file in ``data/regions/`` chosen by
``MATCHER_REGION`` (a file name there, or a path), so another province deploys by adding a file. The file
also gives the division codes (GB/T 2260) of the province, its cities and their counties, checked as it
loads; ``domain/offices.py`` builds the tree of offices from them. The format: ``data/regions/README.md``."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from matcher.config import PROJECT_ROOT, get_settings

REFERENCE_DIR = PROJECT_ROOT / "data" / "reference"
REGIONS_DIR = PROJECT_ROOT / "data" / "regions"


@dataclass(frozen=True)
class CityDivision:
    """A city of the region as the division codes know it."""

    code: str  # 140100
    name: str  # 太原市 (the region's city key is the short 太原)
    counties: dict[str, str]  # county code → name (140105 → 小店区), in code order; empty for a city without


@dataclass(frozen=True)
class Region:
    key: str
    name: str  # 山西省
    short: str  # 晋
    ties: dict[str, str]  # TieKind value → label (born → 晋籍 …)
    ties_title: str  # 晋缘关系
    neighbours: dict[str, tuple[str, ...]]  # city → adjacent cities (a rough neighbourhood)
    near_regions: tuple[str, ...]  # provinces close enough for on-site service (科技副总)
    province_code: str  # 140000
    divisions: dict[str, CityDivision]  # city (the keys of ``neighbours``, same order) → its code and counties

    @property
    def cities(self) -> tuple[str, ...]:
        return tuple(self.neighbours)

    @property
    def ties_label(self) -> str:
        return "/".join(self.ties[k] for k in ("born", "history", "other"))


class _Object(dict[str, object]):
    """A JSON object that remembers the keys it was given more than once (``json`` keeps the last silently)."""

    def __init__(self, pairs: list[tuple[str, object]]) -> None:
        super().__init__(pairs)
        seen: set[str] = set()
        self.repeated: list[str] = []
        for k, _ in pairs:
            if k in seen:
                self.repeated.append(k)
            seen.add(k)


def _repeated_key(value: object, path: str = "") -> str | None:
    """The key path of the first key given twice in one object, anywhere in ``value``."""
    if isinstance(value, _Object):
        if value.repeated:
            return f"{path}.{value.repeated[0]}" if path else value.repeated[0]
        items = list(value.items())
    elif isinstance(value, list):
        items = [(str(i), v) for i, v in enumerate(value)]
    else:
        return None
    for k, v in items:
        found = _repeated_key(v, f"{path}.{k}" if path else k)
        if found:
            return found
    return None


def shown_path(path: Path) -> str:
    """A data file as messages name it (region, programmes): relative to the project when it lies inside."""
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def _is_code(value: object) -> bool:
    return isinstance(value, str) and len(value) == 6 and value.isascii() and value.isdigit()


def _divisions(raw: dict[str, object], cities: tuple[str, ...], fail: Callable[[str, str], ValueError]
               ) -> tuple[str, dict[str, CityDivision]]:
    """``province_code`` and ``divisions``, checked: every code six digits, each city under the province
    and each county under its city (GB/T 2260: 14 → 1401 → 140105), no code twice, the same cities as
    ``cities``."""
    province = raw.get("province_code")
    if not _is_code(province) or not str(province).endswith("0000") or province == "000000":
        raise fail("province_code", f"{province!r} is not a province's six-digit code (such as 140000)")
    province = str(province)
    given = raw.get("divisions")
    if not isinstance(given, dict):
        raise fail("divisions", "missing: an object of city → {code, name, counties}")
    for city in given:
        if city not in cities:
            raise fail(f"divisions.{city}", "not a city of the region (not in cities)")
    for city in cities:
        if city not in given:
            raise fail(f"cities.{city}", "has no entry in divisions")
    owner: dict[str, str] = {province: "province_code"}  # code → the key path that gave it first

    def claim(code: str, where: str) -> None:
        if code in owner:
            raise fail(where, f"duplicate code {code} (also {owner[code]})")
        owner[code] = where

    out: dict[str, CityDivision] = {}
    for city in cities:  # the order of ``cities``
        entry = given[city]
        at = f"divisions.{city}"
        if not isinstance(entry, dict) or set(entry) - {"code", "name", "counties"}:
            raise fail(at, "must be an object with code, name and counties only")
        code, name, counties = entry.get("code"), entry.get("name"), entry.get("counties", {})
        if not _is_code(code) or not str(code).endswith("00") or str(code).endswith("0000"):
            raise fail(f"{at}.code", f"{code!r} is not a city's six-digit code (such as 140100)")
        code = str(code)
        if code[:2] != province[:2]:
            raise fail(f"{at}.code", f"{code} is a city outside the province {province}")
        claim(code, f"{at}.code")
        if not isinstance(name, str) or not name.strip():
            raise fail(f"{at}.name", "the city's full name (such as 太原市) is required")
        if not isinstance(counties, dict):
            raise fail(f"{at}.counties", "must be an object of county code → name")
        names: set[str] = set()
        for county, county_name in counties.items():
            where = f"{at}.counties.{county}"
            if not _is_code(county) or county.endswith("00"):
                raise fail(where, "not a county's six-digit code (such as 140105)")
            if county[:4] != code[:4]:
                raise fail(where, f"a county outside its city {code} ({name})")
            if not isinstance(county_name, str) or not county_name.strip():
                raise fail(where, "the county's name is required")
            if county_name in names:
                raise fail(where, f"the name {county_name} is given twice in {city}")
            names.add(county_name)
            claim(county, where)
        out[city] = CityDivision(code, name, {c: counties[c] for c in sorted(counties)})
    return province, out


def load_region(name_or_path: str) -> Region:
    """A region file by name (``shanxi`` → data/regions/shanxi.json) or path; checked as it loads (a
    problem is a ValueError naming the file and the key path, ``…/shanxi.json: divisions.太原.code: …``)."""
    path = Path(name_or_path)
    if not path.suffix:
        path = REGIONS_DIR / f"{name_or_path}.json"
    shown = shown_path(path)

    def fail(key: str, problem: str) -> ValueError:
        return ValueError(f"{shown}: {key}: {problem}")

    raw = json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=_Object)
    repeated = _repeated_key(raw)
    if repeated:
        raise fail(repeated, "given twice (a duplicate key)")
    neighbours = {c: tuple(n) for c, n in raw["cities"].items()}
    unknown = {n for ns in neighbours.values() for n in ns} - set(neighbours)
    if unknown:
        raise ValueError(f"{shown}: neighbours that are not cities of the region: {sorted(unknown)}")
    if set(raw["ties"]) != {"born", "history", "other"}:
        raise ValueError(f"{shown}: ties must name born, history and other")
    province_code, divisions = _divisions(raw, tuple(neighbours), fail)
    return Region(raw["key"], raw["name"], raw["short"], dict(raw["ties"]), raw["ties_title"], neighbours,
                  tuple(raw["near_regions"]), province_code, divisions)


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
