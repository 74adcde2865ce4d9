"""Who is acting, what they may see, and how personal data is masked for them.

Rules (in the core library, so the API, console and exports share them):
- enterprises see their own demands and the proposals for them;
- intermediaries see the open demands of the area they are registered for (or the whole province) and
  the demands they have taken up;
- officials see the demands, matches and statistics of enterprises located in their office's area (a
  county, a city, or the province: everything); admins see everything; only officials review. The area
  is one predicate (``demand_scope`` / ``match_scope``) every query and every single read goes through;
  the talent pool stays shared (talents come from the whole province and beyond);
- a talent's phone and email are masked for enterprises and intermediaries until an official has
  approved a match of that talent on a demand the caller can see *and* the talent consented to the
  release (otherwise the caller is told to go through the office); officials and admins see them;
- a talent (role ``talent``) sees and edits only their own record (``services/people/me.py``);
- who can be proposed, found or shown to enterprises and intermediaries is one rule (``proposable_filter``):
  the pool, search, detail pages, rounds and the proposal lists all ask it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, func, or_, select, true
from sqlalchemy.orm import Session, aliased

from matcher.config import get_settings
from matcher.domain.offices import office_tree
from matcher.domain.privacy import ConsentState, releases_contact
from matcher.domain.vocabulary import DemandStatus, Role
from matcher.domain.workflow import APPROVED_OR_LATER
from matcher.errors import Forbidden, NotFound, Unauthorized
from matcher.services.people.users import DEMO_PREFIX, hash_token, is_demo_database
from matcher.storage.models import (
    Demand,
    DuplicatePair,
    Enterprise,
    Intermediary,
    Match,
    PersonalDataAccess,
    Talent,
    User,
)
from matcher.views import TalentView


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    role: str
    enterprise_id: int | None = None
    intermediary_id: int | None = None
    name: str = ""
    talent_id: int | None = None  # role "talent": the record this account is
    office_code: str | None = None  # role "official": the office's code (None: the province)
    area_code: str | None = None  # role "intermediary": the area it is registered for (None: the province)

    @property
    def sees_everything(self) -> bool:
        """Officials and admins see every talent and the workflow's full detail — of the demands in their
        office's area (``demand_scope``)."""
        return self.role in (Role.OFFICIAL, Role.ADMIN)


SYSTEM = Actor(user_id=None, role="system", name="system")


def authenticate(session: Session, token: str | None) -> Actor:
    if not token:
        raise Unauthorized("missing bearer token (Authorization: Bearer <token>)")
    user = session.scalar(select(User).where(User.token_hash == hash_token(token), User.active.is_(True)))
    if user is None:
        raise Unauthorized("invalid or revoked token")
    if token.startswith(DEMO_PREFIX) and not is_demo_database(session):
        raise Unauthorized("demo tokens work only in a database created by the demo seed")
    return actor_of(session, user)


def actor_of(session: Session, user: User) -> Actor:
    area = (session.scalar(select(Intermediary.area_code).where(Intermediary.id == user.intermediary_id))
            if user.intermediary_id is not None else None)
    return Actor(user.id, user.role, user.enterprise_id, user.intermediary_id, user.display_name, user.talent_id,
                 office_code=user.office_code if user.role == Role.OFFICIAL else None, area_code=area)


def require(actor: Actor, *roles: str) -> None:
    if actor.role not in roles:
        raise Forbidden(f"this action needs role {' or '.join(roles)}; you are '{actor.role}'")


# ------------------------------------------------------------------ offices and areas: the one scope
def in_area(code: str | None) -> ColumnElement[bool] | None:
    """Demands of enterprises located in the area of the office (or registration) ``code``; None when the
    area is the whole province (no restriction). An enterprise whose county is not known is only in the
    province's area."""
    prefix = office_tree().area_prefix(code) if code else None
    if prefix is None:
        return None
    return Demand.enterprise_id.in_(select(Enterprise.id).where(Enterprise.county_code.startswith(prefix)))


def office_covers(actor: Actor, code: str | None) -> bool:
    """Whether the actor's office area holds what belongs to office ``code`` (None: the province's) — for
    records that carry an office rather than an enterprise (rounds, import jobs). Admins and the province
    hold everything."""
    if actor.role == Role.ADMIN or actor.office_code is None:
        return True
    tree = office_tree()
    return tree.contains(actor.office_code, code or tree.province.code)


def demand_scope(actor: Actor) -> ColumnElement[bool]:
    """The demands ``actor`` may see: the one predicate behind lists, single reads, statistics and rounds."""
    if actor.sees_everything:
        area = in_area(actor.office_code)
        return true() if area is None else area
    if actor.role == Role.ENTERPRISE:
        return Demand.enterprise_id == (actor.enterprise_id or -1)
    if actor.role == Role.INTERMEDIARY:
        board = Demand.status == DemandStatus.OPEN
        area = in_area(actor.area_code)
        own = Demand.intermediary_id == (actor.intermediary_id or -1)
        return or_(board if area is None else and_(board, area), own)
    return false()


def match_scope(actor: Actor) -> ColumnElement[bool]:
    """The matches ``actor`` may see (the query joins ``Demand``): an office's, on demands of its area; an
    enterprise's, on its demands; an intermediary's, its own."""
    if actor.sees_everything:
        return demand_scope(actor)
    if actor.role == Role.ENTERPRISE:
        return Demand.enterprise_id == (actor.enterprise_id or -1)
    if actor.role == Role.INTERMEDIARY:
        return Match.intermediary_id == (actor.intermediary_id or -1)
    return false()


def visible_demand(session: Session, actor: Actor, demand_id: int) -> Demand:
    """The demand, or 404 — also when it exists but the caller may not know it does."""
    d = session.scalar(select(Demand).where(Demand.id == demand_id, demand_scope(actor)))
    if d is None:
        raise NotFound(f"demand {demand_id} not found", field="demand_id")
    return d


def visible_match(session: Session, actor: Actor, match_id: int) -> tuple[Match, Demand]:
    """The match and its demand, or 404 — also when it exists but the caller may not know it does."""
    row = session.execute(select(Match, Demand).join(Demand, Demand.id == Match.demand_id)
                          .where(Match.id == match_id, match_scope(actor))).first()
    if row is None:
        raise NotFound(f"match {match_id} not found", field="match_id")
    return row[0], row[1]


def approved_for(session: Session, actor: Actor, talent_ids: Iterable[int]) -> dict[int, int]:
    """Per talent among ``talent_ids``, a demand the actor can see on which an official approved a match of
    that talent (what would release the contact data, given the talent's consent)."""
    ids = {int(t) for t in talent_ids}
    if not ids or actor.role not in (Role.ENTERPRISE, Role.INTERMEDIARY):
        return {}
    q = select(Match.talent_id, Match.demand_id).join(Demand, Demand.id == Match.demand_id).where(
        Match.talent_id.in_(ids), Match.status.in_(APPROVED_OR_LATER))
    if actor.role == Role.ENTERPRISE:
        q = q.where(Demand.enterprise_id == actor.enterprise_id)
    else:
        q = q.where(Demand.intermediary_id == actor.intermediary_id)
    return {tid: did for tid, did in session.execute(q.order_by(Match.id))}


def contacts_visible(session: Session, actor: Actor, talent_ids: Iterable[int]) -> set[int]:
    """The talents among ``talent_ids`` whose contact data the actor may see (one query for a page): all
    for officials; for the enterprise and the intermediary of a demand, those approved on it who consented
    to the release (``privacy.py``)."""
    ids = {int(t) for t in talent_ids}
    if actor.sees_everything:
        return ids
    approved = approved_for(session, actor, ids)
    if not approved:
        return set()
    consented = session.scalars(select(Talent.id).where(
        Talent.id.in_(list(approved)), Talent.consent_contact == ConsentState.GRANTED, Talent.withdrawn_at.is_(None)))
    return set(consented)


# ------------------------------------------------------------------ the one gate for talents
def proposable_filter(propose_pending: bool | None = None) -> ColumnElement[bool]:
    """The talents who may be proposed — and so found and shown — to enterprises and intermediaries: active,
    not withdrawn, not merged into another record, consent to be proposed granted (or pending, when the
    deployment allows it: ``settings.propose_pending``), and not half of an open probable-duplicate pair
    whose other record withdrew (the same person may have withdrawn: kept out until an official decides)."""
    pending = get_settings().propose_pending if propose_pending is None else propose_pending
    consent = Talent.consent_propose == ConsentState.GRANTED
    if pending:
        consent = or_(consent, Talent.consent_propose == ConsentState.PENDING)
    other = aliased(Talent)

    def withdrawn_twin_as(mine: Any, theirs: Any) -> ColumnElement[bool]:
        # One side of the pair at a time: each EXISTS then looks the talent up in its own index (a_id or
        # b_id). Written as one join with OR, SQLite scanned every open pair for every talent: at 1M
        # talents and 20k open pairs the count at start did not finish in four minutes.
        return exists(select(DuplicatePair.id).join(other, other.id == theirs)
                      .where(mine == Talent.id, DuplicatePair.status == "open", other.withdrawn_at.is_not(None)))

    withdrawn_twin = or_(withdrawn_twin_as(DuplicatePair.a_id, DuplicatePair.b_id),
                         withdrawn_twin_as(DuplicatePair.b_id, DuplicatePair.a_id))
    return and_(Talent.active.is_(True), Talent.withdrawn_at.is_(None), Talent.merged_into_id.is_(None), consent,
                ~withdrawn_twin)


def proposable_count(session: Session) -> int:
    """How many talents ``proposable_filter`` lets through (the pool's size, before it is read)."""
    return int(session.scalar(select(func.count()).select_from(Talent).where(proposable_filter())) or 0)


def proposable_ids(session: Session, talent_ids: Iterable[int] | None = None) -> set[int]:
    """Of these talents (or all), the ids ``proposable_filter`` lets through."""
    stmt = select(Talent.id).where(proposable_filter())
    if talent_ids is None:
        return set(session.scalars(stmt))
    ids = sorted({int(i) for i in talent_ids})
    out: set[int] = set()
    for start in range(0, len(ids), 900):
        out |= set(session.scalars(stmt.where(Talent.id.in_(ids[start:start + 900]))))
    return out


def talent_scope(actor: Actor) -> ColumnElement[bool] | None:
    """The talents ``actor`` may search (None: every record — officials and admins)."""
    if actor.sees_everything:
        return None
    if actor.role == Role.TALENT:
        return Talent.id == (actor.talent_id or -1)
    if actor.role in (Role.ENTERPRISE, Role.INTERMEDIARY):
        return proposable_filter()
    return Talent.id == -1


def may_see_talent(session: Session, actor: Actor, talent_id: int) -> bool:
    """One record: what ``talent_scope`` lets through, and for an enterprise or intermediary also a talent
    already in a match of theirs (the workflow has introduced them; a withdrawn record shows only its
    pseudonym)."""
    scope = talent_scope(actor)
    if scope is None or session.scalar(select(Talent.id).where(Talent.id == talent_id, scope)) is not None:
        return True
    if actor.role not in (Role.ENTERPRISE, Role.INTERMEDIARY):
        return False
    q = select(Match.id).join(Demand, Demand.id == Match.demand_id).where(Match.talent_id == talent_id)
    q = q.where(Demand.enterprise_id == actor.enterprise_id) if actor.role == Role.ENTERPRISE \
        else q.where(Match.intermediary_id == actor.intermediary_id)
    return session.scalar(q.limit(1)) is not None


def mask_phone(phone: str) -> str:
    """At most the last four digits, and only of a number with at least 11 digits (a mobile number, or
    a landline with its area code): of a shorter number four digits would give most of it away."""
    digits = [c for c in phone if c.isdigit()]
    if not phone:
        return ""
    return "*******" + "".join(digits[-4:]) if len(digits) >= 11 else "****"


def mask_email(email: str) -> str:
    if "@" not in email:
        return "****" if email else ""
    name, domain = email.split("@", 1)
    return name[:1] + "***@" + domain


def talent_views(session: Session, actor: Actor, talents: Iterable[Talent]) -> dict[int, TalentView]:
    """Views of a page of talents as ``actor`` may see them. The approvals that could release contact data
    are read in one query for the page (not one per row, not twice); each release shown to an enterprise
    or an intermediary is logged for the talent to read (who, when, for which demand)."""
    rows = list(talents)
    if actor.sees_everything:
        return {t.id: _view(t, show=True) for t in rows}
    approved = approved_for(session, actor, [t.id for t in rows])
    out: dict[int, TalentView] = {}
    for t in rows:
        show = t.id in approved and releases_contact(t)
        if show:
            log_access(session, t.id, "viewed", actor, approved[t.id])
        out[t.id] = _view(t, show=show, via_office=t.id in approved and not show)
    return out


def talent_view(session: Session, actor: Actor, t: Talent, contact: bool | None = None) -> TalentView:
    """One talent as ``actor`` may see it; ``contact`` given when the caller has decided (the talent's own
    record, an official's page)."""
    if contact is not None:
        return _view(t, show=contact)
    return talent_views(session, actor, [t])[t.id]


def _view(t: Talent, show: bool, via_office: bool = False) -> TalentView:
    return TalentView(
        id=t.id, external_id=t.external_id, name=t.name, affiliation=t.affiliation,
        institution_type=t.institution_type, title=t.title, title_level=t.title_level, sector=t.sector,
        research_fields=t.research_fields or [], discipline_codes=t.discipline_codes or [], profile=t.profile,
        achievements=t.achievements, patents=t.patents, projects=t.projects, mode_capacity=t.mode_capacity or {},
        flexible_forms=t.flexible_forms or [], city=t.city, in_province=t.in_province,
        province_ties=t.province_ties or [], tie_detail=t.tie_detail,
        phone=t.phone if show else mask_phone(t.phone), email=t.email if show else mask_email(t.email),
        contact_masked=not show, contact_via_office=via_office, consent_propose=t.consent_propose,
        consent_contact=t.consent_contact, available_from=t.available_from.isoformat() if t.available_from else None,
        available_until=t.available_until.isoformat() if t.available_until else None, tier=t.tier)


#: Called with each new row of the access log, in its transaction: the inbox tells the talent
#: (``services/inbox/items.on_access``) — registered there, so this module needs nothing above it.
ACCESS_LISTENERS: list[Callable[[Session, PersonalDataAccess], None]] = []


def log_access(session: Session, talent_id: int, action: str, actor: Actor, demand_id: int | None = None) -> None:
    """One row of the log the talent reads (``personal_data_access``), in the caller's transaction."""
    row = PersonalDataAccess(talent_id=talent_id, action=action, actor_user_id=actor.user_id,
                             actor_role=actor.role, actor_name=actor.name, demand_id=demand_id)
    session.add(row)
    for listener in ACCESS_LISTENERS:
        listener(session, row)
