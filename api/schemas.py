"""Request models of the HTTP API (pydantic), with examples for the OpenAPI docs. Responses are the
typed views of ``matcher/views.py``, shared with the services and the console."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator

from matcher.domain import modes
from matcher.domain import talent as talent_fields
from matcher.domain.vocabulary import FlexibleForm, Sector
from matcher.validation import MAX_BUDGET, MAX_MONTHS, MAX_REWARD, Id, Line, ModeCode, Text

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


class DemandIn(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "title": "气化炉渣口堵渣频繁导致非计划停车",
        "description": "我公司使用本地高灰熔点煤进行粉煤加压气化，渣口堵渣每季度导致两到三次非计划停车，"
                       "希望专家改善灰渣黏温特性，实现长周期运行。",
        "sector": "coal_chemical", "industry_code": "2522", "keywords": ["煤气化", "灰熔融性"],
        "modes": ["tech_vp", "flexible"], "budget_min": 50, "budget_max": 100, "duration_months": 12,
        "deadline": "2027-06-30"}]})

    not_null = ("title", "description", "industry_code", "keywords", "modes", "city", "proposals_wanted")

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


class DemandPatch(RequestModel):
    """Only the fields sent change. Budget, duration and deadline may be cleared with ``null``; the
    others may not (a demand always has a title, a description, modes …)."""

    not_null = ("title", "description", "sector", "industry_code", "keywords", "modes", "city",
                "proposals_wanted")

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


class ShortlistIn(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"talent_id": 17, "mode": "tech_vp"}]})
    not_null = ("talent_id", "mode")

    talent_id: Id
    mode: ModeCode
    flexible_form: FlexibleForm | None = None


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
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"decision": "approve", "reason": "专业方向吻合，服务方案可行"}]})
    not_null = ("decision", "reason")

    decision: Literal["approve", "reject"]
    reason: Text = Field(default="", max_length=2000)


class OutcomeIn(RequestModel):
    not_null = ("result", "text")

    result: Literal["solved", "partly", "not"]
    text: Text = Field(min_length=2, max_length=5000)


class RewardIn(RequestModel):
    not_null = ("qualifies", "reason")

    qualifies: bool
    amount: float | None = Field(default=None, gt=0, le=MAX_REWARD, description="万元; required when qualifies")
    reason: Text = Field(default="", max_length=2000)


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
