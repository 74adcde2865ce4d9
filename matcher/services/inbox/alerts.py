"""Saved searches and their alerts: an intermediary keeps the board's filters and hears of each new demand
that matches; an enterprise follows one of its demands and hears of each talent who enters its top list.

The alert job (kind ``alerts``, queued by every worker's timer at most once per ``alert_interval_seconds``
through the one job mechanism, ``services/jobs.queue_periodic``) reads what is new since each search's
last run:

- board searches (``kind`` "demands"): open demands the owner may see, matching the filters, with an id
  above the search's ``high_water`` — or published since its ``event_mark`` (a demand that waited in the
  office's 待完善 queue goes on the board after later ones were posted);
- followed demands (``kind`` "talents"): the demand's first ``alert_top_n`` talents in the chosen mode,
  against ``last_top`` kept from the last run; only talents who are proposable now (consent, withdrawal,
  merge: ``services/access.proposable_ids``, read again at alert time, not trusted from the index).

Each new item is a notice in the owner's inbox, opened once: its key names the search and the item, so a
second run — or two workers' jobs at the same moment — opens nothing more, and a talent who leaves the list
and comes back is not announced twice. The marks move with a compare-and-set on the values read, so a
run that lost to another writes nothing. A search is created with its marks at *now* (its first alerts are
for what comes after it), and the first run of a followed demand whose index was not ready at creation
only records the list."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from matcher.config import Settings
from matcher.domain import modes
from matcher.domain.inbox import NEW_DEMAND, NEW_TALENT, Audience
from matcher.domain.vocabulary import DemandStatus, Role, Sector
from matcher.engine.pool import TalentPool
from matcher.engine.search import Filters
from matcher.errors import Conflict, Invalid, NotFound
from matcher.services import jobs
from matcher.services.access import Actor, actor_of, demand_scope, proposable_ids, require, visible_demand
from matcher.services.audit import record
from matcher.services.inbox.items import open_item_once
from matcher.services.pool.facts import demand_facts, ready
from matcher.services.workflow.demands import asks_mode, demand_filters
from matcher.storage.db import Database
from matcher.storage.models import AuditEvent, Demand, SavedSearch, Talent, User, iso
from matcher.views import SavedSearchView

log = logging.getLogger(__name__)

KIND = "alerts"
SEARCH_KINDS = ("demands", "talents")
FILTER_KEYS = ("sector", "city", "mode", "q")
MAX_PER_USER = 20


# ------------------------------------------------------------------ saved searches
def view(s: SavedSearch, demand_title: str | None = None) -> SavedSearchView:
    return SavedSearchView(id=s.id, kind=s.kind, name=s.name, filters=dict(s.filters or {}), demand_id=s.demand_id,
                           demand_title=demand_title, active=s.active, runs=s.runs,
                           last_run_at=iso(s.last_run_at), created_at=iso(s.created_at))


def _clean_filters(raw: dict[str, Any] | None) -> dict[str, str]:
    raw = raw or {}
    unknown = sorted(set(raw) - set(FILTER_KEYS))
    if unknown:
        raise Invalid(f"unknown filter '{unknown[0]}' (one of {', '.join(FILTER_KEYS)})", field="filters")
    out = {k: str(v).strip() for k, v in raw.items() if v is not None and str(v).strip()}
    if "sector" in out and out["sector"] not in {x.value for x in Sector}:
        raise Invalid(f"unknown sector '{out['sector']}' (one of {', '.join(x.value for x in Sector)})",
                      field="filters.sector")
    if "mode" in out and not modes.is_mode(out["mode"]):
        raise Invalid(f"unknown mode '{out['mode']}' (one of {', '.join(modes.codes())})", field="filters.mode")
    if any(len(v) > 100 for v in out.values()):
        raise Invalid("a filter value is at most 100 characters", field="filters")
    return out


def _demand_marks(s: Session) -> tuple[int, int]:
    return int(s.scalar(select(func.max(Demand.id))) or 0), int(s.scalar(select(func.max(AuditEvent.id))) or 0)


def create(db: Database, pool: TalentPool | None, settings: Settings, actor: Actor, kind: str, name: str = "",
           filters: dict[str, Any] | None = None, demand_id: int | None = None) -> SavedSearchView:
    """Save the caller's search: the board's filters (intermediaries, officials) or one of the caller's
    demands to follow (its enterprise). The marks start at now."""
    if kind not in SEARCH_KINDS:
        raise Invalid(f"kind must be one of {', '.join(SEARCH_KINDS)}", field="kind")
    if actor.user_id is None:
        raise NotFound("this session has no account to save searches for", field="user")
    clean = _clean_filters(filters)
    with db.session() as s:
        count = s.scalar(select(func.count()).select_from(SavedSearch).where(
            SavedSearch.user_id == actor.user_id, SavedSearch.active.is_(True))) or 0
        if count >= MAX_PER_USER:
            raise Conflict(f"at most {MAX_PER_USER} saved searches per account; delete one first", field="kind")
        row = SavedSearch(user_id=actor.user_id, kind=kind, name=name.strip()[:100], active=True, runs=0,
                          last_top=[])
        title = None
        if kind == "demands":
            require(actor, Role.INTERMEDIARY, Role.OFFICIAL, Role.ADMIN)
            if demand_id is not None:
                raise Invalid("a board search has filters, not a demand", field="demand_id")
            row.filters = clean
            row.high_water, row.event_mark = _demand_marks(s)
        else:
            require(actor, Role.ENTERPRISE)
            if demand_id is None:
                raise Invalid("following needs the demand's id", field="demand_id")
            d = visible_demand(s, actor, demand_id)
            if set(clean) - {"mode"}:
                raise Invalid("a followed demand takes only the mode filter", field="filters")
            mode = clean.get("mode") or next((m for m in (d.modes or []) if modes.is_mode(m)), modes.DEFAULT)
            if mode not in (d.modes or [mode]):
                raise Invalid(f"the demand is not asked in mode '{mode}'", field="filters.mode")
            row.filters, row.demand_id, title = {"mode": mode}, d.id, d.title
            current = _top(s, ready(pool), d, mode, settings.alert_top_n)
            if current is not None:
                row.last_top, row.runs = current, 1  # the list the enterprise sees now is not news
        s.add(row)
        s.flush()
        record(s, action="save_search", entity="saved_search", entity_id=row.id, actor_user_id=actor.user_id,
               actor_role=actor.role, after={"kind": kind, "filters": row.filters, "demand_id": row.demand_id})
        return view(row, title)


def list_mine(db: Database, actor: Actor) -> list[SavedSearchView]:
    with db.session() as s:
        rows = s.execute(select(SavedSearch, Demand.title).outerjoin(Demand, Demand.id == SavedSearch.demand_id)
                         .where(SavedSearch.user_id == (actor.user_id or -1), SavedSearch.active.is_(True))
                         .order_by(SavedSearch.id))
        return [view(r, title) for r, title in rows]


def delete(db: Database, actor: Actor, search_id: int) -> None:
    """Stop a saved search (kept, inactive: its alerts in the inbox still name it)."""
    with db.session() as s:
        row = s.scalar(select(SavedSearch).where(SavedSearch.id == search_id,
                                                 SavedSearch.user_id == (actor.user_id or -1),
                                                 SavedSearch.active.is_(True)))
        if row is None:
            raise NotFound(f"saved search {search_id} not found", field="search_id")
        row.active = False
        record(s, action="delete_search", entity="saved_search", entity_id=row.id, actor_user_id=actor.user_id,
               actor_role=actor.role)


# ------------------------------------------------------------------ what is new
def _top(s: Session, pool: TalentPool | None, d: Demand, mode: str, n: int) -> list[int] | None:
    """The demand's first ``n`` proposable talents in ``mode`` as ranked now (None: no index yet)."""
    if pool is None:
        return None
    proposals, _ = pool.propose(demand_facts(s, d), mode, k=n * 2, filters=Filters(), explain_results=False)
    ids = [p.talent.id for p in proposals]
    allowed = proposable_ids(s, ids)
    return [i for i in ids if i in allowed][:n]


def _open_once(s: Session, kind: Any, user_id: int, entity: str, entity_id: int, subject: str, link: str,
               key: str) -> bool:
    return open_item_once(s, kind, (Audience.USER, str(user_id)), entity, str(entity_id), subject, link, key)


def run_board(s: Session, search: SavedSearch, owner: Actor) -> int:
    """Alert the owner to each open demand new to this search; returns the alerts opened."""
    top_id, top_event = _demand_marks(s)
    published = set(s.scalars(select(AuditEvent.entity_id).where(
        AuditEvent.id > search.event_mark, AuditEvent.id <= top_event, AuditEvent.entity == "demand",
        AuditEvent.action == "publish")))
    fresh = [int(i) for i in published if str(i).isdigit()]
    filters = search.filters or {}
    where = [demand_scope(owner), *demand_filters(status=DemandStatus.OPEN, sector=filters.get("sector"),
                                                  city=filters.get("city"), q=filters.get("q")),
             or_(Demand.id > search.high_water, Demand.id.in_(fresh)) if fresh else Demand.id > search.high_water,
             Demand.id <= top_id]
    opened = 0
    for d in s.scalars(select(Demand).where(*where).order_by(Demand.id)):
        if asks_mode(d, filters.get("mode")):
            opened += _open_once(s, NEW_DEMAND, search.user_id, "demand", d.id, f"{d.title}（{d.city or '全省'}）",
                                 f"/console/demands/{d.id}", f"alert:{search.id}:demand:{d.id}")
    won = s.execute(update(SavedSearch).where(
        SavedSearch.id == search.id, SavedSearch.high_water == search.high_water,
        SavedSearch.event_mark == search.event_mark).values(
        high_water=max(top_id, search.high_water), event_mark=max(top_event, search.event_mark),
        runs=SavedSearch.runs + 1, last_run_at=datetime.now(UTC)).execution_options(synchronize_session=False))
    return opened if won.rowcount == 1 else 0  # type: ignore[attr-defined]


def run_followed(s: Session, search: SavedSearch, pool: TalentPool, top_n: int) -> int:
    """Alert the enterprise to each proposable talent now in its demand's top list who was not at the last
    run; returns the alerts opened."""
    d = s.get(Demand, search.demand_id) if search.demand_id else None
    if d is None or d.status in (DemandStatus.CLOSED, DemandStatus.WITHDRAWN):
        s.execute(update(SavedSearch).where(SavedSearch.id == search.id).values(active=False)
                  .execution_options(synchronize_session=False))
        return 0
    mode = (search.filters or {}).get("mode") or modes.DEFAULT
    current = _top(s, pool, d, mode, top_n) or []
    before = list(search.last_top or [])
    opened = 0
    if search.runs > 0:
        names = {tid: name for tid, name in s.execute(select(Talent.id, Talent.name).where(Talent.id.in_(current)))}
        for rank, tid in enumerate(current, start=1):
            if tid not in before:
                opened += _open_once(s, NEW_TALENT, search.user_id, "demand", d.id,
                                     f"{names.get(tid, tid)}进入“{d.title}”推荐前{top_n}名（第{rank}名）",
                                     f"/console/demands/{d.id}", f"alert:{search.id}:talent:{tid}")
    won = s.execute(update(SavedSearch).where(SavedSearch.id == search.id, SavedSearch.runs == search.runs)
                    .values(last_top=current, runs=SavedSearch.runs + 1, last_run_at=datetime.now(UTC))
                    .execution_options(synchronize_session=False))
    return opened if won.rowcount == 1 else 0  # type: ignore[attr-defined]


def run(db: Database, pool: TalentPool | None, settings: Settings, progress: jobs.Reporter | None = None
        ) -> dict[str, int]:
    """One pass over every active saved search, each in its own transaction (one failing is logged and
    skipped; the next run tries it again). Followed demands wait for the index."""
    pool = ready(pool)
    with db.session() as s:
        ids = list(s.scalars(select(SavedSearch.id).where(SavedSearch.active.is_(True)).order_by(SavedSearch.id)))
    counts = {"searches": len(ids), "new_demands": 0, "new_talents": 0, "skipped": 0}
    for n, sid in enumerate(ids):
        try:
            with db.session() as s:
                search = s.get(SavedSearch, sid)
                owner = s.get(User, search.user_id) if search is not None else None
                if search is None or owner is None or not owner.active:
                    counts["skipped"] += 1
                    continue
                if search.kind == "demands":
                    counts["new_demands"] += run_board(s, search, actor_of(s, owner))
                elif pool is not None:
                    counts["new_talents"] += run_followed(s, search, pool, settings.alert_top_n)
                else:
                    counts["skipped"] += 1
        except Exception:
            log.exception("saved search %d failed; tried again at the next run", sid)
            counts["skipped"] += 1
        if progress is not None:
            progress("alerts", (n + 1) / max(1, len(ids)))
    if counts["new_demands"] or counts["new_talents"]:
        log.info("alerts: %d new demand(s), %d new talent(s) across %d saved search(es)", counts["new_demands"],
                 counts["new_talents"], counts["searches"])
    return counts


def _work(ctx: jobs.JobContext, params: dict[str, Any], report: jobs.Reporter) -> dict[str, Any]:
    result: dict[str, Any] = dict(run(ctx.db, ctx.pool(), ctx.settings, progress=report))
    with ctx.db.session() as s:
        report.finish(s, result)
    return result


ALERTS = jobs.JobKind(KIND, "订阅提醒", _work)
