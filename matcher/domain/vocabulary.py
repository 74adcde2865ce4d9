"""Domain vocabulary shared by every layer: institution kinds, titles, roles, states, and their labels.

The engagement modes are a registry of their own (``domain/modes.py``); ``domain/labels.py`` gives the
Chinese label of any stored value, modes and the region's wording included.

The Chinese labels are what users read; the English values are what code and the database store, so a
label can be reworded without a migration.
"""

from __future__ import annotations

from enum import StrEnum


class FlexibleForm(StrEnum):
    ADVISORY = "advisory"
    PART_TIME = "part_time"
    PROJECT = "project"
    SEASONAL = "seasonal"


class InstitutionType(StrEnum):
    UNIVERSITY = "university"
    INSTITUTE = "institute"
    ENTERPRISE = "enterprise"
    OVERSEAS = "overseas"
    OTHER = "other"


class TitleLevel(StrEnum):
    SENIOR = "senior"  # 正高
    ASSOCIATE = "associate"  # 副高
    INTERMEDIATE = "intermediate"  # 中级
    OTHER = "other"


class TieKind(StrEnum):
    BORN = "born"  # 晋籍
    HISTORY = "history"  # 晋历: studied or worked in the province
    OTHER = "other"  # 晋缘: spouse, alumni, former projects


class Role(StrEnum):
    ENTERPRISE = "enterprise"
    INTERMEDIARY = "intermediary"
    OFFICIAL = "official"
    ADMIN = "admin"
    TALENT = "talent"  # a talent signed in with an invitation: their own record only


class DemandStatus(StrEnum):
    INCOMPLETE = "incomplete"  # 待完善: below the completeness threshold, in the office's queue, not on the board
    OPEN = "open"
    TAKEN_UP = "taken_up"
    MATCHED = "matched"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"


class MatchStatus(StrEnum):
    SHORTLISTED = "shortlisted"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    RETURNED = "returned"  # sent back by a first review (初审) to be revised and resubmitted
    RESUBMITTED = "resubmitted"
    ENGAGED = "engaged"
    OUTCOME_REPORTED = "outcome_reported"
    REWARDED = "rewarded"
    NOT_REWARDED = "not_rewarded"


class Grade(StrEnum):
    """An engagement's assessment grade for one period, recorded by the grading office (考核等次)."""

    EXCELLENT = "excellent"  # 优秀
    GOOD = "good"  # 良好
    PASS = "pass"  # 合格
    FAIL = "fail"  # 不合格


class Payee(StrEnum):
    """Who a 奖补 rule pays (labelled as the roles are: 企业, 人才, 中介机构)."""

    ENTERPRISE = "enterprise"  # the host enterprise (用人单位)
    TALENT = "talent"
    INTERMEDIARY = "intermediary"


class AgreementStatus(StrEnum):
    DRAFT = "draft"  # awaiting the parties' confirmations
    CONFIRMED = "confirmed"  # every party confirmed this version: the engagement runs under it
    SUPERSEDED = "superseded"  # a later version replaced it (kept, never deleted)


class EngagementStatus(StrEnum):
    AWAITING_AGREEMENT = "awaiting_agreement"  # approved; the agreement is not confirmed by all yet
    ACTIVE = "active"
    ENDED = "ended"  # its term ran out or every period was graded
    ENDED_EARLY = "ended_early"  # ended before its term, with a reason


class RewardStatus(StrEnum):
    COMPUTED = "computed"  # the rule's amount, not yet approved by the budget holder
    OVERRIDE_PENDING = "override_pending"  # an official changed the amount; a second official must approve
    COMMITTED = "committed"  # approved by the budget holder: committed against the budgets
    PAID = "paid"
    REFUSED = "refused"


class Sector(StrEnum):
    ENERGY = "energy"
    COAL_CHEMICAL = "coal_chemical"
    EQUIPMENT = "equipment"
    ELECTRONICS = "electronics"
    MATERIALS = "materials"
    AI = "ai"
    OTHER = "other"


LABELS: dict[str, str] = {
    FlexibleForm.ADVISORY: "顾问指导",
    FlexibleForm.PART_TIME: "短期兼职",
    FlexibleForm.PROJECT: "项目合作",
    FlexibleForm.SEASONAL: "候鸟服务",
    InstitutionType.UNIVERSITY: "高校",
    InstitutionType.INSTITUTE: "科研院所",
    InstitutionType.ENTERPRISE: "企业",
    InstitutionType.OVERSEAS: "海外",
    InstitutionType.OTHER: "其他",
    TitleLevel.SENIOR: "正高",
    TitleLevel.ASSOCIATE: "副高",
    TitleLevel.INTERMEDIATE: "中级",
    TitleLevel.OTHER: "其他",
    # The ties' labels come from the region file (see ``label``); these are Shanxi's, the demo's region.
    TieKind.BORN: "晋籍",
    TieKind.HISTORY: "晋历",
    TieKind.OTHER: "晋缘",
    Grade.EXCELLENT: "优秀",
    Grade.GOOD: "良好",
    Grade.PASS: "合格",
    Grade.FAIL: "不合格",
    AgreementStatus.DRAFT: "待确认",
    AgreementStatus.CONFIRMED: "已确认",
    AgreementStatus.SUPERSEDED: "已被新版本取代",
    EngagementStatus.AWAITING_AGREEMENT: "待签协议",
    EngagementStatus.ACTIVE: "服务中",
    EngagementStatus.ENDED: "已结束",
    EngagementStatus.ENDED_EARLY: "提前终止",
    RewardStatus.COMPUTED: "已核算",
    RewardStatus.OVERRIDE_PENDING: "调整待复核",
    RewardStatus.COMMITTED: "已批准",
    RewardStatus.PAID: "已拨付",
    RewardStatus.REFUSED: "不予奖补",
    Sector.ENERGY: "能源",
    Sector.COAL_CHEMICAL: "现代煤化工",
    Sector.EQUIPMENT: "高端装备",
    Sector.ELECTRONICS: "电子信息",
    Sector.MATERIALS: "新材料",
    Sector.AI: "人工智能",
    Sector.OTHER: "其他",
    Role.ENTERPRISE: "企业",
    Role.INTERMEDIARY: "中介机构",
    Role.OFFICIAL: "审核人员",
    Role.ADMIN: "管理员",
    Role.TALENT: "人才",
    "system": "系统",
    MatchStatus.SHORTLISTED: "候选",
    MatchStatus.SUBMITTED: "待审核",
    MatchStatus.APPROVED: "审核通过",
    MatchStatus.REJECTED: "已驳回",
    MatchStatus.RETURNED: "退回修改",
    MatchStatus.RESUBMITTED: "重新提交",
    MatchStatus.ENGAGED: "合作中",
    MatchStatus.OUTCOME_REPORTED: "已报成效",
    MatchStatus.REWARDED: "已奖补",
    MatchStatus.NOT_REWARDED: "不予奖补",
    # audit actions, as the history shows them
    "post": "出榜",
    "edit": "修改需求",
    "withdraw": "撤回需求",
    "take_up": "揭榜",
    "shortlist": "加入候选",
    "contact": "联络人才",
    "submit": "提交审核",
    "resubmit": "重新提交",
    "approve": "审核通过",
    "reject": "驳回",
    "recommend": "初审推荐",
    "send_back": "退回修改",
    "supply": "补齐容缺材料",
    "publish": "发布到榜单",
    "return_demand": "退回完善",
    "expire": "到期自动关闭",
    "extend": "延长揭榜期限",
    "match": "需求匹配成功",
    "confirm": "确认合作",
    "report_outcome": "报告成效",
    "reward": "给予奖补",
    "no_reward": "不予奖补",
    "close": "关闭需求",
    "round_propose": "批量匹配推荐",
    "answer": "人才答复",
    "talent_edit": "人才修改资料",
    "consent": "授权变更",
    "talent_withdraw": "人才撤回",
    "invite": "发出邀请",
    "merge": "合并重复记录",
    "distinct": "确认非同一人",
    DemandStatus.INCOMPLETE: "待完善",
    DemandStatus.OPEN: "已出榜",
    DemandStatus.TAKEN_UP: "已揭榜",
    DemandStatus.MATCHED: "已匹配",
    DemandStatus.CLOSED: "已结束",
    DemandStatus.WITHDRAWN: "已撤回",
}
