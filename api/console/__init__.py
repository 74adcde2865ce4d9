"""The web console (Chinese), server-rendered, one module per area: ``auth`` (sign in and out),
``enterprise`` (demands, posting, the demand page), ``intermediary`` (board, take-up, shortlist),
``matches`` (lists, review queue, one match and its actions), ``engagements`` (agreements, service,
assessments, 奖补), ``official`` (dashboard, imports, rounds,
duplicates, invitations), ``insight`` (政策分析: gap map, funnel, records, trends,
通报), ``talent`` (the talent's own page, invitation sign-in).
Forms parse into the API's request models and call the same services; a domain error on a console
path becomes the one HTML error page (``api/errors.py``)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api.console import (
    auth,
    engagements,
    enterprise,
    inbox,
    insight,
    intermediary,
    matches,
    offices,
    official,
    talent,
)
from api.console.web import error_page, guard, install

router = APIRouter(include_in_schema=False, dependencies=[Depends(guard)])
for area in (auth, enterprise, intermediary, matches, engagements, inbox, official, offices, insight, talent):
    router.include_router(area.router)

__all__ = ["error_page", "install", "router"]
