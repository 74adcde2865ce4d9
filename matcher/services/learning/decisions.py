"""Feedback as data: decision events recorded as they happen, read back as training lists, exported.

Decisions (shortlisted, answered, submitted, approved/rejected, confirmed, outcome, 奖补) are written
in the same transaction as the state change they describe, so the log and the workflow never disagree.
Impressions (a list shown to an intermediary, with each row's rank and features) are many and cheap
to lose, so they are buffered in memory and written in one insert by the background thread every
few seconds (and at shutdown): a request never waits for them. Only intermediaries' views are logged:
they are the ones who pick from the list, and their picks are what position bias distorts.
"""

from __future__ import annotations

import threading
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from matcher.engine.ltr import ListSample, feature_vector, grade, matrix
from matcher.engine.search import Proposal
from matcher.services.files.exporting import write_csv, write_sheet
from matcher.storage.db import Database
from matcher.storage.models import DecisionEvent

#: Event kinds (``shown`` plus the decisions), as stored.
KINDS = ("shown", "shortlisted", "contact_accepted", "contact_declined", "contact_no_answer", "submitted",
         "approved", "rejected", "confirmed", "outcome_solved", "outcome_partly", "outcome_not", "rewarded")


def record_decision(session: Session, kind: str, demand_id: int, talent_id: int, mode: str,
                    actor_user_id: int | None = None, reason: str = "") -> None:
    """A decision about a (demand, talent, mode), in the caller's transaction."""
    if kind not in KINDS or kind == "shown":
        raise ValueError(f"unknown decision kind '{kind}'")
    session.add(DecisionEvent(kind=kind, demand_id=demand_id, talent_id=talent_id, mode=mode, reason=reason,
                              actor_user_id=actor_user_id))


class ImpressionBuffer:
    """Shown lists waiting to be written; thread-safe, bounded (the oldest rows go first if the database
    is unreachable for long)."""

    def __init__(self, limit: int = 200_000) -> None:
        self._rows: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._limit = limit

    def add(self, demand_id: int, mode: str, proposals: Sequence[Proposal], offset: int,
            actor_user_id: int | None) -> str:
        list_id = uuid.uuid4().hex
        now = datetime.now(UTC)
        rows = [{"at": now, "kind": "shown", "demand_id": demand_id, "talent_id": p.talent.id, "mode": mode,
                 "list_id": list_id, "rank": offset + i + 1, "ranker": p.ranked.ranker,
                 "features": {**feature_vector(mode, p.ranked), "hand_score": p.ranked.hand_score
                              if p.ranked.hand_score is not None else p.ranked.score},
                 "reason": "", "actor_user_id": actor_user_id, "source": "live"}
                for i, p in enumerate(proposals) if p.ranked.eligible]
        with self._lock:
            self._rows.extend(rows)
            if len(self._rows) > self._limit:
                del self._rows[: len(self._rows) - self._limit]
        return list_id

    def __len__(self) -> int:
        return len(self._rows)

    def flush(self, db: Database) -> int:
        with self._lock:
            rows, self._rows = self._rows, []
        if not rows:
            return 0
        try:
            with db.session() as s:
                s.execute(insert(DecisionEvent), rows)
        except Exception:
            with self._lock:  # keep them for the next flush
                self._rows[:0] = rows
            raise
        return len(rows)


def write_events(db: Database, rows: Sequence[dict[str, Any]], batch: int = 5000) -> None:
    """Bulk insert of prepared event rows (the demo's simulated history)."""
    for start in range(0, len(rows), batch):
        with db.session() as s:
            s.execute(insert(DecisionEvent), list(rows[start:start + batch]))


def events_frame(db: Database) -> pd.DataFrame:
    """Every decision event as a table (features spread into columns), oldest first: for analysis."""
    with db.session() as s:
        rows = [{"id": e.id, "at": e.at, "kind": e.kind, "demand_id": e.demand_id, "talent_id": e.talent_id,
                 "mode": e.mode, "list_id": e.list_id, "rank": e.rank, "ranker": e.ranker, "reason": e.reason,
                 "actor_user_id": e.actor_user_id, "source": e.source,
                 **{f"f_{k}": v for k, v in (e.features or {}).items()}}
                for e in s.scalars(select(DecisionEvent).order_by(DecisionEvent.at, DecisionEvent.id))]
    return pd.DataFrame(rows)


def export_events(db: Database, path: Path) -> int:
    """CSV or XLSX by the file's suffix; returns the number of rows."""
    df = events_frame(db)
    if "at" in df:
        df["at"] = pd.to_datetime(df["at"], utc=True).dt.tz_localize(None)
    if path.suffix.lower() == ".xlsx":  # user text (reasons) reaches a spreadsheet: never as a formula
        wb = Workbook(write_only=True)
        write_sheet(wb, "events", df)
        wb.save(path)
    else:
        write_csv(df, path)
    return len(df)


def _ts(at: datetime) -> float:
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()


def training_lists(db: Database, features: Sequence[str] | None = None) -> list[ListSample]:
    """Shown lists with graded labels, oldest first. A shown row's label replays the decisions about its
    (demand, talent, mode) made after it was shown (``ltr.grade``); rows shown without features are
    skipped."""
    with db.session() as s:
        shown = list(s.execute(
            select(DecisionEvent.list_id, DecisionEvent.at, DecisionEvent.demand_id, DecisionEvent.talent_id,
                   DecisionEvent.mode, DecisionEvent.rank, DecisionEvent.features)
            .where(DecisionEvent.kind == "shown").order_by(DecisionEvent.at, DecisionEvent.id)))
        decisions: dict[tuple[int, int, str], list[tuple[float, str]]] = defaultdict(list)
        for when, kind, d, t, m in s.execute(
                select(DecisionEvent.at, DecisionEvent.kind, DecisionEvent.demand_id, DecisionEvent.talent_id,
                       DecisionEvent.mode).where(DecisionEvent.kind != "shown")
                .order_by(DecisionEvent.at, DecisionEvent.id)):
            decisions[(d, t, m)].append((_ts(when), kind))
    lists: dict[str, list[Any]] = defaultdict(list)
    for row in shown:
        if row.features and row.list_id:
            lists[row.list_id].append(row)
    out = []
    for list_id, rows in lists.items():
        rows.sort(key=lambda r: r.rank or 0)
        shown_at = _ts(rows[0].at)
        labels = [grade([k for t, k in decisions.get((r.demand_id, r.talent_id, r.mode), []) if t >= shown_at])
                  for r in rows]
        out.append(ListSample(list_id=list_id, at=shown_at, ids=[str(r.talent_id) for r in rows],
                              X=matrix([r.features for r in rows], features),
                              hand=np.array([float(r.features.get("hand_score", 0.0)) for r in rows]),
                              position=np.array([(r.rank or 1) - 1 for r in rows]),
                              label=np.array(labels, dtype=np.float64)))
    out.sort(key=lambda x: x.at)
    return out
