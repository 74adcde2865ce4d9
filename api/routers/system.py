"""Liveness, readiness and the caller's identity."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import AnyActorDep, RuntimeDep
from matcher.views import ReadyView, WhoAmIView

router = APIRouter(tags=["system"])


@router.get("/health", summary="Liveness: the process answers")
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/ready",
    response_model=ReadyView,
    summary="Readiness: database reachable and matching index loaded",
    responses={503: {"model": ReadyView, "description": "not ready yet (index still building)"}},
)
def ready(runtime: RuntimeDep) -> JSONResponse:
    body = runtime.readiness()
    return JSONResponse(body.model_dump(), status_code=200 if body.ready else 503)


@router.get("/api/v1/me", response_model=WhoAmIView,
            summary="Who the token belongs to (a talent's own record: /api/v1/me/record)")
def me(actor: AnyActorDep) -> WhoAmIView:
    return WhoAmIView(user_id=actor.user_id, role=actor.role, name=actor.name, enterprise_id=actor.enterprise_id,
                      intermediary_id=actor.intermediary_id, talent_id=actor.talent_id)
