"""A talent's own record and rights (role ``talent``): see everything held, correct it, give or withdraw
consent, download it all, read who saw the contact data, answer proposals, and withdraw.

Why here and not in the routes: the API (``/api/v1/me``) and the console page (``/console/me``) are two
doors to the same rules, and every action is audited in the same transaction as the change.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from matcher.domain import modes
from matcher.domain import talent as talent_fields
from matcher.domain.privacy import LABELS, PSEUDONYM, ConsentState, Purpose, consent_text, consent_version
from matcher.domain.vocabulary import MatchStatus, Role
from matcher.domain.workflow import MATCH_TRANSITIONS
from matcher.engine.explain import STOPWORDS, sentences_of
from matcher.engine.pool import TalentPool
from matcher.errors import Conflict, Invalid, NotFound
from matcher.services.access import Actor, proposable_ids, require, talent_view
from matcher.services.audit import record
from matcher.services.engagements import agreements
from matcher.services.files.exporting import safe_cell
from matcher.services.learning.decisions import record_decision
from matcher.services.people import erasure
from matcher.services.pool.facts import ready, refresh_talents, same_person_map
from matcher.services.workflow.transitions import change_state
from matcher.storage.db import Database
from matcher.storage.models import (
    AuditEvent,
    Consent,
    Demand,
    Enterprise,
    Invitation,
    Match,
    Organisation,
    PersonalDataAccess,
    Relation,
    Talent,
    iso,
)
from matcher.views import AccessLogView, ConsentView, MyExportView, MyProposalView, MyRecordView

#: What a talent may correct themselves (``domain/talent.py``): name, affiliation and title come from the
#: office's lists and are corrected by an official (a talent cannot make themselves a 正高 to pass the
#: 科技副总 rule).
EDITABLE = talent_fields.SELF_EDITABLE
#: Fields whose values the audit trail never copies (only that they changed): personal data, which
#: withdrawal erases — an append-only audit must not keep what the talent may ask to have erased.
PRIVATE = talent_fields.PERSONAL
#: Matches the talent can still answer (the contact stage) and those shown to them at all.
ANSWERABLE = (MatchStatus.SHORTLISTED.value, MatchStatus.REJECTED.value, MatchStatus.RETURNED.value)


def _mine(s: Session, actor: Actor) -> Talent:
    require(actor, Role.TALENT)
    t = s.get(Talent, actor.talent_id) if actor.talent_id else None
    if t is None:
        raise NotFound("this account has no talent record", field="talent_id")
    return t


def _consents(s: Session, t: Talent) -> list[ConsentView]:
    last: dict[str, Consent] = {}
    for row in s.scalars(select(Consent).where(Consent.talent_id == t.id).order_by(Consent.id)):
        last[row.purpose] = row
    out = []
    for purpose, state in ((Purpose.PROPOSE, t.consent_propose), (Purpose.CONTACT, t.consent_contact)):
        c = last.get(purpose)
        given = c.text_version if c else None
        current = consent_version()
        renew = (purpose == Purpose.PROPOSE and state == ConsentState.GRANTED
                 and t.consent_propose_version != current)
        out.append(ConsentView(purpose=purpose.value, label=LABELS[purpose], state=state, at=iso(c.at) if c else None,
                               text=consent_text(purpose, current), text_version=given or current,
                               current_version=current, needs_renewal=renew))
    return out


def _record_view(s: Session, actor: Actor, t: Talent, pool: TalentPool | None) -> MyRecordView:
    text = t.embedding_text()
    live = ready(pool)
    phrases = live.lexical.key_phrases(text, stop=STOPWORDS) if live is not None else []
    return MyRecordView(talent=talent_view(s, actor, t, contact=True), withdrawn=t.withdrawn_at is not None,
                        withdrawn_at=iso(t.withdrawn_at), consents=_consents(s, t),
                        in_pool=t.id in proposable_ids(s, [t.id]), key_phrases=phrases, sentences=sentences_of(text))


def get_record(db: Database, actor: Actor, pool: TalentPool | None = None) -> MyRecordView:
    with db.session() as s:
        return _record_view(s, actor, _mine(s, actor), pool)


def _snapshot(t: Talent) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in EDITABLE:
        v = getattr(t, f)
        out[f] = v.isoformat() if isinstance(v, date) else v
    return out


def _audit_values(values: dict[str, Any]) -> dict[str, Any]:
    return {k: ("（已修改）" if k in PRIVATE else v) for k, v in values.items()}


def _check(values: dict[str, Any]) -> None:
    """Rules across fields (each field's own bounds are checked by the request model)."""
    start, end = values.get("available_from"), values.get("available_until")
    if start and end and end < start:
        raise Invalid("available_until must not be before available_from", field="available_until")
    unknown = {m for m in values.get("mode_capacity") or {} if not modes.is_mode(m)}
    if unknown:
        raise Invalid(f"unknown engagement mode(s): {', '.join(sorted(unknown))}", field="mode_capacity")


def update(db: Database, pool: TalentPool | None, actor: Actor, changes: dict[str, Any]) -> MyRecordView:
    """Correct one's own record; the pool re-reads it at once (this process) and through the change feed
    (the others), so the next proposal list ranks the corrected profile."""
    bad = set(changes) - set(EDITABLE)
    if bad:
        raise Invalid(f"not editable by the talent: {', '.join(sorted(bad))}", field=sorted(bad)[0])
    with db.session() as s:
        t = _mine(s, actor)
        if t.withdrawn_at is not None:
            raise Conflict("this record was withdrawn and can no longer be edited", field="withdrawn_at")
        before = _snapshot(t)
        _check({**before, **{k: v.isoformat() if isinstance(v, date) else v for k, v in changes.items()}})
        for k, v in changes.items():
            setattr(t, k, v)
        s.flush()
        after = _snapshot(t)
        changed = {k: after[k] for k in after if after[k] != before[k]}
        if changed:  # an import keeps these unless its row says to replace them (services/files/importing.py)
            now = datetime.now(UTC).isoformat()
            t.self_corrected = {**(t.self_corrected or {}), **{k: now for k in changed}}
            record(s, action="talent_edit", entity="talent", entity_id=t.id, actor_user_id=actor.user_id,
                   actor_role=actor.role, before=_audit_values({k: before[k] for k in changed}),
                   after=_audit_values(changed))
            refresh_talents(s, pool, [t.id])
        return _record_view(s, actor, t, pool)


def _set_consent(s: Session, records: list[Talent], purpose: str, granted: bool, actor: Actor) -> None:
    """One person's consent, on each of their records (the first is the one the account is on): a history
    row per record, one audit event for the change."""
    state = ConsentState.GRANTED if granted else ConsentState.WITHDRAWN
    column = "consent_propose" if purpose == Purpose.PROPOSE else "consent_contact"
    before = getattr(records[0], column)
    version = consent_version()
    for t in records:
        setattr(t, column, state.value)
        if purpose == Purpose.PROPOSE:  # the modes this consent covers are the ones its text names
            t.consent_propose_version = version if granted else None
        s.add(Consent(talent_id=t.id, purpose=purpose, granted=granted, text_version=version,
                      actor_user_id=actor.user_id))
    after: dict[str, Any] = {column: state.value, "text_version": version}
    if len(records) > 1:
        after["merged_records"] = [t.id for t in records[1:]]
    record(s, action="consent", entity="talent", entity_id=records[0].id, actor_user_id=actor.user_id,
           actor_role=actor.role, before={column: before}, after=after)


def set_consent(db: Database, pool: TalentPool | None, actor: Actor, purpose: str, granted: bool) -> MyRecordView:
    """Give or withdraw one consent. Withdrawing ``propose`` takes the talent out of every process's pool
    at once (this one now, the others at their next read of the change feed)."""
    if purpose not in (Purpose.PROPOSE, Purpose.CONTACT):
        raise Invalid("purpose must be 'propose' or 'contact'", field="purpose")
    with db.session() as s:
        t = _mine(s, actor)
        if t.withdrawn_at is not None:
            raise Conflict("this record was withdrawn; consent can no longer be given", field="withdrawn_at")
        records = erasure.related_records(s, t.id)  # one person: every record merged with this one
        _set_consent(s, records, purpose, granted, actor)
        s.flush()
        refresh_talents(s, pool, [r.id for r in records])
        return _record_view(s, actor, t, pool)


def access_log(db: Database, actor: Actor) -> list[AccessLogView]:
    with db.session() as s:
        t = _mine(s, actor)
        return _access_log(s, t.id)


def _access_log(s: Session, talent_id: int) -> list[AccessLogView]:
    rows = s.execute(select(PersonalDataAccess, Demand.title)
                     .outerjoin(Demand, Demand.id == PersonalDataAccess.demand_id)
                     .where(PersonalDataAccess.talent_id == talent_id).order_by(PersonalDataAccess.id.desc()))
    return [AccessLogView(at=iso(a.at), action=a.action, action_label=LABELS.get(a.action, a.action),
                          actor_role=a.actor_role, actor_name=a.actor_name, demand_id=a.demand_id, demand_title=title)
            for a, title in rows]


def proposals(db: Database, actor: Actor) -> list[MyProposalView]:
    """Proposals of this talent that reached the contact stage (an intermediary shortlisted them)."""
    with db.session() as s:
        t = _mine(s, actor)
        return _proposals(s, t.id)


def _proposals(s: Session, talent_id: int) -> list[MyProposalView]:
    rows = s.execute(select(Match, Demand, Enterprise.name).join(Demand, Demand.id == Match.demand_id)
                     .outerjoin(Enterprise, Enterprise.id == Demand.enterprise_id)
                     .where(Match.talent_id == talent_id).order_by(Match.id.desc()))
    out = []
    for m, d, ent in rows:
        log = m.contact_log or {}
        answer = log.get("answer") or "pending"
        out.append(MyProposalView(
            match_id=m.id, demand_id=d.id, demand_title=d.title, demand_description=d.description, enterprise=ent,
            city=d.city, mode=m.mode, status=m.status,
            answer=answer if answer in ("accepted", "declined") else "pending",
            answered_by=log.get("answered_by"),
            can_answer=m.status in ANSWERABLE and answer not in ("accepted", "declined"),
            updated_at=iso(m.updated_at)))
    return out


def answer(db: Database, actor: Actor, match_id: int, reply: str, note: str = "") -> MyProposalView:
    """The talent's own answer to a proposal at the contact stage; the intermediary sees it in the match's
    contact log (``answered_by: talent``), and a decline removes the talent from that demand's lists."""
    if reply not in ("accepted", "declined"):
        raise Invalid("answer must be 'accepted' or 'declined'", field="answer")
    with db.session() as s:
        t = _mine(s, actor)
        m = s.get(Match, match_id)
        if m is None or m.talent_id != t.id:
            raise NotFound(f"proposal {match_id} not found", field="match_id")
        log = dict(m.contact_log or {"attempts": [], "answer": "pending"})
        if log.get("answer") in ("accepted", "declined"):
            raise Conflict(f"this proposal was already answered ({log['answer']})", field="answer")
        before = dict(log)
        log.update(answer=reply, answered_by="talent", answered_at=datetime.now(UTC).isoformat())
        if note:
            log["attempts"] = [*log.get("attempts", []), {"at": log["answered_at"], "note": f"人才留言：{note}"}]
        change_state(s, Match, m.id, MATCH_TRANSITIONS, "answer", actor.role, m.status, {"contact_log": log},
                     extra_where=[Match.updated_at == m.updated_at])
        record(s, action="answer", entity="match", entity_id=m.id, actor_user_id=actor.user_id, actor_role=actor.role,
               before=before, after=log)
        record_decision(s, f"contact_{reply}", m.demand_id, m.talent_id, m.mode, actor.user_id)
        s.flush()
        s.refresh(m)  # the update went to the row directly; read it back
        return next(p for p in _proposals(s, t.id) if p.match_id == m.id)


def export_data(db: Database, actor: Actor) -> MyExportView:
    """Everything held about the signed-in talent (PIPL art. 45): the record with contact data, consents
    and their history, invitations, proposals and answers, the access log and the audit trail of the
    record. The download itself is audited."""
    with db.session() as s:
        t = _mine(s, actor)
        record(s, action="self_export", entity="talent", entity_id=t.id, actor_user_id=actor.user_id,
               actor_role=actor.role)
        return _export(s, actor, t)


def _export(s: Session, actor: Actor, t: Talent) -> MyExportView:
    columns = [c.name for c in Talent.__table__.columns]
    talent = {c: _plain(getattr(t, c)) for c in columns}
    consents = [{"purpose": c.purpose, "granted": c.granted, "text_version": c.text_version, "at": iso(c.at)}
                for c in s.scalars(select(Consent).where(Consent.talent_id == t.id).order_by(Consent.id))]
    invitations = [{"created_at": iso(i.created_at), "expires_at": iso(i.expires_at), "used_at": iso(i.used_at)}
                   for i in s.scalars(select(Invitation).where(Invitation.talent_id == t.id).order_by(Invitation.id))]
    match_ids = [str(i) for i in s.scalars(select(Match.id).where(Match.talent_id == t.id))]
    relations = [{"kind": r.kind, "organisation": name, "started_on": _plain(r.started_on),
                  "ended_on": _plain(r.ended_on), "note": r.note, "declared_at": iso(r.created_at)}
                 for r, name in s.execute(select(Relation, Organisation.name)
                                          .join(Organisation, Organisation.id == Relation.organisation_id)
                                          .where(Relation.subject_kind == "talent", Relation.subject_id == t.id)
                                          .order_by(Relation.id))]
    audit = [{"at": iso(e.at), "action": e.action, "entity": e.entity, "entity_id": e.entity_id,
              "actor_role": e.actor_role, "before": e.before, "after": e.after}
             for e in s.scalars(select(AuditEvent).where(or_(
                 (AuditEvent.entity == "talent") & (AuditEvent.entity_id == str(t.id)),
                 (AuditEvent.entity == "match") & (AuditEvent.entity_id.in_(match_ids)))).order_by(AuditEvent.id))]
    return MyExportView(
        exported_at=datetime.now(UTC).isoformat(), talent=talent, consents=consents,
        consent_texts={p.value: {"version": consent_version(), "text": consent_text(p)} for p in Purpose},
        invitations=invitations, proposals=_proposals(s, t.id), access_log=_access_log(s, t.id), audit=audit,
        relations=relations)


def _plain(v: Any) -> Any:
    return v.isoformat() if isinstance(v, (date, datetime)) else v


def export_xlsx(db: Database, actor: Actor, path: Path) -> None:
    """The same data as ``export_data``, one sheet per part (lists and objects as JSON text in a cell)."""
    data = export_data(db, actor).model_dump()
    wb = Workbook(write_only=True)
    sheets: dict[str, pd.DataFrame] = {
        "talent": pd.DataFrame([{"field": k, "value": v} for k, v in data["talent"].items()]),
        "consents": pd.DataFrame(data["consents"]),
        "consent_texts": pd.DataFrame([{"purpose": k, **v} for k, v in data["consent_texts"].items()]),
        "invitations": pd.DataFrame(data["invitations"]),
        "proposals": pd.DataFrame(data["proposals"]),
        "access_log": pd.DataFrame(data["access_log"]),
        "audit": pd.DataFrame(data["audit"]),
        "relations": pd.DataFrame(data["relations"]),
    }
    for name, frame in sheets.items():
        ws = wb.create_sheet(name)
        ws.append([safe_cell(ws, str(c)) for c in frame.columns])
        for row in frame.itertuples(index=False):
            ws.append([safe_cell(ws, _cell(v)) for v in row])
    wb.save(path)


def _cell(v: Any) -> Any:
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False)
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return None
    return v


def withdraw(db: Database, pool: TalentPool | None, actor: Actor) -> MyRecordView:
    """Withdraw from the platform (PIPL art. 47): both consents withdrawn, out of every pool, every copy of
    the person's data erased or pseudonymised (``services/people/erasure.py``): the record and the records
    merged into it, quotes in match explanations, contact notes, the audit trail's values, the account's
    name, the learner's decision events, the cached vectors. What stays is what docs/privacy.md lists under
    "Retention": the ids, the categories (sector, title level, institution type), the office's list number,
    and the matches with their review history, which refer to the id. The other record of an open
    duplicate pair leaves the pool too until an official decides the pair (the same person may have left)."""
    with db.session() as s:
        t = _mine(s, actor)
        if t.withdrawn_at is not None:
            raise Conflict("this record was already withdrawn", field="withdrawn_at")
        records = erasure.related_records(s, t.id)
        for purpose in Purpose:
            _set_consent(s, records, purpose, False, actor)
        for r in records:
            r.withdrawn_at = datetime.now(UTC)
        counts = erasure.erase(s, records, PSEUDONYM.format(id=t.id),
                               embedder=live.embedder if (live := ready(pool)) is not None else None)
        counts["engagements_ended"] = agreements.close_for_withdrawn_talents(s, actor, [r.id for r in records])
        record(s, action="talent_withdraw", entity="talent", entity_id=t.id, actor_user_id=actor.user_id,
               actor_role=actor.role, after={"withdrawn_at": t.withdrawn_at.isoformat() if t.withdrawn_at else None,
                                             "pseudonym": t.name, "erased": counts})
        s.flush()
        twins = {i for r in records for i in same_person_map(s, [r.id]).get(r.id, ())}
        refresh_talents(s, pool, [r.id for r in records] + sorted(twins))
        return _record_view(s, actor, t, pool)
