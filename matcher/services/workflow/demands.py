"""Demand use cases: post (出榜), edit, withdraw, take up (揭榜), list, history, and proposals; the
completeness check on posting and editing with the office's 待完善 queue (publish, return with a note), and
the 揭榜 deadline (expiry by the system, extension by an official).

Why a demand below the completeness threshold is kept off the board rather than refused: an enterprise
that typed a vague demand still needs it handled — the office sees it in its 待完善 queue, can let it on
as it is or send it back with a note, and the enterprise's edit that reaches the threshold publishes it.
An open demand whose edit falls below the threshold stays on the board (the workflow has no way back
from open: an intermediary may be reading it); its score and hints are shown to the enterprise.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from matcher.config import get_settings
from matcher.domain import demand as demand_fields
from matcher.domain.programmes import programmes
from matcher.domain.vocabulary import DemandStatus, Role
from matcher.domain.workflow import DEMAND_TRANSITIONS, SYSTEM, check
from matcher.engine import completeness
from matcher.engine.explain import Explanation
from matcher.engine.pool import Filters, TalentPool
from matcher.errors import Conflict, Invalid, NotFound
from matcher.reference import industry_codes, sector_for_industry
from matcher.services.access import Actor, demand_scope, in_area, require, talent_views, visible_demand
from matcher.services.audit import record
from matcher.services.learning.decisions import ImpressionBuffer
from matcher.services.people.conflicts import actor_relation
from matcher.services.pool import calibration
from matcher.services.pool.facts import demand_facts, demand_text, ready, refresh_talents, require_ready
from matcher.services.programme.deadlines import shanghai_today
from matcher.services.workflow.transitions import change_state
from matcher.storage.db import Database
from matcher.storage.models import AuditEvent, Demand, Enterprise, Match, Talent, iso
from matcher.views import (
    AlignedView,
    CompletenessElementView,
    CompletenessView,
    DemandView,
    FeatureView,
    HistoryEventView,
    ProposalView,
    TalentView,
    VerdictView,
)

EDITABLE = demand_fields.EDITABLE


#: What the completeness check reads of a demand (the engine takes any mapping of these).
ASSESSED = ("title", "description", "current_state", "target_indicators", "site_conditions", "budget_min",
            "budget_max", "modes", "deadline", "duration_months")
#: Why a closed demand was closed by the system: past its 揭榜 deadline (``closed_reason``).
EXPIRED = "expired"


def threshold() -> int:
    """The deployment's completeness threshold (``MATCHER_COMPLETENESS_THRESHOLD``, the engine's by default)."""
    return get_settings().completeness_threshold


def assess(values: Mapping[str, Any]) -> completeness.Completeness:
    """The completeness check of a demand's values (a row, a request body, an import row) against the
    deployment's threshold."""
    return completeness.assess({k: values.get(k) for k in ASSESSED}, threshold=threshold())


def assessment(values: Mapping[str, Any]) -> CompletenessView:
    """``assess`` as the live form reads it: score, threshold, the seven elements with their evidence, hints."""
    c = assess(values)
    return CompletenessView(score=c.score, threshold=c.threshold, ready=c.ready,
                            elements=[CompletenessElementView(name=e.name, label=e.label, present=e.present,
                                                              where=e.where, evidence=e.evidence)
                                      for e in c.elements],
                            hints=list(c.hints), boilerplate=list(c.boilerplate))


def _row_values(d: Demand) -> dict[str, Any]:
    return {k: getattr(d, k) for k in ASSESSED}


def is_overdue(d: Demand, today: date | None = None) -> bool:
    """Taken up and past its 揭榜 deadline: flagged, never closed (an intermediary is working on it)."""
    return (d.status == DemandStatus.TAKEN_UP and d.deadline is not None
            and d.deadline < (today or shanghai_today()))


def demand_view(d: Demand, today: date | None = None) -> DemandView:
    """The demand with its completeness: the stored score of its last post or edit (a row written before the
    check, such as the demo's or an old import, is scored now) and the hints for what it still lacks, always
    from the row as it is (the check is a pure function, about 0.1 ms)."""
    checked = assess(_row_values(d))
    return DemandView(
        id=d.id, external_id=d.external_id, enterprise_id=d.enterprise_id,
        enterprise=d.enterprise.name if d.enterprise else None, title=d.title, description=d.description,
        sector=d.sector, industry_code=d.industry_code, keywords=d.keywords or [], modes=d.modes or [],
        city=d.city, budget_min=d.budget_min, budget_max=d.budget_max, duration_months=d.duration_months,
        deadline=d.deadline.isoformat() if d.deadline else None, proposals_wanted=d.proposals_wanted,
        status=d.status, intermediary_id=d.intermediary_id, created_at=iso(d.created_at),
        programme=d.programme, current_state=d.current_state or "", target_indicators=d.target_indicators or "",
        site_conditions=d.site_conditions or "",
        completeness=d.completeness if d.completeness is not None else checked.score,
        hints=list(checked.hints), office_note=d.office_note or "", closed_reason=d.closed_reason,
        overdue=is_overdue(d, today))


def _snapshot(d: Demand) -> dict[str, Any]:
    v = demand_view(d)
    data = v.model_dump()
    return {k: data[k] for k in (*EDITABLE, "status", "intermediary_id", "completeness")}


def _check_programme(values: dict[str, Any], field: str) -> None:
    """A named programme must exist in the deployment's file and cover one of the demand's modes (an
    engagement is handled under the programme of its mode)."""
    key = values.get("programme")
    if key is None:
        return
    wanted = list(values.get("modes") or [])
    covered = programmes().require(key).modes
    if not set(wanted) & set(covered):
        raise Invalid(f"programme '{key}' covers {', '.join(covered)}, none of the demand's modes "
                      f"({', '.join(wanted) or 'none'})", field=field)


def _validate(values: dict[str, Any], programme_field: str = "programme") -> dict[str, Any]:
    code = values.get("industry_code")
    if code and code not in industry_codes():
        raise Invalid(f"'{code}' is not a GB/T 4754-2017 industry code", field="industry_code")
    lo, hi = values.get("budget_min"), values.get("budget_max")
    if lo is not None and hi is not None and lo > hi:
        raise Invalid("budget_max is smaller than budget_min", field="budget_max")
    deadline = values.get("deadline")
    if isinstance(deadline, date) and deadline < shanghai_today():
        raise Invalid("deadline is in the past", field="deadline")
    _check_programme(values, programme_field)
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
    """出榜: on the board when the completeness check passes, else in the office's 待完善 queue (status
    ``incomplete``); the view carries the score and the hints either way."""
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
        checked = assess(values)
        status = DemandStatus.OPEN if checked.ready else DemandStatus.INCOMPLETE
        d = Demand(enterprise=ent, external_id=ext, completeness=checked.score, status=status.value, **values)
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
    """Edit an open or 待完善 demand; the completeness is checked again, and a 待完善 demand whose edit
    reaches the threshold is published at once (audited ``publish`` after the ``edit``)."""
    with db.session() as s:
        d = visible_demand(s, actor, demand_id)
        check(DEMAND_TRANSITIONS, "edit", d.status, actor.role, "demand")
        before = _snapshot(d)
        merged = {**before, **changes}
        _validate(merged, "programme" if "programme" in changes else "modes")
        values = {k: v for k, v in changes.items() if k in EDITABLE}
        if "industry_code" in changes and "sector" not in changes and changes["industry_code"]:
            values["sector"] = sector_for_industry(changes["industry_code"])
        checked = assess({**_row_values(d), **values})
        values["completeness"] = checked.score
        # Only while still open (or 待完善): an edit racing the take-up must not change what the intermediary took.
        change_state(s, Demand, d.id, DEMAND_TRANSITIONS, "edit", actor.role, d.status, values)
        s.refresh(d)
        record(s, action="edit", entity="demand", entity_id=d.id, actor_user_id=actor.user_id,
               actor_role=actor.role, before=before, after=_snapshot(d))
        if d.status == DemandStatus.INCOMPLETE and checked.ready:
            _publish(s, actor, d, reason="threshold")
        view = demand_view(d)
    _warm(pool, d)
    return view


def _publish(s: Session, actor: Actor, d: Demand, reason: str) -> None:
    """待完善 → on the board; the office's note has served its purpose (it stays in the audit trail)."""
    change_state(s, Demand, d.id, DEMAND_TRANSITIONS, "publish", actor.role, d.status, {"office_note": ""})
    record(s, action="publish", entity="demand", entity_id=d.id, actor_user_id=actor.user_id,
           actor_role=actor.role, before={"status": DemandStatus.INCOMPLETE.value, "completeness": d.completeness},
           after={"status": DemandStatus.OPEN.value, "reason": reason})
    s.refresh(d)


def publish(db: Database, actor: Actor, demand_id: int) -> DemandView:
    """Put a 待完善 demand on the board. An official may do it whatever the score (the office judged it
    good enough); its enterprise only when the demand now passes the check (e.g. after the threshold was
    lowered), since an edit that reaches it publishes by itself."""
    require(actor, Role.OFFICIAL, Role.ENTERPRISE)
    with db.session() as s:
        d = visible_demand(s, actor, demand_id)
        check(DEMAND_TRANSITIONS, "publish", d.status, actor.role, "demand")
        if actor.role == Role.ENTERPRISE:
            checked = assess(_row_values(d))
            if not checked.ready:
                raise Invalid(f"the demand scores {checked.score}, below the threshold {checked.threshold}: "
                              "complete it first (" + "；".join(checked.hints[:2]) + ")", field="completeness")
            reason = "threshold"
        else:
            reason = "office"
        _publish(s, actor, d, reason=reason)
        return demand_view(d)


def return_demand(db: Database, actor: Actor, demand_id: int, note: str) -> DemandView:
    """The office sends a 待完善 demand back to its enterprise with a note saying what to add; the demand
    stays 待完善 and the note is shown on it until it is published."""
    require(actor, Role.OFFICIAL)
    note = (note or "").strip()
    if not note:
        raise Invalid("a note saying what the demand lacks is required", field="note")
    with db.session() as s:
        d = visible_demand(s, actor, demand_id)
        change_state(s, Demand, d.id, DEMAND_TRANSITIONS, "return_demand", actor.role, d.status,
                     {"office_note": note})
        record(s, action="return_demand", entity="demand", entity_id=d.id, actor_user_id=actor.user_id,
               actor_role=actor.role, before={"status": d.status, "office_note": d.office_note or ""},
               after={"status": d.status, "office_note": note})
        s.refresh(d)
        return demand_view(d)


def extend(db: Database, actor: Actor, demand_id: int, deadline: date) -> DemandView:
    """An official gives an open demand, or one the system closed past its deadline, a later 揭榜 deadline;
    an expired one is open again. A demand the enterprise or an official closed stays closed."""
    require(actor, Role.OFFICIAL)
    today = shanghai_today()
    with db.session() as s:
        d = visible_demand(s, actor, demand_id)
        check(DEMAND_TRANSITIONS, "extend", d.status, actor.role, "demand")
        if d.status == DemandStatus.CLOSED and d.closed_reason != EXPIRED:
            raise Conflict("only a demand closed past its deadline can be extended; this one was closed",
                           field="status")
        if deadline <= today:
            raise Invalid(f"the new deadline must be later than today ({today.isoformat()})", field="deadline")
        if d.deadline is not None and deadline <= d.deadline:
            raise Invalid(f"the new deadline must be later than the current one ({d.deadline.isoformat()})",
                          field="deadline")
        old = d.deadline
        same_deadline = Demand.deadline.is_(None) if old is None else Demand.deadline == old
        # Conditional on what was read: a demand closed by hand meanwhile, or extended by another official,
        # is not extended again (409).
        change_state(s, Demand, d.id, DEMAND_TRANSITIONS, "extend", actor.role, d.status,
                     {"deadline": deadline, "closed_reason": None},
                     extra_where=[same_deadline, or_(Demand.status == DemandStatus.OPEN,
                                                     Demand.closed_reason == EXPIRED)])
        record(s, action="extend", entity="demand", entity_id=d.id, actor_user_id=actor.user_id,
               actor_role=actor.role,
               before={"status": d.status, "deadline": old.isoformat() if old else None},
               after={"status": DemandStatus.OPEN.value, "deadline": deadline.isoformat()})
        s.refresh(d)
        return demand_view(d)


def expire_overdue_demands(db: Database, today: date | None = None) -> list[int]:
    """Close every open demand past its 揭榜 deadline (deadline < today in Asia/Shanghai), each with its
    audit event (actor 系统) — what the enterprise sees in its demand's history, and where a notification
    would hook in. Returns the ids this call closed.

    Safe to run in several workers at once: each close is a compare-and-set on the row (still open, still
    past the deadline), so exactly one sweep closes a demand and the others skip it; a demand taken up or
    extended meanwhile is left as it is. One transaction per demand, so one failure closes no fewer others.
    Taken-up demands past the deadline are not closed (``DemandView.overdue``)."""
    day = today or shanghai_today()
    with db.session() as s:
        due = list(s.execute(select(Demand.id, Demand.deadline).where(
            Demand.status == DemandStatus.OPEN, Demand.deadline.is_not(None), Demand.deadline < day)
            .order_by(Demand.id)))
    closed: list[int] = []
    for demand_id, deadline in due:
        try:
            with db.session() as s:
                change_state(s, Demand, demand_id, DEMAND_TRANSITIONS, "expire", SYSTEM,
                             DemandStatus.OPEN.value, {"closed_reason": EXPIRED},
                             extra_where=[and_(Demand.deadline.is_not(None), Demand.deadline < day)])
                record(s, action="expire", entity="demand", entity_id=demand_id, actor_role=SYSTEM,
                       before={"status": DemandStatus.OPEN.value, "deadline": str(deadline)},
                       after={"status": DemandStatus.CLOSED.value, "closed_reason": EXPIRED,
                              "today": day.isoformat()})
        except Conflict:  # another worker's sweep closed it, or it was taken up or extended meanwhile
            continue
        closed.append(demand_id)
    return closed


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
        if (relation := actor_relation(s, actor, d.enterprise_id)) is not None:
            raise Conflict(f"you declared a relation to this demand's enterprise and cannot take it up: {relation}",
                           field="enterprise_id")
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


def demand_filters(*, status: str | None = None, sector: str | None = None, city: str | None = None,
                   q: str | None = None, closed_reason: str | None = None, programme: str | None = None
                   ) -> list[ColumnElement[bool]]:
    """The board's filters as SQL conditions (a blank one filters nothing): what the lists and the saved
    searches' alerts (``services/inbox/alerts``) select by, so a saved search matches what its board shows.
    The mode is checked apart (``asks_mode``)."""
    out: list[ColumnElement[bool]] = [col == value for col, value in (
        (Demand.status, status), (Demand.sector, sector), (Demand.city, city),
        (Demand.closed_reason, closed_reason), (Demand.programme, programme)) if value]
    if q:
        out.append(or_(Demand.title.contains(q), Demand.description.contains(q)))
    return out


def asks_mode(d: Demand, mode: str | None) -> bool:
    """Whether the demand asks for ``mode`` (None: any). Modes are a JSON list, so this is read in Python to
    stay portable across SQLite and PostgreSQL."""
    return not mode or mode in (d.modes or [])


def list_demands(db: Database, actor: Actor, *, status: str | None = None, sector: str | None = None,
                 city: str | None = None, mode: str | None = None, q: str | None = None, limit: int = 20,
                 offset: int = 0, closed_reason: str | None = None, programme: str | None = None
                 ) -> tuple[list[DemandView], int]:
    """The demands the caller may see (``demand_scope``), filtered. ``status="incomplete"`` is an office's
    待完善 queue (its area's only); ``closed_reason="expired"`` lists those the system closed."""
    if programme:
        programmes().require(programme)
    stmt = select(Demand).where(demand_scope(actor), *demand_filters(
        status=status, sector=sector, city=city, q=q, closed_reason=closed_reason, programme=programme))
    with db.session() as s:
        rows = [d for d in s.scalars(stmt.order_by(Demand.id.desc())) if asks_mode(d, mode)]
        total = len(rows)
        today = shanghai_today()
        return [demand_view(d, today) for d in rows[offset:offset + limit]], total


def history(db: Database, actor: Actor, demand_id: int) -> list[HistoryEventView]:
    """The audit trail of a demand and its matches, for officials; an enterprise reads its own demand's
    events (posted, edited, 待完善, returned with the office's note, published, taken up, expired, extended
    …) — how it is told what happened to it — but not the matches' (their contact records and plans stay
    on the match pages)."""
    require(actor, Role.OFFICIAL, Role.ADMIN, Role.ENTERPRISE)
    with db.session() as s:
        visible_demand(s, actor, demand_id)
        own: ColumnElement[bool] = (AuditEvent.entity == "demand") & (AuditEvent.entity_id == str(demand_id))
        where: ColumnElement[bool]
        if actor.role == Role.ENTERPRISE:
            where = own
        else:
            match_ids = [str(m) for m in s.scalars(select(Match.id).where(Match.demand_id == demand_id))]
            where = or_(own, (AuditEvent.entity == "match") & (AuditEvent.entity_id.in_(match_ids)))
        events = s.scalars(select(AuditEvent).where(where).order_by(AuditEvent.id))
        return [HistoryEventView(id=e.id, at=iso(e.at), actor_user_id=e.actor_user_id, actor_role=e.actor_role,
                                 action=e.action, entity=e.entity, entity_id=e.entity_id, before=e.before,
                                 after=e.after) for e in events]


def proposal_view(rank_no: int, talent: TalentView, e: Explanation, probability: float | None = None) -> ProposalView:
    """The engine's explanation as the API and the console show it."""
    return ProposalView(
        rank=rank_no, talent=talent, score=round(e.score, 4), eligible=e.eligible, excluded_by=e.excluded_by,
        probability=probability,
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
            impressions: ImpressionBuffer | None = None, excluded_only: bool = False) -> tuple[list[ProposalView], int]:
    """Ranked talents for a demand, with explanations; contact data masked for the caller. A list shown
    to an intermediary is logged (``impressions``) with each row's rank and features."""
    out, total, _ = propose_with_verdict(db, pool, actor, demand_id, mode, k=k, offset=offset, filters=filters,
                                         include_excluded=include_excluded, impressions=impressions,
                                         excluded_only=excluded_only)
    return out, total


def propose_with_verdict(db: Database, pool: TalentPool | None, actor: Actor, demand_id: int, mode: str,
                         k: int = 10, offset: int = 0, filters: Filters | None = None, include_excluded: bool = False,
                         impressions: ImpressionBuffer | None = None,
                         excluded_only: bool = False) -> tuple[list[ProposalView], int, VerdictView]:
    """``propose`` with each proposal's calibrated probability and the list's verdict ("no suitable expert in
    the pool", ``services/pool/calibration.py``), which reads the list's first ``top_k`` rows as ranked,
    whichever page is asked for (one ranking; only the page is explained)."""
    pool = require_ready(pool)
    cal = calibration.calibrator()
    head_k = calibration.depth(cal)
    with db.session() as s:
        d = visible_demand(s, actor, demand_id)
        if actor.role == Role.INTERMEDIARY and d.intermediary_id not in (None, actor.intermediary_id):
            raise NotFound(f"demand {demand_id} not found", field="demand_id")
        facts = demand_facts(s, d)
        proposals, total, head = pool.propose_with_head(facts, mode, k=k, offset=offset, filters=filters,
                                                        include_excluded=include_excluded,
                                                        excluded_only=excluded_only,
                                                        head=0 if excluded_only else head_k)
        judged = calibration.verdict(cal, head)
        if impressions is not None and actor.role == Role.INTERMEDIARY and proposals:
            impressions.add(demand_id, mode, proposals, offset, actor.user_id)
        talents = {t.id: t for t in s.scalars(select(Talent).where(Talent.id.in_([p.talent.id for p in proposals])))}
        views = talent_views(s, actor, talents.values())
        chances = calibration.probabilities(cal, [p.explanation for p in proposals])
        out = []
        for rank_no, (p, chance) in enumerate(zip(proposals, chances, strict=True), start=offset + 1):
            t = talents.get(p.talent.id)
            if t is None:
                continue  # removed from the database since the index was built
            out.append(proposal_view(rank_no, views[t.id], p.explanation, chance))
        return out, total, VerdictView(best_probability=judged.best_probability,
                                       no_suitable_expert=judged.no_suitable_expert, threshold=judged.threshold,
                                       top_k=judged.top_k)

