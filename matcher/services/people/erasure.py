"""What a withdrawal erases, everywhere a copy of the person may sit (PIPL art. 47; docs/privacy.md).

The record itself loses every personal field (``domain/talent.PERSONAL``) and its name becomes a pseudonym;
so do the records merged into it (the same person). Copies elsewhere are found by the person's own
strings — name, phone, e-mail — and their profile's quotes:
- matches: the explanation's quotes of the profile (``talent_phrases``, the aligned sentence) are
  dropped; contact notes, plans, reasons and outcome texts have the strings replaced;
- the audit trail: events about the record, its matches, its duplicate pairs and its account have the
  strings replaced and the values of personal fields replaced by a marker (the one documented change
  to that append-only log: what it must keep is who did what to which id, not the person's details);
- the talent's account: its display name becomes the pseudonym;
- decision events (the learner's data about the person) are deleted;
- declared relations (conflicts of interest: where a family member works, shares held) are deleted — a
  withdrawn person is never proposed, so there is nothing left for them to guard; their audit events keep
  who declared what to which organisation id, with the person's strings replaced;
- engagements: service entries' tasks, assessment comments, grades' evidence, the reasons of agreement
  changes and early ends have the strings replaced (an agreement never confirmed by every party is rendered
  again under the pseudonym and, still awaiting, ended: ``engagements/agreements.close_for_withdrawn_talents``;
  a confirmed agreement is a contract's record and is kept as signed);
- the vector cache: the vectors of the profile and its sentences are deleted.
What is kept, and why, is listed in docs/privacy.md ("Retention").
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from matcher.domain import talent as talent_fields
from matcher.engine.embedding import CachedEmbedder
from matcher.engine.explain import sentences_of
from matcher.storage.models import (
    Agreement,
    Assessment,
    AuditEvent,
    DecisionEvent,
    DuplicatePair,
    Engagement,
    EngagementGrade,
    Match,
    MatchMember,
    Relation,
    ServiceRecord,
    Talent,
    User,
)

#: What replaces a personal value in the audit trail and a person's strings in free text.
ERASED = "（已删除）"


def scrub(value: Any, needles: tuple[str, ...]) -> Any:
    """``value`` with every occurrence of the needles replaced, through nested lists and dicts."""
    if isinstance(value, str):
        for n in needles:
            value = value.replace(n, ERASED)
        return value
    if isinstance(value, list):
        return [scrub(v, needles) for v in value]
    if isinstance(value, dict):
        return {k: scrub(v, needles) for k, v in value.items()}
    return value


def _audit_values(values: dict[str, Any] | None, needles: tuple[str, ...]) -> dict[str, Any] | None:
    if values is None:
        return None
    return {k: (ERASED if k in talent_fields.PERSONAL and k != "name" and v not in ("", None, [], {})
                else scrub(v, needles)) for k, v in values.items()}


def related_records(session: Session, talent_id: int) -> list[Talent]:
    """The record first, then every record an official merged with it — the record it was merged into and
    the records merged into either, directly or through another (one person, whichever account acts)."""
    found: dict[int, Talent] = {}
    todo = [talent_id]
    while todo:
        tid = todo.pop()
        t = session.get(Talent, tid)
        if t is None or t.id in found:
            continue
        found[t.id] = t
        todo += list(session.scalars(select(Talent.id).where(Talent.merged_into_id == t.id)))
        if t.merged_into_id is not None:
            todo.append(t.merged_into_id)
    return list(found.values())


def erase(session: Session, records: Iterable[Talent], pseudonym: str,
          embedder: CachedEmbedder | None = None) -> dict[str, int]:
    """Erase the people in ``records`` (one person's records) in the caller's transaction; returns counts."""
    records = list(records)
    ids = [t.id for t in records]
    needles = tuple(sorted({s for t in records for s in (t.name, t.phone, t.email) if s and len(s) >= 2},
                           key=len, reverse=True))
    texts = [t.embedding_text() for t in records]
    counts = {"records": len(records), "matches": 0, "engagements": 0, "audit_events": 0, "decision_events": 0,
              "vectors": 0, "relations": 0}
    for t in records:
        for f in talent_fields.FIELDS:
            if f.personal:
                setattr(t, f.name, f.empty())
        t.name = pseudonym if t.id == records[0].id else f"{pseudonym}（合并记录#{t.id}）"
    # the matches they lead and those whose team they are a member of (a plan may name every member)
    matches = list(session.scalars(select(Match).where(or_(
        Match.talent_id.in_(ids), Match.id.in_(select(MatchMember.match_id).where(MatchMember.talent_id.in_(ids)))))))
    for m in matches:
        explanation = {k: v for k, v in (m.explanation or {}).items() if k not in ("talent_phrases", "aligned")}
        m.explanation = scrub(explanation, needles)
        m.contact_log = scrub(m.contact_log or {}, needles)
        m.plan, m.review_reason, m.outcome_text = (scrub(x, needles) for x in (m.plan, m.review_reason,
                                                                                 m.outcome_text))
    counts["matches"] = len(matches)
    engagements = list(session.scalars(select(Engagement).where(Engagement.match_id.in_([m.id for m in matches]))))
    engagement_ids = [x.id for x in engagements]
    for x in engagements:
        x.end_reason = scrub(x.end_reason, needles)
    for row, text_field in ((ServiceRecord, "tasks"), (Assessment, "comment"), (EngagementGrade, "evidence"),
                            (Agreement, "change_reason")):
        for item in session.scalars(select(row).where(row.engagement_id.in_(engagement_ids))):
            setattr(item, text_field, scrub(getattr(item, text_field), needles))
    counts["engagements"] = len(engagements)
    users = list(session.scalars(select(User).where(User.talent_id.in_(ids))))
    for u in users:
        u.display_name = pseudonym
    pairs = [str(p) for p in session.scalars(select(DuplicatePair.id).where(
        or_(DuplicatePair.a_id.in_(ids), DuplicatePair.b_id.in_(ids))))]
    for p in session.scalars(select(DuplicatePair).where(or_(DuplicatePair.a_id.in_(ids),
                                                             DuplicatePair.b_id.in_(ids)))):
        p.evidence = scrub(p.evidence or {}, needles)
    relations = [str(r) for r in session.scalars(select(Relation.id).where(
        Relation.subject_kind == "talent", Relation.subject_id.in_(ids)))]
    about = or_(
        (AuditEvent.entity == "talent") & AuditEvent.entity_id.in_([str(i) for i in ids]),
        (AuditEvent.entity == "relation") & AuditEvent.entity_id.in_(relations),
        (AuditEvent.entity == "match") & AuditEvent.entity_id.in_([str(m.id) for m in matches]),
        (AuditEvent.entity == "duplicate_pair") & AuditEvent.entity_id.in_(pairs),
        (AuditEvent.entity == "user") & AuditEvent.entity_id.in_([str(u.id) for u in users]),
        (AuditEvent.entity == "engagement") & AuditEvent.entity_id.in_([str(i) for i in engagement_ids]),
    )
    for e in session.scalars(select(AuditEvent).where(about)):
        before, after = _audit_values(e.before, needles), _audit_values(e.after, needles)
        if before != e.before or after != e.after:
            e.before, e.after = before, after
            counts["audit_events"] += 1
    counts["relations"] = int(session.execute(  # type: ignore[attr-defined]
        delete(Relation).where(Relation.id.in_([int(r) for r in relations]))).rowcount or 0)
    counts["decision_events"] = int(session.execute(  # type: ignore[attr-defined]
        delete(DecisionEvent).where(DecisionEvent.talent_id.in_(ids))).rowcount or 0)
    if embedder is not None:
        counts["vectors"] = embedder.forget([x for text in texts for x in (text, *sentences_of(text))])
    return counts
