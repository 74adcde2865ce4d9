"""What a talent's rights and the duplicate finder do to proposals, on a real pool (the e5 model and
FAISS): a corrected profile is ranked at once, a withdrawn consent takes the talent out, two records of
one person are never proposed together, a merge keeps both histories."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from matcher.config import Settings
from matcher.demo import duplicates as dup_gen
from matcher.demo import generator
from matcher.domain.facts import DemandFacts
from matcher.services.access import Actor
from matcher.services.people import duplicates, me
from matcher.services.pool.facts import build_pool, demand_facts
from matcher.storage.db import Database
from matcher.storage.models import Demand, DuplicatePair, Match, Talent, User
from matcher.tools.seeding import seed_demo
from tests.conftest import fresh_database_url

pytestmark = pytest.mark.db

SEED, TALENTS, DUPLICATES, NAMESAKES = 7, 240, 12, 6
OFFICIAL = Actor(None, "official")


@pytest.fixture(scope="module")
def world(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Database, Any]:
    var = tmp_path_factory.mktemp("talent-pool")
    cfg = settings.model_copy(update={"var_dir": var, "database_url": fresh_database_url(var)})
    db = Database.from_settings(cfg)
    db.upgrade()
    seed_demo(db, talents=TALENTS, demands=20, seed=SEED, progress=False, log=lambda m: None,
              duplicates=DUPLICATES, namesakes=NAMESAKES)
    return cfg, db, build_pool(cfg, db, persist=False)


def _actor(db: Database, external_id: str) -> tuple[Actor, int]:
    with db.session() as s:
        t = s.scalar(select(Talent).where(Talent.external_id == external_id))
        assert t is not None
        return Actor(None, "talent", talent_id=t.id, name=t.name), t.id


def _demand(db: Database) -> DemandFacts:
    with db.session() as s:
        return demand_facts(s, s.scalars(select(Demand).order_by(Demand.id)).first())


def _ids(pool: Any, demand: DemandFacts, k: int = 10) -> list[int]:
    page, _ = pool.propose(demand, "flexible", k=k)
    return [p.talent.id for p in page]


def test_a_corrected_profile_is_ranked_at_once(world: tuple[Settings, Database, Any]) -> None:
    _, db, pool = world
    d = _demand(db)
    before = _ids(pool, d, k=20)
    with db.session() as s:
        candidates = [t for t in s.scalars(select(Talent).order_by(Talent.id.desc()))
                      if t.id not in before and (t.mode_capacity or {}).get("flexible") and t.merged_into_id is None]
    who, tid = _actor(db, candidates[0].external_id)
    me.update(db, pool, who, {"profile": "本人长期专注于以下技术问题：" + d.text, "mode_capacity": {"flexible": 2}})
    assert tid in _ids(pool, d, k=3)  # the pool re-read the corrected text (no rebuild, no restart)


def test_withdrawing_consent_takes_the_talent_out_of_every_list(world: tuple[Settings, Database, Any]) -> None:
    _, db, pool = world
    d = _demand(db)
    top = _ids(pool, d)[0]
    with db.session() as s:
        external_id = s.get(Talent, top).external_id
    who, tid = _actor(db, external_id)
    me.set_consent(db, pool, who, "propose", False)
    assert tid not in pool.facts and tid not in _ids(pool, d, k=50)
    me.set_consent(db, pool, who, "propose", True)
    assert tid in pool.facts and tid in _ids(pool, d, k=10)


def test_duplicates_are_found_never_proposed_together_and_merged(world: tuple[Settings, Database, Any]) -> None:
    _, db, pool = world
    rows = [row for row, _ in generator.iter_talents(SEED, TALENTS)]
    _, truth = dup_gen.seeded(SEED, rows, DUPLICATES, NAMESAKES)
    with db.session() as s:
        by_ext = {e: i for e, i in s.execute(select(Talent.external_id, Talent.id))}
    true_pairs = {tuple(sorted((by_ext[a], by_ext[b]))) for a, b in truth}
    out = duplicates.scan(db, pool, OFFICIAL)
    assert out.new_pairs >= 1 and duplicates.scan(db, pool, OFFICIAL).new_pairs == 0  # idempotent
    pairs, total = duplicates.list_pairs(db, OFFICIAL)
    found = {(p.a.id, p.b.id) for p in pairs}
    recall = len(found & true_pairs) / len(true_pairs)
    precision = len(found & true_pairs) / len(found)
    assert recall >= 0.75 and precision >= 0.75, (recall, precision, total)
    pair = next(p for p in pairs if (p.a.id, p.b.id) in true_pairs)
    assert pair.evidence["name"]["label"] and "log2_odds" in pair.evidence
    # A demand written from one record's profile finds both, but the list shows only one of them.
    a, b = pool.facts[pair.a.id], pool.facts[pair.b.id]
    assert b.id in a.same_person
    demand = DemandFacts(id=999_999, text=a.text, modes=("flexible",))
    shown = _ids(pool, demand, k=20)
    assert len({pair.a.id, pair.b.id} & set(shown)) == 1
    full, _ = pool.propose(demand, "flexible", k=300, include_excluded=True)  # the excluded come last
    twin = next(p for p in full if p.talent.id in (pair.a.id, pair.b.id) and p.talent.id not in shown)
    assert "同一人" in (twin.ranked.excluded_by or "")
    # Merge: the newer record leaves the pool for good, its account and history stay linked.
    with db.session() as s:
        s.add(User(username="talent_dup", role="talent", talent_id=pair.b.id, token_hash="x" * 64))
        d = s.scalars(select(Demand)).first()
        s.add(Match(demand_id=d.id, talent_id=pair.b.id, mode="flexible", status="shortlisted"))
    decided = duplicates.decide(db, pool, OFFICIAL, pair.id, "merge", relink_account=True)  # confirmed
    assert decided.status == "merged"
    assert pair.b.id not in pool.facts and pair.a.id in pool.facts
    assert not pool.facts[pair.a.id].same_person or pair.b.id not in pool.facts[pair.a.id].same_person
    with db.session() as s:
        assert s.get(Talent, pair.b.id).merged_into_id == pair.a.id
        assert s.scalar(select(User.talent_id).where(User.username == "talent_dup")) == pair.a.id
        assert s.scalar(select(Match.id).where(Match.talent_id == pair.b.id)) is not None  # history kept
        assert s.scalar(select(DuplicatePair.status).where(DuplicatePair.id == pair.id)) == "merged"
    with pytest.raises(Exception, match="already decided"):
        duplicates.decide(db, pool, OFFICIAL, pair.id, "distinct")
    # "Not the same person": both stay, and both may be proposed together again.
    other = next((p for p in pairs if p.id != pair.id and p.status == "open"
                  and pair.b.id not in (p.a.id, p.b.id)), None)
    assert other is not None  # recall ≥ 0.75 of 12 seeded pairs leaves more than one to decide
    assert other.b.id in pool.facts[other.a.id].same_person
    duplicates.decide(db, pool, OFFICIAL, other.id, "distinct")
    assert other.b.id not in pool.facts[other.a.id].same_person
