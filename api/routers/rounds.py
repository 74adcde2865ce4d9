"""Matching rounds for all open demands at once — officials start them and read their reports."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from api.deps import RoundId, get_actor, get_db
from api.schemas import RoundIn
from matcher.services import rounds as svc
from matcher.services.access import Actor
from matcher.storage.db import Database

router = APIRouter(prefix="/api/v1/rounds", tags=["rounds"])


@router.post("", status_code=202, summary="Start a round (background job) — officials")
def start(body: RoundIn, request: Request, db: Database = Depends(get_db),
          actor: Actor = Depends(get_actor)) -> dict[str, Any]:
    params = svc.RoundParams(**body.model_dump())
    r = svc.start_round(db, actor, params)
    runtime = request.app.state.runtime
    request.app.state.jobs.submit(lambda: svc.run_round(db, runtime.pool, r["id"]))
    return r


@router.get("", summary="Recent rounds — officials")
def list_rounds(db: Database = Depends(get_db), actor: Actor = Depends(get_actor)) -> list[dict[str, Any]]:
    return svc.list_rounds(db, actor)


@router.get("/{round_id}", summary="A round's stage, progress and report — officials")
def get_round(round_id: RoundId, db: Database = Depends(get_db), actor: Actor = Depends(get_actor)) -> dict[str, Any]:
    return svc.get_round(db, actor, round_id)
