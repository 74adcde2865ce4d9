"""The engagement modes, one object each, in one registry: 科技副总, 双聘, 柔性引才 …

A *mode* is the form an engagement takes (code). Everything else that depends on the modes — the
eligibility rules, the sentence that says why a talent fits, the mode's own ranking features, the
learner's one-hot columns, request-schema bounds, defaults, console lists, import labels, the modes the
consent text names — reads this registry, so a new mode is one ``EngagementMode`` and one ``register``
call (see README "Adding a mode"). A *programme* (a policy scheme with review steps, time limits and
reward rules) is configuration, not a mode.

Rules take plain facts (``domain/facts.py``) and a context holding the region's geography; they return
the reason a talent is excluded (Chinese, shown to users), or None.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from matcher.domain.facts import DemandFacts, TalentFacts
from matcher.domain.vocabulary import LABELS, InstitutionType, TitleLevel


class RuleContext(Protocol):
    """What a rule may know beyond the facts: the provinces near enough for on-site service."""

    @property
    def near_regions(self) -> tuple[str, ...]: ...


Rule = Callable[[DemandFacts, TalentFacts, RuleContext], "str | None"]


@dataclass(frozen=True)
class ModeFeature:
    """A ranking feature only this mode has (e.g. 科技副总: posts already held). ``value`` is the learner's
    input; the hand score adds ``sign × weight × value``, the weight read from the ranking's configuration
    by ``weight_key`` (so it is tuned beside the other weights)."""

    name: str
    label: str
    value: Callable[[DemandFacts, TalentFacts], float]
    weight_key: str
    sign: float = 1.0


@dataclass(frozen=True)
class EngagementMode:
    code: str
    label: str  # what users read: 科技副总
    rules: tuple[Rule, ...]  # this mode's eligibility, after the rules every mode shares (``COMMON_RULES``)
    fit: Callable[[TalentFacts, int], str]  # why the talent fits, given their free capacity in the mode
    demand_rule: Callable[[DemandFacts], str | None] | None = None  # excludes every talent from a demand
    features: tuple[ModeFeature, ...] = ()
    default_capacity: int = 1  # an import cell naming the mode without a number means this capacity
    description: str = ""

    def free(self, t: TalentFacts) -> int:
        return free(t, self.code)


def free(t: TalentFacts, mode: str) -> int:
    return t.mode_capacity.get(mode, 0) - t.load.get(mode, 0)


def _who(t: TalentFacts) -> str:
    return f"{LABELS.get(t.institution_type, t.institution_type)}·{LABELS.get(t.title_level, t.title_level)}"


def _academic(t: TalentFacts) -> bool:
    return t.institution_type in (InstitutionType.UNIVERSITY, InstitutionType.INSTITUTE)


def willing(code: str, unwilling: str, full: str) -> Rule:
    """The talent said they would serve in this mode, and has capacity left in it."""

    def rule(d: DemandFacts, t: TalentFacts, ctx: RuleContext) -> str | None:
        if t.mode_capacity.get(code, 0) <= 0:
            return unwilling
        if free(t, code) <= 0:
            return full
        return None

    return rule


# ------------------------------------------------------------------ rules every mode shares
def not_own_employer(d: DemandFacts, t: TalentFacts, ctx: RuleContext) -> str | None:
    if d.enterprise_id is not None and t.employer_enterprise_id == d.enterprise_id:
        return "人才为发榜企业本单位人员（利益冲突）"
    if t.id in d.declined_talent_ids:
        return "人才已婉拒该需求"
    return None


def no_conflict_of_interest(d: DemandFacts, t: TalentFacts, ctx: RuleContext) -> str | None:
    """A declared relation ties the talent, or the talent's university or institute, to the demand's
    enterprise (``domain/conflicts.py``: founded, shares, employment, a family member's post). The demand's
    facts carry the reasons, computed per demand from the relations, so the rule is a lookup."""
    return d.conflicted_talents.get(t.id)


def available(d: DemandFacts, t: TalentFacts, ctx: RuleContext) -> str | None:
    today = date.today()
    if t.available_from is not None and today < t.available_from:
        return f"本人{t.available_from.isoformat()}起方可服务"
    if t.available_until is not None and today > t.available_until:
        return f"本人可服务时间已于{t.available_until.isoformat()}结束"
    return None


COMMON_RULES: tuple[Rule, ...] = (not_own_employer, no_conflict_of_interest, available)


def consented_to(code: str, label: str) -> Rule:
    """The talent's consent to be proposed names this mode (a consent given under an older text that did
    not name a newer mode does not cover it until the talent consents again: ``domain/privacy.py``)."""

    def rule(d: DemandFacts, t: TalentFacts, ctx: RuleContext) -> str | None:
        if t.consented_modes is not None and code not in t.consented_modes:
            return f"本人同意被推荐的范围不含{label}（待本人按新版授权书重新同意）"
        return None

    return rule


# ------------------------------------------------------------------ the built-in modes
TECH_VP, DUAL_APPOINTMENT, FLEXIBLE = "tech_vp", "dual_appointment", "flexible"


def _tech_vp_academic(d: DemandFacts, t: TalentFacts, ctx: RuleContext) -> str | None:
    if not _academic(t):
        return "科技副总须来自高校或科研院所"
    if t.title_level not in (TitleLevel.SENIOR, TitleLevel.ASSOCIATE):
        return "科技副总须具有正高或副高职称"
    return None


def _near(d: DemandFacts, t: TalentFacts, ctx: RuleContext) -> str | None:
    if t.in_province or any(t.city.startswith(r) for r in ctx.near_regions):
        return None
    return "科技副总须在省内或周边地区，便于驻企服务"


def _dual_academic(d: DemandFacts, t: TalentFacts, ctx: RuleContext) -> str | None:
    return None if _academic(t) else "双聘须为高校或科研院所科研人员"


def _host(d: DemandFacts) -> str | None:
    return None if d.can_host_joint_post else "发榜企业暂不具备设立双聘岗位的条件"


def _host_rule(d: DemandFacts, t: TalentFacts, ctx: RuleContext) -> str | None:
    return _host(d)


def _flexible_fit(t: TalentFacts, left: int) -> str:
    forms = "、".join(LABELS.get(f, f) for f in t.flexible_forms) or "柔性服务"
    where = "省内" if t.in_province else "省外"
    return f"{where}{_who(t)}，可提供{forms}，剩余名额{left}"


BUILT_IN: tuple[EngagementMode, ...] = (
    EngagementMode(
        TECH_VP, "科技副总",
        rules=(_tech_vp_academic, willing(TECH_VP, "本人未表示愿意担任科技副总", "科技副总名额已满"), _near),
        fit=lambda t, left: f"{_who(t)}，愿任科技副总，剩余名额{left}",
        features=(ModeFeature("load", "已在其他单位任职",
                              lambda d, t: float(t.load.get(TECH_VP, 0) + t.external_engagements),
                              "tech_vp_load_penalty", sign=-1.0),),
        description="高校、科研院所正高/副高人员到企业兼任科技副总，驻企服务"),
    EngagementMode(
        DUAL_APPOINTMENT, "双聘",
        rules=(_dual_academic, _host_rule, willing(DUAL_APPOINTMENT, "本人未表示愿意双聘", "双聘名额已满")),
        fit=lambda t, left: f"{_who(t)}，愿意校企双聘，剩余名额{left}",
        demand_rule=_host, description="高校、科研院所人员与具备条件的企业双向聘任"),
    EngagementMode(
        FLEXIBLE, "柔性引才",
        rules=(willing(FLEXIBLE, "本人未表示接受柔性引才", "柔性服务名额已满"),),
        fit=_flexible_fit, description="顾问指导、短期兼职、项目合作、候鸟服务等柔性方式"),
)

#: The mode a new demand wants when it names none, and the mode the relevance sets are ranked in (its only
#: rule is the talent's own willingness, so it compares expertise with the fewest rules in the way).
DEFAULT = FLEXIBLE
EVALUATION_MODE = FLEXIBLE


@dataclass
class _Registry:
    modes: dict[str, EngagementMode] = field(default_factory=dict)
    chains: dict[str, tuple[Rule, ...]] = field(default_factory=dict)  # every rule a mode applies, in order

    def register(self, mode: EngagementMode) -> EngagementMode:
        if not mode.code.isidentifier() or len(mode.code) > 20:
            raise ValueError(f"mode code '{mode.code}' must be an identifier of at most 20 characters")
        if mode.code in self.modes:
            raise ValueError(f"mode '{mode.code}' is registered already")
        self.modes[mode.code] = mode
        self.chains[mode.code] = (*COMMON_RULES, consented_to(mode.code, mode.label), *mode.rules)
        return mode

    def unregister(self, code: str) -> None:
        self.modes.pop(code, None)
        self.chains.pop(code, None)


_REGISTRY = _Registry()
for _m in BUILT_IN:
    _REGISTRY.register(_m)


def register(mode: EngagementMode) -> EngagementMode:
    """Add a mode for this process (a deployment does it at import of its configuration module)."""
    return _REGISTRY.register(mode)


@contextmanager
def registered(mode: EngagementMode) -> Iterator[EngagementMode]:
    """A mode registered for the duration of a block (tests; a trial of a new mode)."""
    register(mode)
    try:
        yield mode
    finally:
        _REGISTRY.unregister(mode.code)


def all_modes() -> tuple[EngagementMode, ...]:
    return tuple(_REGISTRY.modes.values())


def codes() -> tuple[str, ...]:
    return tuple(_REGISTRY.modes)


def get(code: str) -> EngagementMode:
    try:
        return _REGISTRY.modes[code]
    except KeyError:
        raise ValueError(f"unknown mode '{code}' (one of {', '.join(codes())})") from None


def is_mode(code: object) -> bool:
    return isinstance(code, str) and code in _REGISTRY.modes


def labels() -> Mapping[str, str]:
    return {m.code: m.label for m in all_modes()}


def parse(raw: str) -> str:
    """A mode code from a cell or a form: the code itself or the Chinese label."""
    text = raw.strip()
    for m in all_modes():
        if text in (m.code, m.label):
            return m.code
    allowed = "、".join(f"{m.code}/{m.label}" for m in all_modes())
    raise ValueError(f"'{raw}' is not one of {allowed}")


def rules(code: str) -> tuple[Rule, ...]:
    """Every rule of the mode, in the order they are checked (the first reason found is shown)."""
    try:
        return _REGISTRY.chains[code]
    except KeyError:
        get(code)  # raises the clear error
        raise


def feature_names() -> tuple[str, ...]:
    """Every mode's own features, in registration order, each once (the learner's columns)."""
    seen: dict[str, None] = {}
    for m in all_modes():
        for f in m.features:
            seen.setdefault(f.name, None)
    return tuple(seen)


def joined_labels(mode_codes: tuple[str, ...] | list[str]) -> str:
    """``科技副总、双聘或柔性引才``: the modes as a Chinese list (the consent text names them so)."""
    names = [get(c).label if is_mode(c) else c for c in mode_codes]
    return names[0] if len(names) == 1 else "、".join(names[:-1]) + "或" + names[-1]
