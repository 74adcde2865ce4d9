"""The FastAPI application: middleware, error handlers, routers, the console, and the process's runtime
(``services/runtime.py``), started and stopped with the app. The model and the index load in the
runtime's background thread, so the service answers ``/health`` at once and ``/ready`` turns true when
matching can serve."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import console, errors
from api.routers import (
    conflicts,
    demands,
    engagements,
    inbox,
    insight,
    matches,
    me,
    programme,
    rounds,
    system,
    talents,
)
from matcher.config import Settings, get_settings
from matcher.services.runtime import Runtime

log = logging.getLogger("api")
MAX_BODY = 21 * 1024 * 1024


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


def create_app(settings: Settings | None = None, load_pool: bool = True) -> FastAPI:
    settings = settings or get_settings()
    # Each worker process builds its app here: without this its own messages (index, ranker) are lost.
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(message)s")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.runtime.start()
        yield
        app.state.runtime.stop()

    app = FastAPI(title="产业人才匹配服务 Industry–Talent Matching API", version="0.1.0", lifespan=lifespan,
                  description="出榜 → 揭榜 → 审核 → 奖补. Authenticate with `Authorization: Bearer <token>`. "
                              "Errors are `{\"error\": {\"code\", \"message\", \"field\"}}`.")
    app.state.runtime = Runtime(settings, load_pool=load_pool)  # the only state: read through api/deps.py
    app.add_middleware(BodyLimit)
    errors.install(app, html_error=console.error_page, html_prefixes=console.web.PREFIXES)
    errors.document_errors(app)
    console.install(app)
    for r in (system.router, demands.router, matches.router, rounds.router, talents.router, me.router,
              programme.router, conflicts.router, engagements.router, inbox.router, insight.router, console.router):
        app.include_router(r)
    app.mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static")
    return app
