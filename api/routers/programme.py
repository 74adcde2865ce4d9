"""The programme around the match: time limits on open items, the 督查 list, the official calendar."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import FileResponse

from api.deps import ActorDep, DbDep, Limit, Offset
from api.downloads import xlsx_download
from api.schemas import Page
from matcher.services.programme import calendar, deadlines
from matcher.services.programme.deadlines import DueItem, Oversight
from matcher.views import CalendarYearsView

router = APIRouter(prefix="/api/v1", tags=["programme"])

Status = Literal["due", "due_soon", "overdue"]
Stage = Literal["take_up", "first_contact", "review", "reward_decision"]


@router.get("/deadlines", response_model=Page[DueItem],
            summary="Open items with their time limits in working days, most overdue first — officials")
def open_items(db: DbDep, actor: ActorDep, status: Status | None = None, stage: Stage | None = None,
               limit: Limit = 20, offset: Offset = 0) -> Any:
    items = deadlines.open_items(db, actor, status=status, stage=stage)
    return {"items": items[offset:offset + limit], "total": len(items), "limit": limit, "offset": offset}


@router.get("/oversight", response_model=Oversight,
            summary="督查: overdue, due-soon and due items per unit and per office of the caller's area — officials")
def oversight(db: DbDep, actor: ActorDep) -> Any:
    return deadlines.oversight(db, actor)


@router.get("/oversight.xlsx", response_class=FileResponse, summary="The 督查 list as a workbook — officials")
def oversight_xlsx(db: DbDep, actor: ActorDep) -> Any:
    return xlsx_download(lambda path: deadlines.export_oversight(db, actor, path), "oversight.xlsx")


@router.get("/calendar/years", response_model=CalendarYearsView,
            summary="The years of the official calendar that are entered (others count Monday–Friday, provisional)")
def calendar_years(db: DbDep, actor: ActorDep) -> Any:
    return CalendarYearsView(years=calendar.entered_years(db))
