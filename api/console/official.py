"""Officials: the statistics dashboard, the 督查 list of time limits, the 待完善 queue of demands below the
completeness threshold (publish, return with a note) and the expired ones (extend), imports with their
progress and report, matching rounds, probable duplicates (merge or keep apart) and invitations for talents."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile as StarletteUpload

from api import forms
from api.console.web import actor, back, page
from api.deps import DemandId, JobId, RoundId, RuntimeDep
from api.downloads import xlsx_download
from api.schemas import DemandExtendIn, DemandReturnIn, RoundIn
from matcher.domain.offices import office_tree
from matcher.domain.vocabulary import DemandStatus, Role, Sector
from matcher.errors import Invalid
from matcher.reference import region
from matcher.services import jobs
from matcher.services.access import require
from matcher.services.people import duplicates as dup_svc
from matcher.services.people import invitations
from matcher.services.programme import deadlines
from matcher.services.workflow import demands as demand_svc
from matcher.services.workflow import rounds as round_svc
from matcher.services.workflow import stats
from matcher.validation import MAX_ID

router = APIRouter()


@router.get("/console/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, runtime: RuntimeDep) -> HTMLResponse:
    who = actor(request)
    s = stats.summary(runtime.db, who)
    by_month = [{"label": r.key, "count": r.count} for r in s.demands.by_month]
    return page(request, "dashboard.html", who, title="统计看板", s=s, by_month=by_month)


@router.get("/console/oversight", response_class=HTMLResponse)
def oversight_page(request: Request, runtime: RuntimeDep) -> HTMLResponse:
    """督查: the open items of the official's area past or near their time limit, per office and unit."""
    who = actor(request)
    o = deadlines.oversight(runtime.db, who)
    tree = office_tree()
    office_name = tree.get(who.office_code).display_name if who.office_code else tree.province.display_name
    overdue = deadlines.open_items(runtime.db, who, status="overdue")
    return page(request, "oversight.html", who, title="督查", o=o, overdue=overdue, office_name=office_name,
                unit_labels=deadlines.UNIT_KIND_LABELS)


@router.get("/console/oversight.xlsx", response_class=FileResponse)
def oversight_xlsx(request: Request, runtime: RuntimeDep) -> FileResponse:
    who = actor(request)
    return xlsx_download(lambda path: deadlines.export_oversight(runtime.db, who, path), "oversight.xlsx")


@router.get("/console/incomplete", response_class=HTMLResponse)
def incomplete_page(request: Request, runtime: RuntimeDep) -> HTMLResponse:
    """待完善: the area's demands below the completeness threshold, each with its score, what it lacks and
    the note already sent; and the demands the system closed past their 揭榜 deadline, to extend."""
    who = actor(request)
    require(who, Role.OFFICIAL)
    items, total = demand_svc.list_demands(runtime.db, who, status=DemandStatus.INCOMPLETE, limit=200)
    expired, expired_total = demand_svc.list_demands(runtime.db, who, status=DemandStatus.CLOSED,
                                                     closed_reason=demand_svc.EXPIRED, limit=200)
    return page(request, "incomplete.html", who, title="待完善需求", items=items, total=total, expired=expired,
                expired_total=expired_total, threshold=demand_svc.threshold(),
                today=deadlines.shanghai_today().isoformat())


def _back_to(form_next: str, demand_id: int) -> str:
    """Where an action returns: the queue it was taken from, or the demand's page (never another site)."""
    return "/console/incomplete" if form_next == "queue" else f"/console/demands/{demand_id}"


@router.post("/console/demands/{demand_id}/publish", response_model=None)
async def publish_demand(request: Request, runtime: RuntimeDep, demand_id: DemandId) -> Response:
    form = await request.form()
    demand_svc.publish(runtime.db, actor(request), demand_id)
    return back(_back_to(str(form.get("next") or ""), demand_id), "demand_published")


@router.post("/console/demands/{demand_id}/return", response_model=None)
async def return_demand(request: Request, runtime: RuntimeDep, demand_id: DemandId) -> Response:
    form = await request.form()
    body, _ = forms.parse(DemandReturnIn, {"note": str(form.get("note") or "").strip()})
    if body is None:
        raise Invalid("请填写退回意见，说明需求还缺少哪些内容", field="note")
    demand_svc.return_demand(runtime.db, actor(request), demand_id, body.note)
    return back(_back_to(str(form.get("next") or ""), demand_id), "demand_returned")


@router.post("/console/demands/{demand_id}/extend", response_model=None)
async def extend_demand(request: Request, runtime: RuntimeDep, demand_id: DemandId) -> Response:
    form = await request.form()
    body, _ = forms.parse(DemandExtendIn, {k: v for k, v in forms.form_values(form).items() if k == "deadline"})
    if body is None:
        raise Invalid("请选择新的揭榜截止日期", field="deadline")
    try:
        demand_svc.extend(runtime.db, actor(request), demand_id, body.deadline)
    except Invalid:
        raise Invalid("新的揭榜截止日期须晚于今天，也须晚于原截止日期", field="deadline") from None
    return back(_back_to(str(form.get("next") or ""), demand_id), "demand_extended")


@router.get("/console/import", response_class=HTMLResponse)
def import_page(request: Request) -> HTMLResponse:
    return page(request, "import.html", actor(request), title="导入导出", report=None)


@router.post("/console/import", response_model=None)
async def import_upload(request: Request, runtime: RuntimeDep) -> Response:
    who = actor(request)  # signed in first; the upload is read after (as for the API)
    form = await request.form(max_files=1, max_fields=5)
    file, kind = form.get("file"), str(form.get("kind") or "")
    if not isinstance(file, StarletteUpload):
        raise Invalid("请选择要导入的文件", field="file")
    job = await run_in_threadpool(runtime.schedule_import, who, kind, file.filename or "upload.xlsx", file.file)
    return RedirectResponse(f"/console/jobs/{job.id}", status_code=303)


@router.get("/console/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, runtime: RuntimeDep, job_id: JobId) -> HTMLResponse:
    who = actor(request)
    job = jobs.get(runtime.db, who, job_id)
    report = job.result if job.kind == "import" and job.status == "done" else None
    status = 422 if report is not None and not report["ok"] else 200
    return page(request, "import.html", who, status=status, title="导入导出", job=job, report=report,
                stages=jobs.STAGES_ZH, refresh=1 if job.status in jobs.ACTIVE else None)


@router.get("/console/rounds", response_class=HTMLResponse)
def rounds_page(request: Request, runtime: RuntimeDep,
                show: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None) -> HTMLResponse:
    who = actor(request)
    rounds = round_svc.list_rounds(runtime.db, who)
    current = next((r for r in rounds if r.id == show), rounds[0] if rounds else None)
    return page(request, "rounds.html", who, title="批量匹配", rounds=rounds, current=current, stages=jobs.STAGES_ZH,
                sectors=[s.value for s in Sector], cities=region().cities)


@router.get("/console/rounds/{round_id}", response_class=HTMLResponse)
def round_page(request: Request, runtime: RuntimeDep, round_id: RoundId) -> HTMLResponse:
    return rounds_page(request, runtime, show=round_id)


@router.post("/console/rounds", response_model=None)
async def start_round(request: Request, runtime: RuntimeDep) -> Response:
    body, errors = forms.parse(RoundIn, forms.form_values(await request.form()))
    if body is None:
        raise Invalid("；".join(errors.values()))
    r = runtime.schedule_round(actor(request), round_svc.RoundParams(**body.model_dump()))
    return back(f"/console/rounds/{r.id}", "round_started")


@router.get("/console/duplicates", response_class=HTMLResponse)
def duplicates_page(request: Request, runtime: RuntimeDep,
                    status: Annotated[str, Query(pattern="^(open|merged|distinct)$")] = "open") -> HTMLResponse:
    who = actor(request)
    pairs, total = dup_svc.list_pairs(runtime.db, who, status=status, limit=100)
    return page(request, "duplicates.html", who, title="疑似重复", pairs=pairs, total=total, show=status)


@router.post("/console/duplicates/scan", response_model=None)
def duplicates_scan(request: Request, runtime: RuntimeDep) -> Response:
    out = dup_svc.scan(runtime.db, runtime.ready_pool(), actor(request))
    return back("/console/duplicates", "scanned", records=out.records, new_pairs=out.new_pairs)


@router.post("/console/duplicates/{pair_id}", response_model=None)
async def duplicates_decide(request: Request, runtime: RuntimeDep,
                            pair_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> Response:
    form = await request.form()
    decision = str(form.get("decision") or "")
    keep = str(form.get("keep") or "")
    choices = {k.removeprefix("choice_"): str(v) for k, v in form.multi_items() if k.startswith("choice_")}
    if keep and not keep.isdigit():
        raise Invalid("保留的记录编号无效", field="keep")
    dup_svc.decide(runtime.db, runtime.ready_pool(), actor(request), pair_id, decision, int(keep) if keep else None,
                   choices, relink_account=form.get("relink_account") == "1")
    return back("/console/duplicates", "merged" if decision == "merge" else "distinct")


@router.post("/console/invitations", response_class=HTMLResponse)
def invite(request: Request, runtime: RuntimeDep, talent_id: Annotated[int, Form(ge=1, le=MAX_ID)]) -> HTMLResponse:
    who = actor(request)
    inv = invitations.invite(runtime.db, who, talent_id)
    pairs, total = dup_svc.list_pairs(runtime.db, who, status="open", limit=100)
    return page(request, "duplicates.html", who, title="疑似重复", pairs=pairs, total=total, show="open",
                invitation=inv)
