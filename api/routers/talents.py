"""Talent profiles (contact data masked by role), users, imports and exports."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from sqlalchemy import func, or_, select
from starlette.background import BackgroundTask

from api.deps import JobId, Limit, Offset, TalentId, get_actor, get_db
from api.schemas import JobOut, Page, TalentOut, UserIn
from matcher.domain import Role, Sector
from matcher.errors import Invalid, NotFound
from matcher.services import jobs
from matcher.services.access import Actor, contacts_visible, require, talent_view
from matcher.services.exporting import export_xlsx
from matcher.services.uploads import run_import, start_import
from matcher.services.users import create_user, deactivate_user, rotate_token
from matcher.storage.db import Database
from matcher.storage.models import Talent

router = APIRouter(prefix="/api/v1", tags=["talents and administration"])

@router.get("/talents", response_model=Page[TalentOut], summary="Search talent profiles (contacts masked)")
def list_talents(q: str | None = Query(None, max_length=100), sector: Sector | None = None, city: str | None = None,
                 limit: Limit = 20, offset: Offset = 0,
                 db: Database = Depends(get_db), actor: Actor = Depends(get_actor)) -> Any:
    stmt = select(Talent).where(Talent.active.is_(True))
    if q:
        stmt = stmt.where(or_(Talent.name.contains(q), Talent.profile.contains(q), Talent.affiliation.contains(q)))
    if sector:
        stmt = stmt.where(Talent.sector == sector)
    if city:
        stmt = stmt.where(Talent.city == city)
    with db.session() as s:
        total = s.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        rows = s.scalars(stmt.order_by(Talent.id).limit(limit).offset(offset)).all()
        shown = contacts_visible(s, actor, [t.id for t in rows])
        return {"items": [talent_view(s, actor, t, t.id in shown) for t in rows], "total": total, "limit": limit,
                "offset": offset}


@router.get("/talents/{talent_id}", response_model=TalentOut)
def get_talent(talent_id: TalentId, db: Database = Depends(get_db), actor: Actor = Depends(get_actor)) -> Any:
    with db.session() as s:
        t = s.get(Talent, talent_id)
        if t is None:
            raise NotFound(f"talent {talent_id} not found", field="talent_id")
        return talent_view(s, actor, t)


@router.post("/users", status_code=201, summary="Create a user; the token is returned once — admins")
def new_user(body: UserIn, db: Database = Depends(get_db), actor: Actor = Depends(get_actor)) -> dict[str, str]:
    require(actor, Role.ADMIN)
    try:
        token = create_user(db, body.username, body.role, display_name=body.display_name,
                            enterprise=body.enterprise, intermediary=body.intermediary)
    except ValueError as exc:
        raise Invalid(str(exc), field="username" if "exists" in str(exc) else body.role) from exc
    return {"username": body.username, "role": body.role, "token": token}


Username = Annotated[str, PathParam(min_length=3, max_length=100, pattern=r"^[A-Za-z0-9_.@-]+$")]


@router.post("/users/{username}/deactivate", summary="Deactivate a user (token and console sessions end) — admins")
def deactivate(username: Username, db: Database = Depends(get_db),
               actor: Actor = Depends(get_actor)) -> dict[str, Any]:
    require(actor, Role.ADMIN)
    deactivate_user(db, username, actor.user_id, actor.role)
    return {"username": username, "active": False}


@router.post("/users/{username}/rotate", summary="Issue a new token (shown once); the old one stops — admins")
def rotate(username: Username, db: Database = Depends(get_db), actor: Actor = Depends(get_actor)) -> dict[str, str]:
    require(actor, Role.ADMIN)
    return {"username": username, "token": rotate_token(db, username, actor.user_id, actor.role)}


@router.post("/imports/{kind}", status_code=202, response_model=JobOut,
             summary="Import talents or demands from CSV/XLSX (all rows or none) as a background job — "
                     "officials and admins; follow it at /api/v1/jobs/{id}")
def upload(kind: str, request: Request, file: UploadFile = File(...), db: Database = Depends(get_db),
           actor: Actor = Depends(get_actor)) -> Any:
    job = start_import(db, actor, kind, file.filename or "upload", file.file, request.app.state.settings.upload_dir)
    runtime = request.app.state.runtime
    request.app.state.job_runner.submit(run_import, db, lambda: runtime.pool, job["id"])
    return job


@router.get("/jobs/{job_id}", response_model=JobOut, summary="A background job's stage, progress and result")
def get_job(job_id: JobId, db: Database = Depends(get_db), actor: Actor = Depends(get_actor)) -> Any:
    return jobs.get(db, actor, job_id)


@router.get("/exports.xlsx", summary="Demands and talents as one workbook (contacts only for officials)",
            response_class=FileResponse)
def export(with_contact: bool = False, db: Database = Depends(get_db), actor: Actor = Depends(get_actor)) -> Any:
    require(actor, Role.OFFICIAL, Role.ADMIN)
    fd, name = tempfile.mkstemp(suffix=".xlsx")
    os.close(fd)
    export_xlsx(db, Path(name), with_contact=with_contact)
    return FileResponse(name, filename="matcher-export.xlsx",
                        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        background=BackgroundTask(Path(name).unlink))
