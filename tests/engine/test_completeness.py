"""The completeness check on plain mappings: what counts as each element (in its field or in the
description), that slogans and filled-in empty talk do not, the hints, monotonicity, hostile input, and
the measured separation of the hand-written good and poor demands (data/eval/demand_quality)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import date, datetime

import pytest

from matcher.engine.completeness import LABELS, THRESHOLD, WEIGHTS, Completeness, assess
from matcher.tools import completeness_eval as ev

# (name, fields, element, expected present, expected where)
TARGET, NOW, SITE, FIELD, DESC = "target_indicators", "current_state", "site_conditions", "field", "description"
CASES: list[tuple[str, dict[str, object], str, bool, str | None]] = [
    # target indicators: a comparison tied to a number
    ("target from-to in its field", {"target_indicators": "产品收率由85%提高到92%"}, TARGET, True, FIELD),
    ("target ≤ with unit in description", {"description": "要求NOx排放浓度≤50mg/m³"}, TARGET, True, DESC),
    ("target 不低于 percentage", {"description": "产品纯度不低于99.5%。"}, TARGET, True, DESC),
    ("target number with unit 以上", {"description": "寿命达到2500小时以上"}, TARGET, True, DESC),
    ("full-width digits and signs", {"description": "收率提高到９２％以上"}, TARGET, True, DESC),
    ("slogan target in field does not count", {"target_indicators": "达到国内领先水平，全面提升产品质量"},
     TARGET, False, None),
    ("slogans in description do not count", {"description": "全面提升、行业领先、智能化转型、提质增效"},
     TARGET, False, None),
    ("company figures are not targets", {"description": "公司成立于2003年，注册资本5000万元，销售收入达到18亿元"},
     TARGET, False, None),
    ("a budget ceiling is not a target", {"description": "预算60万元以内"}, TARGET, False, None),
    ("a date is not a target", {"description": "希望2027年6月前完成"}, TARGET, False, None),
    ("vague field, specific description", {"target_indicators": "大幅提升", "description": "良率从62%提升到80%"},
     TARGET, True, DESC),
    # current state: the present situation with a value or a process fact, or what was tried
    ("current state in its field", {"current_state": "目前采用湿法纺丝，凝固浴温度控制精度±2℃"}, NOW, True, FIELD),
    ("current state in description", {"description": "现有背钻机6台，深度补偿靠人工调整"}, NOW, True, DESC),
    ("what was tried counts", {"description": "已更换过喷丝板，效果有限"}, NOW, True, DESC),
    ("a measured present value counts", {"description": "返修率约18%"}, NOW, True, DESC),
    ("empty talk about the present does not", {"current_state": "目前公司发展良好，技术力量较强"}, NOW, False, None),
    ("head count is not the current state", {"description": "现有员工1200人"}, NOW, False, None),
    # site conditions: data, samples, equipment, place, working conditions
    ("data available in its field", {"site_conditions": "可提供近3年DCS历史数据"}, SITE, True, FIELD),
    ("counted equipment in description", {"description": "车间有焊接机器人8台"}, SITE, True, DESC),
    ("a place", {"description": "装置在介休"}, SITE, True, DESC),
    ("praise of the site does not count", {"site_conditions": "公司条件优越，环境良好，领导高度重视"},
     SITE, False, None),
    ("generic facilities do not count", {"description": "拥有先进的生产设备和洁净车间"}, SITE, False, None),
    # the problem: a specific symptom
    ("a symptom in the title", {"title": "甲醇合成催化剂寿命短"}, "problem", True, "description"),
    ("a generic difficulty does not count", {"description": "解决生产中遇到的技术难题"}, "problem", False, None),
    # budget, modes, deadline: the field or the text
    ("budget field", {"budget_min": 30, "budget_max": 50}, "budget", True, "field"),
    ("budget as text in the field", {"budget_max": "60万元"}, "budget", True, "field"),
    ("budget in description", {"description": "预算40～60万元"}, "budget", True, "description"),
    ("zero, NaN and inf are no budget", {"budget_min": 0, "budget_max": float("nan"), "description": "费用面议"},
     "budget", False, None),
    ("mode codes", {"modes": ["tech_vp", "flexible"]}, "modes", True, "field"),
    ("mode labels in one cell", {"modes": "双聘;柔性引才"}, "modes", True, "field"),
    ("a flexible form by its label", {"modes": ["候鸟服务"]}, "modes", True, "field"),
    ("mode in description", {"description": "希望以项目合作方式开展"}, "modes", True, "description"),
    ("unknown mode", {"modes": ["anything"]}, "modes", False, None),
    ("deadline date", {"deadline": date(2027, 6, 30)}, "deadline", True, "field"),
    ("deadline datetime", {"deadline": datetime(2027, 6, 30, 12, 0)}, "deadline", True, "field"),
    ("deadline text", {"deadline": "2027-06-30"}, "deadline", True, "field"),
    ("duration months", {"duration_months": 12}, "deadline", True, "field"),
    ("deadline in description", {"description": "2027年6月底前完成"}, "deadline", True, "description"),
    ("a deadline without a date", {"deadline": "尽快"}, "deadline", False, None),
]


@pytest.mark.parametrize(("fields", "name", "present", "where"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_element_detection(fields: dict[str, object], name: str, present: bool, where: str | None) -> None:
    element = assess(fields).element(name)
    assert element.present is present, element
    assert element.where == where
    assert bool(element.evidence) is present


def test_evidence_is_the_snippet_that_counted() -> None:
    c = assess({"description": "温度夏季达到85℃报警值，目标：温升降低8℃以上"})
    assert "降低8℃以上" in c.element("target_indicators").evidence  # the comparison, not "达到85℃" (today's value)
    assert c.element("budget").evidence == ""
    assert assess({"budget_min": 30, "budget_max": 50}).element("budget").evidence == "预算 30～50 万元"


FULL: dict[str, object] = {
    "title": "镁合金压铸件气孔率高",
    "description": "方向盘骨架压铸，X射线检测气孔不合格率约9%。",
    "current_state": "目前采用AM60B合金，800吨冷室压铸机，模温180℃左右；已试过提高压射速度。",
    "target_indicators": "气孔不合格率降低到3%以下。",
    "site_conditions": "有X射线探伤机和压铸机数据采集系统，可提供模具图纸。",
    "budget_min": 20, "budget_max": 40, "modes": ["flexible"], "deadline": "2027-02-01",
}
ADDITIONS: dict[str, dict[str, object]] = {
    "problem": {"title": FULL["title"]},
    "current_state": {"current_state": FULL["current_state"]},
    "target_indicators": {"target_indicators": FULL["target_indicators"]},
    "site_conditions": {"site_conditions": FULL["site_conditions"]},
    "budget": {"budget_min": 20, "budget_max": 40},
    "modes": {"modes": ["flexible"]},
    "deadline": {"deadline": "2027-02-01"},
}


def test_a_complete_demand_scores_full_and_passes() -> None:
    c = assess(FULL)
    assert isinstance(c, Completeness)
    assert c.score == 100 and c.ready and c.hints == () and c.missing == ()
    assert {e.name for e in c.elements} == set(WEIGHTS) and sum(WEIGHTS.values()) == 100


def test_hints_name_every_missing_element_in_chinese() -> None:
    c = assess({})
    assert c.score == 0 and not c.ready and set(c.missing) == set(WEIGHTS)
    assert len(c.hints) == len(WEIGHTS)
    for name, label in LABELS.items():
        assert any(label in h for h in c.hints), name
    assert "可量化的目标指标" in c.hints[0]  # the heaviest element is named first
    vague = assess({**FULL, "target_indicators": "达到国内领先水平"})
    assert vague.missing == ("target_indicators",)
    assert vague.hints[0].startswith("“目标指标”一栏没有可量化的数值")


def test_boilerplate_costs_points_and_is_named() -> None:
    slogans = "全面推进数字化转型，打造行业领先的智慧工厂，实现高质量发展，助力企业跨越式发展。" * 10
    plain = assess({"description": "需要专家", "budget_min": 50, "modes": ["tech_vp"], "deadline": "2027-06-30"})
    long_vague = assess({"description": slogans, "budget_min": 50, "modes": ["tech_vp"], "deadline": "2027-06-30"})
    assert long_vague.score < plain.score < THRESHOLD
    assert "数字化转型" in long_vague.boilerplate
    assert any("口号" in h for h in long_vague.hints)


@pytest.mark.parametrize("order", [list(WEIGHTS), list(reversed(WEIGHTS)),
                                   ["modes", "target_indicators", "budget", "problem", "deadline", "site_conditions",
                                    "current_state"]])
def test_score_rises_with_each_element_added(order: list[str]) -> None:
    fields: dict[str, object] = {"description": "方向盘骨架压铸。"}
    previous = assess(fields)
    for name in order:
        fields.update(ADDITIONS[name])
        current = assess(fields)
        assert current.element(name).present, name
        assert current.score > previous.score, name
        previous = current
    assert previous.score == 100


def test_no_demand_passes_without_a_measurable_target() -> None:
    """The threshold sits above everything but the target (THRESHOLD's rule)."""
    assert sum(WEIGHTS.values()) - WEIGHTS["target_indicators"] < THRESHOLD
    c = assess({k: v for k, v in FULL.items() if k != "target_indicators"})
    assert not c.ready and c.missing == ("target_indicators",)
    assert assess(FULL, threshold=50).threshold == 50


@pytest.mark.parametrize("fields", [
    {},
    {"title": None, "description": None, "current_state": None, "budget_min": None, "modes": None, "deadline": None},
    {"description": "", "modes": [], "budget_min": ""},
    {"description": 12345, "title": 3.5, "modes": 7, "budget_min": True, "budget_max": float("inf"), "deadline": 0},
    {"description": "目前\x00采用\x07湿法\x1b纺丝，收率由85%\x0c提高到92%\x7f", "title": "\x00\x1f"},
    {"description": ["目前采用湿法纺丝", None, 3], "modes": [["tech_vp"], None, 5], "budget_max": 10**400},
    {"description": "1" * 200_000, "title": "由1" * 50_000, "target_indicators": "达到" + "9" * 100_000},
    {"description": "全面提升，" * 40_000, "current_state": "目前" * 50_000, "site_conditions": "有" * 100_000},
])
def test_hostile_input_is_scored_not_refused(fields: Mapping[str, object]) -> None:
    start = time.perf_counter()
    c = assess(fields)
    assert time.perf_counter() - start < 2.0
    assert 0 <= c.score <= 100 and len(c.elements) == len(WEIGHTS)
    for e in c.elements:
        assert len(e.evidence) <= 80 and not any(ord(ch) < 32 for ch in e.evidence)
    assert all(isinstance(h, str) and h for h in c.hints)


def test_control_characters_do_not_hide_a_target() -> None:
    assert assess({"description": "收率由85%\x00提高到92%"}).element("target_indicators").present


def test_the_split_is_fixed_and_stratified() -> None:
    examples = ev.load()
    dev, test = ev.split(examples)
    assert len(examples) == 40 and len({e.id for e in examples}) == 40
    assert sum(e.good for e in dev) == sum(e.good for e in test) == 10 and len(dev) == len(test) == 20
    assert [e.id for e in ev.split(examples)[0]] == [e.id for e in dev]
    assert {e.id for e in dev} & {e.id for e in test} == set()


def test_accuracy_on_the_hand_written_set_and_the_baselines_fail() -> None:
    """Measured (data/eval/README.md): the check separates all 40 (dev 20/20, test 20/20); characters ≥ the
    dev median 0.675 and filled fields ≥ 3 0.55 on the whole set — counting either is not enough."""
    results = ev.run()
    check, chars, filled = (results["all"][k] for k in results["all"])
    assert check["accuracy"] >= 1.0, check
    assert results["test"][next(iter(results["test"]))]["accuracy"] >= 1.0
    assert chars["accuracy"] < 0.9 and filled["accuracy"] < 0.9
    assert chars["accuracy"] < check["accuracy"] and filled["accuracy"] < check["accuracy"]
