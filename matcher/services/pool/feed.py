"""The change feed from the database to every process's talent pool.

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
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, or_, select
from sqlalchemy.orm import Session

from matcher.engine.pool import TalentPool
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


class FeedFollower:
    """Applies the feed to one pool. ``start`` is the feed's head read before the pool was loaded, so
    whatever changed while it loaded is applied by the first poll."""

    def __init__(self, db: Database, pool: TalentPool, start: int, window: float = 60.0) -> None:
        self.db, self.pool, self.window = db, pool, window
        self.high = start
        self._seen: dict[int, datetime] = {}

    def poll(self) -> int:
        """Apply new changes; returns how many talents were reloaded."""
        from matcher.services.pool.facts import pool_facts

        since = datetime.now(UTC) - timedelta(seconds=self.window)
        with self.db.session() as s:
            rows = s.execute(select(TalentChange.seq, TalentChange.talent_id, TalentChange.at)
                             .where(or_(TalentChange.seq > self.high, TalentChange.at >= since))
                             .order_by(TalentChange.seq)).all()
            fresh = [(seq, tid, at) for seq, tid, at in rows if seq not in self._seen]
            if not fresh:
                self._forget(since)
                return 0
            ids = {tid for _, tid, _ in fresh}
            live, gone = pool_facts(s, ids)
        upserts = [f for i, f in live.items() if self.pool.facts.get(i) != f]
        removals = [i for i in gone if i in self.pool.facts]
        if upserts:
            self.pool.upsert(upserts)
        if removals:
            self.pool.remove(removals)
        for seq, _, at in fresh:
            self._seen[seq] = at if at.tzinfo else at.replace(tzinfo=UTC)
            self.high = max(self.high, seq)
        self._forget(since)
        if upserts or removals:
            log.info("change feed: %d talent(s) updated, %d removed (seq %d)", len(upserts), len(removals),
                     self.high)
        return len(upserts) + len(removals)

    def _forget(self, since: datetime) -> None:
        for seq in [q for q, at in self._seen.items() if at < since and q <= self.high]:
            del self._seen[seq]
