"""Request models of the HTTP API (pydantic), with examples for the OpenAPI docs. Responses are the
typed views of ``matcher/views.py``, shared with the services and the console."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator

from matcher.domain import modes
from matcher.domain import talent as talent_fields
from matcher.domain.demand import MAX_PART
from matcher.domain.vocabulary import FlexibleForm, Sector
from matcher.validation import MAX_BUDGET, MAX_MONTHS, MAX_YUAN, Id, Line, ModeCode, Text
from matcher.views import ProposalView, VerdictView

T = TypeVar("T")


class RequestModel(BaseModel):
    """Every request body: unknown fields refused, numbers finite (no ``inf``/``NaN``), and explicit
    ``null`` refused for the fields listed in ``not_null`` (a PATCH may omit them, never blank them)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    not_null: ClassVar[tuple[str, ...]] = ()

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_null(cls, value: Any, info: Any) -> Any:
        if value is None and info.field_name in cls.not_null:
            raise ValueError("must not be null")
        return value


class ErrorBody(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class ProposalPage(Page[ProposalView]):
    """A page of proposals with the list's verdict: ``no_suitable_expert`` says nobody in the pool is likely to
    fit (the items are then the nearest ones); ``probability`` on each item is calibrated P(relevant)."""

    verdict: VerdictView


class DemandIn(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "title": "气化炉渣口堵渣频繁导致非计划停车",
        "description": "我公司使用本地高灰熔点煤进行粉煤加压气化，渣口堵渣每季度导致两到三次非计划停车，"
                       "希望专家改善灰渣黏温特性，实现长周期运行。",
        "sector": "coal_chemical", "industry_code": "2522", "keywords": ["煤气化", "灰熔融性"],
        "modes": ["tech_vp", "flexible"], "budget_min": 50, "budget_max": 100, "duration_months": 12,
        "deadline": "2027-06-30"}]})

    not_null = ("title", "description", "industry_code", "keywords", "modes", "city", "proposals_wanted",
                "current_state", "target_indicators", "site_conditions")

    external_id: Line | None = Field(default=None, min_length=1, max_length=64)
    title: Line = Field(min_length=4, max_length=200)
    description: Text = Field(min_length=10, max_length=20000)
    sector: Sector | None = None
    industry_code: str = Field(default="", max_length=8, pattern=r"^[A-T0-9]*$")
    keywords: list[Annotated[Line, Field(min_length=1, max_length=50)]] = Field(default_factory=list, max_length=20)
    modes: list[ModeCode] = Field(default_factory=lambda: [modes.DEFAULT], min_length=1, max_length=20)
    city: Line = Field(default="", max_length=50)
    budget_min: float | None = Field(default=None, ge=0, le=MAX_BUDGET)
    budget_max: float | None = Field(default=None, ge=0, le=MAX_BUDGET)
    duration_months: int | None = Field(default=None, ge=1, le=MAX_MONTHS)
    deadline: date | None = None
    proposals_wanted: int = Field(default=3, ge=1, le=20)
    current_state: Text = Field(default="", max_length=MAX_PART,
                                description="现状: process, parameters, what was tried")
    target_indicators: Text = Field(default="", max_length=MAX_PART, description="目标指标: measurable targets")
    site_conditions: Text = Field(default="", max_length=MAX_PART,
                                  description="现场条件: equipment, data, samples, working conditions")
    programme: Line | None = Field(default=None, min_length=1, max_length=40,
                                   description="programme key (data/programmes); none: the modes' default")


class DemandPatch(RequestModel):
    """Only the fields sent change. Budget, duration and deadline may be cleared with ``null``; the
    others may not (a demand always has a title, a description, modes …)."""

    not_null = ("title", "description", "sector", "industry_code", "keywords", "modes", "city",
                "proposals_wanted", "current_state", "target_indicators", "site_conditions")

    title: Line | None = Field(default=None, min_length=4, max_length=200)
    description: Text | None = Field(default=None, min_length=10, max_length=20000)
    sector: Sector | None = None
    industry_code: str | None = Field(default=None, max_length=8, pattern=r"^[A-T0-9]*$")
    keywords: list[Annotated[Line, Field(min_length=1, max_length=50)]] | None = Field(default=None, max_length=20)
    modes: list[ModeCode] | None = Field(default=None, min_length=1, max_length=20)
    city: Line | None = Field(default=None, max_length=50)
    budget_min: float | None = Field(default=None, ge=0, le=MAX_BUDGET)
    budget_max: float | None = Field(default=None, ge=0, le=MAX_BUDGET)
    duration_months: int | None = Field(default=None, ge=1, le=MAX_MONTHS)
    deadline: date | None = None
    proposals_wanted: int | None = Field(default=None, ge=1, le=20)
    current_state: Text | None = Field(default=None, max_length=MAX_PART)
    target_indicators: Text | None = Field(default=None, max_length=MAX_PART)
    site_conditions: Text | None = Field(default=None, max_length=MAX_PART)
    programme: Line | None = Field(default=None, min_length=1, max_length=40)


class DemandDraftIn(RequestModel):
    """A demand as it is being typed, for the live completeness check (``POST /demands/assess``): every
    field optional and no minimum length — half a sentence is still worth a score and hints — but the
    same bounds and text rules as a post, so nothing a post would refuse is read."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "title": "气化炉渣口堵渣频繁导致非计划停车",
        "description": "渣口堵渣每季度导致两到三次非计划停车。",
        "current_state": "目前采用高灰熔点煤粉煤加压气化，已试过添加助熔剂，效果有限",
        "target_indicators": "非计划停车由每季度3次降低到1次以下",
        "site_conditions": "可提供近3年的DCS运行数据和灰渣样品",
        "modes": ["tech_vp"], "budget_min": 50, "budget_max": 100, "deadline": "2027-06-30"}]})
    not_null = ("title", "description", "current_state", "target_indicators", "site_conditions", "modes")

    title: Line = Field(default="", max_length=200)
    description: Text = Field(default="", max_length=20000)
    current_state: Text = Field(default="", max_length=MAX_PART)
    target_indicators: Text = Field(default="", max_length=MAX_PART)
    site_conditions: Text = Field(default="", max_length=MAX_PART)
    modes: list[ModeCode] = Field(default_factory=list, max_length=20)
    budget_min: float | None = Field(default=None, ge=0, le=MAX_BUDGET)
    budget_max: float | None = Field(default=None, ge=0, le=MAX_BUDGET)
    duration_months: int | None = Field(default=None, ge=1, le=MAX_MONTHS)
    deadline: date | None = None


class DemandReturnIn(RequestModel):
    """An official sends a 待完善 demand back to its enterprise: the note says what to add."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"note": "请补充可量化的目标指标和现场可提供的数据、样品"}]})
    not_null = ("note",)

    note: Text = Field(min_length=1, max_length=2000)


class DemandExtendIn(RequestModel):
    """An official extends the 揭榜 deadline of an open or expired demand (later than today and than the old
    deadline)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"deadline": "2027-09-30"}]})
    not_null = ("deadline",)

    deadline: date


class ShortlistIn(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"talent_id": 17, "mode": "tech_vp"}]})
    not_null = ("talent_id", "mode")

    talent_id: Id
    mode: ModeCode
    flexible_form: FlexibleForm | None = None


class MemberIn(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"talent_id": 23, "duties": "负责催化剂表征与中试数据分析", "share_percent": 20}]})
    not_null = ("talent_id", "duties", "share_percent")

    talent_id: Id
    duties: Text = Field(min_length=1, max_length=500, description="分工: what this member does")
    share_percent: int = Field(ge=0, le=100, description="the member's share of the reward, per cent (the lead "
                               "keeps what the members' shares leave)")


class ContactIn(RequestModel):
    not_null = ("note",)

    note: Text = Field(min_length=1, max_length=2000)
    answer: Literal["pending", "accepted", "declined", "no_answer"] | None = None


class SubmitIn(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"plan": "专家每月驻企6天，三个月内完成配煤与助熔剂试验，半年内实现连续运行90天。"}]})
    not_null = ("plan",)

    plan: Text = Field(min_length=5, max_length=5000)


class ReviewIn(RequestModel):
    """A decision at the step the match waits at: ``recommend`` / ``send_back`` at a first review (初审),
    ``approve`` / ``reject`` at the final one (终审, or 审核 where the programme has one step). 容缺: with
    ``recommend`` or ``approve``, the items still missing and the date they are promised for."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"decision": "recommend", "reason": "专业方向吻合，建议省级终审"},
        {"decision": "approve", "reason": "服务方案可行", "missing_items": ["派出单位同意函"],
         "promised_by": "2027-01-15"}]})
    not_null = ("decision", "reason", "missing_items")

    decision: Literal["recommend", "send_back", "approve", "reject"]
    reason: Text = Field(default="", max_length=2000)
    missing_items: list[Line] = Field(default_factory=list, max_length=20,
                                      description="容缺: named items accepted as missing for now")
    promised_by: date | None = Field(default=None, description="容缺: the date the missing items are promised for")


class SupplyIn(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": ["派出单位同意函"]}]})
    not_null = ("items",)

    items: list[Line] = Field(min_length=1, max_length=20, description="the missing items now supplied")


class AreaIn(RequestModel):
    """The area an intermediary is registered for: an office's code or name (太原, 太原市小店区, 140105);
    null, or the province: the whole province."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"area": "太原"}, {"area": None}]})

    area: Line | None = Field(max_length=50)


class OutcomeIn(RequestModel):
    not_null = ("result", "text")

    result: Literal["solved", "partly", "not"]
    text: Text = Field(min_length=2, max_length=5000)


# ------------------------------------------------------------------ engagements
Yuan = Annotated[int, Field(ge=0, le=MAX_YUAN, description="integer yuan")]


class ConfirmIn(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"pdf_sha256": "9f2c…(the current version's digest)"}]})
    not_null = ("pdf_sha256",)

    pdf_sha256: str = Field(min_length=64, max_length=64, pattern="^[0-9a-f]{64}$",
                            description="SHA-256 of the PDF the party read (the current version's)")


class TermsIn(RequestModel):
    """A change of the agreement's terms: the fields given replace the current version's (a new version)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, json_schema_extra={"examples": [
        {"reason": "企业调整驻企天数", "days_on_site_per_month": 10, "end": "2027-12-31"}]})
    not_null = ("reason",)

    reason: Text = Field(min_length=1, max_length=2000)
    start: date | None = None
    end: date | None = None
    days_on_site_per_month: int | None = Field(default=None, ge=0, le=31)
    tasks: list[Line] | None = Field(default=None, max_length=30)
    indicators: list[Line] | None = Field(default=None, max_length=30)
    pay_yuan: Yuan | None = None
    pay_period: Literal["month", "year"] | None = None
    pay_note: Text | None = Field(default=None, max_length=2000)
    confidentiality: str | None = Field(default=None, max_length=40)
    intellectual_property: str | None = Field(default=None, max_length=40)
    income_sharing: str | None = Field(default=None, max_length=40)
    noncompete_months: int | None = Field(default=None, ge=0, le=120)
    income_share_ratio: int | None = Field(default=None, ge=0, le=100)


class EndIn(RequestModel):
    not_null = ("reason",)
    reason: Text = Field(min_length=1, max_length=2000)


class ServiceRecordIn(RequestModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, json_schema_extra={"examples": [
        {"service_date": "2027-03-12", "days_on_site": 2, "remote_hours": 3, "tasks": "指导气化炉工艺调试",
         "results": {"people_trained": 4}}]})
    service_date: date
    days_on_site: float = Field(default=0, ge=0, le=31)
    remote_hours: float = Field(default=0, ge=0, le=744)
    tasks: Text = Field(default="", max_length=4000)
    results: dict[str, int] = Field(default_factory=dict, max_length=10)
    attachment_ids: list[Id] = Field(default_factory=list, max_length=20)


class AssessmentIn(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"period": 1, "scores": {"service": 5, "completion": 4, "results": 4, "satisfaction": 5},
         "comment": "按期完成"}]})
    not_null = ("period", "scores")
    period: int = Field(ge=1, le=100)
    scores: dict[str, int] = Field(max_length=10)
    comment: Text = Field(default="", max_length=2000)


class GradeIn(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"period": 1, "grade": "优秀", "evidence": "三方评价均为优秀；驻企天数达标；新增专利2项"}]})
    not_null = ("period", "grade", "evidence")
    period: int = Field(ge=1, le=100)
    grade: str = Field(max_length=20, description="excellent/优秀, good/良好, pass/合格 or fail/不合格")
    evidence: Text = Field(min_length=1, max_length=4000)


class OverrideIn(RequestModel):
    not_null = ("amount_yuan", "reason")
    amount_yuan: Yuan
    reason: Text = Field(min_length=1, max_length=2000)


class OverrideReviewIn(RequestModel):
    not_null = ("approve",)
    approve: bool


class ReasonIn(RequestModel):
    not_null = ("reason",)
    reason: Text = Field(min_length=1, max_length=2000)


class BatchIn(RequestModel):
    not_null = ("reward_ids",)
    reward_ids: list[Id] = Field(min_length=1, max_length=500)


class BudgetIn(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"programme": "tech_vp_programme", "office_code": "140000", "year": 2027, "total_yuan": 5000000}]})
    not_null = ("programme", "year", "total_yuan")
    programme: str = Field(max_length=40)
    office_code: str | None = Field(default=None, max_length=6)
    year: int = Field(ge=2000, le=2100)
    total_yuan: Yuan


class RoundIn(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"sector": "coal_chemical", "proposals_wanted": 3, "forbidden_pairs": [[12, 345]]}]})
    not_null = ("proposals_wanted", "per_demand", "forbidden_pairs", "forced_pairs", "candidates_per_mode",
                "max_posts_per_talent", "time_limit")

    sector: Sector | None = None
    city: Line | None = Field(default=None, max_length=50)
    proposals_wanted: int = Field(default=3, ge=1, le=20)
    per_demand: dict[Id, Annotated[int, Field(ge=1, le=20)]] = Field(
        default_factory=dict, max_length=10_000, description="demand id → proposals wanted")
    forbidden_pairs: list[tuple[Id, Id]] = Field(default_factory=list, max_length=100_000,
                                                 description="[demand id, talent id]")
    forced_pairs: list[tuple[Id, Id]] = Field(default_factory=list, max_length=10_000,
                                              description="[demand id, talent id]")
    candidates_per_mode: int = Field(default=30, ge=5, le=200)
    max_posts_per_talent: int = Field(default=2, ge=1, le=10)
    time_limit: float = Field(default=120.0, ge=1, le=3600)


class UserIn(RequestModel):
    not_null = ("username", "role", "display_name")

    username: str = Field(min_length=3, max_length=100, pattern=r"^[A-Za-z0-9_.@-]+$")
    role: Literal["enterprise", "intermediary", "official", "admin"]
    display_name: Line = Field(default="", max_length=100)
    enterprise: Line | None = Field(default=None, max_length=200)
    intermediary: Line | None = Field(default=None, max_length=200)
    office: Line | None = Field(default=None, max_length=100,
                                description="an official's office: a province, city or county code (140105) or name "
                                            "(太原市小店区); default the province")


class _SelfPatchBase(RequestModel):
    """What a talent corrects in their own record (``/api/v1/me``); omitted fields stay as they are. The
    fields are derived from the talent's declaration (``domain/talent.py``: those the talent may edit)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, json_schema_extra={"examples": [{
        "profile": "长期从事煤气化与灰渣黏温特性研究，主持气化炉长周期运行技术攻关。",
        "research_fields": ["煤气化", "灰熔融性"], "mode_capacity": {"flexible": 2, "tech_vp": 1},
        "flexible_forms": ["advisory", "project"], "available_from": "2027-01-01",
    }]})
    #: Dates may be cleared with null (open-ended availability); nothing else may be blanked that way.
    not_null = tuple(n for n in talent_fields.SELF_EDITABLE if talent_fields.BY_NAME[n].patch is not date)

    def changes(self) -> dict[str, Any]:
        """The fields sent, as the service stores them (enum members as their values)."""
        out: dict[str, Any] = {}
        for k in self.model_fields_set:
            v = getattr(self, k)
            if isinstance(v, list):
                v = [str(getattr(x, "value", x)) for x in v]
            out[k] = v
        return out


if TYPE_CHECKING:
    TalentSelfPatch = _SelfPatchBase
else:
    TalentSelfPatch = create_model(
        "TalentSelfPatch", __base__=_SelfPatchBase,
        **{n: (talent_fields.BY_NAME[n].patch | None, None) for n in talent_fields.SELF_EDITABLE})


class ConsentIn(RequestModel):
    purpose: Literal["propose", "contact"]
    granted: bool


class AnswerIn(RequestModel):
    answer: Literal["accepted", "declined"]
    note: Text = Field(default="", max_length=1000)


class InviteIn(RequestModel):
    days: int = Field(default=14, ge=1, le=90, description="days the code stays valid")


class InvitationAcceptIn(RequestModel):
    code: str = Field(min_length=8, max_length=100, pattern=r"^[A-Za-z0-9_\-]+$")


class DuplicateDecisionIn(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"decision": "merge", "keep": 12, "choices": {"phone": "b", "profile": "a"}, "relink_account": True}]})

    decision: Literal["merge", "distinct"]
    keep: Id | None = Field(default=None, description="for a merge: the record kept (default: the older one)")
    choices: dict[str, Literal["a", "b"]] = Field(
        default_factory=dict, max_length=50,
        description="for a merge: per differing field (see the pair's differences), the record whose value the "
                    "kept record takes; default: the value the talent corrected most recently, else the kept one's")
    relink_account: bool = Field(default=False, description="for a merge: move the merged record's talent account "
                                                             "to the kept record (only when it is the same person)")


# ------------------------------------------------------------ conflicts of interest (services/people/conflicts.py)
RelationKindIn = Literal["founded", "shareholder", "employed", "family"]
OrganisationKindIn = Literal["enterprise", "university", "institute", "other"]


class RelationIn(RequestModel):
    """A declared relation to an organisation. The organisation is named by the first of ``organisation_id``,
    ``enterprise_id``, or ``credit_code`` and/or the name ``organisation`` (matched after normalisation and
    through its aliases; an unknown name is recorded as a new organisation of ``organisation_kind``)."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"kind": "shareholder", "organisation": "太原重型机械集团有限公司", "started_on": "2021-03-01"},
        {"kind": "employed", "organisation": "太原理工大学", "organisation_kind": "university",
         "started_on": "2015-09-01", "ended_on": "2022-08-31"}]})
    not_null = ("kind", "note")

    kind: RelationKindIn = Field(description="founded 创办, shareholder 入股, employed 任职, family 亲属任职")
    organisation: Line | None = Field(default=None, max_length=200, description="the organisation's name")
    credit_code: str | None = Field(default=None, min_length=18, max_length=18, pattern=r"^[0-9A-Za-z]{18}$",
                                    description="unified social credit code (统一社会信用代码)")
    organisation_id: Id | None = None
    enterprise_id: Id | None = None
    organisation_kind: OrganisationKindIn | None = Field(default=None,
                                                         description="for an organisation recorded by this call")
    started_on: date | None = None
    ended_on: date | None = Field(default=None, description="an employment, shares or post that ended before "
                                                            "today no longer conflicts; founding always does")
    note: Text = Field(default="", max_length=1000)


class OrganisationIn(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"name": "太原理工大学", "kind": "university"}]})
    not_null = ("name", "kind")

    name: Line = Field(min_length=1, max_length=200)
    credit_code: str | None = Field(default=None, min_length=18, max_length=18, pattern=r"^[0-9A-Za-z]{18}$")
    kind: OrganisationKindIn = "other"
    enterprise_id: Id | None = Field(default=None, description="the enterprise this organisation is")


class AliasIn(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"alias": "太原理工"}]})
    not_null = ("alias", "merge")

    alias: Line = Field(min_length=1, max_length=200)
    merge: bool = Field(default=False, description="when the alias names another organisation: they are one "
                                                    "institution, move its relations and names here")


class PrefsIn(RequestModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, json_schema_extra={"examples": [
        {"email": "wang@example.com", "email_enabled": True, "muted": ["proposed"]},
        {"mobile": "13800000000", "sms_enabled": True, "digest": True, "digest_hour": 8,
         "quiet_hours": {"start": "22:00", "end": "07:30"}}]})
    email: str | None = Field(default=None, max_length=200)
    mobile: str | None = Field(default=None, max_length=20)
    email_enabled: bool | None = None
    sms_enabled: bool | None = None
    muted: list[str] | None = Field(default=None, max_length=20)
    digest: bool | None = Field(default=None, description="one e-mail a day listing the new items, instead of "
                                "one per item")
    digest_hour: int | None = Field(default=None, ge=0, le=23, description="the digest's hour, local time")
    quiet_hours: dict[str, str] | None = Field(default=None, max_length=2, description=(
        "no e-mail or SMS between start and end (local time, HH:MM; may wrap past midnight); held until the "
        "end. Left out: unchanged; null: none"))
    user_id: Id | None = Field(default=None, description="an admin setting another account's")


class SavedSearchIn(RequestModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, json_schema_extra={"examples": [
        {"kind": "demands", "name": "太原的新材料需求", "filters": {"sector": "materials", "city": "太原"}},
        {"kind": "talents", "demand_id": 12}]})
    not_null = ("kind",)
    kind: Literal["demands", "talents"] = Field(description="demands: alert new demands on the board matching "
                                                "the filters (intermediaries, officials); talents: follow one "
                                                "of the caller's demands (enterprises)")
    name: Line = Field(default="", max_length=100)
    filters: dict[str, Line] = Field(default_factory=dict, max_length=4, description=(
        "sector, city, mode, q (words in the title or description); a followed demand takes only mode"))
    demand_id: Id | None = None


class WebhookIn(RequestModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, json_schema_extra={"examples": [
        {"url": "https://oa.example.gov.cn/hooks/talent", "flavour": "standard"}]})
    not_null = ("url",)
    url: str = Field(min_length=8, max_length=500)
    flavour: Literal["standard", "wecom", "dingtalk"] = "standard"
    office_code: str | None = Field(default=None, pattern=r"^\d{6}$")
