"""Background jobs: long work (imports and the pool syncs that follow them) runs off the request.

Why: an import of 2,000 rows and the re-encoding of their profiles take minutes; inside a request it
held the event loop, so even ``/health`` stopped answering. Now the request stores the job (a row with
kind, parameters, stage, progress, result) and answers 202; a worker thread runs it and writes its
stage and progress as it goes; the API and the console read the row. A job a dead process left
``running`` is marked failed at the next start, so no job stays "running" forever.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update

from matcher.domain.vocabulary import Role
from matcher.errors import NotFound
from matcher.services.access import Actor
from matcher.services.audit import record
from matcher.storage.db import Database
from matcher.storage.models import Job, Round, iso
from matcher.views import JobView

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
#: Who runs a job: this host and process. A lease is renewed by the owner's heartbeat (every few
#: seconds); a job whose lease ran out, or whose owner is a dead process on this host, is failed by the
#: next sweep of any process, so a crashed worker never leaves a job "running" for ever.
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"  # a nonce: pids are reused
LEASE_SECONDS = 30.0
ROUND_ACTIVE = ("queued", "scoring", "solving")
STAGES_ZH = {QUEUED: "排队中", RUNNING: "进行中", DONE: "已完成", FAILED: "失败"}


def job_view(j: Job) -> JobView:
    return JobView(id=j.id, kind=j.kind, status=j.status, stage=j.stage, progress=round(j.progress, 3),
                   params={k: v for k, v in (j.params or {}).items() if k != "path"}, result=j.result or {},
                   error=j.error, created_by=j.created_by, created_at=iso(j.created_at),
                   started_at=iso(j.started_at), finished_at=iso(j.finished_at))


def create(db: Database, actor: Actor, kind: str, params: dict[str, Any]) -> JobView:
    with db.session() as s:
        job = Job(kind=kind, params=params, created_by=actor.user_id, stage="queued", lease_owner=WORKER_ID,
                  lease_expires_at=datetime.now(UTC) + timedelta(seconds=LEASE_SECONDS))
        s.add(job)
        s.flush()
        record(s, action="start", entity="job", entity_id=job.id, actor_user_id=actor.user_id,
               actor_role=actor.role, after={"kind": kind})
        return job_view(job)


def get(db: Database, actor: Actor, job_id: int) -> JobView:
    """Officials and admins see every job; others only their own (and 404 for the rest)."""
    with db.session() as s:
        job = s.get(Job, job_id)
        if job is None or not (actor.role in (Role.OFFICIAL, Role.ADMIN) or job.created_by == actor.user_id):
            raise NotFound(f"job {job_id} not found", field="job_id")
        return job_view(job)


class Reporter:
    """Writes a job's stage and progress, at most every ``interval`` seconds (a progress bar for a
    2,000-row import need not cost 2,000 writes)."""

    def __init__(self, db: Database, job_id: int, interval: float = 0.5) -> None:
        self.db, self.job_id, self.interval = db, job_id, interval
        self._last = 0.0

    def __call__(self, stage: str, fraction: float, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < self.interval:
            return
        self._last = now
        with self.db.session() as s:
            s.execute(update(Job).where(Job.id == self.job_id, Job.status == RUNNING)
                      .values(stage=stage, progress=max(0.0, min(1.0, fraction))))


def run(db: Database, job_id: int, work: Callable[[dict[str, Any], Reporter], dict[str, Any]]) -> None:
    """Claim the job (queued → running, a compare-and-set: a job runs once), run ``work(params, report)``,
    store its result or its error. Never raises: the job always ends in a visible state."""
    with db.session() as s:
        claimed = s.execute(update(Job).where(Job.id == job_id, Job.status == QUEUED)
                            .values(status=RUNNING, started_at=datetime.now(UTC), stage="started",
                                    lease_owner=WORKER_ID,
                                    lease_expires_at=datetime.now(UTC) + timedelta(seconds=LEASE_SECONDS)))
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return
        params = dict(s.scalar(select(Job.params).where(Job.id == job_id)) or {})
    try:
        result = work(params, Reporter(db, job_id))
        values: dict[str, Any] = {"status": DONE, "result": result, "progress": 1.0, "stage": "done"}
    except Exception as exc:  # a bug or an unreadable input: the job fails visibly, the service goes on
        log.exception("job %s failed", job_id)
        values = {"status": FAILED, "error": f"{type(exc).__name__}: {exc}", "stage": "failed"}
    with db.session() as s:
        s.execute(update(Job).where(Job.id == job_id).values(finished_at=datetime.now(UTC), **values))


def _owner_dead(owner: str | None) -> bool:
    """True when the owner is known to be gone: no owner recorded, or a process of this host that no
    longer exists. Owners on other hosts are judged by their lease alone."""
    if not owner:
        return True
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def heartbeat(db: Database) -> None:
    """Renew the leases of this process's unfinished jobs and rounds."""
    until = datetime.now(UTC) + timedelta(seconds=LEASE_SECONDS)
    with db.session() as s:
        s.execute(update(Job).where(Job.lease_owner == WORKER_ID, Job.status.in_((QUEUED, RUNNING)))
                  .values(lease_expires_at=until))
        s.execute(update(Round).where(Round.lease_owner == WORKER_ID, Round.status.in_(ROUND_ACTIVE))
                  .values(lease_expires_at=until))


def sweep(db: Database) -> int:
    """Fail the jobs and rounds whose owner is gone (lease expired, or a dead process on this host).
    Safe with several workers: a live owner's work is never touched."""
    now = datetime.now(UTC)
    failed = 0
    with db.session() as s:
        for model, active in ((Job, (QUEUED, RUNNING)), (Round, ROUND_ACTIVE)):
            rows = s.execute(select(model.id, model.lease_owner, model.lease_expires_at)
                             .where(model.status.in_(active))).all()
            for row_id, owner, expires in rows:
                if owner == WORKER_ID:
                    continue  # this process's own work: it is running here, whatever its lease says
                expired = expires is None or (expires if expires.tzinfo else expires.replace(tzinfo=UTC)) < now
                if not (expired or _owner_dead(owner)):
                    continue
                values: dict[str, Any] = {"status": FAILED, "error": "interrupted by a restart; start it again",
                                          "finished_at": now}
                if model is Job:
                    values["stage"] = "failed"
                done = s.execute(update(model).where(model.id == row_id, model.status.in_(active),
                                                     or_(model.lease_owner.is_(None), model.lease_owner == owner))
                                 .values(**values))
                failed += int(done.rowcount or 0)  # type: ignore[attr-defined]
    if failed:
        log.warning("marked %d interrupted job(s)/round(s) failed", failed)
    return failed
