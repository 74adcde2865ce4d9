"""The demand, declared once: every attribute with its Chinese label, its import column and whether the
enterprise may edit it after posting.

Derived from this list: the import/export spec (``COLUMNS``), the fields an enterprise edits
(``EDITABLE``, ``services/workflow/demands.py``) and the console's labels. The ORM columns, the request
models (``DemandIn``/``DemandPatch``) and ``DemandView`` are typed classes of their own;
``tests/domain/test_declarations.py`` fails when one of them disagrees with this list.
"""

from __future__ import annotations

from dataclasses import dataclass

from matcher import tabular as tab
from matcher.domain import modes
from matcher.domain.vocabulary import Sector
from matcher.validation import MAX_MONTHS


@dataclass(frozen=True)
class DemandField:
    name: str
    label: str
    column: tab.Column | None
    editable: bool  # the enterprise may change it while the demand is open
    stored: bool = True  # a column of the demand itself (the enterprise's name, code and county are the company's)


C = tab.column
#: Characters per structured part (current state, target indicators, site conditions).
MAX_PART = 5000

FIELDS: tuple[DemandField, ...] = (
    DemandField("external_id", "需求编号", C("external_id", "编号 需求编号 榜单编号", tab.line_or_text(64),
                                              required=True), editable=False),
    DemandField("enterprise", "企业名称", C("enterprise", "企业 企业名称 发榜单位", tab.line_or_text(200),
                                            required=True), editable=False, stored=False),
    DemandField("title", "需求名称", C("title", "标题 需求名称 榜单名称", tab.line_or_text(200), required=True),
                editable=True),
    DemandField("description", "需求描述", C("description", "描述 需求描述 技术需求",
                                             tab.line_or_text(20000, multiline=True), required=True), editable=True),
    DemandField("credit_code", "统一社会信用代码", C("credit_code", "统一社会信用代码 信用代码", tab.credit,
                                                     default=None), editable=False, stored=False),
    DemandField("county", "所在区县", C("county", "区县 所在区县 县区 企业所在区县", tab.county, default=None,
                                        fmt=tab.fmt_county), editable=False, stored=False),
    # The structured parts of a demand worth posting (``engine/completeness.py`` reads them beside the
    # description); optional import columns, blank on older rows.
    DemandField("current_state", "现状", C("current_state", "现状 目前现状 现状描述", tab.line_or_text(
        MAX_PART, multiline=True), default=""), editable=True),
    DemandField("target_indicators", "目标指标", C("target_indicators", "目标指标 考核指标 目标", tab.line_or_text(
        MAX_PART, multiline=True), default=""), editable=True),
    DemandField("site_conditions", "现场条件", C("site_conditions", "现场条件 现场条件与资源 现场", tab.line_or_text(
        MAX_PART, multiline=True), default=""), editable=True),
    # The programme the demand is posted into (``data/programmes``); none: its modes' default programme.
    DemandField("programme", "所属项目", None, editable=True),
    DemandField("sector", "产业领域", C("sector", "领域 产业领域", tab.enum_value(Sector), default=None),
                editable=True),
    DemandField("industry_code", "行业代码", C("industry_code", "行业代码 国民经济行业代码", tab.industry, default=""),
                editable=True),
    DemandField("keywords", "关键词", C("keywords", "关键词", tab.text_list(20, 50), default=list, fmt=tab.fmt_list),
                editable=True),
    DemandField("modes", "引才方式", C("modes", "引才方式 需求模式 模式", tab.mode_list,
                                       default=lambda: [modes.DEFAULT], fmt=tab.fmt_list), editable=True),
    DemandField("city", "城市", C("city", "城市 所在地", tab.line_or_text(50), default=""), editable=True),
    DemandField("budget_min", "预算下限", C("budget_min", "预算下限 预算下限万元", tab.amount, default=None),
                editable=True),
    DemandField("budget_max", "预算上限", C("budget_max", "预算上限 预算上限万元", tab.amount, default=None),
                editable=True),
    DemandField("duration_months", "服务周期", C("duration_months", "周期 周期月 服务周期",
                                                 lambda raw: tab.whole(raw, upper=MAX_MONTHS), default=None),
                editable=True),
    DemandField("deadline", "截止日期", C("deadline", "截止日期 揭榜截止", tab.day, default=None), editable=True),
    DemandField("proposals_wanted", "推荐人数", C("proposals_wanted", "推荐人数", lambda raw: tab.whole(raw, upper=20),
                                                  default=3), editable=True),
)

BY_NAME: dict[str, DemandField] = {f.name: f for f in FIELDS}
COLUMNS: tuple[tab.Column, ...] = tuple(f.column for f in FIELDS if f.column is not None)
EDITABLE: tuple[str, ...] = tuple(f.name for f in FIELDS if f.editable)
LABELS: dict[str, str] = {f.name: f.label for f in FIELDS}
