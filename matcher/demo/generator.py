"""Deterministic demo data: enterprises, talents, demands and graded relevance labels.

Every item is drawn from its own ``random.Random`` seeded by (seed, kind, index), so the n-th talent
is the same whether 2,000 or 1,000,000 are generated, and the stream can be written in batches with
bounded memory. Labels follow from construction: a talent whose topic is the demand's topic is
relevant; if the talent also works on the method the demand's problem needs most (hand-assigned in the
catalogue) the grade is 3, otherwise 2. A talent of another topic in the same group (e.g. mine gas vs.
roadway support, both "mine") has grade 1; everything else, including other groups of the same sector
(the hard distractors), has grade 0.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from matcher.demo.catalogue import TOPICS, Topic
from matcher.demo.organisations import COMPANIES, IN_PROVINCE, INTERMEDIARIES, OUTSIDE, Company, Institution
from matcher.domain.offices import OfficeTree
from matcher.reference import credit_check_char, load_region

SHANXI = load_region("shanxi")  # the demo is modelled on Shanxi, whatever region a deployment serves
SHANXI_OFFICES = OfficeTree(SHANXI)
CITIES = SHANXI.cities

SURNAMES = ("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"
            "余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
            "庞樊兰殷施陶洪翟安颜倪严牛温芦季俞章鲁葛伍韦申尤毕聂焦向柳邢路岳齐梅莫庄辛管祝左涂谷祁时舒耿牟卜詹关苗凌"
            "费纪靳盛童欧甄项曲成游阳裴席卫查屈鲍位覃霍翁隋植甘景薄单包司柏宁柯阮桂闵解强柴华车冉房边")
GIVEN = ("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建国志宏晓东海波云峰春梅林斌宇浩凯鑫俊"
         "婷欣颖佳琳瑞雪飞龙亮晨阳光荣新文博远昊天立泽思源嘉怡子轩雨彤振兴永康德胜利民卫晋忠孝诚毅坤鹤岚松柏")

TITLE_BY_KIND = {
    "university": (("教授", "senior"), ("副教授", "associate"), ("讲师", "intermediate")),
    "institute": (("研究员", "senior"), ("副研究员", "associate"), ("助理研究员", "intermediate")),
    "enterprise": (("正高级工程师", "senior"), ("高级工程师", "associate"), ("工程师", "intermediate")),
    "overseas": (("教授", "senior"), ("副教授", "associate"), ("研究员", "associate")),
    "other": (("正高级工程师", "senior"), ("高级工程师", "associate"), ("工程师", "intermediate")),
}

OPENERS = (
    "长期从事{d}研究，主要研究方向包括{m1}、{m2}和{m3}。",
    "研究方向为{d}，重点围绕{m1}与{m2}开展基础研究和工程应用，近年来在{m3}方面取得系列进展。",
    "{y}年来一直致力于{d}领域的科研与工程实践，擅长{m1}和{m2}，对{m3}有较深入的研究。",
    "围绕{d}，在{m1}、{m2}以及{m3}等方面开展了系统研究，注重理论方法与现场问题相结合。",
)
ENTERPRISE_OPENERS = (
    "在{org}从事{d}相关技术工作{y}年，负责{m1}和{m2}，熟悉{m3}。",
    "现任{org}技术负责人，{y}年来围绕{d}主要承担{m1}、{m2}等技术攻关，牵头{m3}相关改造项目。",
)
APPLICATIONS = (
    "相关成果已应用于{a1}和{a2}。",
    "曾参与{a1}等工程项目，为多家企业解决{a2}中的关键技术问题。",
    "研究成果在{a1}、{a2}中得到推广应用，具有丰富的现场经验。",
    "近年来与企业合作开展{a1}方面的技术攻关，并参与{a2}相关标准的制定。",
)
OVERSEAS_NOTE = ("曾在{loc}长期从事研究工作，熟悉国际前沿进展，可通过远程与定期来晋相结合的方式服务企业。",
                 "目前在{loc}任职，希望以项目合作或顾问方式参与国内企业技术攻关。")
AWARDS = ("山西省科学技术进步奖一等奖", "山西省科学技术进步奖二等奖", "中国煤炭工业协会科学技术奖一等奖",
          "国家科学技术进步奖二等奖", "中国产学研合作创新奖", "山西省技术发明奖二等奖", "中国有色金属工业科学技术奖")
TALENT_PROGRAMMES = ("国家级高层次人才", "山西省“三晋英才”拔尖骨干人才", "山西省学术技术带头人",
                     "国家优秀青年科学基金获得者", "享受国务院政府特殊津贴专家")
TIE_HOMES = CITIES
STUDY_PLACES = ("太原理工大学", "山西大学", "中北大学", "太原科技大学", "山西农业大学")

DEMAND_EXPECT = {
    "tech_vp": ("希望聘请一名科技副总，每月在企业工作不少于{n}天，牵头组建技术攻关团队。",
                "拟通过“科技副总”方式引进高校或科研院所专家，任期两年，负责技术路线把关。"),
    "dual_appointment": ("企业建有省级技术中心，可提供双聘岗位，与高校或科研院所共建联合研发团队。",
                         "希望以校企“双聘”方式合作，专家可在企业设立工作站并带研究生开展课题。"),
    "flexible": ("接受顾问指导、短期兼职或项目合作等柔性方式，省外专家亦可。",
                 "可采用候鸟式服务，专家每季度来企业现场工作一周，其余时间远程指导。",
                 "以项目合作方式推进，按节点考核，欢迎省内外专家团队揭榜。"),
}


#: The day the demo's deadlines are drawn from (30–210 days after it). Seeding moves them by the days between
#: this and the seeding day (``tools/seeding.py``), so a demo seeded in any year has its deadlines ahead.
DEADLINE_BASE = date(2026, 12, 1)

def credit_code(rng: random.Random, region: str = "140000") -> str:
    """A well-formed unified social credit code (valid check digit) for an enterprise in Shanxi (14)."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    body = "91" + region[:2] + f"{rng.randrange(100):02d}" + "00" + "".join(rng.choice(alphabet) for _ in range(9))
    return body + credit_check_char(body)


def _rng(seed: int, kind: str, i: int) -> random.Random:
    return random.Random(f"{seed}:{kind}:{i}")


# Which enterprises post which topics' problems (by a distinctive part of their name), so that a coal
# mine posts mining problems and a power plant posts boiler problems. Topics not listed fall back to any
# enterprise of the topic's sector.
POSTERS: dict[str, tuple[str, ...]] = {
    "mine_gas": ("塔山煤矿", "寺河煤矿", "屯兰矿", "新元煤矿", "王庄煤矿", "汾西矿业"),
    "rock_control": ("塔山煤矿", "屯兰矿", "新元煤矿", "王庄煤矿", "汾西矿业"),
    "smart_mining": ("塔山煤矿", "寺河煤矿", "屯兰矿", "王庄煤矿", "智慧矿山"),
    "coal_power": ("塔山发电", "漳泽电力"),
    "pv_storage": ("光伏电站", "漳泽电力", "晋中供电"),
    "hydrogen": ("氢能科技", "山西焦化", "梗阳新能源"),
    "grid": ("晋中供电", "漳泽电力", "屯兰矿"),
    "gasification": ("煤基清洁能源", "天脊煤化工", "华阳新材料科技集团化工", "丰喜肥业"),
    "fischer_tropsch": ("煤基清洁能源", "煤制油分公司"),
    "c1_chemistry": ("天脊煤化工", "华阳新材料科技集团化工", "煤基清洁能源"),
    "coking": ("山西焦化", "梗阳新能源", "宏达焦化"),
    "chem_wastewater": ("山西焦化", "宏达焦化", "煤制油分公司", "丰喜肥业"),
    "coal_carbon": ("沃能化工", "山西焦化", "钢科碳材料"),
    "coal_solid_waste": ("煤基清洁能源", "塔山发电", "生态修复", "汾西矿业"),
    "mining_machinery": ("平阳重工", "金鼎煤机", "天地煤机"),
    "heavy_equipment": ("太原重型机械", "中车太原"),
    "rail_equipment": ("轨道交通设备", "中车太原"),
    "hydraulics": ("榆次液压", "金鼎煤机", "平阳重工"),
    "precision_manufacturing": ("天地煤机", "太原重型机械", "华翔集团"),
    "condition_monitoring": ("塔山煤矿", "天地煤机", "太原钢铁", "塔山发电"),
    "welding_robotics": ("平阳重工", "金鼎煤机", "太原重型机械", "东方智能装备"),
    "wide_bandgap": ("碳化硅材料", "烁科晶体"),
    "optoelectronics": ("紫外光电", "光兴光电"),
    "mems_sensors": ("智慧矿山", "百信信息", "紫外光电"),
    "industrial_network": ("数字产业", "智慧矿山", "百信信息"),
    "industrial_internet": ("数字产业", "云时代", "太原钢铁"),
    "ics_security": ("云时代", "数字产业", "漳泽电力"),
    "power_electronics": ("百信信息", "天地煤机", "光兴光电"),
    "stainless_steel": ("太原钢铁", "精密带钢"),
    "light_alloys": ("银光华盛", "华翔集团"),
    "permanent_magnets": ("瑞赛科",),
    "refractory_ceramics": ("太原钢铁", "华翔集团"),
    "carbon_fiber_composites": ("钢科碳材料",),
    "biodegradable_polymers": ("可降解材料",),
    "battery_materials": ("瑞赛科", "沃能化工"),
    "visual_inspection": ("精密带钢", "东方智能装备", "云时代"),
    "video_safety": ("智慧矿山", "焦煤集团智能科技", "云时代"),
    "process_ai": ("焦煤集团智能科技", "山西焦化", "云时代"),
    "energy_forecasting": ("云时代", "晋中供电"),
    "llm_knowledge": ("焦煤集团智能科技", "云时代", "智慧矿山"),
    "robotics": ("东方智能装备", "智慧矿山"),
    "operations_research": ("交控物流", "焦煤集团智能科技"),
    "dryland_crops": ("沁州黄",),
    "herbal_medicine": ("振东制药", "广誉远"),
    "mine_ecology": ("生态修复",),
}


def enterprises(seed: int) -> list[dict[str, Any]]:
    out = []
    for i, c in enumerate(COMPANIES):
        rng = _rng(seed, "enterprise", i)
        out.append({"name": c.name, "credit_code": credit_code(rng), "city": c.city, "industry_code": c.industry,
                    "can_host_joint_post": c.joint_post, "sector": c.sector,
                    "county_code": _county(_rng(seed, "county", i), c.city)})
    return out


def _county(rng: random.Random, city: str) -> str | None:
    """A county of the company's city for the demo (its own random stream: nothing else drawn changes)."""
    office = SHANXI_OFFICES.city(city)
    counties = SHANXI_OFFICES.children(office.code) if office else ()
    return rng.choice(counties).code if counties else None


def person_name(rng: random.Random) -> str:
    given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.75 else "")
    return rng.choice(SURNAMES) + given


def _pick_institution(rng: random.Random, topic: Topic) -> tuple[Institution | Company, str]:
    roll = rng.random()
    if roll < 0.16:
        companies = [c for c in COMPANIES if c.sector == topic.sector] or list(COMPANIES)
        return rng.choice(companies), "enterprise"
    pool_in = [i for i in IN_PROVINCE if topic.sector in i.sectors]
    pool_out = [i for i in OUTSIDE if topic.sector in i.sectors]
    inst = rng.choice(pool_in) if roll < 0.62 and pool_in else rng.choice(pool_out or list(OUTSIDE))
    return inst, inst.kind


def _topic_for_talent(rng: random.Random) -> Topic:
    # Focus sectors dominate; "other" topics are rarer, as in the programme.
    weights = [0.4 if t.sector == "other" else 1.0 for t in TOPICS]
    return rng.choices(TOPICS, weights=weights, k=1)[0]


@dataclass(frozen=True)
class Label:
    """What a generated item is about, for relevance labels: its topic and method indices."""

    topic: str
    methods: frozenset[int]


def topic_of(seed: int, i: int) -> str:
    """The i-th talent's topic without generating the rest of it (the first draw of its generator)."""
    return _topic_for_talent(_rng(seed, "talent", i)).key


def _profile(rng: random.Random, topic: Topic, org: Institution | Company, kind: str, title: str, level: str,
             method_idx: list[int]) -> tuple[str, str, bool]:
    """The profile text, where the talent is, and whether that is in the province."""
    methods = [topic.methods[m] for m in method_idx]
    apps = rng.sample(topic.applications, 2)
    years = rng.randint(8, 30) if level == "senior" else rng.randint(4, 16)
    fmt = {"d": topic.direction, "m1": methods[0], "m2": methods[1], "m3": methods[2], "y": years,
           "a1": apps[0], "a2": apps[1], "org": org.name}
    text = rng.choice(ENTERPRISE_OPENERS).format(**fmt) if kind == "enterprise" else rng.choice(OPENERS).format(**fmt)
    text += rng.choice(APPLICATIONS).format(**fmt)
    if kind != "enterprise":
        text = f"{org.name}{title}。" + text
    in_province = isinstance(org, Company) or bool(org.city)
    location = org.city if isinstance(org, Company) else (org.city or org.location)
    if kind == "overseas":
        text += rng.choice(OVERSEAS_NOTE).format(loc=location)
    return text, location, in_province


def _record(rng: random.Random, kind: str, level: str) -> tuple[int, int, str]:
    """Patents, projects and the achievements sentence, scaled by title (contribution, not hats)."""
    scale = {"senior": 1.0, "associate": 0.55, "intermediate": 0.25}.get(level, 0.3)
    projects = max(1 if level in ("senior", "associate") else 0, round(rng.gauss(6 * scale, 2)))
    patents = max(0, round(rng.gauss(10 * scale, 3)))
    papers = max(3, round(rng.gauss(45 * scale, 10)))
    parts = []
    patent_text = f"授权发明专利{patents}项" if patents else "参与多项专利申请"
    if kind == "enterprise":
        lead = f"主持企业重大技术攻关项目{projects}项" if projects else "参与企业技术攻关项目多项"
        parts.append(f"{lead}，{patent_text}")
    else:
        nsfc = min(projects, rng.randint(1, 3))
        grants = [f"国家自然科学基金等国家级项目{nsfc}项"] if nsfc else []
        if projects - nsfc > 0:
            grants.append(f"省部级及企业委托项目{projects - nsfc}项")
        lead = ("主持" + "、".join(grants) + "，") if grants else "参与国家级与省部级项目多项，"
        parts.append(f"{lead}发表学术论文{papers}篇，{patent_text}")
    if level == "senior" and rng.random() < 0.55:
        parts.append("获" + rng.choice(AWARDS))
    if level == "senior" and rng.random() < 0.3:
        parts.append("入选" + rng.choice(TALENT_PROGRAMMES))
    return patents, projects, "；".join(parts) + "。"


def _ties(rng: random.Random, org: Institution | Company, in_province: bool) -> tuple[list[str], str]:
    """晋籍/晋历/晋缘 and their detail: those in the province worked here; some outside were born or
    studied here, a few have another connection."""
    ties: list[str] = []
    detail = []
    if in_province:
        ties.append("history")
        detail.append(f"在{org.name}工作")
        if rng.random() < 0.65:
            ties.append("born")
            detail.append(f"籍贯{rng.choice(TIE_HOMES)}")
    else:
        if rng.random() < 0.25:
            ties.append("born")
            detail.append(f"籍贯山西{rng.choice(TIE_HOMES)}")
        if rng.random() < 0.18:
            ties.append("history")
            detail.append(f"本科毕业于{rng.choice(STUDY_PLACES)}")
        if rng.random() < 0.1:
            ties.append("other")
            detail.append(rng.choice(("配偶在太原工作", "曾主持山西企业合作项目", "山西籍校友会成员")))
    return ties, "；".join(detail)


def _willingness(rng: random.Random, kind: str, level: str, in_province: bool) -> tuple[dict[str, int], list[str]]:
    """Capacity per engagement mode and the flexible forms offered (academics may be 科技副总 or 双聘)."""
    capacity: dict[str, int] = {}
    academic = kind in ("university", "institute")
    if academic and level in ("senior", "associate") and rng.random() < 0.65:
        capacity["tech_vp"] = 2 if rng.random() < 0.1 else 1
    if academic and rng.random() < 0.5:
        capacity["dual_appointment"] = 1
    forms: list[str] = []
    if rng.random() < 0.88:
        capacity["flexible"] = rng.randint(1, 3)
        all_forms = ["advisory", "part_time", "project", "seasonal"]
        if not in_province:
            all_forms += ["advisory", "seasonal"]
        forms = sorted(set(rng.sample(all_forms, rng.randint(1, 3))))
    if not capacity:
        capacity["flexible"] = 1
        forms = ["advisory"]
    return capacity, forms


def talent(seed: int, i: int) -> tuple[dict[str, Any], Label]:
    """The i-th talent as model column values, and its label (topic and methods). The steps draw from
    one generator in a fixed order, so the n-th talent never changes."""
    rng = _rng(seed, "talent", i)
    topic = _topic_for_talent(rng)
    org, kind = _pick_institution(rng, topic)
    title, level = rng.choices(TITLE_BY_KIND[kind], weights=(0.45, 0.38, 0.17), k=1)[0]
    method_idx = rng.sample(range(len(topic.methods)), 3)
    text, location, in_province = _profile(rng, topic, org, kind, title, level, method_idx)
    patents, projects, achievements = _record(rng, kind, level)
    ties, tie_detail = _ties(rng, org, in_province)
    capacity, forms = _willingness(rng, kind, level, in_province)
    name = person_name(rng)
    domain = "example.com" if isinstance(org, Company) else org.domain
    row = {
        "external_id": f"T{i + 1:07d}",
        "name": name,
        "affiliation": org.name,
        "institution_type": kind,
        "title_level": level,
        "title": title,
        "discipline_codes": [topic.nsfc],
        "sector": topic.sector,
        "research_fields": [topic.direction, *[topic.methods[m] for m in method_idx[:2]]],
        "profile": text,
        "achievements": achievements,
        "patents": patents,
        "projects": projects,
        "mode_capacity": capacity,
        "flexible_forms": forms,
        "city": location,
        "in_province": in_province,
        "province_ties": ties,
        "tie_detail": tie_detail,
        "phone": f"1{rng.choice('3589')}{rng.randrange(10**9):09d}",
        "email": f"expert{i + 1:07d}@{domain}",
        "external_engagements": rng.choices((0, 1, 2), weights=(0.75, 0.2, 0.05), k=1)[0],
        "tier": _tier(_rng(seed, "tier", i), level),
        "_employer": org.name if isinstance(org, Company) else None,
    }
    return row, Label(topic.key, frozenset(method_idx))


def _tier(rng: random.Random, level: str) -> str | None:
    """The 英才计划 tier of a few (its own generator: the talents drawn before tiers existed stay the same)."""
    r = rng.random()
    if level == "senior":
        return "outstanding" if r < 0.04 else "leading" if r < 0.15 else None
    return "young" if level == "associate" and r < 0.12 else None


def iter_talents(seed: int, n: int, start: int = 0) -> Iterator[tuple[dict[str, Any], Label]]:
    for i in range(start, n):
        yield talent(seed, i)


def _problem_schedule(seed: int, n: int) -> list[tuple[Topic, int]]:
    """Every problem appears before any repeats, in a seeded order, so 300 demands cover all 135."""
    pairs = [(t, k) for t in TOPICS for k in range(len(t.problems))]
    out: list[tuple[Topic, int]] = []
    r = 0
    while len(out) < n:
        block = pairs[:]
        random.Random(f"{seed}:schedule:{r}").shuffle(block)
        out.extend(block)
        r += 1
    return out[:n]


def demands(seed: int, n: int, companies: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[Label]]:
    schedule = _problem_schedule(seed, n)
    seen: dict[tuple[str, int], int] = {}
    out, labels = [], []
    base = DEADLINE_BASE
    for j, (topic, k) in enumerate(schedule):
        rng = _rng(seed, "demand", j)
        problem = topic.problems[k]
        occurrence = seen.get((topic.key, k), 0)
        seen[(topic.key, k)] = occurrence + 1
        marks = POSTERS.get(topic.key, ())
        pool = ([c for c in companies if any(m in c["name"] for m in marks)]
                or [c for c in companies if c["sector"] == topic.sector] or companies)
        company = pool[(occurrence + rng.randrange(len(pool))) % len(pool)]
        modes = sorted(set(rng.choices(["tech_vp", "dual_appointment", "flexible"], weights=(0.45, 0.25, 0.6),
                                       k=rng.randint(1, 2))))
        if "dual_appointment" in modes and not company["can_host_joint_post"]:
            modes = [m for m in modes if m != "dual_appointment"] or ["flexible"]
        expect = " ".join(rng.choice(DEMAND_EXPECT[m]).format(n=rng.choice((4, 6, 8))) for m in modes)
        budget_min = rng.choice((20, 30, 50, 80, 100, 150))
        budget_max = budget_min * rng.choice((2, 3))
        months = rng.choice((6, 12, 18, 24))
        title = problem.title if occurrence == 0 else (
            f"{problem.title}（{company['city']}）" if occurrence == 1 else f"{company['name'][:4]}：{problem.title}")
        description = (f"{problem.description}{expect}项目预算{budget_min}—{budget_max}万元，"
                       f"预计周期{months}个月。")
        out.append({
            "external_id": f"D{j + 1:05d}",
            "enterprise": company["name"],
            "title": title,
            "description": description,
            "sector": topic.sector,
            "industry_code": company["industry_code"],
            "keywords": rng.sample(topic.keywords, 3),
            "modes": modes,
            "city": company["city"],
            "budget_min": float(budget_min),
            "budget_max": float(budget_max),
            "duration_months": months,
            "deadline": base + timedelta(days=rng.randint(30, 210)),
        })
        labels.append(Label(topic.key, frozenset({problem.focus})))
    return out, labels


def intermediaries() -> list[dict[str, Any]]:
    return [{"name": n, "city": c} for n, c in INTERMEDIARIES]


def qrels(demand_labels: list[Label], talent_labels: list[Label]) -> list[tuple[int, int, int]]:
    """(demand index, talent index, grade) for every pair with grade ≥ 1, by construction."""
    group = {t.key: t.group for t in TOPICS}
    out = []
    for d, dl in enumerate(demand_labels):
        for t, tl in enumerate(talent_labels):
            if tl.topic == dl.topic:
                out.append((d, t, 3 if dl.methods <= tl.methods else 2))
            elif group[tl.topic] == group[dl.topic]:
                out.append((d, t, 1))
    return out
