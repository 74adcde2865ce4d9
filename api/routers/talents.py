"""Talent profiles (contact data masked by role), users, imports and exports."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from starlette.datastructures import UploadFile as StarletteUpload
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.deps import ActorDep, DbDep, JobId, Limit, Offset, PairId, PoolDep, RuntimeDep, TalentId
from api.downloads import xlsx_download
from api.schemas import DuplicateDecisionIn, Page, UserIn
from matcher.domain.vocabulary import Role, Sector
from matcher.errors import Invalid
from matcher.services import jobs
from matcher.services.access import require
from matcher.services.files.exporting import export_xlsx
from matcher.services.people import duplicates, talents
from matcher.services.people.users import create_user, deactivate_user, rotate_token
from matcher.views import DuplicatePairView, JobView, ScanView, TalentView, UserStateView, UserTokenView

router = APIRouter(prefix="/api/v1", tags=["talents and administration"])


@router.get("/talents", response_model=Page[TalentView], summary="Search talent profiles (contacts masked)")
def list_talents(
    db: DbDep,
    actor: ActorDep,
    q: str | None = Query(None, max_length=100),
    sector: Sector | None = None,
    city: str | None = Query(None, max_length=50),
    tier: str | None = Query(None, max_length=20, description="the programmes' talent tier (code or label: 领军人才)"),
    limit: Limit = 20,
    offset: Offset = 0,
) -> Any:
    items, total = talents.list_talents(db, actor, q=q, sector=sector, city=city, tier=tier, limit=limit,
                                        offset=offset)
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.get("/talents/{talent_id}", response_model=TalentView)
def get_talent(talent_id: TalentId, db: DbDep, actor: ActorDep) -> Any:
    return talents.get_talent(db, actor, talent_id)


@router.post("/users", status_code=201, response_model=UserTokenView,
             summary="Create a user; the token is returned once — admins")
def new_user(db: DbDep, actor: ActorDep, body: UserIn) -> UserTokenView:
    require(actor, Role.ADMIN)
    try:
        token = create_user(
            db,
            body.username,
            body.role,
            display_name=body.display_name,
            enterprise=body.enterprise,
            intermediary=body.intermediary,
            office=body.office,
        )
    except ValueError as exc:
        message = str(exc)
        field = "username" if "exists" in message else "office" if "office" in message else body.role
        raise Invalid(message, field=field) from exc
    return UserTokenView(username=body.username, role=body.role, token=token)


Username = Annotated[str, PathParam(min_length=3, max_length=100, pattern=r"^[A-Za-z0-9_.@-]+$")]


@router.post("/users/{username}/deactivate", response_model=UserStateView,
             summary="Deactivate a user (token and console sessions end) — admins")
def deactivate(db: DbDep, actor: ActorDep, username: Username) -> UserStateView:
    require(actor, Role.ADMIN)
    deactivate_user(db, username, actor.user_id, actor.role)
    return UserStateView(username=username, active=False)


@router.post("/users/{username}/rotate", response_model=UserTokenView,
             summary="Issue a new token (shown once); the old one stops — admins")
def rotate(db: DbDep, actor: ActorDep, username: Username) -> UserTokenView:
    require(actor, Role.ADMIN)
    return UserTokenView(username=username, token=rotate_token(db, username, actor.user_id, actor.role))


@router.post(
    "/imports/{kind}",
    status_code=202,
    response_model=JobView,
    openapi_extra={"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file"],
        "properties": {"file": {"type": "string", "format": "binary", "description": "CSV or XLSX"}}}}}}},
    summary="Import talents or demands from CSV/XLSX (all rows or none) as a background job — "
    "officials and admins; follow it at /api/v1/jobs/{id}",
)
async def upload(actor: ActorDep, kind: str, runtime: RuntimeDep, request: Request) -> Any:
    # The body is read only now, after the token and the role were checked: an unauthenticated caller's
    # multipart body is never parsed (no temporary files, no parser work for strangers).
    require(actor, Role.OFFICIAL, Role.ADMIN)
    try:
        form = await request.form(max_files=1, max_fields=5)
    except StarletteHTTPException as exc:
        if exc.status_code == 413:  # over the body limit (api/app.BodyLimit): that answer stands
            raise
        raise Invalid(f"the body is not a multipart form with one file ({exc.detail})", field="file") from None
    file = form.get("file")
    if not isinstance(file, StarletteUpload):
        raise Invalid("a file is required (multipart field 'file')", field="file")
    try:
        return await run_in_threadpool(runtime.schedule_import, actor, kind, file.filename or "upload", file.file)
    finally:
        await form.close()


@router.get("/jobs", response_model=list[JobView], summary="The newest background jobs of one kind the caller may see")
def list_jobs(db: DbDep, actor: ActorDep, kind: str = Query(..., max_length=40, description="a job kind, e.g. "
                                                            "import, round, duplicate-scan"),
              limit: Limit = 20) -> Any:
    from matcher.services.runtime import KINDS

    if kind not in KINDS:
        raise Invalid(f"unknown job kind '{kind}' (one of: {', '.join(sorted(KINDS))})", field="kind")
    return jobs.recent(db, actor, kind, limit=limit)


@router.get("/jobs/{job_id}", response_model=JobView, summary="A background job's stage, progress and result")
def get_job(db: DbDep, actor: ActorDep, job_id: JobId) -> Any:
    return jobs.get(db, actor, job_id)


@router.get(
    "/exports.xlsx",
    summary="Demands and talents as one workbook (contacts only for officials)",
    response_class=FileResponse,
)
def export(db: DbDep, actor: ActorDep, with_contact: bool = False) -> Any:
    require(actor, Role.OFFICIAL, Role.ADMIN)
    return xlsx_download(lambda path: export_xlsx(db, path, with_contact=with_contact, actor=actor),
                         "matcher-export.xlsx")


@router.get("/duplicates", response_model=Page[DuplicatePairView],
            summary="Probable duplicate talent records with the evidence — officials and admins")
def list_duplicates(db: DbDep, actor: ActorDep, status: Literal["open", "merged", "distinct"] | None = "open",
                    limit: Limit = 50, offset: Offset = 0) -> Any:
    items, total = duplicates.list_pairs(db, actor, status=status, limit=limit, offset=offset)
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.post("/duplicates/scan", response_model=ScanView,
             summary="Look for probable duplicates now (imports do it themselves) — officials")
def scan_duplicates(db: DbDep, actor: ActorDep, pool: PoolDep) -> ScanView:
    return duplicates.scan(db, pool, actor)


@router.post("/duplicates/{pair_id}/decision", response_model=DuplicatePairView,
             summary="Merge the two records (one person) or mark them as different people — officials")
def decide_duplicate(db: DbDep, actor: ActorDep, pool: PoolDep, pair_id: PairId, body: DuplicateDecisionIn) -> Any:
    return duplicates.decide(db, pool, actor, pair_id, body.decision, body.keep, dict(body.choices),
                             body.relink_account)
