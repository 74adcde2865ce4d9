"""Intermediaries: the board of posted demands, taking one up (揭榜), shortlisting proposed talents."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api import forms
from api.console.enterprise import demand_list
from api.console.web import actor, back
from api.deps import DemandId, RuntimeDep
from api.schemas import ShortlistIn
from matcher.errors import Invalid
from matcher.services.workflow import demands as demand_svc
from matcher.services.workflow import matches as match_svc

router = APIRouter()


@router.get("/console/board", response_class=HTMLResponse)
def board(request: Request, runtime: RuntimeDep) -> HTMLResponse:
    return demand_list(request, runtime, "揭榜大厅（在榜需求与我承接的需求）")


@router.post("/console/demands/{demand_id}/take-up", response_model=None)
def take_up(request: Request, runtime: RuntimeDep, demand_id: DemandId) -> Response:
    demand_svc.take_up(runtime.db, actor(request), demand_id)
    return back(f"/console/demands/{demand_id}", "taken_up")


@router.post("/console/demands/{demand_id}/shortlist", response_model=None)
async def shortlist(request: Request, runtime: RuntimeDep, demand_id: DemandId) -> Response:
    body, errors = forms.parse(ShortlistIn, forms.form_values(await request.form()))
    if body is None:
        raise Invalid("；".join(errors.values()))
    m = match_svc.shortlist(runtime.db, runtime.ready_pool(), actor(request), demand_id,
                            body.talent_id, body.mode, body.flexible_form.value if body.flexible_form else None)
    return back(f"/console/matches/{m.id}", "shortlisted")
