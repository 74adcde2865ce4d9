"""One typed view per resource, defined once: what the services return, what the API sends (its
response models are these classes) and what the console's templates read (``d.title``).

A view is a pydantic model. It also answers ``view["field"]`` and ``"field" in view`` so code that
reads a field by name keeps working, but the fields themselves are declared here and nowhere else.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class View(BaseModel):
    model_config = ConfigDict(extra="ignore")

    def __getitem__(self, key: str) -> Any:
        if key not in type(self).model_fields:
            raise KeyError(key)
        return getattr(self, key)

    def __contains__(self, key: object) -> bool:
        return key in type(self).model_fields


class TalentView(View):
    """A talent as the caller may see it: contact data masked unless the caller may see it."""

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
    # Approved on a demand of the caller's, but the talent did not consent to releasing contact data.
    contact_via_office: bool = False
    consent_propose: str = "pending"
    consent_contact: str = "pending"
    available_from: str | None = None
    available_until: str | None = None


class DemandView(View):
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


class FeatureView(View):
    name: str
    label: str
    value: float
    contribution: float


class AlignedView(View):
    """The demand sentence and the profile sentence whose embeddings agree best, and their cosine."""

    demand_sentence: str
    talent_sentence: str
    similarity: float


class ProposalView(View):
    """One ranked talent for a demand in one mode, with the reasons."""

    rank: int
    talent: TalentView
    score: float
    eligible: bool
    excluded_by: str | None
    mode_fit: str
    features: list[FeatureView]
    matched_terms: list[str]
    demand_phrases: list[str]
    talent_phrases: list[str]
    scores: dict[str, float]
    ranker: str = "hand"  # "hand" weights, or "ltr-v<N>": the learned model (features = its contributions)
    aligned: AlignedView | None = None  # when no phrase is shared: the closest pair of sentences


class MatchView(View):
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
    talent: TalentView | None
    created_at: str | None
    updated_at: str | None


class JobView(View):
    id: int
    kind: str
    status: Literal["queued", "running", "done", "failed"]
    stage: str
    progress: float
    params: dict[str, Any]
    result: dict[str, Any] = Field(description="for an import: the row-level report — kind, ok, rows, created, "
                                   "updated, warnings, errors [{row, column, reason}], index {upserted, removed}")
    error: str
    created_by: int | None
    created_at: str | None
    started_at: str | None
    finished_at: str | None


class RoundView(View):
    id: int
    status: Literal["queued", "scoring", "solving", "done", "failed"]
    progress: float
    params: dict[str, Any]
    report: dict[str, Any]
    error: str
    created_by: int | None
    created_at: str | None
    finished_at: str | None


class ConsentView(View):
    """One consent as it stands, with the text and its version (what the talent agrees to)."""

    purpose: Literal["propose", "contact"]
    label: str
    state: Literal["pending", "granted", "withdrawn"]
    at: str | None  # when it was last given or withdrawn
    text: str
    text_version: str


class AccessLogView(View):
    """Who saw or was given the talent's contact data, when, and for which demand."""

    at: str | None
    action: str
    action_label: str
    actor_role: str
    actor_name: str
    demand_id: int | None
    demand_title: str | None


class MyProposalView(View):
    """A proposal of this talent that reached the contact stage, as the talent sees it."""

    match_id: int
    demand_id: int
    demand_title: str
    demand_description: str
    enterprise: str | None
    city: str
    mode: str
    status: str
    answer: Literal["pending", "accepted", "declined"]
    answered_by: str | None
    can_answer: bool
    updated_at: str | None


class MyRecordView(View):
    """Everything the platform holds about the signed-in talent, as it holds it (contact data included)."""

    talent: TalentView
    withdrawn: bool
    withdrawn_at: str | None
    consents: list[ConsentView]
    in_pool: bool  # proposed to enterprises right now
    key_phrases: list[str]  # what the engine picks out of the profile (lexical weight)
    sentences: list[str]  # the sentences the explanation aligns with demands' sentences


class InvitationView(View):
    talent_id: int
    code: str = Field(description="shown once; the talent signs in with it at /invite or "
                                  "POST /api/v1/invitations/accept")
    expires_at: str | None


class DuplicatePairView(View):
    id: int
    a: TalentView
    b: TalentView
    score: float
    evidence: dict[str, Any]
    status: Literal["open", "merged", "distinct"]
    decided_at: str | None
