"""Searching the talent pool: filters and mode rules applied inside the index, candidates from dense
and lexical retrieval, the ranking of one demand in one mode with explanations, and the score of one
chosen talent against the same candidate set.

A mixin of ``TalentPool`` (engine/pool.py), which owns the state these methods read; kept apart so the
pool's life cycle and its search can be read, and changed, one at a time.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace

import numpy as np

from matcher.domain import modes
from matcher.domain.facts import DemandFacts, TalentFacts
from matcher.engine.embedding import CachedEmbedder
from matcher.engine.explain import Aligned, Explanation, explain, scored, sentences_of
from matcher.engine.index import VectorIndex
from matcher.engine.lexical import LexicalIndex
from matcher.engine.ltr import LearnedRanker
from matcher.engine.neighbours import NeighbourTable
from matcher.engine.ranking import (
    RankedTalent,
    RankingConfig,
    demand_exclusion,
    exclusion,
    one_per_person,
    rank,
)

# Talent-only view of the mode rules (a demand that can host everything), used to pre-filter inside FAISS.
_ANY_DEMAND = DemandFacts(id=-1, text="", can_host_joint_post=True)


@dataclass(frozen=True)
class Filters:
    sector: str | None = None
    city: str | None = None
    institution_type: str | None = None
    in_province: bool | None = None
    tier: str | None = None  # the programmes' talent tier (英才计划)


@dataclass(frozen=True)
class Proposal:
    """One ranked talent with the reasons (the text evidence only when the list was explained)."""

    talent: TalentFacts
    ranked: RankedTalent
    explanation: Explanation


@dataclass(frozen=True)
class Candidates:
    """The union of the dense and lexical top-n, with both scores for every candidate."""

    ids: np.ndarray
    dense: np.ndarray
    lexical: np.ndarray


class PoolSearch:
    # The state the search reads (set by TalentPool).
    embedder: CachedEmbedder
    cfg: RankingConfig
    index: VectorIndex
    lexical: LexicalIndex
    facts: dict[int, TalentFacts]
    neighbours: NeighbourTable
    learned: LearnedRanker | None  # a trained ranker in use (services/learning.py), else the hand weights
    selector_max_fraction: float
    _arrays: dict[str, np.ndarray] | None
    _arrays_lock: threading.Lock
    _row_of: dict[int, int]
    _write: threading.Lock
    # allowed_ids' answers for the current filter columns ((version, filters, mode) → ids, member mask):
    # at a million talents a filter is a pass over a million rows (≈ 4 ms) and most requests repeat one
    _arrays_version: int
    _allowed_memo: dict[tuple[int, Filters, str | None], tuple[np.ndarray | None, np.ndarray | None]]

    def neighbours_of(self, tid: int) -> np.ndarray:
        return self.neighbours.row(tid)

    def _rows(self, facts: list[TalentFacts]) -> dict[str, np.ndarray]:
        """The filter columns of these talents (what ``allowed_ids`` filters on inside the index)."""
        arrays = {
            "id": np.array([f.id for f in facts], dtype=np.int64),
            "sector": np.array([f.sector for f in facts], dtype=object),
            "city": np.array([f.city for f in facts], dtype=object),
            "institution_type": np.array([f.institution_type for f in facts], dtype=object),
            "tier": np.array([f.tier or "" for f in facts], dtype=object),
            "in_province": np.array([f.in_province for f in facts], dtype=bool),
            "present": np.ones(len(facts), dtype=bool),
        }
        for mode in modes.codes():
            arrays["mode:" + mode] = np.array([exclusion(mode, _ANY_DEMAND, f, self.cfg) is None
                                               for f in facts], dtype=bool)
        return arrays

    def _attribute_arrays(self) -> dict[str, np.ndarray]:
        """The filter columns of the whole pool, built once (a Python pass over every talent: 0.6 s at
        100k, 6 s at 1M) and then kept current row by row by ``_arrays_changed`` — never rebuilt for an
        edit. A mode registered since the build adds its column."""
        with self._arrays_lock:
            arrays = self._arrays
            if arrays is None or any("mode:" + m not in arrays for m in modes.codes()):
                facts = list(self.facts.values())
                arrays = self._rows(facts)
                self._row_of = {f.id: i for i, f in enumerate(facts)}
                self._arrays = arrays
                self._arrays_version += 1
            return arrays

    def _arrays_changed(self, talents: list[TalentFacts], removed: list[int]) -> None:
        """Keep the filter columns current after an upsert or a removal (called under the pool's write
        lock): changed rows rewritten in place, new talents appended, removed ones marked absent."""
        with self._arrays_lock:
            arrays = self._arrays
            if arrays is None:
                return
            for tid in removed:
                row = self._row_of.get(int(tid))
                if row is not None:
                    arrays["present"][row] = False
            fresh = [t for t in talents if t.id not in self._row_of]
            known = [t for t in talents if t.id in self._row_of]
            if known:
                rows = np.array([self._row_of[t.id] for t in known])
                for name, column in self._rows(known).items():
                    arrays[name][rows] = column
            if fresh:
                start = len(arrays["id"])
                added = self._rows(fresh)
                self._arrays = {name: np.concatenate([arrays[name], added[name]]) for name in arrays}
                for i, t in enumerate(fresh):
                    self._row_of[t.id] = start + i
            # last, once the columns are whole: a filter computed meanwhile was stored under the old version
            self._arrays_version += 1

    def allowed_ids(self, filters: Filters, mode: str | None) -> np.ndarray | None:
        """The ids the filters and the mode admit (None: every talent), remembered until the columns change."""
        a = self._attribute_arrays()
        key = (self._arrays_version, filters, mode)  # the version first: a change meanwhile makes a new key
        hit = self._allowed_memo.get(key)
        if hit is not None:
            return hit[0]
        ids = self._allowed_now(a, filters, mode)
        member = None
        if ids is not None and len(ids) > self.selector_max_fraction * max(1, len(self.facts)):
            member = np.zeros(int(max(a["id"].max(initial=0), ids.max(initial=0))) + 1, dtype=bool)
            member[ids] = True
        with self._arrays_lock:
            if len(self._allowed_memo) > 64:
                self._allowed_memo.clear()
            self._allowed_memo[key] = (ids, member)
        return ids

    def _member(self, allowed: np.ndarray) -> np.ndarray:
        """A membership mask over talent ids for ``allowed`` (the remembered one when it is allowed_ids')."""
        for ids, member in list(self._allowed_memo.values()):
            if ids is allowed and member is not None:
                return member
        member = np.zeros(int(max(self._attribute_arrays()["id"].max(initial=0), allowed.max(initial=0))) + 1,
                          dtype=bool)
        member[allowed] = True
        return member

    def _allowed_now(self, a: dict[str, np.ndarray], filters: Filters, mode: str | None) -> np.ndarray | None:
        mask = a["present"].copy()
        narrowed = False
        for name in ("sector", "city", "institution_type", "tier"):
            value = getattr(filters, name)
            if value:
                mask &= a[name] == value
                narrowed = True
        if filters.in_province is not None:
            mask &= a["in_province"] == filters.in_province
            narrowed = True
        if mode:
            mask &= a["mode:" + mode]
            narrowed = True
        return a["id"][mask] if narrowed or not a["present"].all() else None

    def candidates(self, text: str, n: int, allowed: np.ndarray | None = None) -> Candidates:
        """Union of the dense and lexical top-n, with both scores for every candidate."""
        q = self.embedder.encode_queries([text])
        if allowed is not None and len(allowed) > self.selector_max_fraction * max(1, len(self.facts)):
            # A filter that keeps most of the pool is cheaper as over-fetch + post-filter than as a FAISS
            # ID selector (building a selector over hundreds of thousands of ids costs more than the search).
            member = self._member(allowed)
            fetch = min(len(self.facts), int(n * len(self.facts) / max(1, len(allowed)) * 1.5) + 10)
            d_scores, d_ids = self.index.search(q, fetch)
            d_ids, d_scores = d_ids[0], d_scores[0]
            keep = (d_ids >= 0) & member[np.clip(d_ids, 0, None)]
            d_ids, d_scores = d_ids[keep][:n], d_scores[keep][:n]
            l_ids, l_scores = self.lexical.search(text, fetch)
            keep_l = member[l_ids]
            l_ids, l_scores = l_ids[keep_l][:n], l_scores[keep_l][:n]
        else:
            d_scores, d_ids = self.index.search(q, n, allowed)
            d_ids, d_scores = d_ids[0], d_scores[0]
            keep = d_ids >= 0
            d_ids, d_scores = d_ids[keep], d_scores[keep]
            l_ids, l_scores = self.lexical.search(text, n, allowed)
        dense = dict(zip(d_ids.tolist(), d_scores.tolist(), strict=True))
        lex = dict(zip(l_ids.tolist(), l_scores.tolist(), strict=True))
        # A talent found lexically but removed from the vector index meanwhile is left out.
        ids = np.array(sorted(set(dense) | {i for i in lex if i in self.index}), dtype=np.int64)
        missing_dense = [i for i in ids.tolist() if i not in dense]
        if missing_dense:
            for i, s in zip(missing_dense, (self.index.vectors(missing_dense) @ q[0]).tolist(), strict=True):
                dense[i] = s
        missing_lex = [i for i in ids.tolist() if i not in lex]
        if missing_lex:
            for i, s in zip(missing_lex, self.lexical.score(text, missing_lex).tolist(), strict=True):
                lex[i] = s
        return Candidates(ids, np.array([dense[i] for i in ids.tolist()], dtype=np.float32),
                          np.array([lex[i] for i in ids.tolist()], dtype=np.float32))

    def known(self, c: Candidates) -> tuple[list[TalentFacts], np.ndarray, np.ndarray]:
        """The candidates' facts, leaving out any talent removed since the search found it (a change
        applied by another thread between the index search and this lookup)."""
        facts = [self.facts.get(int(i)) for i in c.ids]
        keep = np.array([f is not None for f in facts], dtype=bool)
        return [f for f in facts if f is not None], c.dense[keep], c.lexical[keep]

    def learned_for(self, mode: str) -> LearnedRanker | None:
        """The learned model when it re-orders this mode, else None (the hand weights rank it)."""
        return self.learned if self.learned is not None and self.learned.applies(mode) else None

    def propose(self, demand: DemandFacts, mode: str, k: int = 10, offset: int = 0,
                filters: Filters | None = None, include_excluded: bool = False,
                explain_results: bool = True, excluded_only: bool = False) -> tuple[list[Proposal], int]:
        """Ranked proposals for one demand in one mode. Returns (page, number of candidates ranked).
        ``excluded_only``: the talents among the nearest candidates that the rules leave out, each with its
        reason — what an office reads to see why someone is not proposed (a conflict of interest …)."""
        page, total, _ = self.propose_with_head(demand, mode, k, offset, filters, include_excluded,
                                                explain_results, excluded_only)
        return page, total

    def propose_with_head(self, demand: DemandFacts, mode: str, k: int = 10, offset: int = 0,
                          filters: Filters | None = None, include_excluded: bool = False,
                          explain_results: bool = True, excluded_only: bool = False,
                          head: int = 0) -> tuple[list[Proposal], int, list[RankedTalent]]:
        """``propose``, and the list's first ``head`` rows as ranked (scores, no explanation) whatever page
        is asked for — what a judgement of the whole list reads (``services/pool/calibration.py``)."""
        modes.get(mode)  # an unknown mode is a clear error
        include_excluded = include_excluded or excluded_only
        if not include_excluded and demand_exclusion(mode, demand):
            return [], 0, []
        filters = filters or Filters()
        allowed = self.allowed_ids(filters, None if include_excluded else mode)
        pool_size = len(self.facts) if allowed is None else len(allowed)
        want = max(offset + k, head)
        n = max(100, 4 * want)
        while True:
            talents, dense, lexical = self.known(self.candidates(demand.text, n, allowed))
            ranked = rank(mode, demand, talents, dense, lexical, self.cfg, include_excluded=include_excluded,
                          neighbours=self.neighbours_of)
            if len(ranked) >= want or n >= pool_size:
                break
            n = min(pool_size, n * 4)
        by_id = {t.id: t for t in talents}
        learned = self.learned_for(mode)
        if learned is not None:
            ranked = learned.rerank(mode, ranked)
        if any(by_id[r.talent_id].same_person for r in ranked):
            ranked = one_per_person(ranked, by_id)
            ranked = (sorted(ranked, key=lambda r: not r.eligible) if include_excluded
                      else [r for r in ranked if r.eligible])
        if excluded_only:
            ranked = [r for r in ranked if not r.eligible]
        page = ranked[offset:offset + k]
        first = ranked[:head]
        if learned is not None:
            page = learned.explained(mode, page)
        if not explain_results:
            return ([Proposal(by_id[r.talent_id], r, scored(mode, by_id[r.talent_id], r)) for r in page], len(ranked),
                    first)
        explained = [explain(demand, by_id[r.talent_id], r, mode) for r in page]
        aligned = self._align(demand, [by_id[e.talent_id] for e in explained if not e.matched_terms])
        out = [Proposal(by_id[r.talent_id], r, replace(e, aligned=aligned.get(r.talent_id)) if not e.matched_terms
                        else e) for r, e in zip(page, explained, strict=True)]
        return out, len(ranked), first

    def _align(self, demand: DemandFacts, talents: list[TalentFacts]) -> dict[int, Aligned]:
        """For talents that share no phrase with the demand: the best-aligned pair of sentences (demand sentence
        ↔ profile sentence, cosine of their embeddings) as their reason. Sentence vectors are cached like
        every other vector, so a list costs the encoding of its new sentences once."""
        wanted = sentences_of(demand.text, limit=6)
        if not talents or not wanted:
            return {}
        per_talent = [sentences_of(t.text) for t in talents]
        flat = [x for xs in per_talent for x in xs]
        if not flat:
            return {}
        q = self.embedder.encode_queries(wanted)
        vecs = self.embedder.encode_passages(flat)
        out: dict[int, Aligned] = {}
        start = 0
        for t, xs in zip(talents, per_talent, strict=True):
            if not xs:
                continue
            sim = q @ vecs[start:start + len(xs)].T
            start += len(xs)
            i, j = np.unravel_index(int(np.argmax(sim)), sim.shape)
            out[t.id] = Aligned(wanted[int(i)], xs[int(j)], float(sim[i, j]))
        return out

    def explain_one(self, demand: DemandFacts, talent_id: int, mode: str) -> Explanation:
        """Score and explanation of one chosen talent, normalised against the same candidate set a
        ranking would use (so the numbers agree with the proposal list)."""
        if talent_id not in self.facts:
            raise KeyError(talent_id)
        c = self.candidates(demand.text, 100)
        ids, dense, lexical = c.ids, c.dense, c.lexical
        if talent_id not in set(ids.tolist()):
            if talent_id not in self.index:
                raise KeyError(talent_id)  # removed meanwhile
            q = self.embedder.encode_queries([demand.text])[0]
            ids = np.append(ids, talent_id)
            dense = np.append(dense, float(self.index.vectors([talent_id])[0] @ q))
            lexical = np.append(lexical, self.lexical.score(demand.text, [talent_id]))
        talents, dense, lexical = self.known(Candidates(ids, dense, lexical))
        ranked = rank(mode, demand, talents, dense, lexical, self.cfg, include_excluded=True,
                      neighbours=self.neighbours_of)
        learned = self.learned_for(mode)
        if learned is not None:
            ranked = learned.rerank(mode, ranked)
        mine = next((r for r in ranked if r.talent_id == talent_id), None)
        if mine is None:
            raise KeyError(talent_id)  # removed while it was being scored
        if learned is not None:
            mine = learned.explained(mode, [mine])[0]
        return explain(demand, self.facts[talent_id], mine, mode)
