"""Demands: post (出榜), edit, withdraw, take up (揭榜), proposals, shortlist, history; the completeness
check as the enterprise types (assess), the office's 待完善 queue (publish, return with a note) and the
揭榜 deadline (extend)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from api.deps import ActorDep, DbDep, DemandId, Limit, Offset, PoolDep, RuntimeDep
from api.schemas import (
    DemandDraftIn,
    DemandExtendIn,
    DemandIn,
    DemandPatch,
    DemandReturnIn,
    Page,
    ProposalPage,
    ShortlistIn,
)
from matcher.domain import modes
from matcher.domain.vocabulary import DemandStatus, InstitutionType, Role, Sector
from matcher.engine.pool import Filters
from matcher.services.access import require
from matcher.services.people.talents import check_tier
from matcher.services.workflow import demands as svc
from matcher.services.workflow import matches as match_svc
from matcher.validation import ModeCode
from matcher.views import CompletenessView, DemandView, HistoryEventView, MatchView

router = APIRouter(prefix="/api/v1/demands", tags=["demands"])


@router.post("", status_code=201, response_model=DemandView, summary="Post a demand (出榜) — enterprise")
def post_demand(db: DbDep, pool: PoolDep, actor: ActorDep, body: DemandIn) -> Any:
    return svc.create_demand(db, actor, body.model_dump(), pool)


@router.post("/assess", response_model=CompletenessView,
             summary="Completeness score and hints for a draft (the live form) — enterprise; nothing is written")
def assess(actor: ActorDep, body: DemandDraftIn) -> Any:
    require(actor, Role.ENTERPRISE)
    return svc.assessment(body.model_dump())


@router.get("", response_model=Page[DemandView],
            summary="Demands visible to the caller (status=incomplete: an office's 待完善 queue)")
def list_demands(
    db: DbDep,
    actor: ActorDep,
    status: DemandStatus | None = None,
    sector: Sector | None = None,
    city: str | None = None,
    mode: ModeCode | None = None,
    q: str | None = Query(None, max_length=100),
    programme: str | None = Query(None, max_length=40, description="the programme's key (programme file)"),
    limit: Limit = 20,
    offset: Offset = 0,
) -> Any:
    items, total = svc.list_demands(
        db, actor, status=status, sector=sector, city=city, mode=mode, q=q, programme=programme, limit=limit,
        offset=offset
    )
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.get("/{demand_id}", response_model=DemandView)
def get_demand(db: DbDep, actor: ActorDep, demand_id: DemandId) -> Any:
    return svc.get_demand(db, actor, demand_id)


@router.patch("/{demand_id}", response_model=DemandView, summary="Edit an open demand — its enterprise")
def patch_demand(db: DbDep, pool: PoolDep, actor: ActorDep, demand_id: DemandId, body: DemandPatch) -> Any:
    return svc.update_demand(db, actor, demand_id, body.model_dump(exclude_unset=True), pool)


@router.post("/{demand_id}/publish", response_model=DemandView,
             summary="Put a 待完善 demand on the board — an official (or its enterprise once it passes the check)")
def publish(db: DbDep, actor: ActorDep, demand_id: DemandId) -> Any:
    return svc.publish(db, actor, demand_id)


@router.post("/{demand_id}/return", response_model=DemandView,
             summary="Send a 待完善 demand back to its enterprise with a note — official")
def return_demand(db: DbDep, actor: ActorDep, demand_id: DemandId, body: DemandReturnIn) -> Any:
    return svc.return_demand(db, actor, demand_id, body.note)


@router.post("/{demand_id}/extend", response_model=DemandView,
             summary="Extend the 揭榜 deadline of an open or expired demand — official")
def extend(db: DbDep, actor: ActorDep, demand_id: DemandId, body: DemandExtendIn) -> Any:
    return svc.extend(db, actor, demand_id, body.deadline)


@router.post("/{demand_id}/withdraw", response_model=DemandView, summary="Withdraw — its enterprise")
def withdraw(db: DbDep, pool: PoolDep, actor: ActorDep, demand_id: DemandId) -> Any:
    return svc.withdraw(db, actor, demand_id, pool)


@router.post("/{demand_id}/close", response_model=DemandView, summary="Close — its enterprise or an official")
def close(db: DbDep, pool: PoolDep, actor: ActorDep, demand_id: DemandId) -> Any:
    return svc.close(db, actor, demand_id, pool)


@router.post(
    "/{demand_id}/take-up",
    response_model=DemandView,
    summary="Take the demand up (揭榜) — intermediary; 409 if another was first",
)
def take_up(db: DbDep, actor: ActorDep, demand_id: DemandId) -> Any:
    return svc.take_up(db, actor, demand_id)


@router.get(
    "/{demand_id}/matches",
    response_model=ProposalPage,
    summary="Ranked talents for the demand in one engagement mode, with explanations, calibrated probabilities "
            "and the list's verdict (no suitable expert in the pool)",
)
def proposals(
    runtime: RuntimeDep,
    db: DbDep,
    pool: PoolDep,
    actor: ActorDep,
    demand_id: DemandId,
    mode: ModeCode = modes.DEFAULT,
    k: int = Query(10, ge=1, le=100),
    offset: int = Query(0, ge=0, le=1000),
    sector: Sector | None = None,
    city: str | None = None,
    institution_type: InstitutionType | None = None,
    tier: str | None = Query(None, max_length=20, description="only talents of this tier (英才计划: code or label)"),
    include_excluded: bool = False,
) -> Any:
    filters = Filters(sector=sector, city=city, institution_type=institution_type, tier=check_tier(tier))
    items, total, verdict = svc.propose_with_verdict(
        db, pool, actor, demand_id, mode, k=k, offset=offset, filters=filters, include_excluded=include_excluded,
        impressions=runtime.impressions,
    )
    return {"items": items, "total": total, "limit": k, "offset": offset, "verdict": verdict}


@router.post(
    "/{demand_id}/shortlist",
    status_code=201,
    response_model=MatchView,
    summary="Shortlist a talent for the demand — the intermediary that took it up",
)
def shortlist(db: DbDep, pool: PoolDep, actor: ActorDep, demand_id: DemandId, body: ShortlistIn) -> Any:
    return match_svc.shortlist(
        db, pool, actor, demand_id, body.talent_id, body.mode, body.flexible_form.value if body.flexible_form else None
    )


@router.get("/{demand_id}/history", response_model=list[HistoryEventView],
            summary="Audit history: a demand and its matches for officials; its own events for the enterprise")
def history(db: DbDep, actor: ActorDep, demand_id: DemandId) -> Any:
    return svc.history(db, actor, demand_id)
