"""The three-party engagement agreement (三方协议): one data object, one list of sections, two renderings.

The parties are the enterprise (甲方, 用人单位), the talent (乙方, 人才) and the intermediary (丙方, 中介机构);
the office witnesses (见证单位). ``AgreementTerms`` is plain data (no database); ``terms_from`` builds it
from untrusted input and raises ``Invalid`` naming the field. ``sections`` turns the terms into the ordered
sections of the agreement — headings, paragraphs, an optional table, the signature block — and both
renderers walk that one list, so the Word draft and the PDF cannot say different things:

- ``render_docx``: the editable Word draft, built with python-docx. Not docxtpl: docxtpl fills a .docx
  made by hand in Word with Jinja tags inside Word's XML, so the agreement's text would live in a second
  template beside ``templates/agreement.html`` and the two could drift apart — the very thing the one list
  of sections prevents — and a binary template cannot be reviewed in a diff. python-docx writes the list
  as real Word headings, paragraphs and tables that the parties can edit.
- ``render_pdf``: the text the parties confirm, from the Jinja2 template ``templates/agreement.html``
  (autoescaped: stored text such as ``<script>`` is shown literally) and ``templates/agreement.css``,
  laid out by weasyprint on A4 with page numbers.

The PDF is reproducible: weasyprint writes a creation or modification date only when the HTML carries
``dcterms.created``/``dcterms.modified`` meta tags (the template has none) and a file identifier only when
asked (``pdf_identifier``), and with HarfBuzz subsetting (Debian ``libharfbuzz-subset0``;
``pdf_reproducible``) its font subsets depend on the glyphs used only — so the same terms give the same
bytes (tested), which is what lets every party confirm one SHA-256 (``sha256_hex``). Without HarfBuzz
subsetting weasyprint falls back to fontTools, which stamps the time into each subset. Another weasyprint or
Noto CJK version may lay out or subset differently: confirm the hash of the bytes stored, never of a new
rendering. The Word draft is not reproducible (python-docx stamps the time into the zip entries); it is the
draft to edit, not the text to sign.

Stored text always renders: characters XML cannot carry (C0/C1 controls other than tab and newline, lone
surrogates, U+FFFE/U+FFFF) are dropped (``clean_text``), newlines and tabs are kept, and the CSS wraps a
word of any length (``overflow-wrap: anywhere``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any

from matcher.domain import modes
from matcher.errors import Invalid

TEMPLATES = Path(__file__).parent / "templates"

# ------------------------------------------------------------------ text helpers
#: What XML 1.0 cannot carry (or carries only to show a box): C0 controls but tab and newline, DEL and the
#: C1 controls, lone surrogates, and the two non-characters U+FFFE/U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")

PAY_PERIODS: dict[str, str] = {"month": "月", "year": "年"}


def clean_text(text: str) -> str:
    """``text`` with every character Word's XML (and so python-docx) rejects dropped; carriage returns
    become newlines, and tabs and newlines are kept (they render as tabs and line breaks in both files)."""
    return _NOT_XML.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def format_yuan(amount: int, per: str | None = None) -> str:
    """``20,000元/月``: whole yuan with thousands separators, per month or per year (``per``) or neither."""
    text = f"{amount:,}元"
    return f"{text}/{PAY_PERIODS[per]}" if per else text


def format_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def sha256_hex(data: bytes) -> str:
    """The digest the parties confirm: SHA-256 of the PDF bytes, 64 lowercase hex digits."""
    return hashlib.sha256(data).hexdigest()


def _add_months(day: date, months: int) -> date:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    last = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month, min(day.day, last))


def _term_months(start: date, end: date) -> int | None:
    """The term in whole months when ``end`` is the day before a month anniversary of ``start`` (a term
    from 1 March to 28 February is 12 months), else None."""
    after = end + timedelta(days=1)
    months = (after.year - start.year) * 12 + after.month - start.month
    return months if months > 0 and _add_months(start, months) == after else None


def term_text(start: date, end: date) -> str:
    """``3年``, ``18个月`` or ``45天``: the length of an inclusive term, as the agreement states it."""
    months = _term_months(start, end)
    if months is None:
        return f"{(end - start).days + 1}天"
    return f"{months // 12}年" if months % 12 == 0 else f"{months}个月"


def _numeral(n: int) -> str:
    """Chinese numerals 1–99 for the section headings: 一, 十, 十四, 二十一."""
    digits = "零一二三四五六七八九"
    tens, units = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else f"{digits[tens]}十")
    return head + (digits[units] if units else "") if n else digits[0]


# ------------------------------------------------------------------ clause options
@dataclass(frozen=True)
class ClauseOption:
    """One choice of a clause: its key (stored), what the form shows, and the agreement's text. The text
    may name ``{enterprise}``, ``{talent}``, ``{noncompete_months}``, ``{ratio}`` (the talent's share of
    net income, per cent) and ``{rest}``; ``needs`` is the terms field the option requires."""

    key: str
    label: str
    paragraphs: tuple[str, ...]
    needs: str | None = None


def _registry(*options: ClauseOption) -> dict[str, ClauseOption]:
    return {o.key: o for o in options}


_SECRECY = (
    "乙方、丙方对在履行本协议过程中知悉的甲方技术秘密和经营信息负有保密义务，未经甲方书面同意，不得向任何第三方"
    "披露，也不得用于本协议以外的目的。",
    "保密义务自本协议签订之日起生效，至相关信息依法公开之日止，不因本协议的变更、解除或终止而免除。",
)

CONFIDENTIALITY: dict[str, ClauseOption] = _registry(
    ClauseOption("standard", "标准保密条款", _SECRECY),
    ClauseOption("enhanced", "加强保密（含竞业限制期限）", (
        *_SECRECY,
        "甲方可对涉密资料标明密级并限定知悉范围；乙方应按甲方要求签署保密承诺书，并在本协议终止时返还或销毁全部"
        "涉密资料及其复制件。",
        "本协议终止后{noncompete_months}个月内，乙方不得在与甲方有竞争关系的单位从事相同或相近的技术工作。竞业限制"
        "期间甲方按月向乙方支付经济补偿，标准由甲乙双方另行书面约定；甲方未按约定支付的，乙方不受本款约束。",
    ), needs="noncompete_months"),
)

INTELLECTUAL_PROPERTY: dict[str, ClauseOption] = _registry(
    ClauseOption("enterprise", "归甲方所有", (
        "乙方在履行本协议过程中为完成甲方工作任务、或主要利用甲方物质技术条件形成的知识产权（包括专利申请权、专利权、"
        "技术秘密、计算机软件著作权等），归甲方所有；乙方依法享有署名权及获得奖励、报酬的权利。",
    )),
    ClauseOption("joint", "双方共有，按贡献分配", (
        "履行本协议形成的知识产权由甲乙双方共有，各方份额按实际贡献确定，并于成果形成后三十日内书面确认。",
        "任何一方转让共有知识产权或许可他人实施的，应事先征得另一方书面同意，所得收益按确认的份额分配。",
    )),
    ClauseOption("talent_licensed", "乙方所有、甲方优先免费使用", (
        "履行本协议形成的知识产权归乙方（或依法归乙方所在单位）所有。",
        "甲方在本协议期限内及期满后可优先、免费、非独占地实施上述知识产权；乙方向第三方转让或独占许可前，应先书面"
        "征询甲方意见。",
    )),
)

INCOME_SHARING: dict[str, ClauseOption] = _registry(
    ClauseOption("none", "不约定分成", (
        "本协议不约定成果转化收益分成。履行本协议形成的科技成果需要转化的，由相关各方另行协商并签订书面协议。",
    )),
    ClauseOption("ratio", "成果转化净收益按比例分成", (
        "履行本协议形成的科技成果实施转化（转让、许可、作价投资或甲方自行实施）取得的净收益，即扣除转化直接成本和"
        "税费后的收入，乙方享有{ratio}%，甲方享有{rest}%。",
        "收益按年度结算：甲方应于每年第一季度向乙方提供上一年度的成果转化收益明细，丙方可应任何一方的请求协助核对。",
    ), needs="income_share_ratio"),
)

#: Every clause registry, by the terms field holding the chosen key (``terms_from`` names that field).
OPTIONS: dict[str, dict[str, ClauseOption]] = {
    "confidentiality": CONFIDENTIALITY,
    "intellectual_property": INTELLECTUAL_PROPERTY,
    "income_sharing": INCOME_SHARING,
}

_IP_COMMON = (
    "本协议签订前各方已有的知识产权仍归原权利人所有，不因本协议而转移。",
    "丙方、见证单位不享有履行本协议形成的知识产权。",
)

NONCOMPETE_MONTHS = (1, 24)  # at most two years, as the Labour Contract Law bounds a 竞业限制 period
SHARE_PERCENT = (1, 99)


# ------------------------------------------------------------------ per-mode templates
@dataclass(frozen=True)
class ModeTemplate:
    """What one mode changes in the agreement: the title, the mode's own clause, how the tasks are shown
    (milestones: a table the enterprise confirms row by row), and the bounds the term and the days on
    site must keep. Clause text may name ``{enterprise}``, ``{talent}``, ``{home}`` (乙方所在单位 and the
    talent's home institution), ``{term}``, ``{days}``, ``{start}``, ``{end}`` and ``{tasks_heading}``."""

    title: str
    clause_heading: str
    clauses: tuple[str, ...]
    tasks_heading: str = "工作任务"
    milestones: bool = False
    min_years: int | None = None
    max_years: int | None = None
    min_days_on_site: int = 0
    home_signs: bool = False  # the talent's home institution signs its consent on the agreement


MODE_TEMPLATES: dict[str, ModeTemplate] = {
    modes.TECH_VP: ModeTemplate(
        title="科技副总聘任三方协议",
        clause_heading="科技副总聘任",
        clauses=(
            "甲方聘任乙方担任甲方科技副总（分管科技工作的副总经理），任期自{start}起至{end}止，共{term}。科技副总任期"
            "为一至三年，期满经三方协商一致可以续聘。",
            "乙方协助甲方制定技术发展规划，组织关键技术攻关和新产品研发，指导科技项目申报与研发平台建设，培养甲方技术"
            "人员。",
            "乙方每月驻企服务不少于{days}天，驻企期间遵守甲方的安全生产、保密等规章制度。乙方担任科技副总不改变其与所在"
            "单位的人事关系。",
        ),
        min_years=1, max_years=3, min_days_on_site=1),
    modes.DUAL_APPOINTMENT: ModeTemplate(
        title="双聘人员聘任三方协议",
        clause_heading="双聘",
        clauses=(
            "经{home}同意，甲方聘任乙方为甲方双聘人员，聘期自{start}起至{end}止，共{term}。乙方所在单位"
            "在本协议上盖章或出具书面同意文件，书面同意文件作为本协议附件。",
            "聘期内乙方的人事关系保留在{home}，同时履行所在单位和甲方的岗位职责；乙方在甲方的工作量和考核结果由甲方"
            "书面提供给乙方所在单位。",
            "聘期内乙方所在单位撤回同意的，三方应在三十日内协商变更或解除本协议。",
        ),
        min_years=1, home_signs=True),
    modes.FLEXIBLE: ModeTemplate(
        title="柔性引才项目合作三方协议",
        clause_heading="柔性引才项目合作",
        clauses=(
            "乙方以柔性引才方式为甲方提供项目合作服务，不改变乙方的人事关系，项目周期自{start}起至{end}止，共{term}。",
            "项目按里程碑推进，本协议“{tasks_heading}”一节所列各项即为项目里程碑。乙方完成一项里程碑后提交成果材料，"
            "甲方在十五个工作日内书面确认或提出修改意见，丙方备案；甲方逾期未确认且未提出书面意见的，视为确认。",
            "全部里程碑经甲方确认，视为项目完成。",
        ),
        tasks_heading="项目里程碑", milestones=True),
}


# ------------------------------------------------------------------ the terms
@dataclass(frozen=True)
class Parties:
    enterprise: str  # 甲方：用人单位
    talent: str  # 乙方：人才
    intermediary: str  # 丙方：中介机构
    witness: str  # 见证单位：the office
    home_institution: str = ""  # the talent's university or institute (双聘: it consents)


@dataclass(frozen=True)
class TeamMember:
    """A member of a team engagement besides the lead (乙方): their duties and share of the reward."""

    name: str
    duties: str
    share_percent: int


@dataclass(frozen=True)
class AgreementTerms:
    """Everything one version of an agreement says. Option fields hold keys of ``OPTIONS``' registries;
    ``income_share_ratio`` is the talent's share of net income in per cent. Build it with ``terms_from``
    from untrusted input; a stored one renders whatever its text holds."""

    number: str
    version: int
    mode: str
    programme: str
    demand_title: str
    parties: Parties
    start: date
    end: date
    days_on_site_per_month: int
    tasks: tuple[str, ...]
    indicators: tuple[str, ...]
    pay_yuan: int
    pay_period: str  # a key of PAY_PERIODS
    confidentiality: str
    intellectual_property: str
    income_sharing: str
    pay_note: str = ""
    noncompete_months: int | None = None
    income_share_ratio: int | None = None
    team: tuple[TeamMember, ...] = ()  # a team's members besides the lead; the lead's share is what they leave


def _team(value: object) -> tuple[TeamMember, ...]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise Invalid("team must be a list of members", field="team")
    out: list[TeamMember] = []
    for i, raw in enumerate(value):
        if isinstance(raw, TeamMember):
            raw = {"name": raw.name, "duties": raw.duties, "share_percent": raw.share_percent}
        if not isinstance(raw, dict):
            raise Invalid(f"team[{i}] must be an object with name, duties and share_percent", field="team")
        out.append(TeamMember(_text(raw.get("name"), f"team[{i}].name"), _text(raw.get("duties"), f"team[{i}].duties"),
                              _whole(raw.get("share_percent"), f"team[{i}].share_percent", 0, 100)))
    if sum(m.share_percent for m in out) > 100:
        raise Invalid("the team members' shares exceed 100%", field="team")
    return tuple(out)


def _text(value: object, field: str, *, required: bool = True) -> str:
    if not isinstance(value, str):
        raise Invalid(f"{field} must be text", field=field)
    text = clean_text(value).strip()
    if required and not text:
        raise Invalid(f"{field} is required", field=field)
    return text


def _whole(value: object, field: str, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(f"{field} must be a whole number", field=field)
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise Invalid(f"{field} must be {bound}", field=field)
    return value


def _day(value: object, field: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise Invalid(f"{field} must be a date (YYYY-MM-DD)", field=field)


def _items(value: object, field: str, *, required: bool) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise Invalid(f"{field} must be a list of texts", field=field)
    items = tuple(_text(v, field) for v in value)
    if required and not items:
        raise Invalid(f"{field} needs at least one item", field=field)
    return items


def _option(field: str, key: object) -> ClauseOption:
    registry = OPTIONS[field]
    if not isinstance(key, str) or key not in registry:
        raise Invalid(f"{field} must be one of {', '.join(registry)}", field=field)
    return registry[key]


def generic_template(label: str, description: str = "") -> ModeTemplate:
    """The agreement of a registered mode that brings no template of its own (a deployment's fourth mode):
    the engagement's term, days on site and tasks, in the mode's name, so a new mode never stops at 审核."""
    what = f"（{description}）" if description else ""
    return ModeTemplate(
        title=f"{label}三方协议",
        clause_heading=label,
        clauses=(
            f"甲方以{label}方式{what}聘请乙方为甲方提供服务，不改变乙方的人事关系，服务期自{{start}}起至{{end}}止，"
            "共{term}。",
            "乙方按本协议“{tasks_heading}”一节所列任务为甲方服务，每月驻企服务不少于{days}天；丙方对服务过程备案。",
        ),
    )


def mode_template(mode: str) -> ModeTemplate:
    """The mode's own template, or the generic one for a registered mode without one."""
    if mode in MODE_TEMPLATES:
        return MODE_TEMPLATES[mode]
    if mode in modes.codes():
        registered = modes.get(mode)
        return generic_template(registered.label, registered.description)
    raise Invalid(f"no agreement template for mode '{mode}' (one of {', '.join(modes.codes())})", field="mode")


def terms_from(*, number: object, version: object, mode: object, programme: object, demand_title: object,
               enterprise: object, talent: object, intermediary: object, witness: object,
               start: object, end: object, days_on_site_per_month: object, tasks: object, pay_yuan: object,
               pay_period: object, confidentiality: object, intellectual_property: object,
               income_sharing: object, indicators: object = (), pay_note: object = "",
               home_institution: object = "", noncompete_months: object = None,
               income_share_ratio: object = None, team: object = ()) -> AgreementTerms:
    """Validated terms from untrusted input (a form, JSON): texts cleaned and stripped, dates as ``date``
    or ISO text, the mode as code or Chinese label. Raises ``Invalid`` naming the first bad field."""
    if not isinstance(mode, str) or not mode.strip():
        raise Invalid("mode is required", field="mode")
    try:
        code = modes.parse(mode)
    except ValueError:
        raise Invalid(f"unknown mode '{mode}' (one of {', '.join(modes.codes())})", field="mode") from None
    template = mode_template(code)
    label = modes.get(code).label

    first, last = _day(start, "start"), _day(end, "end")
    if last < first:
        raise Invalid("end must not be before start", field="end")
    months = _term_months(first, last)
    span = months if months is not None else ((last - first).days + 1) * 12 / 365.25
    if template.min_years is not None and span < template.min_years * 12:
        raise Invalid(f"a {label} term is at least {template.min_years} year(s)", field="end")
    if template.max_years is not None and span > template.max_years * 12:
        raise Invalid(f"a {label} term is at most {template.max_years} years", field="end")

    days = _whole(days_on_site_per_month, "days_on_site_per_month", 0, 31)
    if days < template.min_days_on_site:
        raise Invalid(f"a {label} agreement needs at least {template.min_days_on_site} day(s) on site a month",
                      field="days_on_site_per_month")
    home = _text(home_institution, "home_institution", required=template.home_signs)
    if not isinstance(pay_period, str) or pay_period not in PAY_PERIODS:
        raise Invalid(f"pay_period must be one of {', '.join(PAY_PERIODS)}", field="pay_period")

    chosen = {field: _option(field, key) for field, key in
              (("confidentiality", confidentiality), ("intellectual_property", intellectual_property),
               ("income_sharing", income_sharing))}
    extras: dict[str, int | None] = {"noncompete_months": None, "income_share_ratio": None}
    bounds = {"noncompete_months": NONCOMPETE_MONTHS, "income_share_ratio": SHARE_PERCENT}
    given = {"noncompete_months": noncompete_months, "income_share_ratio": income_share_ratio}
    needed = {o.needs: f for f, o in chosen.items() if o.needs}
    for name, value in given.items():
        if name in needed:
            if value is None:
                raise Invalid(f"{name} is required with {needed[name]} '{chosen[needed[name]].key}'", field=name)
            extras[name] = _whole(value, name, *bounds[name])
        elif value is not None:
            raise Invalid(f"{name} is only given with the option that uses it", field=name)

    return AgreementTerms(
        number=_text(number, "number"),
        version=_whole(version, "version", 1),
        mode=code,
        programme=_text(programme, "programme"),
        demand_title=_text(demand_title, "demand_title"),
        parties=Parties(enterprise=_text(enterprise, "enterprise"), talent=_text(talent, "talent"),
                        intermediary=_text(intermediary, "intermediary"), witness=_text(witness, "witness"),
                        home_institution=home),
        start=first,
        end=last,
        days_on_site_per_month=days,
        tasks=_items(tasks, "tasks", required=True),
        indicators=_items(indicators, "indicators", required=False),
        pay_yuan=_whole(pay_yuan, "pay_yuan", 0),
        pay_period=pay_period,
        confidentiality=chosen["confidentiality"].key,
        intellectual_property=chosen["intellectual_property"].key,
        income_sharing=chosen["income_sharing"].key,
        pay_note=_text(pay_note, "pay_note", required=False),
        noncompete_months=extras["noncompete_months"],
        income_share_ratio=extras["income_share_ratio"],
        team=_team(team),
    )


# ------------------------------------------------------------------ sections
@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    widths: tuple[int, ...]  # per cent of the text width, one per column


@dataclass(frozen=True)
class SignLine:
    label: str  # 盖章, 签字 …
    blank: str = ""  # what the line shows before it is filled (a date's 年 月 日)


@dataclass(frozen=True)
class Signatory:
    role: str
    name: str
    lines: tuple[SignLine, ...]


@dataclass(frozen=True)
class Section:
    heading: str
    paragraphs: tuple[str, ...] = ()
    table: Table | None = None
    signatures: tuple[Signatory, ...] = ()


_DATE = SignLine("日期", "　　　　年　　月　　日")


def title(terms: AgreementTerms) -> str:
    return mode_template(terms.mode).title


def reference(terms: AgreementTerms) -> str:
    """The line under the title and atop every page: the agreement's number and version."""
    return f"协议编号：{clean_text(terms.number)}　第{terms.version}版"


def _values(terms: AgreementTerms) -> Mapping[str, Any]:
    p = terms.parties
    ratio = terms.income_share_ratio
    return {
        "enterprise": clean_text(p.enterprise), "talent": clean_text(p.talent),
        "home": f"乙方所在单位{clean_text(p.home_institution)}",
        "term": term_text(terms.start, terms.end), "start": format_date(terms.start), "end": format_date(terms.end),
        "days": terms.days_on_site_per_month, "tasks_heading": mode_template(terms.mode).tasks_heading,
        "noncompete_months": terms.noncompete_months, "ratio": ratio, "rest": None if ratio is None else 100 - ratio,
    }


def _chosen(field: str, terms: AgreementTerms, values: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(text.format_map(values) for text in _option(field, getattr(terms, field)).paragraphs)


def _pay(terms: AgreementTerms) -> tuple[str, ...]:
    if terms.pay_yuan == 0:
        lines = ["乙方不向甲方收取服务报酬。"]
    else:
        when = ("按月支付，甲方于次月十五日前支付上月报酬" if terms.pay_period == "month"
                else "按年支付，甲方于每个服务年度结束后三十日内支付该年度报酬")
        lines = [f"甲方向乙方支付服务报酬，标准为{format_yuan(terms.pay_yuan, terms.pay_period)}（人民币，税前），"
                 f"{when}，支付至乙方指定的银行账户。"]
    note = clean_text(terms.pay_note)
    if note:
        lines.append(f"其他约定：{note}")
    return tuple(lines)


def sections(terms: AgreementTerms) -> list[Section]:
    """The agreement, section by section, in order: what both renderers write (headings numbered 一、二、…)."""
    template = mode_template(terms.mode)
    values = _values(terms)
    p = terms.parties
    enterprise, talent, intermediary, witness = (clean_text(n) for n in (p.enterprise, p.talent, p.intermediary,
                                                                         p.witness))
    home = clean_text(p.home_institution)
    label = modes.labels().get(terms.mode, terms.mode)
    programme, demand = clean_text(terms.programme), clean_text(terms.demand_title)
    tasks = [clean_text(t) for t in terms.tasks]
    indicators = [clean_text(i) for i in terms.indicators]

    party_rows = [("甲方（用人单位）", enterprise), ("乙方（人才）", talent), ("丙方（中介机构）", intermediary),
                  ("见证单位", witness)]
    if home:
        party_rows.insert(2, ("乙方所在单位", home))
    if template.milestones:
        task_section = Section(template.tasks_heading, ("各里程碑按下表顺序推进，甲方确认后在表中签字并注明日期。",),
                               Table(("序号", "里程碑", "甲方确认（签字、日期）"),
                                     tuple((str(i), t, "") for i, t in enumerate(tasks, 1)), (10, 60, 30)))
    else:
        task_section = Section(template.tasks_heading, tuple(f"{i}. {t}" for i, t in enumerate(tasks, 1)))
    on_site = (f"乙方每月在甲方现场服务不少于{terms.days_on_site_per_month}天，现场服务天数以丙方核对的服务记录为准；"
               "其余时间可以远程方式提供服务。" if terms.days_on_site_per_month
               else "乙方以远程方式为主提供服务，本协议不约定每月现场服务天数。")
    signatories = [
        Signatory("甲方（用人单位）", enterprise, (SignLine("盖章"), SignLine("法定代表人或授权代表（签字）"), _DATE)),
        Signatory("乙方（人才）", talent, (SignLine("签字"), _DATE)),
        Signatory("丙方（中介机构）", intermediary, (SignLine("盖章"), SignLine("代表（签字）"), _DATE)),
        Signatory("见证单位", witness, (SignLine("盖章"), _DATE)),
    ]
    if template.home_signs:
        signatories.insert(2, Signatory("乙方所在单位（同意）", home, (SignLine("盖章"), _DATE)))
    members = [(clean_text(m.name), clean_text(m.duties), m.share_percent) for m in terms.team]
    for n, (name, _, _) in enumerate(members, 1):
        signatories.insert(1 + n, Signatory(f"乙方团队成员{n}", name, (SignLine("签字"), _DATE)))
    team_sections: list[Section] = []
    if members:
        lead = 100 - sum(share for _, _, share in members)
        team_sections.append(Section("团队成员及分工", (
            f"乙方以团队方式提供服务，{talent}为团队负责人，对团队的服务质量和本协议的履行向甲方负责；团队成员按下表"
            "分工承担服务任务，每位成员的服务记录分别登记。",
            f"按本协议取得的奖补资金中应归乙方的部分，按下表比例在团队内分配（团队负责人{lead}%）。",
        ), Table(("序号", "姓名", "分工", "分配比例"),
                 (("1", f"{talent}（负责人）", "团队负责人，统筹服务方案与成果交付", f"{lead}%"),
                  *((str(i), name, duties, f"{share}%") for i, (name, duties, share) in enumerate(members, 2))),
                 (8, 22, 52, 18))))

    body = [
        Section("协议各方", (
            f"根据{programme}的有关规定，甲方、乙方、丙方本着平等自愿、诚实信用的原则，就甲方发布的技术需求“{demand}”"
            f"以{label}方式开展合作，经协商一致，在{witness}见证下订立本协议。",
        ), Table(("身份", "名称"), tuple(party_rows), (28, 72))),
        Section("合作事项", (f"技术需求：{demand}", f"所属计划：{programme}", f"合作方式：{label}")),
        *team_sections,
        Section("服务期限与服务方式", (
            f"本协议服务期限自{values['start']}起至{values['end']}止，共{values['term']}。", on_site)),
        Section(template.clause_heading, tuple(c.format_map(values) for c in template.clauses)),
        task_section,
        Section("考核指标", (
            *(f"{i}. {t}" for i, t in enumerate(indicators, 1)),
            *(() if indicators else ("考核指标由甲乙双方在首个考核期开始前另行书面约定，报丙方备案。",)),
            f"每个考核期由甲方、丙方填写考核表，乙方可以提交自评，见证单位据此评定等次；考核结果作为{programme}奖补的依据。",
        )),
        Section("报酬与支付", _pay(terms)),
        Section("保密", _chosen("confidentiality", terms, values)),
        Section("知识产权", (*_chosen("intellectual_property", terms, values), *_IP_COMMON)),
        Section("收益共享", _chosen("income_sharing", terms, values)),
        Section("丙方职责与见证", (
            "丙方负责协调三方沟通，跟踪本协议履行情况，按月核对乙方服务记录，配合考核并协助处理争议。",
            f"本协议由{witness}见证。见证单位依据本协议组织考核、审核奖补，不承担甲方、乙方、丙方在本协议项下的义务。",
        )),
        Section("违约责任与争议解决", (
            "任何一方违反本协议约定的，应承担违约责任，赔偿由此给其他各方造成的直接损失。",
            "因不可抗力、政策调整等非各方原因致使本协议不能履行的，各方可以协商变更或解除本协议，互不承担违约责任。",
            "本协议履行中发生争议的，由各方协商解决；协商不成的，可以提请见证单位调解；调解不成的，任何一方可以向甲方"
            "所在地人民法院提起诉讼。",
        )),
        Section("其他", (
            f"本协议为第{terms.version}版，协议编号{clean_text(terms.number)}，自三方签字、盖章之日起生效；本版本生效后，"
            "此前各版本同时失效。",
            "本协议以系统生成的PDF文本为准。三方在系统中确认该PDF文件的SHA-256摘要，即视为确认本版本的全部内容；Word文本"
            "为修改稿，不作为签署文本。",
            "本协议未尽事宜，由三方协商签订补充协议，补充协议与本协议具有同等效力。",
        )),
        Section("签署", ("（以下无正文）",), signatures=tuple(signatories)),
    ]
    return [Section(f"{_numeral(i)}、{s.heading}", s.paragraphs, s.table, s.signatures)
            for i, s in enumerate(body, 1)]


# ------------------------------------------------------------------ Word
_BODY_FONT, _HEADING_FONT = "宋体", "黑体"  # what an office's Word has; LibreOffice maps them to Noto CJK


def _fonts(style: Any, east_asian: str) -> None:
    from docx.oxml.ns import qn

    style.font.name = east_asian
    rfonts = style.element.get_or_add_rPr().get_or_add_rFonts()
    for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        rfonts.attrib.pop(qn(theme), None)
    rfonts.set(qn("w:eastAsia"), east_asian)


def _field(paragraph: Any, code: str) -> None:
    """A Word field (PAGE, NUMPAGES) in a paragraph: Word fills it in when it lays out the pages."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    simple = OxmlElement("w:fldSimple")
    simple.set(qn("w:instr"), code)
    run, text = OxmlElement("w:r"), OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    simple.append(run)
    paragraph._p.append(simple)


def render_docx(terms: AgreementTerms) -> bytes:
    """The editable Word draft (A4; 宋体 body, 黑体 headings; number and version atop, page numbers below)."""
    from docx import Document
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Mm, Pt, RGBColor

    parts = sections(terms)
    doc = Document()
    page = doc.sections[0]
    page.page_width, page.page_height = Mm(210), Mm(297)
    page.left_margin = page.right_margin = Mm(25)
    page.top_margin, page.bottom_margin = Mm(25), Mm(22)
    text_width = Mm(160)

    normal = doc.styles["Normal"]
    _fonts(normal, _BODY_FONT)
    normal.font.size = Pt(12)  # 小四
    normal.paragraph_format.space_after = Pt(4)
    normal.paragraph_format.line_spacing = 1.4
    heading = doc.styles["Heading 1"]
    _fonts(heading, _HEADING_FONT)
    heading.font.size, heading.font.bold, heading.font.color.rgb = Pt(14), True, RGBColor(0, 0, 0)
    heading.paragraph_format.space_before, heading.paragraph_format.space_after = Pt(10), Pt(4)

    props = doc.core_properties
    props.title, props.subject = title(terms), reference(terms)
    props.author = props.last_modified_by = clean_text(terms.parties.intermediary)[:255]
    props.revision = terms.version

    page.header.paragraphs[0].text = reference(terms)
    page.header.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
    footer = page.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    footer.add_run("第 ")
    _field(footer, "PAGE")
    footer.add_run(" 页，共 ")
    _field(footer, "NUMPAGES")
    footer.add_run(" 页")

    head = doc.add_paragraph()
    head.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = head.add_run(title(terms))
    run.bold, run.font.size = True, Pt(18)
    run.font.name = _HEADING_FONT
    sub = doc.add_paragraph(reference(terms))
    sub.alignment = WD_ALIGN_PARAGRAPH.CENTER

    for section in parts:
        doc.add_heading(section.heading, level=1)
        for text in section.paragraphs:
            doc.add_paragraph(text)
        if section.table is not None:
            t = section.table
            table = doc.add_table(rows=1 + len(t.rows), cols=len(t.header))
            table.style = "Table Grid"
            table.alignment = WD_TABLE_ALIGNMENT.CENTER
            table.autofit = False
            for r, row in enumerate((t.header, *t.rows)):
                for c, value in enumerate(row):
                    cell = table.cell(r, c)
                    cell.width = int(text_width * t.widths[c] / 100)
                    cell.paragraphs[0].add_run(value).bold = r == 0
        for s in section.signatures:
            party = doc.add_paragraph()
            party.paragraph_format.space_before = Pt(10)
            party.paragraph_format.keep_with_next = True
            party.add_run(f"{s.role}：").bold = True
            party.add_run(s.name)
            for line in s.lines:
                para = doc.add_paragraph(f"{line.label}：")
                para.paragraph_format.keep_with_next = line is not s.lines[-1]
                para.add_run(line.blank or "　" * 12).font.underline = True

    out = BytesIO()
    doc.save(out)
    return out.getvalue()


# ------------------------------------------------------------------ PDF
@cache
def _environment() -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                       trim_blocks=True, lstrip_blocks=True)


def render_html(terms: AgreementTerms) -> str:
    """The HTML weasyprint lays out (every value escaped: stored text never becomes markup)."""
    return str(_environment().get_template("agreement.html").render(
        title=title(terms), reference=reference(terms), sections=sections(terms)))


def _no_fetch() -> Any:
    """A URL fetcher that fetches nothing: the agreement needs no file, image or page from anywhere."""
    from weasyprint.urls import URLFetcher

    class NoFetch(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            raise ValueError(f"an agreement fetches nothing ({url[:80]})")

    return NoFetch()


def pdf_reproducible() -> bool:
    """Whether weasyprint subsets fonts with HarfBuzz (Debian ``libharfbuzz-subset0``). Without it weasyprint
    falls back to fontTools, which stamps the time into every font subset (so no two renderings are the same
    bytes) and takes about 13 s instead of 0.7 s for an agreement in Noto CJK."""
    from weasyprint.text.ffi import harfbuzz, harfbuzz_subset

    return harfbuzz_subset is not None and bool(harfbuzz.hb_version_atleast(4, 1, 0))


def render_pdf(terms: AgreementTerms) -> bytes:
    """The PDF the parties confirm (A4, page numbers, one signature block per party): the same terms, the
    same bytes, with the same weasyprint and fonts (no dates or random identifier in the file)."""
    from weasyprint import CSS, HTML

    fetcher = _no_fetch()
    css = CSS(string=(TEMPLATES / "agreement.css").read_text(encoding="utf-8"), url_fetcher=fetcher)
    pdf = HTML(string=render_html(terms), url_fetcher=fetcher).write_pdf(stylesheets=[css])
    assert isinstance(pdf, bytes)
    return pdf
