"""One typed view per resource, defined once: what the services return, what the API sends (its
response models are these classes) and what the console's templates read (``d.title``).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from matcher.domain.offices import OfficeLevel


class View(BaseModel):
    model_config = ConfigDict(extra="ignore")


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
    tier: str | None = Field(default=None, description="the programmes' talent tier (英才计划), its code")


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
    programme: str | None = None
    current_state: str = ""
    target_indicators: str = ""
    site_conditions: str = ""
    completeness: int | None = Field(default=None, description="completeness score 0–100 at the last post or edit")
    hints: list[str] = Field(default_factory=list, description="what the demand still lacks, in Chinese")
    office_note: str = Field(default="", description="the office's note when it sent the demand back")
    closed_reason: str | None = Field(default=None, description="'expired': closed past its 揭榜 deadline")
    overdue: bool = Field(default=False, description="taken up, and past its 揭榜 deadline")


class CompletenessElementView(View):
    """One of the seven things a demand should say, and the evidence that counted (or why it is missing)."""

    name: str
    label: str
    present: bool
    where: Literal["field", "description"] | None
    evidence: str


class CompletenessView(View):
    """The completeness check of a draft: what the live form shows (``engine/completeness.py``)."""

    score: int = Field(description="0–100")
    threshold: int = Field(description="below it the demand waits in the office's 待完善 queue")
    ready: bool = Field(description="score ≥ threshold: the demand would go to the board")
    elements: list[CompletenessElementView]
    hints: list[str] = Field(description="what to add, in Chinese, most important first")
    boilerplate: list[str] = Field(description="slogan phrases found (they cost points)")


class MissingItemView(View):
    """One item a submission was accepted without (容缺), and when it was supplied."""

    item: str
    supplied_at: str | None = None


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
    probability: float | None = Field(default=None, description=(
        "calibrated P(the talent's expertise fits the demand), 0–1; the mode's eligibility applies after it"))


class VerdictView(View):
    """What the list as a whole says (services/pool/calibration.py)."""

    best_probability: float | None = Field(description="the best probability among the list's first top_k "
                                           "eligible proposals")
    no_suitable_expert: bool = Field(description="true: nobody in the pool is likely to fit; the proposals are "
                                     "the nearest ones, shown as such")
    threshold: float | None
    top_k: int


class TeamMemberView(View):
    """A member of a team match besides its lead (``services/workflow/teams``)."""

    talent_id: int
    name: str
    duties: str = Field(description="分工")
    share_percent: int = Field(description="the member's share of the reward, per cent")


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
    reward_yuan: int | None = Field(default=None, description="奖补 committed so far, integer yuan")
    talent: TalentView | None
    created_at: str | None
    updated_at: str | None
    programme: str | None = Field(default=None, description="programme@version the match was submitted under")
    review_step: int = Field(default=0, description="0-based review step the match waits at")
    review_stage: str | None = Field(default=None, description="the step awaited, e.g. 市级初审, while in review")
    awaiting_office: str | None = Field(default=None, description="code of the office whose step it awaits")
    review_actions: list[str] = Field(default_factory=list, description="what the awaited step may decide")
    approved_by_office: str | None = None
    graded_by_office: str | None = None
    missing_items: list[MissingItemView] = Field(default_factory=list)
    promised_by: str | None = Field(default=None, description="容缺: date the missing items were promised for")
    team: list[TeamMemberView] = Field(default_factory=list, description="a team match's members besides the "
                                       "lead (the match's talent)")
    lead_share_percent: int = Field(default=100, description="the lead's share of the reward: what the members' "
                                    "shares leave")


JobStatusLiteral = Literal["queued", "running", "done", "failed"]


class JobView(View):
    id: int
    kind: str
    status: JobStatusLiteral
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
    """A matching round: a job of kind ``round`` (its report is the job's result)."""

    id: int
    status: JobStatusLiteral
    stage: str = Field(description="scoring, solving, writing, done or failed")
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
    text: str  # the current version's text (what consenting now agrees to)
    text_version: str  # the version last given or withdrawn under (the current one when never asked)
    current_version: str = ""
    needs_renewal: bool = False  # granted under an older text that names fewer modes than are offered now


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


class MyExportView(View):
    """Everything held about the signed-in talent (PIPL art. 45): the record's every column, consents and
    their history, the texts agreed to, invitations, proposals and answers, the access log, the audit."""

    exported_at: str
    talent: dict[str, Any]
    consents: list[dict[str, Any]]
    consent_texts: dict[str, dict[str, str]]
    invitations: list[dict[str, Any]]
    proposals: list[MyProposalView]
    access_log: list[AccessLogView]
    audit: list[dict[str, Any]]
    relations: list[dict[str, Any]] = Field(default_factory=list, description="declared relations to organisations")


class InvitationView(View):
    talent_id: int
    code: str = Field(description="shown once; the talent signs in with it at /invite or "
                                  "POST /api/v1/invitations/accept")
    expires_at: str | None


class FieldChoice(View):
    """A field in which the two records of a pair differ, the two values as shown, and the default choice
    for a merge (the value the talent corrected most recently, else the kept record's)."""

    field: str
    label: str
    a: str
    b: str
    default: Literal["a", "b"]
    reason: str


class DuplicatePairView(View):
    id: int
    a: TalentView
    b: TalentView
    score: float
    evidence: dict[str, Any]
    status: Literal["open", "merged", "distinct"]
    decided_at: str | None
    differences: list[FieldChoice] = []  # for an open pair: what a merge must choose between
    withdrawn: list[int] = []  # records of the pair the talent withdrew (a merge is refused)
    accounts: list[int] = []  # records with a talent account (moved to the kept record only if confirmed)


class ReadyView(View):
    """Readiness: the database answers and the matching index is loaded; which ranker ranks."""

    ready: bool
    database: bool
    index: bool
    index_status: str
    index_outcome: str = Field(default="", description='how this process got its index: "loaded" (the saved '
                               'files, mapped) or "rebuilt: <why>"; empty while loading')
    talents_indexed: int
    ranker: str = Field(description='"hand", or "ltr-v<N>": the learned model in use')
    ranker_modes: list[str] = Field(description="the modes the learned model re-orders (the hand weights rank "
                                                "the others)")


class WhoAmIView(View):
    user_id: int | None
    role: str
    name: str
    enterprise_id: int | None
    intermediary_id: int | None
    talent_id: int | None


class HistoryEventView(View):
    """One audit event of a demand or its matches."""

    id: int
    at: str | None
    actor_user_id: int | None
    actor_role: str
    action: str
    entity: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class CountView(View):
    key: str | None
    label: str
    count: int


class MonthCountView(View):
    key: str | None
    count: int


class DemandStatsView(View):
    total: int
    by_sector: list[CountView]
    by_city: list[CountView]
    by_status: list[CountView]
    by_month: list[MonthCountView]


class MatchStatsView(View):
    total: int
    by_mode: list[CountView]
    by_status: list[CountView]


class DurationView(View):
    count: int
    median: float | None
    mean: float | None


class RewardStatsView(View):
    total_yuan: int = Field(description="奖补 committed and paid, integer yuan")


class CalendarYearsView(View):
    """The years the official calendar knows (the shipped table's and those officials entered); a date in
    any other year counts Monday–Friday and is marked provisional."""

    years: list[int]


class OfficeView(View):
    """An office of the region: province, city or county."""

    code: str
    name: str
    display_name: str
    level: str
    level_label: str
    parent: str | None


class IntermediaryView(View):
    """An intermediary and the area it is registered for (None: the whole province)."""

    id: int
    name: str
    city: str
    area_code: str | None
    area_name: str


class OfficeStatsView(View):
    """One office's line under the caller's: the figures of enterprises located in its area, and the review
    steps that office itself took (初审 recommendations and send-backs, approvals and rejections)."""

    code: str
    name: str
    level: str
    demands: int
    matches: int
    approved: int
    rewarded_yuan: int
    decisions_taken: int
    awaiting_its_review: int


class StatsView(View):
    """The officials' summary: demands and matches by their dimensions, time to approval, rewards, and the
    same by office (the caller's office, then each office directly below it)."""

    demands: DemandStatsView
    matches: MatchStatsView
    time_to_approval_days: DurationView
    rewards: RewardStatsView
    by_office: list[OfficeStatsView] = Field(default_factory=list)


class UserTokenView(View):
    """A user's token, shown once (created or rotated)."""

    username: str
    token: str
    role: str | None = None


class UserStateView(View):
    username: str
    active: bool


class RevokedView(View):
    talent_id: int
    revoked: int


class TokenView(View):
    token: str
    token_type: str = "bearer"


class ScanView(View):
    """A duplicate scan: records looked at, pairs found, new pairs, open pairs whose evidence changed."""

    records: int
    pairs_found: int
    new_pairs: int
    refreshed: int


# ------------------------------------------------------------------ time limits and the 督查 list
# (``services/programme/deadlines.py`` computes them)
Kind = Literal["demand", "match"]
Stage = Literal["take_up", "first_contact", "review", "reward_decision", "promised_items"]
DueStatus = Literal["due", "due_soon", "overdue"]
UnitKind = Literal["intermediary", "office", "enterprise"]


class DueItem(View):
    """One open item with its time limit: what waits, on whom, since when, due when, and how it stands."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    kind: Kind
    id: int  # the demand's id, or the match's
    demand_id: int
    title: str  # the demand's
    mode: str | None  # the match's mode; for a demand, the mode whose programme gave the binding limit
    stage: Stage
    stage_label: str
    started: date
    due: date
    limit_days: int
    status: DueStatus
    working_days_left: int  # negative once overdue: the working days since the due date (at least 1)
    provisional: bool  # a year the count went through has no entered holidays: the date may still move
    unit_kind: UnitKind
    unit_id: int | None  # an intermediary's or enterprise's id (None for an office)
    unit_code: str | None  # an office's code (None for an intermediary or enterprise)
    unit_name: str
    county_code: str | None  # the office whose area holds the enterprise; None when its county is unknown
    programme: str  # key@version of the rules the limit came from


class SkippedItem(View):
    """An item waiting on a step that no configured programme gives a time limit, and why."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    kind: Kind
    id: int
    demand_id: int
    stage: Stage
    reason: str


class UnitSummary(View):
    """The 督查 line of one responsible unit: its counts, and the overdue items themselves."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    unit_kind: UnitKind
    unit_id: int | None
    unit_code: str | None
    unit_name: str
    overdue: int
    due_soon: int
    due: int
    overdue_items: tuple[DueItem, ...]


class OfficeSummary(View):
    """The 督查 line of one office's area: the items of enterprises located in it (a city's counts are its
    counties', the province's everything, with the enterprises of unknown county)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    code: str
    name: str
    level: OfficeLevel
    level_label: str
    overdue: int
    due_soon: int
    due: int
    overdue_items: tuple[DueItem, ...]


class Oversight(View):
    """The 督查 summary as the actor may see it: totals, per responsible unit, per office area."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    today: date
    overdue: int
    due_soon: int
    due: int
    units: tuple[UnitSummary, ...]
    offices: tuple[OfficeSummary, ...]
    skipped: tuple[SkippedItem, ...]


# ---------------------------------------------------------------------------------------------- engagements
class AttachmentView(View):
    id: int
    purpose: str
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: str | None


class ConfirmationView(View):
    party: str
    party_label: str
    user_id: int | None
    role: str
    pdf_sha256: str
    confirmed_at: str | None
    on_behalf: bool = Field(default=False, description="the office confirmed for a talent without an account")


class AgreementView(View):
    id: int
    version: int
    status: str
    terms: dict[str, Any]
    pdf_sha256: str
    change_reason: str
    confirmations: list[ConfirmationView]
    awaiting: list[str] = Field(default_factory=list, description="parties yet to confirm this version")
    scan: AttachmentView | None = None
    created_at: str | None


class PeriodView(View):
    number: int
    start: str
    end: str
    engagement_year: int
    label: str
    forms: list[str] = Field(default_factory=list, description="parties whose assessment form is in")
    grade: str | None = None
    reward_status: str | None = None


class EngagementView(View):
    id: int
    match_id: int
    demand_id: int
    demand_title: str
    talent_id: int
    talent_name: str
    enterprise_name: str
    intermediary_id: int | None
    programme: str = Field(description="programme@version")
    mode: str
    status: str
    start_date: str
    end_date: str
    days_on_site_per_month: int
    graded_by_office: str
    assessment_period: str
    started_at: str | None
    ended_at: str | None
    end_reason: str
    agreement: AgreementView | None
    periods: list[PeriodView] = Field(default_factory=list)


class ServiceRecordView(View):
    id: int
    service_date: str
    days_on_site: float
    remote_hours: float
    tasks: str
    results: dict[str, int]
    attachments: list[int]
    recorded_role: str
    created_at: str | None


class MonthTotalView(View):
    month: str
    days_on_site: float
    remote_hours: float
    agreed_days: int
    short: bool


class ServiceSummaryView(View):
    records: list[ServiceRecordView]
    months: list[MonthTotalView]
    short_months: int
    results: dict[str, int]


class AssessmentView(View):
    period: int
    party: str
    scores: dict[str, int]
    comment: str
    created_at: str | None


class GradeView(View):
    period: int
    grade: str
    grade_label: str
    evidence: str
    office_code: str
    created_at: str | None


class RewardStepView(View):
    label: str
    value: str
    note: str = ""


class TeamShareView(View):
    """A team member's part of a 奖补 paid to the talent, by the agreement's shares."""

    talent_id: int
    name: str
    percent: int
    amount_yuan: int


class RewardView(View):
    id: int
    engagement_id: int
    period: int
    year: int
    programme_key: str
    rule_version: str
    payee: str
    grade: str
    base_yuan: int | None
    computed_yuan: int
    amount_yuan: int
    amount_text: str = Field(description="the amount in 万元, as users read it")
    steps: list[RewardStepView]
    shares: dict[str, int] = Field(description="office code → yuan charged to its budget")
    status: str
    override_reason: str
    override_by: int | None
    override_approved_by: int | None
    paid_at: str | None
    created_at: str | None
    team_split: list[TeamShareView] = Field(default_factory=list, description="a team's parts of an amount paid "
                                            "to the talent (lead first), by the agreement's shares")


class BudgetView(View):
    id: int
    programme_key: str
    office_code: str
    year: int
    total_yuan: int
    committed_yuan: int
    paid_yuan: int
    available_yuan: int


class SavedSearchView(View):
    """A saved search (``services/inbox/alerts``): the board's filters, or a followed demand."""

    id: int
    kind: str = Field(description="demands: new demands on the board matching the filters; talents: talents "
                      "entering a followed demand's top list")
    name: str
    filters: dict[str, str]
    demand_id: int | None
    demand_title: str | None
    active: bool
    runs: int
    last_run_at: str | None
    created_at: str | None


class InboxItemView(View):
    """A to-do or a notice in the caller's inbox (``services/inbox``)."""

    id: int
    kind: str
    kind_label: str
    notice: bool = Field(description="asks nothing: closed when read")
    title: str
    link: str
    entity: str
    entity_id: str
    created_at: str | None
    read_at: str | None
    closed_at: str | None
    closed_by_action: str


class DeliveryView(View):
    """One delivery of an inbox item over one channel (the outbox's row)."""

    id: int
    key: str = Field(description="the stable id the receiver sees (Message-ID, webhook-id)")
    item_id: int
    channel: str
    target: str
    status: str
    attempts: int
    last_error: str
    sent_at: str | None


class WebhookView(View):
    id: int
    office_code: str
    url: str
    flavour: str
    active: bool
    failures: int
    disabled_reason: str
    secret: str | None = Field(default=None, description="shown once, when the webhook is registered")
