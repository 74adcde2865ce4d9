"""The web console (Chinese), server-rendered: forms post here, these routes call the same services as
the JSON API, then redirect. Signing in with an API token opens a server-side session: the HttpOnly,
SameSite=Strict cookie holds only the session id (Secure behind https, see ``cookie_secure``); every
form carries the session's CSRF token, and the sign-in form itself is checked by its Origin."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel

from api import forms
from api.deps import DemandId, JobId, MatchId, RoundId
from api.schemas import ContactIn, DemandIn, OutcomeIn, ReviewIn, RewardIn, RoundIn, ShortlistIn, SubmitIn
from matcher.domain import DemandStatus, Mode, Role, Sector, label
from matcher.engine.pool import Filters
from matcher.errors import DomainError, Invalid, NotFound, Unauthorized
from matcher.reference import CITIES, industry_codes
from matcher.services import demands as demand_svc
from matcher.services import jobs, sessions
from matcher.services import matches as match_svc
from matcher.services import rounds as round_svc
from matcher.services import stats as stats_svc
from matcher.services.access import Actor
from matcher.services.uploads import run_import, start_import
from matcher.validation import MAX_ID

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.filters["zh"] = lambda v: label(v) if v else ""
COOKIE = "matcher_session"
ROLE_HOME: dict[str, str] = {Role.ENTERPRISE: "/console/demands", Role.INTERMEDIARY: "/console/board",
             Role.OFFICIAL: "/console/reviews", Role.ADMIN: "/console/import"}


class LoginRequired(Exception):
    pass


class ForgedRequest(Exception):
    """A console POST without this session's CSRF token, or a sign-in posted from another site."""


def _signed_in(request: Request) -> sessions.SignedIn:
    signed = getattr(request.state, "signed", None)
    if signed is None:
        try:
            signed = sessions.current(request.app.state.db, request.cookies.get(COOKIE))
        except Unauthorized as exc:
            raise LoginRequired from exc
        request.state.signed = signed
    return signed


def _actor(request: Request) -> Actor:
    return _signed_in(request).actor


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None  # non-browser clients send none; an opaque origin is refused
    return origin.rstrip("/") == f"{request.url.scheme}://{request.headers.get('host', '')}"


async def guard(request: Request) -> None:
    """Every console POST: the sign-in form must come from this site (Origin), every other form must
    carry the CSRF token of the signed-in session."""
    if request.method != "POST":
        return
    if request.url.path == "/login":
        if not _same_origin(request):
            raise ForgedRequest
        return
    signed = _signed_in(request)
    form = await request.form()
    if not sessions.csrf_ok(signed, str(form.get("csrf") or "")) or not _same_origin(request):
        raise ForgedRequest


router = APIRouter(include_in_schema=False, dependencies=[Depends(guard)])


def page(request: Request, name: str, actor: Actor | None, status: int = 200, **ctx: Any) -> HTMLResponse:
    flash = request.query_params.get("msg")
    signed = getattr(request.state, "signed", None)
    return TEMPLATES.TemplateResponse(request, name, {
        "actor": actor, "csrf": signed.csrf if signed else "", "role_label": label(actor.role) if actor else "",
        "flash": ctx.pop("flash", flash),
        "flash_kind": ctx.pop("flash_kind", "ok"), "title": ctx.pop("title", "产业人才对接平台"), **ctx},
        status_code=status)


def back(url: str, msg: str) -> RedirectResponse:
    from urllib.parse import quote

    return RedirectResponse(f"{url}{'&' if '?' in url else '?'}msg={quote(msg)}", status_code=303)


def install(app: Any) -> None:
    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, _: LoginRequired) -> Response:
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(ForgedRequest)
    async def forged(request: Request, _: ForgedRequest) -> Response:
        return page(request, "error.html", None, status=403, title="无法完成操作",
                    message="请求未通过安全校验（页面可能已过期或来自其他网站），请刷新页面后重试。")


def _error(request: Request, actor: Actor, exc: DomainError) -> HTMLResponse:
    return page(request, "error.html", actor, status=exc.status, message=exc.message, title="无法完成操作")


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> HTMLResponse:
    return page(request, "login.html", None, title="登录")


@router.post("/login")
def login(request: Request, token: str = Form(..., max_length=200)) -> Response:
    try:
        session_id, signed = sessions.sign_in(request.app.state.db, token.strip())
    except Unauthorized:
        return page(request, "login.html", None, status=401, title="登录", flash="令牌无效或已停用", flash_kind="error")
    resp = RedirectResponse(ROLE_HOME.get(signed.actor.role, "/"), status_code=303)
    resp.set_cookie(COOKIE, session_id, httponly=True, samesite="strict", max_age=sessions.SESSION_HOURS * 3600,
                    secure=request.app.state.settings.cookie_secure)
    return resp


@router.post("/logout")
def logout(request: Request) -> Response:
    sessions.sign_out(request.app.state.db, request.cookies.get(COOKIE))
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(COOKIE)
    return resp


@router.get("/")
def home(request: Request) -> Response:
    actor = _actor(request)
    return RedirectResponse(ROLE_HOME.get(actor.role, "/console/demands"), status_code=303)


def _demand_list(request: Request, actor: Actor, title: str, force_status: str | None = None) -> HTMLResponse:
    q = request.query_params
    filters = {k: q.get(k) or None for k in ("status", "sector", "city", "mode")}
    if force_status:
        filters["status"] = force_status
    items, total = demand_svc.list_demands(request.app.state.db, actor, status=filters["status"],
                                           sector=filters["sector"], city=filters["city"], mode=filters["mode"],
                                           limit=100)
    return page(request, "demands.html", actor, title=title, items=items, total=total, filters=filters,
                statuses=[s.value for s in DemandStatus], sectors=[s.value for s in Sector], cities=CITIES,
                modes=[m.value for m in Mode])


@router.get("/console/demands", response_class=HTMLResponse)
def demands_page(request: Request) -> HTMLResponse:
    actor = _actor(request)
    return _demand_list(request, actor, "我的需求" if actor.role == Role.ENTERPRISE else "全部需求")


@router.get("/console/board", response_class=HTMLResponse)
def board(request: Request) -> HTMLResponse:
    actor = _actor(request)
    return _demand_list(request, actor, "揭榜大厅（在榜需求与我承接的需求）")


def _form_ctx(values: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    return {"values": values, "errors": errors, "sectors": [s.value for s in Sector], "cities": CITIES,
            "modes": [m.value for m in Mode], "industries": sorted(industry_codes().items())}


@router.get("/console/demands/new", response_class=HTMLResponse)
def new_demand(request: Request) -> HTMLResponse:
    actor = _actor(request)
    return page(request, "demand_form.html", actor, title="发布技术需求（出榜）", action="/console/demands",
                submit_label="发布需求", **_form_ctx({}, {}))


@router.post("/console/demands", response_model=None)
async def create_demand(request: Request) -> Response:
    actor = _actor(request)
    form = await request.form()
    fields = ("title", "description", "sector", "industry_code", "city", "budget_min", "budget_max",
              "duration_months", "deadline")
    shown: dict[str, Any] = {k: str(form.get(k) or "") for k in fields}
    shown.update(modes=[str(m) for m in form.getlist("modes")], keywords_text=str(form.get("keywords") or ""))
    body, errors = forms.parse(DemandIn, forms.form_values(form, lists=("modes",), split=("keywords",)))
    if body is not None:
        try:
            d = demand_svc.create_demand(request.app.state.db, actor, body.model_dump(),
                                         request.app.state.runtime.pool)
            return back(f"/console/demands/{d['id']}", "需求已发布")
        except Invalid as exc:
            errors[exc.field or "title"] = exc.message
        except DomainError as exc:
            return _error(request, actor, exc)
    return page(request, "demand_form.html", actor, status=422, title="发布技术需求（出榜）",
                action="/console/demands", submit_label="发布需求", **_form_ctx(shown, errors))


@router.get("/console/demands/{demand_id}", response_class=HTMLResponse)
def demand_detail(request: Request, demand_id: DemandId, mode: str | None = None) -> HTMLResponse:
    actor = _actor(request)
    db, pool = request.app.state.db, request.app.state.runtime.pool
    try:
        d = demand_svc.get_demand(db, actor, demand_id)
        mode = mode if mode in {m.value for m in Mode} else (d["modes"] or ["flexible"])[0]
        proposals: list[dict[str, Any]] = []
        not_ready = False
        try:
            proposals, _ = demand_svc.propose(db, pool, actor, demand_id, mode, k=10, filters=Filters())
        except DomainError as exc:
            not_ready = exc.code == "not_ready"
        matches, _ = match_svc.list_matches(db, actor, demand_id=demand_id, limit=100)
        history = demand_svc.history(db, actor, demand_id) if actor.role in (Role.OFFICIAL, Role.ADMIN) else []
    except DomainError as exc:
        return _error(request, actor, exc)
    can_shortlist = actor.role == Role.INTERMEDIARY and d["status"] == DemandStatus.TAKEN_UP \
        and d["intermediary_id"] == actor.intermediary_id
    return page(request, "demand_detail.html", actor, title=d["title"], d=d, mode=mode, proposals=proposals,
                modes=[m.value for m in Mode], matches=matches, history=history, can_shortlist=can_shortlist,
                not_ready=not_ready)


@router.post("/console/demands/{demand_id}/take-up", response_model=None)
def take_up(request: Request, demand_id: DemandId) -> Response:
    actor = _actor(request)
    try:
        demand_svc.take_up(request.app.state.db, actor, demand_id)
    except DomainError as exc:
        return _error(request, actor, exc)
    return back(f"/console/demands/{demand_id}", "揭榜成功，可从推荐人才中加入候选")


@router.post("/console/demands/{demand_id}/withdraw", response_model=None)
def withdraw(request: Request, demand_id: DemandId) -> Response:
    actor = _actor(request)
    try:
        demand_svc.withdraw(request.app.state.db, actor, demand_id, request.app.state.runtime.pool)
    except DomainError as exc:
        return _error(request, actor, exc)
    return back(f"/console/demands/{demand_id}", "需求已撤回")


@router.post("/console/demands/{demand_id}/shortlist", response_model=None)
async def shortlist(request: Request, demand_id: DemandId) -> Response:
    actor = _actor(request)
    body, errors = forms.parse(ShortlistIn, forms.form_values(await request.form()))
    try:
        if body is None:
            raise Invalid("；".join(errors.values()))
        m = match_svc.shortlist(request.app.state.db, request.app.state.runtime.pool, actor, demand_id,
                                body.talent_id, body.mode, body.flexible_form.value if body.flexible_form else None)
    except DomainError as exc:
        return _error(request, actor, exc)
    return back(f"/console/matches/{m['id']}", "已加入候选，请联络人才并提交审核")


@router.get("/console/matches", response_class=HTMLResponse)
def matches_page(request: Request) -> HTMLResponse:
    actor = _actor(request)
    items, total = match_svc.list_matches(request.app.state.db, actor, status=request.query_params.get("status"),
                                          limit=200)
    return page(request, "matches.html", actor, title="对接与匹配", items=items, total=total)


@router.get("/console/reviews", response_class=HTMLResponse)
def reviews(request: Request) -> HTMLResponse:
    actor = _actor(request)
    try:
        if actor.role != Role.OFFICIAL:
            raise DomainError("仅审核人员可查看待审核队列")
        items, total = match_svc.list_matches(request.app.state.db, actor, status="awaiting_review", limit=200)
    except DomainError as exc:
        return _error(request, actor, exc)
    return page(request, "matches.html", actor, title="待审核匹配", items=items, total=total)


@router.get("/console/matches/{match_id}", response_class=HTMLResponse)
def match_detail(request: Request, match_id: MatchId) -> HTMLResponse:
    actor = _actor(request)
    db = request.app.state.db
    try:
        m = match_svc.get_match(db, actor, match_id)
        d = demand_svc.get_demand(db, actor, m["demand_id"])
        history = demand_svc.history(db, actor, m["demand_id"]) if actor.role in (Role.OFFICIAL, Role.ADMIN) else []
    except DomainError as exc:
        return _error(request, actor, exc)
    history = [e for e in history if e["entity"] == "demand" or e["entity_id"] == str(match_id)]
    return page(request, "match_detail.html", actor, title=f"匹配 #{match_id}", m=m, d=d, history=history)


_MATCH_FORMS: dict[str, type[BaseModel] | None] = {
    "contacts": ContactIn, "submit": SubmitIn, "review": ReviewIn, "confirm": None, "outcome": OutcomeIn,
    "reward": RewardIn}


@router.post("/console/matches/{match_id}/{action}", response_model=None)
async def match_action(request: Request, match_id: MatchId, action: str) -> Response:
    actor = _actor(request)
    db, pool = request.app.state.db, request.app.state.runtime.pool
    values = forms.form_values(await request.form())
    if action == "contacts":
        values.setdefault("note", "联络")
    if action == "reward" and values.get("qualifies") == "0":
        values.pop("amount", None)
    try:
        if action not in _MATCH_FORMS:
            raise NotFound(f"未知操作 {action}")
        model = _MATCH_FORMS[action]
        body = None
        if model is not None:
            body, errors = forms.parse(model, values)
            if body is None:
                raise Invalid("；".join(errors.values()))
        if isinstance(body, ContactIn):
            match_svc.record_contact(db, actor, match_id, body.note, body.answer)
            msg = "已记录联络"
        elif isinstance(body, SubmitIn):
            match_svc.submit(db, actor, match_id, body.plan)
            msg = "已提交审核"
        elif isinstance(body, ReviewIn):
            match_svc.review(db, pool, actor, match_id, body.decision, body.reason)
            msg = "审核通过" if body.decision == "approve" else "已驳回"
        elif isinstance(body, OutcomeIn):
            match_svc.report_outcome(db, actor, match_id, body.result, body.text)
            msg = "已报告成效"
        elif isinstance(body, RewardIn):
            match_svc.decide_reward(db, pool, actor, match_id, body.qualifies, body.amount, body.reason)
            msg = "已作出奖补决定"
        else:
            match_svc.confirm(db, actor, match_id)
            msg = "已确认开展合作"
    except DomainError as exc:
        return _error(request, actor, exc)
    return back(f"/console/matches/{match_id}", msg)


@router.get("/console/dashboard", response_class=HTMLResponse)
def dashboard(request: Request) -> HTMLResponse:
    actor = _actor(request)
    try:
        s = stats_svc.summary(request.app.state.db, actor)
    except DomainError as exc:
        return _error(request, actor, exc)
    by_month = [{"label": r["key"], "count": r["count"]} for r in s["demands"]["by_month"]]
    return page(request, "dashboard.html", actor, title="统计看板", s=s, by_month=by_month)


@router.get("/console/import", response_class=HTMLResponse)
def import_page(request: Request) -> HTMLResponse:
    actor = _actor(request)
    return page(request, "import.html", actor, title="导入导出", report=None)


@router.post("/console/import", response_model=None)
def import_upload(request: Request, file: UploadFile, kind: str = Form(...)) -> Response:
    actor = _actor(request)
    state = request.app.state
    try:
        job = start_import(state.db, actor, kind, file.filename or "upload.xlsx", file.file, state.settings.upload_dir)
    except DomainError as exc:
        return _error(request, actor, exc)
    runtime = state.runtime
    state.job_runner.submit(run_import, state.db, lambda: runtime.pool, job["id"])
    return RedirectResponse(f"/console/jobs/{job['id']}", status_code=303)


@router.get("/console/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, job_id: JobId) -> HTMLResponse:
    actor = _actor(request)
    try:
        job = jobs.get(request.app.state.db, actor, job_id)
    except DomainError as exc:
        return _error(request, actor, exc)
    report = job["result"] if job["kind"] == "import" and job["status"] == "done" else None
    status = 422 if report is not None and not report["ok"] else 200
    return page(request, "import.html", actor, status=status, title="导入导出", job=job, report=report,
                stages=jobs.STAGES_ZH, refresh=1 if job["status"] in (jobs.QUEUED, jobs.RUNNING) else None)


@router.get("/console/rounds", response_class=HTMLResponse)
def rounds_page(request: Request, show: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None) -> HTMLResponse:
    actor = _actor(request)
    try:
        rounds = round_svc.list_rounds(request.app.state.db, actor)
    except DomainError as exc:
        return _error(request, actor, exc)
    current = next((r for r in rounds if r["id"] == show), rounds[0] if rounds else None)
    return page(request, "rounds.html", actor, title="批量匹配", rounds=rounds, current=current,
                sectors=[s.value for s in Sector], cities=CITIES)


@router.get("/console/rounds/{round_id}", response_class=HTMLResponse)
def round_page(request: Request, round_id: RoundId) -> HTMLResponse:
    return rounds_page(request, show=round_id)


@router.post("/console/rounds", response_model=None)
async def start_round(request: Request) -> Response:
    actor = _actor(request)
    body, errors = forms.parse(RoundIn, forms.form_values(await request.form()))
    try:
        if body is None:
            raise Invalid("；".join(errors.values()))
        r = round_svc.start_round(request.app.state.db, actor, round_svc.RoundParams(**body.model_dump()))
    except DomainError as exc:
        return _error(request, actor, exc)
    db, runtime = request.app.state.db, request.app.state.runtime
    request.app.state.jobs.submit(lambda: round_svc.run_round(db, runtime.pool, r["id"]))
    return back(f"/console/rounds/{r['id']}", "已开始匹配，刷新查看进度")
