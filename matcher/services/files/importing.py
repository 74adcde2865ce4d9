"""Bulk import of talents and demands from CSV or XLSX, all-or-nothing.

Why all-or-nothing: officials fix a spreadsheet and upload it again; a half-imported file would leave
them guessing which rows landed. So every row is parsed and checked first, and only a file without
problems is written, in one transaction. A row whose ``external_id`` exists updates that record with
what the row holds, and only that: a column the file lacks, or an empty cell, leaves the stored value
(``[清空]`` clears it), so an export re-imports with no change and a short list never blanks a long
one. Withdrawn records are never restored, merged ones are updated through the record they were merged
into, and the talents' own corrections stand unless a row says otherwise (``write_talents``). Demands go
through the same completeness check as a post (``write_demands``): a new one below the threshold lands in
the office's 待完善 queue, not on the board.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import openpyxl
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher.config import get_settings
from matcher.domain.demand import COLUMNS as DEMAND_COLUMNS
from matcher.domain.offices import office_tree
from matcher.domain.talent import COLUMNS as TALENT_COLUMNS
from matcher.domain.vocabulary import DemandStatus
from matcher.reference import sector_for_industry
from matcher.services.audit import record
from matcher.services.pool.feed import talents_changed
from matcher.services.workflow.demands import ASSESSED, assess
from matcher.storage.db import Database
from matcher.storage.models import Demand, Enterprise, Talent
from matcher.tabular import Column, column, format_cell, header_map, parse_row, with_defaults, yes_no

MAX_ROWS = 200_000


@dataclass(frozen=True)
class RowError:
    row: int  # spreadsheet row number: the header is row 1, the first data row is row 2
    column: str
    reason: str

    def __str__(self) -> str:
        where = f"row {self.row}" if self.row else "file"
        return f"{where}, column '{self.column}': {self.reason}" if self.column else f"{where}: {self.reason}"


@dataclass
class ImportReport:
    kind: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "ok": self.ok, "rows": self.rows, "created": self.created,
                "updated": self.updated, "warnings": self.warnings,
                "errors": [{"row": e.row, "column": e.column, "reason": e.reason} for e in self.errors]}

    def summary(self) -> str:
        if self.ok:
            return f"{self.kind}: {self.rows} rows, {self.created} created, {self.updated} updated"
        return f"{self.kind}: {len(self.errors)} problem(s) in {self.rows} rows, nothing was written"


class ImportRejected(Exception):
    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} problem(s)")
        self.errors = errors


MAX_UPLOAD = 20 * 1024 * 1024
#: An XLSX is a zip archive: its parts may uncompress to far more than the upload. Real workbooks of
#: 200,000 rows stay well below this; a crafted one (a "zip bomb") is refused before any parsing.
MAX_UNCOMPRESSED = 512 * 1024 * 1024
MAX_RATIO = 150  # per part larger than 1 MiB; real sheets compress 5–30×
MAX_COLUMNS = 200  # headers further right are not read (the specs have 22 columns)


class UnreadableFile(ValueError):
    """The file cannot be imported as a whole; the message says why, for the person who uploaded it."""


def check_archive(path: Path | str) -> None:
    """Refuse an XLSX whose parts would expand beyond ``MAX_UNCOMPRESSED`` or whose compression ratio
    betrays a crafted file, by reading only the zip directory (no decompression)."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise UnreadableFile(f"not a valid .xlsx file ({exc})") from None
    total = sum(m.file_size for m in members)
    if total > MAX_UNCOMPRESSED:
        raise UnreadableFile(f"the workbook expands to {total / 2**20:.0f} MiB (limit "
                             f"{MAX_UNCOMPRESSED // 2**20} MiB); save it again without empty formatted cells "
                             "or split it")
    for m in members:
        if m.file_size > 2**20 and m.file_size > MAX_RATIO * max(1, m.compress_size):
            raise UnreadableFile(f"part '{m.filename}' is compressed {m.file_size // max(1, m.compress_size)}× "
                                 "(crafted or damaged file); save it again from Excel")


def _read_xlsx(path: Path | str, sheet: str | None, max_rows: int) -> pd.DataFrame:
    """Stream one sheet with openpyxl's read-only reader: only the header row's columns (at most
    ``MAX_COLUMNS``) and at most ``max_rows`` + 1 rows are ever held; the file's own size claims (its
    ``dimension`` tag) are not trusted."""
    check_archive(path)
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for damaged files
        raise UnreadableFile(f"not a readable .xlsx workbook ({type(exc).__name__}: {exc})") from None
    try:
        ws = wb[sheet] if sheet in wb.sheetnames else wb.worksheets[0]
        ws.reset_dimensions()
        rows = ws.iter_rows(max_col=MAX_COLUMNS, values_only=True)
        header = [format_cell(v).strip() for v in next(rows, ())]
        while header and not header[-1]:
            header.pop()
        if not header:
            raise UnreadableFile("the sheet has no header row")
        width = len(header)
        data: list[list[str]] = []
        for row in ws.iter_rows(min_row=2, max_col=width, values_only=True):
            data.append([format_cell(v) for v in row] + [""] * (width - len(row)))
            if len(data) > max_rows:
                break
        names = [h or f"column {i + 1}" for i, h in enumerate(header)]
        return pd.DataFrame(data, columns=names, dtype=str)
    finally:
        wb.close()


def read_table(path: Path | str, filename: str | None = None, sheet: str | None = None,
               max_rows: int = MAX_ROWS) -> pd.DataFrame:
    """Read CSV (UTF-8, with or without BOM, or GB18030 as Excel on Chinese Windows saves it) or XLSX.

    In a workbook the sheet named ``sheet`` is read when present (an export holds both kinds), else the
    first. At most ``max_rows`` + 1 data rows are read, so the caller can tell the file is too long."""
    name = (filename or str(path)).lower()
    if name.endswith((".xlsx", ".xlsm")):
        return _read_xlsx(path, sheet, max_rows)
    if name.endswith(".csv"):
        try:
            return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig", nrows=max_rows + 1)
        except UnicodeDecodeError:
            return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="gb18030", nrows=max_rows + 1)
    raise UnreadableFile("only .csv and .xlsx files can be imported")


def _parse_frame(columns: tuple[Column, ...], frame: pd.DataFrame,
                 report: ImportReport) -> list[tuple[int, dict[str, Any]]]:
    mapping, unknown = header_map(columns, [str(c) for c in frame.columns])
    if unknown:
        report.warnings.append("ignored column(s): " + ", ".join(unknown))
    present = set(mapping.values())
    for col in columns:
        if col.required and col.name not in present:
            report.errors.append(RowError(1, col.name, "required column is missing"))
    dupes = [v for v in set(mapping.values()) if list(mapping.values()).count(v) > 1]
    for d in dupes:
        report.errors.append(RowError(1, d, "column appears more than once (an alias and its name?)"))
    if report.errors:
        return []
    if len(frame) > MAX_ROWS:
        report.errors.append(RowError(0, "", f"more than {MAX_ROWS} rows; split the file"))
        return []
    frame = frame.rename(columns=mapping)[list(mapping.values())]
    out: list[tuple[int, dict[str, Any]]] = []
    first_row: dict[str, int] = {}
    for n, cells in enumerate(frame.to_dict(orient="records"), start=2):
        if not any(str(v).strip() for v in cells.values()):
            continue  # blank spreadsheet line
        values, problems = parse_row(columns, {str(k): str(v) for k, v in cells.items()})
        report.errors.extend(RowError(n, c, r) for c, r in problems)
        ext = values.get("external_id")
        if ext:
            if ext in first_row:
                report.errors.append(RowError(n, "external_id", f"'{ext}' repeats row {first_row[ext]}"))
            else:
                first_row[ext] = n
        out.append((n, values))
    report.rows = len(out)
    return out


def _existing(session: Session, model: type[Talent] | type[Demand], ids: Iterable[str]) -> dict[str, Any]:
    wanted = list(ids)
    column = Talent.external_id if model is Talent else Demand.external_id
    found: dict[str, Any] = {}
    for start in range(0, len(wanted), 500):
        for obj in session.scalars(select(model).where(column.in_(wanted[start:start + 500]))):
            found[cast(Talent | Demand, obj).external_id] = obj
    return found


#: A column of the talents' file that is no attribute: ``是`` lets the row replace fields the talent
#: corrected themselves (otherwise their correction stands and the report says so).
OVERRIDE = column("override_corrections", "覆盖本人修改 覆盖本人更正", yes_no, default=False)


def _differs(obj: Any, name: str, value: Any) -> bool:
    return bool(getattr(obj, name) != value)


def write_talents(session: Session, rows: list[tuple[int, dict[str, Any]]], report: ImportReport) -> None:
    """Create new records; update existing ones with what the row holds — except a withdrawn record, which
    is never restored (the row is skipped with a warning: a talent who withdrew comes back only through a
    new invitation), a merged record, whose row updates the record it was merged into, and a field the
    talent corrected themselves, kept unless the row says ``覆盖本人修改=是``."""
    existing = _existing(session, Talent, (v["external_id"] for _, v in rows))
    touched: list[Talent] = []
    for n, row in rows:
        values = dict(row)
        override = bool(values.pop(OVERRIDE.name, False))
        obj = existing.get(values["external_id"])
        if obj is None:
            obj = Talent(**with_defaults(TALENT_COLUMNS, values))
            session.add(obj)
            report.created += 1
            touched.append(obj)
            continue
        hops = 0
        while obj.merged_into_id is not None and hops < 10:  # the record it was merged into (follow a chain)
            kept = session.get(Talent, obj.merged_into_id)
            if kept is None:
                break
            report.warnings.append(f"row {n}: '{values['external_id']}' was merged into record "
                                   f"'{kept.external_id}'; that record was updated")
            obj, hops = kept, hops + 1
            values.pop("external_id", None)
        if obj.withdrawn_at is not None:
            report.warnings.append(f"row {n}: '{row['external_id']}' withdrew from the platform; the row was "
                                   "skipped (a withdrawn record is never restored: the talent returns through a "
                                   "new invitation)")
            continue
        own = set(obj.self_corrected or {})
        changes = {}
        for k, v in values.items():
            if k == "external_id" or not _differs(obj, k, v):
                continue
            if k in own and not override:
                report.warnings.append(f"row {n}, column '{k}': kept the talent's own correction (set "
                                       "覆盖本人修改 to 是 to replace it)")
                continue
            changes[k] = v
        for k, v in changes.items():
            setattr(obj, k, v)
        if changes:
            report.updated += 1
            touched.append(obj)
    session.flush()
    talents_changed(session, (t.id for t in touched))  # every serving process re-reads them


#: Rows named in the report's note on demands put in 待完善 (the rest are counted).
_ROWS_NAMED = 20


def _outside_city(county: str, city: str | None) -> str | None:
    """The problem when the row names a city and its county lies in another one (a county outside its
    city), else None. A city the region does not know is left to the city column's own check."""
    tree = office_tree()
    named = tree.city(city) if city else None
    if named is None or tree.contains(named.code, county):
        return None
    return f"{tree.get(county).display_name} is not in {named.name} (the row's city): give the county of that city"


def write_demands(session: Session, rows: list[tuple[int, dict[str, Any]]], report: ImportReport,
                  actor_user_id: int | None = None, actor_role: str = "system") -> None:
    """Create new demands; update existing ones with what the row holds (as for talents). Every row is
    checked for completeness as a post is: a new demand below the threshold is created 待完善 (the report
    names the rows), a 待完善 one whose row brings it over the threshold is published (audited), an open
    one stays open whatever its new score."""
    existing = _existing(session, Demand, (v["external_id"] for _, v in rows))
    companies = {e.name: e for e in session.scalars(select(Enterprise))}
    by_code = {e.credit_code: e for e in companies.values() if e.credit_code}
    errors: list[RowError] = []
    incomplete: list[int] = []
    published: list[Demand] = []
    for n, row in rows:
        values = dict(row)
        name, code = values.pop("enterprise"), values.pop("credit_code", None)
        county = values.pop("county", None)  # where the company is: which offices' area holds its demands
        if county and (outside := _outside_city(county, values.get("city"))):
            errors.append(RowError(n, "county", outside))
            continue
        company = companies.get(name)
        if code and code in by_code and by_code[code].name != name:
            errors.append(RowError(n, "credit_code", f"already belongs to '{by_code[code].name}'"))
            continue
        if company is None:
            company = Enterprise(name=name, credit_code=code, city=values.get("city", ""),
                                 industry_code=values.get("industry_code", ""), county_code=county)
            session.add(company)
            companies[name] = company
            if code:
                by_code[code] = company
        elif code and not company.credit_code:
            company.credit_code = code
            by_code[code] = company
        elif code and company.credit_code != code:
            errors.append(RowError(n, "credit_code", f"'{name}' is registered with {company.credit_code}"))
            continue
        if county and company.county_code != county:  # a cell the file holds; an empty one leaves it
            company.county_code = county
        obj = existing.get(values["external_id"])
        if obj is None:
            values = with_defaults(DEMAND_COLUMNS, values)
            values.pop("enterprise", None)
            values.pop("credit_code", None)
            values.pop("county", None)
        if values.get("industry_code") and not row.get("sector"):
            values["sector"] = sector_for_industry(values["industry_code"])
        elif obj is None and values.get("sector") is None:
            values["sector"] = "other"
        merged = {k: values.get(k, getattr(obj, k, None)) for k in ("budget_min", "budget_max")}
        if merged["budget_min"] is not None and merged["budget_max"] is not None \
                and merged["budget_min"] > merged["budget_max"]:
            errors.append(RowError(n, "budget_max", "smaller than budget_min"))
            continue
        checked = assess({k: values.get(k, getattr(obj, k, None)) for k in ASSESSED})
        if obj is None:
            status = DemandStatus.OPEN if checked.ready else DemandStatus.INCOMPLETE
            if not checked.ready:
                incomplete.append(n)
            session.add(Demand(enterprise=company, completeness=checked.score, status=status.value, **values))
            report.created += 1
            continue
        changes = {k: v for k, v in values.items() if k != "external_id" and _differs(obj, k, v)}
        for k, v in changes.items():
            setattr(obj, k, v)
        if obj.enterprise_id != company.id:
            obj.enterprise = company
            changes["enterprise"] = name
        if changes or obj.completeness is None:
            obj.completeness = checked.score
        if obj.status == DemandStatus.INCOMPLETE and checked.ready:
            # A plain write, not a compare-and-set: the import's transaction holds the rows it read and
            # the publish is audited with it.
            obj.status, obj.office_note = DemandStatus.OPEN.value, ""
            published.append(obj)
        report.updated += bool(changes)
    if errors:
        raise ImportRejected(errors)
    if incomplete:
        named = ", ".join(str(n) for n in incomplete[:_ROWS_NAMED]) + (" …" if len(incomplete) > _ROWS_NAMED else "")
        report.warnings.append(f"{len(incomplete)} new demand(s) scored below the completeness threshold "
                               f"{get_settings().completeness_threshold} and wait in the office's 待完善 queue "
                               f"(rows {named})")
    session.flush()
    for d in published:
        record(session, action="publish", entity="demand", entity_id=d.id, actor_user_id=actor_user_id,
               actor_role=actor_role, before={"status": DemandStatus.INCOMPLETE.value},
               after={"status": DemandStatus.OPEN.value, "reason": "import"})


def import_file(db: Database, kind: str, path: Path | str, filename: str | None = None,
                actor_user_id: int | None = None, actor_role: str = "system",
                guard: Callable[[Session], None] | None = None) -> ImportReport:
    """Import ``kind`` ('talents' or 'demands'); returns the report. Writes nothing unless all rows are good.
    ``guard`` runs first in the writing transaction (a job's check that it is still its own to finish)."""
    columns = (*TALENT_COLUMNS, OVERRIDE) if kind == "talents" else DEMAND_COLUMNS
    report = ImportReport(kind=kind)
    try:
        frame = read_table(path, filename, sheet=kind)
    except UnreadableFile as exc:
        report.errors.append(RowError(0, "", f"cannot read the file: {exc}"))
        return report
    except Exception as exc:  # any unreadable file is a user error, reported, never a crash
        report.errors.append(RowError(0, "", f"cannot read the file: {type(exc).__name__}: {exc}"))
        return report
    rows = _parse_frame(columns, frame, report)
    if report.errors:
        report.created = report.updated = 0
        return report
    try:
        with db.session() as session:
            if guard is not None:
                guard(session)
            if kind == "talents":
                write_talents(session, rows, report)
            else:
                write_demands(session, rows, report, actor_user_id, actor_role)
            record(session, action="import", entity=kind, entity_id=Path(filename or str(path)).name,
                   actor_user_id=actor_user_id, actor_role=actor_role,
                   after={"rows": report.rows, "created": report.created, "updated": report.updated})
    except ImportRejected as rejected:
        report.errors.extend(rejected.errors)
        report.created = report.updated = 0
    return report
