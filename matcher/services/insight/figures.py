"""The office's figures as plain pandas over the frames (``frames.py``): the gap map, the funnel and the time
to match, the track records, the momentum of topics. No database here — the names a figure shows come in as
mappings — so a test builds the frames it needs and checks the answer it knows.

Decisions (docs in README "Policy intelligence"):
- *Gap map*: a cell holds the (demand, mode) pairs of one value of a dimension. Its supply ratio is
  Σ min(supply, wanted) / Σ wanted — how much of what the enterprises asked for (``proposals_wanted`` per
  demand) the pool can fill with eligible, free, likely-right talents; the shortage index is 1 − ratio and a
  cell is flagged below ``insight_shortage_ratio``. Supply is counted per demand, never per city: the pool is
  province-wide and beyond.
- *Funnel*: a demand reaches a stage once (its first time); conversion is the share of the previous stage's
  demands that reached the next; intervals are working days between consecutive stages, median and 90th
  percentile (linear interpolation, pandas' default). A *stall* is a live demand (open or taken up) whose last
  stage reached is that one, with the working days since.
- *Rankings* sort by the figure that matters most to the office first (approved matches; completed demands;
  mean grade), then the next, and always show the figures they come from.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from matcher.domain import modes
from matcher.domain.labels import label
from matcher.domain.workflow import LIVE_DEMANDS
from matcher.engine import topics as topic_engine
from matcher.services.insight.frames import STAGE_KEYS, STAGE_LABELS, Frames, records_of
from matcher.services.insight.views import (
    EnterpriseRecordView,
    FunnelGroupView,
    GapCellView,
    HandoverShareView,
    IntermediaryRecordView,
    IntervalView,
    NearTalentView,
    StageView,
    StallView,
    TalentRecordView,
    TopicView,
    TrendView,
    UnmetDemandView,
)

#: The gap map's dimensions and their labels.
DIMENSIONS: dict[str, str] = {"sector": "领域", "industry": "国民经济行业（GB/T 4754）", "mode": "引才方式",
                              "city": "城市", "area": "下级行政区"}
#: The funnel's groupings.
GROUPS: dict[str, str] = {"sector": "领域", "office": "主管部门", "mode": "引才方式", "programme": "政策项目",
                          "month": "月份"}
HANDOVER_LABELS = {"take_up": "揭榜", "first_contact": "首次联系", "review": "审核"}


def _r(x: float | None, n: int = 3) -> float | None:
    return None if x is None or (isinstance(x, float) and np.isnan(x)) else round(float(x), n)


def _quantiles(values: pd.Series) -> tuple[float | None, float | None]:
    v = pd.to_numeric(values, errors="coerce").dropna()
    if v.empty:
        return None, None
    return _r(float(v.median()), 1), _r(float(v.quantile(0.9)), 1)


# ------------------------------------------------------------------ gap map
def pairs(frames: Frames, demands: pd.DataFrame) -> pd.DataFrame:
    """The supply rows of these demands, joined with the demands' dimensions."""
    sup = frames.supply[frames.supply["demand_id"].isin(demands["id"])]
    return sup.merge(demands.rename(columns={"id": "demand_id"}), on="demand_id", how="inner")


def key_column(p: pd.DataFrame, dimension: str, industry_level: int, area_of: Callable[[str], str | None],
                industry_at: Callable[[str, int], str]) -> pd.Series:
    if dimension == "sector":
        return p["sector"]
    if dimension == "mode":
        return p["mode"]
    if dimension == "city":
        return p["city"].replace("", "（未填）")
    if dimension == "industry":
        return p["industry_code"].map(lambda c: industry_at(c, industry_level) if c else "")
    return p["county_code"].map(lambda c: area_of(c) or "")


def gap_cells(p: pd.DataFrame, dimension: str, ratio: float, *, industry_level: int = 2,
              area_of: Callable[[str], str | None] = lambda c: None,
              industry_at: Callable[[str, int], str] = lambda c, n: c[:n],
              labels: Mapping[str, str] | None = None, drillable: Callable[[str], bool] = lambda k: False
              ) -> list[GapCellView]:
    """The cells of one dimension, most short first."""
    if p.empty:
        return []
    p = p.assign(key=key_column(p, dimension, industry_level, area_of, industry_at))
    p = p.assign(covered=np.minimum(p["supply"], p["wanted"]))
    out = []
    for key, g in p.groupby("key", sort=False):
        wanted = int(g["wanted"].sum())
        covered = int(g["covered"].sum())
        r = covered / wanted if wanted else 1.0
        k = str(key)
        name = (labels or {}).get(k) or (modes.get(k).label if dimension == "mode" and modes.is_mode(k)
                                         else label(k) if k else "（未知）")
        out.append(GapCellView(key=k, label=name, pairs=len(g), demands=int(g["demand_id"].nunique()), wanted=wanted,
                               covered=covered, supply_ratio=round(r, 3), shortage_index=round(1 - r, 3),
                               unmet=int((g["supply"] == 0).sum()), median_supply=float(g["supply"].median()),
                               flagged=r < ratio, drill=k if dimension == "area" and drillable(k) else None))
    out.sort(key=lambda c: (c.supply_ratio, -c.pairs, c.key))
    return out


def unmet(p: pd.DataFrame, talents: Mapping[int, tuple[str, str]], limit: int = 50) -> list[UnmetDemandView]:
    """The pairs with no supply, with their nearest talents (those still in the pool: ``talents`` holds only
    talents who may be proposed, so a withdrawn one is never shown as who the demand would need)."""
    rows = p[p["supply"] == 0].sort_values(["best_probability", "demand_id"], na_position="first").head(limit)
    out = []
    for r in records_of(rows):
        near = [NearTalentView(talent_id=n["talent_id"], name=talents[n["talent_id"]][0],
                               affiliation=talents[n["talent_id"]][1], probability=n.get("probability"),
                               eligible=bool(n.get("eligible")), excluded_by=n.get("excluded_by"))
                for n in (r["nearest"] or []) if n.get("talent_id") in talents]
        best = r["best_probability"]
        out.append(UnmetDemandView(demand_id=int(r["demand_id"]), title=r["title"], sector=r["sector"],
                                   sector_label=label(r["sector"]), mode=r["mode"],
                                   mode_label=modes.get(r["mode"]).label if modes.is_mode(r["mode"]) else r["mode"],
                                   city=r["city"], best_probability=None if pd.isna(best) else _r(best, 4),
                                   nearest=near))
    return out


def unmet_topics(p: pd.DataFrame, vectors: Callable[[list[str]], np.ndarray], wanted: int) -> list[TopicView]:
    """The topics of the demands with no supply in at least one of their modes (each demand once)."""
    d = p[p["supply"] == 0].drop_duplicates("demand_id").sort_values("demand_id")
    if d.empty:
        return []
    texts = topic_engine.strip_boilerplate(list(d["text"]))
    found = topic_engine.cluster(vectors(texts), texts, wanted)
    ids, titles = list(d["demand_id"]), list(d["title"])
    return [TopicView(name=t.name, phrases=list(t.phrases), size=len(t.members),
                      demand_ids=[int(ids[i]) for i in t.members], typical_title=titles[t.typical]) for t in found]


# ------------------------------------------------------------------ funnel
def stages(d: pd.DataFrame) -> list[StageView]:
    out = []
    previous = None
    posted = int(d["posted"].notna().sum()) if len(d) else 0
    for key in STAGE_KEYS:
        reached = int(d[key].notna().sum()) if len(d) else 0
        out.append(StageView(key=key, label=STAGE_LABELS[key], reached=reached,
                             conversion=_r(reached / previous) if previous else None,
                             share_of_posted=_r(reached / posted) if posted else None))
        previous = reached
    return out


def intervals(d: pd.DataFrame, frames: Frames) -> list[IntervalView]:
    out = []
    for a, b in itertools.pairwise(STAGE_KEYS):
        both = d[d[a].notna() & d[b].notna()] if len(d) else d
        days = pd.Series(frames.workdays.between(both[a], both[b])) if len(both) else pd.Series([], dtype=float)
        med, p90 = _quantiles(days)
        out.append(IntervalView(start=a, end=b, label=f"{STAGE_LABELS[a]}→{STAGE_LABELS[b]}", count=len(both),
                                median_days=med, p90_days=p90))
    return out


def last_stage(d: pd.DataFrame) -> pd.Series:
    """Each demand's last stage reached (in the funnel's order)."""
    reached = pd.DataFrame({k: d[k].notna() for k in STAGE_KEYS})
    return reached.apply(lambda row: next((k for k in reversed(STAGE_KEYS) if row[k]), "posted"), axis=1) \
        if len(d) else pd.Series([], dtype=str)


def stalls(d: pd.DataFrame, frames: Frames, today: date) -> list[StallView]:
    live = d[d["status"].isin(LIVE_DEMANDS)]
    out = []
    if live.empty:
        return [StallView(stage=k, label=STAGE_LABELS[k], waiting=0, median_days_waiting=None) for k in STAGE_KEYS]
    at = last_stage(live)
    for key in STAGE_KEYS:
        rows = live[at == key]
        since = [row[key] for _, row in rows.iterrows()]
        waited = frames.workdays.between(pd.Series(since), pd.Series([today] * len(since))) if since else \
            np.zeros(0)
        med, _ = _quantiles(pd.Series(waited))
        out.append(StallView(stage=key, label=STAGE_LABELS[key], waiting=len(rows), median_days_waiting=med))
    return out


def groups(d: pd.DataFrame, frames: Frames, by: str, office_names: Mapping[str, str]) -> list[FunnelGroupView]:
    if d.empty:
        return []
    if by == "mode":
        d = d.explode("modes").rename(columns={"modes": "group"})
        d["group"] = d["group"].fillna(modes.DEFAULT)
    else:
        column = {"sector": "sector", "office": "office_code", "programme": "programme", "month": "month"}[by]
        d = d.assign(group=d[column])
    out = []
    for key, g in d.groupby("group", sort=True):
        k = str(key)
        days = frames.workdays.between(g["posted"], g["approved"])
        med, _ = _quantiles(pd.Series(days))
        name = (office_names.get(k, k) if by == "office" else
                modes.get(k).label if by == "mode" and modes.is_mode(k) else
                k if by == "month" else label(k) if k else "（无）")
        out.append(FunnelGroupView(key=k, label=name, reached=[int(g[s].notna().sum()) for s in STAGE_KEYS],
                                   median_days_to_approval=med))
    return out


def handover_shares(h: pd.DataFrame, unit_names: Callable[[str, str], str]) -> list[HandoverShareView]:
    if h.empty:
        return []
    out = []
    for (stage, kind, unit), g in h.groupby(["stage", "unit_kind", "unit"], sort=True):
        med, _ = _quantiles(g["days"])
        out.append(HandoverShareView(stage=str(stage), stage_label=HANDOVER_LABELS.get(str(stage), str(stage)),
                                     unit_kind=str(kind), unit=str(unit), unit_label=unit_names(str(kind), str(unit)),
                                     done=len(g), within=int(g["within"].sum()),
                                     share_within=round(float(g["within"].mean()), 3), median_days=med,
                                     limit_days=int(g["limit"].max())))
    out.sort(key=lambda v: (v.share_within, -v.done, v.stage, v.unit))
    return out


# ------------------------------------------------------------------ track records
def intermediary_records(frames: Frames, d: pd.DataFrame, names: Mapping[int, str]) -> list[IntermediaryRecordView]:
    ids = set(d["intermediary_id"].dropna().astype(int))
    m = frames.matches[frames.matches["demand_id"].isin(d["id"])]
    ids |= set(m["intermediary_id"].dropna().astype(int))
    h = frames.handovers[frames.handovers["demand_id"].isin(d["id"])] if len(frames.handovers) else frames.handovers
    e = frames.engagements[frames.engagements["demand_id"].isin(d["id"])]
    rows: list[dict[str, Any]] = []
    for i in sorted(ids):
        mine = d[d["intermediary_id"] == i]
        approved = m[(m["intermediary_id"] == i) & m["approved"].notna()]
        first = approved.groupby("demand_id")["approved"].min()
        took = mine.set_index("id")["taken_up"]
        both = pd.DataFrame({"t": took.reindex(first.index), "a": first}).dropna()
        med, _ = _quantiles(pd.Series(frames.workdays.between(both["t"], both["a"]))) if len(both) else (None, None)
        hs = h[(h["unit_kind"] == "intermediary") & (h["unit"] == str(i))] if len(h) else h
        taken_h = h[(h["stage"] == "take_up") & h["demand_id"].isin(mine["id"])] if len(h) else h
        own = pd.concat([hs, taken_h]) if len(h) else h
        score = e[e["intermediary_id"] == i]["enterprise_score"].dropna()
        rows.append(dict(intermediary_id=i, name=names.get(i, f"#{i}"), taken_up=int(mine["taken_up"].notna().sum()),
                         matches_approved=len(approved), median_days_to_match=med,
                         share_within_limits=_r(float(own["within"].mean())) if len(own) else None,
                         enterprise_score=_r(float(score.mean()), 2) if len(score) else None))
    rows.sort(key=lambda r: (-r["matches_approved"], r["median_days_to_match"] if r["median_days_to_match"]
                             is not None else 1e9, -r["taken_up"], r["intermediary_id"]))
    return [IntermediaryRecordView(rank=n, **r) for n, r in enumerate(rows, start=1)]


def enterprise_records(frames: Frames, d: pd.DataFrame, names: Mapping[int, str]) -> list[EnterpriseRecordView]:
    e = frames.engagements[frames.engagements["demand_id"].isin(d["id"])]
    e = e.merge(d[["id", "enterprise_id"]].rename(columns={"id": "demand_id"}), on="demand_id", how="left")
    rows: list[dict[str, Any]] = []
    for i, g in d.groupby("enterprise_id"):
        mine = e[e["enterprise_id"] == i]
        graded = mine[mine["grade_points"].notna()]
        eid = int(str(i))
        rows.append(dict(enterprise_id=eid, name=names.get(eid, f"#{i}"), posted=len(g),
                         completed=int(g["approved"].notna().sum()), engagements_graded=len(graded),
                         mean_grade=_r(float(graded["grade_points"].mean()), 2) if len(graded) else None))
    rows.sort(key=lambda r: (-r["completed"], -(r["mean_grade"] or 0), -r["posted"], r["enterprise_id"]))
    return [EnterpriseRecordView(rank=n, **r) for n, r in enumerate(rows, start=1)]


def talent_records(frames: Frames, d: pd.DataFrame, names: Mapping[int, str]) -> list[TalentRecordView]:
    e = frames.engagements[frames.engagements["demand_id"].isin(d["id"]) & frames.engagements["talent_id"].notna()]
    rows: list[dict[str, Any]] = []
    for t, g in e.groupby("talent_id"):
        tid = int(str(t))
        if tid not in names:
            continue  # erased or merged away: no record of a person who withdrew
        grades = [x for gs in g["grades"] for x in gs]
        pts = g["grade_points"].dropna()
        rows.append(dict(talent_id=tid, name=names[tid], engagements=len(g),
                         graded=int(g["grade_points"].notna().sum()),
                         grades=[label(x) for x in grades], mean_grade=_r(float(pts.mean()), 2) if len(pts) else None))
    rows.sort(key=lambda r: (-(r["mean_grade"] or 0), -r["engagements"], r["talent_id"]))
    return [TalentRecordView(rank=n, **r) for n, r in enumerate(rows, start=1)]


# ------------------------------------------------------------------ momentum
def quarters(d: pd.DataFrame, after: str | None = None) -> tuple[str, str]:
    """The quarter compared (the latest with demands, or ``after``) and the one before it."""
    q = after or (max(x for x in d["quarter"] if x) if (d["quarter"] != "").any() else "")
    if not q:
        return "", ""
    year, n = int(q[:4]), int(q[5])
    prev = f"{year - 1}Q4" if n == 1 else f"{year}Q{n - 1}"
    return prev, q


def trends(d: pd.DataFrame, vectors: Callable[[list[str]], np.ndarray], before: str, after: str,
           wanted: int) -> list[TrendView]:
    both = d[d["quarter"].isin([before, after])].sort_values("id")
    if both.empty:
        return []
    texts = topic_engine.strip_boilerplate(list(both["text"]))
    found = topic_engine.momentum(vectors(texts), texts, list(both["quarter"] == after), wanted)
    ids, titles = list(both["id"]), list(both["title"])
    return [TrendView(name=t.topic.name, phrases=list(t.topic.phrases), before=t.before, after=t.after,
                      change=t.change, growth=round(t.growth, 3), demand_ids=[int(ids[i]) for i in t.topic.members],
                      typical_title=titles[t.topic.typical]) for t in found]


def as_records(values: Sequence[Any]) -> list[dict[str, Any]]:
    return [v.model_dump() for v in values]
