"""Job leases: the sweep fails work whose owner is gone and never a live owner's."""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime, timedelta

from matcher.services import jobs
from matcher.storage.models import Job


def test_the_sweep_fails_only_work_whose_owner_is_gone(db) -> None:  # type: ignore[no-untyped-def]
    host = socket.gethostname()
    soon, past = datetime.now(UTC) + timedelta(seconds=30), datetime.now(UTC) - timedelta(seconds=1)
    owners = {
        "mine": (jobs.WORKER_ID, past),                        # this process: kept even with a stale lease
        "live_here": (f"{host}:{os.getppid()}:abc", soon),    # a live process of this host
        "dead_here": (f"{host}:999999999:abc", soon),          # no such process: failed at once
        "other_host_live": ("elsewhere:12:abc", soon),         # judged by its lease: still valid
        "other_host_expired": ("elsewhere:12:abc", past),      # lease ran out
        "unowned": (None, None),
    }
    with db.session() as s:
        ids = {}
        for name, (owner, expires) in owners.items():
            j = Job(kind="import", status="running", lease_owner=owner, lease_expires_at=expires)
            s.add(j)
            s.flush()
            ids[name] = j.id
    assert jobs.sweep(db) == 3
    with db.session() as s:
        status = {name: s.get(Job, i).status for name, i in ids.items()}
    assert status == {"mine": "running", "live_here": "running", "dead_here": "failed",
                      "other_host_live": "running", "other_host_expired": "failed", "unowned": "failed"}
    jobs.heartbeat(db)  # renews only this process's own
    with db.session() as s:
        mine = s.get(Job, ids["mine"])
        expires = mine.lease_expires_at if mine.lease_expires_at.tzinfo else mine.lease_expires_at.replace(tzinfo=UTC)
        assert expires > datetime.now(UTC)


def test_a_job_the_sweep_failed_meanwhile_writes_nothing(db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A long job whose lease another process judged expired (and failed) must not write its results:
    every write goes through ``Reporter.guard``/``finish`` in the same transaction."""
    from sqlalchemy import func, select, update

    from matcher.services.access import Actor
    from matcher.storage.models import AuditEvent

    def work(ctx: jobs.JobContext, params: dict, report: jobs.Reporter) -> dict:  # type: ignore[type-arg]
        with ctx.db.session() as s:  # another worker's sweep fails this job while it runs
            s.execute(update(Job).where(Job.id == report.job_id).values(status="failed", lease_owner="other:1:x"))
        with ctx.db.session() as s:
            s.add(AuditEvent(action="round_propose", entity="match", entity_id="1"))  # the work's own write …
            report.guard(s, "writing")  # … refused with it
        raise AssertionError("unreachable")

    kind = jobs.JobKind("test", "测试", work)
    job = jobs.create(db, Actor(None, "official"), "test", {"path": str(tmp_path / "upload.csv")})
    with db.session() as s:
        audits = s.scalar(select(func.count()).select_from(AuditEvent))
    jobs.run(jobs.JobContext(db, lambda: None, None), kind, job.id)  # type: ignore[arg-type]
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == audits  # nothing written
        assert s.get(Job, job.id).status == "failed"  # and the sweep's verdict stands


def test_the_sweep_removes_the_upload_of_a_job_it_fails(db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    upload = tmp_path / "list.csv"
    upload.write_text("external_id,name,profile\nX,欧阳紫萱,……\n", encoding="utf-8")
    with db.session() as s:
        s.add(Job(kind="import", status="queued", params={"path": str(upload)}, lease_owner=None))
    assert jobs.sweep(db) == 1 and not upload.exists()


def test_orphan_uploads_are_removed_at_start(db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from matcher.services.files import uploads

    old, fresh, wanted = tmp_path / "old.csv", tmp_path / "fresh.csv", tmp_path / "wanted.csv"
    for f in (old, fresh, wanted):
        f.write_text("x", encoding="utf-8")
    hour_ago = datetime.now(UTC).timestamp() - 3600
    os.utime(old, (hour_ago, hour_ago))
    os.utime(wanted, (hour_ago, hour_ago))
    with db.session() as s:
        s.add(Job(kind="import", status="queued", params={"path": str(wanted)}, lease_owner=jobs.WORKER_ID))
    assert uploads.remove_orphans(db, tmp_path) == 1
    assert not old.exists() and fresh.exists() and wanted.exists()  # a job's file and a just-stored one stay
