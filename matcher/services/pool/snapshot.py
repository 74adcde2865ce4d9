"""The pool's facts saved beside the index, so a start reads a file and the change feed instead of every
talent from the database.

Why: at a million talents a worker's start spent ≈ 50 of its ≈ 60 s reading and converting rows
(``all_talent_facts``); unpickling the same facts takes a few seconds. The snapshot is written by a start
that read the database in full, with the change feed's position at that read; a later start takes the
snapshot, re-reads only the talents the feed names since then (``facts.pool_facts``, the follower's own read)
and so holds what a full read would give:

- every change that reaches other workers is in the feed (``feed.talents_changed``), so it reaches a
  snapshot the same way; a change committed out of sequence order is caught by re-reading the feed's
  rows of the last ``REPLAY_WINDOW`` seconds before the snapshot, as the follower does;
- the snapshot is refused, and the database read in full, when its file is damaged, when it was written
  for another database (the feed row it names is missing or has another time), by other code (a hash of
  the modules that make facts), under another ``propose_pending`` policy, when the feed names more than
  ``REPLAY_LIMIT`` of the pool (a full read is then as cheap), or when the result does not hold exactly
  as many talents as the database counts as proposable.

The file is written atomically (temporary file, fsync, rename) under the index directory's lock, so
workers never read half of one.
"""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import os
import pickle
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from matcher.config import get_settings
from matcher.domain.facts import TalentFacts
from matcher.services.access import proposable_count
from matcher.storage.models import TalentChange

log = logging.getLogger(__name__)

FILE = "facts.pickle"
META = "facts.json"
#: Feed rows this many seconds older than the snapshot are re-read too (commit order ≠ sequence order).
REPLAY_WINDOW = 120.0
#: Above this share of the pool (and ``REPLAY_MIN`` talents) named by the feed since the snapshot, the
#: database is read in full: re-reading that many talents one batch at a time costs as much.
REPLAY_LIMIT = 0.2
REPLAY_MIN = 10_000


#: The modules that make facts (paths in the package, read, not imported: facts.py imports this module).
MAKERS = ("domain/facts.py", "domain/privacy.py", "domain/talent.py", "services/access.py", "services/pool/facts.py")


def code_version() -> str:
    """A hash of what makes facts: their fields and the modules that compute them. Other code, other facts."""
    package = Path(__file__).resolve().parents[2]
    digest = hashlib.sha256(",".join(f.name for f in fields(TalentFacts)).encode())
    for name in MAKERS:
        digest.update((package / name).read_bytes())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Mark:
    """Where the change feed stood when the facts were read: its last row (0: empty feed), that row's
    time (it tells one database from another), and the wall-clock time of the read."""

    seq: int
    seq_at: str
    taken_at: float

    @classmethod
    def now(cls, session: Session) -> Mark:
        row = session.execute(select(TalentChange.seq, TalentChange.at).order_by(TalentChange.seq.desc())
                              .limit(1)).first()
        return cls(int(row[0]), _iso(row[1]), time.time()) if row else cls(0, "", time.time())


def _iso(at: datetime) -> str:
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).isoformat()


def save(directory: Path, facts: list[TalentFacts], mark: Mark, policy: str) -> None:
    """Write the snapshot atomically (the caller holds the directory's lock)."""
    directory.mkdir(parents=True, exist_ok=True)
    payload = pickle.dumps(facts, protocol=pickle.HIGHEST_PROTOCOL)
    meta = {"seq": mark.seq, "seq_at": mark.seq_at, "taken_at": mark.taken_at, "talents": len(facts),
            "code": code_version(), "policy": policy, "bytes": len(payload), "crc32": zlib.crc32(payload)}
    for name, data in ((FILE, payload), (META, json.dumps(meta).encode())):
        tmp = directory / f".{name}.tmp"
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, directory / name)


def _load(directory: Path, policy: str) -> tuple[list[TalentFacts], Mark] | str:
    """The saved facts and their mark, or why they cannot be used."""
    try:
        meta = json.loads((directory / META).read_text(encoding="utf-8"))
        payload = (directory / FILE).read_bytes()
    except (OSError, ValueError):
        return "none"
    if meta.get("code") != code_version():
        return "written by other code"
    if meta.get("policy") != policy:
        return "written under another consent policy"
    if len(payload) != meta.get("bytes") or zlib.crc32(payload) != meta.get("crc32"):
        return "damaged"
    try:
        facts = pickle.loads(payload)
    except Exception as exc:  # a file the checks passed and pickle still refuses: read the database
        return f"unreadable ({type(exc).__name__})"
    if not isinstance(facts, list) or len(facts) != meta.get("talents"):
        return "damaged"
    return facts, Mark(int(meta["seq"]), str(meta["seq_at"]), float(meta["taken_at"]))


def policy() -> str:
    """The setting that decides who is proposable (``access.proposable_filter``): other policy, other facts."""
    return f"propose_pending={get_settings().propose_pending}"


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a million facts are made (none of them is garbage): the
    collector's passes over the growing heap cost ≈ 12 % of a full read and ≈ 60 % of an unpickling
    (measured at 1M: 41 → 36 s and 10.6 → 4.0 s)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


#: Reads the facts of some talents: (the proposable ones' facts, the ids no longer proposable).
ReadSome = Callable[[Session, list[int]], tuple[dict[int, TalentFacts], set[int]]]


def restore(session: Session, directory: Path, policy: str, read_some: ReadSome
            ) -> tuple[list[TalentFacts] | None, str]:
    """The snapshot brought up to date through the feed and how, or None and why it cannot be used."""
    loaded = _load(directory, policy)
    if isinstance(loaded, str):
        return None, loaded
    facts, mark = loaded
    if mark.seq:
        at = session.scalar(select(TalentChange.at).where(TalentChange.seq == mark.seq))
        if at is None or _iso(at) != mark.seq_at:
            return None, "written for another database"
    since = datetime.fromtimestamp(mark.taken_at, UTC) - timedelta(seconds=REPLAY_WINDOW)
    named = set(session.scalars(select(TalentChange.talent_id).distinct()
                                .where(or_(TalentChange.seq > mark.seq, TalentChange.at >= since))))
    if len(named) > max(REPLAY_MIN, REPLAY_LIMIT * len(facts)):
        return None, f"the feed names {len(named):,} talents since it was written"
    by_id = {f.id: f for f in facts}
    ids = sorted(named)
    for start in range(0, len(ids), 5000):
        live, gone = read_some(session, ids[start:start + 5000])
        by_id.update(live)
        for i in gone:
            by_id.pop(i, None)
    expected = proposable_count(session)
    if len(by_id) != expected:
        return None, f"holds {len(by_id):,} talents where the database has {expected:,}"
    out = sorted(by_id.values(), key=lambda f: f.id)
    return out, f"restored from the snapshot and {len(named):,} change(s) since"


def read_facts(session: Session, directory: Path | None, read_all: Callable[[Session], list[TalentFacts]],
               read_some: ReadSome, say: Callable[[str], None] = log.info) -> list[TalentFacts]:
    """Every proposable talent's facts: from the snapshot when it can be used, else from the database in
    full (``read_all``), and then a new snapshot is written (``directory``: the index directory, None: no
    snapshot). ``read_some`` re-reads the talents the feed names (``facts.pool_facts``, as the follower)."""
    began = time.monotonic()
    rule = policy()
    with _collector_paused():
        if directory is not None:
            restored, how = restore(session, directory, rule, read_some)
            if restored is not None:
                say(f"talent facts {how} ({len(restored):,} talents, {time.monotonic() - began:.1f} s)")
                return restored
            say(f"talent facts snapshot not used ({how}): reading every talent from the database")
        mark = Mark.now(session)  # before the read: whatever changes during it is replayed next time
        facts = read_all(session)
    took = time.monotonic() - began
    if directory is not None:
        save(directory, facts, mark, rule)
        say(f"talent facts read from the database ({len(facts):,} talents, {took:.1f} s); snapshot written "
            f"in {time.monotonic() - began - took:.1f} s")
    return facts
