"""Programmes: the policy schemes an engagement is handled under (科技副总, 产业人才对接, 科技特派员,
科技博士服务团 …), as versioned configuration.

A *mode* (``domain/modes.py``) is the form an engagement takes; a *programme* is the scheme whose rules
apply to it: which offices review a match and in what order (review steps, each at an office level of
``domain/offices.py``), which office grades the engagement later, and the time limits of each stage in
working days (``domain/calendar.py`` counts them). Those rules follow policy, not code, so they live in a
JSON file — ``data/programmes/<name>.json``, chosen by ``MATCHER_PROGRAMMES`` the way ``MATCHER_REGION``
chooses the region — and the whole file is checked as it loads: a deployment with an inconsistent file
refuses to start instead of running a workflow nobody configured. Every problem is a ValueError naming the
file and the key path (``data/programmes/shanxi.json: programmes.tech_vp_programme.review.tech_vp[0].level:
unknown office level 'town' …``). The format and the Shanxi file: README "Programmes".

Versions. Every programme carries a ``version`` (``2026-12-v1``: year, month, a counter), and ``(key,
version)`` — ``Programme.identity`` — is what a decision records. Rules are never edited under a version
already used: a change of rules is a new version, so a decision taken under the old rules still names them
(the old file stays in the repository's history). ``Programme.fingerprint`` is a digest of the rules alone,
so a test can hold each released version's digest and fail when rules change without a new version.

Pure: the standard library, the mode registry, the office levels and the settings; no database."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, fields, replace
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from matcher.config import PROJECT_ROOT, get_settings
from matcher.domain import modes
from matcher.domain.offices import LABELS as OFFICE_LABELS
from matcher.domain.offices import OfficeLevel
from matcher.domain.rewards import RewardRule, parse_rules
from matcher.domain.versions import VERSION as _VERSION
from matcher.errors import Invalid
from matcher.reference import shown_path

PROGRAMMES_DIR = PROJECT_ROOT / "data" / "programmes"

# ------------------------------------------------------------------ the words of a review
RECOMMEND, SEND_BACK, APPROVE, REJECT = "recommend", "send_back", "approve", "reject"
#: What a first review (初审) may do: pass the match up, or send it back to the intermediary.
FIRST_ACTIONS: tuple[str, ...] = (RECOMMEND, SEND_BACK)
#: What the final review (终审, or 审核 when it is the only step) may do.
FINAL_ACTIONS: tuple[str, ...] = (APPROVE, REJECT)
ACTIONS: tuple[str, ...] = (*FIRST_ACTIONS, *FINAL_ACTIONS)
#: Actions that stop a match: the intermediary must be told why, so the service asks for a reason.
REASON_REQUIRED: frozenset[str] = frozenset({SEND_BACK, REJECT})

FIRST_REVIEW, FINAL_REVIEW, SOLE_REVIEW = "初审", "终审", "审核"
STEP_NAMES: tuple[str, ...] = (FIRST_REVIEW, FINAL_REVIEW, SOLE_REVIEW)

#: Offices from the lowest up: a review goes up this ladder (or stays on a level), never down.
_SENIORITY: dict[OfficeLevel, int] = {OfficeLevel.COUNTY: 0, OfficeLevel.CITY: 1, OfficeLevel.PROVINCE: 2}
#: The assessment periods a programme may set (``domain/engagements.PERIODS`` holds their lengths).
ASSESSMENT_PERIODS: tuple[str, ...] = ("yearly", "half_yearly", "end")


def needs_reason(action: str) -> bool:
    """Whether taking ``action`` requires a reason (sending back, rejecting)."""
    return action in REASON_REQUIRED


@dataclass(frozen=True)
class TimeLimits:
    """The working days allowed for each stage of a match, in one programme and mode. ``take_up``: from
    posting to 揭榜; ``first_contact``: from shortlisting to the first contact record; ``review``: from
    submission (or from the previous step's recommendation) to each review step's decision, unless the step
    has its own limit; ``reward_decision``: from the reported outcome to the 奖补 decision."""

    take_up: int
    first_contact: int
    review: int
    reward_decision: int

    def of(self, stage: str) -> int:
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r} (one of {', '.join(STAGES)})")
        return int(getattr(self, stage))


#: The stages a time limit applies to, in the order a match goes through them (the fields of ``TimeLimits``).
STAGES: tuple[str, ...] = tuple(f.name for f in fields(TimeLimits))


@dataclass(frozen=True)
class ReviewStep:
    """One office's review of a submitted match: at ``level`` (the enterprise's county or city office, or the
    province), named 初审 / 终审 / 审核, allowing ``actions``, within ``time_limit`` working days of reaching it.
    A step is *final* when it approves or rejects; only the last step of a mode is final."""

    level: OfficeLevel
    name: str
    actions: tuple[str, ...]
    time_limit: int

    @property
    def final(self) -> bool:
        return any(a in FINAL_ACTIONS for a in self.actions)

    def allows(self, action: str) -> bool:
        return action in self.actions

    @property
    def label(self) -> str:
        """What users read: 市级初审, 省级终审."""
        return f"{OFFICE_LABELS[self.level]}{self.name}"


@dataclass(frozen=True)
class ModeRules:
    """A programme's rules for one mode: the review steps in order (the last one approves), the office level
    that grades the engagement later, and the time limits (the file's defaults where the mode gives none)."""

    mode: str
    review: tuple[ReviewStep, ...]
    graded_by: OfficeLevel
    time_limits: TimeLimits
    #: The 奖补 rule of the mode (``domain/rewards.py``); None: the programme pays nothing by rule.
    reward: RewardRule | None = None
    #: How often the engagement is assessed (``domain/engagements.PERIODS``): yearly, half_yearly or end.
    assessment_period: str = "yearly"

    def digest_data(self) -> dict[str, object]:
        """The rules as the fingerprint reads them; the 奖补 rule by its own digest, and the two later
        settings only when given (so a version released before they existed keeps its digest)."""
        out = asdict(replace(self, reward=None))
        del out["reward"], out["assessment_period"]
        if self.reward is not None:
            out["reward"] = self.reward.fingerprint
        if self.assessment_period != "yearly" or self.reward is not None:
            out["assessment_period"] = self.assessment_period
        return out

    @property
    def final_step(self) -> ReviewStep:
        return self.review[-1]


class ProgrammeId(NamedTuple):
    """What a decision records of the programme it was taken under: the rules of that version stay what they
    were, whatever the file says later."""

    key: str
    version: str

    def __str__(self) -> str:
        return f"{self.key}@{self.version}"


@dataclass(frozen=True)
class TeamRule:
    """How many members besides the lead a match of the programme may (and must) name: a 科技博士服务团 is a
    team by definition; elsewhere a lead may bring a few colleagues. Without a rule: none required, at most
    ``DEFAULT_MAX_MEMBERS``."""

    min_members: int = 0
    max_members: int = 0


DEFAULT_MAX_MEMBERS = 10


@dataclass(frozen=True)
class Programme:
    """A policy scheme: its key (stable, English), Chinese label, rules' version, the modes it covers with
    their rules, and whether a demand must have been posted into it (``demand_must_belong``: a programme with
    its own enrolment, such as 科技特派员) or may fall under it when it names no programme (``default_for``)."""

    key: str
    label: str
    version: str
    modes: tuple[str, ...]
    demand_must_belong: bool
    rules: tuple[ModeRules, ...]  # one per mode, in the order of ``modes``
    note: str = ""
    team: TeamRule | None = None  # a match's team members (``services/workflow/teams``)

    @property
    def team_bounds(self) -> tuple[int, int]:
        """(fewest, most) members a match of this programme names besides its lead."""
        if self.team is None:
            return 0, DEFAULT_MAX_MEMBERS
        return self.team.min_members, self.team.max_members

    @property
    def identity(self) -> ProgrammeId:
        return ProgrammeId(self.key, self.version)

    def covers(self, mode: str) -> bool:
        return mode in self.modes

    def rules_for(self, mode: str) -> ModeRules:
        for r in self.rules:
            if r.mode == mode:
                return r
        raise ValueError(f"programme '{self.key}' does not cover mode '{mode}' (it covers {', '.join(self.modes)})")

    @property
    def fingerprint(self) -> str:
        """A digest of the rules alone (modes, membership, review steps, grading, time limits — not the label,
        the note or the version): equal fingerprints mean equal rules, so a released version's digest pins
        its rules and a change under the same version is caught."""
        rules: dict[str, object] = {"modes": self.modes, "demand_must_belong": self.demand_must_belong,
                                    "rules": [r.digest_data() for r in self.rules]}
        if self.team is not None:  # only when given: versions released before teams keep their digest
            rules["team"] = asdict(self.team)
        canonical = json.dumps(rules, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


ProgrammeRef = str | Programme


class ProgrammeSet:
    """The programmes of one file, checked: look-ups by key and by mode, and each rule by programme and mode.
    ``version`` is the file's own, at least that of its newest programme."""

    def __init__(self, source: str, version: str, programmes: tuple[Programme, ...],
                 defaults: Mapping[str, str], time_limits: TimeLimits | None = None,
                 tiers: Mapping[str, str] | None = None) -> None:
        self.source = source
        self.version = version
        #: The talent tiers the deployment's programmes name (英才计划: 杰出, 领军, 青年), code → label, in order.
        self.tiers: dict[str, str] = dict(tiers or {})
        self.time_limits = time_limits or TimeLimits(10, 5, 5, 20)
        self._programmes = {p.key: p for p in programmes}
        self._defaults = dict(defaults)  # mode → programme key (only modes that have a default)

    def __iter__(self) -> Iterator[Programme]:
        return iter(self._programmes.values())

    def __len__(self) -> int:
        return len(self._programmes)

    def __contains__(self, key: object) -> bool:
        return key in self._programmes

    def keys(self) -> tuple[str, ...]:
        return tuple(self._programmes)

    def get(self, key: str) -> Programme:
        try:
            return self._programmes[key]
        except KeyError:
            raise ValueError(f"unknown programme '{key}' (one of {', '.join(self._programmes)})") from None

    def require(self, key: str, field: str = "programme") -> Programme:
        """The programme a request names, or a 422 naming ``field`` (the one message every door gives)."""
        if key not in self._programmes:
            raise Invalid(f"unknown programme '{key}' (one of {', '.join(self._programmes)})", field=field)
        return self._programmes[key]

    def _programme(self, programme: ProgrammeRef) -> Programme:
        return programme if isinstance(programme, Programme) else self.get(programme)

    def for_mode(self, mode: str) -> tuple[Programme, ...]:
        """The programmes covering ``mode``, in the file's order (what a demand in that mode may be posted into)."""
        return tuple(p for p in self._programmes.values() if p.covers(mode))

    def default_for(self, mode: str) -> Programme | None:
        """The programme an engagement in ``mode`` falls under when its demand names none: the file's
        ``default_programme`` entry, else the only covering programme without its own enrolment. None when
        every programme of the mode requires membership (the demand must then name one)."""
        key = self._defaults.get(mode)
        return self._programmes[key] if key is not None else None

    def unconfigured(self, mode: str) -> Programme:
        """The rules of a mode no programme of the file covers (a mode registered after the file was
        written): one 审核 by the province, the file's default time limits, graded by the province — the
        workflow of a deployment without steps, rather than a match nobody may review. Named ``unconfigured``
        so every decision taken under it says so."""
        step = ReviewStep(OfficeLevel.PROVINCE, SOLE_REVIEW, FINAL_ACTIONS, self.time_limits.review)
        rules = ModeRules(mode, (step,), OfficeLevel.PROVINCE, self.time_limits)
        return Programme("unconfigured", "未配置项目", self.version, (mode,), False, (rules,),
                         "no programme of the file covers this mode")

    def review_steps(self, programme: ProgrammeRef, mode: str) -> tuple[ReviewStep, ...]:
        return self._programme(programme).rules_for(mode).review

    def time_limit(self, programme: ProgrammeRef, mode: str, stage: str, step: int | None = None) -> int:
        """Working days allowed for ``stage``. For ``review``, ``step`` (0-based) names the review step, whose
        own limit may differ; without it the mode's limit per step is returned."""
        rules = self._programme(programme).rules_for(mode)
        if step is None:
            return rules.time_limits.of(stage)
        if stage != "review":
            raise ValueError(f"only the review stage has steps, not {stage!r}")
        if not 0 <= step < len(rules.review):
            raise ValueError(f"mode '{mode}' has {len(rules.review)} review step(s), no step {step}")
        return rules.review[step].time_limit

    def grading_level(self, programme: ProgrammeRef, mode: str) -> OfficeLevel:
        return self._programme(programme).rules_for(mode).graded_by


# ------------------------------------------------------------------ reading and checking a file
class _Object(dict[str, object]):
    """A JSON object that remembers keys given twice (``json`` would keep the last one silently)."""

    repeated: tuple[str, ...] = ()


def _object_pairs(pairs: list[tuple[str, object]]) -> _Object:
    obj = _Object(pairs)
    seen: set[str] = set()
    repeated: list[str] = []
    for key, _ in pairs:
        if key in seen:
            repeated.append(key)
        seen.add(key)
    obj.repeated = tuple(repeated)
    return obj


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _version_order(version: str) -> tuple[int, int, int]:
    found = _VERSION.fullmatch(version)
    assert found is not None
    return int(found[1]), int(found[2]), int(found[3])


def _join(at: str, key: str) -> str:
    return f"{at}.{key}" if at else key


class _Reader:
    """Checks one file's values, each failure naming the file and the key path."""

    def __init__(self, shown: str) -> None:
        self.shown = shown

    def fail(self, at: str, problem: str) -> ValueError:
        return ValueError(f"{self.shown}: {at or '(top level)'}: {problem}")

    def mapping(self, value: object, at: str) -> dict[str, object]:
        """An object whose keys are data (programme keys, modes): no key twice."""
        if not isinstance(value, dict):
            raise self.fail(at, f"must be an object, not {_json(value)}")
        if isinstance(value, _Object) and value.repeated:
            raise self.fail(_join(at, value.repeated[0]), "given twice (a duplicate key)")
        return value

    def record(self, value: object, at: str, required: Mapping[str, str], optional: tuple[str, ...] = ()
               ) -> dict[str, object]:
        """An object with known keys: each of ``required`` (key → what it is), any of ``optional``, no other."""
        obj = self.mapping(value, at)
        allowed = (*required, *optional)
        for key in obj:
            if key not in allowed:
                raise self.fail(_join(at, key), f"unknown key (allowed here: {', '.join(allowed)})")
        for key, what in required.items():
            if key not in obj:
                raise self.fail(_join(at, key), f"missing: {what}")
        return obj

    def text(self, value: object, at: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(at, f"must be a non-empty string, not {_json(value)}")
        return value

    def flag(self, value: object, at: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(at, f"must be true or false, not {_json(value)}")
        return value

    def version(self, value: object, at: str) -> str:
        if not isinstance(value, str) or not _VERSION.fullmatch(value):
            raise self.fail(at, f"{_json(value)} is not a version such as \"2026-12-v1\" (year-month-v<counter>)")
        return value

    def days(self, value: object, at: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise self.fail(at, f"must be a whole number of working days, at least 1, not {_json(value)}")
        return value

    def level(self, value: object, at: str) -> OfficeLevel:
        if not isinstance(value, str) or value not in {lv.value for lv in OfficeLevel}:
            raise self.fail(at, f"unknown office level {value!r} (one of {', '.join(OfficeLevel)})")
        return OfficeLevel(value)

    def mode(self, value: object, at: str) -> str:
        if not modes.is_mode(value):
            raise self.fail(at, f"unknown mode {value!r} (one of {', '.join(modes.codes())})")
        assert isinstance(value, str)
        return value

    def own_mode(self, value: str, at: str, covered: tuple[str, ...]) -> str:
        """A key naming one of the programme's own modes."""
        self.mode(value, at)
        if value not in covered:
            raise self.fail(at, f"mode '{value}' is not among the programme's modes ({', '.join(covered)})")
        return value

    def limits(self, value: object, at: str, complete: bool) -> dict[str, int]:
        """Time limits by stage; ``complete``: every stage (the default block), else any of them."""
        obj = self.mapping(value, at)
        for key in obj:
            if key not in STAGES:
                raise self.fail(_join(at, key), f"unknown stage (one of {', '.join(STAGES)})")
        for stage in STAGES if complete else ():
            if stage not in obj:
                raise self.fail(_join(at, stage), "missing: the default block gives every stage a time limit")
        return {stage: self.days(v, _join(at, stage)) for stage, v in obj.items()}

    def steps(self, value: object, at: str, review_days: int) -> tuple[ReviewStep, ...]:
        if not isinstance(value, list):
            raise self.fail(at, f"must be a list of review steps in order, not {_json(value)}")
        if not value:
            raise self.fail(at, "empty: a mode needs at least one review step, the last of which approves")
        out: list[ReviewStep] = []
        for i, raw in enumerate(value):
            where = f"{at}[{i}]"
            obj = self.record(raw, where, {"level": "the office level that reviews (county, city, province)",
                                           "name": f"the step's name ({', '.join(STEP_NAMES)})",
                                           "actions": f"what the step may do ({', '.join(ACTIONS)})"},
                              ("time_limit",))
            level = self.level(obj["level"], f"{where}.level")
            if out and _SENIORITY[level] < _SENIORITY[out[-1].level]:
                raise self.fail(f"{where}.level", f"'{level}' is below the previous step's '{out[-1].level}': a "
                                "review goes up the offices, never down")
            name = obj["name"]
            if name not in STEP_NAMES:
                raise self.fail(f"{where}.name", f"unknown step name {_json(name)} (one of {', '.join(STEP_NAMES)})")
            actions = self.actions(obj["actions"], f"{where}.actions")
            final = any(a in FINAL_ACTIONS for a in actions)
            if final and i < len(value) - 1:
                raise self.fail(where, f"a final step (it may {' or '.join(a for a in actions)}) must be the last; "
                                f"{len(value) - 1 - i} step(s) follow it")
            if not final and i == len(value) - 1:
                raise self.fail(where, f"the last step must be final: its actions are {', '.join(FINAL_ACTIONS)}")
            if (name == FIRST_REVIEW) == final:
                expected = f"{FINAL_REVIEW} or {SOLE_REVIEW}" if final else FIRST_REVIEW
                raise self.fail(f"{where}.name", f"'{name}' does not fit a {'final' if final else 'first'} review "
                                f"step (name it {expected})")
            days = self.days(obj["time_limit"], f"{where}.time_limit") if "time_limit" in obj else review_days
            out.append(ReviewStep(level, str(name), actions, days))
        return tuple(out)

    def actions(self, value: object, at: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail(at, f"must be a non-empty list of actions ({', '.join(ACTIONS)}), not {_json(value)}")
        for i, action in enumerate(value):
            if action not in ACTIONS:
                raise self.fail(f"{at}[{i}]", f"unknown action {_json(action)} (one of {', '.join(ACTIONS)})")
            if action in value[:i]:
                raise self.fail(f"{at}[{i}]", f"'{action}' is listed twice")
        first, final = [a for a in value if a in FIRST_ACTIONS], [a for a in value if a in FINAL_ACTIONS]
        if first and final:
            raise self.fail(at, f"mixes a first review's actions ({', '.join(FIRST_ACTIONS)}) with a final review's "
                            f"({', '.join(FINAL_ACTIONS)})")
        if first and RECOMMEND not in first:
            raise self.fail(at, f"a first review must allow '{RECOMMEND}', else no match can pass it")
        if final and APPROVE not in final:
            raise self.fail(at, f"a final review must allow '{APPROVE}', else no match can pass it")
        return tuple(str(a) for a in value)

    def programme(self, key: str, value: object, at: str, defaults: TimeLimits) -> Programme:
        if not (key.isascii() and key.isidentifier()):
            raise self.fail(at, "a programme's key is an English identifier (letters, digits and _)")
        obj = self.record(value, at, {
            "label": "the programme's Chinese label",
            "version": "the rules' version, such as \"2026-12-v1\" (rules without a version are refused)",
            "modes": "the modes the programme covers",
            "demand_must_belong": "whether a demand must have been posted into the programme (true/false)",
            "review": "the review steps of each mode the programme covers",
        }, ("graded_by", "time_limits", "note", "rewards", "assessment_period", "team"))
        label = self.text(obj["label"], f"{at}.label")
        version = self.version(obj["version"], f"{at}.version")
        raw_modes = obj["modes"]
        if not isinstance(raw_modes, list) or not raw_modes:
            raise self.fail(f"{at}.modes", f"must be a non-empty list of modes, not {_json(raw_modes)}")
        covered: list[str] = []
        for i, m in enumerate(raw_modes):
            mode = self.mode(m, f"{at}.modes[{i}]")
            if mode in covered:
                raise self.fail(f"{at}.modes[{i}]", f"'{mode}' is listed twice")
            covered.append(mode)
        modes_ = tuple(covered)
        must_belong = self.flag(obj["demand_must_belong"], f"{at}.demand_must_belong")
        review = self.mapping(obj["review"], f"{at}.review")
        graded = self.mapping(obj.get("graded_by", {}), f"{at}.graded_by")
        limits = self.mapping(obj.get("time_limits", {}), f"{at}.time_limits")
        for part, given in (("review", review), ("graded_by", graded), ("time_limits", limits)):
            for m in given:
                self.own_mode(m, f"{at}.{part}.{m}", modes_)
        rewards = parse_rules(self.mapping(obj["rewards"], f"{at}.rewards"), f"{self.shown}: {at}.rewards",
                              modes_) if "rewards" in obj else {}
        period = obj.get("assessment_period", "yearly")
        if period not in ASSESSMENT_PERIODS:
            raise self.fail(f"{at}.assessment_period",
                            f"unknown period {_json(period)} (one of {', '.join(ASSESSMENT_PERIODS)})")
        rules: list[ModeRules] = []
        for mode in modes_:
            if mode not in review:
                raise self.fail(f"{at}.review.{mode}", "missing: the review steps of a mode the programme covers")
            own = self.limits(limits[mode], f"{at}.time_limits.{mode}", complete=False) if mode in limits else {}
            mode_limits = replace(defaults, **own)
            steps = self.steps(review[mode], f"{at}.review.{mode}", mode_limits.review)
            grader = self.level(graded[mode], f"{at}.graded_by.{mode}") if mode in graded else steps[-1].level
            rules.append(ModeRules(mode, steps, grader, mode_limits, rewards.get(mode), str(period)))
        note = self.text(obj["note"], f"{at}.note") if "note" in obj else ""
        team = self.team(obj["team"], f"{at}.team") if "team" in obj else None
        return Programme(key, label, version, modes_, must_belong, tuple(rules), note, team)

    def team(self, value: object, at: str) -> TeamRule:
        obj = self.record(value, at, {"min_members": "the fewest members besides the lead (0 or more)",
                                      "max_members": "the most members besides the lead"}, ())
        bounds: list[int] = []
        for name in ("min_members", "max_members"):
            n = obj[name]
            if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= 50:
                raise self.fail(f"{at}.{name}", f"must be a whole number from 0 to 50, not {_json(n)}")
            bounds.append(n)
        low, high = bounds
        if high < low:
            raise self.fail(f"{at}.max_members", f"{high} is below min_members {low}")
        return TeamRule(low, high)

    def defaults(self, value: object, programmes: Mapping[str, Programme]) -> dict[str, str]:
        """Mode → the programme a demand naming none falls under: the file's choice, checked, or the one
        covering programme without its own enrolment; a mode with several such programmes needs a choice."""
        chosen = self.mapping(value, "default_programme")
        out: dict[str, str] = {}
        for mode, key in chosen.items():
            at = f"default_programme.{mode}"
            self.mode(mode, at)
            if not isinstance(key, str) or key not in programmes:
                raise self.fail(at, f"unknown programme {_json(key)} (one of {', '.join(programmes)})")
            if not programmes[key].covers(mode):
                raise self.fail(at, f"programme '{key}' does not cover mode '{mode}'")
            if programmes[key].demand_must_belong:
                raise self.fail(at, f"programme '{key}' requires a demand to be posted into it, so it cannot be the "
                                "default for demands that name none")
            out[mode] = key
        covered = {m for p in programmes.values() for m in p.modes}
        for mode in sorted(covered - set(out)):
            open_ = [p.key for p in programmes.values() if p.covers(mode) and not p.demand_must_belong]
            if len(open_) > 1:
                raise self.fail(f"default_programme.{mode}", f"missing: {', '.join(open_)} all take demands that name "
                                "no programme; choose one")
            if open_:
                out[mode] = open_[0]
        return out


def load_programmes(name_or_path: str) -> ProgrammeSet:
    """A programme file by name (``shanxi`` → data/programmes/shanxi.json) or path, checked as a whole."""
    path = Path(name_or_path)
    if not path.suffix:
        path = PROGRAMMES_DIR / f"{name_or_path}.json"
    reader = _Reader(shown_path(path))
    try:
        raw = json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=_object_pairs)
    except FileNotFoundError:
        raise reader.fail("", "no such programme file (MATCHER_PROGRAMMES names a file in data/programmes/ "
                          "or a path)") from None
    except json.JSONDecodeError as e:
        raise reader.fail("", f"not valid JSON: {e}") from None
    top = reader.record(raw, "", {"version": "the file's version, such as \"2026-12-v1\"",
                                  "time_limits": "the default time limits of every stage",
                                  "programmes": "the programmes, by key"},
                      ("default_programme", "note", "talent_tiers"))
    version = reader.version(top["version"], "version")
    defaults = TimeLimits(**reader.limits(top["time_limits"], "time_limits", complete=True))
    given = reader.mapping(top["programmes"], "programmes")
    if not given:
        raise reader.fail("programmes", "empty: a deployment needs at least one programme")
    found: dict[str, Programme] = {}
    labels: dict[str, str] = {}
    for key, value in given.items():
        at = f"programmes.{key}"
        programme = reader.programme(key, value, at, defaults)
        if programme.label in labels:
            raise reader.fail(f"{at}.label", f"'{programme.label}' is also the label of '{labels[programme.label]}'")
        labels[programme.label] = key
        if _version_order(programme.version) > _version_order(version):
            raise reader.fail("version", f"'{version}' is older than programme '{key}''s version "
                              f"'{programme.version}': bump the file's version with the programme's")
        found[key] = programme
    chosen = reader.defaults(top.get("default_programme", {}), found)
    if "note" in top:
        reader.text(top["note"], "note")
    tiers: dict[str, str] = {}
    for code, tier_label in reader.mapping(top.get("talent_tiers", {}), "talent_tiers").items():
        at = f"talent_tiers.{code}"
        if not (code.isascii() and code.isidentifier()):
            raise reader.fail(at, "a tier's code is an English identifier (letters, digits and _)")
        tiers[code] = reader.text(tier_label, at)
        if list(tiers.values()).count(tiers[code]) > 1:
            raise reader.fail(at, f"'{tiers[code]}' is also another tier's label")
    return ProgrammeSet(reader.shown, version, tuple(found.values()), chosen, defaults, tiers)


@lru_cache(maxsize=8)
def _programmes(name_or_path: str) -> ProgrammeSet:
    return load_programmes(name_or_path)


def programmes() -> ProgrammeSet:
    """The programmes of this deployment (``MATCHER_PROGRAMMES``, default Shanxi's), loaded once."""
    return _programmes(get_settings().programmes)
