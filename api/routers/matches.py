"""Matches through review: contact, submit, review, confirm, outcome, 奖补."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from api.deps import Limit, MatchId, Offset, OptionalId, get_actor, get_db, get_pool
from api.schemas import ContactIn, MatchOut, OutcomeIn, Page, ReviewIn, RewardIn, SubmitIn
from matcher.domain import Role
from matcher.engine.pool import TalentPool
from matcher.services import matches as svc
from matcher.services import stats
from matcher.services.access import Actor, require
from matcher.storage.db import Database

router = APIRouter(prefix="/api/v1", tags=["matches"])


@router.get("/matches", response_model=Page[MatchOut], summary="Matches visible to the caller")
def list_matches(status: str | None = None, demand_id: OptionalId = None, mode: str | None = None,
                 limit: Limit = 20, offset: Offset = 0,
                 db: Database = Depends(get_db), actor: Actor = Depends(get_actor)) -> Any:
    items, total = svc.list_matches(db, actor, status=status, demand_id=demand_id, mode=mode, limit=limit,
                                    offset=offset)
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.get("/reviews/queue", response_model=Page[MatchOut], summary="Matches awaiting review — officials")
def review_queue(limit: Limit = 20, offset: Offset = 0,
                 db: Database = Depends(get_db), actor: Actor = Depends(get_actor)) -> Any:
    require(actor, Role.OFFICIAL)
    items, total = svc.list_matches(db, actor, status="awaiting_review", limit=limit, offset=offset)
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.get("/matches/{match_id}", response_model=MatchOut)
def get_match(match_id: MatchId, db: Database = Depends(get_db), actor: Actor = Depends(get_actor)) -> Any:
    return svc.get_match(db, actor, match_id)


@router.post("/matches/{match_id}/contacts", response_model=MatchOut,
             summary="Record a contact attempt and the talent's answer — intermediary")
def contact(match_id: MatchId, body: ContactIn, db: Database = Depends(get_db),
            actor: Actor = Depends(get_actor)) -> Any:
    return svc.record_contact(db, actor, match_id, body.note, body.answer)


@router.post("/matches/{match_id}/submit", response_model=MatchOut,
             summary="Submit (or resubmit after rejection) for review — intermediary")
def submit(match_id: MatchId, body: SubmitIn, db: Database = Depends(get_db), actor: Actor = Depends(get_actor)) -> Any:
    return svc.submit(db, actor, match_id, body.plan)


@router.post("/matches/{match_id}/review", response_model=MatchOut, summary="Approve or reject — officials")
def review(match_id: MatchId, body: ReviewIn, db: Database = Depends(get_db),
           pool: TalentPool | None = Depends(get_pool), actor: Actor = Depends(get_actor)) -> Any:
    return svc.review(db, pool, actor, match_id, body.decision, body.reason)


@router.post("/matches/{match_id}/confirm", response_model=MatchOut,
             summary="Confirm the engagement started — the enterprise")
def confirm(match_id: MatchId, db: Database = Depends(get_db), actor: Actor = Depends(get_actor)) -> Any:
    return svc.confirm(db, actor, match_id)


@router.post("/matches/{match_id}/outcome", response_model=MatchOut,
             summary="Report the outcome — the enterprise or the intermediary")
def outcome(match_id: MatchId, body: OutcomeIn, db: Database = Depends(get_db),
            actor: Actor = Depends(get_actor)) -> Any:
    return svc.report_outcome(db, actor, match_id, body.result, body.text)


@router.post("/matches/{match_id}/reward", response_model=MatchOut, summary="Decide 奖补 — officials")
def reward(match_id: MatchId, body: RewardIn, db: Database = Depends(get_db),
           pool: TalentPool | None = Depends(get_pool), actor: Actor = Depends(get_actor)) -> Any:
    return svc.decide_reward(db, pool, actor, match_id, body.qualifies, body.amount, body.reason)


@router.get("/stats", summary="Summary statistics — officials")
def summary(db: Database = Depends(get_db), actor: Actor = Depends(get_actor)) -> Any:
    return stats.summary(db, actor)
