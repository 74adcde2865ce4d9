"""Imports through the API and the console: the upload is stored, a job is queued and answered at once
(202), and the job imports the file and brings the pool up to date, reporting its stage as it goes.
One path for both doors, so the API and the console cannot drift apart."""

from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import select

from matcher.domain.vocabulary import Role
from matcher.errors import Forbidden, Invalid, NotFound
from matcher.services import jobs
from matcher.services.access import Actor, office_covers, require
from matcher.services.files.importing import MAX_UPLOAD, import_file
from matcher.services.people import duplicates
from matcher.services.pool.facts import ready, sync_pool
from matcher.storage.db import Database
from matcher.storage.models import Job
from matcher.views import JobView

KINDS = ("talents", "demands")
SUFFIXES = (".csv", ".xlsx")


def start_import(db: Database, actor: Actor, kind: str, filename: str, source: BinaryIO,
                 upload_dir: Path) -> JobView:
    """Check who and what, store the upload (at most ``MAX_UPLOAD`` bytes) and queue the job."""
    require(actor, Role.OFFICIAL, Role.ADMIN)
    if kind not in KINDS:
        raise NotFound(f"unknown import kind '{kind}' (talents or demands)", field="kind")
    if kind == "demands" and not office_covers(actor, None):
        # A file's rows may name any enterprise and county: a city or county office imports its demands
        # through the province until an import checks each row against the office's area.
        raise Forbidden("demand lists are imported by the province office", field="kind")
    suffix = Path(filename).suffix.lower()
    if suffix not in SUFFIXES:
        raise Invalid("only .csv and .xlsx files can be imported", field="file")
    upload_dir.mkdir(parents=True, exist_ok=True)
    path = upload_dir / f"{uuid.uuid4().hex}{suffix}"
    with open(path, "wb") as out:
        shutil.copyfileobj(source, out, length=1 << 20)
    if path.stat().st_size > MAX_UPLOAD:
        path.unlink()
        raise Invalid(f"file larger than {MAX_UPLOAD // 2**20} MiB; split it", field="file")
    return jobs.create(db, actor, "import", {"kind": kind, "filename": Path(filename).name, "path": str(path),
                                             "actor_user_id": actor.user_id, "actor_role": actor.role,
                                             "office_code": actor.office_code})


def remove_orphans(db: Database, upload_dir: Path) -> int:
    """Uploads no queued or running job will read (left by a crash): removed at start, they hold
    personal data nobody needs any more."""
    if not upload_dir.exists():
        return 0
    with db.session() as s:
        wanted = {str((j.params or {}).get("path")) for j in s.scalars(select(Job).where(Job.status.in_(jobs.ACTIVE)))}
    gone = 0
    settled = time.time() - 600  # an upload stored a moment ago may not have its job row yet
    for f in upload_dir.iterdir():
        if f.is_file() and str(f) not in wanted and f.stat().st_mtime < settled:
            f.unlink(missing_ok=True)
            gone += 1
    return gone


def _work(ctx: jobs.JobContext, params: dict[str, Any], report: jobs.Reporter) -> dict[str, Any]:
    """The job: import all rows or none (in a transaction that also checks the job is still ours), then
    re-index the talents that changed (only changed texts are encoded) and look for duplicates."""
    path = Path(params["path"])
    try:
        report("importing", 0.05, force=True)
        result = import_file(ctx.db, params["kind"], path, filename=params["filename"],
                             actor_user_id=params.get("actor_user_id"),
                             actor_role=params.get("actor_role", "system"),
                             guard=lambda s: report.guard(s, "importing")).as_dict()
    finally:
        path.unlink(missing_ok=True)
    live = ready(ctx.pool())
    if result["ok"] and params["kind"] == "talents" and live is not None:
        report("indexing", 0.5, force=True)
        result["index"] = sync_pool(ctx.db, live, progress=lambda f: report("indexing", 0.5 + 0.5 * f))
    if result["ok"] and params["kind"] == "talents":
        report("duplicates", 0.95, force=True)
        result["duplicates"] = duplicates.scan(ctx.db, live).model_dump()  # one person, one record
    return result


IMPORT = jobs.JobKind("import", "导入", _work)
