"""Programmes as versioned configuration (``domain/programmes.py``): the Shanxi file's review steps, grading
offices and time limits (with the default block inherited), the look-ups by mode, the pinned rules of each
released version, the file chosen by ``MATCHER_PROGRAMMES``, and every kind of bad file refused with the
file and the key path in the message."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from matcher.config import Settings, get_settings
from matcher.domain import programmes as programmes_module
from matcher.domain.modes import DUAL_APPOINTMENT, FLEXIBLE, TECH_VP
from matcher.domain.offices import OfficeLevel
from matcher.domain.programmes import (
    PROGRAMMES_DIR,
    STAGES,
    ProgrammeId,
    ProgrammeSet,
    load_programmes,
    needs_reason,
    programmes,
)

COUNTY, CITY, PROVINCE = OfficeLevel.COUNTY, OfficeLevel.CITY, OfficeLevel.PROVINCE
SHANXI = PROGRAMMES_DIR / "shanxi.json"

#: Each released (key, version) and the digest of its rules. A change of rules under a released version fails
#: here: give the programme a new version instead (and add its row; README "Programmes").
RELEASED: dict[ProgrammeId, str] = {
    # v1 (744418bcab5f0b4a, 5e2c6ccb3f569664, e5ebce69fb7ece4f) had no 奖补 rules; v2 added them
    ProgrammeId("tech_vp_programme", "2026-12-v2"): "67a12fc437f63924",
    ProgrammeId("industry_talent", "2026-12-v2"): "0f01d9d444084d79",
    ProgrammeId("tech_commissioner", "2026-12-v2"): "d63e0cf53eb52787",
    # v1 (80651c6df276f306) named no team; v2 asks for 2–10 members besides the lead
    ProgrammeId("doctoral_service_team", "2026-12-v2"): "86909e5a43072218",
}


@pytest.fixture(scope="module")
def shanxi() -> ProgrammeSet:
    return load_programmes("shanxi")


def test_the_shanxi_file_loads(shanxi: ProgrammeSet) -> None:
    assert shanxi.source == "data/programmes/shanxi.json" and shanxi.version == "2026-12-v2"
    assert shanxi.keys() == ("tech_vp_programme", "industry_talent", "tech_commissioner", "doctoral_service_team")
    assert [p.label for p in shanxi] == ["科技副总", "产业人才对接", "科技特派员", "科技博士服务团"]
    assert load_programmes(str(SHANXI)).keys() == shanxi.keys()  # by path as by name


@pytest.mark.parametrize(("key", "mode", "steps"), [
    ("tech_vp_programme", TECH_VP, [(CITY, "初审", ("recommend", "send_back")),
                                    (PROVINCE, "终审", ("approve", "reject"))]),
    ("industry_talent", FLEXIBLE, [(CITY, "审核", ("approve", "reject"))]),
    ("industry_talent", DUAL_APPOINTMENT, [(CITY, "初审", ("recommend", "send_back")),
                                           (PROVINCE, "终审", ("approve", "reject"))]),
    ("tech_commissioner", FLEXIBLE, [(COUNTY, "初审", ("recommend", "send_back")),
                                     (CITY, "终审", ("approve", "reject"))]),
    ("doctoral_service_team", FLEXIBLE, [(CITY, "初审", ("recommend", "send_back")),
                                         (PROVINCE, "终审", ("approve", "reject"))]),
])
def test_review_steps_in_order(shanxi: ProgrammeSet, key: str, mode: str,
                               steps: list[tuple[OfficeLevel, str, tuple[str, ...]]]) -> None:
    found = shanxi.review_steps(key, mode)
    assert [(s.level, s.name, s.actions) for s in found] == steps
    assert [s.final for s in found] == [False] * (len(steps) - 1) + [True]
    assert shanxi.review_steps(shanxi.get(key), mode) == found  # by key or by the programme itself


@pytest.mark.parametrize(("key", "mode", "level"), [
    ("tech_vp_programme", TECH_VP, PROVINCE),  # the office of the final approval
    ("industry_talent", FLEXIBLE, CITY),
    ("industry_talent", DUAL_APPOINTMENT, CITY),  # the file says so: the province approves, the city grades
    ("tech_commissioner", FLEXIBLE, CITY),
    ("doctoral_service_team", FLEXIBLE, PROVINCE),
])
def test_grading_level(shanxi: ProgrammeSet, key: str, mode: str, level: OfficeLevel) -> None:
    assert shanxi.grading_level(key, mode) == level


@pytest.mark.parametrize(("key", "mode", "stage", "days"), [
    ("tech_vp_programme", TECH_VP, "take_up", 15),  # its own
    ("tech_vp_programme", TECH_VP, "first_contact", 5),  # the rest from the default block
    ("tech_vp_programme", TECH_VP, "review", 5),
    ("tech_vp_programme", TECH_VP, "reward_decision", 20),
    ("industry_talent", DUAL_APPOINTMENT, "reward_decision", 30),
    ("industry_talent", DUAL_APPOINTMENT, "take_up", 10),
    ("industry_talent", FLEXIBLE, "reward_decision", 20),  # another mode of the same programme keeps the default
    ("tech_commissioner", FLEXIBLE, "first_contact", 3),
    ("doctoral_service_team", FLEXIBLE, "take_up", 10),
])
def test_time_limits_inherit_the_default_block(shanxi: ProgrammeSet, key: str, mode: str, stage: str,
                                               days: int) -> None:
    assert shanxi.time_limit(key, mode, stage) == days


@pytest.mark.parametrize(("key", "mode", "per_step"), [
    ("tech_vp_programme", TECH_VP, [5, 10]),  # the province's 终审 has its own limit
    ("industry_talent", FLEXIBLE, [5]),
    ("tech_commissioner", FLEXIBLE, [5, 5]),
])
def test_review_limits_per_step(shanxi: ProgrammeSet, key: str, mode: str, per_step: list[int]) -> None:
    assert [shanxi.time_limit(key, mode, "review", step=i) for i in range(len(per_step))] == per_step
    assert [s.time_limit for s in shanxi.review_steps(key, mode)] == per_step


@pytest.mark.parametrize(("call", "problem"), [
    (lambda s: s.time_limit("tech_vp_programme", TECH_VP, "decision"), "unknown stage 'decision'"),
    (lambda s: s.time_limit("tech_vp_programme", TECH_VP, "review", step=2), "no step 2"),
    (lambda s: s.time_limit("tech_vp_programme", TECH_VP, "take_up", step=0), "only the review stage"),
    (lambda s: s.review_steps("tech_vp_programme", FLEXIBLE), "does not cover mode 'flexible'"),
    (lambda s: s.get("talent_plan"), "unknown programme 'talent_plan'"),
])
def test_look_ups_that_cannot_be_answered(shanxi: ProgrammeSet, call: Callable[[ProgrammeSet], object],
                                          problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        call(shanxi)


@pytest.mark.parametrize(("mode", "covering", "default"), [
    (TECH_VP, ["tech_vp_programme"], "tech_vp_programme"),
    (DUAL_APPOINTMENT, ["industry_talent"], "industry_talent"),
    (FLEXIBLE, ["industry_talent", "tech_commissioner", "doctoral_service_team"], "industry_talent"),
])
def test_programmes_of_a_mode(shanxi: ProgrammeSet, mode: str, covering: list[str], default: str) -> None:
    assert [p.key for p in shanxi.for_mode(mode)] == covering
    found = shanxi.default_for(mode)
    assert found is not None and found.key == default and not found.demand_must_belong


def test_stages_and_reasons() -> None:
    assert STAGES == ("take_up", "first_contact", "review", "reward_decision")
    assert [a for a in ("recommend", "send_back", "approve", "reject") if needs_reason(a)] == ["send_back", "reject"]


def test_each_released_version_keeps_its_rules(shanxi: ProgrammeSet) -> None:
    assert {p.identity: p.fingerprint for p in shanxi} == RELEASED
    assert str(shanxi.get("tech_vp_programme").identity) == "tech_vp_programme@2026-12-v2"


# --- files the loader refuses ---------------------------------------------------------------------------

Edit = Callable[[dict[str, Any]], None]


def _set(path: tuple[str | int, ...], value: Any) -> Edit:
    """Set (or with ``None`` delete) the value at ``path`` of the Shanxi file."""
    def edit(raw: dict[str, Any]) -> None:
        target: Any = raw
        for key in path[:-1]:
            target = target[key]
        if value is None:
            del target[path[-1]]
        else:
            target[path[-1]] = value
    return edit


def _programme(key: str, **changes: Any) -> Edit:
    def edit(raw: dict[str, Any]) -> None:
        raw["programmes"][key].update(changes)
    return edit


TV = ("programmes", "tech_vp_programme")
TV_STEPS = (*TV, "review", "tech_vp")
P = "programmes.tech_vp_programme"
FIRST = {"level": "city", "name": "初审", "actions": ["recommend", "send_back"]}
FINAL = {"level": "province", "name": "终审", "actions": ["approve", "reject"]}
ADDED = {"label": "英才计划", "version": "2026-12-v1", "modes": ["flexible"], "demand_must_belong": False,
         "review": {"flexible": [{"level": "province", "name": "审核", "actions": ["approve", "reject"]}]}}


@pytest.mark.parametrize(("edit", "key", "problem"), [
    # modes
    (_set((*TV, "modes"), ["tech_vp", "advisor"]), f"{P}.modes[1]", "unknown mode 'advisor'"),
    (_set((*TV, "modes"), []), f"{P}.modes", "non-empty list"),
    (_set((*TV, "modes"), ["tech_vp", "tech_vp"]), f"{P}.modes[1]", "listed twice"),
    (_set((*TV, "review", "advisor"), [FINAL]), f"{P}.review.advisor", "unknown mode 'advisor'"),
    (_set((*TV, "review", "flexible"), [FINAL]), f"{P}.review.flexible", "not among the programme's modes"),
    (_set((*TV, "modes"), ["tech_vp", "flexible"]), f"{P}.review.flexible", "missing"),
    # office levels
    (_set((*TV_STEPS, 0, "level"), "town"), f"{P}.review.tech_vp[0].level", "unknown office level 'town'"),
    (_set((*TV, "graded_by"), {"tech_vp": "nation"}), f"{P}.graded_by.tech_vp", "unknown office level 'nation'"),
    (_set(TV_STEPS, [{**FIRST, "level": "province"}, {**FINAL, "level": "city"}]), f"{P}.review.tech_vp[1].level",
     "below the previous step's 'province'"),
    # teams
    (_set((*TV, "team"), {"min_members": 3, "max_members": 2}), f"{P}.team.max_members", "below min_members 3"),
    (_set((*TV, "team"), {"min_members": "2", "max_members": 5}), f"{P}.team.min_members", "whole number"),
    (_set((*TV, "team"), {"min_members": 1}), f"{P}.team.max_members", "missing"),
    # time limits
    (_set(("time_limits", "take_up"), 0), "time_limits.take_up", "at least 1, not 0"),
    (_set(("time_limits", "review"), -3), "time_limits.review", "at least 1, not -3"),
    (_set(("time_limits", "first_contact"), 1.5), "time_limits.first_contact", "whole number of working days"),
    (_set(("time_limits", "reward_decision"), True), "time_limits.reward_decision", "not true"),
    (_set(("time_limits", "reward_decision"), "20"), "time_limits.reward_decision", "not \"20\""),
    (_set((*TV, "time_limits", "tech_vp", "take_up"), 0), f"{P}.time_limits.tech_vp.take_up", "not 0"),
    (_set((*TV, "time_limits", "tech_vp", "review"), 2.0), f"{P}.time_limits.tech_vp.review", "not 2.0"),
    (_set((*TV_STEPS, 1, "time_limit"), False), f"{P}.review.tech_vp[1].time_limit", "not false"),
    (_set((*TV_STEPS, 1, "time_limit"), -1), f"{P}.review.tech_vp[1].time_limit", "not -1"),
    (_set(("time_limits", "review"), None), "time_limits.review", "missing"),
    (_set((*TV, "time_limits", "flexible"), {"take_up": 3}), f"{P}.time_limits.flexible",
     "not among the programme's modes"),
    # stages
    (_set(("time_limits", "decision"), 5), "time_limits.decision", "unknown stage"),
    (_set((*TV, "time_limits", "tech_vp", "contact"), 5), f"{P}.time_limits.tech_vp.contact", "unknown stage"),
    # versions
    (_set((*TV, "version"), None), f"{P}.version", "missing: the rules' version"),
    (_set((*TV, "version"), ""), f"{P}.version", "is not a version"),
    (_set((*TV, "version"), 2026), f"{P}.version", "is not a version"),
    (_set((*TV, "version"), "2026-13-v1"), f"{P}.version", "is not a version"),
    (_set(("version",), None), "version", "missing"),
    (_set((*TV, "version"), "2027-03-v1"), "version", "older than programme 'tech_vp_programme'"),
    # review steps
    (_set(TV_STEPS, []), f"{P}.review.tech_vp", "empty"),
    (_set(TV_STEPS, "city"), f"{P}.review.tech_vp", "must be a list"),
    (_set(TV_STEPS, [FINAL, {**FINAL, "level": "province"}]), f"{P}.review.tech_vp[0]", "must be the last"),
    (_set(TV_STEPS, [{**FINAL, "level": "city"}, FIRST]), f"{P}.review.tech_vp[0]", "must be the last"),
    (_set(TV_STEPS, [FIRST]), f"{P}.review.tech_vp[0]", "the last step must be final"),
    (_set((*TV_STEPS, 0, "name"), "终审"), f"{P}.review.tech_vp[0].name", "does not fit a first review"),
    (_set((*TV_STEPS, 1, "name"), "初审"), f"{P}.review.tech_vp[1].name", "does not fit a final review"),
    (_set((*TV_STEPS, 1, "name"), "复核"), f"{P}.review.tech_vp[1].name", "unknown step name"),
    (_set((*TV_STEPS, 1, "actions"), ["approve", "send_back"]), f"{P}.review.tech_vp[1].actions", "mixes"),
    (_set((*TV_STEPS, 1, "actions"), ["reject"]), f"{P}.review.tech_vp[1].actions", "must allow 'approve'"),
    (_set((*TV_STEPS, 0, "actions"), ["send_back"]), f"{P}.review.tech_vp[0].actions", "must allow 'recommend'"),
    (_set((*TV_STEPS, 0, "actions"), ["recommend", "approve_all"]), f"{P}.review.tech_vp[0].actions[1]",
     "unknown action"),
    (_set((*TV_STEPS, 0, "actions"), ["recommend", "recommend"]), f"{P}.review.tech_vp[0].actions[1]",
     "listed twice"),
    (_set((*TV_STEPS, 0, "actions"), []), f"{P}.review.tech_vp[0].actions", "non-empty list"),
    (_set((*TV_STEPS, 0, "level"), None), f"{P}.review.tech_vp[0].level", "missing"),
    # unknown keys, at every depth
    (_set(("region",), "shanxi"), "region", "unknown key"),
    (_set((*TV, "budget"), 100), f"{P}.budget", "unknown key"),
    (_set((*TV_STEPS, 0, "office"), "太原"), f"{P}.review.tech_vp[0].office", "unknown key"),
    # programmes and their other keys
    (_set(("programmes",), {}), "programmes", "empty"),
    (_set(("programmes", "科技副总"), ADDED), "programmes.科技副总", "English identifier"),
    (_set(("programmes", "talent_plan"), {**ADDED, "label": "科技副总"}), "programmes.talent_plan.label",
     "also the label of 'tech_vp_programme'"),
    (_set((*TV, "label"), ""), f"{P}.label", "non-empty string"),
    (_set((*TV, "demand_must_belong"), "yes"), f"{P}.demand_must_belong", "true or false"),
    (_set((*TV, "demand_must_belong"), None), f"{P}.demand_must_belong", "missing"),
    # the default programme of a mode
    (_set(("default_programme", "flexible"), "tech_commissioner"), "default_programme.flexible",
     "requires a demand to be posted into it"),
    (_set(("default_programme", "flexible"), "tech_vp_programme"), "default_programme.flexible",
     "does not cover mode 'flexible'"),
    (_set(("default_programme", "flexible"), "talent_plan"), "default_programme.flexible", "unknown programme"),
    (_set(("default_programme", "advisor"), "industry_talent"), "default_programme.advisor", "unknown mode"),
    (lambda raw: (raw["default_programme"].pop("flexible"), raw["programmes"].update(talent_plan=ADDED)),
     "default_programme.flexible", "industry_talent, talent_plan all take demands"),
])
def test_a_bad_programme_file_names_the_file_and_the_key(tmp_path: Path, edit: Edit, key: str, problem: str) -> None:
    raw = json.loads(SHANXI.read_text(encoding="utf-8"))
    edit(raw)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ValueError) as caught:
        load_programmes(str(path))
    assert str(caught.value).startswith(f"{path}: {key}: "), str(caught.value)
    assert problem in str(caught.value), str(caught.value)


@pytest.mark.parametrize(("old", "new", "key"), [
    # a programme key given twice: json would keep the second silently
    ('"doctoral_service_team": {', '"tech_vp_programme": {', "programmes.tech_vp_programme"),
    ('"first_contact": 5,', '"take_up": 5,', "time_limits.take_up"),
    ('"modes": ["tech_vp"],', '"modes": ["tech_vp"], "modes": ["flexible"],', f"{P}.modes"),
    ('"name": "审核",', '"name": "审核", "name": "终审",', "programmes.industry_talent.review.flexible[0].name"),
])
def test_a_key_given_twice_is_refused(tmp_path: Path, old: str, new: str, key: str) -> None:
    text = SHANXI.read_text(encoding="utf-8")
    assert text.count(old) == 1
    path = tmp_path / "twice.json"
    path.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(ValueError) as caught:
        load_programmes(str(path))
    assert str(caught.value).startswith(f"{path}: {key}: given twice"), str(caught.value)


@pytest.mark.parametrize(("text", "problem"), [
    ('{"version": "2026-12-v1",', "not valid JSON"),
    ("[]", "must be an object"),
])
def test_a_file_that_is_not_a_programme_object(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "broken.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=f"^{re.escape(str(path))}: \\(top level\\): {problem}"):
        load_programmes(str(path))


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^data/programmes/atlantis\.json: .*no such programme file"):
        load_programmes("atlantis")
    with pytest.raises(ValueError, match=f"^{re.escape(str(tmp_path))}/none\\.json: "):
        load_programmes(str(tmp_path / "none.json"))


def test_a_mode_no_programme_marks_as_open_has_no_default(tmp_path: Path) -> None:
    raw = json.loads(SHANXI.read_text(encoding="utf-8"))
    raw["programmes"]["tech_vp_programme"]["demand_must_belong"] = True
    del raw["default_programme"]["tech_vp"]
    path = tmp_path / "enrolled.json"
    path.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    loaded = load_programmes(str(path))
    assert loaded.default_for(TECH_VP) is None and [p.key for p in loaded.for_mode(TECH_VP)] == ["tech_vp_programme"]
    del raw["default_programme"]  # the one open programme of a mode is its default without being named
    path.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    found = load_programmes(str(path)).default_for(DUAL_APPOINTMENT)
    assert found is not None and found.key == "industry_talent"


# --- the deployment's file ------------------------------------------------------------------------------

@pytest.fixture()
def clean_settings() -> Iterator[None]:
    get_settings.cache_clear()
    programmes_module._programmes.cache_clear()
    yield
    get_settings.cache_clear()
    programmes_module._programmes.cache_clear()


def test_matcher_programmes_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           clean_settings: None) -> None:
    assert programmes().source == "data/programmes/shanxi.json"  # the default
    raw = json.loads(SHANXI.read_text(encoding="utf-8"))
    raw["time_limits"]["take_up"] = 7
    path = tmp_path / "elsewhere.json"
    path.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    monkeypatch.setenv("MATCHER_PROGRAMMES", str(path))
    get_settings.cache_clear()
    assert programmes().source == str(path)
    assert programmes().time_limit("industry_talent", FLEXIBLE, "take_up") == 7
    assert programmes() is programmes()  # loaded once


@pytest.mark.parametrize(("value", "days"), [(None, 2), ("0", 0), ("5", 5)])
def test_due_soon_days(monkeypatch: pytest.MonkeyPatch, value: str | None, days: int) -> None:
    if value is not None:
        monkeypatch.setenv("MATCHER_DUE_SOON_DAYS", value)
    else:
        monkeypatch.delenv("MATCHER_DUE_SOON_DAYS", raising=False)
    assert Settings().due_soon_days == days


def test_due_soon_days_is_never_negative(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MATCHER_DUE_SOON_DAYS", "-1")
    with pytest.raises(ValueError, match="due_soon_days"):
        Settings()
