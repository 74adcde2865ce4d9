"""Writes the demo data set (and the large benchmark pools) into the database.

Talents are streamed in batches with ``INSERT ... executemany`` so that a million rows need bounded
memory; the demo's labels (which talents fit which demand) are not stored in the database but written
as an evaluation dataset by ``write_eval_dataset``.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select
from tqdm import tqdm

from matcher.config import Settings
from matcher.demo import duplicates as dup_gen
from matcher.demo import generator
from matcher.domain.demand import COLUMNS as DEMAND_COLUMNS
from matcher.domain.offices import office_tree
from matcher.domain.talent import COLUMNS as TALENT_COLUMNS
from matcher.services.audit import record
from matcher.storage.db import Database
from matcher.storage.models import Demand, Enterprise, InstanceFlag, Intermediary, Talent
from matcher.tabular import format_row


def here(county_code: str | None) -> str | None:
    """The demo company's county where the deployment's region has it (the demo is modelled on Shanxi)."""
    return county_code if county_code and county_code in office_tree() else None


def prepare_database(settings: Settings, demo: bool = False,
                     log: Callable[[str], None] = print) -> tuple[Database, dict[str, str]]:
    """``matcher serve --prepare``: migrate the database, and load the demo (with its public ``demo-*``
    tokens) only into the local SQLite file this very call creates — never into a database configured by
    ``DATABASE_URL`` (a new, empty production PostgreSQL included) unless ``demo`` says so. Returns the
    database and the demo accounts' tokens (none outside a demo database)."""
    from matcher.services.people.users import ensure_demo_users

    creates_local = not settings.database_url and not (settings.var_dir / "matcher.db").exists()
    db = Database.from_settings(settings)
    db.upgrade()
    seeded = creates_local or demo
    if seeded:
        seed_demo(db, talents=settings.demo_talents, demands=settings.demo_demands, seed=settings.demo_seed,
                  log=log, duplicates=settings.demo_duplicates, namesakes=settings.demo_namesakes)
    elif not _has_talents(db):
        log("the configured database is not one this command created: no demo data loaded (use --demo for a trial)")
    tokens = ensure_demo_users(db)
    if seeded and tokens:
        _demo_saved_search(db, settings)
    return db, tokens


def _demo_saved_search(db: Database, settings: Settings) -> None:
    """The demo intermediary's 订阅 of the board's 现代煤化工 demands (``services/inbox/alerts``), made once with
    the demo: its notification page shows one, and a coal-chemical demand posted later is announced."""
    from matcher.services.access import actor_of
    from matcher.services.inbox import alerts
    from matcher.storage.models import User

    with db.session() as s:
        u = s.scalar(select(User).where(User.username == "demo_intermediary"))
        who = actor_of(s, u) if u is not None else None
    if who is not None:
        alerts.create(db, None, settings, who, "demands", "现代煤化工新需求", {"sector": "coal_chemical"})


def _has_talents(db: Database) -> bool:
    with db.session() as s:
        return bool(s.scalar(select(func.count()).select_from(Talent)))


def seed_demo(db: Database, *, talents: int, demands: int, seed: int, batch_size: int = 5000,
              progress: bool = True, log: Callable[[str], None] = print, duplicates: int = 0,
              namesakes: int = 0) -> dict[str, int]:
    """Idempotent: a database that already holds talents is left as it is (returns what it holds).
    ``duplicates`` of the talents are written a second time as another list would carry them, and
    ``namesakes`` new people share a talent's name (``demo/duplicates.py``)."""
    with db.session() as s:
        have = s.scalar(select(func.count()).select_from(Talent)) or 0
        if have:
            n_demands = s.scalar(select(func.count()).select_from(Demand)) or 0
            log(f"database already holds {have} talents and {n_demands} demands; nothing seeded")
            return {"talents": have, "demands": n_demands, "seeded": 0}
    companies = generator.enterprises(seed)
    with db.session() as s:
        ents = {}
        for c in companies:
            e = Enterprise(name=c["name"], credit_code=c["credit_code"], city=c["city"],
                           county_code=here(c["county_code"]), industry_code=c["industry_code"],
                           can_host_joint_post=c["can_host_joint_post"])
            s.add(e)
            ents[c["name"]] = e
        for m in generator.intermediaries():
            s.add(Intermediary(**m))
        rows, _ = generator.demands(seed, demands, companies)
        now = datetime.now(UTC)
        for i, r in enumerate(rows):
            r = dict(r)
            # Posted over the last four weeks (a fixed spread, no random draw): on first start some demands
            # wait past their time limit to be taken up, so the 督查 list has items in it.
            posted = now - timedelta(days=(i * 7) % 29, hours=(i * 5) % 24)
            if r.get("deadline"):  # ahead of the seeding day as of the generator's base day (no expiry at start)
                r["deadline"] = r["deadline"] + (now.date() - generator.DEADLINE_BASE)
            s.add(Demand(enterprise=ents[r.pop("enterprise")], created_at=posted, updated_at=posted, **r))
        s.flush()
        employer_ids = {name: e.id for name, e in ents.items()}
        s.add(InstanceFlag(key="demo", value=str(seed)))  # demo accounts exist only in such a database
        record(s, action="seed", entity="demo", entity_id=str(seed),
               after={"talents": talents, "demands": demands, "enterprises": len(companies)})
    bar = tqdm(total=talents + min(duplicates + namesakes, talents), desc="talents", unit="row", disable=not progress,
               mininterval=1.0)
    batch: list[dict[str, Any]] = []
    kept: list[dict[str, Any]] = []
    for row, _topic in generator.iter_talents(seed, talents):
        row = dict(row)
        if duplicates or namesakes:
            kept.append(dict(row))
        employer = row.pop("_employer")
        row["employer_enterprise_id"] = employer_ids.get(employer) if employer else None
        batch.append(row)
        if len(batch) >= batch_size:
            _insert_talents(db, batch)
            bar.update(len(batch))
            batch = []
    extra, _truth = dup_gen.seeded(seed, kept, duplicates, namesakes)
    for row in extra:
        employer = row.pop("_employer", None)
        row["employer_enterprise_id"] = employer_ids.get(employer) if employer else None
        batch.append(row)
    if batch:
        _insert_talents(db, batch)
        bar.update(len(batch))
    bar.close()
    from matcher.demo.workflow import seed_work_in_progress
    from matcher.services.inbox import items as _inbox  # noqa: F401 (the demo's work fills the inbox)
    from matcher.services.people.users import DEMO_USERS

    in_review = seed_work_in_progress(db, DEMO_USERS[2][3], DEMO_USERS[3][4], log)
    from matcher.demo.engagements import seed_engagements

    engaged = seed_engagements(db, DEMO_USERS[2][3], DEMO_USERS[3][4], log)
    return {"talents": talents + len(extra), "demands": demands, "seeded": 1, "duplicates": duplicates,
            "namesakes": namesakes, "in_review": in_review,
            "engagements": engaged}


def _insert_talents(db: Database, batch: list[dict[str, Any]]) -> None:
    with db.session() as s:
        s.execute(insert(Talent), batch)


def write_eval_dataset(out_dir: Path, *, talents: int, demands: int, seed: int) -> dict[str, int]:
    """The demo's labelled set in the import format: talents.csv, demands.csv, qrels.csv."""
    out_dir.mkdir(parents=True, exist_ok=True)
    companies = generator.enterprises(seed)
    t_rows, t_topics = [], []
    for row, topic in generator.iter_talents(seed, talents):
        t_rows.append(format_row(TALENT_COLUMNS, row, with_contact=False))
        t_topics.append(topic)
    d_rows, d_topics = generator.demands(seed, demands, companies)
    by_name = {c["name"]: c for c in companies}
    d_out = []
    for r in d_rows:
        values = dict(r, credit_code=by_name[r["enterprise"]]["credit_code"])
        d_out.append(format_row(DEMAND_COLUMNS, values))
    _write_csv(out_dir / "talents.csv", t_rows)
    _write_csv(out_dir / "demands.csv", d_out)
    labels = generator.qrels(d_topics, t_topics)
    with open(out_dir / "qrels.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["demand_external_id", "talent_external_id", "grade"])
        for d, t, g in labels:
            w.writerow([d_rows[d]["external_id"], t_rows[t]["external_id"], g])
    return {"talents": len(t_rows), "demands": len(d_out), "qrels": len(labels)}


def _write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
