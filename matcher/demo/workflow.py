"""Work in progress for the demo: a few matches of the demo enterprise already in review, so that each
office's queue holds something on first start — the city's 初审 of a 科技副总, the province's 终审 of
another one, the county's 初审 of a 科技特派员 engagement — and one approval accepted with a missing item
(容缺) whose promised date is near.

Made through the workflow services (take-up, shortlist, submit, the review steps), as users would, so the
audit trail, the time limits and the queues see them exactly as they would see real work. Deterministic:
the demands and talents are chosen by id order and rule, not drawn."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import func, select

from matcher.domain.offices import OfficeLevel, office_tree
from matcher.services.access import Actor
from matcher.services.programme.deadlines import shanghai_today
from matcher.services.workflow import demands as demand_svc
from matcher.services.workflow import matches as match_svc
from matcher.storage.db import Database
from matcher.storage.models import Demand, Enterprise, Intermediary, Talent

#: (mode, programme the demand is posted into (None: the mode's default), how far the review gets, where the
#: enterprise must be — the demo enterprise's ``city`` or its ``county`` — and the plan)
#: The county's item first: its demands are the fewest.
IN_PROGRESS: tuple[tuple[str, str | None, str, str, str], ...] = (
    ("flexible", "tech_commissioner", "submitted", "county",
     "科技特派员每月到企业现场服务两次，协助完成工艺参数优化。"),
    ("tech_vp", None, "submitted", "city", "专家每月驻企6天，三个月内完成工艺诊断，半年内实现装置连续运行90天。"),
    ("tech_vp", None, "recommended", "city", "专家任科技副总一年，牵头组建攻关小组，每季度向企业技术委员会汇报进展。"),
    ("flexible", None, "approved_rongque", "city", "项目合作，专家团队三个月内完成样品检测与工艺方案论证。"),
)


def seed_work_in_progress(db: Database, enterprise_name: str, intermediary_name: str,
                          log: Callable[[str], None] = print) -> int:
    """Put ``IN_PROGRESS`` on open demands of enterprises in the demo enterprise's city (the offices of the
    demo's ``city_official``) or county (its ``county_official``), the demo enterprise's own first; returns the
    matches made. An item with no fitting demand is left out (a small demo has few demands per county);
    nothing is made when the enterprise has no county in this region."""
    with db.session() as s:
        ent = s.scalar(select(Enterprise).where(Enterprise.name == enterprise_name))
        agency = s.scalar(select(Intermediary).where(Intermediary.name == intermediary_name))
        if ent is None or agency is None or not ent.county_code or ent.county_code not in office_tree():
            return 0
        county = ent.county_code
        city_code = office_tree().office_at(county, OfficeLevel.CITY).code
        rows = s.execute(select(Demand, Enterprise.county_code).join(Enterprise, Enterprise.id == Demand.enterprise_id)
                         .where(Demand.status == "open", Enterprise.county_code.startswith(city_code[:4]))
                         .order_by(Demand.enterprise_id != ent.id, Demand.id))
        open_demands = [(d, c) for d, c in rows]
        # Not the first talent: that one is the demo's talent account (``users._ensure_demo_talent``), whose
        # proposals the demo leaves for the talent to answer.
        first = select(func.min(Talent.id)).scalar_subquery()
        talents = list(s.scalars(select(Talent).where(Talent.active.is_(True), Talent.employer_enterprise_id.is_(None),
                                                      Talent.id > first).order_by(Talent.id).limit(400)))
    agent = Actor(None, "intermediary", intermediary_id=agency.id, name=intermediary_name)
    city = Actor(None, "official", office_code=city_code)
    made, used_demands, used_talents = 0, set(), set()
    for mode, programme, stage, where, plan in IN_PROGRESS:
        demand = next((d for d, c in open_demands if mode in (d.modes or []) and d.id not in used_demands
                       and (where == "city" or c == county)), None)
        talent = next((t for t in talents if (t.mode_capacity or {}).get(mode, 0) > 0 and t.id not in used_talents),
                      None)
        if demand is None or talent is None:
            continue
        used_demands.add(demand.id)
        used_talents.add(talent.id)
        if programme:
            with db.session() as s:
                row = s.get(Demand, demand.id)
                assert row is not None
                row.programme = programme
        demand_svc.take_up(db, agent, demand.id)
        m = match_svc.shortlist(db, None, agent, demand.id, talent.id, mode)
        match_svc.record_contact(db, agent, m.id, "电话联系，专家同意参与", "accepted")
        match_svc.submit(db, agent, m.id, plan)
        if stage == "recommended":
            match_svc.review(db, None, city, m.id, "recommend", "专业方向吻合，推荐省级终审")
        elif stage == "approved_rongque":
            match_svc.review(db, None, city, m.id, "approve", "同意，派出单位同意函容缺后补",
                             ["派出单位同意函"], shanghai_today() + timedelta(days=10))
        made += 1
    log(f"demo: {made} matches in review (city 初审, province 终审, county 初审, 容缺)")
    return made
