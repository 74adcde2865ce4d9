"""Matches through review: contact, submit, review, outcome (the engagement after approval: engagements.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from api.deps import ActorDep, DbDep, Limit, MatchId, Offset, OptionalId, PoolDep
from api.schemas import ContactIn, MemberIn, OutcomeIn, Page, ReviewIn, SubmitIn, SupplyIn
from matcher.domain.vocabulary import Role
from matcher.services.access import require
from matcher.services.workflow import matches as svc
from matcher.services.workflow import stats, teams
from matcher.validation import MAX_ID
from matcher.views import MatchView, StatsView, TeamMemberView

router = APIRouter(prefix="/api/v1", tags=["matches"])


@router.get("/matches", response_model=Page[MatchView], summary="Matches visible to the caller")
def list_matches(
    db: DbDep,
    actor: ActorDep,
    status: str | None = None,
    demand_id: OptionalId = None,
    mode: str | None = None,
    programme: str | None = Query(None, max_length=40, description="the programme's key (programme file)"),
    limit: Limit = 20,
    offset: Offset = 0,
) -> Any:
    items, total = svc.list_matches(
        db, actor, status=status, demand_id=demand_id, mode=mode, programme=programme, limit=limit, offset=offset
    )
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.get("/reviews/queue", response_model=Page[MatchView],
            summary="Matches awaiting a review step the caller's office takes — officials")
def review_queue(db: DbDep, actor: ActorDep, limit: Limit = 20, offset: Offset = 0, every_office: bool = False) -> Any:
    """The office's queue: matches whose current step (初审 / 终审 / 审核) is the caller's office's. With
    ``every_office=true``: every match in review in the office's area, whichever office's step it awaits."""
    require(actor, Role.OFFICIAL)
    status = "awaiting_review" if every_office else "awaiting_my_review"
    items, total = svc.list_matches(db, actor, status=status, limit=limit, offset=offset)
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.get("/matches/{match_id}", response_model=MatchView)
def get_match(db: DbDep, actor: ActorDep, match_id: MatchId) -> Any:
    return svc.get_match(db, actor, match_id)


@router.post(
    "/matches/{match_id}/contacts",
    response_model=MatchView,
    summary="Record a contact attempt and the talent's answer — intermediary",
)
def contact(db: DbDep, actor: ActorDep, match_id: MatchId, body: ContactIn) -> Any:
    return svc.record_contact(db, actor, match_id, body.note, body.answer)


@router.post(
    "/matches/{match_id}/submit",
    response_model=MatchView,
    summary="Submit (or resubmit after rejection) for review — intermediary",
)
def submit(db: DbDep, actor: ActorDep, match_id: MatchId, body: SubmitIn) -> Any:
    return svc.submit(db, actor, match_id, body.plan)


@router.post("/matches/{match_id}/review", response_model=MatchView,
             summary="Decide the review step the match waits at (recommend, send back, approve, reject) — officials")
def review(db: DbDep, pool: PoolDep, actor: ActorDep, match_id: MatchId, body: ReviewIn) -> Any:
    return svc.review(db, pool, actor, match_id, body.decision, body.reason, body.missing_items, body.promised_by)


@router.post("/matches/{match_id}/supply", response_model=MatchView,
             summary="Supply items accepted as missing (容缺) — the intermediary")
def supply(db: DbDep, actor: ActorDep, match_id: MatchId, body: SupplyIn) -> Any:
    return svc.supply(db, actor, match_id, body.items)


@router.post(
    "/matches/{match_id}/outcome",
    response_model=MatchView,
    summary="Report the outcome — the enterprise or the intermediary",
)
def outcome(db: DbDep, actor: ActorDep, match_id: MatchId, body: OutcomeIn) -> Any:
    return svc.report_outcome(db, actor, match_id, body.result, body.text)


@router.get("/stats", response_model=StatsView, summary="Summary statistics — officials")
def summary(db: DbDep, actor: ActorDep) -> Any:
    return stats.summary(db, actor)


@router.post("/matches/{match_id}/members", response_model=list[TeamMemberView], status_code=201,
             summary="Name a team member besides the lead, with duties and share — the intermediary, before review")
def add_member(db: DbDep, pool: PoolDep, actor: ActorDep, match_id: MatchId, body: MemberIn) -> Any:
    """Consent, capacity in the match's mode and the mode's rules (conflicts of interest, availability) are
    checked for the member as they were for the lead; a 科技博士服务团 match needs at least two members."""
    return teams.add_member(db, pool, actor, match_id, body.talent_id, body.duties, body.share_percent)


@router.delete("/matches/{match_id}/members/{talent_id}", response_model=list[TeamMemberView],
               summary="Remove a team member — the intermediary, before review")
def remove_member(db: DbDep, actor: ActorDep, match_id: MatchId,
                  talent_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> Any:
    return teams.remove_member(db, actor, match_id, talent_id)
