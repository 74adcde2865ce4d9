"""Evaluation datasets in the import format: the demo's labelled set and one built from CSL.

CSL (Chinese Scientific Literature, COLING 2022, Apache-2.0) is real scientific text nobody on this
team wrote: each paper's abstract and keywords become one expert's profile, its title a short demand.
Labels: the paper itself grade 2, other papers of the same discipline grade 1. The CSL abstracts end
with the paper's title repeated; that copy is removed so the demand text is not planted verbatim in
its answer.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd


def build_csl(source: Path, out_dir: Path) -> dict[str, int]:
    frame = pd.read_csv(source, dtype=str, keep_default_na=False)
    out_dir.mkdir(parents=True, exist_ok=True)
    talents, demands = [], []
    for i, row in enumerate(frame.itertuples(index=False), start=1):
        title = str(row.title).strip()
        abstract = str(row.abstract).strip()
        if abstract.endswith(title):
            abstract = abstract[: -len(title)].rstrip()
        keywords = [k for k in str(row.keywords).split("_") if k]
        talents.append({"external_id": f"CSL-T{i:04d}", "name": f"CSL作者{i:04d}",
                        "profile": abstract, "research_fields": ";".join(keywords),
                        "institution_type": "university", "title_level": "senior",
                        "mode_capacity": "tech_vp:1;dual_appointment:1;flexible:1"})
        demands.append({"external_id": f"CSL-D{i:04d}", "enterprise": "CSL评测单位", "title": title,
                        "description": title, "modes": "flexible"})
    disciplines = list(frame["discipline"])
    with open(out_dir / "qrels.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["demand_external_id", "talent_external_id", "grade"])
        n = 0
        for i, di in enumerate(disciplines, start=1):
            for j, dj in enumerate(disciplines, start=1):
                if i == j:
                    w.writerow([f"CSL-D{i:04d}", f"CSL-T{j:04d}", 2])
                    n += 1
                elif di == dj:
                    w.writerow([f"CSL-D{i:04d}", f"CSL-T{j:04d}", 1])
                    n += 1
    pd.DataFrame(talents).to_csv(out_dir / "talents.csv", index=False)
    pd.DataFrame(demands).to_csv(out_dir / "demands.csv", index=False)
    return {"talents": len(talents), "demands": len(demands), "qrels": n}
