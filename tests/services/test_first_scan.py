"""The database's first duplicate scan: queued once however many workers start, and queued again (once)
when a restart interrupted it."""

from __future__ import annotations

from sqlalchemy import update

from matcher.services import jobs
from matcher.services.people import duplicates
from matcher.storage.models import Job


def test_the_first_scan_is_queued_once_and_again_once_after_an_interruption(db) -> None:
    first = duplicates.queue_first_scan(db)
    assert first is not None
    assert duplicates.queue_first_scan(db) is None  # a second worker: already queued
    with db.session() as s:  # the worker running it was killed: the sweep fails the job
        s.execute(update(Job).where(Job.id == first).values(status=jobs.JobStatus.FAILED))
    again = duplicates.queue_first_scan(db)
    assert again is not None and again != first
    assert duplicates.queue_first_scan(db) is None  # queued again once, not once per worker
    with db.session() as s:
        s.execute(update(Job).where(Job.id == again).values(status=jobs.JobStatus.DONE))
    assert duplicates.queue_first_scan(db) is None  # done: never again
