"""Imports are all-or-nothing with a row-level report; re-import updates; export re-imports unchanged."""

from pathlib import Path

import pandas as pd
from sqlalchemy import func, select
from typer.testing import CliRunner

from matcher.services.files.exporting import export_xlsx
from matcher.services.files.importing import import_file
from matcher.storage.models import AuditEvent, Demand, Enterprise, Talent

GOOD_TALENTS = pd.DataFrame([
    {"external_id": "T-1", "name": "王磊", "profile": "长期从事煤气化研究，擅长灰渣黏温特性分析。",
     "institution_type": "高校", "title_level": "正高", "mode_capacity": "科技副总:1；柔性引才:2",
     "province_ties": "晋籍、晋历", "discipline_codes": "B0609", "phone": "13800000000", "tier": "领军人才"},
    {"external_id": "T-2", "name": "李娜", "profile": "从事工业视觉缺陷检测。", "in_province": "否",
     "city": "北京", "flexible_forms": "顾问指导;项目合作"},
])
GOOD_DEMANDS = pd.DataFrame([
    {"external_id": "D-1", "enterprise": "山西焦化集团有限公司", "title": "焦炉煤气精脱硫",
     "description": "有机硫含量偏高导致下游催化剂中毒。", "industry_code": "2521", "modes": "tech_vp;flexible",
     "budget_min": "50", "budget_max": "100", "deadline": "2027-03-31", "credit_code": "91350100M000100Y43"},
])


def _count(db, model) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def test_good_csv_imports_and_defaults_apply(db, tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    GOOD_TALENTS.to_csv(path, index=False)
    report = import_file(db, "talents", path)
    assert report.ok, report.errors
    assert (report.created, report.updated) == (2, 0)
    with db.session() as s:
        t1 = s.scalar(select(Talent).where(Talent.external_id == "T-1"))
        t2 = s.scalar(select(Talent).where(Talent.external_id == "T-2"))
        assert t1 is not None and t2 is not None
        assert t1.mode_capacity == {"tech_vp": 1, "flexible": 2}
        assert t1.province_ties == ["born", "history"] and t1.institution_type == "university"
        assert t2.in_province is False and t2.flexible_forms == ["advisory", "project"]
        assert t2.mode_capacity == {"flexible": 1} and t2.title_level == "other"
        assert (t1.tier, t2.tier) == ("leading", None)  # the tier by its label; blank: none
        assert s.scalar(select(AuditEvent).where(AuditEvent.action == "import")) is not None


def test_good_xlsx_with_chinese_headers(db, tmp_path: Path) -> None:
    path = tmp_path / "d.xlsx"
    GOOD_DEMANDS.rename(columns={"external_id": "需求编号", "enterprise": "企业名称", "title": "需求名称",
                                 "description": "需求描述", "industry_code": "行业代码",
                                 "modes": "引才方式"}).to_excel(path, index=False)
    report = import_file(db, "demands", path)
    assert report.ok, report.errors
    with db.session() as s:
        d = s.scalar(select(Demand))
        assert d is not None
        assert d.sector == "coal_chemical"  # derived from the industry code
        assert d.modes == ["tech_vp", "flexible"] and d.enterprise.credit_code == "91350100M000100Y43"


def test_bad_rows_write_nothing_and_are_reported(db, tmp_path: Path) -> None:
    bad = pd.concat([GOOD_TALENTS, pd.DataFrame([
        {"external_id": "T-3", "name": "", "profile": "x"},  # row 4: name empty
        {"external_id": "T-4", "name": "赵六", "profile": "y", "title_level": "院士级", "patents": "三"},  # row 5
        {"external_id": "T-1", "name": "重复", "profile": "z"},  # row 6: repeats row 2
        {"external_id": "T-5", "name": "钱七", "profile": "w", "discipline_codes": "Z9999"},  # row 7
    ])], ignore_index=True)
    path = tmp_path / "bad.csv"
    bad.to_csv(path, index=False)
    report = import_file(db, "talents", path)
    assert not report.ok
    found = {(e.row, e.column) for e in report.errors}
    assert found == {(4, "name"), (5, "title_level"), (5, "patents"), (6, "external_id"), (7, "discipline_codes")}
    assert _count(db, Talent) == 0, "a file with bad rows must write nothing"
    assert "nothing was written" in report.summary()


def test_missing_required_column_and_unreadable_file(db, tmp_path: Path) -> None:
    path = tmp_path / "no_profile.csv"
    GOOD_TALENTS.drop(columns=["profile"]).to_csv(path, index=False)
    report = import_file(db, "talents", path)
    assert [(e.row, e.column) for e in report.errors] == [(1, "profile")]
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"not a workbook")
    report = import_file(db, "talents", junk)
    assert not report.ok and "cannot read" in report.errors[0].reason
    assert _count(db, Talent) == 0


def test_reimport_updates_instead_of_duplicating(db, tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    GOOD_TALENTS.to_csv(path, index=False)
    assert import_file(db, "talents", path).ok
    changed = GOOD_TALENTS.copy()
    changed.loc[0, "profile"] = "改为从事费托合成催化剂研究。"
    changed.to_csv(path, index=False, encoding="gb18030")  # as Excel on Chinese Windows saves CSV
    report = import_file(db, "talents", path)
    assert report.ok and (report.created, report.updated) == (0, 1)  # only the row that changed counts
    assert _count(db, Talent) == 2
    with db.session() as s:
        t = s.scalar(select(Talent).where(Talent.external_id == "T-1"))
        assert t is not None and t.profile.startswith("改为")


def test_credit_code_conflict_is_a_row_error(db, tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    two = pd.concat([GOOD_DEMANDS, GOOD_DEMANDS.assign(external_id="D-2", enterprise="另一家公司")])
    two.to_csv(path, index=False)
    report = import_file(db, "demands", path)
    assert [(e.row, e.column) for e in report.errors] == [(3, "credit_code")]
    assert _count(db, Demand) == 0 and _count(db, Enterprise) == 0


def test_export_reimports_unchanged_and_hides_contacts(db, tmp_path: Path) -> None:
    t, d = tmp_path / "t.csv", tmp_path / "d.csv"
    GOOD_TALENTS.to_csv(t, index=False)
    GOOD_DEMANDS.to_csv(d, index=False)
    assert import_file(db, "talents", t).ok and import_file(db, "demands", d).ok
    out = tmp_path / "export.xlsx"
    assert export_xlsx(db, out) == {"demands": 1, "talents": 2}
    sheet = pd.read_excel(out, sheet_name="talents", dtype=str)
    assert "phone" not in sheet.columns and "email" not in sheet.columns
    with_contact = tmp_path / "export_contact.xlsx"
    export_xlsx(db, with_contact, with_contact=True)
    assert "13800000000" in set(pd.read_excel(with_contact, sheet_name="talents", dtype=str)["phone"])
    report = import_file(db, "talents", out)
    assert report.ok and (report.created, report.updated) == (0, 0)  # an export re-imports with no change
    with db.session() as s:
        # the absent phone column blanked nothing
        assert s.scalar(select(Talent.phone).where(Talent.external_id == "T-1")) == "13800000000"
    report = import_file(db, "demands", out)
    assert report.ok and (report.created, report.updated) == (0, 0)


def test_cli_import_prints_row_report_and_fails(tmp_path: Path, settings) -> None:
    from matcher.cli import app

    path = tmp_path / "bad.csv"
    pd.DataFrame([{"编号": "X", "姓名": "", "简介": "p"}]).to_csv(path, index=False)
    result = CliRunner().invoke(app, ["import", "talents", str(path)])
    assert result.exit_code == 1
    assert "row 2, column 'name': required but empty" in result.output


def test_the_enterprise_s_county_is_imported_exported_and_checked(db, tmp_path: Path) -> None:
    """所在区县 locates the enterprise (which offices' area holds its demands): a name as people write it,
    stored as its code, exported as 太原市小店区 and read back unchanged; a name two cities share (城区) or
    no county at all is a row error naming the column, and nothing is written."""
    bad = tmp_path / "bad.csv"
    pd.concat([GOOD_DEMANDS.assign(county="城区"), GOOD_DEMANDS.assign(external_id="D-2", county="火星区")]
              ).to_csv(bad, index=False)
    report = import_file(db, "demands", bad)
    assert [(e.row, e.column) for e in report.errors] == [(2, "county"), (3, "county")]
    assert _count(db, Demand) == 0 and _count(db, Enterprise) == 0
    path = tmp_path / "d.csv"
    GOOD_DEMANDS.rename(columns={"enterprise": "企业名称"}).assign(所在区县="小店区").to_csv(path, index=False)
    assert import_file(db, "demands", path).ok
    with db.session() as s:
        assert s.scalar(select(Enterprise.county_code)) == "140105"
    out = tmp_path / "export.xlsx"
    export_xlsx(db, out)
    assert set(pd.read_excel(out, sheet_name="demands", dtype=str)["county"]) == {"太原市小店区"}
    report = import_file(db, "demands", out)
    assert report.ok and (report.created, report.updated) == (0, 0)
    moved = tmp_path / "moved.csv"
    GOOD_DEMANDS.assign(county="阳泉市城区").to_csv(moved, index=False)  # with its city, 城区 is one county
    assert import_file(db, "demands", moved).ok
    with db.session() as s:
        assert s.scalar(select(Enterprise.county_code)) == "140302"
    outside = tmp_path / "outside.csv"  # a county outside the row's city: a row error, nothing written
    GOOD_DEMANDS.assign(external_id="D-9", city="太原", county="阳泉市城区").to_csv(outside, index=False)
    report = import_file(db, "demands", outside)
    assert [(e.row, e.column) for e in report.errors] == [(2, "county")] and "not in 太原" in report.errors[0].reason
    assert _count(db, Demand) == 1
