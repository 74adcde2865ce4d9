"""One mechanism for all long work: imports, matching rounds, and what later issues add.

Why: an import of 2,000 rows and the re-encoding of their profiles take minutes, and a round scores
every open demand; inside a request either held the event loop. Now the request stores a job (a row
with kind, parameters, stage, progress, result, lease) and answers 202; the process's executor runs it
off the event loop through its kind's ``work`` function, which reports its stage and progress as it
goes; the API and the console read the row.

Exactly once, and never a write for work that is no longer ours: a job is claimed with a
compare-and-set (queued → running, owner = this process); its lease is renewed by the owner's heartbeat
on a thread of its own; a job whose owner is gone is failed by the next sweep of any process; and every
write a job makes to the database is conditional on the job still being running and owned by this
process (``Reporter.guard``, ``Reporter.finish`` in the same transaction as the work's own writes), so
a job the sweep failed meanwhile writes nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from matcher.config import Settings
from matcher.domain.vocabulary import Role
from matcher.engine.memory import release_free_heap
from matcher.engine.pool import TalentPool
from matcher.errors import NotFound
from matcher.services.access import SYSTEM, Actor, office_covers
from matcher.services.audit import record
from matcher.storage.db import Database
from matcher.storage.models import Job, iso
from matcher.views import JobView

log = logging.getLogger(__name__)


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


ACTIVE = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)
#: Who runs a job: this host and process. A lease is renewed by the owner's heartbeat (every few seconds);
#: a job whose lease ran out, or whose owner is a dead process on this host, is failed by the next sweep
#: of any process, so a crashed worker never leaves a job "running" for ever.
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"  # a nonce: pids are reused
LEASE_SECONDS = 30.0
#: Statuses and the stages the kinds report, as the console shows them.
STAGES_ZH = {
    JobStatus.QUEUED: "排队中", JobStatus.RUNNING: "进行中", JobStatus.DONE: "已完成", JobStatus.FAILED: "失败",
    "started": "已开始", "importing": "导入数据", "indexing": "更新索引", "duplicates": "查找重复记录",
    "scoring": "评分中", "solving": "求解中", "writing": "写入推荐",
}


class JobLost(Exception):
    """The job is no longer this process's to finish (the sweep failed it, or another owner has it)."""


class JobFailed(Exception):
    """The work ends the job as failed on purpose, with a message and a result to keep (e.g. a round's
    infeasibility report)."""

    def __init__(self, message: str, result: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.result = result or {}


@dataclass(frozen=True)
class JobContext:
    """What a job's work may use: the database, the process's pool (read when the work runs: the index
    may still be loading when the job is queued) and the settings."""

    db: Database
    pool: Callable[[], TalentPool | None]
    settings: Settings


@dataclass(frozen=True)
class JobKind:
    """One kind of long work. ``work(ctx, params, report)`` returns the job's result (JSON) or raises;
    ``lane``: kinds in one lane run one at a time in a process (each kind its own lane by default)."""

    name: str
    label: str
    work: Callable[[JobContext, dict[str, Any], Reporter], dict[str, Any]]
    lane: str = ""

    @property
    def lane_name(self) -> str:
        return self.lane or self.name


def job_view(j: Job) -> JobView:
    return JobView(id=j.id, kind=j.kind, status=j.status, stage=j.stage, progress=round(j.progress, 3),
                   params={k: v for k, v in (j.params or {}).items() if k != "path"}, result=j.result or {},
                   error=j.error, created_by=j.created_by, created_at=iso(j.created_at),
                   started_at=iso(j.started_at), finished_at=iso(j.finished_at))


def create(db: Database, actor: Actor, kind: str, params: dict[str, Any]) -> JobView:
    """Record a queued job, owned (leased) by this process until it runs it."""
    with db.session() as s:
        return job_view(create_in(s, actor, kind, params))


def create_in(s: Session, actor: Actor, kind: str, params: dict[str, Any]) -> Job:
    job = Job(kind=kind, params=params, created_by=actor.user_id, stage="queued", lease_owner=WORKER_ID,
              lease_expires_at=datetime.now(UTC) + timedelta(seconds=LEASE_SECONDS))
    s.add(job)
    s.flush()
    record(s, action="start", entity="job", entity_id=job.id, actor_user_id=actor.user_id,
           actor_role=actor.role, after={"kind": kind})
    return job


def queue_periodic(db: Database, kind: str, every_seconds: float, now: datetime | None = None) -> int | None:
    """Queue a job of ``kind`` for periodic work (alerts, reminders) unless one is queued or running or one
    was queued less than ``every_seconds`` ago — so of several workers' timers, about one runs the work per
    period instead of each. Two timers firing in the same instant may both queue: such kinds are written to
    be idempotent (unique keys, compare-and-set marks), so a second run finds nothing new. Returns the id."""
    now = now or datetime.now(UTC)
    with db.session() as s:
        busy = s.scalar(select(func.count()).select_from(Job).where(Job.kind == kind, Job.status.in_(ACTIVE)))
        last = s.scalar(select(func.max(Job.created_at)).where(Job.kind == kind))
        if last is not None and last.tzinfo is None:
            last = last.replace(tzinfo=UTC)
        if busy or (last is not None and (now - last).total_seconds() < every_seconds):
            return None
        return create_in(s, SYSTEM, kind, {}).id


def visible_to(actor: Actor, job: Job) -> bool:
    """Admins see every job; an official the jobs of their office's area (a job records the office that
    started it, ``params.office_code``: a city sees its counties' rounds, not another city's); anyone their
    own."""
    if job.created_by is not None and job.created_by == actor.user_id:
        return True
    if actor.role not in (Role.OFFICIAL, Role.ADMIN):
        return False
    return office_covers(actor, (job.params or {}).get("office_code"))


def get(db: Database, actor: Actor, job_id: int, kind: str | None = None) -> JobView:
    """The job if the actor may see it (``visible_to``), else 404."""
    with db.session() as s:
        job = s.get(Job, job_id)
        if job is None or (kind is not None and job.kind != kind) or not visible_to(actor, job):
            raise NotFound(f"{kind or 'job'} {job_id} not found", field=f"{kind or 'job'}_id")
        return job_view(job)


def recent(db: Database, actor: Actor, kind: str, limit: int = 100) -> list[JobView]:
    """The newest jobs of this kind the actor may see."""
    with db.session() as s:
        rows = s.scalars(select(Job).where(Job.kind == kind).order_by(Job.id.desc()).limit(limit * 4))
        return [job_view(j) for j in rows if visible_to(actor, j)][:limit]


def _ours(job_id: int) -> Any:
    return (Job.id == job_id) & (Job.status == JobStatus.RUNNING) & (Job.lease_owner == WORKER_ID)


class Reporter:
    """A job's voice: its stage and progress (written at most every ``interval`` seconds — a progress bar
    for a 2,000-row import need not cost 2,000 writes), and the guard its own writes go through."""

    def __init__(self, db: Database, job_id: int, interval: float = 0.5) -> None:
        self.db, self.job_id, self.interval = db, job_id, interval
        self._last = 0.0
        self.finished = False

    def __call__(self, stage: str, fraction: float, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < self.interval:
            return
        self._last = now
        with self.db.session() as s:
            s.execute(update(Job).where(_ours(self.job_id))
                      .values(stage=stage, progress=max(0.0, min(1.0, fraction))))

    def guard(self, session: Session, stage: str | None = None) -> None:
        """In the caller's transaction: fail with ``JobLost`` unless the job is still running and ours.
        The conditional update also locks the job's row until the caller commits, so a sweep cannot fail
        the job between this check and the caller's writes."""
        values: dict[str, Any] = {"lease_expires_at": datetime.now(UTC) + timedelta(seconds=LEASE_SECONDS)}
        if stage:
            values["stage"] = stage
        if session.execute(update(Job).where(_ours(self.job_id)).values(**values)).rowcount != 1:  # type: ignore[attr-defined]
            raise JobLost(f"job {self.job_id} is no longer running in this process")

    def finish(self, session: Session, result: dict[str, Any]) -> None:
        """Mark the job done in the caller's transaction, with the work's own writes: both or neither."""
        done = session.execute(update(Job).where(_ours(self.job_id)).values(
            status=JobStatus.DONE, result=result, progress=1.0, stage="done", finished_at=datetime.now(UTC)))
        if done.rowcount != 1:  # type: ignore[attr-defined]
            raise JobLost(f"job {self.job_id} is no longer running in this process")
        self.finished = True


def run(ctx: JobContext, kind: JobKind, job_id: int) -> None:
    """Claim the job (queued → running, a compare-and-set: a job runs once), run its work, store its result
    or its error — conditionally on the job still being ours. Never raises."""
    with ctx.db.session() as s:
        claimed = s.execute(update(Job).where(Job.id == job_id, Job.status == JobStatus.QUEUED)
                            .values(status=JobStatus.RUNNING, started_at=datetime.now(UTC), stage="started",
                                    lease_owner=WORKER_ID,
                                    lease_expires_at=datetime.now(UTC) + timedelta(seconds=LEASE_SECONDS)))
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return
        params = dict(s.scalar(select(Job.params).where(Job.id == job_id)) or {})
    report = Reporter(ctx.db, job_id)
    values: dict[str, Any]
    try:
        result = kind.work(ctx, params, report)
        if report.finished:
            return
        values = {"status": JobStatus.DONE, "result": result, "progress": 1.0, "stage": "done"}
    except JobLost as exc:
        log.warning("%s", exc)
        return
    except JobFailed as exc:
        values = {"status": JobStatus.FAILED, "error": str(exc), "result": exc.result, "stage": "failed",
                  "progress": 1.0}
    except Exception as exc:  # a bug or an unreadable input: the job fails visibly, the service goes on
        log.exception("job %s (%s) failed", job_id, kind.name)
        values = {"status": JobStatus.FAILED, "error": f"{type(exc).__name__}: {exc}", "stage": "failed"}
    try:
        with ctx.db.session() as s:
            s.execute(update(Job).where(_ours(job_id)).values(finished_at=datetime.now(UTC), **values))
    except Exception:
        log.exception("could not record the end of job %s", job_id)


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
    """Renew the leases of this process's unfinished jobs."""
    until = datetime.now(UTC) + timedelta(seconds=LEASE_SECONDS)
    with db.session() as s:
        s.execute(update(Job).where(Job.lease_owner == WORKER_ID, Job.status.in_(ACTIVE))
                  .values(lease_expires_at=until))


def sweep(db: Database) -> int:
    """Fail the jobs whose owner is gone (lease expired, or a dead process on this host), and remove the
    temporary file a job owned (``params["path"]``: an upload). Safe with several workers: a live owner's
    work is never touched, and the update is conditional on the owner it judged."""
    now = datetime.now(UTC)
    failed = 0
    leftovers: list[str] = []
    with db.session() as s:
        rows = s.execute(select(Job.id, Job.lease_owner, Job.lease_expires_at, Job.params)
                         .where(Job.status.in_(ACTIVE))).all()
        for row_id, owner, expires, params in rows:
            if owner == WORKER_ID:
                continue  # this process's own work: it is running here, whatever its lease says
            expired = expires is None or (expires if expires.tzinfo else expires.replace(tzinfo=UTC)) < now
            if not (expired or _owner_dead(owner)):
                continue
            owned = Job.lease_owner.is_(None) if owner is None else Job.lease_owner == owner
            done = s.execute(update(Job).where(Job.id == row_id, Job.status.in_(ACTIVE), owned).values(
                status=JobStatus.FAILED, stage="failed", error="interrupted by a restart; start it again",
                finished_at=now))
            failed += int(done.rowcount or 0)  # type: ignore[attr-defined]
            if done.rowcount and (params or {}).get("path"):  # type: ignore[attr-defined]
                leftovers.append(str(params["path"]))
    for path in leftovers:  # the job's own upload (personal data) must not outlive it
        Path(path).unlink(missing_ok=True)
    if failed:
        log.warning("marked %d interrupted job(s) failed", failed)
    return failed


def _run_and_release(ctx: JobContext, kind: JobKind, job_id: int) -> None:
    """Run one job, then hand the heap it freed back to the system (``memory.release_free_heap``)."""
    try:
        run(ctx, kind, job_id)
    finally:
        release_free_heap()


class Executor:
    """This process's runner of jobs: one thread per lane (a round and an import may run side by side; two
    imports one after the other)."""

    def __init__(self, ctx: JobContext, kinds: Mapping[str, JobKind]) -> None:
        self.ctx, self.kinds = ctx, dict(kinds)
        self._lanes: dict[str, ThreadPoolExecutor] = {}
        self._lock = threading.Lock()

    def submit(self, job: JobView | int, kind: str) -> None:
        k = self.kinds[kind]
        job_id = job if isinstance(job, int) else job.id
        with self._lock:
            lane = self._lanes.get(k.lane_name)
            if lane is None:
                lane = self._lanes[k.lane_name] = ThreadPoolExecutor(max_workers=1,
                                                                     thread_name_prefix=f"job-{k.lane_name}")
        lane.submit(_run_and_release, self.ctx, k, job_id)

    def shutdown(self) -> None:
        with self._lock:
            for lane in self._lanes.values():
                lane.shutdown(wait=False, cancel_futures=True)
