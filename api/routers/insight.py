"""The office's view over HTTP (officials and admins): the gap map, the funnel, the track records, the
momentum of topics and the 通报. The console's charts read these same answers."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from api.deps import ActorDep, DbDep, PoolDep, SettingsDep
from matcher.services.insight import dashboard, reports
from matcher.services.insight.views import (
    CellListView,
    FunnelView,
    GapMapView,
    MomentumView,
    ReportView,
    TrackRecordsView,
)
from matcher.validation import MAX_ID

router = APIRouter(prefix="/api/v1/insight", tags=["insight"])

Office = Annotated[str | None, Query(pattern=r"^\d{6}$", description="An office inside the caller's area "
                                                                     "(drill-down); default the caller's own.")]


@router.get("/gaps", response_model=GapMapView, summary="Supply–demand gap map (急需紧缺) — officials")
def gaps(db: DbDep, pool: PoolDep, settings: SettingsDep, actor: ActorDep,
         dimension: Literal["sector", "industry", "mode", "city", "area"] = "sector", office: Office = None,
         industry_level: Annotated[int, Query(ge=1, le=4)] = 2) -> Any:
    return dashboard.gap_map(db, pool, settings, actor, dimension, office, industry_level)


@router.get("/gaps/demands", response_model=CellListView, summary="The demands behind one cell of the gap map")
def gap_demands(db: DbDep, pool: PoolDep, settings: SettingsDep, actor: ActorDep,
                key: Annotated[str, Query(min_length=1, max_length=20)],
                dimension: Literal["sector", "industry", "mode", "city", "area"] = "sector", office: Office = None,
                industry_level: Annotated[int, Query(ge=1, le=4)] = 2,
                limit: Annotated[int, Query(ge=1, le=500)] = 100,
                offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0) -> Any:
    return dashboard.cell_demands(db, pool, settings, actor, dimension, key, office, industry_level, limit, offset)


@router.get("/funnel", response_model=FunnelView, summary="Funnel and working days between stages — officials")
def funnel(db: DbDep, settings: SettingsDep, actor: ActorDep,
           group_by: Literal["sector", "office", "mode", "programme", "month"] | None = None,
           office: Office = None) -> Any:
    return dashboard.funnel(db, settings, actor, group_by, office)


@router.get("/records", response_model=TrackRecordsView, summary="Track records and rankings — officials")
def records(db: DbDep, settings: SettingsDep, actor: ActorDep, office: Office = None) -> Any:
    return dashboard.track_records(db, settings, actor, office)


@router.get("/momentum", response_model=MomentumView, summary="Topics of demand rising or falling — officials")
def momentum(db: DbDep, pool: PoolDep, settings: SettingsDep, actor: ActorDep,
             quarter: Annotated[str | None, Query(pattern=r"^\d{4}Q[1-4]$")] = None, office: Office = None) -> Any:
    return dashboard.momentum(db, pool, settings, actor, quarter, office)


@router.post("/reports", status_code=201, response_model=ReportView, summary="Issue a 通报 for a period — officials")
def issue(db: DbDep, pool: PoolDep, settings: SettingsDep, actor: ActorDep, start: date, end: date,
          office: Office = None) -> Any:
    return reports.issue(db, pool, settings, actor, start, end, office)


@router.get("/reports", response_model=list[ReportView], summary="The 通报 issued for the caller's area")
def issued(db: DbDep, actor: ActorDep) -> Any:
    return reports.issued(db, actor)


@router.get("/reports/{report_id}.{fmt}", summary="A 通报 as XLSX or PDF", response_class=Response)
def download(db: DbDep, actor: ActorDep, report_id: Annotated[int, Path(ge=1, le=MAX_ID)],
             fmt: Literal["xlsx", "pdf"]) -> Response:
    body, media, name = reports.file_of(db, actor, report_id, fmt)
    return Response(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})
