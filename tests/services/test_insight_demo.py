"""The office's figures on the demo with a signal planted by construction: remove one sector's talents from a
copy of the pool and that sector — and no other — becomes short; plant a rising topic in a quarter's
demands and it is the top riser, named by its own words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from matcher.config import Settings
from matcher.services.access import Actor
from matcher.services.insight import dashboard, supply
from matcher.services.pool.facts import build_pool
from matcher.storage.db import Database
from matcher.storage.models import Demand, Enterprise
from matcher.tools.seeding import seed_demo
from tests.conftest import fresh_database_url

pytestmark = pytest.mark.once("sqlite")  # slow (a demo seeded and ranked): one back end is enough

PROVINCE = Actor(None, "official")
SEED = 11


@pytest.fixture(scope="module")
def demo(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Database, Any]:
    var: Path = tmp_path_factory.mktemp("insight-demo")
    cfg = settings.model_copy(update={"var_dir": var, "database_url": fresh_database_url(var),
                                      "insight_refresh_seconds": 1e-9})
    db = Database.from_settings(cfg)
    db.upgrade()
    seed_demo(db, talents=400, demands=60, seed=SEED, progress=False, log=lambda m: None, duplicates=0, namesakes=0)
    return cfg, db, build_pool(cfg, db, persist=False)


def _flagged(cfg: Settings, db: Database, pool: Any) -> dict[str, float]:
    supply.refresh(db, pool, cfg)
    return {c.key: c.supply_ratio for c in dashboard.gap_map(db, pool, cfg, PROVINCE, "sector").cells if c.flagged}


def test_removing_one_sectors_talents_flags_that_sector_and_no_other(demo: tuple[Settings, Database, Any]) -> None:
    cfg, db, pool = demo
    before = _flagged(cfg, db, pool)
    cells = {c.key: c for c in dashboard.gap_map(db, pool, cfg, PROVINCE, "sector").cells}
    # The sector with the most demands that is not short now.
    target = max((c for c in cells.values() if not c.flagged and c.key != "other"), key=lambda c: c.pairs).key
    removed = [t.id for t in pool.facts.values() if t.sector == target]
    assert removed
    pool.remove(removed)  # the copy of the pool this test built: the database keeps them
    after = _flagged(cfg, db, pool)
    assert set(after) - set(before) == {target}, (before, after, target)
    print(f"flagged before {before}; removed {len(removed)} {target} talents; flagged after {after}")


def test_a_planted_topic_is_the_top_riser_named_by_its_own_words(demo: tuple[Settings, Database, Any]) -> None:
    cfg, db, pool = demo
    earlier, later = datetime(2026, 7, 15, 2, tzinfo=UTC), datetime(2026, 10, 15, 2, tzinfo=UTC)
    with db.session() as s:
        ids = list(s.scalars(select(Demand.id).order_by(Demand.id)))
        # The demo's demands, half in each quarter (alternating): no topic rises by construction.
        for n, demand_id in enumerate(ids):
            s.execute(update(Demand).where(Demand.id == demand_id).values(
                created_at=(earlier if n % 2 == 0 else later) + timedelta(days=n % 20)))
        ent = s.scalars(select(Enterprise)).first()
        assert ent is not None
        planted = [
            ("钠离子电池层状氧化物正极循环衰减",
             "钠离子电池层状氧化物正极材料循环五百次后容量衰减超过百分之二十，需要钠离子电池正极改性方面的专家。"),
            ("钠离子电池硬碳负极首效偏低",
             "钠离子电池硬碳负极首次库伦效率不足百分之八十五，需要硬碳前驱体与碳化工艺方向的专家。"),
            ("钠离子电池电解液高温产气",
             "钠离子电池在六十度高温存储时电解液分解产气，需要钠离子电池电解液添加剂方面的专家。"),
            ("钠离子电池普鲁士蓝正极结晶水",
             "普鲁士蓝类钠离子电池正极材料结晶水难以脱除，影响钠离子电池循环寿命，需要材料合成专家。"),
            ("钠离子电池储能系统热管理",
             "兆瓦时级钠离子电池储能系统电芯温差大，需要钠离子电池热管理与电池管理系统方面的专家。"),
            ("钠离子电池极片涂布开裂", "钠离子电池硬碳负极极片涂布干燥后开裂，需要钠离子电池浆料与涂布工艺专家。"),
            ("钠离子电池低温放电容量不足",
             "钠离子电池零下二十度放电容量不足常温的六成，需要钠离子电池低温电解液与正极界面方面的专家。"),
            ("钠离子电池电芯自放电偏高",
             "钠离子电池电芯静置一个月自放电超过百分之五，需要钠离子电池电芯工艺与检测专家。"),
        ]
        for n, (title, text) in enumerate(planted):
            s.add(Demand(enterprise_id=ent.id, external_id=f"PLANT-{n}", title=title, description=text,
                         sector="materials", modes=["flexible"], created_at=later + timedelta(days=n)))
    view = dashboard.momentum(db, pool, cfg, PROVINCE)
    assert (view.before, view.after) == ("2026Q3", "2026Q4")
    with db.session() as s:
        planted_ids = set(s.scalars(select(Demand.id).where(Demand.external_id.like("PLANT-%"))))
    top = view.trends[0]
    # The planted demands are one topic (the demo's own battery demands may join it), and it rises most.
    assert planted_ids <= set(top.demand_ids) and top.after >= len(planted) > top.before, top
    assert any("钠离子" in p or "电池" in p for p in top.phrases[:3]), top.phrases
    print(f"top riser: {top.name} ({top.before} → {top.after}); next: "
          f"{[(t.name, t.before, t.after) for t in view.trends[1:4]]}")
