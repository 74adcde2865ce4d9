import pytest

from matcher.domain import modes
from matcher.domain.labels import label, parse_enum
from matcher.domain.vocabulary import Sector, TitleLevel
from matcher.reference import (
    credit_check_char,
    industry_codes,
    is_valid_credit_code,
    nsfc_codes,
    sector_for_industry,
    sector_rules,
)


def test_parse_enum_accepts_value_and_chinese_label() -> None:
    assert modes.parse("tech_vp") == modes.TECH_VP
    assert modes.parse(" 双聘 ") == modes.DUAL_APPOINTMENT
    assert parse_enum(TitleLevel, "正高") is TitleLevel.SENIOR
    with pytest.raises(ValueError, match="not one of"):
        modes.parse("全职")
    assert label(Sector.COAL_CHEMICAL) == "现代煤化工"


def test_credit_code_check_digit() -> None:
    assert is_valid_credit_code("91350100M000100Y43")
    assert not is_valid_credit_code("91350100M000100Y44")  # wrong check digit
    assert not is_valid_credit_code("91350100M000100Y4")  # too short
    assert not is_valid_credit_code("91350100M000100YI3")  # I is not in the alphabet
    body = "91140100MA0K123456"[:17]
    assert is_valid_credit_code(body + credit_check_char(body))


def test_reference_tables_are_complete() -> None:
    codes = industry_codes()
    assert len(codes) == 1971 and codes["2521"] == "炼焦"
    assert len(nsfc_codes()) == 2916
    rules = sector_rules()
    assert {r.sector for r in rules} == {s.value for s in Sector}
    for rule in rules:  # every prefix in the mapping names a real industry code
        for prefix in rule.industry_prefixes:
            assert any(c.startswith(prefix) for c in codes), prefix


@pytest.mark.parametrize(("code", "sector"), [("2523", "coal_chemical"), ("0610", "energy"), ("4411", "energy"),
                                              ("3511", "equipment"), ("3972", "electronics"), ("6513", "ai"),
                                              ("3120", "materials"), ("0119", "other")])
def test_sector_for_industry(code: str, sector: str) -> None:
    assert sector_for_industry(code) == sector
