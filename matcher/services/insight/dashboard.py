"""The office's view as use cases: the gap map, the funnel, the track records and the momentum of one office's
area, for officials (and admins). Routes and console pages call these; ``figures.py`` computes.

Freshness: each process keeps the frames it read (``frames.load``) and the answers computed from them for
``insight_refresh_seconds`` (5 minutes by default), so a dashboard request slices tables in memory instead of
reading 10k demands; the runtime's ``insight`` thread reloads them before they expire, so a request seldom
pays the load. Every answer says when its figures were computed. The supply rows behind the gap map are the
refresh job's (``supply.py``), with their own time.

Scope: an official sees the demands of their office's area (the county prefix of ``OfficeTree.area_prefix``,
the same rule as ``access.demand_scope``); ``office`` narrows to an office inside it (drill-down from the
province to a city to a county) and is refused outside it. Per-talent records are for officials only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select

from matcher.config import Settings
from matcher.domain import modes
from matcher.domain.offices import Office, OfficeLevel, office_tree
from matcher.domain.vocabulary import Role
from matcher.engine.pool import TalentPool
from matcher.errors import Invalid, NotFound
from matcher.reference import industry_codes
from matcher.services.access import Actor, proposable_ids, require
from matcher.services.insight import figures
from matcher.services.insight.frames import Frames, load, records_of
from matcher.services.insight.views import (
    CellDemandView,
    CellListView,
    FunnelView,
    GapMapView,
    MomentumView,
    TrackRecordsView,
)
from matcher.services.pool.facts import ready
from matcher.services.programme.deadlines import local_date
from matcher.storage.db import Database
from matcher.storage.models import DemandSupply, Enterprise, Intermediary, Talent, iso


class _Cache:
    """The frames of each database and the answers computed from them, for at most ``max_age`` seconds."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.frames: dict[str, tuple[float, Frames, str]] = {}  # db → (loaded at, frames, supply stamp)
        self.answers: dict[int, dict[tuple[Any, ...], Any]] = {}  # id(frames) → answers from those frames

    def get(self, db: Database, max_age: float, force: bool = False) -> Frames:
        """The cached frames unless they are older than ``max_age`` or the supply rows were rewritten since
        (one indexed read: the refresh job's result shows at once, in every worker)."""
        key = str(db.engine.url)
        with db.session() as s:
            stamp = str(s.execute(select(func.count(), func.max(DemandSupply.computed_at))).one())
        with self.lock:
            hit = self.frames.get(key)
            if hit is not None and not force and time.monotonic() - hit[0] < max_age and hit[2] == stamp:
                return hit[1]
        fresh = load(db)
        with self.lock:
            old = self.frames.get(key)
            if old is not None:
                self.answers.pop(id(old[1]), None)
            self.frames[key] = (time.monotonic(), fresh, stamp)
            self.answers[id(fresh)] = {}
        return fresh

    def due(self, db: Database, max_age: float) -> bool:
        """Whether the frames are missing, past ``share`` of their age or behind the supply rows."""
        key = str(db.engine.url)
        with db.session() as s:
            stamp = str(s.execute(select(func.count(), func.max(DemandSupply.computed_at))).one())
        with self.lock:
            hit = self.frames.get(key)
        return hit is None or time.monotonic() - hit[0] >= max_age or hit[2] != stamp

    def answer(self, key: tuple[Any, ...], frames: Frames, make: Callable[[], Any]) -> Any:
        with self.lock:
            known = self.answers.get(id(frames))
            if known is not None and key in known:
                return known[key]
        value = make()
        with self.lock:
            if id(frames) in self.answers:
                self.answers[id(frames)][key] = value
        return value


_CACHE = _Cache()


def current_frames(db: Database, settings: Settings, force: bool = False) -> Frames:
    return _CACHE.get(db, settings.insight_refresh_seconds, force=force)


def reload(db: Database, settings: Settings) -> Frames:
    """Read the frames again now (the runtime's refresh; a test after it changed the database)."""
    return current_frames(db, settings, force=True)


#: The answers the runtime computes ahead after each reload: the province's first page of 政策分析 (each city's
#: and county's are computed on their first request, from the same frames: smaller, so faster).
WARM_DIMENSIONS = ("area", "sector", "mode", "city", "industry")


def warm_if_due(db: Database, pool: TalentPool | None, settings: Settings) -> bool:
    """``warm`` when the figures are near their age (80 %) or the supply job rewrote its rows since."""
    if not _CACHE.due(db, settings.insight_refresh_seconds * 0.8):
        return False
    warm(db, pool, settings)
    return True


def warm(db: Database, pool: TalentPool | None, settings: Settings) -> Frames:
    """Reload the frames and compute the province's figures from them, so requests read answers."""
    frames = reload(db, settings)
    province = Actor(None, Role.OFFICIAL.value, name="insight-warm")
    for dimension in WARM_DIMENSIONS:
        gap_map(db, pool, settings, province, dimension)
    for group_by in (None, *figures.GROUPS):
        funnel(db, settings, province, group_by)
    track_records(db, settings, province)
    momentum(db, pool, settings, province)
    return frames


# ------------------------------------------------------------------ scope
def office_for(actor: Actor, office: str | None) -> Office:
    """The office whose area the figures cover: the actor's own, or one inside it (else 404)."""
    require(actor, Role.OFFICIAL, Role.ADMIN)
    tree = office_tree()
    own = tree.get(actor.office_code) if actor.office_code else tree.province
    if not office:
        return own
    if office not in tree:
        raise NotFound(f"office {office} not found", field="office")
    if own.code != tree.province.code and not tree.contains(own.code, office):
        raise NotFound(f"office {office} is not in the area of {own.display_name}", field="office")
    return tree.get(office)


def in_office(frames: Frames, office: Office) -> pd.DataFrame:
    """The demands of enterprises in the office's area (an unknown county: the province's only)."""
    prefix = office_tree().area_prefix(office.code)
    d = frames.demands
    return d if prefix is None else d[d["county_code"].str.startswith(prefix) & (d["county_code"] != "")]


def _head(frames: Frames, office: Office) -> dict[str, str]:
    return {"computed_at": iso(frames.computed_at) or "", "office_code": office.code,
            "office_name": office.display_name}


def _vectors(pool: TalentPool | None) -> Callable[[list[str]], np.ndarray]:
    live = ready(pool)

    def encode(texts: list[str]) -> np.ndarray:
        if live is None:
            return np.zeros((len(texts), 1), dtype=np.float32)  # one topic: the vectors are not at hand
        return np.vstack([live.embedder.encode_queries(texts[i:i + 64]) for i in range(0, len(texts), 64)])

    return encode


def _industry_at(code: str, level: int) -> str:
    if level >= 2:
        return code[:level]
    return _sections().get(code[:2], "")


def _sections() -> dict[str, str]:
    """GB/T 4754 division (two digits) → its section letter."""
    from matcher.reference import _read

    out = {}
    for r in _read("industry_gbt4754_2017.csv"):
        if r["level"] == "2":
            out[r["code"]] = r["parent"]
    return out


# ------------------------------------------------------------------ the figures
def gap_map(db: Database, pool: TalentPool | None, settings: Settings, actor: Actor, dimension: str = "sector",
            office: str | None = None, industry_level: int = 2) -> GapMapView:
    """Supply against demand per cell of ``dimension`` in the office's area (``figures.gap_cells``)."""
    if dimension not in figures.DIMENSIONS:
        raise Invalid(f"unknown dimension '{dimension}' (one of {', '.join(figures.DIMENSIONS)})", field="dimension")
    if industry_level not in (1, 2, 3, 4):
        raise Invalid("industry_level must be 1 (门类), 2 (大类), 3 (中类) or 4 (小类)", field="industry_level")
    where = office_for(actor, office)
    frames = current_frames(db, settings)
    return _CACHE.answer(("gap", where.code, dimension, industry_level), frames,
                         lambda: _gap_map(db, pool, settings, frames, where, dimension, industry_level))


def _gap_map(db: Database, pool: TalentPool | None, settings: Settings, frames: Frames, where: Office,
             dimension: str, industry_level: int) -> GapMapView:
    from matcher.services.insight.supply import threshold as supply_threshold
    from matcher.services.pool import calibration

    tree = office_tree()
    d = in_office(frames, where)
    p = figures.pairs(frames, d)
    children = {c.code: c for c in tree.children(where.code)}

    def area_of(county: str) -> str | None:
        if not county or county not in tree:
            return None
        return next((c for c in children if tree.contains(c, county)), None)

    names: dict[str, str] = {c: o.display_name for c, o in children.items()}
    if dimension == "industry":
        names = dict(industry_codes())
    cells = figures.gap_cells(p, dimension, settings.insight_shortage_ratio, industry_level=industry_level,
                              area_of=area_of, industry_at=_industry_at, labels=names,
                              drillable=lambda k: k in children and children[k].level != OfficeLevel.COUNTY)
    near_ids = {n["talent_id"] for ns in p["nearest"] for n in (ns or [])} if len(p) else set()
    with db.session() as s:
        may = proposable_ids(s, near_ids)
        talents = {t.id: (t.name, t.affiliation) for t in s.scalars(select(Talent).where(Talent.id.in_(sorted(may))))} \
            if may else {}
    limit = supply_threshold(settings, calibration.calibrator())
    computed = frames.supply["computed_at"].min() if len(frames.supply) else None
    return GapMapView(**_head(frames, where), dimension=dimension, dimension_label=figures.DIMENSIONS[dimension],
                      depth=settings.insight_depth, threshold=limit.value, threshold_source=limit.source,
                      shortage_ratio=settings.insight_shortage_ratio,
                      supply_computed_at=iso(computed) if isinstance(computed, datetime) else None,
                      cells=cells, unmet_demands=figures.unmet(p, talents),
                      topics=figures.unmet_topics(p, _vectors(pool), settings.insight_topics))


def cell_demands(db: Database, pool: TalentPool | None, settings: Settings, actor: Actor, dimension: str, key: str,
                 office: str | None = None, industry_level: int = 2, limit: int = 100,
                 offset: int = 0) -> CellListView:
    """The (demand, mode) pairs behind one cell of the gap map — what a click on its bar opens — least
    supplied first, a page at a time (the whole list is computed once per refresh and kept)."""
    view = gap_map(db, pool, settings, actor, dimension, office, industry_level)
    cell = next((c for c in view.cells if c.key == key), None)
    if cell is None:
        raise NotFound(f"no cell '{key}' in the gap map by {dimension}", field="key")
    where = office_for(actor, office)
    frames = current_frames(db, settings)

    def make() -> CellListView:
        p = figures.pairs(frames, in_office(frames, where))
        tree = office_tree()
        children = [c.code for c in tree.children(where.code)]
        keys = figures.key_column(p, dimension, industry_level,
                                  lambda c: next((x for x in children if c in tree and tree.contains(x, c)), None),
                                  _industry_at)
        rows = p[keys == key].sort_values(["supply", "demand_id"])
        items = [CellDemandView(demand_id=int(r["demand_id"]), title=r["title"], mode=r["mode"],
                                mode_label=modes.get(r["mode"]).label if modes.is_mode(r["mode"]) else r["mode"],
                                city=r["city"], status=r["status"], wanted=int(r["wanted"]),
                                supply=int(r["supply"]),
                                best_probability=None if pd.isna(r["best_probability"])
                                else float(r["best_probability"]))
                 for r in records_of(rows)]
        return CellListView(**_head(frames, where), dimension=dimension, key=key, label=cell.label, items=items,
                            total=len(items), limit=len(items), offset=0)

    whole: CellListView = _CACHE.answer(("cell", where.code, dimension, key, industry_level), frames, make)
    return whole.model_copy(update={"items": whole.items[offset:offset + limit], "limit": limit, "offset": offset})


def funnel(db: Database, settings: Settings, actor: Actor, group_by: str | None = None,
           office: str | None = None) -> FunnelView:
    """Conversion and working days between stages, stalls and the handovers within their limits."""
    if group_by is not None and group_by not in figures.GROUPS:
        raise Invalid(f"unknown grouping '{group_by}' (one of {', '.join(figures.GROUPS)})", field="group_by")
    where = office_for(actor, office)
    frames = current_frames(db, settings)
    return _CACHE.answer(("funnel", where.code, group_by), frames, lambda: _funnel(db, frames, where, group_by))


def _unit_names(db: Database) -> Callable[[str, str], str]:
    tree = office_tree()
    with db.session() as s:
        agencies = {str(i): n for i, n in s.execute(select(Intermediary.id, Intermediary.name))}

    def name(kind: str, unit: str) -> str:
        if kind == "office":
            return tree.get(unit).display_name if unit in tree else unit
        return agencies.get(unit, f"#{unit}")

    return name


def _funnel(db: Database, frames: Frames, where: Office, group_by: str | None) -> FunnelView:
    tree = office_tree()
    d = in_office(frames, where)
    h = frames.handovers[frames.handovers["demand_id"].isin(d["id"])] if len(frames.handovers) else frames.handovers
    today = local_date(frames.computed_at)
    office_names = {o.code: o.display_name for o in tree}
    return FunnelView(**_head(frames, where), group_by=group_by, stages=figures.stages(d),
                      intervals=figures.intervals(d, frames), stalls=figures.stalls(d, frames, today),
                      groups=figures.groups(d, frames, group_by, office_names) if group_by else [],
                      handovers=figures.handover_shares(h, _unit_names(db)))


def track_records(db: Database, settings: Settings, actor: Actor, office: str | None = None) -> TrackRecordsView:
    """Per intermediary, enterprise and (officials only) talent, ranked, with the figures behind the rank."""
    where = office_for(actor, office)
    frames = current_frames(db, settings)
    view: TrackRecordsView = _CACHE.answer(("records", where.code), frames, lambda: _records(db, frames, where))
    if actor.role != Role.OFFICIAL:
        view = view.model_copy(update={"talents": []})
    return view


def _records(db: Database, frames: Frames, where: Office) -> TrackRecordsView:
    d = in_office(frames, where)
    with db.session() as s:
        agencies = dict(s.execute(select(Intermediary.id, Intermediary.name)).all())
        ents = dict(s.execute(select(Enterprise.id, Enterprise.name)).all())
        tids = {int(t) for t in frames.engagements["talent_id"].dropna()}
        may = {t.id: t.name for t in s.scalars(select(Talent).where(Talent.id.in_(sorted(tids)),
                                                                     Talent.withdrawn_at.is_(None)))} if tids else {}
    return TrackRecordsView(**_head(frames, where), intermediaries=figures.intermediary_records(frames, d, agencies),
                            enterprises=figures.enterprise_records(frames, d, ents),
                            talents=figures.talent_records(frames, d, may))


def momentum(db: Database, pool: TalentPool | None, settings: Settings, actor: Actor, quarter: str | None = None,
             office: str | None = None) -> MomentumView:
    """Topics of demand rising or falling from the quarter before ``quarter`` (default: the latest) to it."""
    if quarter is not None and not (len(quarter) == 6 and quarter[:4].isdigit() and quarter[4] == "Q"
                                    and quarter[5] in "1234"):
        raise Invalid("quarter is written YYYYQn, such as 2026Q3", field="quarter")
    where = office_for(actor, office)
    frames = current_frames(db, settings)

    def make() -> MomentumView:
        d = in_office(frames, where)
        before, after = figures.quarters(d, quarter)
        found = figures.trends(d, _vectors(pool), before, after, settings.insight_topics) if after else []
        return MomentumView(**_head(frames, where), before=before, after=after, trends=found)

    return _CACHE.answer(("momentum", where.code, quarter), frames, make)
