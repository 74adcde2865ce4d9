"""通报: an office's report for a period — the gap map, the funnel of the period's demands, the intermediaries'
track records, the overdue list and notable engagements — frozen as a snapshot and made into an XLSX and a
PDF (Chinese fonts, charts drawn server-side with matplotlib from the same figures the API serves).

Reproducible: the snapshot holds the figures as issued and names what they were computed with (the
programmes' version, the calibration file's digest, the ranker, the supply rows' time), so a later reader can
tell; the next report of the office compares its figures against the last one issued before it, not against
a recomputation of that month.
"""

from __future__ import annotations

import hashlib
import html
import io
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
from openpyxl import Workbook
from sqlalchemy import select

from matcher.config import Settings
from matcher.domain.offices import office_tree
from matcher.domain.programmes import programmes
from matcher.domain.vocabulary import Role
from matcher.engine.pool import TalentPool
from matcher.errors import Invalid, NotFound
from matcher.services.access import Actor, require
from matcher.services.audit import record
from matcher.services.insight import dashboard, figures
from matcher.services.insight.frames import STAGE_KEYS, records_of
from matcher.services.insight.views import ReportView
from matcher.services.pool.facts import ready
from matcher.services.programme import deadlines
from matcher.storage.db import Database
from matcher.storage.models import InsightReport, iso

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _versions(settings: Settings, pool: TalentPool | None) -> dict[str, str]:
    cal = settings.calibration_file
    live = ready(pool)
    return {
        "programmes": programmes().version,
        "calibration": hashlib.sha256(cal.read_bytes()).hexdigest()[:16] if cal and cal.exists() else "",
        "ranker": live.learned.version if live is not None and live.learned is not None else "hand",
        "embedding_model": settings.embedding_model,
    }


def snapshot(db: Database, pool: TalentPool | None, settings: Settings, actor: Actor, start: date, end: date,
             office: str | None = None) -> dict[str, Any]:
    """The period's figures as plain JSON."""
    if end < start:
        raise Invalid("the period ends before it starts", field="end")
    where = dashboard.office_for(actor, office)
    frames = dashboard.current_frames(db, settings)
    d = dashboard.in_office(frames, where)
    period = d[d["posted"].map(lambda x: isinstance(x, date) and start <= x <= end)]
    gap = dashboard.gap_map(db, pool, settings, actor, "sector", where.code)
    records = dashboard.track_records(db, settings, actor, where.code)
    scoped = Actor(actor.user_id, Role.OFFICIAL.value, office_code=where.code)
    overdue = deadlines.open_items(db, scoped, status="overdue")
    eng = frames.engagements[frames.engagements["demand_id"].isin(d["id"])]
    notable = eng[eng["grade_points"] >= 4].head(10)
    titles = d.set_index("id")["title"].to_dict()
    return {
        "office": {"code": where.code, "name": where.display_name},
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        "computed_at": iso(frames.computed_at),
        "demands_posted": len(period),
        "stages": [s.model_dump() for s in figures.stages(period)],
        "intervals": [i.model_dump() for i in figures.intervals(period, frames)],
        "gap_cells": [c.model_dump() for c in gap.cells],
        "unmet": [{"demand_id": u.demand_id, "title": u.title, "sector": u.sector_label, "mode": u.mode_label}
                  for u in gap.unmet_demands[:20]],
        "topics": [t.model_dump() for t in gap.topics],
        "intermediaries": [r.model_dump() for r in records.intermediaries[:20]],
        "overdue": [{"title": i.title, "stage": i.stage_label, "unit": i.unit_name, "due": i.due.isoformat(),
                     "days_late": -i.working_days_left} for i in overdue[:50]],
        "notable": [{"engagement_id": int(r["id"]), "title": titles.get(r["demand_id"], ""),
                     "grades": list(r["grades"])} for r in records_of(notable)],
    }


def _compare(current: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any]:
    if previous is None:
        return {}
    reached_now = {s["key"]: s["reached"] for s in current["stages"]}
    reached_then = {s["key"]: s["reached"] for s in previous.get("stages", [])}
    return {"previous_period": previous.get("period"), "demands_posted": previous.get("demands_posted"),
            "reached_change": {k: reached_now.get(k, 0) - reached_then.get(k, 0) for k in STAGE_KEYS}}


def issue(db: Database, pool: TalentPool | None, settings: Settings, actor: Actor, start: date, end: date,
          office: str | None = None) -> ReportView:
    """Compute, freeze and store a 通报 with its XLSX and PDF."""
    require(actor, Role.OFFICIAL, Role.ADMIN)
    figs = snapshot(db, pool, settings, actor, start, end, office)
    code = figs["office"]["code"]
    with db.session() as s:
        prev = s.scalar(select(InsightReport).where(InsightReport.office_code == code,
                                                    InsightReport.period_end < start)
                        .order_by(InsightReport.period_end.desc(), InsightReport.id.desc()).limit(1))
        figs["compared_with"] = _compare(figs, prev.figures if prev is not None else None)
    versions = _versions(settings, pool)
    xlsx, pdf = render_xlsx(figs), render_pdf(figs, versions)
    with db.session() as s:
        r = InsightReport(office_code=code, period_start=start, period_end=end, figures=figs, versions=versions,
                          xlsx=xlsx, pdf=pdf, created_by=actor.user_id, created_at=datetime.now(UTC))
        s.add(r)
        s.flush()
        record(s, action="issue_report", entity="insight_report", entity_id=r.id, actor_user_id=actor.user_id,
               actor_role=actor.role, after={"office": code, "start": start.isoformat(), "end": end.isoformat()})
        return _view(r)


def _view(r: InsightReport) -> ReportView:
    tree = office_tree()
    return ReportView(id=r.id, office_code=r.office_code,
                      office_name=tree.get(r.office_code).display_name if r.office_code in tree else r.office_code,
                      period_start=r.period_start.isoformat(), period_end=r.period_end.isoformat(),
                      created_at=iso(r.created_at) or "", versions=dict(r.versions or {}),
                      xlsx_url=f"/api/v1/insight/reports/{r.id}.xlsx", pdf_url=f"/api/v1/insight/reports/{r.id}.pdf")


def _visible(actor: Actor, code: str) -> bool:
    tree = office_tree()
    own = actor.office_code or tree.province.code
    return own == tree.province.code or code == own or (code in tree and tree.contains(own, code))


def issued(db: Database, actor: Actor) -> list[ReportView]:
    require(actor, Role.OFFICIAL, Role.ADMIN)
    with db.session() as s:
        rows = s.scalars(select(InsightReport).order_by(InsightReport.id.desc()).limit(200))
        return [_view(r) for r in rows if _visible(actor, r.office_code)]


def file_of(db: Database, actor: Actor, report_id: int, fmt: str) -> tuple[bytes, str, str]:
    require(actor, Role.OFFICIAL, Role.ADMIN)
    with db.session() as s:
        r = s.get(InsightReport, report_id)
        if r is None or not _visible(actor, r.office_code):
            raise NotFound(f"report {report_id} not found", field="report_id")
        name = f"tongbao-{r.office_code}-{r.period_start.isoformat()}-{r.period_end.isoformat()}.{fmt}"
        return (r.xlsx, XLSX, name) if fmt == "xlsx" else (r.pdf, "application/pdf", name)


# ------------------------------------------------------------------ files
def render_xlsx(figs: dict[str, Any]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "概况"
    ws.append(["单位", figs["office"]["name"]])
    ws.append(["期间", f"{figs['period']['start']} 至 {figs['period']['end']}"])
    ws.append(["本期出榜需求", figs["demands_posted"]])
    ws.append([])
    ws.append(["阶段", "到达需求数", "转化率"])
    for st in figs["stages"]:
        ws.append([st["label"], st["reached"], st["conversion"]])
    ws.append([])
    ws.append(["环节", "需求数", "中位工作日", "90分位工作日"])
    for i in figs["intervals"]:
        ws.append([i["label"], i["count"], i["median_days"], i["p90_days"]])
    sheets = (
        ("供需缺口", ["领域", "需求×方式", "期望推荐", "可满足", "供需比", "无合适人选", "急需紧缺"], figs["gap_cells"],
         lambda c: [c["label"], c["pairs"], c["wanted"], c["covered"], c["supply_ratio"], c["unmet"],
                    "是" if c["flagged"] else ""]),
        ("急需紧缺人才目录", ["方向", "关键词", "需求数", "典型需求"], figs["topics"],
         lambda t: [t["name"], "、".join(t["phrases"]), t["size"], t["typical_title"]]),
        ("中介机构", ["排名", "机构", "揭榜", "审核通过", "揭榜到通过（工作日）", "时限内完成率", "企业评分"],
         figs["intermediaries"],
         lambda r: [r["rank"], r["name"], r["taken_up"], r["matches_approved"], r["median_days_to_match"],
                    r["share_within_limits"], r["enterprise_score"]]),
        ("逾期事项", ["事项", "环节", "责任单位", "截止日期", "逾期工作日"], figs["overdue"],
         lambda o: [o["title"], o["stage"], o["unit"], o["due"], o["days_late"]]),
    )
    for title, head, rows, row in sheets:
        sheet = wb.create_sheet(title)
        sheet.append(head)
        for item in rows:
            sheet.append(row(item))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _chart_svg(labels: list[str], values: list[float], title: str, prefix: str) -> str:
    """A horizontal bar chart as inline SVG with its text kept as text (the PDF's fonts set it)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["svg.fonttype"] = "none"
    plt.rcParams["font.family"] = ["Noto Sans CJK SC", "sans-serif"]
    fig, ax = plt.subplots(figsize=(6.4, max(1.6, 0.35 * len(labels) + 0.8)))
    ax.barh(range(len(labels)), values, color="#3b6ea8")
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    ax.set_title(title)
    fig.tight_layout()
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    plt.close(fig)
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    # two charts in one document: their element ids must not collide
    return (text.replace('id="', f'id="{prefix}-').replace("url(#", f"url(#{prefix}-")
            .replace('href="#', f'href="#{prefix}-'))


def render_pdf(figs: dict[str, Any], versions: dict[str, str]) -> bytes:
    from weasyprint import CSS, HTML

    e = html.escape
    stage_chart = _chart_svg([s["label"] for s in figs["stages"]], [s["reached"] for s in figs["stages"]],
                             "各阶段到达需求数", "stages")
    gap_chart = _chart_svg([c["label"] for c in figs["gap_cells"]], [c["supply_ratio"] for c in figs["gap_cells"]],
                           "各领域供需比", "gaps")

    def table(head: list[str], rows: list[list[Any]]) -> str:
        body = "".join("<tr>" + "".join(f"<td>{e('' if v is None else str(v))}</td>" for v in r) + "</tr>"
                       for r in rows)
        return "<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in head) + "</tr>" + body + "</table>"

    flagged = [c for c in figs["gap_cells"] if c["flagged"]]
    parts = [
        f"<h1>{e(figs['office']['name'])}产业人才对接工作通报</h1>",
        f"<p>期间：{e(figs['period']['start'])} 至 {e(figs['period']['end'])}；"
        f"本期出榜需求 {figs['demands_posted']} 项。</p>",
        "<h2>一、供需缺口（急需紧缺）</h2>",
        "<p>" + ("急需紧缺领域：" + "、".join(e(c["label"]) for c in flagged) if flagged
                 else "本期无急需紧缺领域。") + "</p>",
        gap_chart,
        table(["领域", "需求×方式", "期望推荐", "可满足", "供需比", "无合适人选"],
              [[c["label"], c["pairs"], c["wanted"], c["covered"], c["supply_ratio"], c["unmet"]]
               for c in figs["gap_cells"]]),
        "<h3>急需紧缺人才目录</h3>",
        table(["方向", "关键词", "需求数"], [[t["name"], "、".join(t["phrases"]), t["size"]] for t in figs["topics"]]),
        "<h2>二、对接进度</h2>", stage_chart,
        table(["环节", "需求数", "中位工作日", "90分位工作日"],
              [[i["label"], i["count"], i["median_days"], i["p90_days"]] for i in figs["intervals"]]),
        "<h2>三、中介机构业绩</h2>",
        table(["排名", "机构", "揭榜", "审核通过", "时限内完成率"],
              [[r["rank"], r["name"], r["taken_up"], r["matches_approved"], r["share_within_limits"]]
               for r in figs["intermediaries"]]),
        "<h2>四、逾期事项</h2>",
        table(["事项", "环节", "责任单位", "截止日期", "逾期工作日"],
              [[o["title"], o["stage"], o["unit"], o["due"], o["days_late"]] for o in figs["overdue"]])
        if figs["overdue"] else "<p>本期无逾期事项。</p>",
        "<h2>五、优秀案例</h2>",
        "<ul>" + "".join(f"<li>{e(n['title'])}</li>" for n in figs["notable"]) + "</ul>" if figs["notable"]
        else "<p>本期暂无考核优秀的对接。</p>",
        "<p class='meta'>数据计算于 " + e(str(figs["computed_at"])) + "；规则版本 " + e(versions["programmes"]) +
        "；排序模型 " + e(versions["ranker"]) + "；校准文件 " + e(versions["calibration"]) + "。</p>",
    ]
    css = CSS(string="@page { size: A4; margin: 18mm; } body { font-family: 'Noto Sans CJK SC', sans-serif; "
                     "font-size: 10pt; } table { border-collapse: collapse; width: 100%; margin: 6pt 0; } "
                     "td, th { border: 0.5pt solid #888; padding: 2pt 4pt; } th { background: #eef; } "
                     "svg { width: 100%; height: auto; } .meta { color: #666; font-size: 8pt; }")
    pdf = HTML(string="<html lang='zh-CN'><body>" + "".join(parts) + "</body></html>").write_pdf(stylesheets=[css])
    assert isinstance(pdf, bytes)
    return pdf


def frame_summary(figs: dict[str, Any]) -> pd.DataFrame:
    """The gap cells of a snapshot as a table (the notebook's and the command's print-out)."""
    return pd.DataFrame(figs.get("gap_cells", []))
