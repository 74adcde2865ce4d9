"""Match use cases: shortlist, contact, submit for review, review in the programme's steps (the rules in
``review.py``), 容缺 items supplied, the outcome. An approval opens the engagement (``services/engagements``:
the agreement, service, assessments and 奖补 by rule)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from matcher.documents import mode_template
from matcher.domain import modes
from matcher.domain.privacy import releases_contact
from matcher.domain.programmes import APPROVE, programmes
from matcher.domain.vocabulary import DemandStatus, Role
from matcher.domain.workflow import AWAITING_REVIEW, DEMAND_TRANSITIONS, MATCH_TRANSITIONS, check
from matcher.engine.pool import TalentPool
from matcher.errors import Conflict, Invalid, NotFound
from matcher.services.access import (
    Actor,
    log_access,
    match_scope,
    proposable_ids,
    require,
    talent_view,
    talent_views,
    visible_demand,
    visible_match,
)
from matcher.services.audit import record
from matcher.services.engagements.agreements import open_engagement
from matcher.services.learning.decisions import record_decision
from matcher.services.people.conflicts import actor_relation
from matcher.services.pool.facts import demand_facts, ready, refresh_talents
from matcher.services.programme.deadlines import shanghai_today
from matcher.services.workflow import review as steps
from matcher.services.workflow import teams
from matcher.services.workflow.transitions import change_state
from matcher.storage.db import Database
from matcher.storage.models import Demand, Enterprise, Match, Talent, iso
from matcher.views import MatchView, MissingItemView, TalentView, TeamMemberView

OUTCOMES = ("solved", "partly", "not")
ANSWERS = ("pending", "accepted", "declined", "no_answer")


def match_view(m: Match, talent: TalentView | None = None, at: steps.StepAt | None = None,
               team: list[TeamMemberView] | None = None) -> MatchView:
    """The match as the API gives it; ``at``: the review step it waits at (``review.step_at``), if any;
    ``team``: its members besides the lead (``teams.team_views``)."""
    team = team or []
    return MatchView(
        team=team, lead_share_percent=100 - sum(x.share_percent for x in team),
        id=m.id, demand_id=m.demand_id, talent_id=m.talent_id, intermediary_id=m.intermediary_id,
        round_id=m.round_id, mode=m.mode, flexible_form=m.flexible_form, status=m.status, score=m.score,
        explanation=m.explanation or {}, plan=m.plan, contact_log=m.contact_log or {},
        review_reason=m.review_reason, outcome=m.outcome, outcome_text=m.outcome_text,
        reward_yuan=m.reward_yuan, talent=talent, created_at=iso(m.created_at), updated_at=iso(m.updated_at),
        programme=f"{m.programme_key}@{m.programme_version}" if m.programme_key else None,
        review_step=m.review_step or 0, review_stage=at.label if at else None,
        awaiting_office=at.office.code if at else None, review_actions=list(at.step.actions) if at else [],
        approved_by_office=m.approved_by_office,
        graded_by_office=m.graded_by_office,
        missing_items=[MissingItemView(item=str(i.get("item")), supplied_at=i.get("supplied_at"))
                       for i in m.missing_items or []],
        promised_by=m.promised_by.isoformat() if m.promised_by else None)


def _stepped_view(s: Any, m: Match, d: Demand, talent: TalentView | None = None) -> MatchView:
    """The view with the review step the match waits at (read fresh: the caller just changed the row)."""
    s.refresh(m)
    return match_view(m, talent, steps.step_at(programmes(), m, d, steps.county_of(s, d)),
                      teams.team_views(s, m.id))


def shortlist(db: Database, pool: TalentPool | None, actor: Actor, demand_id: int, talent_id: int, mode: str,
              flexible_form: str | None = None) -> MatchView:
    require(actor, Role.INTERMEDIARY)
    if not modes.is_mode(mode):
        raise Invalid(f"unknown mode '{mode}'", field="mode")
    with db.session() as s:
        d = visible_demand(s, actor, demand_id)
        if d.status != DemandStatus.TAKEN_UP or d.intermediary_id != actor.intermediary_id:
            raise Conflict(f"take the demand up before shortlisting (demand is '{d.status}')", field="status")
        t = s.get(Talent, talent_id)
        if t is None or not t.active:
            raise NotFound(f"talent {talent_id} not found", field="talent_id")
        if t.id not in proposable_ids(s, [t.id]):
            raise Conflict("this talent may not be proposed (no consent, withdrawn, or merged into another "
                           "record)", field="talent_id")
        if s.scalar(select(Match.id).where(Match.demand_id == demand_id, Match.talent_id == talent_id,
                                           Match.mode == mode)):
            raise Conflict("this talent is already shortlisted for this demand and mode", field="talent_id")
        explanation: dict[str, Any] = {}
        score = None
        pool = ready(pool)
        if pool is not None and talent_id in pool.facts:
            try:
                exp = pool.explain_one(demand_facts(s, d), talent_id, mode)
            except KeyError:  # taken out of the pool a moment ago (deactivated elsewhere)
                raise NotFound(f"talent {talent_id} not found", field="talent_id") from None
            if not exp.eligible:
                raise Conflict(f"talent is not eligible for {mode}: {exp.excluded_by}", field="mode")
            explanation, score = exp.as_json(), round(exp.score, 4)
        m = Match(demand_id=demand_id, talent_id=talent_id, intermediary_id=actor.intermediary_id, mode=mode,
                  flexible_form=flexible_form, score=score, explanation=explanation,
                  contact_log={"attempts": [], "answer": "pending"})
        s.add(m)
        try:
            s.flush()
        except IntegrityError:  # the same pair was shortlisted (or proposed by a round) a moment ago
            s.rollback()
            raise Conflict("this talent is already shortlisted for this demand and mode",
                           field="talent_id") from None
        record(s, action="shortlist", entity="match", entity_id=m.id, actor_user_id=actor.user_id,
               actor_role=actor.role, after={"status": m.status, "talent_id": talent_id, "mode": mode})
        record_decision(s, "shortlisted", demand_id, talent_id, mode, actor.user_id)
        return match_view(m, talent_view(s, actor, t))


def record_contact(db: Database, actor: Actor, match_id: int, note: str, answer: str | None) -> MatchView:
    if answer is not None and answer not in ANSWERS:
        raise Invalid(f"answer must be one of {', '.join(ANSWERS)}", field="answer")
    with db.session() as s:
        m, _ = visible_match(s, actor, match_id)
        log = dict(m.contact_log or {"attempts": [], "answer": "pending"})
        if answer and log.get("answered_by") == "talent" and answer != log.get("answer"):
            # the talent's own answer is theirs: a note may be added, the answer cannot be changed for them
            raise Conflict(f"the talent answered this proposal themselves ({log.get('answer')}); that answer "
                           "stands", field="answer")
        log["attempts"] = [*log.get("attempts", []), {"at": datetime.now(UTC).isoformat(), "note": note}]
        if answer:
            log["answer"] = answer
            log["answered_by"] = "intermediary" if log.get("answered_by") != "talent" else "talent"
        before = dict(m.contact_log or {})
        # The log is read, extended and written back: the row must not have changed in between, or a
        # concurrent attempt would be lost (updated_at moves with every write of the row).
        change_state(s, Match, m.id, MATCH_TRANSITIONS, "contact", actor.role, m.status, {"contact_log": log},
                     extra_where=[Match.updated_at == m.updated_at])
        record(s, action="contact", entity="match", entity_id=m.id, actor_user_id=actor.user_id,
               actor_role=actor.role, before=before, after=log)
        if answer in ("accepted", "declined", "no_answer") and answer != before.get("answer"):
            record_decision(s, f"contact_{answer}", m.demand_id, m.talent_id, m.mode, actor.user_id)
        s.refresh(m)
        return match_view(m)


def submit(db: Database, actor: Actor, match_id: int, plan: str) -> MatchView:
    if not plan.strip():
        raise Invalid("a short plan is required", field="plan")
    with db.session() as s:
        m, _ = visible_match(s, actor, match_id)
        if (m.contact_log or {}).get("answer") == "declined":
            raise Conflict("the talent declined; a declined match cannot be submitted", field="contact_log")
        action = "resubmit" if m.status in ("rejected", "returned") else "submit"
        before = m.status
        d = s.get(Demand, m.demand_id)
        assert d is not None
        _check_agreement_parties(s, m)
        teams.check_for_submission(s, m, d)
        programme = steps.programme_for(programmes(), d.programme, m.mode)
        # Conditional on the row as read: a "declined" answer recorded meanwhile must not be submitted past.
        # The review starts again at its first step, under the programme's current version.
        target = change_state(s, Match, m.id, MATCH_TRANSITIONS, action, actor.role, m.status,
                              {"plan": plan, "review_step": 0, "programme_key": programme.key,
                               "programme_version": programme.version},
                              extra_where=[Match.updated_at == m.updated_at])
        record(s, action=action, entity="match", entity_id=m.id, actor_user_id=actor.user_id,
               actor_role=actor.role, before={"status": before},
               after={"status": target, "plan": plan, "programme": str(programme.identity)})
        record_decision(s, "submitted", m.demand_id, m.talent_id, m.mode, actor.user_id)
        return _stepped_view(s, m, d)


def _check_agreement_parties(s: Any, m: Match) -> None:
    """Approval drafts the agreement (``engagements/agreements.py``); a mode whose agreement the talent's
    home institution signs (双聘) needs that institution named, so a plan is not sent up to fail there."""
    talent = s.get(Talent, m.talent_id)
    if mode_template(m.mode).home_signs and not (talent and talent.affiliation.strip()):
        raise Invalid(f"a {modes.get(m.mode).label} agreement is signed by the talent's home institution, and "
                      "the talent's affiliation is empty: complete the profile first", field="affiliation")


def review(db: Database, pool: TalentPool | None, actor: Actor, match_id: int, decision: str, reason: str,
           missing_items: Sequence[str] | None = None, promised_by: date | None = None) -> MatchView:
    """One office's decision at the step the match waits at (``review.py``): recommend or send back at a
    first review, approve or reject at the final one; with 容缺 items and their promised date optionally."""
    require(actor, Role.OFFICIAL)
    items = steps.check_decision(decision, reason, missing_items, promised_by, shanghai_today())
    with db.session() as s:
        m, d = visible_match(s, actor, match_id)
        # The demand's row is locked before anything is written, as a withdrawal or a closing locks it with
        # their first write (the demand's compare-and-set): two such transactions then take their locks in
        # one order, and PostgreSQL never finds them deadlocked over the inbox items both close (seen:
        # an approval racing the enterprise's withdrawal). The loser then fails its compare-and-set: 409.
        s.execute(select(Demand.id).where(Demand.id == d.id).with_for_update())
        if (relation := actor_relation(s, actor, d.enterprise_id)) is not None:
            raise Conflict(f"you declared a relation to this demand's enterprise and cannot review its matches: "
                           f"{relation}", field="enterprise_id")
        county = steps.county_of(s, d)
        at = steps.check_step(steps.step_at(programmes(), m, d, county), actor, decision, m.status)
        before = {"status": m.status, "step": at.index}
        values = steps.decision_values(at, decision, reason, county, items, promised_by, m)
        target = change_state(s, Match, m.id, MATCH_TRANSITIONS, decision, actor.role, m.status, values,
                              extra_where=[Match.review_step == m.review_step])
        record(s, action=decision, entity="match", entity_id=m.id, actor_user_id=actor.user_id,
               actor_role=actor.role, before=before,
               after=steps.audit_after(at, decision, target, reason, items, promised_by))
        kind = steps.learning_kind(decision)
        if kind:
            record_decision(s, kind, m.demand_id, m.talent_id, m.mode, actor.user_id, reason)
        if decision == APPROVE:
            _mark_demand_matched(s, actor, d)
            _release_contact(s, actor, m.talent_id, d)
            members = teams.on_approval(s, actor, m, d)
            s.flush()
            s.refresh(m)
            open_engagement(s, actor, m, d)  # the engagement and its first agreement draft
        s.flush()
        if decision == APPROVE:
            refresh_talents(s, pool, [m.talent_id, *members])
        return _stepped_view(s, m, d)


def supply(db: Database, actor: Actor, match_id: int, items: Sequence[str]) -> MatchView:
    """The intermediary supplies missing items (容缺) named at the review: each is marked with the time."""
    require(actor, Role.INTERMEDIARY)
    with db.session() as s:
        m, d = visible_match(s, actor, match_id)
        updated = steps.supplied(list(m.missing_items or []), items)
        change_state(s, Match, m.id, MATCH_TRANSITIONS, "supply", actor.role, m.status, {"missing_items": updated},
                     extra_where=[Match.updated_at == m.updated_at])
        record(s, action="supply", entity="match", entity_id=m.id, actor_user_id=actor.user_id,
               actor_role=actor.role, before={"outstanding": steps.outstanding(m.missing_items)},
               after={"supplied": [i.strip() for i in items if i.strip()],
                      "outstanding": steps.outstanding(updated)})
        return _stepped_view(s, m, d)


def _release_contact(s: Any, actor: Actor, talent_id: int, d: Demand) -> None:
    """An approval releases the talent's contact data to the demand's enterprise and intermediary — only
    with the talent's consent (``privacy.py``); a withdrawn talent cannot be approved at all."""
    t = s.get(Talent, talent_id)
    if t is None or t.withdrawn_at is not None:
        raise Conflict("the talent withdrew from the platform; this match cannot be approved", field="talent_id")
    if releases_contact(t):
        log_access(s, t.id, "released", actor, d.id)


def _mark_demand_matched(s: Any, actor: Actor, d: Demand) -> None:
    """An approval moves its demand to ``matched`` — in the same transaction, and only while the demand
    is still taken up or matched: an approval racing the enterprise's withdrawal is refused as a whole
    (the match's own update is rolled back with it)."""
    check(DEMAND_TRANSITIONS, "match", d.status, actor.role, "demand")
    first = s.execute(update(Demand).where(Demand.id == d.id, Demand.status == DemandStatus.TAKEN_UP)
                      .values(status=DemandStatus.MATCHED).execution_options(synchronize_session=False))
    if first.rowcount == 1:
        record(s, action="match", entity="demand", entity_id=d.id, actor_user_id=actor.user_id,
               actor_role=actor.role, before={"status": DemandStatus.TAKEN_UP.value},
               after={"status": DemandStatus.MATCHED.value})
        return
    # Already matched by an earlier approval: touch the row so it stays locked in that state until commit.
    again = s.execute(update(Demand).where(Demand.id == d.id, Demand.status == DemandStatus.MATCHED)
                      .values(status=DemandStatus.MATCHED).execution_options(synchronize_session=False))
    if again.rowcount != 1:
        found = s.scalar(select(Demand.status).where(Demand.id == d.id))
        raise Conflict(f"cannot approve: the demand is now '{found}'", field="status")


def report_outcome(db: Database, actor: Actor, match_id: int, result: str, text: str) -> MatchView:
    if result not in OUTCOMES:
        raise Invalid(f"result must be one of {', '.join(OUTCOMES)}", field="result")
    with db.session() as s:
        m, _ = visible_match(s, actor, match_id)
        target = change_state(s, Match, m.id, MATCH_TRANSITIONS, "report_outcome", actor.role, m.status,
                              {"outcome": result, "outcome_text": text})
        record(s, action="report_outcome", entity="match", entity_id=m.id, actor_user_id=actor.user_id,
               actor_role=actor.role, before={"status": "engaged"},
               after={"status": target, "outcome": result, "text": text})
        record_decision(s, f"outcome_{result}", m.demand_id, m.talent_id, m.mode, actor.user_id, text)
        s.refresh(m)
        return match_view(m)


def get_match(db: Database, actor: Actor, match_id: int) -> MatchView:
    with db.session() as s:
        m, d = visible_match(s, actor, match_id)
        t = s.get(Talent, m.talent_id)
        return match_view(m, talent_view(s, actor, t) if t else None,
                          steps.step_at(programmes(), m, d, steps.county_of(s, d)), teams.team_views(s, m.id))


def list_matches(db: Database, actor: Actor, *, status: str | None = None, demand_id: int | None = None,
                 mode: str | None = None, programme: str | None = None, limit: int = 20, offset: int = 0
                 ) -> tuple[list[MatchView], int]:
    """Matches in the actor's scope. ``status="awaiting_review"``: every match in review in the area;
    ``"awaiting_my_review"``: those whose current step the actor's own office takes (the office's queue)."""
    require(actor, Role.ENTERPRISE, Role.INTERMEDIARY, Role.OFFICIAL, Role.ADMIN)
    stmt = (select(Match, Demand, Enterprise.county_code).join(Demand, Demand.id == Match.demand_id)
            .join(Enterprise, Enterprise.id == Demand.enterprise_id).where(match_scope(actor)))
    mine = status == "awaiting_my_review"
    if status in ("awaiting_review", "awaiting_my_review"):
        stmt = stmt.where(Match.status.in_(AWAITING_REVIEW))
    elif status:
        stmt = stmt.where(Match.status == status)
    if demand_id is not None:
        with db.session() as s:
            visible_demand(s, actor, demand_id)
        stmt = stmt.where(Match.demand_id == demand_id)
    if mode:
        stmt = stmt.where(Match.mode == mode)
    if programme:  # the programme a match was submitted under, else the one its demand names
        programmes().require(programme)
        stmt = stmt.where(or_(Match.programme_key == programme,
                              and_(Match.programme_key.is_(None), Demand.programme == programme)))
    rules = programmes()
    with db.session() as s:
        stmt = stmt.order_by(Match.updated_at, Match.id)
        if mine:
            # The step's office depends on the programme file, not a column: filtered here (a queue is short).
            office = steps.acting_office(actor)
            stepped: list[tuple[Match, steps.StepAt | None]] = [
                (m, at) for m, d, county in s.execute(stmt)
                if (at := steps.step_at(rules, m, d, county)) is not None and at.office.code == office]
            total, page = len(stepped), stepped[offset:offset + limit]
        else:
            total = s.scalar(select(func.count()).select_from(stmt.subquery())) or 0
            page = [(m, steps.step_at(rules, m, d, county))
                    for m, d, county in s.execute(stmt.limit(limit).offset(offset))]
        talents = {t.id: t for t in s.scalars(select(Talent).where(Talent.id.in_([m.talent_id for m, _ in page])))}
        views = talent_views(s, actor, talents.values())
        members = teams.teams_of(s, [m.id for m, _ in page])
        return [match_view(m, views[m.talent_id], at, members.get(m.id)) for m, at in page], total
