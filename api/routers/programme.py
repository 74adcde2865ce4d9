"""The programme around the match: time limits on open items, the 督查 list, the official calendar."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse

from api.deps import ActorDep, DbDep, IntermediaryId, Limit, Offset
from api.downloads import xlsx_download
from api.schemas import AreaIn, Page
from matcher.services.people import intermediaries
from matcher.services.programme import calendar, deadlines
from matcher.views import CalendarYearsView, DueItem, DueStatus, IntermediaryView, OfficeView, Oversight, Stage

router = APIRouter(prefix="/api/v1", tags=["programme"])



@router.get("/deadlines", response_model=Page[DueItem],
            summary="Open items with their time limits in working days, most overdue first — officials")
def open_items(db: DbDep, actor: ActorDep, status: DueStatus | None = None, stage: Stage | None = None,
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


@router.get("/offices", response_model=list[OfficeView], summary="The region's offices: province, cities, counties")
def list_offices(actor: ActorDep) -> Any:
    return intermediaries.offices()


@router.get("/intermediaries", response_model=list[IntermediaryView],
            summary="Intermediaries and the area each is registered for — officials")
def list_intermediaries(db: DbDep, actor: ActorDep) -> Any:
    return intermediaries.list_intermediaries(db, actor)


@router.patch("/intermediaries/{intermediary_id}", response_model=IntermediaryView,
              summary="Register an intermediary for an area (null: the whole province) — the province's officials")
def set_intermediary_area(db: DbDep, actor: ActorDep, intermediary_id: IntermediaryId, body: AreaIn) -> Any:
    return intermediaries.set_area(db, actor, intermediary_id, body.area)
