"""Starting background work from a request, shared by the JSON API and the console: the use case
records the job (or round) and answers at once; the app's executors run it off the event loop."""

from __future__ import annotations

from typing import Any, BinaryIO

from matcher.services.access import Actor
from matcher.services.files.uploads import run_import, start_import
from matcher.services.workflow import rounds
from matcher.views import JobView, RoundView


def schedule_import(state: Any, actor: Actor, kind: str, filename: str, source: BinaryIO) -> JobView:
    """Store the upload and queue the import job; the job reads the pool when it runs."""
    job = start_import(state.db, actor, kind, filename, source, state.settings.upload_dir)
    runtime = state.runtime
    state.job_runner.submit(run_import, state.db, lambda: runtime.pool, job["id"])
    return job


def schedule_round(state: Any, actor: Actor, params: rounds.RoundParams) -> RoundView:
    """Record the round and queue it; one round runs at a time."""
    r = rounds.start_round(state.db, actor, params)
    db, runtime = state.db, state.runtime
    state.jobs.submit(lambda: rounds.run_round(db, runtime.pool, r["id"]))
    return r
