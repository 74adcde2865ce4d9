"""The talent, declared once: every attribute with its Chinese label, who may correct it, its import
column, whether it is personal data and whether the engine reads it.

Derived from this list: the import/export spec (``COLUMNS``), the fields a talent corrects themselves
(``SELF_EDITABLE`` and the API's patch model, ``api/schemas.py``), what withdrawal erases (``PERSONAL``)
and what the audit trail may not copy, the engine's facts (``services/pool/facts.to_facts``), the
console's labels and the view (``services/access``). The ORM columns, ``TalentView`` and ``TalentFacts``
are classes of their own (typed, documented); ``tests/domain/test_declarations.py`` fails when one of
them disagrees with this list. Adding an attribute: a ``TalentField`` here, its column in
``storage/models.py`` with a migration, and the view or facts field the test then asks for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from pydantic import Field

from matcher import tabular as tab
from matcher.domain import modes
from matcher.domain.vocabulary import FlexibleForm, InstitutionType, Sector, TieKind, TitleLevel
from matcher.validation import Line, ModeCode, Text

#: Who may correct a field: the talent on their own page, or the office (imports, an official's edit).
TALENT, OFFICE = "talent", "office"


@dataclass(frozen=True)
class TalentField:
    name: str
    label: str
    column: tab.Column | None  # import/export; None: not in files
    editors: frozenset[str]
    personal: bool  # identifies or describes the person: erased (or pseudonymised) at withdrawal
    engine: bool = False  # copied into the engine's facts (TalentFacts)
    view: bool = True  # part of TalentView (what callers read)
    contact: bool = False  # masked until released (and exported only when asked)
    patch: Any = None  # the pydantic type a talent's own correction is checked with (SELF_EDITABLE only)
    erased: Callable[[], Any] | None = None  # the value withdrawal leaves (default: the column's default)

    def empty(self) -> Any:
        if self.erased is not None:
            return self.erased()
        if self.column is None:
            return None
        default = self.column.default
        return default() if callable(default) else default


def _f(name: str, label: str, column: tab.Column | None, editors: str, personal: bool, **kw: Any) -> TalentField:
    return TalentField(name, label, column, frozenset(editors.split()), personal, **kw)


C = tab.column
_ties_list = tab.enum_list(TieKind)

FIELDS: tuple[TalentField, ...] = (
    _f("external_id", "编号", C("external_id", "编号 人才编号", tab.line_or_text(64), required=True), "office",
       personal=False, engine=True),
    _f("name", "姓名", C("name", "姓名", tab.line_or_text(100), required=True), "office", personal=True, engine=True),
    _f("profile", "个人简介", C("profile", "简介 个人简介 研究简介 专长", tab.line_or_text(20000, multiline=True),
                                required=True), "talent office", personal=True,
       patch=Annotated[Text, Field(min_length=10, max_length=20000)], erased=lambda: "（本人已撤回，资料已删除）"),
    _f("affiliation", "单位", C("affiliation", "单位 工作单位 所在单位", tab.line_or_text(200), default=""), "office",
       personal=True),
    _f("institution_type", "单位类型", C("institution_type", "单位类型 机构类型", tab.enum_value(InstitutionType),
                                         default="other"), "office", personal=False, engine=True),
    _f("title", "职称", C("title", "职称", tab.line_or_text(50), default=""), "office", personal=True),
    _f("title_level", "职称级别", C("title_level", "职称级别 职称等级", tab.enum_value(TitleLevel), default="other"),
       "office", personal=False, engine=True),
    _f("discipline_codes", "学科代码", C("discipline_codes", "学科代码", tab.nsfc_list, default=list,
                                         fmt=tab.fmt_list), "office", personal=True),
    _f("sector", "产业领域", C("sector", "领域 产业领域", tab.enum_value(Sector), default="other"), "office",
       personal=False, engine=True),
    _f("research_fields", "研究方向", C("research_fields", "研究领域 研究方向", tab.text_list(30, 100), default=list,
                                        fmt=tab.fmt_list), "talent office", personal=True,
       patch=Annotated[list[Annotated[Line, Field(min_length=1, max_length=100)]], Field(max_length=30)]),
    _f("achievements", "主要成果", C("achievements", "成果 主要成果 业绩", tab.line_or_text(20000, multiline=True),
                                     default=""), "talent office", personal=True,
       patch=Annotated[Text, Field(max_length=20000)]),
    _f("patents", "专利数", C("patents", "专利数 发明专利", tab.whole, default=0), "office", personal=True,
       engine=True),
    _f("projects", "项目数", C("projects", "项目数 主持项目", tab.whole, default=0), "office", personal=True,
       engine=True),
    _f("mode_capacity", "服务意愿", C("mode_capacity", "服务模式 意愿模式 模式容量", tab.capacity,
                                      default=lambda: {modes.DEFAULT: 1}, fmt=tab.fmt_capacity),
       "talent office", personal=True, engine=True, erased=dict,
       patch=dict[ModeCode, Annotated[int, Field(ge=0, le=10)]]),
    _f("flexible_forms", "柔性服务形式", C("flexible_forms", "柔性形式 柔性方式", tab.enum_list(FlexibleForm),
                                           default=list, fmt=tab.fmt_list), "talent office", personal=True,
       engine=True, patch=Annotated[list[FlexibleForm], Field(max_length=4)]),
    _f("city", "城市", C("city", "城市 所在地", tab.line_or_text(50), default=""), "talent office", personal=True,
       engine=True, patch=Annotated[Line, Field(max_length=50)]),
    _f("in_province", "是否在省内", C("in_province", "是否省内 省内", tab.yes_no, default=True), "talent office",
       personal=True, engine=True, patch=bool),
    # The import header of the ties is also the region's own wording (晋缘关系 / 与山西关系: tabular.header_map).
    _f("province_ties", "与本省渊源", C("province_ties", "省籍关系 地缘关系", _ties_list, default=list,
                                        fmt=tab.fmt_list), "talent office", personal=True, engine=True,
       patch=Annotated[list[TieKind], Field(max_length=3)]),
    _f("tie_detail", "渊源说明", C("tie_detail", "关系说明", tab.line_or_text(300), default=""), "talent office",
       personal=True, patch=Annotated[Line, Field(max_length=300)]),
    _f("external_engagements", "在外任职数", C("external_engagements", "在外任职数 现有兼职", tab.whole, default=0),
       "office", personal=True, engine=True, view=False),
    _f("available_from", "可服务起始日期", C("available_from", "可服务起始日期 可服务起始", tab.day, default=None),
       "talent office", personal=True, engine=True, patch=date),
    _f("available_until", "可服务截止日期", C("available_until", "可服务截止日期 可服务截止", tab.day, default=None),
       "talent office", personal=True, engine=True, patch=date),
    # The programmes' talent tier (英才计划: 杰出 / 领军 / 青年; codes in the programme file's talent_tiers).
    _f("tier", "人才层次", C("tier", "人才层次 层次 英才计划层次", tab.tier, default=None, fmt=tab.fmt_tier), "office",
       personal=True, engine=True),
    _f("active", "在库", C("active", "有效 是否有效 在库", tab.yes_no, default=True), "office", personal=False,
       view=False),  # 否 takes a talent out of the pool
    _f("phone", "手机号", C("phone", "电话 手机 联系电话", tab.line_or_text(30), default="", contact=True),
       "talent office", personal=True, contact=True,
       patch=Annotated[str, Field(max_length=30, pattern=r"^[0-9+\-() ]*$")]),
    _f("email", "电子邮箱", C("email", "邮箱 电子邮箱", tab.line_or_text(120), default="", contact=True),
       "talent office", personal=True, contact=True,
       patch=Annotated[str, Field(max_length=120, pattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$")]),
    _f("employer_enterprise_id", "所在企业", None, "office", personal=True, engine=True, view=False),
)

BY_NAME: dict[str, TalentField] = {f.name: f for f in FIELDS}
COLUMNS: tuple[tab.Column, ...] = tuple(f.column for f in FIELDS if f.column is not None)
SELF_EDITABLE: tuple[str, ...] = tuple(f.name for f in FIELDS if TALENT in f.editors)
PERSONAL: frozenset[str] = frozenset(f.name for f in FIELDS if f.personal)
CONTACT: frozenset[str] = frozenset(f.name for f in FIELDS if f.contact)
ENGINE: tuple[str, ...] = tuple(f.name for f in FIELDS if f.engine)
VIEW: tuple[str, ...] = tuple(f.name for f in FIELDS if f.view)
LABELS: dict[str, str] = {f.name: f.label for f in FIELDS}

#: What withdrawal keeps of the record besides its id and bookkeeping columns (docs/privacy.md): the
#: office's own list number, so a re-import of that list can recognise the record and skip it, and the
#: categories the programme's statistics count by.
KEPT_AFTER_WITHDRAWAL: frozenset[str] = frozenset(f.name for f in FIELDS if not f.personal)


def profile_text(profile: str, research_fields: list[str] | tuple[str, ...], achievements: str) -> str:
    """The text the embedding model and the lexical index read for a talent (one definition, used by the
    database model, the benchmarks and the tests, so they all match the same text)."""
    parts = [profile]
    if research_fields:
        parts.append("研究领域：" + "、".join(research_fields))
    if achievements:
        parts.append(achievements)
    return "\n".join(p for p in parts if p)
