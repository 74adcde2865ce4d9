"""Demand use cases: post (出榜), edit, withdraw, take up (揭榜), list, history, and proposals."""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from matcher.domain import demand as demand_fields
from matcher.domain.vocabulary import DemandStatus, Role
from matcher.domain.workflow import DEMAND_TRANSITIONS, check
from matcher.engine.explain import Explanation
from matcher.engine.pool import Filters, TalentPool
from matcher.errors import Conflict, Invalid, NotFound
from matcher.reference import industry_codes, sector_for_industry
from matcher.services.access import Actor, demand_scope, in_area, require, talent_views, visible_demand
from matcher.services.audit import record
from matcher.services.learning.decisions import ImpressionBuffer
from matcher.services.pool.facts import demand_facts, demand_text, ready, refresh_talents, require_ready
from matcher.services.workflow.transitions import change_state
from matcher.storage.db import Database
from matcher.storage.models import AuditEvent, Demand, Enterprise, Match, Talent, iso
from matcher.views import AlignedView, DemandView, FeatureView, HistoryEventView, ProposalView, TalentView

EDITABLE = demand_fields.EDITABLE


def demand_view(d: Demand) -> DemandView:
    return DemandView(
        id=d.id, external_id=d.external_id, enterprise_id=d.enterprise_id,
        enterprise=d.enterprise.name if d.enterprise else None, title=d.title, description=d.description,
        sector=d.sector, industry_code=d.industry_code, keywords=d.keywords or [], modes=d.modes or [],
        city=d.city, budget_min=d.budget_min, budget_max=d.budget_max, duration_months=d.duration_months,
        deadline=d.deadline.isoformat() if d.deadline else None, proposals_wanted=d.proposals_wanted,
        status=d.status, intermediary_id=d.intermediary_id, created_at=iso(d.created_at))


def _snapshot(d: Demand) -> dict[str, Any]:
    v = demand_view(d)
    data = v.model_dump()
    return {k: data[k] for k in (*EDITABLE, "status", "intermediary_id")}


def _validate(values: dict[str, Any]) -> dict[str, Any]:
    code = values.get("industry_code")
    if code and code not in industry_codes():
        raise Invalid(f"'{code}' is not a GB/T 4754-2017 industry code", field="industry_code")
    lo, hi = values.get("budget_min"), values.get("budget_max")
    if lo is not None and hi is not None and lo > hi:
        raise Invalid("budget_max is smaller than budget_min", field="budget_max")
    deadline = values.get("deadline")
    if isinstance(deadline, date) and deadline < date.today():
        raise Invalid("deadline is in the past", field="deadline")
    if code and not values.get("sector"):
        values["sector"] = sector_for_industry(code)
    return values


def _warm(pool: TalentPool | None, d: Demand) -> None:
    """Encode the demand's text now, so later ranking requests find its vector cached."""
    pool = ready(pool)
    if pool is not None:
        pool.embedder.encode_queries([demand_text(d)])


def create_demand(db: Database, actor: Actor, values: dict[str, Any],
                  pool: TalentPool | None = None) -> DemandView:
    require(actor, Role.ENTERPRISE)
    values = _validate(dict(values))
    values.setdefault("sector", "other")
    values["sector"] = values["sector"] or "other"
    with db.session() as s:
        ent = s.get(Enterprise, actor.enterprise_id)
        if ent is None:
            raise Conflict("your account is not bound to an enterprise")
        values.setdefault("city", ent.city)
        values["city"] = values["city"] or ent.city
        ext = values.pop("external_id", None)
        if ext is None:
            # A number nobody can take first: derived from the id, a post with the next number would block
            # every later post (and every console 发布需求) with a 409.
            for _ in range(5):
                ext = f"WEB-{date.today():%Y%m%d}-{secrets.token_hex(4).upper()}"
                if s.scalar(select(Demand.id).where(Demand.external_id == ext)) is None:
                    break
        elif s.scalar(select(Demand.id).where(Demand.external_id == ext)) is not None:
            raise Conflict(f"external_id '{ext}' already exists", field="external_id")
        d = Demand(enterprise=ent, external_id=ext, **values)
        s.add(d)
        try:
            s.flush()
        except IntegrityError:  # posted with the same external_id a moment ago
            s.rollback()
            raise Conflict(f"external_id '{ext}' already exists", field="external_id") from None
        record(s, action="post", entity="demand", entity_id=d.id, actor_user_id=actor.user_id,
               actor_role=actor.role, after=_snapshot(d))
        view = demand_view(d)
    _warm(pool, d)
    return view


def update_demand(db: Database, actor: Actor, demand_id: int, changes: dict[str, Any],
                  pool: TalentPool | None = None) -> DemandView:
    with db.session() as s:
        d = visible_demand(s, actor, demand_id)
        check(DEMAND_TRANSITIONS, "edit", d.status, actor.role, "demand")
        before = _snapshot(d)
        merged = {**before, **changes}
        _validate(merged)
        values = {k: v for k, v in changes.items() if k in EDITABLE}
        if "industry_code" in changes and "sector" not in changes and changes["industry_code"]:
            values["sector"] = sector_for_industry(changes["industry_code"])
        # Only while still open: an edit racing the take-up must not change what the intermediary took.
        change_state(s, Demand, d.id, DEMAND_TRANSITIONS, "edit", actor.role, d.status, values)
        s.refresh(d)
        record(s, action="edit", entity="demand", entity_id=d.id, actor_user_id=actor.user_id,
               actor_role=actor.role, before=before, after=_snapshot(d))
        view = demand_view(d)
    _warm(pool, d)
    return view


def _transition(db: Database, actor: Actor, demand_id: int, action: str,
                pool: TalentPool | None = None) -> DemandView:
    """A state change of the demand alone (withdraw, close): checked, applied and audited together.
    Ending a demand releases the capacity its engagements held, so the engine's loads are refreshed."""
    with db.session() as s:
        d = visible_demand(s, actor, demand_id)
        before = d.status
        target = change_state(s, Demand, d.id, DEMAND_TRANSITIONS, action, actor.role, d.status)
        record(s, action=action, entity="demand", entity_id=d.id, actor_user_id=actor.user_id,
               actor_role=actor.role, before={"status": before}, after={"status": target})
        s.refresh(d)
        talent_ids = list(s.scalars(select(Match.talent_id).where(Match.demand_id == demand_id)))
        if talent_ids:  # their loads changed: this pool now, every other process's through the feed
            refresh_talents(s, pool, talent_ids)
        return demand_view(d)


def withdraw(db: Database, actor: Actor, demand_id: int, pool: TalentPool | None = None) -> DemandView:
    return _transition(db, actor, demand_id, "withdraw", pool)


def _taken_by_another(s: Session, actor: Actor, demand_id: int) -> bool:
    """Whether an intermediary asks for a demand of its board's area that another one has taken (read afresh:
    column values, not the session's cached row). Outside its area it is told nothing (404 follows)."""
    if actor.role != Role.INTERMEDIARY:
        return False
    stmt = select(Demand.status, Demand.intermediary_id).where(Demand.id == demand_id)
    area = in_area(actor.area_code)
    row = s.execute(stmt if area is None else stmt.where(area)).first()
    return (row is not None and row.intermediary_id not in (None, actor.intermediary_id)
            and row.status in (DemandStatus.TAKEN_UP, DemandStatus.MATCHED))


def take_up(db: Database, actor: Actor, demand_id: int) -> DemandView:
    """揭榜: one intermediary per demand. A conditional UPDATE makes two simultaneous attempts safe:
    exactly one changes the row, the other sees zero rows changed and gets a 409."""
    with db.session() as s:
        if _taken_by_another(s, actor, demand_id):
            # It was on the open board a moment ago: say it was taken, not that it does not exist.
            raise Conflict("demand was taken up by another intermediary", field="status")
        try:
            d = visible_demand(s, actor, demand_id)
        except NotFound:
            if _taken_by_another(s, actor, demand_id):  # taken between the two reads (a race): the same answer
                raise Conflict("demand was taken up by another intermediary", field="status") from None
            raise
        check(DEMAND_TRANSITIONS, "take_up", d.status, actor.role, "demand")
        result = s.execute(update(Demand).where(Demand.id == demand_id, Demand.status == DemandStatus.OPEN,
                                                Demand.intermediary_id.is_(None))
                           .values(status=DemandStatus.TAKEN_UP, intermediary_id=actor.intermediary_id)
                           .execution_options(synchronize_session=False))
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict("demand was taken up by another intermediary", field="status")
        # Proposals a matching round made while the demand was open belong to whoever takes it up.
        s.execute(update(Match).where(Match.demand_id == demand_id, Match.intermediary_id.is_(None))
                  .values(intermediary_id=actor.intermediary_id).execution_options(synchronize_session=False))
        record(s, action="take_up", entity="demand", entity_id=demand_id, actor_user_id=actor.user_id,
               actor_role=actor.role, before={"status": DemandStatus.OPEN.value},
               after={"status": DemandStatus.TAKEN_UP.value, "intermediary_id": actor.intermediary_id})
        s.refresh(d)
        return demand_view(d)


def close(db: Database, actor: Actor, demand_id: int, pool: TalentPool | None = None) -> DemandView:
    return _transition(db, actor, demand_id, "close", pool)


def get_demand(db: Database, actor: Actor, demand_id: int) -> DemandView:
    with db.session() as s:
        return demand_view(visible_demand(s, actor, demand_id))


def list_demands(db: Database, actor: Actor, *, status: str | None = None, sector: str | None = None,
                 city: str | None = None, mode: str | None = None, q: str | None = None, limit: int = 20,
                 offset: int = 0) -> tuple[list[DemandView], int]:
    stmt = select(Demand).where(demand_scope(actor))
    for col, value in ((Demand.status, status), (Demand.sector, sector), (Demand.city, city)):
        if value:
            stmt = stmt.where(col == value)
    if q:
        stmt = stmt.where(or_(Demand.title.contains(q), Demand.description.contains(q)))
    with db.session() as s:
        rows = list(s.scalars(stmt.order_by(Demand.id.desc())))
        if mode:  # modes is a JSON list; filtered here to stay portable across SQLite and PostgreSQL
            rows = [d for d in rows if mode in (d.modes or [])]
        total = len(rows)
        return [demand_view(d) for d in rows[offset:offset + limit]], total


def history(db: Database, actor: Actor, demand_id: int) -> list[HistoryEventView]:
    require(actor, Role.OFFICIAL, Role.ADMIN)
    with db.session() as s:
        visible_demand(s, actor, demand_id)
        match_ids = [str(m) for m in s.scalars(select(Match.id).where(Match.demand_id == demand_id))]
        events = s.scalars(select(AuditEvent).where(or_(
            (AuditEvent.entity == "demand") & (AuditEvent.entity_id == str(demand_id)),
            (AuditEvent.entity == "match") & (AuditEvent.entity_id.in_(match_ids)),
        )).order_by(AuditEvent.id))
        return [HistoryEventView(id=e.id, at=iso(e.at), actor_user_id=e.actor_user_id, actor_role=e.actor_role,
                                 action=e.action, entity=e.entity, entity_id=e.entity_id, before=e.before,
                                 after=e.after) for e in events]


def proposal_view(rank_no: int, talent: TalentView, e: Explanation) -> ProposalView:
    """The engine's explanation as the API and the console show it."""
    return ProposalView(
        rank=rank_no, talent=talent, score=round(e.score, 4), eligible=e.eligible, excluded_by=e.excluded_by,
        mode_fit=e.mode_fit, ranker=e.ranker,
        features=[FeatureView(name=c.name, label=c.label, value=round(c.value, 4),
                              contribution=round(c.contribution, 4)) for c in e.features],
        matched_terms=list(e.matched_terms), demand_phrases=list(e.demand_phrases),
        talent_phrases=list(e.talent_phrases),
        scores={"dense": round(e.dense, 4), "lexical": round(e.lexical, 4), "semantic": round(e.semantic, 4)},
        aligned=None if e.aligned is None else AlignedView(
            demand_sentence=e.aligned.demand_sentence, talent_sentence=e.aligned.talent_sentence,
            similarity=round(e.aligned.similarity, 3)))


def propose(db: Database, pool: TalentPool | None, actor: Actor, demand_id: int, mode: str, k: int = 10,
            offset: int = 0, filters: Filters | None = None, include_excluded: bool = False,
            impressions: ImpressionBuffer | None = None) -> tuple[list[ProposalView], int]:
    """Ranked talents for a demand, with explanations; contact data masked for the caller. A list shown
    to an intermediary is logged (``impressions``) with each row's rank and features."""
    pool = require_ready(pool)
    with db.session() as s:
        d = visible_demand(s, actor, demand_id)
        if actor.role == Role.INTERMEDIARY and d.intermediary_id not in (None, actor.intermediary_id):
            raise NotFound(f"demand {demand_id} not found", field="demand_id")
        facts = demand_facts(s, d)
        proposals, total = pool.propose(facts, mode, k=k, offset=offset, filters=filters,
                                        include_excluded=include_excluded)
        if impressions is not None and actor.role == Role.INTERMEDIARY and proposals:
            impressions.add(demand_id, mode, proposals, offset, actor.user_id)
        talents = {t.id: t for t in s.scalars(select(Talent).where(Talent.id.in_([p.talent.id for p in proposals])))}
        views = talent_views(s, actor, talents.values())
        out = []
        for rank_no, p in enumerate(proposals, start=offset + 1):
            t = talents.get(p.talent.id)
            if t is None:
                continue  # removed from the database since the index was built
            out.append(proposal_view(rank_no, views[t.id], p.explanation))
        return out, total

