"""The FastAPI application. The model and the index load once, in a background thread, so the service
answers ``/health`` at once and ``/ready`` turns true when matching can serve."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.responses import Response

from api import console, errors
from api.routers import demands, matches, rounds, system, talents
from matcher.config import Settings, get_settings
from matcher.engine.pool import TalentPool
from matcher.services.matching import build_pool, warm_open_demands
from matcher.services.rounds import fail_interrupted
from matcher.storage.db import Database

log = logging.getLogger("api")
MAX_BODY = 21 * 1024 * 1024


@dataclass
class Runtime:
    pool: TalentPool | None = None
    status: str = "starting"


class BodyLimit(BaseHTTPMiddleware):
    """Refuse oversized bodies before reading them (413), so a client cannot exhaust memory."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > MAX_BODY:
            return JSONResponse(status_code=413, content={"error": {
                "code": "too_large", "message": "request body larger than 21 MiB", "field": None}})
        return await call_next(request)


def _load_pool(app: FastAPI, settings: Settings) -> None:
    runtime: Runtime = app.state.runtime
    try:
        runtime.status = "building"
        pool = build_pool(settings, app.state.db, log=log.info, progress=True)  # tqdm bar on stderr
        runtime.pool = pool
        runtime.status = f"ready ({len(pool.facts)} talents)"
        log.info("matching index %s", runtime.status)
        warm_open_demands(app.state.db, pool)
    except Exception as exc:  # keep serving; /ready reports the failure
        runtime.status = f"failed: {exc}"
        log.exception("building the matching index failed")


def create_app(settings: Settings | None = None, load_pool: bool = True) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.db.upgrade()
        fail_interrupted(app.state.db)
        if load_pool:
            threading.Thread(target=_load_pool, args=(app, settings), daemon=True, name="pool-loader").start()
        yield
        app.state.jobs.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="产业人才匹配服务 Industry–Talent Matching API", version="0.1.0", lifespan=lifespan,
                  description="出榜 → 揭榜 → 审核 → 奖补. Authenticate with `Authorization: Bearer <token>`. "
                              "Errors are `{\"error\": {\"code\", \"message\", \"field\"}}`.")
    app.state.settings = settings
    app.state.db = Database.from_settings(settings)
    app.state.runtime = Runtime()
    app.state.jobs = ThreadPoolExecutor(max_workers=1, thread_name_prefix="round")  # one round at a time
    app.add_middleware(BodyLimit)
    errors.install(app)
    console.install(app)
    for r in (system.router, demands.router, matches.router, rounds.router, talents.router, console.router):
        app.include_router(r)
    app.mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static")
    return app
