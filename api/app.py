"""The FastAPI application. The model and the index load once, in a background thread, so the service
answers ``/health`` at once and ``/ready`` turns true when matching can serve."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import console, errors
from api.routers import demands, matches, me, rounds, system, talents
from matcher.config import Settings, get_settings
from matcher.engine.pool import TalentPool
from matcher.services import jobs
from matcher.services.learning import training as learning
from matcher.services.people import duplicates
from matcher.services.pool import feed
from matcher.services.pool.facts import build_pool, warm_open_demands
from matcher.services.pool.feed import FeedFollower
from matcher.services.pool.runtime import Runtime
from matcher.storage.db import Database

log = logging.getLogger("api")
MAX_BODY = 21 * 1024 * 1024
HEARTBEAT_EVERY = 5  # ticks (seconds): well inside the 30 s lease
SWEEP_EVERY = 10


class BodyLimit:
    """Refuse bodies over ``MAX_BODY`` (413) at the ASGI level, counting the bytes as ``receive()``
    yields them: a declared ``Content-Length`` is checked first, and a chunked body (no length) is cut
    off as soon as it passes the limit, before it reaches memory, a temporary file or a handler."""

    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.strip().isdigit() or int(declared) > self.max_body):
            await errors.error(413, "too_large", f"request body larger than {self.max_body // 2**20} MiB")(
                scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    # FastAPI re-raises an HTTPException met while reading a body; the handler gives the 413.
                    raise StarletteHTTPException(413, f"request body larger than {self.max_body // 2**20} MiB")
            return message

        await self.app(scope, counted, send)


def _load_pool(app: FastAPI, settings: Settings) -> None:
    runtime: Runtime = app.state.runtime
    try:
        runtime.status = "building"
        start = feed.head(app.state.db)  # changes after this point are applied by the follower
        pool = build_pool(settings, app.state.db, log=log.info, progress=True)  # tqdm bar on stderr
        _use_ranker(runtime, pool, settings)
        runtime.follower = FeedFollower(app.state.db, pool, start)
        runtime.follower.poll()
        runtime.pool = pool
        runtime.status = f"ready ({len(pool.facts)} talents)"
        log.info("matching index %s", runtime.status)
        threading.Thread(target=_first_duplicate_scan, args=(app, pool), daemon=True, name="duplicates").start()
        warm_open_demands(app.state.db, pool)
    except Exception as exc:  # keep serving; /ready reports the failure
        runtime.status = f"failed: {exc}"
        log.exception("building the matching index failed")


def _first_duplicate_scan(app: FastAPI, pool: TalentPool) -> None:
    """The database's first look for duplicate records (the demo's seeded ones), off the serving path:
    a failure is logged and never touches the pool."""
    try:
        found = duplicates.scan_once(app.state.db, pool)
        if found is not None:
            log.info("first duplicate scan: %s", found)
    except Exception:
        log.exception("the first duplicate scan failed; run it from the console (疑似重复 → 立即检查)")


def _use_ranker(runtime: Runtime, pool: TalentPool, settings: Settings) -> None:
    """Rank with the model ``matcher learn`` adopted (or the hand weights); logged when it changes."""
    pool.learned = learning.load_current(settings)
    version = pool.learned.version if pool.learned is not None else None
    if version != runtime.ranker_version or runtime.ranker_version is None:
        log.info("ranking with %s", f"the learned model {version}" if version else "the hand weights")
    runtime.ranker_version = version


def _background(app: FastAPI, settings: Settings) -> None:
    """Every ``feed_interval`` seconds apply the change feed to this process's pool (a read); every
    ``HEARTBEAT_EVERY`` ticks renew this process's leases and every ``SWEEP_EVERY`` fail jobs whose owner
    is gone (writes: each takes the database's write lock, so not every second). Never dies on an error."""
    runtime: Runtime = app.state.runtime
    tick = 0
    while not runtime.stopping.wait(settings.feed_interval):
        tick += 1
        try:
            if runtime.follower is not None:
                runtime.follower.poll()
            if tick % HEARTBEAT_EVERY == 0:
                jobs.heartbeat(app.state.db)
                runtime.impressions.flush(app.state.db)
                if runtime.pool is not None and \
                        learning.read_pointer(settings).get("version") != runtime.ranker_version:
                    _use_ranker(runtime, runtime.pool, settings)
            if tick % SWEEP_EVERY == 0:
                jobs.sweep(app.state.db)
        except Exception:
            log.exception("background maintenance failed; retrying")


def create_app(settings: Settings | None = None, load_pool: bool = True) -> FastAPI:
    settings = settings or get_settings()
    # Each worker process builds its app here: without this its own messages (index, ranker) are lost.
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(message)s")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.db.upgrade()
        jobs.sweep(app.state.db)  # work a dead process left behind; a live worker's jobs are kept
        if load_pool:
            threading.Thread(target=_load_pool, args=(app, settings), daemon=True, name="pool-loader").start()
        threading.Thread(target=_background, args=(app, settings), daemon=True, name="feed").start()
        yield
        app.state.runtime.stopping.set()
        try:
            app.state.runtime.impressions.flush(app.state.db)
        except Exception:
            log.exception("could not write the last shown lists")
        app.state.jobs.shutdown(wait=False, cancel_futures=True)
        app.state.job_runner.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="产业人才匹配服务 Industry–Talent Matching API", version="0.1.0", lifespan=lifespan,
                  description="出榜 → 揭榜 → 审核 → 奖补. Authenticate with `Authorization: Bearer <token>`. "
                              "Errors are `{\"error\": {\"code\", \"message\", \"field\"}}`.")
    app.state.settings = settings
    app.state.db = Database.from_settings(settings)
    app.state.runtime = Runtime()
    app.state.jobs = ThreadPoolExecutor(max_workers=1, thread_name_prefix="round")  # one round at a time
    app.state.job_runner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="job")  # imports, one at a time
    app.add_middleware(BodyLimit)
    errors.install(app, html_error=console.error_page, html_prefixes=console.web.PREFIXES)
    errors.document_errors(app)
    console.install(app)
    for r in (system.router, demands.router, matches.router, rounds.router, talents.router, me.router,
              console.router):
        app.include_router(r)
    app.mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static")
    return app
