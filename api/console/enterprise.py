"""Enterprises: their demands, posting one (出榜) with the API's own validation, withdrawing it; and
the demand page every role reaches (its proposals per mode, its matches, its history)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api import forms
from api.console.web import actor, back, page
from api.deps import DemandId, RuntimeDep
from api.schemas import DemandIn
from matcher.domain import modes
from matcher.domain.vocabulary import DemandStatus, Role, Sector
from matcher.engine.pool import Filters
from matcher.errors import Invalid, NotReady
from matcher.reference import industry_codes, region
from matcher.services.workflow import demands as demand_svc
from matcher.services.workflow import matches as match_svc
from matcher.views import ProposalView

router = APIRouter()


def demand_list(request: Request, runtime: RuntimeDep, title: str) -> HTMLResponse:
    who = actor(request)
    q = request.query_params
    filters = {k: q.get(k) or None for k in ("status", "sector", "city", "mode")}
    items, total = demand_svc.list_demands(runtime.db, who, status=filters["status"],
                                           sector=filters["sector"], city=filters["city"], mode=filters["mode"],
                                           limit=100)
    return page(request, "demands.html", who, title=title, items=items, total=total, filters=filters,
                statuses=[s.value for s in DemandStatus], sectors=[s.value for s in Sector], cities=region().cities,
                modes=list(modes.codes()))


@router.get("/console/demands", response_class=HTMLResponse)
def demands_page(request: Request, runtime: RuntimeDep) -> HTMLResponse:
    return demand_list(request, runtime, "我的需求" if actor(request).role == Role.ENTERPRISE else "全部需求")


def _form_ctx(values: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    return {"values": values, "errors": errors, "sectors": [s.value for s in Sector], "cities": region().cities,
            "modes": list(modes.codes()), "industries": sorted(industry_codes().items()),
            "default_mode": modes.DEFAULT, "title": "发布技术需求（出榜）", "action": "/console/demands",
            "submit_label": "发布需求"}


@router.get("/console/demands/new", response_class=HTMLResponse)
def new_demand(request: Request) -> HTMLResponse:
    return page(request, "demand_form.html", actor(request), **_form_ctx({}, {}))


@router.post("/console/demands", response_model=None)
async def create_demand(request: Request, runtime: RuntimeDep) -> Response:
    who = actor(request)
    form = await request.form()
    fields = ("title", "description", "sector", "industry_code", "city", "budget_min", "budget_max",
              "duration_months", "deadline")
    shown: dict[str, Any] = {k: str(form.get(k) or "") for k in fields}
    shown.update(modes=[str(m) for m in form.getlist("modes")], keywords_text=str(form.get("keywords") or ""))
    body, errors = forms.parse(DemandIn, forms.form_values(form, lists=("modes",), split=("keywords",)))
    if body is not None:
        try:
            d = demand_svc.create_demand(runtime.db, who, body.model_dump(),
                                         runtime.ready_pool())
            return back(f"/console/demands/{d.id}", "posted")
        except Invalid as exc:  # shown beside its field; other errors get the error page
            errors[exc.field or "title"] = exc.message
    return page(request, "demand_form.html", who, status=422, **_form_ctx(shown, errors))


@router.get("/console/demands/{demand_id}", response_class=HTMLResponse)
def demand_detail(request: Request, runtime: RuntimeDep, demand_id: DemandId, mode: str | None = None) -> HTMLResponse:
    who = actor(request)
    db, pool = runtime.db, runtime.ready_pool()
    d = demand_svc.get_demand(db, who, demand_id)
    chosen = mode if mode is not None and modes.is_mode(mode) else (d.modes or [modes.DEFAULT])[0]
    proposals: list[ProposalView] = []
    not_ready = False
    try:
        proposals, _ = demand_svc.propose(db, pool, who, demand_id, chosen, k=10, filters=Filters(),
                                          impressions=runtime.impressions)
    except NotReady:
        not_ready = True
    matches, _ = match_svc.list_matches(db, who, demand_id=demand_id, limit=100)
    history = demand_svc.history(db, who, demand_id) if who.role in (Role.OFFICIAL, Role.ADMIN) else []
    can_shortlist = who.role == Role.INTERMEDIARY and d.status == DemandStatus.TAKEN_UP \
        and d.intermediary_id == who.intermediary_id
    return page(request, "demand_detail.html", who, title=d.title, d=d, mode=chosen, proposals=proposals,
                modes=list(modes.codes()), matches=matches, history=history, can_shortlist=can_shortlist,
                not_ready=not_ready)


@router.post("/console/demands/{demand_id}/withdraw", response_model=None)
def withdraw(request: Request, runtime: RuntimeDep, demand_id: DemandId) -> Response:
    demand_svc.withdraw(runtime.db, actor(request), demand_id, runtime.ready_pool())
    return back(f"/console/demands/{demand_id}", "demand_withdrawn")
