"""Matching rounds for all open demands at once — officials start them and read their reports."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ActorDep, DbDep, RoundId, RuntimeDep
from api.schemas import RoundIn
from matcher.services.workflow import rounds as svc
from matcher.views import RoundView

router = APIRouter(prefix="/api/v1/rounds", tags=["rounds"])


@router.post("", status_code=202, summary="Start a round (a background job of kind 'round') — officials")
def start(actor: ActorDep, body: RoundIn, runtime: RuntimeDep) -> RoundView:
    return runtime.schedule_round(actor, svc.RoundParams(**body.model_dump()))


@router.get("", summary="Recent rounds — officials")
def list_rounds(db: DbDep, actor: ActorDep) -> list[RoundView]:
    return svc.list_rounds(db, actor)


@router.get("/{round_id}", summary="A round's stage, progress and report — officials")
def get_round(db: DbDep, actor: ActorDep, round_id: RoundId) -> RoundView:
    return svc.get_round(db, actor, round_id)
