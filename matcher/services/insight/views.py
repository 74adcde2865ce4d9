"""The typed answers of the office's view (issue "policy intelligence"): what the API sends, what the console's
charts read (the same JSON) and what a 通报 freezes. Every answer carries the time its figures were computed."""

from __future__ import annotations

from pydantic import Field

from matcher.views import View


class Computed(View):
    computed_at: str = Field(description="When the figures were computed (UTC, ISO 8601); at most "
                                         "insight_refresh_seconds old.")
    office_code: str = Field(description="The office whose area the figures cover.")
    office_name: str


class NearTalentView(View):
    talent_id: int
    name: str
    affiliation: str
    probability: float | None
    eligible: bool
    excluded_by: str | None = None


class UnmetDemandView(View):
    """A demand (in one mode) among whose first candidates nobody is eligible and likely right."""

    demand_id: int
    title: str
    sector: str
    sector_label: str
    mode: str
    mode_label: str
    city: str
    best_probability: float | None
    nearest: list[NearTalentView]


class GapCellView(View):
    """One cell of the gap map: the (demand, mode) pairs of one value of the dimension."""

    key: str
    label: str
    pairs: int = Field(description="Demand × mode pairs in the cell (a demand open to three modes counts thrice).")
    demands: int
    wanted: int = Field(description="Σ proposals wanted over the pairs.")
    covered: int = Field(description="Σ min(supply, wanted): the wanted proposals the pool can fill well.")
    supply_ratio: float = Field(description="covered / wanted (1: every wanted proposal has a likely-right, "
                                            "eligible, free talent).")
    shortage_index: float = Field(description="1 − supply_ratio.")
    unmet: int = Field(description="Pairs with no supply at all (the list says nobody fits).")
    median_supply: float
    flagged: bool = Field(description="supply_ratio below insight_shortage_ratio: 急需紧缺.")
    drill: str | None = Field(default=None, description="The office code to drill into (area cells).")


class TopicView(View):
    name: str
    phrases: list[str]
    size: int
    demand_ids: list[int]
    typical_title: str


class GapMapView(Computed):
    dimension: str
    dimension_label: str
    depth: int
    threshold: float | None
    threshold_source: str
    shortage_ratio: float
    supply_computed_at: str | None = Field(description="When the supply rows were computed (the refresh job).")
    cells: list[GapCellView]
    unmet_demands: list[UnmetDemandView]
    topics: list[TopicView] = Field(description="The unmet demands' topics: what kind of expert is missing.")


class StageView(View):
    key: str
    label: str
    reached: int
    conversion: float | None = Field(description="Share of the previous stage's demands that reached this one.")
    share_of_posted: float | None


class IntervalView(View):
    start: str
    end: str
    label: str
    count: int
    median_days: float | None = Field(description="Median working days (official calendar).")
    p90_days: float | None


class StallView(View):
    """Live demands whose last stage reached is ``stage``: how many wait there and for how long."""

    stage: str
    label: str
    waiting: int
    median_days_waiting: float | None


class FunnelGroupView(View):
    key: str
    label: str
    reached: list[int]
    median_days_to_approval: float | None


class HandoverShareView(View):
    stage: str
    stage_label: str
    unit_kind: str
    unit: str
    unit_label: str
    done: int
    within: int
    share_within: float
    median_days: float | None
    limit_days: int


class FunnelView(Computed):
    group_by: str | None
    stages: list[StageView]
    intervals: list[IntervalView]
    stalls: list[StallView]
    groups: list[FunnelGroupView]
    handovers: list[HandoverShareView]


class IntermediaryRecordView(View):
    rank: int
    intermediary_id: int
    name: str
    taken_up: int
    matches_approved: int
    median_days_to_match: float | None = Field(description="Working days from 揭榜 to the first approval.")
    share_within_limits: float | None
    enterprise_score: float | None = Field(description="Mean of the enterprises' assessment scores (1–5).")


class EnterpriseRecordView(View):
    rank: int
    enterprise_id: int
    name: str
    posted: int
    completed: int
    engagements_graded: int
    mean_grade: float | None = Field(description="Mean grade points (优秀 4, 良好 3, 合格 2, 不合格 1).")


class TalentRecordView(View):
    rank: int
    talent_id: int
    name: str
    engagements: int
    graded: int
    grades: list[str]
    mean_grade: float | None


class TrackRecordsView(Computed):
    intermediaries: list[IntermediaryRecordView]
    enterprises: list[EnterpriseRecordView]
    talents: list[TalentRecordView] = Field(description="Officials only: empty for anyone else.")


class TrendView(View):
    name: str
    phrases: list[str]
    before: int
    after: int
    change: int
    growth: float
    demand_ids: list[int]
    typical_title: str


class MomentumView(Computed):
    before: str = Field(description="The earlier quarter (YYYYQn).")
    after: str
    trends: list[TrendView] = Field(description="Risers first, fallers last.")


class ReportView(View):
    id: int
    office_code: str
    office_name: str
    period_start: str
    period_end: str
    created_at: str
    versions: dict[str, str]
    xlsx_url: str
    pdf_url: str


class CellDemandView(View):
    """One (demand, mode) pair behind a gap-map cell."""

    demand_id: int
    title: str
    mode: str
    mode_label: str
    city: str
    status: str
    wanted: int
    supply: int
    best_probability: float | None


class CellListView(Computed):
    dimension: str
    key: str
    label: str
    items: list[CellDemandView]  # one page, least supplied first
    total: int  # the pairs in the cell
    limit: int
    offset: int
