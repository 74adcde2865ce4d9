"""Conflicts of interest: organisations (matched by credit code and normalised names with aliases), the
relations talents, intermediaries, officials and organisations declare to them, who is excluded from an
enterprise's lists and why, and whether an acting official or intermediary is tied to an enterprise.

Why one module: the rule (``domain/conflicts.py``) is only as good as the organisation matching behind it —
a relation declared to 太原理工 must meet a university recorded as 太原理工大学, and an enterprise's own
registration (its credit code) must meet a relation declared by name — so resolution, declarations and the
two questions the workflow asks (``conflicted_talents`` for the lists and rounds, ``actor_relation`` for
take-up and review) live together and share one notion of "the enterprise's organisations".

Every organisation's own normalised name is also one of its alias rows: the alias column is unique, so no
normalised name can ever point at two organisations, and resolving a name is one indexed lookup. Names
typed by users are matched exactly after ``normalise`` (never fuzzily); officials add the other names.

Who may declare what: a talent their own relations (``/me``), officials (and admins) any talent's; an
intermediary's users their intermediary's, officials too; an official (any account) their own; officials
and admins the organisations' relations and the aliases. Every change is audited in its transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from matcher.domain.conflicts import (
    MAX_NAME,
    ORGANISATION_KINDS,
    ORGANISATION_LABELS,
    RELATION_LABELS,
    Declared,
    OrganisationKind,
    RelationKind,
    SubjectKind,
    check_relation,
    checked_name,
    describe,
    in_force,
    like_pattern,
    normalise,
    organisation_reason,
    own_reason,
    rank_of,
    talent_conflicts,
)
from matcher.domain.vocabulary import Role
from matcher.errors import Conflict, Forbidden, Invalid, NotFound
from matcher.reference import is_valid_credit_code
from matcher.services.access import Actor, require
from matcher.services.audit import record
from matcher.storage.db import Database, insert_unless_exists
from matcher.storage.models import (
    Enterprise,
    Intermediary,
    Organisation,
    OrganisationAlias,
    Relation,
    Talent,
    iso,
)
from matcher.views import View


# ------------------------------------------------------------------ views
class AliasView(View):
    id: int
    alias: str  # stored normalised


class OrganisationView(View):
    id: int
    name: str
    credit_code: str | None
    kind: str
    kind_label: str
    enterprise_id: int | None
    aliases: list[AliasView]  # its other names (its own name is matched without being listed)


class RelationView(View):
    id: int
    subject_kind: str
    subject_id: int
    organisation_id: int
    organisation: str
    organisation_kind: str
    kind: str
    kind_label: str  # 创办 / 入股 / 任职 / 亲属任职
    started_on: str | None
    ended_on: str | None
    note: str
    in_force: bool  # whether it conflicts today (domain/conflicts.in_force)
    declared_by: int | None
    created_at: str | None


class ConflictView(View):
    """One organisation a talent is kept away from, with the reason lists show."""

    organisation_id: int
    organisation: str
    enterprise_id: int | None
    reason: str


@dataclass(frozen=True)
class RelationSpec:
    """A relation as declared (the API's ``RelationIn``, the console's form). The organisation is named by
    the first of ``organisation_id``, ``enterprise_id``, or ``credit_code`` and/or the name
    ``organisation``; an unknown name creates the organisation (of ``organisation_kind``)."""

    kind: str
    organisation: str | None = None
    credit_code: str | None = None
    organisation_id: int | None = None
    enterprise_id: int | None = None
    organisation_kind: str | None = None
    started_on: date | None = None
    ended_on: date | None = None
    note: str = ""


def _org_view(o: Organisation, aliases: Iterable[OrganisationAlias]) -> OrganisationView:
    own = normalise(o.name)
    return OrganisationView(id=o.id, name=o.name, credit_code=o.credit_code, kind=o.kind,
                            kind_label=ORGANISATION_LABELS.get(o.kind, o.kind), enterprise_id=o.enterprise_id,
                            aliases=[AliasView(id=a.id, alias=a.alias) for a in sorted(aliases, key=lambda a: a.id)
                                     if a.alias != own])


def _org_views(s: Session, orgs: list[Organisation]) -> list[OrganisationView]:
    by_org: dict[int, list[OrganisationAlias]] = defaultdict(list)
    if orgs:
        ids = [o.id for o in orgs]
        for a in s.scalars(select(OrganisationAlias).where(OrganisationAlias.organisation_id.in_(ids))):
            by_org[a.organisation_id].append(a)
    return [_org_view(o, by_org[o.id]) for o in orgs]


def _relation_view(r: Relation, org: Organisation, today: date) -> RelationView:
    return RelationView(id=r.id, subject_kind=r.subject_kind, subject_id=r.subject_id, organisation_id=org.id,
                        organisation=org.name, organisation_kind=org.kind, kind=r.kind,
                        kind_label=RELATION_LABELS.get(r.kind, r.kind),
                        started_on=r.started_on.isoformat() if r.started_on else None,
                        ended_on=r.ended_on.isoformat() if r.ended_on else None, note=r.note,
                        in_force=in_force(r.kind, r.ended_on, today), declared_by=r.declared_by,
                        created_at=iso(r.created_at))


# ------------------------------------------------------------------ resolving organisations
def _by_name(s: Session, key: str) -> Organisation | None:
    """The organisation one of whose names normalises to ``key``: its alias rows (one lookup), then — for
    an organisation written without its own-name alias — its name."""
    org_id = s.scalar(select(OrganisationAlias.organisation_id).where(OrganisationAlias.alias == key))
    if org_id is not None:
        return s.get(Organisation, org_id)
    return next((o for o in s.scalars(select(Organisation).where(Organisation.name.like(like_pattern(key)))
                                       .order_by(Organisation.id)) if normalise(o.name) == key), None)


def _enterprise_by_name(s: Session, key: str) -> Enterprise | None:
    return next((e for e in s.scalars(select(Enterprise).where(Enterprise.name.like(like_pattern(key)))
                                       .order_by(Enterprise.id)) if normalise(e.name) == key), None)


def _create(s: Session, actor: Actor | None, name: str, kind: str, credit_code: str | None = None,
            enterprise_id: int | None = None) -> Organisation:
    """A new organisation and its own-name alias. Written with ``INSERT … ON CONFLICT DO NOTHING``: when a
    concurrent request created the same organisation a moment ago, that one is returned."""
    key = checked_name(name, "organisation")
    if len(name) > MAX_NAME:
        raise Invalid(f"an organisation's name is at most {MAX_NAME} characters", field="organisation")
    org_id = insert_unless_exists(s, Organisation, {"name": name, "credit_code": credit_code, "kind": kind,
                                                    "enterprise_id": enterprise_id})
    if org_id is None:
        found = (_by_credit_code(s, credit_code) if credit_code else None) or _by_name(s, key)
        if found is None:
            raise Conflict(f"organisation '{name}' could not be created (a concurrent change); retry",
                           field="organisation")
        return found
    insert_unless_exists(s, OrganisationAlias, {"organisation_id": org_id, "alias": key,
                                                "created_by": actor.user_id if actor else None})
    o = s.get(Organisation, org_id)
    assert o is not None
    record(s, action="organisation_create", entity="organisation", entity_id=org_id,
           actor_user_id=actor.user_id if actor else None, actor_role=actor.role if actor else "system",
           after={"name": name, "credit_code": credit_code, "kind": kind, "enterprise_id": enterprise_id})
    return o


def _by_credit_code(s: Session, code: str) -> Organisation | None:
    o = s.scalar(select(Organisation).where(Organisation.credit_code == code))
    if o is not None:
        return o
    ent = s.scalar(select(Enterprise).where(Enterprise.credit_code == code))
    return enterprise_organisation(s, ent) if ent is not None else None


def enterprise_organisation(s: Session, ent: Enterprise, actor: Actor | None = None) -> Organisation:
    """The enterprise's organisation, created on demand (linked by ``enterprise_id``, its credit code
    copied). An organisation declared earlier under the enterprise's credit code or name is linked to it
    rather than duplicated."""
    o = s.scalar(select(Organisation).where(Organisation.enterprise_id == ent.id))
    if o is not None:
        return o
    found = (s.scalar(select(Organisation).where(Organisation.credit_code == ent.credit_code))
             if ent.credit_code else None) or _by_name(s, normalise(ent.name))
    if found is not None and found.enterprise_id is None:
        found.enterprise_id = ent.id
        if found.credit_code is None and ent.credit_code:
            found.credit_code = ent.credit_code
        if found.kind == OrganisationKind.OTHER:
            found.kind = OrganisationKind.ENTERPRISE
        s.flush()
        return found
    name = ent.name if found is None else f"{ent.name}（企业#{ent.id}）"  # that name is another enterprise's
    return _create(s, actor, name, OrganisationKind.ENTERPRISE, ent.credit_code if found is None else None, ent.id)


def _credit_code(raw: str | None) -> str | None:
    code = (raw or "").strip().upper()
    if not code:
        return None
    if not is_valid_credit_code(code):
        raise Invalid(f"'{raw}' is not a unified social credit code (18 characters, valid check digit)",
                      field="credit_code")
    return code


def resolve(s: Session, actor: Actor | None, spec: RelationSpec, default_kind: str = OrganisationKind.OTHER
            ) -> Organisation:
    """The organisation a declaration names (``RelationSpec``), created when only its name is known. A
    credit code and a name that belong to two different organisations are refused rather than guessed."""
    if spec.organisation_id is not None:
        o = s.get(Organisation, spec.organisation_id)
        if o is None:
            raise Invalid(f"no organisation {spec.organisation_id}", field="organisation_id")
        return o
    if spec.enterprise_id is not None:
        ent = s.get(Enterprise, spec.enterprise_id)
        if ent is None:
            raise Invalid(f"no enterprise {spec.enterprise_id}", field="enterprise_id")
        return enterprise_organisation(s, ent, actor)
    code = _credit_code(spec.credit_code)
    name = (spec.organisation or "").strip()
    key = checked_name(name, "organisation") if name else None
    if code is None and key is None:
        raise Invalid("a relation names its organisation: organisation (a name), credit_code, organisation_id "
                      "or enterprise_id", field="organisation")
    by_code = _by_credit_code(s, code) if code else None
    by_name = None
    if key is not None:
        by_name = _by_name(s, key)
        if by_name is None:
            ent = _enterprise_by_name(s, key)
            by_name = enterprise_organisation(s, ent, actor) if ent is not None else None
    if by_code is not None and by_name is not None and by_code.id != by_name.id:
        raise Invalid(f"credit code {code} is {by_code.name}'s, not {by_name.name}'s", field="credit_code")
    o = by_code or by_name
    if o is None:
        if key is None:
            raise Invalid(f"no organisation or enterprise has credit code {code}; give its name too",
                          field="organisation")
        kind = spec.organisation_kind or default_kind
        if kind not in ORGANISATION_LABELS:
            raise Invalid(f"unknown organisation kind '{kind}' (one of {', '.join(OrganisationKind)})",
                          field="organisation_kind")
        return _create(s, actor, name, kind, code)
    if code is not None and o.credit_code is None:
        o.credit_code = code  # the name was known, now its registration is too
    return o


def _enterprise_orgs(ent: Enterprise) -> Select[int]:
    """The organisations that are this enterprise: linked to it, under its credit code, or under its name
    (or an alias of it) — read without creating anything (the lists and rounds read this)."""
    conditions = [Organisation.enterprise_id == ent.id, Organisation.name == ent.name,
                  Organisation.id.in_(select(OrganisationAlias.organisation_id)
                                      .where(OrganisationAlias.alias == normalise(ent.name)))]
    if ent.credit_code:
        conditions.append(Organisation.credit_code == ent.credit_code)
    return select(Organisation.id).where(or_(*conditions))


# ------------------------------------------------------------------ the two questions the workflow asks
def conflicted_talents(s: Session, ent: Enterprise, today: date | None = None) -> dict[int, str]:
    """Talent id → the reason they are excluded from this enterprise's lists and rounds
    (``domain/conflicts.talent_conflicts``). Per demand, not per talent: one query when no relation points
    at the enterprise (the common case); when a unit founded it or holds shares, three more — the unit's
    names and aliases, the talents employed there by declaration, the talents whose affiliation is one of
    those names (a ``LIKE`` on the names' characters narrows the table, the normalised comparison decides);
    and one for merged records when anyone is conflicted (a merged record's conflict follows the person to
    the record it was merged into)."""
    today = today or date.today()
    rows = [Declared(*r) for r in s.execute(
        select(Relation.subject_kind, Relation.subject_id, Relation.organisation_id, Relation.kind,
               Relation.started_on, Relation.ended_on)
        .where(Relation.organisation_id.in_(_enterprise_orgs(ent)),
               Relation.subject_kind.in_([SubjectKind.TALENT.value, SubjectKind.ORGANISATION.value])))]
    if not rows:
        return {}
    targets = {r.organisation_id for r in rows}
    units = {r.subject_id for r in rows if r.subject_kind == SubjectKind.ORGANISATION
             and r.kind in ORGANISATION_KINDS and in_force(r.kind, r.ended_on, today)} - targets
    talent_units: dict[int, set[int]] = defaultdict(set)
    names: dict[int, str] = {}
    if units:
        keys: dict[str, int] = {}
        for org_id, name, alias in s.execute(
                select(Organisation.id, Organisation.name, OrganisationAlias.alias)
                .outerjoin(OrganisationAlias, OrganisationAlias.organisation_id == Organisation.id)
                .where(Organisation.id.in_(units))):
            names[org_id] = name
            keys.setdefault(normalise(name), org_id)
            if alias:
                keys.setdefault(alias, org_id)
        for tid, org_id, ended in s.execute(
                select(Relation.subject_id, Relation.organisation_id, Relation.ended_on)
                .where(Relation.subject_kind == SubjectKind.TALENT, Relation.kind == RelationKind.EMPLOYED,
                       Relation.organisation_id.in_(units))):
            if in_force(RelationKind.EMPLOYED, ended, today):
                talent_units[tid].add(org_id)
        patterns = sorted({like_pattern(k) for k in keys if k})
        if patterns:
            for tid, affiliation in s.execute(select(Talent.id, Talent.affiliation).where(
                    or_(*[Talent.affiliation.like(p) for p in patterns]))):
                unit = keys.get(normalise(affiliation or ""))
                if unit is not None:
                    talent_units[tid].add(unit)
    out = talent_conflicts(targets, rows, talent_units, names, today)
    if out:
        for tid, kept in s.execute(select(Talent.id, Talent.merged_into_id)
                                   .where(Talent.id.in_(list(out)), Talent.merged_into_id.is_not(None))):
            if kept is not None:
                out.setdefault(kept, out[tid])
    return out


def actor_relation(session: Session, actor: Actor, enterprise_id: int, today: date | None = None) -> str | None:
    """The relation the acting account (subject ``user``) or its intermediary (subject ``intermediary``)
    declared to the enterprise, in Chinese — ``本人入股太原重型机械集团有限公司（利益冲突）`` — or None. Take-up
    and review refuse with 409 naming it: a reviewer or an intermediary tied to an enterprise must not act
    on its demands. The account's own relations are named before its intermediary's."""
    ent = session.get(Enterprise, enterprise_id)
    if ent is None:
        return None
    subjects = []
    if actor.user_id is not None:
        subjects.append(and_(Relation.subject_kind == SubjectKind.USER, Relation.subject_id == actor.user_id))
    if actor.intermediary_id is not None:
        subjects.append(and_(Relation.subject_kind == SubjectKind.INTERMEDIARY,
                             Relation.subject_id == actor.intermediary_id))
    if not subjects:
        return None
    today = today or date.today()
    live = sorted(((r, name) for r, name in session.execute(
        select(Relation, Organisation.name).join(Organisation, Organisation.id == Relation.organisation_id)
        .where(Relation.organisation_id.in_(_enterprise_orgs(ent)), or_(*subjects)))
        if in_force(r.kind, r.ended_on, today)),
        key=lambda x: (x[0].subject_kind != SubjectKind.USER, rank_of(x[0].kind), x[0].id))
    if not live:
        return None
    r, org_name = live[0]
    if r.subject_kind == SubjectKind.USER:
        who = "本人"
    else:
        agency = session.get(Intermediary, r.subject_id)
        who = f"中介机构{agency.name if agency else r.subject_id}" + ("人员" if r.kind == RelationKind.FAMILY else "")
    return describe(r.kind, who, org_name) + "（利益冲突）"


def conflicts_of_talent(s: Session, talent: Talent, today: date | None = None) -> list[ConflictView]:
    """The organisations a talent is kept away from, and why — the same reasons the lists show (their own
    relations in force, and their units' founding or shares), for the talent's own page and officials."""
    today = today or date.today()
    own = list(s.execute(select(Relation, Organisation).join(Organisation, Organisation.id == Relation.organisation_id)
                         .where(Relation.subject_kind == SubjectKind.TALENT, Relation.subject_id == talent.id))
               )
    out: dict[int, ConflictView] = {}
    for r, o in sorted(own, key=lambda x: (rank_of(x[0].kind), x[0].id)):
        if in_force(r.kind, r.ended_on, today) and o.id not in out:
            out[o.id] = ConflictView(organisation_id=o.id, organisation=o.name, enterprise_id=o.enterprise_id,
                                     reason=own_reason(r.kind))
    units = {o.id: o for r, o in own if r.kind == RelationKind.EMPLOYED and in_force(r.kind, r.ended_on, today)}
    key = normalise(talent.affiliation or "")
    home = _by_name(s, key) if key else None
    if home is not None:
        units.setdefault(home.id, home)
    if units:
        held = s.execute(select(Relation, Organisation).join(Organisation, Organisation.id == Relation.organisation_id)
                         .where(Relation.subject_kind == SubjectKind.ORGANISATION,
                                Relation.subject_id.in_(list(units)),
                                Relation.kind.in_(list(ORGANISATION_KINDS))))
        for r, o in sorted(held, key=lambda x: (rank_of(x[0].kind), x[0].id)):
            if in_force(r.kind, r.ended_on, today) and o.id not in out:
                out[o.id] = ConflictView(organisation_id=o.id, organisation=o.name, enterprise_id=o.enterprise_id,
                                         reason=organisation_reason(r.kind, units[r.subject_id].name))
    return list(out.values())


# ------------------------------------------------------------------ who may declare what
def _check_subject(s: Session, actor: Actor, kind: str, subject_id: int) -> None:
    """The subject exists and ``actor`` may read and change its relations (module docstring)."""
    if kind == SubjectKind.TALENT:
        if not (actor.role in (Role.OFFICIAL, Role.ADMIN)
                or (actor.role == Role.TALENT and actor.talent_id == subject_id)):
            raise Forbidden("a talent's relations are declared by the talent or an official")
        if s.get(Talent, subject_id) is None:
            raise NotFound(f"talent {subject_id} not found", field="talent_id")
    elif kind == SubjectKind.INTERMEDIARY:
        if not (actor.role in (Role.OFFICIAL, Role.ADMIN)
                or (actor.role == Role.INTERMEDIARY and actor.intermediary_id == subject_id)):
            raise Forbidden("an intermediary's relations are declared by its own users or an official")
        if s.get(Intermediary, subject_id) is None:
            raise NotFound(f"intermediary {subject_id} not found", field="intermediary_id")
    elif kind == SubjectKind.USER:
        if actor.user_id is None or (actor.user_id != subject_id and actor.role != Role.ADMIN):
            raise Forbidden("an account's own relations are declared by that account")
    elif kind == SubjectKind.ORGANISATION:
        require(actor, Role.OFFICIAL, Role.ADMIN)
        if s.get(Organisation, subject_id) is None:
            raise NotFound(f"organisation {subject_id} not found", field="organisation_id")
    else:
        raise Invalid(f"unknown subject kind '{kind}'", field="subject_kind")


def my_subject(actor: Actor) -> tuple[str, int]:
    """Whose relations ``/me/relations`` are: a talent's record, an intermediary user's intermediary, an
    official's (or admin's) own account. Enterprises declare none (their relations are the others')."""
    if actor.role == Role.TALENT and actor.talent_id is not None:
        return SubjectKind.TALENT.value, actor.talent_id
    if actor.role == Role.INTERMEDIARY and actor.intermediary_id is not None:
        return SubjectKind.INTERMEDIARY.value, actor.intermediary_id
    if actor.role in (Role.OFFICIAL, Role.ADMIN) and actor.user_id is not None:
        return SubjectKind.USER.value, actor.user_id
    raise Forbidden(f"accounts of role '{actor.role}' declare no relations of their own")


def _snapshot(r: Relation, org: Organisation) -> dict[str, Any]:
    """What the audit keeps: a talent's note may hold personal data (a family member), so only that one
    was written."""
    note = ("（已填写）" if r.note else "") if r.subject_kind == SubjectKind.TALENT else r.note
    return {"subject_kind": r.subject_kind, "subject_id": r.subject_id, "organisation_id": org.id,
            "organisation": org.name, "kind": r.kind, "started_on": r.started_on.isoformat() if r.started_on else None,
            "ended_on": r.ended_on.isoformat() if r.ended_on else None, "note": note}


# ------------------------------------------------------------------ relations
def list_relations(db: Database, actor: Actor, subject_kind: str, subject_id: int) -> list[RelationView]:
    today = date.today()
    with db.session() as s:
        _check_subject(s, actor, subject_kind, subject_id)
        rows = s.execute(select(Relation, Organisation).join(Organisation, Organisation.id == Relation.organisation_id)
                         .where(Relation.subject_kind == subject_kind, Relation.subject_id == subject_id)
                         .order_by(Relation.id))
        return [_relation_view(r, o, today) for r, o in rows]


def declare(db: Database, actor: Actor, subject_kind: str, subject_id: int, spec: RelationSpec) -> RelationView:
    """Record a relation (422 naming the field for a missing organisation, an unknown kind, an end before the
    start; 409 for the same relation declared twice). It takes effect on the next list: the lists and
    rounds read the relations per demand."""
    organisation_level = subject_kind == SubjectKind.ORGANISATION
    check_relation(spec.kind, spec.started_on, spec.ended_on, organisation_level)
    with db.session() as s:
        _check_subject(s, actor, subject_kind, subject_id)
        if subject_kind == SubjectKind.TALENT:
            t = s.get(Talent, subject_id)
            if t is not None and t.withdrawn_at is not None:
                raise Conflict(f"talent {subject_id} has withdrawn", field="talent_id")
        org = resolve(s, actor, spec, OrganisationKind.ENTERPRISE if organisation_level else OrganisationKind.OTHER)
        if organisation_level and org.id == subject_id:
            raise Invalid("an organisation holds no relation to itself", field="organisation")
        same = s.scalar(select(Relation.id).where(
            Relation.subject_kind == subject_kind, Relation.subject_id == subject_id,
            Relation.organisation_id == org.id, Relation.kind == spec.kind,
            Relation.started_on.is_(None) if spec.started_on is None else Relation.started_on == spec.started_on,
            Relation.ended_on.is_(None) if spec.ended_on is None else Relation.ended_on == spec.ended_on))
        if same is not None:
            raise Conflict(f"this relation is declared already (relation {same})", field="kind")
        r = Relation(subject_kind=subject_kind, subject_id=subject_id, organisation_id=org.id, kind=spec.kind,
                     started_on=spec.started_on, ended_on=spec.ended_on, note=spec.note.strip(),
                     declared_by=actor.user_id)
        s.add(r)
        s.flush()
        record(s, action="relation_declare", entity="relation", entity_id=r.id, actor_user_id=actor.user_id,
               actor_role=actor.role, after=_snapshot(r, org))
        return _relation_view(r, org, date.today())


def delete_relation(db: Database, actor: Actor, relation_id: int, mine: bool = False) -> RelationView:
    """Remove a relation the caller may manage (``mine``: only the caller's own, ``/me``). Someone else's
    relation answers 404, as a missing one does."""
    with db.session() as s:
        r = s.get(Relation, relation_id)
        if r is not None and mine and (r.subject_kind, r.subject_id) != my_subject(actor):
            r = None
        if r is not None:
            try:
                _check_subject(s, actor, r.subject_kind, r.subject_id)
            except (Forbidden, NotFound):
                r = None
        if r is None:
            raise NotFound(f"relation {relation_id} not found", field="relation_id")
        org = s.get(Organisation, r.organisation_id)
        assert org is not None
        view = _relation_view(r, org, date.today())
        record(s, action="relation_delete", entity="relation", entity_id=r.id, actor_user_id=actor.user_id,
               actor_role=actor.role, before=_snapshot(r, org))
        s.delete(r)
        return view


def list_mine(db: Database, actor: Actor) -> list[RelationView]:
    return list_relations(db, actor, *my_subject(actor))


def declare_mine(db: Database, actor: Actor, spec: RelationSpec) -> RelationView:
    return declare(db, actor, *my_subject(actor), spec)


def talent_conflicts_view(db: Database, actor: Actor, talent_id: int | None = None) -> list[ConflictView]:
    """What a talent is kept away from: their own (``talent_id`` None, role talent) or any talent's
    (officials and admins)."""
    if talent_id is None and actor.role != Role.TALENT:
        raise Forbidden("this list is a talent's own; officials read /talents/{id}/conflicts")
    with db.session() as s:
        tid = talent_id if talent_id is not None else my_subject(actor)[1]
        _check_subject(s, actor, SubjectKind.TALENT, tid)
        t = s.get(Talent, tid)
        assert t is not None
        return conflicts_of_talent(s, t)


# ------------------------------------------------------------------ organisations and aliases
def list_organisations(db: Database, actor: Actor, q: str | None = None, kind: str | None = None,
                       limit: int = 50, offset: int = 0) -> tuple[list[OrganisationView], int]:
    """Officials and admins: the organisations, found by any of their names (normalised, so ``太原 理工``
    finds 太原理工大学) or their credit code."""
    require(actor, Role.OFFICIAL, Role.ADMIN)
    stmt = select(Organisation)
    key = normalise(q or "")
    if key:
        stmt = stmt.where(or_(Organisation.id.in_(select(OrganisationAlias.organisation_id)
                                                  .where(OrganisationAlias.alias.contains(key))),
                              Organisation.credit_code == key.upper()))
    if kind:
        stmt = stmt.where(Organisation.kind == kind)
    with db.session() as s:
        total = s.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        rows = list(s.scalars(stmt.order_by(Organisation.id).limit(limit).offset(offset)))
        return _org_views(s, rows), total


def _organisation(s: Session, org_id: int) -> Organisation:
    o = s.get(Organisation, org_id)
    if o is None:
        raise NotFound(f"organisation {org_id} not found", field="organisation_id")
    return o


def get_organisation(db: Database, actor: Actor, org_id: int) -> OrganisationView:
    require(actor, Role.OFFICIAL, Role.ADMIN)
    with db.session() as s:
        return _org_views(s, [_organisation(s, org_id)])[0]


def create_organisation(db: Database, actor: Actor, name: str, credit_code: str | None = None,
                        kind: str = OrganisationKind.OTHER, enterprise_id: int | None = None) -> OrganisationView:
    """Record an organisation (officials and admins); 409 naming the one that already has this name (or one of
    its aliases), credit code or enterprise."""
    require(actor, Role.OFFICIAL, Role.ADMIN)
    if kind not in ORGANISATION_LABELS:
        raise Invalid(f"unknown organisation kind '{kind}' (one of {', '.join(OrganisationKind)})", field="kind")
    name = name.strip()
    key = checked_name(name, "name")
    code = _credit_code(credit_code)
    with db.session() as s:
        if enterprise_id is not None:
            ent = s.get(Enterprise, enterprise_id)
            if ent is None:
                raise Invalid(f"no enterprise {enterprise_id}", field="enterprise_id")
            other = s.scalar(select(Organisation).where(Organisation.enterprise_id == enterprise_id))
            if other is not None:
                raise Conflict(f"enterprise {enterprise_id} is organisation {other.id} ({other.name}) already",
                               field="enterprise_id")
        found = _by_name(s, key)
        if found is not None:
            raise Conflict(f"'{name}' names organisation {found.id} ({found.name}) already", field="name")
        if code is not None:
            other = s.scalar(select(Organisation).where(Organisation.credit_code == code))
            if other is not None:
                raise Conflict(f"credit code {code} is organisation {other.id}'s ({other.name})", field="credit_code")
        o = _create(s, actor, name, kind, code, enterprise_id)
        return _org_views(s, [o])[0]


def add_alias(db: Database, actor: Actor, org_id: int, alias: str, merge: bool = False) -> OrganisationView:
    """Another name of the organisation (officials and admins), stored normalised. A name that already
    names another organisation is refused (409 naming it) — unless ``merge``: then the two are one
    institution, and the other's relations and names move here (its enterprise link and credit code too,
    when this one has none; two different enterprises or codes are never merged)."""
    require(actor, Role.OFFICIAL, Role.ADMIN)
    key = checked_name(alias, "alias")
    with db.session() as s:
        o = _organisation(s, org_id)
        other = _by_name(s, key)
        if other is not None and other.id != o.id:
            if not merge:
                raise Conflict(f"'{alias}' names organisation {other.id} ({other.name}); send merge=true if they "
                               "are one institution", field="alias")
            _merge(s, actor, keep=o, gone=other)
        if s.scalar(select(OrganisationAlias.id).where(OrganisationAlias.alias == key)) is None:
            new = insert_unless_exists(s, OrganisationAlias, {"organisation_id": o.id, "alias": key,
                                                              "created_by": actor.user_id})
            if new is None:
                raise Conflict(f"'{alias}' was given to another organisation a moment ago", field="alias")
            record(s, action="alias_add", entity="organisation", entity_id=o.id, actor_user_id=actor.user_id,
                   actor_role=actor.role, after={"alias": key})
        return _org_views(s, [o])[0]


def _merge(s: Session, actor: Actor, keep: Organisation, gone: Organisation) -> None:
    for column in ("enterprise_id", "credit_code"):
        a, b = getattr(keep, column), getattr(gone, column)
        if a is not None and b is not None and a != b:
            raise Conflict(f"organisations {keep.id} and {gone.id} have different {column}s ({a}, {b}): two "
                           "registrations are never one institution", field="alias")
    carried = {c: getattr(gone, c) for c in ("enterprise_id", "credit_code") if getattr(keep, c) is None}
    before = {"kept": keep.id, "merged": gone.id, "merged_name": gone.name}
    s.execute(update(Relation).where(Relation.organisation_id == gone.id).values(organisation_id=keep.id))
    s.execute(update(Relation).where(Relation.subject_kind == SubjectKind.ORGANISATION,
                                     Relation.subject_id == gone.id).values(subject_id=keep.id))
    s.execute(delete(Relation).where(Relation.subject_kind == SubjectKind.ORGANISATION,
                                     Relation.subject_id == keep.id, Relation.organisation_id == keep.id))
    s.execute(update(OrganisationAlias).where(OrganisationAlias.organisation_id == gone.id)
              .values(organisation_id=keep.id))
    own = normalise(gone.name)
    if s.scalar(select(OrganisationAlias.id).where(OrganisationAlias.alias == own)) is None:
        s.add(OrganisationAlias(organisation_id=keep.id, alias=own, created_by=actor.user_id))
    s.delete(gone)
    s.flush()  # the unique enterprise link and code are free before the kept one takes them
    for column, value in carried.items():
        setattr(keep, column, value)
    if carried.get("enterprise_id") is not None:
        keep.kind = OrganisationKind.ENTERPRISE
    s.flush()
    s.expire_all()
    record(s, action="organisation_merge", entity="organisation", entity_id=keep.id, actor_user_id=actor.user_id,
           actor_role=actor.role, before=before, after={"carried": carried})


def remove_alias(db: Database, actor: Actor, org_id: int, alias_id: int) -> OrganisationView:
    require(actor, Role.OFFICIAL, Role.ADMIN)
    with db.session() as s:
        o = _organisation(s, org_id)
        a = s.get(OrganisationAlias, alias_id)
        if a is None or a.organisation_id != o.id:
            raise NotFound(f"alias {alias_id} of organisation {org_id} not found", field="alias_id")
        if a.alias == normalise(o.name):
            raise Conflict("an organisation's own name is not removed as an alias", field="alias_id")
        record(s, action="alias_remove", entity="organisation", entity_id=o.id, actor_user_id=actor.user_id,
               actor_role=actor.role, before={"alias": a.alias})
        s.delete(a)
        s.flush()
        return _org_views(s, [o])[0]
