"""Request dependencies: the database, the loaded talent pool, and the authenticated actor."""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from matcher.engine.pool import TalentPool
from matcher.services.access import Actor, authenticate
from matcher.storage.db import Database

bearer = HTTPBearer(auto_error=False, description="API token from `matcher users create` (demo: demo-official …)")


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_pool(request: Request) -> TalentPool | None:
    return request.app.state.runtime.pool


def get_actor(request: Request, creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Actor:
    db: Database = request.app.state.db
    # The console keeps the token in an HttpOnly cookie; API clients send a bearer header.
    token = creds.credentials if creds else request.cookies.get("matcher_token")
    with db.session() as s:
        return authenticate(s, token)
