"""From database rows to the engine's plain facts, and the pool the service keeps loaded."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from matcher.config import Settings
from matcher.engine.embedding import CachedEmbedder, load_embedder
from matcher.engine.pool import TalentPool
from matcher.engine.ranking import DemandFacts, RankingConfig, TalentFacts
from matcher.storage.db import Database
from matcher.storage.models import Demand, Enterprise, Match, Talent
from matcher.workflow import APPROVED_OR_LATER, ENDED_DEMANDS, LIVE_DEMANDS


def demand_text(d: Demand) -> str:
    parts = [d.title] + ([d.description] if d.description.strip() != d.title.strip() else [])
    if d.keywords:
        parts.append("关键词：" + "、".join(d.keywords))
    return "\n".join(p for p in parts if p)


def current_loads(session: Session, talent_ids: Iterable[int] | None = None) -> dict[int, dict[str, int]]:
    """Engagements in force per talent and mode (all talents, or only ``talent_ids``)."""
    loads: dict[int, dict[str, int]] = defaultdict(dict)
    q = (select(Match.talent_id, Match.mode, func.count()).join(Demand, Demand.id == Match.demand_id)
         # An approved match occupies the talent's capacity in its mode until the demand is closed or
         # withdrawn (the 奖补 decision does not end the engagement itself).
         .where(Match.status.in_(APPROVED_OR_LATER), Demand.status.not_in(ENDED_DEMANDS))
         .group_by(Match.talent_id, Match.mode))
    if talent_ids is not None:
        q = q.where(Match.talent_id.in_(list(talent_ids)))
    for tid, mode, n in session.execute(q):
        loads[tid][mode] = n
    return loads


def to_facts(t: Talent, load: dict[str, int] | None = None) -> TalentFacts:
    return TalentFacts(
        id=t.id, external_id=t.external_id, name=t.name, text=t.embedding_text(),
        institution_type=t.institution_type, title_level=t.title_level, sector=t.sector, city=t.city,
        in_province=t.in_province, province_ties=tuple(t.province_ties or ()),
        mode_capacity=dict(t.mode_capacity or {}), flexible_forms=tuple(t.flexible_forms or ()),
        load=dict(load or {}), external_engagements=t.external_engagements, patents=t.patents,
        projects=t.projects, employer_enterprise_id=t.employer_enterprise_id)


def all_talent_facts(session: Session, batch: int = 20000) -> list[TalentFacts]:
    loads = current_loads(session)
    out: list[TalentFacts] = []
    stmt = select(Talent).where(Talent.active.is_(True)).order_by(Talent.id).execution_options(yield_per=batch)
    for t in session.scalars(stmt):
        out.append(to_facts(t, loads.get(t.id)))
    return out


def demand_facts(session: Session, d: Demand) -> DemandFacts:
    ent = session.get(Enterprise, d.enterprise_id)
    declined = {m.talent_id for m in session.scalars(
        select(Match).where(Match.demand_id == d.id, Match.contact_log["answer"].as_string() == "declined"))}
    return DemandFacts(id=d.id, text=demand_text(d), modes=tuple(d.modes or ("flexible",)), city=d.city,
                       sector=d.sector, enterprise_id=d.enterprise_id,
                       can_host_joint_post=bool(ent and ent.can_host_joint_post),
                       declined_talent_ids=frozenset(declined))


def build_pool(settings: Settings, db: Database, progress: bool = False,
               log: Callable[[str], None] | None = None, persist: bool = True,
               embedder: CachedEmbedder | None = None) -> TalentPool:
    """Load the model once (or use ``embedder``) and the talents from the database; reuse the saved index
    when it still fits."""
    embedder = embedder or load_embedder(settings.embedding_model, settings.model_cache_dir,
                                         settings.embedding_cache_dir, settings.embedding_batch_size,
                                         settings.embedding_backend)
    with db.session() as s:
        facts = all_talent_facts(s)
    pool = TalentPool(embedder, settings.index_dir if persist else None, kind=settings.index_kind_for(len(facts)),
                      cfg=RankingConfig(), hnsw_m=settings.hnsw_m, ef_search=settings.hnsw_ef_search,
                      ef_construction=settings.hnsw_ef_construction)
    pool.load_or_build(facts, progress=progress, log_fn=log)
    return pool


def sync_pool(db: Database, pool: TalentPool,
              progress: Callable[[float], None] | None = None) -> dict[str, int]:
    """Bring the loaded pool in line with the database after bulk changes (imports): changed talents are
    upserted (only changed texts are re-encoded), vanished ones removed."""
    with db.session() as s:
        facts = {f.id: f for f in all_talent_facts(s)}
    changed = [f for i, f in facts.items() if pool.facts.get(i) != f]
    gone = [i for i in pool.facts if i not in facts]
    if changed:
        pool.upsert(changed, progress=progress)
    if gone:
        pool.remove(gone)
    return {"upserted": len(changed), "removed": len(gone)}


def warm_open_demands(db: Database, pool: TalentPool) -> int:
    """Encode open demands' texts ahead of requests (cached on disk, so only new texts cost time)."""
    with db.session() as s:
        texts = [demand_text(d) for d in s.scalars(select(Demand).where(Demand.status.in_(LIVE_DEMANDS)))]
    for start in range(0, len(texts), 64):
        pool.embedder.encode_queries(texts[start:start + 64])
    return len(texts)
