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
