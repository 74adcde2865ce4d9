"""The change feed from the database to every process's talent pool: the writer (``talents_changed``, in
the caller's transaction) and the feed's head. Its follower is ``services/pool/follower.py``.

Why: with several worker processes each holds its own pool in memory; a talent imported, edited or
deactivated through one must be proposed (or no longer proposed) by all. Every such change writes a
row to ``talent_changes`` in the same transaction as the change itself; each process follows the
table (``FeedFollower.poll``, every second) and reloads those talents from the database. It works
the same on SQLite and PostgreSQL and needs no broker.

Commit order and sequence order can differ on PostgreSQL (a transaction may take seq 10 and commit
after another took 11), so a follower does not trust "everything up to the highest seq seen": it
re-reads the last ``window`` seconds each time and skips only the seqs it has already applied.
Applying a change twice is harmless (the talent is reloaded and compared).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from matcher.storage.db import Database
from matcher.storage.models import TalentChange

log = logging.getLogger(__name__)


def talents_changed(session: Session, talent_ids: Iterable[int]) -> None:
    """Record, in the caller's transaction, that these talents changed (text, status or load)."""
    ids = sorted({int(i) for i in talent_ids})
    if ids:
        session.execute(insert(TalentChange), [{"talent_id": i} for i in ids])


def head(db: Database) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.max(TalentChange.seq))) or 0)
