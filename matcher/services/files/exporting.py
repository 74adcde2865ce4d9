"""Export of talents and demands to XLSX in the import format (an export re-imports unchanged).

Contact data (phone, email) is left out unless asked for, because exports leave the platform.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from matcher.domain.demand import COLUMNS as DEMAND_COLUMNS
from matcher.domain.talent import COLUMNS as TALENT_COLUMNS
from matcher.services.access import Actor, demand_scope
from matcher.storage.db import Database
from matcher.storage.models import Demand, Talent
from matcher.tabular import format_row


def talents_frame(db: Database, with_contact: bool = False) -> pd.DataFrame:
    with db.session() as s:
        rows = [format_row(TALENT_COLUMNS, {c.name: getattr(t, c.name) for c in TALENT_COLUMNS}, with_contact)
                for t in s.scalars(select(Talent).order_by(Talent.id))]
    return pd.DataFrame(rows)


def demands_frame(db: Database, actor: Actor | None = None) -> pd.DataFrame:
    """Every demand (the command line), or those ``actor``'s office sees (``access.demand_scope``)."""
    stmt = select(Demand).options(joinedload(Demand.enterprise)).order_by(Demand.id)
    if actor is not None:
        stmt = stmt.where(demand_scope(actor))
    with db.session() as s:
        rows = []
        for d in s.scalars(stmt):
            values = {c.name: getattr(d, c.name, None) for c in DEMAND_COLUMNS}
            values["enterprise"] = d.enterprise.name
            values["credit_code"] = d.enterprise.credit_code
            values["county"] = d.enterprise.county_code
            row = format_row(DEMAND_COLUMNS, values)
            row["status"] = d.status
            rows.append(row)
    return pd.DataFrame(rows)


#: A cell starting with one of these is read as a formula by spreadsheet programs (CSV/DDE injection):
#: a demand titled ``=HYPERLINK(…)`` must reach the official's workbook as text.
FORMULA_LEAD = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(ws: Any, value: Any) -> WriteOnlyCell:
    """One cell that is always data: text stays text (never a formula), and characters XLSX cannot hold
    (control characters) are replaced, so no stored string can make the export fail."""
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
    cell = WriteOnlyCell(ws, value=value)
    if isinstance(value, str) and value.startswith(FORMULA_LEAD):
        cell.data_type = "s"
        cell.quotePrefix = True  # and Excel keeps it text when the cell is edited
    return cell


def neutral(value: Any) -> Any:
    """A cell for a CSV: text a spreadsheet would run as a formula gets a leading apostrophe (the OWASP advice
    for CSV injection), so it opens as the text it is."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_LEAD) else value


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    frame.map(neutral).to_csv(path, index=False)


def write_sheet(wb: Workbook, name: str, frame: pd.DataFrame) -> None:
    ws = wb.create_sheet(name)
    ws.append([safe_cell(ws, str(c)) for c in frame.columns])
    for row in frame.itertuples(index=False):
        ws.append([safe_cell(ws, v) for v in row])


def export_xlsx(db: Database, path: Path, with_contact: bool = False, actor: Actor | None = None) -> dict[str, int]:
    talents, demands = talents_frame(db, with_contact), demands_frame(db, actor)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = Workbook(write_only=True)
    write_sheet(wb, "demands", demands)
    write_sheet(wb, "talents", talents)
    wb.save(path)
    return {"demands": len(demands), "talents": len(talents)}


def write_rows_xlsx(path: Path, sheet: str, rows: list[dict[str, Any]]) -> int:
    """Rows (dicts; the columns are the union of their keys in first-seen order) as one safe sheet — the
    workbook finance receives (formulas neutralised as in every export)."""
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    wb = Workbook(write_only=True)
    write_sheet(wb, sheet, pd.DataFrame([{c: row.get(c, "") for c in columns} for row in rows], columns=list(columns)))
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return len(rows)
