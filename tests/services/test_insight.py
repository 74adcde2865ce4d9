"""The office's figures on small hand-made databases where the right answer is known
(``services/insight/``): the gap map from the engine's supply, the funnel in working days, the handovers
within their limits, the track records and the scope of an office.

Working days are counted by hand from data/reference/holidays.csv: November 2026 has no holiday, so only
weekends are skipped (2 November 2026 is a Monday)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from matcher.config import Settings
from matcher.errors import Forbidden, NotFound
from matcher.services.access import Actor
from matcher.services.insight import dashboard, supply
from matcher.services.pool.facts import build_pool
from matcher.services.programme import deadlines as dl
from matcher.storage.db import Database
from matcher.storage.models import AuditEvent, Talent
from tests.conftest import fresh_database_url
from tests.services import factories as f

PROVINCE = Actor(None, "official")
TAIYUAN = Actor(None, "official", office_code="140100")

COAL = ("焦炉煤气精脱硫与有机硫脱除", "焦炉煤气中有机硫（羰基硫、噻吩）含量偏高，导致下游甲醇合成催化剂中毒失活，"
        "需要精脱硫工艺与脱硫催化剂方面的专家，改造现有干法脱硫装置。")
AI = ("大语言模型智能客服", "客服工单量大、答复口径不一，需要大语言模型与检索增强生成方向的专家，"
      "搭建企业知识库问答并完成私有化部署。")
#: Other experts, so the pool's word weights are those of a pool (three identical profiles alone make every
#: shared character count) — none of them works on machine vision.
OTHERS = (
    ("materials", "研究镁合金板材轧制与热处理工艺，开发高强韧镁合金，解决板材边裂与各向异性问题。"),
    ("materials", "从事钕铁硼永磁材料晶界扩散技术研究，降低重稀土用量，提高矫顽力与温度稳定性。"),
    ("equipment", "长期从事矿用液压支架电液控制系统研发，负责综采工作面自动化与支架姿态监测。"),
    ("equipment", "研究大型齿轮箱故障诊断与振动分析，开展风电主轴承寿命评估与润滑改进。"),
    ("energy", "从事燃煤电厂超低排放改造，研究SCR脱硝催化剂再生与烟气余热深度回收利用。"),
    ("energy", "研究煤层气井排采工艺与储层压裂增产，负责煤层气田开发方案编制。"),
    ("electronics", "从事功率半导体IGBT模块封装与可靠性研究，解决焊层空洞与热循环失效问题。"),
    ("electronics", "研究碳化硅外延生长与缺陷控制，负责6英寸碳化硅衬底工艺线建设。"),
    ("coal_chemical", "研究煤焦油加氢制芳烃与针状焦工艺，开发加氢精制催化剂并完成中试。"),
    ("coal_chemical", "从事煤气化灰渣综合利用与水煤浆气化炉耐火材料寿命研究。"),
    ("materials", "研究铝合金压铸件气孔缺陷控制与真空压铸工艺，服务汽车轻量化零部件企业。"),
    ("equipment", "从事轨道交通车轴探伤与无损检测技术研究，开发超声相控阵检测工艺规范。"),
)
COAL_PROFILE = ("长期从事焦炉煤气净化与精脱硫研究，研制有机硫水解催化剂和羰基硫、噻吩脱除工艺，"
                "主持干法脱硫装置改造，解决甲醇合成催化剂硫中毒问题。")


def at(day: str, hour: int = 10) -> datetime:
    """An instant on ``day`` at Beijing time, as the UTC the database stores."""
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=dl.SHANGHAI).astimezone(UTC)


def event(s: Any, entity: str, entity_id: int, action: str, day: str, **after: Any) -> None:
    s.add(AuditEvent(action=action, entity=entity, entity_id=str(entity_id), at=at(day), after=after or None))
    s.flush()


# ------------------------------------------------------------------ gap map from the engine
@pytest.fixture()
def gap_world(settings: Settings, tmp_path: Path) -> tuple[Settings, Database, Any, dict[str, int]]:
    cfg = settings.model_copy(update={"var_dir": tmp_path, "database_url": fresh_database_url(tmp_path)})
    db = Database.from_settings(cfg)
    db.upgrade()
    ids: dict[str, int] = {}
    with db.session() as s:
        taiyuan = f.enterprise(s, county_code="140105", city="太原")
        datong = f.enterprise(s, county_code="140212", city="大同")
        ids["coal"] = f.demand(s, taiyuan, title=COAL[0], description=COAL[1], sector="coal_chemical",
                               city="太原", proposals_wanted=2).id
        # The AI demand wants a 科技副总 and nobody in the pool offers to serve as one: no eligible talent.
        ids["ai"] = f.demand(s, datong, title=AI[0], description=AI[1], sector="ai", city="大同",
                             modes=["tech_vp"]).id
        for n in range(3):
            ids[f"t{n}"] = f.talent(s, name=f"煤化工专家{n}", profile=COAL_PROFILE, sector="coal_chemical",
                                    research_fields=["精脱硫", "有机硫脱除"], consent_propose="granted").id
        for n, (sector, text) in enumerate(OTHERS):
            f.talent(s, name=f"专家{n}", profile=text, sector=sector, consent_propose="granted")
    pool = build_pool(cfg, db, persist=False)
    return cfg, db, pool, ids


def test_a_sector_with_demands_and_no_eligible_talent_is_flagged_and_a_withdrawn_talent_never_counts(
        gap_world: tuple[Settings, Database, Any, dict[str, int]]) -> None:
    cfg, db, pool, ids = gap_world
    done = supply.refresh(db, pool, cfg)
    assert done["demands"] == 2 and done["threshold_source"] == "calibrator"
    assert not supply.stale(db, pool, cfg)
    view = dashboard.gap_map(db, pool, cfg, PROVINCE, "sector")
    by = {c.key: c for c in view.cells}
    assert by["ai"].flagged and by["ai"].covered == 0 and by["ai"].unmet == 1
    assert not by["coal_chemical"].flagged and by["coal_chemical"].covered == 2, by["coal_chemical"]
    assert [u.demand_id for u in view.unmet_demands] == [ids["ai"]]
    assert view.topics and view.topics[0].demand_ids == [ids["ai"]]
    # The nearest talents of the unmet demand are shown with the rule that leaves them out.
    nearest = view.unmet_demands[0].nearest
    assert len(nearest) == 3 and all(not n.eligible and n.excluded_by for n in nearest)

    # Two of the three coal experts withdraw: one is left, the demand wants two — half covered, flagged
    # below the ratio only if it were under 0.5 (it is exactly 0.5: not flagged); the third leaving flags it.
    from matcher.services.people import me

    for n in (0, 1):
        me.withdraw(db, pool, Actor(None, "talent", talent_id=ids[f"t{n}"]))
    assert supply.stale(db, pool, cfg)
    supply.refresh(db, pool, cfg)
    # current for this process, whose pool applied the withdrawals, and for another built afterwards from the
    # same database (a second worker, a restart): the signature holds only shared state
    assert not supply.stale(db, pool, cfg)
    assert not supply.stale(db, build_pool(cfg, db, persist=False), cfg)
    view = dashboard.gap_map(db, pool, dashboard_settings(cfg), PROVINCE, "sector")
    coal = {c.key: c for c in view.cells}["coal_chemical"]
    assert coal.covered == 1 and coal.supply_ratio == 0.5 and not coal.flagged
    me.withdraw(db, pool, Actor(None, "talent", talent_id=ids["t2"]))
    supply.refresh(db, pool, cfg)
    view = dashboard.gap_map(db, pool, dashboard_settings(cfg), PROVINCE, "sector")
    coal = {c.key: c for c in view.cells}["coal_chemical"]
    assert coal.covered == 0 and coal.flagged
    with db.session() as s:
        gone = {t.id for t in s.query(Talent).filter(Talent.withdrawn_at.is_not(None))}
    assert gone == {ids["t0"], ids["t1"], ids["t2"]}
    for u in view.unmet_demands:
        assert not {n.talent_id for n in u.nearest} & gone


def dashboard_settings(cfg: Settings) -> Settings:
    """The same settings with a cache that holds nothing: the figures are read again after each change."""
    return cfg.model_copy(update={"insight_refresh_seconds": 1e-9})


def test_the_area_dimension_drills_from_the_province_to_a_city_and_an_office_sees_only_its_area(
        gap_world: tuple[Settings, Database, Any, dict[str, int]]) -> None:
    cfg, db, pool, _ = gap_world
    supply.refresh(db, pool, cfg)
    cfg = dashboard_settings(cfg)
    province = dashboard.gap_map(db, pool, cfg, PROVINCE, "area")
    assert {c.key: c.drill for c in province.cells} == {"140100": "140100", "140200": "140200"}
    city = dashboard.gap_map(db, pool, cfg, PROVINCE, "area", office="140100")
    assert [(c.key, c.label, c.drill) for c in city.cells] == [("140105", "太原市小店区", None)]
    own = dashboard.gap_map(db, pool, cfg, TAIYUAN, "sector")
    assert [c.key for c in own.cells] == ["coal_chemical"]
    with pytest.raises(NotFound):
        dashboard.gap_map(db, pool, cfg, TAIYUAN, "sector", office="140200")
    with pytest.raises(Forbidden):
        dashboard.gap_map(db, pool, cfg, Actor(None, "enterprise", enterprise_id=1), "sector")


# ------------------------------------------------------------------ funnel and records
def test_the_funnel_counts_working_days_between_stages_and_shows_where_demands_stall(db: Database,
                                                                                      settings: Settings) -> None:
    cfg = dashboard_settings(settings)
    with db.session() as s:
        ent = f.enterprise(s, county_code="140105")
        agency = f.intermediary(s)
        # Taken up after 1, 3 and 8 working days (posted Monday 2 November 2026).
        rows = []
        for n, took in enumerate(("2026-11-03", "2026-11-05", "2026-11-12")):
            d = f.demand(s, ent, created_at=at("2026-11-02"), status="taken_up", intermediary_id=agency.id,
                         title=f"需求{n}")
            event(s, "demand", d.id, "take_up", took)
            rows.append(d)
        t = f.talent(s)
        # The first demand goes on: submitted Monday 9 (4 working days after the 3rd), approved Monday 16 (5).
        m = f.match(s, rows[0], t, status="approved")
        event(s, "match", m.id, "submit", "2026-11-09")
        event(s, "match", m.id, "approve", "2026-11-16", office="140000")
        rows[0].status = "matched"
    view = dashboard.funnel(db, cfg, PROVINCE, group_by="office")
    reached = {st.key: st.reached for st in view.stages}
    assert reached == {"posted": 3, "taken_up": 3, "proposed": 1, "approved": 1, "engaged": 0, "graded": 0,
                       "rewarded": 0}
    first = view.intervals[0]
    assert (first.start, first.end, first.count, first.median_days) == ("posted", "taken_up", 3, 3.0)
    assert first.p90_days == pytest.approx(7.0)  # 3 + 0.8 × (8 − 3)
    assert (view.intervals[1].median_days, view.intervals[2].median_days) == (4.0, 5.0)
    stall = {st.stage: st for st in view.stalls}
    assert stall["taken_up"].waiting == 2 and stall["proposed"].waiting == 0
    assert [g.key for g in view.groups] == ["140105"] and view.groups[0].reached[:4] == [3, 3, 1, 1]
    take = [h for h in view.handovers if h.stage == "take_up"]
    assert len(take) == 1 and take[0].done == 3 and take[0].unit == "140105"
    assert take[0].within == sum(d <= take[0].limit_days for d in (1, 3, 8))
    review = [h for h in view.handovers if h.stage == "review"]
    assert [(h.unit, h.done, h.median_days) for h in review] == [("140000", 1, 5.0)]

    records = dashboard.track_records(db, cfg, PROVINCE)
    assert [(r.intermediary_id, r.taken_up, r.matches_approved) for r in records.intermediaries] == \
        [(agency.id, 3, 1)]
    assert records.intermediaries[0].median_days_to_match == 9.0  # taken up Tue 3 → approved Mon 16: 4–6, 9–13, 16
    assert records.enterprises[0].posted == 3 and records.enterprises[0].completed == 1


def test_an_office_outside_the_area_sees_nothing_of_it(db: Database, settings: Settings) -> None:
    cfg = dashboard_settings(settings)
    with db.session() as s:
        f.demand(s, f.enterprise(s, county_code="140212"), created_at=at("2026-11-02"))
    assert dashboard.funnel(db, cfg, TAIYUAN).stages[0].reached == 0
    assert dashboard.funnel(db, cfg, PROVINCE).stages[0].reached == 1


# ------------------------------------------------------------------ 通报
def test_a_report_freezes_its_figures_and_its_pdf_keeps_the_chinese_text(gap_world: tuple[Settings, Database, Any,
                                                                                         dict[str, int]]) -> None:
    import io

    from openpyxl import load_workbook
    from pypdf import PdfReader

    from matcher.services.insight import reports

    cfg, db, pool, _ = gap_world
    supply.refresh(db, pool, cfg)
    cfg = dashboard_settings(cfg)
    today = dl.shanghai_today()
    first = reports.issue(db, pool, cfg, PROVINCE, today.replace(day=1), today)
    body, media, _ = reports.file_of(db, PROVINCE, first.id, "pdf")
    assert media == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)
    assert "山西省产业人才对接工作通报" in text and "急需紧缺领域：人工智能" in text, text[:400]
    sheet = load_workbook(io.BytesIO(reports.file_of(db, PROVINCE, first.id, "xlsx")[0]))["供需缺口"]
    rows = {r[0]: r for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows["人工智能"][-1] == "是" and rows["现代煤化工"][-1] in ("", None)
    assert first.versions["programmes"] and first.versions["calibration"]

    # The snapshot stays as issued when the database changes; the next period compares against it.
    with db.session() as s:
        f.demand(s, f.enterprise(s, county_code="140105"), title="新需求", sector="energy")
    later = today.replace(year=today.year + 1)
    second = reports.issue(db, pool, cfg, PROVINCE, later, later)
    from matcher.storage.models import InsightReport

    with db.session() as s:
        kept, new = s.get(InsightReport, first.id), s.get(InsightReport, second.id)
        assert kept is not None and new is not None
        assert kept.figures["demands_posted"] == 2
        assert new.figures["compared_with"]["demands_posted"] == 2
    with pytest.raises(NotFound):
        reports.file_of(db, Actor(None, "official", office_code="140200"), first.id, "pdf")
