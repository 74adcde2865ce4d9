"""Follows the change feed (``services/pool/feed.py``) into one process's pool.

Commit order and sequence order can differ on PostgreSQL (a transaction may take seq 10 and commit
after another took 11), so a follower does not trust "everything up to the highest seq seen": it
re-reads the last ``window`` seconds each time and skips only the seqs it has already applied.
Applying a change twice is harmless (the talent is reloaded and compared). A change the pool fails to
apply is logged and recorded (``failures``) and the follower moves on: one bad row must never stop a
worker from applying every later change (a withdrawal among them).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select

from matcher.domain.facts import TalentFacts
from matcher.engine.pool import TalentPool
from matcher.services.pool.facts import pool_facts
from matcher.storage.db import Database
from matcher.storage.models import TalentChange

log = logging.getLogger(__name__)


class FeedFollower:
    """Applies the feed to one pool. ``start`` is the feed's head read before the pool was loaded, so
    whatever changed while it loaded is applied by the first poll."""

    def __init__(self, db: Database, pool: TalentPool, start: int, window: float = 60.0) -> None:
        self.db, self.pool, self.window = db, pool, window
        self.high = start
        self._seen: dict[int, datetime] = {}
        self.failures: list[tuple[int, str]] = []  # (talent id, error) of changes that could not be applied

    def poll(self) -> int:
        """Apply new changes; returns how many talents were reloaded."""
        since = datetime.now(UTC) - timedelta(seconds=self.window)
        mark = self.pool.mark()  # a change this process applied after the read below is not undone
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
        self._apply(upserts, removals, mark)
        for seq, _, at in fresh:
            self._seen[seq] = at if at.tzinfo else at.replace(tzinfo=UTC)
            self.high = max(self.high, seq)
        self._forget(since)
        if upserts or removals:
            log.info("change feed: %d talent(s) updated, %d removed (seq %d)", len(upserts), len(removals),
                     self.high)
        return len(upserts) + len(removals)

    def _apply(self, upserts: list[TalentFacts], removals: list[int], mark: int) -> None:
        """Apply a batch; if it fails, apply talent by talent, logging and recording (``failures``) each
        change that still fails, and move on."""
        try:
            if removals:
                self.pool.remove(removals, since=mark)
            if upserts:
                self.pool.upsert(upserts, since=mark)
            return
        except Exception:
            log.exception("change feed: applying %d change(s) at once failed; applying them one by one",
                          len(upserts) + len(removals))
        for tid, step in [(i, lambda i=i: self.pool.remove([i], since=mark)) for i in removals] + \
                         [(f.id, lambda f=f: self.pool.upsert([f], since=mark)) for f in upserts]:
            try:
                step()
            except Exception as exc:
                log.exception("change feed: talent %d could not be applied; skipped", tid)
                self.failures.append((tid, f"{type(exc).__name__}: {exc}"))
                del self.failures[:-100]

    def _forget(self, since: datetime) -> None:
        for seq in [q for q, at in self._seen.items() if at < since and q <= self.high]:
            del self._seen[seq]
