"""The process's supervisor: it owns the talent pool, the change-feed follower, the job executor, the
lease heartbeat and the learned-model watcher, starts them and stops them. The API and the console get
what they need from it through dependencies (``api/deps.py``); nothing else keeps process state.

Threads, each with one job so a slow one cannot starve another:
- ``pool-loader``: builds or loads the pool once (the service answers ``/health`` meanwhile);
- ``feed``: applies the change feed every ``feed_interval`` seconds (a read);
- ``heartbeat``: renews this process's job leases every ``HEARTBEAT_EVERY`` seconds — on its own thread,
  so a long encode or feed poll can never let a live job's lease expire;
- ``maintenance``: every few seconds writes the buffered shown lists, compacts and saves the index when
  edits call for it, swaps the ranker when ``matcher learn`` adopted another model, and sweeps jobs
  whose owner is gone;
- ``expiry``: at start and every ``expiry_interval_seconds`` closes the open demands past their 揭榜
  deadline (a compare-and-set per demand, so every worker may sweep and each demand closes once);
- ``notify``: every ``notify_interval_seconds`` delivers the due notifications of the outbox (e-mail,
  webhooks; a lease per delivery, so several workers send each once: ``services/inbox/delivery``);
- ``reminders``: at start and every ``reminder_interval_seconds`` queues the reminder job, which reminds
  owners of steps due soon and escalates overdue ones to the office above (``services/inbox/reminders``;
  each sent once);
- ``alerts``: every ``alert_interval_seconds`` queues the alert job for saved searches
  (``services/inbox/alerts``). Both go through ``jobs.queue_periodic``: of several workers about one runs
  the work per period, and a second run finds nothing new;
- ``insight``: every ``insight_refresh_seconds`` queues the supply job when what the gap map depends on
  changed (``services/insight/supply``); ``insight-warm`` recomputes this process's figures before they
  expire or once the job rewrote the supply (``services/insight/dashboard.warm_if_due``).
"""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any, BinaryIO

from matcher.config import Settings
from matcher.domain.offices import office_tree
from matcher.domain.programmes import programmes
from matcher.engine.pool import TalentPool
from matcher.services import jobs
from matcher.services.access import Actor
from matcher.services.files import uploads
from matcher.services.inbox import alerts, delivery, reminders
from matcher.services.inbox import items as _inbox  # noqa: F401 (registers the inbox's audit listener)
from matcher.services.insight import dashboard as insight
from matcher.services.insight import supply
from matcher.services.learning import training
from matcher.services.learning.decisions import ImpressionBuffer
from matcher.services.people import duplicates
from matcher.services.pool import feed
from matcher.services.pool.facts import build_pool, ready, require_ready, warm_open_demands
from matcher.services.pool.follower import FeedFollower
from matcher.services.workflow import demands, rounds
from matcher.storage.db import Database
from matcher.views import JobView, ReadyView, RoundView

log = logging.getLogger("matcher.runtime")

HEARTBEAT_EVERY = 5.0  # seconds: well inside the 30 s lease
MAINTENANCE_EVERY = 5.0
SWEEP_EVERY = 10.0
SAVE_QUIET = 30.0  # seconds without an edit before the index is saved (at the latest 10 minutes after one)

#: The kinds of long work this service runs (``services/jobs.py``); a new kind is added here.
KINDS: dict[str, jobs.JobKind] = {k.name: k for k in (uploads.IMPORT, rounds.ROUND, supply.REFRESH,
                                                      duplicates.FIRST_SCAN, reminders.REMINDERS,
                                                      alerts.ALERTS)}


class Runtime:
    def __init__(self, settings: Settings, db: Database | None = None, load_pool: bool = True) -> None:
        self.settings = settings
        self.db = db or Database.from_settings(settings)
        self.load_pool = load_pool
        self.pool: TalentPool | None = None
        self.status = "starting"
        self.follower: FeedFollower | None = None
        self.impressions = ImpressionBuffer()  # shown lists, written in batches
        self.ranker_version: str | None = None  # the learned model this process ranks with (None: hand weights)
        self.executor = jobs.Executor(jobs.JobContext(self.db, self.ready_pool, settings), KINDS)
        self._stopping = threading.Event()
        self._ticks = 0

    # ------------------------------------------------------------------ what requests ask for
    def ready_pool(self) -> TalentPool | None:
        return ready(self.pool)

    def require_pool(self) -> TalentPool:
        return require_ready(self.pool)

    def readiness(self) -> ReadyView:
        try:
            with self.db.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
            db_ok = True
        except Exception:
            db_ok = False
        pool = self.pool
        index = bool(pool is not None and pool.ready)
        return ReadyView(ready=db_ok and index, database=db_ok, index=index, index_status=self.status,
                         index_outcome=pool.outcome if pool is not None else "",
                         talents_indexed=len(pool.facts) if pool is not None else 0,
                         ranker=f"ltr-{self.ranker_version}" if self.ranker_version else "hand",
                         ranker_modes=list(pool.learned.modes) if pool is not None and pool.learned is not None
                         else [])

    def schedule_import(self, actor: Actor, kind: str, filename: str, source: BinaryIO) -> JobView:
        """Store the upload and queue the import job (the API and the console share this door)."""
        job = uploads.start_import(self.db, actor, kind, filename, source, self.settings.upload_dir)
        self.executor.submit(job, uploads.IMPORT.name)
        return job

    def schedule_round(self, actor: Actor, params: rounds.RoundParams) -> RoundView:
        r = rounds.start_round(self.db, actor, params)
        self.executor.submit(r.id, rounds.ROUND.name)
        return r

    def run_job(self, job_id: int, kind: str) -> None:
        """Run a queued job here and now, in the caller's thread (the command line; tests)."""
        jobs.run(self.executor.ctx, KINDS[kind], job_id)

    # ------------------------------------------------------------------ life cycle
    def start(self) -> None:
        # The region's offices and the programmes' rules are read and checked before anything runs: a bad
        # file stops the start with the file and the key named, never a request later.
        office_tree()
        programmes()
        self.db.upgrade()
        jobs.sweep(self.db)  # work a dead process left behind; a live worker's jobs are kept
        uploads.remove_orphans(self.db, self.settings.upload_dir)
        if self.load_pool:
            self._thread("pool-loader", self._load_pool)
        self._thread("feed", self._every(self.settings.feed_interval, self._follow))
        self._thread("heartbeat", self._every(HEARTBEAT_EVERY, lambda: jobs.heartbeat(self.db)))
        self._thread("maintenance", self._every(MAINTENANCE_EVERY, self._maintain))
        self._thread("expiry", self._every(self.settings.expiry_interval_seconds, self._expire, at_once=True))
        self._thread("notify", self._every(self.settings.notify_interval_seconds, self._notify))
        self._thread("reminders", self._every(self.settings.reminder_interval_seconds, self._remind, at_once=True))
        self._thread("alerts", self._every(self.settings.alert_interval_seconds, self._alert))
        self._thread("insight", self._every(self.settings.insight_refresh_seconds, self._insight))
        # the figures are recomputed before they expire or as soon as the supply job rewrote its rows, so a
        # dashboard request reads answers instead of paying for them
        self._thread("insight-warm", self._every(min(10.0, self.settings.insight_refresh_seconds / 2),
                                                 self._warm_insight, at_once=True))

    def stop(self) -> None:
        self._stopping.set()
        try:
            self.impressions.flush(self.db)
        except Exception:
            log.exception("could not write the last shown lists")
        self.executor.shutdown()

    def _thread(self, name: str, target: Callable[[], None]) -> None:
        threading.Thread(target=target, daemon=True, name=name).start()

    def _every(self, seconds: float, step: Callable[[], Any], at_once: bool = False) -> Callable[[], None]:
        def run() -> None:
            try:
                step()
            except Exception:  # never dies on an error: logged, tried again next time
                log.exception("background %s failed; retrying", threading.current_thread().name)

        def loop() -> None:
            if at_once and not self._stopping.is_set():
                run()
            while not self._stopping.wait(seconds):
                run()

        return loop

    def _notify(self) -> None:
        done = delivery.deliver_due(self.db, self.settings)
        if done.sent or done.failed or done.dead:
            log.info("notifications: %d sent, %d to retry, %d given up", done.sent, done.failed, done.dead)

    def _periodic(self, kind: jobs.JobKind, every: float) -> None:
        job_id = jobs.queue_periodic(self.db, kind.name, every * 0.9)  # a little early: timers drift
        if job_id is not None:
            self.executor.submit(job_id, kind.name)

    def _remind(self) -> None:
        self._periodic(reminders.REMINDERS, self.settings.reminder_interval_seconds)

    def _alert(self) -> None:
        self._periodic(alerts.ALERTS, self.settings.alert_interval_seconds)

    def _insight(self) -> None:
        job_id = supply.request(self.db, self.pool, self.settings)
        if job_id is not None:
            self.executor.submit(job_id, supply.KIND)

    def _warm_insight(self) -> None:
        insight.warm_if_due(self.db, self.pool, self.settings)

    def _expire(self) -> None:
        closed = demands.expire_overdue_demands(self.db)
        if closed:
            log.info("closed %d demand(s) past their 揭榜 deadline: %s", len(closed), closed[:20])

    def _load_pool(self) -> None:
        try:
            self.status = "building"
            began = time.monotonic()
            start = feed.head(self.db)  # changes after this point are applied by the follower
            pool = build_pool(self.settings, self.db, log=log.info, progress=True)  # tqdm bar on stderr
            self._use_ranker(pool)
            self.follower = FeedFollower(self.db, pool, start)
            self.follower.poll()
            # The pool's facts (a million objects at 1M) live as long as the process: out of the cyclic
            # collector's generations, a full collection no longer walks them (docs/scaling.md).
            gc.freeze()
            self.pool = pool
            self.status = f"ready ({len(pool.facts)} talents)"
            log.info("matching index %s; index %s (process %d, %.1f s)", self.status, pool.outcome, os.getpid(),
                     time.monotonic() - began)
            self._queue_first_duplicate_scan()
            warm_open_demands(self.db, pool)
            self._insight()  # the gap map's supply on first start, not five minutes later
        except Exception as exc:  # keep serving; /ready reports the failure
            self.status = f"failed: {exc}"
            log.exception("building the matching index failed")

    def _queue_first_duplicate_scan(self) -> None:
        """The database's first look for duplicate records (the demo's seeded ones): a job, queued once per
        database whichever worker gets here first (``duplicates.queue_first_scan``), run off the serving
        path; a failure shows on the job and never touches the pool."""
        job_id = duplicates.queue_first_scan(self.db)
        if job_id is not None:
            log.info("first duplicate scan queued as job %d", job_id)
            self.executor.submit(job_id, duplicates.FIRST_SCAN.name)

    def _use_ranker(self, pool: TalentPool) -> None:
        """Rank with the model ``matcher learn`` adopted (or the hand weights); logged when it changes."""
        pool.learned = training.load_current(self.settings)
        version = pool.learned.version if pool.learned is not None else None
        if version != self.ranker_version or self.ranker_version is None:
            log.info("ranking with %s", f"the learned model {version}" if version else "the hand weights")
        self.ranker_version = version

    def _follow(self) -> None:
        if self.follower is not None:
            self.follower.poll()

    def _maintain(self) -> None:
        self._ticks += 1
        self.impressions.flush(self.db)
        if self.pool is not None:
            # compaction past a share of tombstones; the index saved once edits pause (SAVE_QUIET seconds)
            self.pool.maintain(save_quiet=SAVE_QUIET)
        if self.pool is not None and training.read_pointer(self.settings).get("version") != self.ranker_version:
            self._use_ranker(self.pool)
        if (self._ticks * MAINTENANCE_EVERY) % SWEEP_EVERY == 0:
            jobs.sweep(self.db)
