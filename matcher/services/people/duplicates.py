"""Probable duplicate talent records: found on import and on demand (``engine/dedup.py``), decided by an
official (merge, or mark as different people), and kept out of proposal lists meanwhile.

Until an official decides, an open pair is held by every pool (``TalentFacts.same_person``): a list that
would show both records shows only the better-ranked one. A merge keeps both records and their history
(matches, reviews, audit refer to the id they were made with); the merged record leaves the pool for good
and points to the one kept. The official sees every field in which the two differ and chooses, field by
field, which value the kept record takes — by default the value the talent corrected themselves most
recently, else the kept record's own; the stricter of the two consents wins; the talent account moves to
the kept record only when the official confirms it (two namesakes must never share an account). A
withdrawn record is never merged: it stays withdrawn, and its pair blocks the other record (the one gate,
``access.proposable_filter``) until an official marks them as different people.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Literal

import numpy as np
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from matcher.domain import talent as talent_fields
from matcher.domain.labels import label
from matcher.domain.privacy import ConsentState, modes_of_version
from matcher.domain.vocabulary import Role
from matcher.engine.dedup import PersonRecord, candidate_pairs, score_pairs
from matcher.engine.pool import TalentPool
from matcher.errors import Conflict, Invalid, NotFound
from matcher.services import jobs
from matcher.services.access import SYSTEM, Actor, require, talent_view
from matcher.services.audit import record
from matcher.services.pool.facts import ready, refresh_talents
from matcher.storage.db import Database
from matcher.storage.models import DuplicatePair, InstanceFlag, Job, Relation, Talent, User, iso
from matcher.views import DuplicatePairView, FieldChoice, ScanView

#: The fields a merge may take from either record (the talent's attributes, not the office's list number).
MERGEABLE: tuple[str, ...] = tuple(f.name for f in talent_fields.FIELDS if f.name not in ("external_id", "active"))
#: Consent states from strictest to most permissive: a merge keeps the stricter.
_STRICT: dict[str, int] = {ConsentState.WITHDRAWN: 0, ConsentState.PENDING: 1, ConsentState.GRANTED: 2}


def differences(a: Talent, b: Talent) -> list[FieldChoice]:
    """The fields in which the two records differ, each with the default choice: the side the talent
    corrected most recently (``self_corrected``), else "a" (the older record, kept by default)."""
    out = []
    for name in MERGEABLE:
        va, vb = getattr(a, name), getattr(b, name)
        if va == vb:
            continue
        ta, tb = (a.self_corrected or {}).get(name, ""), (b.self_corrected or {}).get(name, "")
        default: Literal["a", "b"] = "b" if tb > ta else "a"
        out.append(FieldChoice(field=name, label=talent_fields.LABELS[name], a=_shown(va), b=_shown(vb),
                               default=default, reason="本人最近更正" if (ta or tb) else "保留记录的原值"))
    return out


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return "；".join(f"{label(k)}:{v}" for k, v in value.items())
    if isinstance(value, list):
        return "、".join(label(str(v)) for v in value)
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value)


def _stricter(a: Talent, b: Talent) -> tuple[str, str | None, str]:
    """(propose consent, its text version, contact consent) of the merged record: the stricter of each."""
    propose = min((a, b), key=lambda t: (_STRICT.get(t.consent_propose, 1),
                                         len(modes_of_version(t.consent_propose_version))))
    contact = min((a.consent_contact, b.consent_contact), key=lambda c: _STRICT.get(c, 1))
    return propose.consent_propose, propose.consent_propose_version, contact


def scan(db: Database, pool: TalentPool | None, actor: Actor | None = None) -> ScanView:
    """Look for probable duplicates among the records that can still be proposed; store new pairs (and
    refresh the evidence of open ones). Pairs an official decided are left as decided."""
    if actor is not None:
        require(actor, Role.OFFICIAL, Role.ADMIN)
    with db.session() as s:
        rows = list(s.execute(select(Talent.id, Talent.name, Talent.affiliation, Talent.phone, Talent.email)
                              .where(Talent.active.is_(True), Talent.withdrawn_at.is_(None),
                                     Talent.merged_into_id.is_(None)).order_by(Talent.id)))
    records = [PersonRecord(r.id, r.name, r.affiliation, r.phone, r.email) for r in rows]
    live = ready(pool)
    vectors: np.ndarray | None = None
    near: list[list[int]] | None = None
    if live is not None and records and all(r.id in live.index for r in records):
        # The pool's neighbour graph gives each record's nearest profiles (no search over all pairs), and
        # only the records in a candidate pair need their vectors for the cosine.
        position = {r.id: i for i, r in enumerate(records)}
        near = [[position[int(t)] for t in live.neighbours_of(r.id) if int(t) in position] for r in records]
    pairs = candidate_pairs(records, neighbour_positions=near)
    if near is not None and live is not None:
        involved = sorted({i for p in pairs for i in p})
        vectors = np.zeros((len(records), live.index.dim), dtype=np.float32)
        if involved:
            got = live.index.vectors([records[i].id for i in involved]).astype(np.float32)
            norms = np.linalg.norm(got, axis=1, keepdims=True)
            vectors[involved] = got / np.where(norms > 0, norms, 1.0)
    found = score_pairs(records, pairs, vectors)
    created = refreshed = 0
    touched: set[int] = set()
    with db.session() as s:
        existing = {(p.a_id, p.b_id): p for p in s.scalars(select(DuplicatePair))}
        for d in found:
            row = existing.get((d.a, d.b))
            if row is None:
                s.add(DuplicatePair(a_id=d.a, b_id=d.b, score=d.probability, evidence=d.evidence))
                created += 1
                touched |= {d.a, d.b}
            elif row.status == "open" and (row.score != d.probability or row.evidence != d.evidence):
                row.score, row.evidence = d.probability, d.evidence
                refreshed += 1
        s.flush()
        if created:
            record(s, action="duplicate_scan", entity="talent", entity_id="*",
                   actor_user_id=actor.user_id if actor else None, actor_role=actor.role if actor else "system",
                   after={"new_pairs": created, "records": len(records)})
        if touched:
            refresh_talents(s, pool, sorted(touched))
    return ScanView(records=len(records), pairs_found=len(found), new_pairs=created, refreshed=refreshed)


def _pair_view(s: Any, actor: Actor, p: DuplicatePair, a: Talent, b: Talent) -> DuplicatePairView:
    return DuplicatePairView(id=p.id, a=talent_view(s, actor, a, True), b=talent_view(s, actor, b, True),
                             score=p.score, evidence=p.evidence or {}, status=p.status, decided_at=iso(p.decided_at),
                             differences=differences(a, b) if p.status == "open" else [],
                             withdrawn=[t.id for t in (a, b) if t.withdrawn_at is not None],
                             accounts=[t.id for t in (a, b) if s.scalar(select(User.id).where(User.talent_id == t.id))])


def list_pairs(db: Database, actor: Actor, status: str | None = "open", limit: int = 50,
               offset: int = 0) -> tuple[list[DuplicatePairView], int]:
    require(actor, Role.OFFICIAL, Role.ADMIN)
    if status not in (None, "open", "merged", "distinct"):
        raise Invalid("status must be open, merged or distinct", field="status")
    with db.session() as s:
        q = select(DuplicatePair)
        if status:
            q = q.where(DuplicatePair.status == status)
        pairs = list(s.scalars(q.order_by(DuplicatePair.score.desc(), DuplicatePair.id)))
        page = pairs[offset:offset + limit]
        ids = {i for p in page for i in (p.a_id, p.b_id)}
        talents = {t.id: t for t in s.scalars(select(Talent).where(Talent.id.in_(ids)))}
        return [_pair_view(s, actor, p, talents[p.a_id], talents[p.b_id]) for p in page], len(pairs)


def decide(db: Database, pool: TalentPool | None, actor: Actor, pair_id: int, decision: str,
           keep: int | None = None, choices: dict[str, str] | None = None,
           relink_account: bool = False) -> DuplicatePairView:
    """``merge`` (the same person: ``keep`` stays, default the older record; ``choices`` field → "a"/"b"
    picks each differing value, default as ``differences`` says; the account moves only with
    ``relink_account``) or ``distinct``."""
    require(actor, Role.OFFICIAL)
    if decision not in ("merge", "distinct"):
        raise Invalid("decision must be 'merge' or 'distinct'", field="decision")
    unknown = set(choices or {}) - set(MERGEABLE)
    if unknown:
        raise Invalid(f"not a field a merge can choose: {', '.join(sorted(unknown))}", field="choices")
    if any(v not in ("a", "b") for v in (choices or {}).values()):
        raise Invalid("each choice must be 'a' or 'b'", field="choices")
    with db.session() as s:
        pair = s.get(DuplicatePair, pair_id)
        if pair is None:
            raise NotFound(f"duplicate pair {pair_id} not found", field="pair_id")
        if pair.status != "open":
            raise Conflict(f"this pair was already decided ({pair.status})", field="status")
        if keep is not None and keep not in (pair.a_id, pair.b_id):
            raise Invalid("keep must be one of the pair's two records", field="keep")
        a, b = s.get(Talent, pair.a_id), s.get(Talent, pair.b_id)
        assert a is not None and b is not None
        if decision == "merge" and (a.withdrawn_at is not None or b.withdrawn_at is not None):
            raise Conflict("a record of this pair was withdrawn by the talent: it is never merged (mark the pair "
                           "as different people, or leave it)", field="decision")
        if decision == "merge" and (a.merged_into_id is not None or b.merged_into_id is not None):
            raise Conflict("one of these records was merged already", field="keep")
        # Only the request that moves the pair out of "open" goes on (two officials deciding at once).
        done = s.execute(update(DuplicatePair).where(DuplicatePair.id == pair.id, DuplicatePair.status == "open")
                         .values(status="merged" if decision == "merge" else "distinct", decided_by=actor.user_id,
                                 decided_at=datetime.now(UTC)).execution_options(synchronize_session=False))
        if done.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict("this pair was decided meanwhile", field="status")
        after: dict[str, Any] = {"decision": decision}
        if decision == "merge":
            kept, gone = (a, b) if (keep or min(a.id, b.id)) == a.id else (b, a)
            picked = {d.field: (choices or {}).get(d.field, d.default) for d in differences(a, b)}
            taken = [f for f, side in picked.items() if (a if side == "a" else b) is gone]
            for f in taken:
                setattr(kept, f, getattr(gone, f))
            stamps = dict(kept.self_corrected or {})
            for f in taken:  # a value taken from the merged record brings its correction date, or none
                if f in (gone.self_corrected or {}):
                    stamps[f] = (gone.self_corrected or {})[f]
                else:
                    stamps.pop(f, None)
            kept.self_corrected = stamps
            kept.consent_propose, kept.consent_propose_version, kept.consent_contact = _stricter(a, b)
            gone.merged_into_id = kept.id
            # The person's declared relations (conflicts of interest) are the kept record's now: it is the one
            # shown, edited and proposed.
            moved = s.execute(update(Relation).where(Relation.subject_kind == "talent", Relation.subject_id == gone.id)
                              .values(subject_id=kept.id).execution_options(synchronize_session=False)
                              ).rowcount  # type: ignore[attr-defined]
            if relink_account:
                s.execute(update(User).where(User.talent_id == gone.id).values(talent_id=kept.id))
            after.update(kept=kept.id, merged=gone.id, taken_from_merged=taken, account_relinked=relink_account,
                         relations_moved=int(moved or 0),
                         consent_propose=kept.consent_propose, consent_contact=kept.consent_contact)
            record(s, action="merge", entity="talent", entity_id=gone.id, actor_user_id=actor.user_id,
                   actor_role=actor.role, after={"merged_into": kept.id, "pair": pair.id})
        record(s, action="merge" if decision == "merge" else "distinct", entity="duplicate_pair", entity_id=pair.id,
               actor_user_id=actor.user_id, actor_role=actor.role, before={"status": "open"}, after=after)
        s.flush()
        refresh_talents(s, pool, [pair.a_id, pair.b_id])
        s.refresh(pair)
        return _pair_view(s, actor, pair, a, b)


def queue_first_scan(db: Database) -> int | None:
    """The first scan of a database (the demo's seeded duplicates, a database imported before the finder
    existed), queued as a job by whichever serving process gets here first: the claim (the flag, naming the
    job) and the job are one transaction, so it is queued once per database however many workers start
    (imports scan themselves). A first scan interrupted by a restart (at a million talents it takes
    minutes) is queued again, once: the flag is moved to the new job by a compare-and-set. Returns the
    job's id, or None when there is nothing to queue."""
    try:
        with db.session() as s:
            flag = InstanceFlag(key=FIRST_SCAN_FLAG, value="")
            s.add(flag)
            s.flush()
            job_id = jobs.create_in(s, SYSTEM, FIRST_SCAN.name, {}).id
            flag.value = f"job:{job_id}"
            return job_id
    except IntegrityError:
        pass
    with db.session() as s:
        value = s.scalar(select(InstanceFlag.value).where(InstanceFlag.key == FIRST_SCAN_FLAG)) or ""
        if not value.startswith("job:"):
            return None  # a scan of an older version (the flag held its time): done
        status = s.scalar(select(Job.status).where(Job.id == int(value[4:])))
        if status not in (None, jobs.JobStatus.FAILED):
            return None  # done, queued or running
        job_id = jobs.create_in(s, SYSTEM, FIRST_SCAN.name, {"again_after": value[4:]}).id
        moved = s.execute(update(InstanceFlag).where(InstanceFlag.key == FIRST_SCAN_FLAG, InstanceFlag.value == value)
                          .values(value=f"job:{job_id}"))
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            s.rollback()  # another worker queued it again first
            return None
        return job_id


def _first_scan_work(ctx: jobs.JobContext, params: dict[str, Any], report: jobs.Reporter) -> dict[str, Any]:
    report("duplicates", 0.0, force=True)
    return scan(ctx.db, ready(ctx.pool())).model_dump()


FIRST_SCAN = jobs.JobKind("duplicate-scan", "首次查重", _first_scan_work)
FIRST_SCAN_FLAG = "duplicate_scan"
