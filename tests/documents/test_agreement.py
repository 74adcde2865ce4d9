"""The three-party agreement: validated terms, one list of sections, a Word draft and a PDF that say the same.

PDFs take about 0.7 s each, so each set of terms is rendered once per module (fixtures) and the tests read
those bytes."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from datetime import date
from typing import Any

import docx
import pypdf
import pytest

from matcher.documents import (
    MODE_TEMPLATES,
    OPTIONS,
    AgreementTerms,
    clean_text,
    format_yuan,
    mode_template,
    pdf_reproducible,
    render_docx,
    render_html,
    render_pdf,
    sections,
    sha256_hex,
    terms_from,
)
from matcher.documents.agreement import term_text
from matcher.domain import modes
from matcher.errors import Invalid

ENTERPRISE = "广西桂能新材料科技有限公司"
TALENT = "张明远"
INTERMEDIARY = "南宁市科技成果转化服务中心"
WITNESS = "广西壮族自治区科学技术厅"


def make_terms(**overrides: Any) -> AgreementTerms:
    fields: dict[str, Any] = {
        "number": "GX-KJFZ-2025-0012", "version": 2, "mode": modes.TECH_VP, "programme": "2025年度科技副总选派计划",
        "demand_title": "锂电池极片涂布缺陷在线检测", "enterprise": ENTERPRISE, "talent": TALENT,
        "intermediary": INTERMEDIARY, "witness": WITNESS, "home_institution": "广西大学",
        "start": date(2025, 3, 1), "end": date(2027, 2, 28), "days_on_site_per_month": 8,
        "tasks": ["建立极片涂布缺陷在线检测系统", "培养企业技术骨干3名"], "indicators": ["申请发明专利2项"],
        "pay_yuan": 20000, "pay_period": "month", "confidentiality": "enhanced", "noncompete_months": 12,
        "intellectual_property": "joint", "income_sharing": "ratio", "income_share_ratio": 30,
    }
    fields.update(overrides)
    return terms_from(**fields)


def hostile_terms() -> AgreementTerms:
    """Stored text as bad as it gets, built directly (a stored agreement is rendered, never re-validated):
    XML-invalid control characters, a lone surrogate, markup, a 20,000-character field and a 5,000-character
    word without a space."""
    terms = make_terms()
    return replace(
        terms,
        parties=replace(terms.parties, enterprise="<script>alert('甲')</script>桂能\x00公司\x07",
                        talent="张\x0b明\ud800远"),
        demand_title="极片涂布缺陷检测" * 2500,
        tasks=("x" * 5000, "第一行\r\n第二行\t（制表后）", "<b>不加粗</b> & 〈符号〉"),
        pay_note="\x1b[31m含交通补贴\x1b[0m\x7f\x85",
    )


def compact(text: str) -> str:
    return re.sub(r"\s+", "", text)


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def pdf_outline(data: bytes) -> list[str]:
    def walk(items: list[Any]) -> list[str]:
        out: list[str] = []
        for item in items:
            out.extend(walk(item) if isinstance(item, list) else [str(item["/Title"])])
        return out

    return walk(pypdf.PdfReader(io.BytesIO(data)).outline)


def docx_document(data: bytes) -> Any:
    return docx.Document(io.BytesIO(data))


def docx_text(data: bytes) -> str:
    doc = docx_document(data)
    cells = [cell.text for table in doc.tables for row in table.rows for cell in row.cells]
    return "\n".join([p.text for p in doc.paragraphs] + cells)


def docx_headings(data: bytes) -> list[str]:
    return [p.text for p in docx_document(data).paragraphs if p.style.name == "Heading 1"]


@pytest.fixture(scope="module")
def terms() -> AgreementTerms:
    return make_terms()


@pytest.fixture(scope="module")
def pdf(terms: AgreementTerms) -> bytes:
    return render_pdf(terms)


@pytest.fixture(scope="module")
def word(terms: AgreementTerms) -> bytes:
    return render_docx(terms)


@pytest.fixture(scope="module")
def hostile() -> AgreementTerms:
    return hostile_terms()


@pytest.fixture(scope="module")
def hostile_pdf(hostile: AgreementTerms) -> bytes:
    return render_pdf(hostile)


@pytest.fixture(scope="module")
def hostile_word(hostile: AgreementTerms) -> bytes:
    return render_docx(hostile)


# ------------------------------------------------------------------ helpers
def test_money_dates_and_digest() -> None:
    assert format_yuan(20000, "month") == "20,000元/月"
    assert format_yuan(1234567, "year") == "1,234,567元/年"
    assert format_yuan(0) == "0元"
    assert term_text(date(2025, 3, 1), date(2027, 2, 28)) == "2年"
    assert term_text(date(2025, 1, 31), date(2026, 7, 30)) == "18个月"
    assert term_text(date(2025, 1, 1), date(2025, 2, 14)) == "45天"
    assert sha256_hex(b"") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_clean_text_drops_what_xml_cannot_carry_and_keeps_newlines_and_tabs() -> None:
    assert clean_text("a\x00b\x08c\x0b\x0c\x1f\x7f\x9f\ud800\ufffed") == "abcd"
    assert clean_text("一\r\n二\r三\n四\t五") == "一\n二\n三\n四\t五"


def test_terms_from_cleans_and_accepts_iso_dates_and_the_chinese_mode_label() -> None:
    terms = make_terms(mode="柔性引才", start="2025-03-01", end="2025-08-31", enterprise=f"  {ENTERPRISE}\x00 ",
                       tasks=("需求调研", "样机试制"))
    assert terms.mode == modes.FLEXIBLE
    assert (terms.start, terms.end) == (date(2025, 3, 1), date(2025, 8, 31))
    assert terms.parties.enterprise == ENTERPRISE
    assert terms.tasks == ("需求调研", "样机试制")


# ------------------------------------------------------------------ validation
@pytest.mark.parametrize(("overrides", "field"), [
    ({"mode": "secondment"}, "mode"),
    ({"mode": ""}, "mode"),
    ({"confidentiality": "top_secret"}, "confidentiality"),
    ({"intellectual_property": "public_domain"}, "intellectual_property"),
    ({"income_sharing": "half"}, "income_sharing"),
    ({"end": date(2025, 2, 1)}, "end"),
    ({"start": "2025-13-01"}, "start"),
    ({"end": 20270228}, "end"),
    ({"end": date(2028, 3, 1)}, "end"),  # 科技副总: at most three years
    ({"end": date(2025, 12, 31)}, "end"),  # 科技副总: at least one year
    ({"days_on_site_per_month": -1}, "days_on_site_per_month"),
    ({"days_on_site_per_month": 32}, "days_on_site_per_month"),
    ({"days_on_site_per_month": 0}, "days_on_site_per_month"),  # 科技副总 serves on site
    ({"days_on_site_per_month": True}, "days_on_site_per_month"),
    ({"days_on_site_per_month": "8"}, "days_on_site_per_month"),
    ({"version": 0}, "version"),
    ({"number": "   "}, "number"),
    ({"enterprise": ""}, "enterprise"),
    ({"talent": None}, "talent"),
    ({"intermediary": "\x00\x01"}, "intermediary"),
    ({"witness": " "}, "witness"),
    ({"programme": ""}, "programme"),
    ({"demand_title": ""}, "demand_title"),
    ({"tasks": []}, "tasks"),
    ({"tasks": ["需求调研", "  "]}, "tasks"),
    ({"tasks": "需求调研"}, "tasks"),
    ({"indicators": [3]}, "indicators"),
    ({"pay_yuan": -1}, "pay_yuan"),
    ({"pay_yuan": 2.5}, "pay_yuan"),
    ({"pay_period": "week"}, "pay_period"),
    ({"noncompete_months": None}, "noncompete_months"),
    ({"noncompete_months": 25}, "noncompete_months"),
    ({"confidentiality": "standard"}, "noncompete_months"),  # given but not used by the option
    ({"income_share_ratio": None}, "income_share_ratio"),
    ({"income_share_ratio": 0}, "income_share_ratio"),
    ({"income_share_ratio": 100}, "income_share_ratio"),
    ({"income_sharing": "none"}, "income_share_ratio"),
    ({"mode": modes.DUAL_APPOINTMENT, "home_institution": ""}, "home_institution"),
])
def test_invalid_terms_name_the_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(Invalid) as caught:
        make_terms(**overrides)
    assert caught.value.field == field


def test_a_registered_mode_without_a_template_gets_the_generic_agreement() -> None:
    extra = modes.EngagementMode("secondment_x", "挂职", rules=(), fit=lambda t, left: "",
                                 description="到企业挂职服务")
    with modes.registered(extra):
        made = sections(make_terms(mode="secondment_x"))
        clause = next(s for s in made if "挂职" in s.heading)
        assert any("挂职方式（到企业挂职服务）" in p for p in clause.paragraphs)
        assert not mode_template("secondment_x").home_signs
    with pytest.raises(Invalid) as caught:  # unregistered again: no template at all
        make_terms(mode="secondment_x")
    assert caught.value.field == "mode"


# ------------------------------------------------------------------ sections and modes
def test_every_template_and_option_formats() -> None:
    assert set(MODE_TEMPLATES) == set(modes.codes())
    for mode in MODE_TEMPLATES:
        extra = {"home_institution": "广西大学"} if mode == modes.DUAL_APPOINTMENT else {}
        headings = [s.heading for s in sections(make_terms(mode=mode, **extra))]
        assert headings[0] == "一、协议各方" and headings[-1] == "十四、签署"


def test_every_option_formats_into_its_section() -> None:
    for field, registry in OPTIONS.items():
        for key, option in registry.items():
            extra: dict[str, Any] = {field: key}
            if field == "confidentiality":
                extra["noncompete_months"] = 6 if option.needs else None
            if field == "income_sharing":
                extra["income_share_ratio"] = 40 if option.needs else None
            text = "".join(p for s in sections(make_terms(**extra)) for p in s.paragraphs)
            assert "{" not in text
            for paragraph in option.paragraphs:
                assert all(piece in text for piece in re.split(r"\{\w+\}", paragraph))


def test_each_mode_has_its_own_title_and_clause() -> None:
    by_mode = {m: sections(make_terms(mode=m, days_on_site_per_month=4)) for m in MODE_TEMPLATES}
    clauses = {m: s[3] for m, s in by_mode.items()}
    assert len({c.heading for c in clauses.values()}) == len(MODE_TEMPLATES)
    assert len({c.paragraphs for c in clauses.values()}) == len(MODE_TEMPLATES)
    assert len({t.title for t in MODE_TEMPLATES.values()}) == len(MODE_TEMPLATES)
    assert "科技副总" in clauses[modes.TECH_VP].paragraphs[0]
    assert "经乙方所在单位广西大学同意" in clauses[modes.DUAL_APPOINTMENT].paragraphs[0]
    # 柔性引才: the tasks are the milestones, a table the enterprise confirms row by row
    flexible_tasks = by_mode[modes.FLEXIBLE][4]
    assert flexible_tasks.heading == "五、项目里程碑"
    assert flexible_tasks.table is not None
    assert [row[1] for row in flexible_tasks.table.rows] == list(make_terms().tasks)
    assert by_mode[modes.TECH_VP][4].table is None
    # 双聘: the home institution consents on the agreement
    signers = {m: [s.role for s in ss[-1].signatures] for m, ss in by_mode.items()}
    assert "乙方所在单位（同意）" in signers[modes.DUAL_APPOINTMENT]
    assert "乙方所在单位（同意）" not in signers[modes.TECH_VP]


def test_each_mode_renders_its_clause_into_word() -> None:
    for mode, template in MODE_TEMPLATES.items():
        text = docx_text(render_docx(make_terms(mode=mode)))
        assert template.title in text
        for clause in template.clauses:
            assert all(piece in text for piece in re.split(r"\{\w+\}", clause))


# ------------------------------------------------------------------ Word
def test_the_word_draft_holds_the_parties_tasks_and_chosen_clauses(word: bytes, terms: AgreementTerms) -> None:
    paragraphs = "\n".join(p.text for p in docx_document(word).paragraphs)
    for name in (ENTERPRISE, TALENT, INTERMEDIARY, WITNESS):
        assert name in paragraphs
    for task in terms.tasks:
        assert task in paragraphs
    assert "科技副总聘任三方协议" in paragraphs
    assert "20,000元/月" in paragraphs
    assert "本协议终止后12个月内" in paragraphs  # 加强保密 with its 竞业限制 period
    assert "由甲乙双方共有，各方份额按实际贡献确定" in paragraphs  # 双方共有
    assert "乙方享有30%，甲方享有70%" in paragraphs  # 收益共享 by ratio
    assert "协议编号：GX-KJFZ-2025-0012　第2版" in paragraphs


def test_the_word_draft_is_a4_with_chinese_fonts(word: bytes) -> None:
    doc = docx_document(word)
    section = doc.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    normal = doc.styles["Normal"].element.rPr.rFonts
    assert normal.get("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}eastAsia") == "宋体"
    assert "PAGE" in section.footer._element.xml
    assert doc.core_properties.title == "科技副总聘任三方协议"


# ------------------------------------------------------------------ PDF
def test_the_pdf_text_is_extractable_chinese(pdf: bytes, terms: AgreementTerms) -> None:
    text = compact(pdf_text(pdf))
    for phrase in ("科技副总聘任三方协议", ENTERPRISE, TALENT, INTERMEDIARY, WITNESS, *terms.tasks,
                   "收益共享", "乙方享有30%，甲方享有70%", "20,000元/月", "本协议终止后12个月内"):
        assert compact(phrase) in text, phrase


def test_the_pdf_is_a4_numbered_in_noto_cjk_without_dates(pdf: bytes) -> None:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    box = reader.pages[0].mediabox
    assert (round(float(box.width) * 25.4 / 72), round(float(box.height) * 25.4 / 72)) == (210, 297)
    pages = len(reader.pages)
    assert pages >= 2
    assert compact(f"第{pages}页，共{pages}页") in compact(reader.pages[-1].extract_text())
    fonts = {str(f.get_object()["/BaseFont"]) for page in reader.pages
             for f in page["/Resources"]["/Font"].values()}
    assert fonts and all("Noto-Sans-CJK-SC" in f or "Noto-Serif-CJK-SC" in f for f in fonts), fonts
    assert reader.metadata is not None
    assert "/CreationDate" not in reader.metadata and "/ModDate" not in reader.metadata
    assert reader.metadata.title == "科技副总聘任三方协议"


def test_the_signature_block_has_a_line_per_party(pdf: bytes, word: bytes) -> None:
    signing = compact(pdf_text(pdf)).split("十四、签署")[-1]
    for line in ("甲方（用人单位）：", "法定代表人或授权代表（签字）：", "乙方（人才）：", "丙方（中介机构）：",
                 "代表（签字）：", "见证单位："):
        assert line in signing
    assert signing.count("盖章：") == 3 and signing.count("日期：") == 4
    word_signing = docx_text(word).split("十四、签署")[-1]
    assert word_signing.count("盖章：") == 3 and word_signing.count("日期：") == 4


def test_the_pdf_is_reproducible(pdf: bytes, terms: AgreementTerms) -> None:
    assert pdf_reproducible(), "weasyprint subsets fonts with fontTools: install Debian libharfbuzz-subset0"
    again = render_pdf(terms)
    assert again == pdf
    assert sha256_hex(again) == sha256_hex(pdf)


# ------------------------------------------------------------------ one list of sections, two renderings
def test_both_renderings_have_the_same_headings(pdf: bytes, word: bytes, terms: AgreementTerms) -> None:
    headings = [s.heading for s in sections(terms)]
    assert len(headings) == 14
    assert docx_headings(word) == headings
    assert pdf_outline(pdf) == ["科技副总聘任三方协议", *headings]
    positions = [compact(pdf_text(pdf)).index(h) for h in headings]
    assert positions == sorted(positions)


def test_both_renderings_have_every_paragraph(pdf: bytes, word: bytes, terms: AgreementTerms) -> None:
    in_pdf, in_word = compact(pdf_text(pdf)), compact(docx_text(word))
    for section in sections(terms):
        for paragraph in section.paragraphs:
            assert compact(paragraph) in in_pdf and compact(paragraph) in in_word


# ------------------------------------------------------------------ hostile stored text
def test_hostile_text_renders_into_word(hostile_word: bytes) -> None:
    text = docx_text(hostile_word)
    assert "<script>alert('甲')</script>桂能公司" in text
    assert "张明远" in text
    assert "极片涂布缺陷检测" * 2500 in text
    assert "x" * 5000 in text
    assert "第一行\n第二行\t（制表后）" in text
    assert "<b>不加粗</b> & 〈符号〉" in text
    assert "其他约定：[31m含交通补贴[0m" in text


def test_hostile_text_renders_into_the_pdf_literally(hostile: AgreementTerms, hostile_pdf: bytes) -> None:
    html = render_html(hostile)
    assert "<script>" not in html and "&lt;script&gt;" in html and "&lt;b&gt;" in html
    text = compact(pdf_text(hostile_pdf))
    assert "<script>alert('甲')</script>桂能公司" in text
    assert "<b>不加粗</b>&〈符号〉" in text
    assert "张明远" in text
    assert text.count("x") >= 5000  # the long word is there, wrapped (overflow-wrap: anywhere)
    pages = len(pypdf.PdfReader(io.BytesIO(hostile_pdf)).pages)
    assert pages > 20
    # the 20,000-character title, twice; a page's header and footer fall inside a few repetitions
    assert text.count("极片涂布缺陷检测") >= 2 * 2500 - 2 * pages
    assert "第一行第二行（制表后）" in text


def test_the_long_word_wraps_inside_the_page(hostile_pdf: bytes) -> None:
    """The 5,000-character word is broken over many lines (unwrapped, it would run off the page on one)."""
    runs = [len(m) for m in re.findall(r"x+", pdf_text(hostile_pdf))]
    assert sum(runs) == 5000
    assert len(runs) > 20 and max(runs) < 150
