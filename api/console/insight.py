"""Officials: 政策分析 — the gap map with drill-down from the province to a city to a county, the funnel and
time to match, track records, the momentum of topics and the 通报. Each chart is drawn by ECharts (vendored
into /static/vendor at install: the console works offline) from the same JSON the API serves, embedded in
the page; each has a table beside it that reads the same figures, for screen readers and without scripts."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.console.web import actor, page
from api.deps import RuntimeDep
from matcher.domain.offices import office_tree
from matcher.domain.vocabulary import Role
from matcher.errors import Invalid
from matcher.services.access import require
from matcher.services.insight import dashboard, figures, reports
from matcher.services.programme.deadlines import shanghai_today

router = APIRouter()

Office = Annotated[str | None, Query(pattern=r"^\d{6}$")]
Dimension = Annotated[str, Query(pattern=r"^(sector|industry|mode|city|area)$")]


def _trail(code: str) -> list[dict[str, str]]:
    """The breadcrumb from the province down to the office shown."""
    tree = office_tree()
    chain = [*reversed(tree.ancestors(code)), tree.get(code)] if code != tree.province.code else [tree.province]
    return [{"code": o.code, "name": o.display_name} for o in chain]


@router.get("/console/insight", response_class=HTMLResponse)
def insight_page(request: Request, runtime: RuntimeDep, dimension: Dimension = "area", office: Office = None,
                 level: Annotated[int, Query(ge=1, le=4)] = 2, group_by: Annotated[
                     str, Query(pattern=r"^(sector|office|mode|programme|month)$")] = "sector") -> HTMLResponse:
    who = actor(request)
    require(who, Role.OFFICIAL, Role.ADMIN)
    settings, db, pool = runtime.settings, runtime.db, runtime.ready_pool()
    gap = dashboard.gap_map(db, pool, settings, who, dimension, office, level)
    funnel = dashboard.funnel(db, settings, who, group_by, office)
    records = dashboard.track_records(db, settings, who, office)
    momentum = dashboard.momentum(db, pool, settings, who, None, office)
    today = shanghai_today()
    return page(request, "insight.html", who, title="政策分析", gap=gap, funnel=funnel, records=records,
                momentum=momentum, dimensions=figures.DIMENSIONS, groups=figures.GROUPS, dimension=dimension,
                level=level, group_by=group_by, trail=_trail(gap.office_code), reports=reports.issued(db, who),
                period_start=today.replace(day=1).isoformat(), period_end=today.isoformat(),
                charts={"gap": gap.model_dump(mode="json"), "funnel": funnel.model_dump(mode="json"),
                        "momentum": momentum.model_dump(mode="json")})


@router.get("/console/insight/cell", response_class=HTMLResponse)
def cell_page(request: Request, runtime: RuntimeDep, key: Annotated[str, Query(min_length=1, max_length=20)],
              dimension: Dimension = "sector", office: Office = None,
              level: Annotated[int, Query(ge=1, le=4)] = 2) -> HTMLResponse:
    """The demands behind one bar of the gap map (the bar's click and the table's link open it)."""
    who = actor(request)
    listing = dashboard.cell_demands(runtime.db, runtime.ready_pool(), runtime.settings, who, dimension, key, office,
                                     level, limit=500)
    return page(request, "insight_cell.html", who, title=f"供需明细 · {listing.label}", listing=listing,
                dimension_label=figures.DIMENSIONS[dimension])


@router.post("/console/insight/reports", response_model=None)
def issue_report(request: Request, runtime: RuntimeDep, start: Annotated[str, Form()],
                 end: Annotated[str, Form()], office: Annotated[str, Form()] = "") -> RedirectResponse:
    who = actor(request)
    try:
        first, last = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError as exc:
        raise Invalid("dates are written YYYY-MM-DD", field="start") from exc
    reports.issue(runtime.db, runtime.ready_pool(), runtime.settings, who, first, last, office or None)
    return RedirectResponse("/console/insight#reports", status_code=303)


@router.get("/console/insight/reports/{report_id}.{fmt}", response_model=None)
def report_file(request: Request, runtime: RuntimeDep, report_id: int, fmt: str) -> Response:
    if fmt not in ("xlsx", "pdf"):
        raise Invalid("the format is xlsx or pdf", field="fmt")
    body, media, name = reports.file_of(runtime.db, actor(request), report_id, fmt)
    return Response(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})
