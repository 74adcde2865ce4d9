"""Team matches: a lead talent (the match's own talent) and members — a 科技博士服务团, a leading talent
with their team. The intermediary names each member with their duties and share of the reward before the
match goes to review; each member passes the checks the lead passed when shortlisted, one by one:

- proposable now (consent to be proposed, not withdrawn, not merged: ``access.proposable_ids``);
- capacity left in the match's mode (an approved team occupies each member's capacity as it does the
  lead's: ``pool/facts.current_loads``);
- the mode's rules for this demand — a conflict of interest with the enterprise, the talent's own
  employer, availability — read from the engine when the index is ready (``explain_one``).

Shares are whole per cent; the members' together at most 100, the lead's share what they leave. The
programme says how many members a match names (``Programme.team_bounds``: a 科技博士服务团 at least two),
checked again at submission. Approval re-checks every member (one who withdrew meanwhile stops it),
releases each member's contact data by their own consent, and the agreement names every member with their
duties and share (``engagements/agreements``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from matcher.domain import modes
from matcher.domain.privacy import releases_contact
from matcher.domain.programmes import programmes
from matcher.domain.vocabulary import Role
from matcher.domain.workflow import MATCH_TRANSITIONS
from matcher.engine.pool import TalentPool
from matcher.errors import Conflict, Invalid, NotFound
from matcher.services.access import Actor, log_access, proposable_ids, require, visible_match
from matcher.services.audit import record
from matcher.services.pool.facts import current_loads, demand_facts, ready
from matcher.services.workflow import review as steps
from matcher.services.workflow.transitions import change_state
from matcher.storage.db import Database
from matcher.storage.models import Demand, Match, MatchMember, Talent
from matcher.views import TeamMemberView

MAX_DUTIES = 500


def members_of(s: Session, match_id: int) -> list[MatchMember]:
    return list(s.scalars(select(MatchMember).where(MatchMember.match_id == match_id).order_by(MatchMember.id)))


def lead_share(members: list[MatchMember]) -> int:
    return 100 - sum(m.share_percent for m in members)


def team_views(s: Session, match_id: int) -> list[TeamMemberView]:
    """Each member's duties and share, names as the records hold them."""
    return teams_of(s, [match_id]).get(match_id, [])


def teams_of(s: Session, match_ids: list[int]) -> dict[int, list[TeamMemberView]]:
    """The members of a page of matches, in one query."""
    out: dict[int, list[TeamMemberView]] = {}
    if not match_ids:
        return out
    rows = s.execute(select(MatchMember, Talent.name).join(Talent, Talent.id == MatchMember.talent_id)
                     .where(MatchMember.match_id.in_(match_ids)).order_by(MatchMember.id))
    for r, name in rows:
        out.setdefault(r.match_id, []).append(TeamMemberView(talent_id=r.talent_id, name=name, duties=r.duties,
                                                             share_percent=r.share_percent))
    return out


def _bounds(d: Demand, mode: str) -> tuple[int, int, str]:
    programme = steps.programme_for(programmes(), d.programme, mode)
    low, high = programme.team_bounds
    return low, high, programme.label


def _check_member(s: Session, pool: TalentPool | None, m: Match, d: Demand, t: Talent) -> None:
    """The checks a member passes, as the lead passed them when shortlisted (raises ``Conflict``)."""
    if t.id not in proposable_ids(s, [t.id]):
        raise Conflict(f"{t.name} may not be proposed (no consent, withdrawn, or merged into another record)",
                       field="talent_id")
    capacity = (t.mode_capacity or {}).get(m.mode, 0)
    load = current_loads(s, [t.id]).get(t.id, {}).get(m.mode, 0)
    if capacity - load <= 0:
        raise Conflict(f"{t.name} has no capacity left as {modes.get(m.mode).label} ({load} of {capacity} in "
                       "force)", field="talent_id")
    pool = ready(pool)
    if pool is not None and t.id in pool.facts:
        exp = pool.explain_one(demand_facts(s, d), t.id, m.mode)
        if not exp.eligible:
            raise Conflict(f"{t.name} is not eligible for this demand: {exp.excluded_by}", field="talent_id")


def add_member(db: Database, pool: TalentPool | None, actor: Actor, match_id: int, talent_id: int, duties: str,
               share_percent: int) -> list[TeamMemberView]:
    """Name a member of the match's team (the intermediary who holds the match, before review)."""
    require(actor, Role.INTERMEDIARY)
    duties = (duties or "").strip()
    if not duties:
        raise Invalid("a member's duties are required (分工)", field="duties")
    if len(duties) > MAX_DUTIES:
        raise Invalid(f"duties are at most {MAX_DUTIES} characters", field="duties")
    if isinstance(share_percent, bool) or not isinstance(share_percent, int) or not 0 <= share_percent <= 100:
        raise Invalid("share_percent is a whole per cent from 0 to 100", field="share_percent")
    with db.session() as s:
        m, d = visible_match(s, actor, match_id)
        if m.intermediary_id != actor.intermediary_id:
            raise NotFound(f"match {match_id} not found", field="match_id")
        if talent_id == m.talent_id:
            raise Conflict("the lead talent is the match's own talent, not a member", field="talent_id")
        t = s.get(Talent, talent_id)
        if t is None or not t.active:
            raise NotFound(f"talent {talent_id} not found", field="talent_id")
        team = members_of(s, m.id)
        if any(r.talent_id == talent_id for r in team):
            raise Conflict(f"{t.name} is already a member of this team", field="talent_id")
        _, high, label = _bounds(d, m.mode)
        if len(team) >= high:
            raise Conflict(f"a {label} team names at most {high} member(s) besides the lead", field="talent_id")
        if sum(r.share_percent for r in team) + share_percent > 100:
            raise Invalid(f"the members' shares would exceed 100% (the others hold "
                          f"{sum(r.share_percent for r in team)}%)", field="share_percent")
        _check_member(s, pool, m, d, t)
        # The match must still be editable, and stays locked against a submission until this commits.
        change_state(s, Match, m.id, MATCH_TRANSITIONS, "team", actor.role, m.status,
                     {"updated_at": datetime.now(UTC)})
        s.add(MatchMember(match_id=m.id, talent_id=t.id, duties=duties, share_percent=share_percent,
                          added_by=actor.user_id))
        try:
            s.flush()
        except IntegrityError:  # the same member named a moment ago
            s.rollback()
            raise Conflict(f"{t.name} is already a member of this team", field="talent_id") from None
        record(s, action="add_member", entity="match", entity_id=m.id, actor_user_id=actor.user_id,
               actor_role=actor.role, after={"talent_id": t.id, "duties": duties, "share_percent": share_percent})
        return team_views(s, m.id)


def remove_member(db: Database, actor: Actor, match_id: int, talent_id: int) -> list[TeamMemberView]:
    require(actor, Role.INTERMEDIARY)
    with db.session() as s:
        m, _ = visible_match(s, actor, match_id)
        if m.intermediary_id != actor.intermediary_id:
            raise NotFound(f"match {match_id} not found", field="match_id")
        row = s.scalar(select(MatchMember).where(MatchMember.match_id == m.id, MatchMember.talent_id == talent_id))
        if row is None:
            raise NotFound(f"talent {talent_id} is not a member of this team", field="talent_id")
        change_state(s, Match, m.id, MATCH_TRANSITIONS, "team", actor.role, m.status,
                     {"updated_at": datetime.now(UTC)})
        s.delete(row)
        record(s, action="remove_member", entity="match", entity_id=m.id, actor_user_id=actor.user_id,
               actor_role=actor.role, before={"talent_id": talent_id})
        s.flush()
        return team_views(s, m.id)


def check_for_submission(s: Session, m: Match, d: Demand) -> None:
    """A programme that asks for a team gets one: the members it needs are named before review."""
    low, high, label = _bounds(d, m.mode)
    n = s.scalar(select(func.count()).select_from(MatchMember).where(MatchMember.match_id == m.id)) or 0
    if n < low:
        raise Invalid(f"a {label} match names at least {low} team member(s) besides the lead ({n} named)",
                      field="members")
    if n > high:
        raise Invalid(f"a {label} match names at most {high} team member(s) besides the lead", field="members")


def on_approval(s: Session, actor: Actor, m: Match, d: Demand) -> list[int]:
    """In the approval's transaction: every member still proposable (a withdrawal since they were named
    stops the approval), each member's contact data released by their own consent. Returns their ids."""
    rows = members_of(s, m.id)
    ids = [r.talent_id for r in rows]
    allowed = proposable_ids(s, ids)
    talents: dict[int, Any] = {t.id: t for t in s.scalars(select(Talent).where(Talent.id.in_(ids)))}
    for tid in ids:
        t = talents.get(tid)
        if t is None or tid not in allowed:
            name = t.name if t is not None else str(tid)
            raise Conflict(f"team member {name} can no longer be proposed (withdrawn, consent taken back or "
                           "merged): remove them from the team first", field="members")
        if releases_contact(t):
            log_access(s, tid, "released", actor, d.id)
    return ids
