"""Export of talents and demands to XLSX in the import format (an export re-imports unchanged).

Contact data (phone, email) is left out unless asked for, because exports leave the platform.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from matcher.storage.db import Database
from matcher.storage.models import Demand, Talent
from matcher.tabular import DEMAND_COLUMNS, TALENT_COLUMNS, format_row


def talents_frame(db: Database, with_contact: bool = False) -> pd.DataFrame:
    with db.session() as s:
        rows = [format_row(TALENT_COLUMNS, {c.name: getattr(t, c.name) for c in TALENT_COLUMNS}, with_contact)
                for t in s.scalars(select(Talent).order_by(Talent.id))]
    return pd.DataFrame(rows)


def demands_frame(db: Database) -> pd.DataFrame:
    with db.session() as s:
        rows = []
        for d in s.scalars(select(Demand).options(joinedload(Demand.enterprise)).order_by(Demand.id)):
            values = {c.name: getattr(d, c.name, None) for c in DEMAND_COLUMNS}
            values["enterprise"] = d.enterprise.name
            values["credit_code"] = d.enterprise.credit_code
            row = format_row(DEMAND_COLUMNS, values)
            row["status"] = d.status
            rows.append(row)
    return pd.DataFrame(rows)


def export_xlsx(db: Database, path: Path, with_contact: bool = False) -> dict[str, int]:
    talents, demands = talents_frame(db, with_contact), demands_frame(db)
    path.parent.mkdir(parents=True, exist_ok=True)
    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        demands.to_excel(xw, sheet_name="demands", index=False)
        talents.to_excel(xw, sheet_name="talents", index=False)
    return {"demands": len(demands), "talents": len(talents)}
