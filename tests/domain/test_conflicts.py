"""Conflicts of interest as plain data (``domain/conflicts.py``): how names are normalised, which relations
are in force, the rule table (each kind × the talent's own / the unit's, dated employment), the order of
reasons, and the rule the engine applies (``modes.no_conflict_of_interest``)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from matcher.domain import modes
from matcher.domain.conflicts import (
    Declared,
    RelationKind,
    check_relation,
    checked_name,
    in_force,
    like_pattern,
    normalise,
    organisation_reason,
    own_reason,
    talent_conflicts,
)
from matcher.domain.facts import NO_REASONS, DemandFacts, Reasons, TalentFacts
from matcher.engine.ranking import exclusion
from matcher.errors import Invalid

TODAY = date(2027, 3, 1)
ENT = 10  # the enterprise's organisation
UNIT = 20  # a university


@pytest.mark.parametrize(("raw", "expected"), [
    ("太原理工大学", "太原理工大学"),
    (" 太原 理工大学\u3000", "太原理工大学"),  # spaces, full-width space
    ("太原理工大学（TYUT）", "太原理工大学tyut"),  # full-width brackets dropped, letters folded
    ("ＴＹＵＴ·太原理工", "tyut太原理工"),  # full-width letters → half-width, middle dot dropped
    ("山西焦煤集团有限责任公司。", "山西焦煤集团有限责任公司"),
    ("中国矿业大学(北京)", "中国矿业大学北京"),
    ("A&B\tCo.", "abco"),
    ("！！", ""),
])
def test_normalise(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


def test_names_are_matched_exactly_never_fuzzily() -> None:
    assert normalise("太原理工") != normalise("太原理工大学")  # an alias makes them one, not a similarity


def test_like_pattern_is_a_superset_of_every_spelling() -> None:
    assert like_pattern(normalise("太原理工大学")) == "%太%原%理%工%大%学%"
    assert like_pattern("tyut") == "%_%"  # no CJK character: every non-empty text, decided in Python


def test_checked_name_refuses_empty_and_overlong_names() -> None:
    with pytest.raises(Invalid) as e:
        checked_name("（）", "organisation")
    assert e.value.field == "organisation"
    with pytest.raises(Invalid) as e:
        checked_name("\u3392" * 100, "alias")  # ㎒ becomes MHz: 300 characters once normalised
    assert e.value.field == "alias"


@pytest.mark.parametrize(("kind", "start", "end", "organisation_level", "field"), [
    ("partner", None, None, False, "kind"),
    ("employed", date(2020, 1, 1), date(2019, 12, 31), False, "ended_on"),
    ("employed", None, None, True, "kind"),  # an organisation founds or holds shares, it is not employed
    ("family", None, None, True, "kind"),
])
def test_check_relation_names_the_field(kind: str, start: date | None, end: date | None,
                                        organisation_level: bool, field: str) -> None:
    with pytest.raises(Invalid) as e:
        check_relation(kind, start, end, organisation_level)
    assert e.value.field == field


def test_check_relation_accepts_the_valid_ones() -> None:
    check_relation("employed", date(2020, 1, 1), date(2020, 1, 1))
    check_relation("shareholder", None, None, organisation_level=True)


@pytest.mark.parametrize(("kind", "ended_on", "conflicts"), [
    ("employed", None, True),
    ("employed", TODAY, True),  # ends today: still in force today
    ("employed", TODAY - timedelta(days=1), False),  # ended yesterday: no cooling-off
    ("shareholder", TODAY - timedelta(days=1), False),  # shares sold
    ("family", TODAY - timedelta(days=1), False),  # the family member left
    ("founded", TODAY - timedelta(days=3650), True),  # a founder keeps the tie
])
def test_in_force(kind: str, ended_on: date | None, conflicts: bool) -> None:
    assert in_force(kind, ended_on, TODAY) is conflicts


OWN = {"founded": "人才本人创办该企业（利益冲突）", "shareholder": "人才本人入股该企业（利益冲突）",
       "employed": "人才本人在该企业任职（利益冲突）", "family": "人才亲属在该企业任职（利益冲突）"}


@pytest.mark.parametrize("kind", list(RelationKind))
def test_own_relation_of_each_kind_excludes(kind: str) -> None:
    rel = Declared("talent", 1, ENT, kind)
    assert talent_conflicts({ENT}, [rel], {}, {}, TODAY) == {1: OWN[kind]}
    assert own_reason(kind) == OWN[kind]


@pytest.mark.parametrize(("kind", "reason"), [
    ("founded", "人才所在单位太原理工大学创办该企业（利益冲突）"),
    ("shareholder", "人才所在单位太原理工大学入股该企业（利益冲突）"),
])
def test_the_units_relation_excludes_its_people(kind: str, reason: str) -> None:
    rel = Declared("organisation", UNIT, ENT, kind)
    out = talent_conflicts({ENT}, [rel], {1: {UNIT}, 2: {99}}, {UNIT: "太原理工大学"}, TODAY)
    assert out == {1: reason}  # talent 2 belongs elsewhere
    assert organisation_reason(kind, "太原理工大学") == reason


def test_dated_relations_and_other_enterprises() -> None:
    ended = TODAY - timedelta(days=1)
    rels = [Declared("talent", 1, ENT, "employed", date(2010, 1, 1), ended),  # ended: no conflict
            Declared("talent", 2, ENT, "employed", date(2010, 1, 1), TODAY + timedelta(days=30)),
            Declared("talent", 3, ENT, "employed", TODAY + timedelta(days=30)),  # an agreed post: a tie already
            Declared("talent", 4, 11, "shareholder"),  # another enterprise
            Declared("organisation", UNIT, ENT, "shareholder", None, ended)]  # the unit sold its shares
    out = talent_conflicts({ENT}, rels, {5: {UNIT}}, {UNIT: "太原理工大学"}, TODAY)
    assert out == {2: OWN["employed"], 3: OWN["employed"]}


def test_the_first_reason_is_the_talents_own_then_the_strongest() -> None:
    rels = [Declared("talent", 1, ENT, "family"), Declared("talent", 1, ENT, "shareholder"),
            Declared("organisation", UNIT, ENT, "founded")]
    out = talent_conflicts({ENT}, rels, {1: {UNIT}}, {UNIT: "太原理工大学"}, TODAY)
    assert out == {1: OWN["shareholder"]}


def _talent(tid: int = 1, employer: int | None = None) -> TalentFacts:
    return TalentFacts(id=tid, external_id=f"T{tid}", name="王磊", text="煤气化", mode_capacity={"flexible": 1},
                       employer_enterprise_id=employer)


def test_the_engine_rule_reads_the_demands_reasons() -> None:
    demand = DemandFacts(id=1, text="x", enterprise_id=7, conflicted_talents=Reasons({1: OWN["founded"]}))
    assert exclusion("flexible", demand, _talent(1)) == OWN["founded"]
    assert exclusion("flexible", demand, _talent(2)) is None
    assert modes.no_conflict_of_interest in modes.COMMON_RULES
    # the own-employer rule keeps its reason and comes first
    assert exclusion("flexible", demand, _talent(1, employer=7)) == "人才为发榜企业本单位人员（利益冲突）"


def test_demand_facts_stay_frozen_and_hashable() -> None:
    a = DemandFacts(id=1, text="x", conflicted_talents=Reasons({1: "r"}))
    b = DemandFacts(id=1, text="x", conflicted_talents=Reasons([(1, "r")]))
    assert a == b and hash(a) == hash(b)
    assert DemandFacts(id=1, text="x").conflicted_talents is NO_REASONS
    assert dict(a.conflicted_talents) == {1: "r"} and len(a.conflicted_talents) == 1
