"""Request and response models of the HTTP API (pydantic). Examples appear in the OpenAPI docs."""

from __future__ import annotations

from datetime import date
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from matcher.domain import FlexibleForm, Mode, Sector

T = TypeVar("T")


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


class DemandIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "title": "气化炉渣口堵渣频繁导致非计划停车",
        "description": "我公司使用本地高灰熔点煤进行粉煤加压气化，渣口堵渣每季度导致两到三次非计划停车，"
                       "希望专家改善灰渣黏温特性，实现长周期运行。",
        "sector": "coal_chemical", "industry_code": "2522", "keywords": ["煤气化", "灰熔融性"],
        "modes": ["tech_vp", "flexible"], "budget_min": 50, "budget_max": 100, "duration_months": 12,
        "deadline": "2027-06-30"}]})

    external_id: str | None = Field(default=None, max_length=64)
    title: str = Field(min_length=4, max_length=200)
    description: str = Field(min_length=10, max_length=20000)
    sector: Sector | None = None
    industry_code: str = Field(default="", max_length=8, pattern=r"^[A-T0-9]*$")
    keywords: list[str] = Field(default_factory=list, max_length=20)
    modes: list[Mode] = Field(default_factory=lambda: [Mode.FLEXIBLE], min_length=1, max_length=3)
    city: str = Field(default="", max_length=50)
    budget_min: float | None = Field(default=None, ge=0, le=1_000_000)
    budget_max: float | None = Field(default=None, ge=0, le=1_000_000)
    duration_months: int | None = Field(default=None, ge=1, le=120)
    deadline: date | None = None
    proposals_wanted: int = Field(default=3, ge=1, le=20)


class DemandPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, min_length=4, max_length=200)
    description: str | None = Field(default=None, min_length=10, max_length=20000)
    sector: Sector | None = None
    industry_code: str | None = Field(default=None, max_length=8, pattern=r"^[A-T0-9]*$")
    keywords: list[str] | None = Field(default=None, max_length=20)
    modes: list[Mode] | None = Field(default=None, min_length=1, max_length=3)
    city: str | None = Field(default=None, max_length=50)
    budget_min: float | None = Field(default=None, ge=0, le=1_000_000)
    budget_max: float | None = Field(default=None, ge=0, le=1_000_000)
    duration_months: int | None = Field(default=None, ge=1, le=120)
    deadline: date | None = None
    proposals_wanted: int | None = Field(default=None, ge=1, le=20)


class DemandOut(BaseModel):
    id: int
    external_id: str
    enterprise_id: int
    enterprise: str | None
    title: str
    description: str
    sector: str
    industry_code: str
    keywords: list[str]
    modes: list[str]
    city: str
    budget_min: float | None
    budget_max: float | None
    duration_months: int | None
    deadline: str | None
    proposals_wanted: int
    status: str
    intermediary_id: int | None
    created_at: str | None


class TalentOut(BaseModel):
    id: int
    external_id: str
    name: str
    affiliation: str
    institution_type: str
    title: str
    title_level: str
    sector: str
    research_fields: list[str]
    discipline_codes: list[str]
    profile: str
    achievements: str
    patents: int
    projects: int
    mode_capacity: dict[str, int]
    flexible_forms: list[str]
    city: str
    in_province: bool
    province_ties: list[str]
    tie_detail: str
    phone: str
    email: str
    contact_masked: bool


class Feature(BaseModel):
    name: str
    label: str
    value: float
    contribution: float


class ProposalOut(BaseModel):
    rank: int
    talent: TalentOut
    score: float
    eligible: bool
    excluded_by: str | None
    mode_fit: str
    features: list[Feature]
    matched_terms: list[str]
    demand_phrases: list[str]
    talent_phrases: list[str]
    scores: dict[str, float]


class ShortlistIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"talent_id": 17, "mode": "tech_vp"}]})

    talent_id: int = Field(ge=1)
    mode: Mode
    flexible_form: FlexibleForm | None = None


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=1, max_length=2000)
    answer: Literal["pending", "accepted", "declined"] | None = None


class SubmitIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"plan": "专家每月驻企6天，三个月内完成配煤与助熔剂试验，半年内实现连续运行90天。"}]})

    plan: str = Field(min_length=5, max_length=5000)


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"decision": "approve", "reason": "专业方向吻合，服务方案可行"}]})

    decision: Literal["approve", "reject"]
    reason: str = Field(default="", max_length=2000)


class OutcomeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    result: Literal["solved", "partly", "not"]
    text: str = Field(min_length=2, max_length=5000)


class RewardIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    qualifies: bool
    amount: float | None = Field(default=None, gt=0, le=10_000)
    reason: str = Field(default="", max_length=2000)


class MatchOut(BaseModel):
    id: int
    demand_id: int
    talent_id: int
    intermediary_id: int | None
    round_id: int | None
    mode: str
    flexible_form: str | None
    status: str
    score: float | None
    explanation: dict[str, Any]
    plan: str
    contact_log: dict[str, Any]
    review_reason: str
    outcome: str | None
    outcome_text: str
    reward_amount: float | None
    talent: TalentOut | None
    created_at: str | None
    updated_at: str | None


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=3, max_length=100, pattern=r"^[A-Za-z0-9_.@-]+$")
    role: Literal["enterprise", "intermediary", "official", "admin"]
    display_name: str = Field(default="", max_length=100)
    enterprise: str | None = None
    intermediary: str | None = None


class ImportReportOut(BaseModel):
    kind: str
    ok: bool
    rows: int
    created: int
    updated: int
    errors: list[dict[str, Any]]
    warnings: list[str]
