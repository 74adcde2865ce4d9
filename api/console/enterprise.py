"""Enterprises: their demands, posting one (出榜) with the API's own validation and the completeness check
as they type, editing it (a 待完善 demand comes back with the office's note), withdrawing it; and the demand
page every role reaches (its proposals per mode, its matches, its history, the office's actions)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.datastructures import FormData

from api import forms
from api.console.web import actor, back, page
from api.deps import DemandId, RuntimeDep
from api.schemas import DemandDraftIn, DemandIn, DemandPatch
from matcher.domain import modes
from matcher.domain.programmes import programmes
from matcher.domain.vocabulary import DemandStatus, Role, Sector
from matcher.engine.pool import Filters
from matcher.errors import Invalid, NotReady
from matcher.reference import industry_codes, region
from matcher.services.access import require
from matcher.services.people.talents import check_tier
from matcher.services.workflow import demands as demand_svc
from matcher.services.workflow import matches as match_svc
from matcher.views import ProposalView, VerdictView

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


#: The form's plain fields (modes and keywords are read apart); the three structured parts are free text.
FORM_FIELDS = ("title", "description", "current_state", "target_indicators", "site_conditions", "sector",
               "industry_code", "city", "budget_min", "budget_max", "duration_months", "deadline")
#: Fields an edit may clear: a blank box means "none" on the edit form (on a new demand it means the default).
CLEARABLE = ("current_state", "target_indicators", "site_conditions", "budget_min", "budget_max",
             "duration_months", "deadline")


def _form_ctx(values: dict[str, Any], errors: dict[str, str], **extra: Any) -> dict[str, Any]:
    ctx = {"values": values, "errors": errors, "sectors": [s.value for s in Sector], "cities": region().cities,
           "modes": list(modes.codes()), "industries": sorted(industry_codes().items()),
           "default_mode": modes.DEFAULT, "title": "发布技术需求（出榜）", "action": "/console/demands",
           "submit_label": "发布需求", "office_note": "", "threshold": None}
    return {**ctx, **extra}


def _shown(form: FormData) -> dict[str, Any]:
    shown: dict[str, Any] = {k: str(form.get(k) or "") for k in FORM_FIELDS}
    shown.update(modes=[str(m) for m in form.getlist("modes")], keywords_text=str(form.get("keywords") or ""))
    return shown


@router.get("/console/demands/new", response_class=HTMLResponse)
def new_demand(request: Request) -> HTMLResponse:
    return page(request, "demand_form.html", actor(request), **_form_ctx({}, {}))


@router.post("/console/demands", response_model=None)
async def create_demand(request: Request, runtime: RuntimeDep) -> Response:
    who = actor(request)
    form = await request.form()
    shown = _shown(form)
    body, errors = forms.parse(DemandIn, forms.form_values(form, lists=("modes",), split=("keywords",)))
    if body is not None:
        try:
            d = demand_svc.create_demand(runtime.db, who, body.model_dump(),
                                         runtime.ready_pool())
            return back(f"/console/demands/{d.id}", "posted" if d.status == DemandStatus.OPEN else "posted_incomplete")
        except Invalid as exc:  # shown beside its field; other errors get the error page
            errors[exc.field or "title"] = exc.message
    return page(request, "demand_form.html", who, status=422, **_form_ctx(shown, errors))


@router.post("/console/demands/assess", response_model=None)
async def assess_draft(request: Request) -> JSONResponse:
    """The live form's completeness panel: the console's session (and CSRF token) instead of a bearer
    token, the API's draft model and the same check. A field the draft model refuses (a budget being typed
    as "5万") is left out of the check rather than failing it: the form shows that field's own error."""
    require(actor(request), Role.ENTERPRISE)
    form = await request.form()
    values = {k: v for k, v in forms.form_values(form, lists=("modes",)).items() if k in DemandDraftIn.model_fields}
    body, errors = forms.parse(DemandDraftIn, values)
    if body is None:
        body, _ = forms.parse(DemandDraftIn, {k: v for k, v in values.items() if k not in errors})
    draft = body.model_dump() if body is not None else {}
    return JSONResponse(demand_svc.assessment(draft).model_dump())


def _edit_values(d: Any) -> dict[str, Any]:
    values = {k: "" if getattr(d, k) is None else getattr(d, k) for k in FORM_FIELDS}
    for k in ("budget_min", "budget_max"):
        amount = values[k]
        if isinstance(amount, float) and amount.is_integer():
            values[k] = int(amount)
    values.update(modes=list(d.modes), keywords_text="、".join(d.keywords))
    return values


def _edit_ctx(d: Any, values: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    return _form_ctx(values, errors, title=f"修改需求：{d.title}", action=f"/console/demands/{d.id}/edit",
                     submit_label="保存修改", office_note=d.office_note, status_now=d.status)


@router.get("/console/demands/{demand_id}/edit", response_class=HTMLResponse)
def edit_demand_page(request: Request, runtime: RuntimeDep, demand_id: DemandId) -> HTMLResponse:
    who = actor(request)
    require(who, Role.ENTERPRISE)
    d = demand_svc.get_demand(runtime.db, who, demand_id)
    return page(request, "demand_form.html", who, **_edit_ctx(d, _edit_values(d), {}))


@router.post("/console/demands/{demand_id}/edit", response_model=None)
async def edit_demand(request: Request, runtime: RuntimeDep, demand_id: DemandId) -> Response:
    """Save the edit form as a PATCH of every field on it; a 待完善 demand that now passes the check is
    published by the service (the message says which happened)."""
    who = actor(request)
    require(who, Role.ENTERPRISE)
    d = demand_svc.get_demand(runtime.db, who, demand_id)
    form = await request.form()
    shown = _shown(form)
    values = forms.form_values(form, lists=("modes",), split=("keywords",))
    for k in CLEARABLE:
        if k not in values:
            values[k] = "" if k in ("current_state", "target_indicators", "site_conditions") else None
    values.setdefault("keywords", [])
    body, errors = forms.parse(DemandPatch, values)
    if body is not None:
        try:
            after = demand_svc.update_demand(runtime.db, who, demand_id, body.model_dump(exclude_unset=True),
                                             runtime.ready_pool())
            published = d.status == DemandStatus.INCOMPLETE and after.status == DemandStatus.OPEN
            key = "demand_published" if published else (
                "posted_incomplete" if after.status == DemandStatus.INCOMPLETE else "demand_saved")
            return back(f"/console/demands/{demand_id}", key)
        except Invalid as exc:
            errors[exc.field or "title"] = exc.message
    return page(request, "demand_form.html", who, status=422, **_edit_ctx(d, shown, errors))


#: At most this many excluded talents are listed on a demand's page (the nearest candidates left out).
EXCLUDED_SHOWN = 100


@router.get("/console/demands/{demand_id}", response_class=HTMLResponse)
def demand_detail(request: Request, runtime: RuntimeDep, demand_id: DemandId, mode: str | None = None,
                  excluded: bool = False, tier: str | None = Query(None, max_length=20)) -> HTMLResponse:
    """The demand, its proposals in one mode, its matches and history. ``excluded=1``: instead of the
    proposals, the talents the rules leave out of this demand's list (a conflict of interest, the
    enterprise's own staff, a decline, no capacity …) with each one's reason (``include_excluded``)."""
    who = actor(request)
    db, pool = runtime.db, runtime.ready_pool()
    d = demand_svc.get_demand(db, who, demand_id)
    chosen = mode if mode is not None and modes.is_mode(mode) else (d.modes or [modes.DEFAULT])[0]
    proposals: list[ProposalView] = []
    verdict: VerdictView | None = None
    not_ready = False
    try:
        if excluded:
            proposals, _ = demand_svc.propose(db, pool, who, demand_id, chosen, k=EXCLUDED_SHOWN, filters=Filters(),
                                              excluded_only=True)
        else:
            proposals, _, verdict = demand_svc.propose_with_verdict(
                db, pool, who, demand_id, chosen, k=10, filters=Filters(tier=check_tier(tier)),
                impressions=runtime.impressions)
    except NotReady:
        not_ready = True
    matches, _ = match_svc.list_matches(db, who, demand_id=demand_id, limit=100)
    history = demand_svc.history(db, who, demand_id) if who.role in (Role.OFFICIAL, Role.ADMIN, Role.ENTERPRISE) \
        else []
    can_shortlist = who.role == Role.INTERMEDIARY and d.status == DemandStatus.TAKEN_UP \
        and d.intermediary_id == who.intermediary_id
    can_extend = who.role == Role.OFFICIAL and (d.status == DemandStatus.OPEN or (
        d.status == DemandStatus.CLOSED and d.closed_reason == demand_svc.EXPIRED))
    return page(request, "demand_detail.html", who, title=d.title, d=d, mode=chosen, proposals=proposals,
                modes=list(modes.codes()), matches=matches, history=history, can_shortlist=can_shortlist,
                not_ready=not_ready, can_extend=can_extend, threshold=demand_svc.threshold(), excluded=excluded,
                verdict=verdict, tiers=programmes().tiers, tier=check_tier(tier))


@router.post("/console/demands/{demand_id}/withdraw", response_model=None)
def withdraw(request: Request, runtime: RuntimeDep, demand_id: DemandId) -> Response:
    demand_svc.withdraw(runtime.db, actor(request), demand_id, runtime.ready_pool())
    return back(f"/console/demands/{demand_id}", "demand_withdrawn")
