"""The ranking variants ``matcher eval`` compares on a labelled set: lexical, dense, hybrid, full (the hand
ranking) and, when a model is in use, learned (the same re-ranking step the service applies)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from matcher.domain import modes
from matcher.domain.facts import DemandFacts
from matcher.engine.ranking import fuse, rank

if TYPE_CHECKING:
    from matcher.engine.pool import TalentPool


def rank_variants(pool: TalentPool, text: str, k: int, demand: DemandFacts | None = None, n: int = 200,
                  mode: str = modes.EVALUATION_MODE) -> dict[str, list[int]]:
    """Rankings of the whole pool by lexical, dense, hybrid and full scoring (``matcher eval``). The full
    ranking scores everyone with ``mode``'s features and keeps excluded talents in score order: the
    labels grade expertise, whatever the mode, so the eligibility rules (tested on their own) would
    only blur the comparison of scorings."""
    q = pool.embedder.encode_queries([text])
    _, d_ids = pool.index.search(q, k)
    l_ids, _ = pool.lexical.search(text, k)
    c = pool.candidates(text, n)
    ids, dense, lexical = c.ids, c.dense, c.lexical
    hybrid = fuse(dense.astype(np.float64), lexical.astype(np.float64), pool.cfg.dense_weight)
    order = np.lexsort((ids, -hybrid))
    out = {"lexical": l_ids.tolist()[:k], "dense": [int(i) for i in d_ids[0] if i >= 0][:k],
           "hybrid": ids[order].tolist()[:k]}
    if demand is not None:
        talents, dense, lexical = pool.known(c)
        ranked = rank(mode, demand, talents, dense, lexical, pool.cfg, include_excluded=True,
                      neighbours=pool.neighbours_of, eligible_first=False)
        out["full"] = [r.talent_id for r in ranked][:k]
        learned = pool.learned_for(mode)
        if learned is not None:  # the adopted model, on the same candidates and features
            out["learned"] = [r.talent_id for r in learned.rerank(mode, ranked, eligible_only=False)][:k]
        elif pool.learned is not None:
            out["learned"] = out["full"]  # the model does not re-order this mode: the hand ranking stands
    return out
