"""Engagements for the demo, one at each stage of their life, so every role's pages hold something on first
start: an agreement that waits for the demo talent's own confirmation; a 科技副总 in its second year whose
first year waits for the province's grade (forms in, service records with two short months); a 柔性引才
project graded 良好, run by a team of three, whose 奖补 waits for the city's approval; one whose 奖补 is
paid; one ended early.

Made through the services — approval drafts the agreement, each party confirms, the office confirms for a
talent without an account with the signed copy, service entries, forms, grades, 奖补 by the programme's
rule against budgets — as users would, so the audit trail and the budgets see them exactly as real work.
The engagements that began in the past get their real start date by a recorded change of the terms before
they are confirmed ("按实际聘任日期补录"). Deterministic: demands and talents are chosen by id order and rule."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select

from matcher.domain.engagements import add_months
from matcher.domain.offices import OfficeLevel, office_tree
from matcher.domain.programmes import programmes
from matcher.domain.vocabulary import InstitutionType, TitleLevel
from matcher.services.access import Actor
from matcher.services.engagements import agreements, assessments, records, rewards
from matcher.services.programme.deadlines import shanghai_today
from matcher.services.workflow import demands as demand_svc
from matcher.services.workflow import matches as match_svc
from matcher.services.workflow import review as steps
from matcher.services.workflow import teams
from matcher.storage.db import Database
from matcher.storage.models import Demand, Enterprise, Intermediary, Match, Talent


@dataclass(frozen=True)
class Stage:
    """One demo engagement: its mode, how far it gets, how many months ago it began (0: it has not), and the
    plan the intermediary submitted."""

    key: str
    mode: str
    months_ago: int
    plan: str
    team: tuple[str, ...] = ()  # the duties of the team's members besides the lead (``workflow/teams``)


STAGES: tuple[Stage, ...] = (
    Stage("awaiting_talent", "flexible", 0, "项目合作：三个月内完成煤焦油加氢催化剂评价与工艺包论证。"),
    Stage("awaiting_grade", "tech_vp", 13, "专家任科技副总两年，每月驻企4天，牵头气化装置长周期运行攻关。"),
    Stage("reward_computed", "flexible", 13, "项目合作：一年内完成废水零排放工艺中试，形成企业标准一项。",
          team=("负责膜浓缩单元中试与运行数据分析", "负责蒸发结晶工艺与杂盐资源化")),
    Stage("paid", "flexible", 13, "项目合作：一年内完成高端轴承热处理工艺优化，良品率提升至98%。"),
    Stage("ended_early", "flexible", 2, "项目合作：半年内完成锂电正极材料前驱体工艺验证。"),
)

#: Whose yearly budget the demo sets (yuan), per programme and office level, for the years its 奖补 fall in.
BUDGETS: tuple[tuple[str, OfficeLevel, int], ...] = (
    ("tech_vp_programme", OfficeLevel.PROVINCE, 2_000_000),
    ("tech_vp_programme", OfficeLevel.CITY, 1_000_000),
    ("industry_talent", OfficeLevel.PROVINCE, 1_000_000),
    ("industry_talent", OfficeLevel.CITY, 500_000),
)

SCORES = {"service": 5, "completion": 4, "results": 4, "satisfaction": 5}


def _month_start(day: date, months_ago: int) -> date:
    return add_months(day.replace(day=1), -months_ago)


def _eligible(t: Talent, mode: str) -> bool:
    if (t.mode_capacity or {}).get(mode, 0) <= 0 or not t.affiliation.strip():
        return False
    if mode == "tech_vp":
        return (t.in_province and t.institution_type in (InstitutionType.UNIVERSITY, InstitutionType.INSTITUTE)
                and t.title_level in (TitleLevel.SENIOR, TitleLevel.ASSOCIATE))
    return True


def seed_engagements(db: Database, enterprise_name: str, intermediary_name: str,
                     log: Callable[[str], None] = print) -> int:
    """Put ``STAGES`` on open demands, the demo enterprise's own first, then its city's, then the province's;
    returns the engagements made (a stage without a fitting demand or talent is left out)."""
    today = shanghai_today()
    tree = office_tree()
    with db.session() as s:
        ent = s.scalar(select(Enterprise).where(Enterprise.name == enterprise_name))
        agency = s.scalar(select(Intermediary).where(Intermediary.name == intermediary_name))
        if ent is None or agency is None or not ent.county_code or ent.county_code not in tree:
            return 0
        city_prefix = tree.office_at(ent.county_code, OfficeLevel.CITY).code[:4]
        rows = s.execute(select(Demand.id, Demand.modes, Enterprise.id, Enterprise.county_code)
                         .join(Enterprise, Enterprise.id == Demand.enterprise_id)
                         .where(Demand.status == "open", Enterprise.county_code.is_not(None))
                         .order_by(Demand.enterprise_id != ent.id, Demand.id))
        # the demo city's demands first (its city office is the demo's), then the rest of the province
        open_demands = sorted(((d, list(modes or []), e, c) for d, modes, e, c in rows if c in tree),
                              key=lambda x: not (x[3] or "").startswith(city_prefix))
        engaged = set(s.scalars(select(Match.talent_id)))
        first = s.scalar(select(func.min(Talent.id)))
        talents = list(s.scalars(select(Talent).where(Talent.active.is_(True), Talent.employer_enterprise_id.is_(None))
                                 .order_by(Talent.id).limit(600)))
        s.expunge_all()
    agent = Actor(None, "intermediary", intermediary_id=agency.id, name=intermediary_name)
    province = Actor(None, "official", office_code=tree.province.code)
    made, used, budgets = 0, set(engaged), set()
    for stage in STAGES:
        if stage.key == "awaiting_talent":  # the demo talent's own agreement (``users._ensure_demo_talent``)
            talent = next((t for t in talents if t.id == first and t.id not in used), None)
        else:
            talent = next((t for t in talents if t.id != first and t.id not in used and _eligible(t, stage.mode)),
                          None)
        demand = next((x for x in open_demands if stage.mode in x[1]), None)
        if talent is None or demand is None:
            continue
        open_demands.remove(demand)
        used.add(talent.id)
        members = [t for t in talents if t.id != first and t.id not in used and _eligible(t, stage.mode)
                   ][:len(stage.team)]
        used.update(t.id for t in members)
        city = tree.office_at(demand[3], OfficeLevel.CITY).code
        offices = {OfficeLevel.PROVINCE: province, OfficeLevel.CITY: Actor(None, "official", office_code=city)}
        for programme, level, total in BUDGETS:
            for year in (today.year - 1, today.year):
                key = (programme, offices[level].office_code, year)
                if key not in budgets:
                    budgets.add(key)
                    rewards.set_budget(db, province, programme, offices[level].office_code, year, total)
        _run(db, stage, demand[0], demand[2], talent, agent, offices, today, members)
        made += 1
    log(f"demo: {made} engagements (awaiting the talent, awaiting a grade, 奖补 to approve, paid, ended early)")
    return made


def _run(db: Database, stage: Stage, demand_id: int, enterprise_id: int, talent: Talent, agent: Actor,
         offices: dict[OfficeLevel, Actor], today: date, members: list[Talent] | None = None) -> None:
    enterprise = Actor(None, "enterprise", enterprise_id=enterprise_id)
    capacity = dict(talent.mode_capacity or {})
    if capacity.get(stage.mode, 0) <= 0:  # the demo talent: willing in this mode for the demo's sake
        with db.session() as s:
            row = s.get(Talent, talent.id)
            assert row is not None
            row.mode_capacity = {**capacity, stage.mode: 1}
    demand_svc.take_up(db, agent, demand_id)
    m = match_svc.shortlist(db, None, agent, demand_id, talent.id, stage.mode)
    match_svc.record_contact(db, agent, m.id, "电话联系，专家同意合作", "accepted")
    for member, duties in zip(members or [], stage.team, strict=False):  # a team: each member's duties, 20 %
        teams.add_member(db, None, agent, m.id, member.id, duties, 20)
    submitted = match_svc.submit(db, agent, m.id, stage.plan)
    with db.session() as s:
        d = s.get(Demand, demand_id)
        assert d is not None
        chain = steps.programme_for(programmes(), d.programme, stage.mode).rules_for(stage.mode).review
    for i, step in enumerate(chain):
        who = offices[OfficeLevel.PROVINCE if step.level == OfficeLevel.PROVINCE else OfficeLevel.CITY]
        final = i == len(chain) - 1
        match_svc.review(db, None, who, submitted.id, "approve" if final else "recommend", "方向吻合，方案可行")
    e = agreements.engagement_of_match(db, offices[OfficeLevel.PROVINCE], m.id)
    grader = next(a for a in offices.values() if a.office_code == e.graded_by_office)
    if stage.months_ago:
        start = _month_start(today, stage.months_ago)
        end = add_months(start, 24) - timedelta(days=1)
        terms = {"start": start, "end": end, "days_on_site_per_month": 4}
        e = agreements.change_terms(db, agent, e.id, terms, "按实际聘任日期补录")
    assert e.agreement is not None
    digest = e.agreement.pdf_sha256
    agreements.confirm(db, enterprise, e.id, digest)
    agreements.confirm(db, agent, e.id, digest)
    if stage.key == "awaiting_talent":
        return
    pdf, _ = agreements.document(db, grader, e.id, None, "pdf")
    e = agreements.confirm(db, grader, e.id, digest, on_behalf_of_talent=True, signed_copy=("签字版.pdf", pdf))
    _serve(db, enterprise, e.id, date.fromisoformat(e.start_date), today)
    if stage.key == "ended_early":
        agreements.end_early(db, enterprise, e.id, "企业转产，经三方协商提前终止合作")
        return
    for party in (enterprise, agent):
        assessments.submit_form(db, party, e.id, 1, dict(SCORES), "按协议完成年度任务")
    if stage.key == "awaiting_grade":
        return
    grade = "良好" if stage.key == "reward_computed" else "优秀"
    assessments.record_grade(db, grader, e.id, 1, grade, "企业与中介评价良好以上；驻企天数基本达标；形成企业标准一项")
    r = rewards.compute_reward(db, grader, e.id, 1)  # the projects' rule: a fixed sum by grade
    if stage.key == "paid":
        rewards.commit(db, grader, r.id)
        rewards.pay(db, grader, r.id)


def _serve(db: Database, enterprise: Actor, engagement_id: int, start: date, today: date) -> None:
    """A service entry per month so far, the enterprise recording; every fourth month short of the agreed days."""
    day, n = start + timedelta(days=9), 0
    while day <= today:
        short = n % 4 == 3
        records.add_record(db, enterprise, engagement_id, service_date=day, days_on_site=1 if short else 4,
                           remote_hours=6, tasks="现场指导工艺调试，组织技术人员培训",
                           results={"people_trained": 2} if not short else {}, attachment_ids=[])
        day, n = add_months(day, 1), n + 1
