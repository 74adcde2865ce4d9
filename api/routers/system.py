"""Liveness, readiness and the caller's identity."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.deps import AnyActorDep

router = APIRouter(tags=["system"])


@router.get("/health", summary="Liveness: the process answers")
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/ready",
    summary="Readiness: database reachable and matching index loaded",
    responses={503: {"description": "not ready yet (index still building)"}},
)
def ready(request: Request) -> JSONResponse:
    runtime = request.app.state.runtime
    try:
        with request.app.state.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        db_ok = True
    except Exception:
        db_ok = False
    pool = runtime.pool
    body: dict[str, Any] = {
        "ready": bool(db_ok and pool is not None and pool.ready),
        "database": db_ok,
        "index": bool(pool is not None and pool.ready),
        "index_status": runtime.status,
        "talents_indexed": len(pool.facts) if pool is not None else 0,
        "ranker": f"ltr-{runtime.ranker_version}" if runtime.ranker_version else "hand",
        # the modes the learned model re-orders (the hand weights rank the others)
        "ranker_modes": list(pool.learned.modes) if pool is not None and pool.learned is not None else [],
    }
    return JSONResponse(body, status_code=200 if body["ready"] else 503)


@router.get("/api/v1/me", summary="Who the token belongs to (a talent's own record: /api/v1/me/record)")
def me(actor: AnyActorDep) -> dict[str, Any]:
    return {
        "user_id": actor.user_id,
        "role": actor.role,
        "name": actor.name,
        "enterprise_id": actor.enterprise_id,
        "intermediary_id": actor.intermediary_id,
        "talent_id": actor.talent_id,
    }
