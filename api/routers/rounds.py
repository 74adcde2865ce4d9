"""Matching rounds for all open demands at once — officials start them and read their reports."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from api.deps import get_actor, get_db
from matcher.domain import Sector
from matcher.services import rounds as svc
from matcher.services.access import Actor
from matcher.storage.db import Database

router = APIRouter(prefix="/api/v1/rounds", tags=["rounds"])


class RoundIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"sector": "coal_chemical", "proposals_wanted": 3, "forbidden_pairs": [[12, 345]]}]})

    sector: Sector | None = None
    city: str | None = Field(default=None, max_length=50)
    proposals_wanted: int = Field(default=3, ge=1, le=20)
    per_demand: dict[int, int] = Field(default_factory=dict, description="demand id → proposals wanted")
    forbidden_pairs: list[tuple[int, int]] = Field(default_factory=list, description="[demand id, talent id]")
    forced_pairs: list[tuple[int, int]] = Field(default_factory=list, description="[demand id, talent id]")
    candidates_per_mode: int = Field(default=30, ge=5, le=200)
    max_posts_per_talent: int = Field(default=2, ge=1, le=10)
    time_limit: float = Field(default=120.0, ge=1, le=3600)


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
def get_round(round_id: int, db: Database = Depends(get_db), actor: Actor = Depends(get_actor)) -> dict[str, Any]:
    return svc.get_round(db, actor, round_id)
