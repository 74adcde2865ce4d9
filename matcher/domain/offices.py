"""Offices: the levels of government a programme's rules speak of — the province, its cities, their
counties (districts and county-level cities count as counties) — as one tree built from the region file's
division codes (GB/T 2260: 140000 → 140100 → 140105).

An office is named by its code; ``OfficeTree`` answers what lies under what (``contains``), the way up
(``ancestors``) and down (``children``), and resolves a county from what a user typed (``find``), refusing
when the text could mean more than one county (Shanxi has a 城区 in 阳泉 and in 晋城)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from matcher.config import get_settings
from matcher.errors import NotFound
from matcher.reference import Region, load_region


class OfficeLevel(StrEnum):
    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"  # 区, 县, 县级市 (旗 and 自治县 elsewhere)


LABELS: dict[str, str] = {
    OfficeLevel.PROVINCE: "省级",
    OfficeLevel.CITY: "市级",
    OfficeLevel.COUNTY: "县级",
}

#: What a county's name may end with, longest first; ``find`` accepts the name without it (小店 for 小店区).
_COUNTY_SUFFIXES = ("自治县", "自治旗", "林区", "特区", "区", "县", "市", "旗")


class UnknownOffice(NotFound):
    """A code that names no office of the region."""

    def __init__(self, code: str, region: str) -> None:
        super().__init__(f"no office with code {code!r} in {region}", field="office")
        self.code = code


@dataclass(frozen=True)
class Office:
    code: str  # 140105
    name: str  # 小店区 (太原市 for a city, 山西省 for the province)
    level: OfficeLevel
    parent: str | None  # the code of the office above (None for the province)
    display_name: str  # 太原市小店区: a county with its city, so that the two 城区 read apart

    @property
    def level_label(self) -> str:
        return LABELS[self.level]


def _stem(name: str) -> str:
    """A county's name without its kind (小店区 → 小店); names of one character once stripped keep it
    (盂县, 城区), since 盂 or 城 alone says too little to resolve."""
    for suffix in _COUNTY_SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


class OfficeTree:
    """The province, its cities and their counties, from a loaded ``Region`` (its codes were checked as the
    file loaded). Offices are listed province first, then each city followed by its counties in code order."""

    def __init__(self, region: Region) -> None:
        self.region_name = region.name
        province = Office(region.province_code, region.name, OfficeLevel.PROVINCE, None, region.name)
        self._offices: dict[str, Office] = {province.code: province}
        self._children: dict[str, list[str]] = {province.code: []}
        self._city_codes: dict[str, str] = {}  # 太原, 太原市, 140100 → 140100
        for key, division in region.divisions.items():
            city = Office(division.code, division.name, OfficeLevel.CITY, province.code, division.name)
            self._add(city)
            for alias in (key, division.name, division.code):
                self._city_codes[alias] = city.code
            for code, name in division.counties.items():
                self._add(Office(code, name, OfficeLevel.COUNTY, city.code, division.name + name))
        self._province = province

    def _add(self, office: Office) -> None:
        self._offices[office.code] = office
        self._children[office.code] = []
        assert office.parent is not None
        self._children[office.parent].append(office.code)

    @property
    def province(self) -> Office:
        return self._province

    def __iter__(self) -> Iterator[Office]:
        return iter(self._offices.values())

    def __len__(self) -> int:
        return len(self._offices)

    def __contains__(self, code: object) -> bool:
        return code in self._offices

    def get(self, code: str) -> Office:
        """The office with this code; ``UnknownOffice`` (a NotFound naming the code) when there is none."""
        try:
            return self._offices[code]
        except KeyError:
            raise UnknownOffice(code, self.region_name) from None

    def at_level(self, level: OfficeLevel) -> tuple[Office, ...]:
        return tuple(o for o in self._offices.values() if o.level == level)

    def children(self, code: str) -> tuple[Office, ...]:
        """The offices directly under ``code``: the cities of the province, the counties of a city (in code
        order), nothing under a county."""
        self.get(code)
        return tuple(self._offices[c] for c in self._children[code])

    def ancestors(self, code: str) -> tuple[Office, ...]:
        """The offices above ``code``, nearest first: a county's city then the province; () for the province."""
        out: list[Office] = []
        parent = self.get(code).parent
        while parent is not None:
            office = self._offices[parent]
            out.append(office)
            parent = office.parent
        return tuple(out)

    def contains(self, ancestor_code: str, code: str) -> bool:
        """Whether ``code`` is ``ancestor_code`` or lies below it (both must be offices of the region)."""
        self.get(ancestor_code)
        return code == ancestor_code or any(o.code == ancestor_code for o in self.ancestors(code))

    def office_at(self, county_code: str | None, level: OfficeLevel) -> Office:
        """The office at ``level`` whose area holds the county ``county_code`` (the county itself, its city,
        the province) — who takes a review step or owes a time limit for an enterprise located there. The
        province when the county is unknown (not recorded, or not a county of this region), whatever the
        level: no lower office can be named, and the province's area holds everything."""
        if not county_code or county_code not in self._offices:
            return self.province
        county = self._offices[county_code]
        if county.level != OfficeLevel.COUNTY:
            return self.province
        if level == OfficeLevel.COUNTY:
            return county
        return next((o for o in self.ancestors(county.code) if o.level == level), self.province)

    def area_prefix(self, code: str) -> str | None:
        """The prefix every county code in this office's area starts with (the city's four digits, a county's
        six) — what a query matches locations against; None for the province, whose area is everything."""
        office = self.get(code)
        if office.level == OfficeLevel.PROVINCE:
            return None
        return code[:4] if office.level == OfficeLevel.CITY else code

    def city(self, name_or_code: str) -> Office | None:
        """A city by the region's short name (太原), its full name (太原市) or its code; None if none."""
        code = self._city_codes.get(name_or_code.strip())
        return self._offices[code] if code else None

    def county_by_name(self, city: str, name: str) -> Office | None:
        """A county of ``city`` (as ``city`` takes it) by its name, with or without its kind (小店区, 小店);
        None when the city or the county is unknown."""
        found = self.city(city)
        if found is None:
            return None
        matches = self._named(found.code, name.strip())
        return matches[0] if len(matches) == 1 else None

    def find(self, text: str) -> Office | None:
        """The county a user meant by ``text``: its code, ``太原市小店区``, ``太原小店区``, ``山西省太原市小店区``,
        ``小店区`` or ``小店``. None when no county or more than one fits (``城区`` alone: 阳泉's or
        晋城's?), or when the text names a city or the province rather than a county."""
        text = "".join(text.split())
        office = self._offices.get(text)
        if office is not None:
            return office if office.level == OfficeLevel.COUNTY else None
        for prefix in (self._province.name, _stem_province(self._province.name)):
            if prefix and text.startswith(prefix):
                text = text[len(prefix):]
                break
        if not text:
            return None
        candidates: dict[str, Office] = {}
        for city in self.at_level(OfficeLevel.CITY):  # the name alone, in any city
            for o in self._named(city.code, text):
                candidates[o.code] = o
        for alias, city_code in self._city_codes.items():  # a city's name, then a county's
            rest = text[len(alias):]
            if rest and text.startswith(alias) and not alias.isdigit():
                for o in self._named(city_code, rest):
                    candidates[o.code] = o
        return next(iter(candidates.values())) if len(candidates) == 1 else None

    def _named(self, city_code: str, name: str) -> list[Office]:
        out = []
        for code in self._children[city_code]:
            county = self._offices[code]
            if name and name in (county.name, _stem(county.name)):
                out.append(county)
        return out


def _stem_province(name: str) -> str:
    """山西省 → 山西 (a 自治区 or a 市 keeps its full name: their short forms are not simply a cut)."""
    return name[:-1] if name.endswith("省") else ""


@lru_cache(maxsize=8)
def _tree(name_or_path: str) -> OfficeTree:
    return OfficeTree(load_region(name_or_path))


def office_tree() -> OfficeTree:
    """The offices of the region this deployment serves (``MATCHER_REGION``, default Shanxi)."""
    return _tree(get_settings().region)
