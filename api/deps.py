"""Request dependencies: the process's runtime (``services/runtime.py``) and what it holds — the database,
the loaded talent pool, the settings — and the authenticated actor. This is the only module that reads
``app.state``: handlers and console pages receive what they need as parameters."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from matcher.config import Settings
from matcher.domain.vocabulary import Role
from matcher.engine.pool import TalentPool
from matcher.errors import Forbidden
from matcher.services.access import Actor, authenticate
from matcher.services.runtime import Runtime
from matcher.storage.db import Database
from matcher.validation import MAX_ID, MAX_OFFSET

# Bounded integers for every path id and page: an id or offset beyond these is a 422, never a driver
# overflow (a 20-digit id used to reach SQLite and come back as a 500).
DemandId = Annotated[int, Path(ge=1, le=MAX_ID)]
MatchId = Annotated[int, Path(ge=1, le=MAX_ID)]
EngagementId = Annotated[int, Path(ge=1, le=MAX_ID)]
RewardId = Annotated[int, Path(ge=1, le=MAX_ID)]
TalentId = Annotated[int, Path(ge=1, le=MAX_ID)]
RoundId = Annotated[int, Path(ge=1, le=MAX_ID)]  # a round is a job of kind 'round'
JobId = Annotated[int, Path(ge=1, le=MAX_ID)]
PairId = Annotated[int, Path(ge=1, le=MAX_ID)]
IntermediaryId = Annotated[int, Path(ge=1, le=MAX_ID)]
Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
OptionalId = Annotated[int | None, Query(ge=1, le=MAX_ID)]

bearer = HTTPBearer(auto_error=False, description="API token from `matcher users create` (demo: demo-official …)")


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_db(request: Request) -> Database:
    return get_runtime(request).db


def get_pool(request: Request) -> TalentPool | None:
    return get_runtime(request).ready_pool()


def get_settings(request: Request) -> Settings:
    return get_runtime(request).settings


def _authenticated(request: Request, creds: HTTPAuthorizationCredentials | None) -> Actor:
    db = get_db(request)
    # Bearer tokens only: the console's session cookie is not an API credential (a page on another
    # site could otherwise make the browser call the API with it).
    with db.session() as s:
        return authenticate(s, creds.credentials if creds else None)


def get_actor(request: Request, creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Actor:
    """A staff or organisation account. A talent's token opens only ``/api/v1/me`` (their own record): one
    gate here instead of a talent case in every service."""
    actor = _authenticated(request, creds)
    if actor.role == Role.TALENT:
        raise Forbidden("talent accounts use /api/v1/me (their own record)")
    return actor


def get_any_actor(request: Request, creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Actor:
    return _authenticated(request, creds)


def get_talent_actor(request: Request, creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Actor:
    actor = _authenticated(request, creds)
    if actor.role != Role.TALENT:
        raise Forbidden(f"/api/v1/me is for talent accounts; you are '{actor.role}'")
    return actor


# The dependencies as annotated types, so a route reads ``db: DbDep, actor: ActorDep`` (as in
# full-stack-fastapi-template's api/deps.py).
DbDep = Annotated[Database, Depends(get_db)]
ActorDep = Annotated[Actor, Depends(get_actor)]
TalentActorDep = Annotated[Actor, Depends(get_talent_actor)]
AnyActorDep = Annotated[Actor, Depends(get_any_actor)]  # any signed-in account, talents included
PoolDep = Annotated[TalentPool | None, Depends(get_pool)]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
