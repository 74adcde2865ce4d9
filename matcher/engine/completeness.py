"""Is a demand worth posting? A completeness check that rewards substance, not length.

An expert deciding whether to take a demand up needs seven things (the programme's rules): the problem,
the current state (process, parameters, what was tried), measurable target indicators, the site
conditions (equipment, data, samples, working conditions), the budget, the wanted engagement mode and
a deadline. Enterprises often post instead a page of slogans (全面提升、行业领先、智能化转型…) or
fill every form field with empty talk (“达到国内领先水平”). Counting characters or filled fields
rewards exactly that, so each element here is *present* only when its substance is found — in its
structured field or, failing that, in the description:

- target indicators: a comparison tied to a number (≥85%, 降低至3%以下, 由62%提升到80%, 不超过15%);
- current state: a present-tense marker (目前/现有/当前/现用…) with a value or a process fact, a measured
  value (约18%、平均4.6GPa), a from–to pair, or what was tried (已试过、更换过、效果有限);
- site conditions: something an expert can use or must work with — data, records, samples, named or
  counted equipment, a place, a stop window, measured working conditions — not “条件优越”;
- the problem: a specific symptom (偏高、超标、气孔、断齿、漏检…), not “技术难题”;
- budget, mode, deadline: the structured field, or an amount / a mode's name / a date in the text.

Sentences describing the company (成立于、注册资本、销售收入…) are not evidence of anything: a profile
full of numbers says nothing about the problem. Boilerplate-only clauses (a slogan with no number)
cost points, capped, so a long vague text scores lower than a short vague one, never higher.

Why a rule-based scorer with hand-set weights and not a learned one: the development half of the
hand-written set (``data/eval/demand_quality``) has 20 demands; a logistic regression over seven nearly
separating binary features would give unstable, unbounded weights (and learn whatever accident the 20
share, e.g. that poor ones lack a budget), while an official and an enterprise must be able to read
why a demand scored what it did. The weights say what matters to an expert (the substance: 77 of 100;
the administrative fields: 23 — so a demand with every administrative field filled but no substance
cannot pass), and the threshold was set on the development half (``matcher.tools.completeness_eval``).

Plain data in, plain data out: no database, no services. Any mapping of field name to value works
(a request body, a stored row as a dict, an import row); missing keys, ``None``, numbers, lists, control
characters and very long text are all accepted.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Literal

from matcher.domain import modes
from matcher.domain.vocabulary import LABELS as VALUE_LABELS
from matcher.domain.vocabulary import FlexibleForm

#: Below this score a demand goes to an official's 待完善 queue instead of the board (a setting later).
#: Chosen on the development half, whose poor demands scored at most 31 and good ones at least 84: any
#: value in between separates them, so the value is set by rule — above 68, the most a demand can score
#: without a measurable target, so none reaches the board without one.
THRESHOLD = 70

#: Points per element when present (sum 100). Substance first: without a measurable target, a current
#: state and site facts an expert cannot judge fit, whatever else is filled in.
WEIGHTS: Mapping[str, int] = {
    "problem": 9,
    "current_state": 22,
    "target_indicators": 32,
    "site_conditions": 14,
    "budget": 9,
    "modes": 7,
    "deadline": 7,
}
#: Points off per boilerplate-only clause, and at most.
BOILERPLATE_PENALTY = 3
BOILERPLATE_MAX_PENALTY = 15
#: Text read per field (the description's own limit in ``domain/demand.py``): bounds the work on
#: pathological input without changing any real demand's result.
MAX_CHARS = 20_000

LABELS: Mapping[str, str] = {
    "problem": "问题",
    "current_state": "现状",
    "target_indicators": "目标指标",
    "site_conditions": "现场条件",
    "budget": "预算",
    "modes": "引才方式",
    "deadline": "期限",
}

HINTS: Mapping[str, str] = {
    "problem": "请写明要解决的具体问题（如：气化炉细渣残碳偏高、焊缝气孔导致合格率低），不要只写“技术难题”",
    "current_state": "请描述现状：目前的工艺、设备或参数，以及已经尝试过的做法"
                     "（如：目前采用湿法纺丝，强度离散系数约 8%，已更换喷丝板但效果有限）",
    "target_indicators": "请写明可量化的目标指标（如：产品收率由 85% 提高到 92%）",
    "site_conditions": "请说明现场条件：可用的设备、数据、样品和工况"
                       "（如：有近 3 年的 DCS 历史数据，可安排停车检修窗口取样）",
    "budget": "请填写预算（万元），可以是一个范围（如：30～50 万元）",
    "modes": "请选择引才方式：科技副总、双聘或柔性引才（顾问指导、短期兼职、项目合作、候鸟服务）",
    "deadline": "请写明期限：揭榜截止日期或期望完成时间（如：2027 年 6 月底前完成）",
}
#: Said instead of the plain hint when the element's own field was filled but holds no substance.
VAGUE_FIELD: Mapping[str, str] = {
    "current_state": "“现状”一栏没有写出具体的工艺、参数或已做过的尝试。",
    "target_indicators": "“目标指标”一栏没有可量化的数值，“国内领先”“大幅提升”之类不能作为指标。",
    "site_conditions": "“现场条件”一栏没有具体的设备、数据或场地信息，“条件优越”之类不能作为现场条件。",
}

TEXT_FIELD: Mapping[str, str] = {
    "current_state": "current_state",
    "target_indicators": "target_indicators",
    "site_conditions": "site_conditions",
}

Where = Literal["field", "description"]


@dataclass(frozen=True)
class Element:
    """One of the seven things a demand should say; ``where`` and ``evidence`` show why it counted."""

    name: str
    label: str
    present: bool
    where: Where | None  # the structured field, or the description (title included), or not found
    evidence: str  # the snippet (or the field's value) that counted; "" when absent


@dataclass(frozen=True)
class Completeness:
    score: int  # 0–100
    elements: tuple[Element, ...]  # in the order of ``WEIGHTS``
    hints: tuple[str, ...]  # Chinese, one per missing or vague element, then the boilerplate note
    threshold: int = THRESHOLD
    boilerplate: tuple[str, ...] = ()  # the slogan phrases found (they cost points)

    @property
    def ready(self) -> bool:
        """On the board (True) or to the official's 待完善 queue (False)."""
        return self.score >= self.threshold

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(e.name for e in self.elements if not e.present)

    def element(self, name: str) -> Element:
        for e in self.elements:
            if e.name == name:
                return e
        raise KeyError(name)


# ------------------------------------------------------------------------------------------ text
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SENTENCE = re.compile(r"[。；;！!？?\n\r]+")
_CLAUSE = re.compile(r"[，,：:]+")


def _text(value: object) -> str:
    """Any value as bounded text without control characters (lists joined, ``None`` as "")."""
    if value is None:
        return ""
    if isinstance(value, str):
        text = value
    elif isinstance(value, (list, tuple, set, frozenset)):
        text = "；".join(_text(v) for v in value)
    else:
        text = str(value)
    return _CONTROL.sub(" ", text[:MAX_CHARS]).strip()


def _norm(text: str) -> str:
    """Full-width digits, letters and signs as ASCII (６０％ → 60%, ～ → ~, ℃ → °C) for the patterns."""
    return unicodedata.normalize("NFKC", text)


@dataclass(frozen=True)
class _Clause:
    raw: str  # as written, shown as evidence
    norm: str  # NFKC, matched against
    sentence: int


def _clauses(text: str) -> list[_Clause]:
    out = []
    for i, sentence in enumerate(_SENTENCE.split(text)):
        for part in _CLAUSE.split(sentence):
            part = part.strip()
            if part:
                out.append(_Clause(part, _norm(part), i))
    return out


def _snippet(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ------------------------------------------------------------------------------------------ patterns
_NUM = r"\d+(?:\.\d+)?"
#: Put before a number a pattern may start at: it then starts only at a number's first digit (linear time on
#: a clause of 20,000 digits instead of quadratic).
_AT_NUMBER = r"(?<![\d.])"


def _words(*groups: str) -> str:
    """An alternation of the space-separated words (longest first, so 万吨 is tried before 吨)."""
    words = {w for g in groups for w in g.split()}
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_UNIT = _words("个百分点 % ‰ ppm ppb °C ℃ K GPa MPa kPa Pa nm μm um mm cm km m mil kg g t 万吨 吨",
               "Nm3/h m3/h m3 L MW kW kWh mW W kV V mA A Hz dB 小时 h 分钟 min 秒 s 天 周 个月 月 年",
               "次 个 台 套 条 组 根 片 件 层 段 元 万元 倍 级 I")
#: A number with a unit or a percentage (a range counts once): 25%~30%, 0.8%, 1350°C, 2万Nm3/h, 5000小时.
_QUANTITY = re.compile(rf"(?<![A-Za-z\d.]){_NUM}\s*(?:[~\-–—]\s*{_NUM}\s*)?(?:万|千)?\s*(?:{_UNIT})")
_YEAR = re.compile(r"(?:19|20)\d\d\s*年")
_ANY_DIGIT = re.compile(r"\d")

#: A comparison a target is stated with, followed by the number it compares to.
_TARGET = re.compile(
    r"(?:[≥≤><]|不(?:低于|少于|小于|超过|高于|大于)|(?:提高|提升|增加|降低|减少|缩短|延长|降|升)(?:到|至)?|控制在|少于|低于|"
    r"小于|以内)\s*(?:约|为|在)?\s*" + _NUM)
#: "达到 85°C" is as often today's value (温度达到85°C报警值) as a target: it counts only when nothing stronger does.
_REACH = re.compile(r"达到\s*(?:约)?\s*" + _NUM)
_TARGET_AFTER = re.compile(_AT_NUMBER + _NUM + r"\s*\S{0,4}?(?:以上|以下|以内|之内)")
_FROM_TO = re.compile(r"(?:由|从)\s*" + _NUM + r"\S{0,12}?(?:到|至|提高|提升|降低|降到|升至|降至)\s*" + _NUM)
_MONEY_CONTEXT = re.compile(_words("预算 经费 资金 报酬 酬金"))

#: The present situation: a marker of the present or of what was tried, then a value or a process fact.
_NOW = re.compile(r"近\d+年|" + _words("目前 现有 现在 现用 现行 当前 现状 现阶段 现采用 长期 平均 实际 一直",
                                        "每班 每月 每天 近一年 已有"))
_TRIED = re.compile(
    r"已(?:试|经试|尝试|更换|排查|加装|采用|改造|做过)|曾(?:试|用|采用|怀疑)|效果(?:有限|不明显|不佳)|未(?:投用|监测|做)|"
    r"靠(?:人工|经验|操作工)|人工(?:巡检|挑选|调整|取样)|" + _words("试过 尝试过 更换过 排查过 不明显 未找到原因"))
_PROCESS = re.compile(_words("采用 使用 工艺 流程 设备 系统 装置 合金 轧机 压铸 焊 纺丝 人工 经验 手调 投油",
                             "检测 监测 传感器 巡检"))
_MEASURED = re.compile(_words("约 左右 平均 只有 仅 长期 经常 达 为 高约 低于设计 比同"))

#: Site facts an expert can use or must work with.
_AVAILABLE = re.compile(_words("有 配有 配备 具备 可提供 提供 可安排 可安装 可做 可以做 可登机",
                               "可在 采集 存档 可导出 可进行"))
_SITE_OBJECT = re.compile(_words("数据 记录 日志 报告 图纸 底片 样品 样本 实物 化验室 试验箱 试验线",
                                 "中试线 强力仪 探伤机 检测设备 检测仪 测试 监测 机器人 相机 电源",
                                 "以太网 气象站 采集系统 计算书 失效件 检修 停机 停车"))
_ACRONYM = re.compile(r"(?<![A-Za-z])[A-Z][A-Z0-9\-]{1,}(?![a-z])")
_COUNTED_KIT = re.compile(_AT_NUMBER + _NUM + r"\s*(?:台|套|条|座)")
_PLACE = re.compile(r"(?:厂区|装置|工厂|车间|电站|工艺线|生产线|矿井|现场|项目)(?:位于|在)")
_CONDITION = re.compile(_words("湿度 环境温度 粉尘 海拔 井下 防爆 露天 高寒 腐蚀性"))

_SYMPTOM = re.compile(_words(
    "偏高 偏低 偏大 偏小 过高 过低 超标 超限 不合格 合格率 不良 缺陷 故障 失效 腐蚀 磨损 断齿 断裂 开裂 裂纹",
    "泄漏 堵塞 结垢 结焦 积灰 气孔 划伤 点蚀 起皮 下降 不足 波动 离散 异常 不稳定 寿命短 效率低 回收率",
    "无法 不能 漏检 停产 退货 返修 报警 卡死 撕裂 压降 温升 残碳 缺陷密度 按经验 靠经验 凭经验 依赖人工 靠人工"))

_PROFILE = re.compile(_words("成立于 注册资本 员工 职工 销售收入 营业收入 产值 利税 占地 总资产 纳税",
                             "高新技术企业 专精特新 上市公司 荣获"))

#: Slogans that say nothing an expert can act on (a clause made of them with no number is boilerplate).
_BOILERPLATE = re.compile(_words(
    "全面提升 全面推进 全方位 全流程 行业领先 国内领先 国际领先 国内一流 国际一流 国际先进 国内先进 行业标杆 打造",
    "高质量发展 提质增效 降本增效 提质升级 转型升级 智能化转型 数字化转型 跨越式发展 核心竞争力 深度融合 新台阶 示范",
    "智力支持 保驾护航 卡脖子 揭榜挂帅 贯彻落实 创新驱动 赋能 新一代信息技术 高端化 多元化 低碳化 新的经济增长点",
    "有待提高 条件优越 高度重视 技术力量较强 基础扎实 提升空间 大幅提升 显著提升 进一步 着力 助力 先进、实用",
    "机遇和挑战 长治久安 生命线 诚邀 诚聘 竞争力"))

_BUDGET_TEXT = re.compile(r"(?:预算|经费|资金|报酬|酬金|费用)\D{0,8}?" + _NUM + r"\s*(?:[~\-–—]\s*" + _NUM +
                          r"\s*)?(?:万元|万|元)")
_MODE_WORDS = ("科技副总", "双聘", "柔性引才", "顾问指导", "顾问方式", "短期兼职", "兼职", "项目合作", "候鸟")
_DEADLINE_TEXT = re.compile(
    r"(?:19|20)\d\d\s*年\s*\d{1,2}\s*月|\d{1,2}\s*月(?:底|份|前|中旬|上旬|下旬)|年底前|年内|截止|期限|周期\s*\d+|"
    + _AT_NUMBER + r"\d+\s*个月内|" + _AT_NUMBER + _NUM + r"(?:\s*[~\-–—]\s*" + _NUM + r")?\s*年(?:内|时间内)")


def _quantities(norm: str) -> list[str]:
    return [m.group() for m in _QUANTITY.finditer(norm) if not _YEAR.fullmatch(m.group().strip())]


def _target_strength(clause: _Clause) -> int:
    """2: a comparison with a number; 1: only "达到 <number>"; 0: no target."""
    norm = clause.norm
    if _MONEY_CONTEXT.search(norm):  # "预算60万元以内" is a budget, not a target
        return 0
    for strength, patterns in ((2, (_TARGET, _TARGET_AFTER, _FROM_TO)), (1, (_REACH,))):
        if any(not _YEAR.search(m.group()) for p in patterns for m in p.finditer(norm)):
            return strength
    return 0


def _is_target(clause: _Clause) -> bool:
    return _target_strength(clause) > 0


def _is_current(clause: _Clause, following: _Clause | None) -> bool:
    norm = clause.norm
    if _TRIED.search(norm) or _FROM_TO.search(norm):
        return True
    if _NOW.search(norm):
        window = norm + ("" if following is None else following.norm)
        if _quantities(window) or _PROCESS.search(window):
            return True
    # a measured present value stated plainly: 返修率约18%、合格率目前88%、寿命约2年
    return bool(_quantities(norm) and _MEASURED.search(norm) and not _is_target(clause))


def _is_site(clause: _Clause) -> bool:
    norm = clause.norm
    if _PLACE.search(norm):
        return True
    if _CONDITION.search(norm) and _quantities(norm):
        return True
    if not _AVAILABLE.search(norm):
        return False
    return bool(_SITE_OBJECT.search(norm) or _ACRONYM.search(norm) or _COUNTED_KIT.search(norm))


def _is_problem(clause: _Clause) -> bool:
    return bool(_SYMPTOM.search(clause.norm))


def _is_boilerplate(clause: _Clause) -> bool:
    return bool(_BOILERPLATE.search(clause.norm)) and not _ANY_DIGIT.search(clause.norm)


def _substantive(clauses: list[_Clause]) -> list[_Clause]:
    """Clauses that may carry evidence: not the company's profile, not slogans."""
    return [c for c in clauses if not _PROFILE.search(c.norm) and not _is_boilerplate(c)]


def _first(clauses: list[_Clause], test: str) -> _Clause | None:
    if test == "target_indicators":  # the strongest statement of a target is the evidence shown
        best = max(clauses, key=_target_strength, default=None)
        return best if best is not None and _target_strength(best) > 0 else None
    for i, c in enumerate(clauses):
        if test == "current_state":
            nxt = clauses[i + 1] if i + 1 < len(clauses) and clauses[i + 1].sentence == c.sentence else None
            if _is_current(c, nxt):
                return c
        elif _DETECTORS[test](c):
            return c
    return None


_DETECTORS = {
    "target_indicators": _is_target,
    "site_conditions": _is_site,
    "problem": _is_problem,
}


# ------------------------------------------------------------------------------------------ fields
def _number(value: object) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(_norm(_text(value)).replace("万元", "").replace("万", "")) if isinstance(value, str) \
            else float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) and number > 0 else None


def _budget_field(fields: Mapping[str, object]) -> str:
    low, high = _number(fields.get("budget_min")), _number(fields.get("budget_max"))
    if low is None and high is None:
        return ""
    if low is not None and high is not None and low != high:
        return f"预算 {low:g}～{high:g} 万元"
    return f"预算 {(high if high is not None else low):g} 万元"


def _mode_values(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield from (p for p in re.split(r"[;；,，、\s]+", value) if p)
    elif isinstance(value, Iterable):
        for v in value:
            yield from _mode_values(v)


_FORM_LABELS = frozenset(VALUE_LABELS[f] for f in FlexibleForm)


def _modes_field(fields: Mapping[str, object]) -> str:
    found = []
    for raw in _mode_values(fields.get("modes")):
        try:
            found.append(modes.get(modes.parse(_text(raw))).label)
        except ValueError:
            if _text(raw) in _FORM_LABELS:  # a form of 柔性引才 named by its label
                found.append(_text(raw))
    return "、".join(dict.fromkeys(found))


def _deadline_field(fields: Mapping[str, object]) -> str:
    deadline = fields.get("deadline")
    if isinstance(deadline, date):
        return f"截止 {deadline.isoformat()}"
    text = _text(deadline)
    if text and _ANY_DIGIT.search(text):
        return f"截止 {_snippet(text, 30)}"
    months = _number(fields.get("duration_months"))
    return f"周期 {months:g} 个月" if months is not None else ""


# ------------------------------------------------------------------------------------------ assess
def assess(fields: Mapping[str, object], *, threshold: int = THRESHOLD) -> Completeness:
    """Score a demand's completeness (0–100) with the evidence for each element and hints for the rest."""
    title = _text(fields.get("title"))
    description = _text(fields.get("description"))
    body_all = _clauses(title + "\n" + description if title else description)
    body = _substantive(body_all)

    found: dict[str, tuple[Where, str]] = {}
    vague_fields: list[str] = []
    for name, column in TEXT_FIELD.items():
        own = _text(fields.get(column))
        hit = _first(_substantive(_clauses(own)), name) if own else None
        if hit is not None:
            found[name] = ("field", _snippet(hit.raw))
            continue
        if own:
            vague_fields.append(name)
        hit = _first(body, name)
        if hit is not None:
            found[name] = ("description", _snippet(hit.raw))
    problem = _first(body, "problem")
    if problem is not None:
        found["problem"] = ("description", _snippet(problem.raw))

    admin = {"budget": _budget_field(fields), "modes": _modes_field(fields), "deadline": _deadline_field(fields)}
    for name, evidence in admin.items():
        if evidence:
            found[name] = ("field", evidence)
    text_norm = [(c, c.norm) for c in body_all]
    if "budget" not in found:
        hit = next((c for c, n in text_norm if _BUDGET_TEXT.search(n)), None)
        if hit is not None:
            found["budget"] = ("description", _snippet(hit.raw))
    if "modes" not in found:
        hit = next((c for c, n in text_norm if any(w in n for w in _MODE_WORDS)), None)
        if hit is not None:
            found["modes"] = ("description", _snippet(hit.raw))
    if "deadline" not in found:
        hit = next((c for c, n in text_norm if _DEADLINE_TEXT.search(n)), None)
        if hit is not None:
            found["deadline"] = ("description", _snippet(hit.raw))

    slogans: list[str] = []
    for sources in [body_all, *(_clauses(_text(fields.get(col))) for col in TEXT_FIELD.values())]:
        slogans += [c.raw for c in sources if _is_boilerplate(c)]
    phrases = tuple(dict.fromkeys(m.group() for s in slogans for m in _BOILERPLATE.finditer(_norm(s))))
    penalty = min(BOILERPLATE_MAX_PENALTY, BOILERPLATE_PENALTY * len(slogans))

    elements = tuple(Element(name, LABELS[name], name in found, found[name][0] if name in found else None,
                             found[name][1] if name in found else "") for name in WEIGHTS)
    raw = sum(WEIGHTS[e.name] for e in elements if e.present) - penalty
    score = max(0, min(100, raw))

    hints: list[str] = []
    for e in sorted(elements, key=lambda e: -WEIGHTS[e.name]):
        if not e.present:
            hints.append((VAGUE_FIELD[e.name] if e.name in vague_fields else "") + HINTS[e.name])
    if slogans:
        shown = "”“".join(phrases[:3])
        hints.append(f"描述中口号式表述较多（如“{shown}”），不能代替具体的问题、现状和指标，请删减或改写为事实和数字")
    return Completeness(score, elements, tuple(hints), threshold, phrases)
