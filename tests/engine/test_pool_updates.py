"""The pool under changes (real model): an HNSW pool re-adds a removed talent and edits in place without a
rebuild; facts read before a change never undo it (``mark``/``since``); upkeep compacts and saves off the
request's path."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from matcher.domain.facts import DemandFacts, TalentFacts
from matcher.engine.pool import TalentPool
from matcher.engine.search import Filters
from matcher.tools.benchmark import demo_talent_facts

GAS = "气化炉渣口堵渣频繁导致非计划停车，希望改善高灰熔点煤的灰渣黏温特性，实现气化炉长周期运行。"
EXPERT = TalentFacts(id=90_001, external_id="X1", name="渣口专家", text="专注于气化炉渣口堵渣与灰渣黏温特性调控研究。",
                     institution_type="institute", title_level="senior", sector="coal_chemical",
                     mode_capacity={"flexible": 1})


def _top(pool: TalentPool, k: int = 3) -> list[int]:
    return [p.talent.id for p in pool.propose(DemandFacts(id=1, text=GAS, can_host_joint_post=True), "flexible",
                                              k=k)[0]]


def test_an_hnsw_pool_re_adds_and_edits_in_place(embedder) -> None:  # type: ignore[no-untyped-def]
    pool = TalentPool(embedder, None, kind="hnsw", hnsw_m=16)
    pool.load_or_build(demo_talent_facts(20261126, 0, 200))
    pool.upsert([EXPERT])
    assert _top(pool)[0] == EXPERT.id
    pool.remove([EXPERT.id])  # consent withdrawn
    assert EXPERT.id not in _top(pool, 10)
    before = pool.index
    pool.upsert([EXPERT])  # consent granted again: re-added, no error, no rebuild
    assert pool.index is before and _top(pool)[0] == EXPERT.id
    moved = replace(EXPERT, text="从事中药材规范化种植与道地药材品质研究。")
    started = time.perf_counter()
    pool.upsert([moved])  # an edit: a new vector and a tombstone, not a rebuild
    assert pool.index is before and time.perf_counter() - started < 5
    assert EXPERT.id not in _top(pool, 10)
    assert pool.index.tombstone_share > 0
    done = pool.maintain(compact_above=0.0)  # upkeep compacts (and would save a persisted pool)
    assert done["vectors_dropped"] > 0 and pool.index.tombstone_share == 0
    assert EXPERT.id not in _top(pool, 10)


def test_facts_read_before_a_change_never_undo_it(embedder) -> None:  # type: ignore[no-untyped-def]
    """A sync reads every talent, then spends minutes encoding; a withdrawal applied meanwhile must stand."""
    pool = TalentPool(embedder, None)
    pool.load_or_build([*demo_talent_facts(20261126, 0, 60), EXPERT])
    since = pool.mark()  # the sync reads the database now …
    stale = replace(EXPERT, text=EXPERT.text + "（旧资料）")
    pool.remove([EXPERT.id])  # … the talent withdraws and this process applies it …
    assert pool.upsert([stale], since=since) == 0  # … and the sync's older facts do not bring them back
    assert EXPERT.id not in pool.facts and EXPERT.id not in pool.index
    assert pool.remove([EXPERT.id], since=since) == 0
    fresh = pool.mark()
    assert pool.upsert([stale], since=fresh) == 1 and EXPERT.id in pool.facts  # a newer read applies


def test_searches_go_on_while_the_pool_compacts(embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pool = TalentPool(embedder, tmp_path)
    facts = demo_talent_facts(20261126, 0, 150)
    pool.load_or_build(facts)
    for f in facts[:60]:  # many edits: tombstones pile up
        pool.upsert([replace(f, text=f.text + "。长期服务企业技术攻关")])
    assert pool.index.tombstone_share > 0.2
    errors: list[BaseException] = []

    def search() -> None:
        try:
            for _ in range(20):
                ids = _top(pool, 10)
                assert len(ids) == 10 and len(set(ids)) == 10
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=search) for _ in range(2)]
    for t in threads:
        t.start()
    done = pool.maintain()
    for t in threads:
        t.join()
    assert not errors and done["vectors_dropped"] >= 60 and done["saved"] == 1
    again = TalentPool(embedder, tmp_path)
    assert again.load_or_build(list(pool.facts.values())) == "loaded"  # the save matches the pool
    assert np.array_equal(np.sort(again.index.ids()), np.sort(pool.index.ids()))


def _allowed(pool: TalentPool, filters: Filters, mode: str | None) -> set[int]:
    ids = pool.allowed_ids(filters, mode)
    return set(pool.facts) if ids is None else {int(i) for i in ids}


def test_filter_columns_follow_every_change_without_a_rebuild(embedder) -> None:  # type: ignore[no-untyped-def]
    """The search's filter columns are built once and then kept current row by row (a rebuild is a Python
    pass over every talent: seconds at 1M, on the next request after each edit). After every kind of change
    — an edit of the attributes filtered on, a removal, a re-add, a new talent — the kept columns give the
    same allowed ids as columns built afresh from the pool's facts."""
    pool = TalentPool(embedder, None)
    facts = demo_talent_facts(20261126, 0, 120)
    pool.load_or_build(facts)
    probes = [(Filters(), None), (Filters(), "tech_vp"), (Filters(city="太原"), None),
              (Filters(sector="coal_chemical"), "flexible"),
              (Filters(institution_type="university"), "dual_appointment")]
    pool.allowed_ids(Filters(), None)  # the columns exist from here on
    built = pool._arrays
    changes = [
        lambda: pool.upsert([replace(facts[0], city="太原", sector="coal_chemical")]),
        lambda: pool.upsert([replace(facts[1], mode_capacity={})]),  # no longer eligible for any mode
        lambda: pool.remove([facts[2].id, facts[3].id]),
        lambda: pool.upsert([facts[2]]),  # re-added after a removal
        lambda: pool.upsert([replace(EXPERT, city="太原")]),  # a talent the columns never held
        lambda: pool.remove([EXPERT.id]),
    ]
    for change in changes:
        change()
        kept = {probe: _allowed(pool, *probe) for probe in map(tuple, probes)}
        arrays, rows = pool._arrays, pool._row_of
        pool._arrays = None  # columns built afresh from the facts, for comparison only
        fresh = {probe: _allowed(pool, *probe) for probe in map(tuple, probes)}
        pool._arrays, pool._row_of = arrays, rows
        assert kept == fresh
    assert facts[3].id not in _allowed(pool, Filters(), None) and facts[2].id in _allowed(pool, Filters(), None)
    assert EXPERT.id not in _allowed(pool, Filters(city="太原"), None)
    assert facts[0].id in _allowed(pool, Filters(city="太原", sector="coal_chemical"), None)
    assert built is not None and pool._arrays is not None and "present" in pool._arrays


def test_upkeep_saves_once_edits_pause(embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Saving the index (≈ 0.8 s at 100k) waits until no edit came for ``quiet`` seconds, so it meets an
    edit as rarely as possible; it still saves at the latest ``at_most_every`` seconds after the first."""
    pool = TalentPool(embedder, tmp_path)
    facts = demo_talent_facts(20261126, 0, 40)
    pool.load_or_build(facts)
    pool.upsert([replace(facts[0], text=facts[0].text + "。新增工程应用")])
    assert pool.save_if_dirty(quiet=60) is False  # an edit just came: not yet
    assert pool.save_if_dirty(quiet=60, at_most_every=0) is True  # … unless it waited too long already
    assert pool.save_if_dirty() is False  # nothing changed since
    pool.upsert([replace(facts[1], text=facts[1].text + "。新增工程应用")])
    assert pool.save_if_dirty(quiet=0) is True
    again = TalentPool(embedder, tmp_path)
    assert again.load_or_build(list(pool.facts.values())) == "loaded"
