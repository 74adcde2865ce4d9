"""The process's matching state in one object: the talent pool once it is loaded, its status for
/ready, and the change-feed follower. Services ask it for a ready pool instead of checking the pool's
internals themselves."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from matcher.engine.pool import TalentPool
from matcher.errors import NotReady
from matcher.services.learning.decisions import ImpressionBuffer
from matcher.services.pool.feed import FeedFollower


def ready(pool: TalentPool | None) -> TalentPool | None:
    """The pool when it can serve, else None (still loading, or failed to load)."""
    return pool if pool is not None and pool.ready else None


def require(pool: TalentPool | None) -> TalentPool:
    """The pool when it can serve, else ``NotReady`` (503: retry shortly, see /ready)."""
    live = ready(pool)
    if live is None:
        raise NotReady("the matching index is still being built; retry shortly (see /ready)")
    return live


@dataclass
class Runtime:
    pool: TalentPool | None = None
    status: str = "starting"
    follower: FeedFollower | None = None
    stopping: threading.Event = field(default_factory=threading.Event)
    impressions: ImpressionBuffer = field(default_factory=ImpressionBuffer)  # shown lists, written in batches
    ranker_version: str | None = None  # the learned model this process ranks with (None: hand weights)

    def ready_pool(self) -> TalentPool | None:
        return ready(self.pool)
