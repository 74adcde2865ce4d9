"""From database rows to the engine's plain facts, and the pool's build and sync from the database.

The talent's facts are copied field by field as the talent's declaration says (``domain/talent.ENGINE``);
what is derived — the text, the load of engagements in force, open duplicate pairs, the modes the
consent covers — is computed here."""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import JSON, String, event, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from matcher.config import Settings
from matcher.domain import modes
from matcher.domain import talent as talent_fields
from matcher.domain.facts import DemandFacts, Reasons, TalentFacts
from matcher.domain.privacy import ConsentState, modes_of_version, uses_grades
from matcher.domain.talent import profile_text
from matcher.domain.vocabulary import EngagementStatus, Grade
from matcher.domain.workflow import APPROVED_OR_LATER, ENDED_DEMANDS, LIVE_DEMANDS
from matcher.engine.embedding import CachedEmbedder, load_embedder
from matcher.engine.pool import TalentPool
from matcher.engine.ranking import RankingConfig
from matcher.errors import NotReady
from matcher.services.access import proposable_filter, proposable_ids
from matcher.services.people.conflicts import conflicted_talents
from matcher.services.pool import snapshot
from matcher.services.pool.feed import talents_changed
from matcher.storage.db import Database
from matcher.storage.models import (
    Demand,
    DuplicatePair,
    Engagement,
    EngagementGrade,
    Enterprise,
    Match,
    MatchMember,
    Talent,
)


def demand_text(d: Demand) -> str:
    parts = [d.title] + ([d.description] if d.description.strip() != d.title.strip() else [])
    if d.keywords:
        parts.append("关键词：" + "、".join(d.keywords))
    return "\n".join(p for p in parts if p)


#: An engagement in one of these states no longer holds the talent's capacity.
ENDED_ENGAGEMENTS = (EngagementStatus.ENDED.value, EngagementStatus.ENDED_EARLY.value)


def current_loads(session: Session, talent_ids: Iterable[int] | None = None) -> dict[int, dict[str, int]]:
    """Engagements in force per talent and mode (all talents, or only ``talent_ids``)."""
    loads: dict[int, dict[str, int]] = defaultdict(dict)
    q = (select(Match.talent_id, Match.mode, func.count()).join(Demand, Demand.id == Match.demand_id)
         .outerjoin(Engagement, Engagement.match_id == Match.id)
         # An approved match occupies the talent's capacity in its mode until the demand is closed or
         # withdrawn, or its engagement ended (at term or early); the 奖补 decision does not end it.
         .where(Match.status.in_(APPROVED_OR_LATER), Demand.status.not_in(ENDED_DEMANDS),
                or_(Engagement.id.is_(None), Engagement.status.not_in(ENDED_ENGAGEMENTS)))
         .group_by(Match.talent_id, Match.mode))
    # A team's members are held as its lead is (``services/workflow/teams``).
    members = (select(MatchMember.talent_id, Match.mode, func.count())
               .join(Match, Match.id == MatchMember.match_id).join(Demand, Demand.id == Match.demand_id)
               .outerjoin(Engagement, Engagement.match_id == Match.id)
               .where(Match.status.in_(APPROVED_OR_LATER), Demand.status.not_in(ENDED_DEMANDS),
                      or_(Engagement.id.is_(None), Engagement.status.not_in(ENDED_ENGAGEMENTS)))
               .group_by(MatchMember.talent_id, Match.mode))
    if talent_ids is not None:
        q = q.where(Match.talent_id.in_(list(talent_ids)))
        members = members.where(MatchMember.talent_id.in_(list(talent_ids)))
    for tid, mode, n in session.execute(q):
        loads[tid][mode] = n
    for tid, mode, n in session.execute(members):
        loads[tid][mode] = loads[tid].get(mode, 0) + n
    return loads


#: A grade as a number for the learned ranker (the four 考核等次, evenly spaced).
GRADE_SCORE: dict[str, float] = {Grade.EXCELLENT: 1.0, Grade.GOOD: 2 / 3, Grade.PASS: 1 / 3, Grade.FAIL: 0.0}


def graded_history_map(session: Session, talent_ids: Iterable[int] | None = None) -> dict[int, float]:
    """Per talent, the mean grade of the periods graded in their engagements — as lead or team member."""
    ids = None if talent_ids is None else list(talent_ids)
    lead = (select(Match.talent_id.label("tid"), EngagementGrade.grade)
            .join(Engagement, Engagement.match_id == Match.id).join(EngagementGrade,
                                                                   EngagementGrade.engagement_id == Engagement.id))
    member = (select(MatchMember.talent_id.label("tid"), EngagementGrade.grade)
              .join(Match, Match.id == MatchMember.match_id).join(Engagement, Engagement.match_id == Match.id)
              .join(EngagementGrade, EngagementGrade.engagement_id == Engagement.id))
    if ids is not None:
        lead, member = lead.where(Match.talent_id.in_(ids)), member.where(MatchMember.talent_id.in_(ids))
    scores: dict[int, list[float]] = defaultdict(list)
    for q in (lead, member):
        for tid, grade in session.execute(q):
            if grade in GRADE_SCORE:
                scores[tid].append(GRADE_SCORE[grade])
    return {tid: sum(v) / len(v) for tid, v in scores.items()}


def same_person_map(session: Session, talent_ids: Iterable[int] | None = None) -> dict[int, tuple[int, ...]]:
    """Per talent, the other records an open probable-duplicate pair links it to (``services/duplicates``)."""
    q = select(DuplicatePair.a_id, DuplicatePair.b_id).where(DuplicatePair.status == "open")
    if talent_ids is not None:
        ids = list(talent_ids)
        q = q.where(or_(DuplicatePair.a_id.in_(ids), DuplicatePair.b_id.in_(ids)))
    out: dict[int, list[int]] = defaultdict(list)
    for a, b in session.execute(q):
        out[a].append(b)
        out[b].append(a)
    return {k: tuple(sorted(v)) for k, v in out.items()}


def ready(pool: TalentPool | None) -> TalentPool | None:
    """The pool when it can serve, else None (still loading, or failed to load)."""
    return pool if pool is not None and pool.ready else None


def require_ready(pool: TalentPool | None) -> TalentPool:
    """The pool when it can serve, else ``NotReady`` (503: retry shortly, see /ready)."""
    live = ready(pool)
    if live is None:
        raise NotReady("the matching index is still being built; retry shortly (see /ready)")
    return live


def modes_covered(t: Talent) -> frozenset[str]:
    """The modes the talent may be proposed in as far as consent goes (every mode while it is pending)."""
    if t.consent_propose == ConsentState.GRANTED:
        return modes_of_version(t.consent_propose_version)
    return frozenset(modes.codes())




def pool_facts(session: Session, talent_ids: Iterable[int]) -> tuple[dict[int, TalentFacts], set[int]]:
    """The pool's facts for these talents, and those among them the pool must no longer hold."""
    ids = list(talent_ids)
    loads = current_loads(session, ids)
    twins = same_person_map(session, ids)
    graded = graded_history_map(session, ids)
    allowed = proposable_ids(session, ids)  # the one gate (services/access.py)
    talents = list(session.scalars(select(Talent).where(Talent.id.in_(sorted(allowed)))))
    live = {t.id: to_facts(t, loads.get(t.id), twins.get(t.id, ()), graded.get(t.id)) for t in talents}
    return live, {i for i in ids if i not in live}


def _frozen(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, dict):
        return dict(value)
    return value


#: One shared object per distinct small value (a sector, a city, a capacity dict, a tuple of ties): a million
#: talents hold a few hundred distinct ones, and a copy per talent cost ≈ 600 bytes each (measured at 1M:
#: 2.3 KiB of facts per talent before, ``matcher/engine/memory.py``). Facts are never changed in place.
_SHARED: dict[Any, Any] = {}


#: Fields whose values are the talent's own (nothing to share).
_OWN = frozenset({"external_id", "name"})


def _shared(value: Any) -> Any:
    if isinstance(value, str):
        return sys.intern(value) if len(value) <= 40 else value
    if isinstance(value, tuple):
        key: Any = ("t", value)
    elif isinstance(value, dict):
        key = ("d", tuple(sorted(value.items())))
    else:
        return value
    try:
        return _SHARED.setdefault(key, value)
    except TypeError:  # an unhashable member: keep the talent's own
        return value


def to_facts(t: Any, load: dict[str, int] | None = None, same_person: tuple[int, ...] = (),
             graded: float | None = None) -> TalentFacts:
    """The engine's facts of a talent: a ``Talent`` or a row of ``FACT_COLUMNS`` (the same attribute names).
    ``graded``: the mean grade of their engagements, kept only when their consent text covers it."""
    copied = {name: _frozen(getattr(t, name)) if name in _OWN else _shared(_frozen(getattr(t, name)))
              for name in talent_fields.ENGINE}
    copied["mode_capacity"] = _shared(dict(t.mode_capacity or {}))
    consented = (modes_of_version(t.consent_propose_version) if t.consent_propose == ConsentState.GRANTED
                 else None)
    text = profile_text(t.profile, t.research_fields or [], t.achievements)
    scored = graded if (graded is not None and t.consent_propose == ConsentState.GRANTED
                        and uses_grades(t.consent_propose_version)) else None
    return TalentFacts(id=t.id, text=text, load=_shared(dict(load or {})), same_person=same_person,
                       consented_modes=_shared(consented), graded_history=scored, **copied)


#: The columns the facts are made of (the engine's fields, the text's parts, consent): what a start reads.
FACT_COLUMNS = tuple(getattr(Talent, name) for name in dict.fromkeys(
    ("id", *talent_fields.ENGINE, "mode_capacity", "consent_propose", "consent_propose_version", "profile",
     "research_fields", "achievements")))
#: Of those, the JSON ones: read as their stored text and decoded here, each distinct text once (a million
#: talents hold a few hundred distinct capacities and tie lists; the driver's own decoding cost ≈ 10 s).
_JSON = {c.key for c in FACT_COLUMNS if isinstance(c.type, JSON)}


class _Decoded:
    """A fact row with its JSON columns decoded (attribute access like the row's)."""

    def __init__(self, row: Any, memo: dict[str, Any]) -> None:
        self._row, self._memo = row, memo

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._row, name)
        if name not in _JSON or not isinstance(value, str):
            return value  # PostgreSQL's driver decodes JSON itself
        hit = self._memo.get(value)
        if hit is None:
            hit = json.loads(value)
            if len(value) <= 200:
                self._memo[value] = hit
        return hit


def all_talent_facts(session: Session, batch: int = 20000) -> list[TalentFacts]:
    """Every proposable talent's facts. Read as plain rows of the needed columns, not as ORM objects: at a
    million talents the ORM's identity map and per-object state cost minutes and gigabytes at every start."""
    loads = current_loads(session)
    twins = same_person_map(session)
    graded = graded_history_map(session)
    out: list[TalentFacts] = []
    columns = [type_coerce(c, String).label(c.key) if c.key in _JSON else c for c in FACT_COLUMNS]
    stmt = select(*columns).where(proposable_filter()).order_by(Talent.id).execution_options(yield_per=batch)
    memo: dict[str, Any] = {}
    for row in session.execute(stmt):
        out.append(to_facts(_Decoded(row, memo), loads.get(row.id), twins.get(row.id, ()), graded.get(row.id)))
    return out


def demand_facts(session: Session, d: Demand) -> DemandFacts:
    ent = session.get(Enterprise, d.enterprise_id)
    declined = {m.talent_id for m in session.scalars(
        select(Match).where(Match.demand_id == d.id, Match.contact_log["answer"].as_string() == "declined"))}
    twins = same_person_map(session, declined) if declined else {}
    declined |= {t for ids in twins.values() for t in ids}  # the same person under their other record
    # Conflicts of interest with the enterprise (services/people/conflicts.py: one query unless an organisation
    # holds a relation to it), extended like the declines to the other record of the same person.
    conflicted = conflicted_talents(session, ent) if ent is not None else {}
    if conflicted:
        for tid, others in same_person_map(session, list(conflicted)).items():
            for other in others:
                if tid in conflicted:
                    conflicted.setdefault(other, conflicted[tid])
    return DemandFacts(id=d.id, text=demand_text(d), modes=tuple(d.modes or (modes.DEFAULT,)), city=d.city,
                       sector=d.sector, enterprise_id=d.enterprise_id,
                       can_host_joint_post=bool(ent and ent.can_host_joint_post),
                       declined_talent_ids=frozenset(declined), conflicted_talents=Reasons(conflicted))


def build_pool(settings: Settings, db: Database, progress: bool = False,
               log: Callable[[str], None] | None = None, persist: bool = True,
               embedder: CachedEmbedder | None = None) -> TalentPool:
    """Load the model once (or use ``embedder``) and the talents (the snapshot saved beside the index and
    the change feed since, or the database in full: ``services/pool/snapshot.py``); reuse the saved index
    when it still fits."""
    embedder = embedder or load_embedder(settings.embedding_model, settings.model_cache_dir,
                                         settings.embedding_cache_dir, settings.embedding_batch_size,
                                         settings.embedding_backend)
    index_dir = settings.index_dir if persist else None

    def read() -> list[TalentFacts]:
        with db.session() as s:
            return snapshot.read_facts(s, index_dir, all_talent_facts, pool_facts, say=log or snapshot.log.info)

    pool = TalentPool(embedder, index_dir, kind=settings.index_kind_for(0), cfg=RankingConfig(),
                      hnsw_m=settings.hnsw_m, ef_search=settings.hnsw_ef_search,
                      ef_construction=settings.hnsw_ef_construction)
    pool.load_or_build(read, progress=progress, log_fn=log, kind_for=settings.index_kind_for)
    return pool


def sync_pool(db: Database, pool: TalentPool,
              progress: Callable[[float], None] | None = None) -> dict[str, int]:
    """Bring the loaded pool in line with the database after bulk changes (imports): changed talents are
    upserted (only changed texts are re-encoded), vanished ones removed."""
    since = pool.mark()  # a change applied while this sync reads and encodes is never undone by it
    with db.session() as s:
        facts = {f.id: f for f in all_talent_facts(s)}
    changed = [f for i, f in facts.items() if pool.facts.get(i) != f]
    gone = [i for i in pool.facts if i not in facts]
    upserted = pool.upsert(changed, progress=progress, since=since) if changed else 0
    removed = pool.remove(gone, since=since) if gone else 0
    return {"upserted": upserted, "removed": removed}


def warm_open_demands(db: Database, pool: TalentPool) -> int:
    """Encode open demands' texts ahead of requests (cached on disk, so only new texts cost time)."""
    with db.session() as s:
        texts = [demand_text(d) for d in s.scalars(select(Demand).where(Demand.status.in_(LIVE_DEMANDS)))]
    for start in range(0, len(texts), 64):
        pool.embedder.encode_queries(texts[start:start + 64])
    return len(texts)


def refresh_talents(session: Session, pool: TalentPool | None, talent_ids: Iterable[int]) -> None:
    """After a change to these talents (load, profile, consent, merge): this process's pool at once, the
    other processes' through the change feed (written in the caller's transaction)."""
    ids = list(talent_ids)
    talents_changed(session, ids)
    pool = ready(pool)
    if pool is None:
        return
    since = pool.mark()
    _apply(pool, *pool_facts(session, ids), since)
    ours = pool.mark()

    # This change is applied before its transaction commits (so the request's own view shows it). The change
    # feed's follower may meanwhile read these talents' *committed* rows — the state before this change — and
    # apply them after us, with a mark taken after our write: the pool would hold the old facts until the
    # feed's next entry for them. So, once committed: if anyone wrote these talents after us, read them again
    # and apply what the database now holds (nothing to do, and nothing read, in the usual case).
    def repair(_committed: Session) -> None:
        if not pool.written_after(ids, ours):
            return
        again = pool.mark()
        with Session(bind=session.get_bind()) as fresh:
            _apply(pool, *pool_facts(fresh, ids), again)

    event.listen(session, "after_commit", repair, once=True)


def _apply(pool: TalentPool, live: dict[int, TalentFacts], gone: set[int], since: int) -> None:
    if live:
        pool.upsert(list(live.values()), since=since)
    removed = [i for i in gone if i in pool.facts]
    if removed:
        pool.remove(removed, since=since)
