"""The talent pool as the engine sees it: facts, vectors (FAISS), lexical index, and the search that
turns one demand into ranked, explained proposals.

Why one object: the service loads the model and the index once and then answers many requests; the
pool owns that state, keeps it consistent on add/update/remove, and persists the vector index with a
manifest so a restart reuses it only when it still matches the talents it is given.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from matcher.engine.embedding import CachedEmbedder, text_hash
from matcher.engine.index import IndexCorrupt, VectorIndex, content_checksum
from matcher.engine.lexical import LexicalIndex
from matcher.engine.ranking import (
    MODE_RULES,
    DemandFacts,
    RankedTalent,
    RankingConfig,
    TalentFacts,
    exclusion,
    explain,
    fuse,
    rank,
)

log = logging.getLogger(__name__)
NEIGHBOURS_FILE = "neighbours.npz"

# Talent-only view of the mode rules (a demand that can host everything), used to pre-filter inside FAISS.
_ANY_DEMAND = DemandFacts(id=-1, text="", can_host_joint_post=True)


@dataclass(frozen=True)
class Filters:
    sector: str | None = None
    city: str | None = None
    institution_type: str | None = None
    in_province: bool | None = None


@dataclass
class Proposal:
    talent: TalentFacts
    ranked: RankedTalent
    explanation: dict[str, Any]


class TalentPool:
    def __init__(self, embedder: CachedEmbedder, index_dir: Path | None, kind: str = "flat",
                 cfg: RankingConfig | None = None, hnsw_m: int = 32, ef_search: int = 128,
                 persist_threshold: int = 200_000) -> None:
        self.embedder = embedder
        self.index_dir = index_dir
        self.kind = kind
        self.cfg = cfg or RankingConfig()
        self.hnsw_m = hnsw_m
        self.ef_search = ef_search
        self.persist_threshold = persist_threshold
        self.selector_max_fraction = 0.3
        self.index = VectorIndex(embedder.dim, kind, hnsw_m, ef_search)
        self.lexical = LexicalIndex()
        self.facts: dict[int, TalentFacts] = {}
        self.neighbours: dict[int, np.ndarray] = {}
        self._arrays: dict[str, np.ndarray] | None = None
        self._write = threading.Lock()
        self.ready = False

    # ------------------------------------------------------------ life cycle
    def checksum(self) -> str:
        return content_checksum((f.id, text_hash(f.text)) for f in self.facts.values())

    def load_or_build(self, facts: Iterable[TalentFacts], progress: bool = False,
                      log_fn: Callable[[str], None] | None = None) -> str:
        """Use the persisted index if its manifest matches these talents; otherwise rebuild it.

        Returns 'loaded' or 'rebuilt: <why>'."""
        say = log_fn or log.info
        with self._write:
            self.facts = {f.id: f for f in facts}
            self._arrays = None
            checksum = self.checksum()
            outcome = "rebuilt"
            if self.index_dir is not None:
                try:
                    index, manifest = VectorIndex.load(self.index_dir, self.ef_search)
                    if manifest.model_id != self.embedder.model_id:
                        outcome = "rebuilt: model changed"
                    elif manifest.kind != self.kind:
                        outcome = "rebuilt: index kind changed"
                    elif manifest.content_checksum != checksum:
                        outcome = "rebuilt: talents changed since the index was saved"
                    else:
                        self.index = index
                        outcome = "loaded"
                        self._load_neighbours()
                except IndexCorrupt as exc:
                    outcome = f"rebuilt: {exc}" if (self.index_dir / "manifest.json").exists() else "rebuilt: none"
                except Exception as exc:  # whatever a crash left behind: rebuild, never stay unready
                    outcome = f"rebuilt: index unreadable ({type(exc).__name__}: {exc})"
            if outcome != "loaded":
                say(f"index {outcome}; encoding {len(self.facts)} profiles (cached ones are reused)")
                self._rebuild_vectors(progress)
            ids = list(self.facts)
            self.lexical.fit(ids, [self.facts[i].text for i in ids])
            self.ready = True
            return outcome

    def load_prepared(self, facts: Sequence[TalentFacts], vectors: np.ndarray, progress: bool = False) -> None:
        """Build from vectors computed elsewhere (benchmarks, offline batch jobs); nothing is encoded."""
        with self._write:
            self.facts = {f.id: f for f in facts}
            self._arrays = None
            ids = np.array([f.id for f in facts], dtype=np.int64)
            self.index = VectorIndex(self.embedder.dim, self.kind, self.hnsw_m, self.ef_search)
            for start in range(0, len(ids), 50_000):
                self.index.add(ids[start:start + 50_000], vectors[start:start + 50_000])
            self.neighbours = {}
            self._compute_neighbours(ids, vectors, progress)
            self.lexical.fit(list(ids), [f.text for f in facts])
            self.ready = True

    def _rebuild_vectors(self, progress: bool) -> None:
        ids = np.fromiter(self.facts, dtype=np.int64, count=len(self.facts))
        index = VectorIndex(self.embedder.dim, self.kind, self.hnsw_m, self.ef_search)
        self.neighbours = {}
        if len(ids):
            vecs = self.embedder.encode_passages([self.facts[int(i)].text for i in ids], progress=progress)
            index.add(ids, vecs)
            self.index = index
            self._compute_neighbours(ids, vecs, progress)
        self.index = index
        self._save()

    def _compute_neighbours(self, ids: np.ndarray, vecs: np.ndarray, progress: bool = False,
                            batch: int = 4096) -> None:
        """Each talent's nearest colleagues by profile vector (for the cluster-support feature)."""
        k = self.cfg.graph_k
        if k <= 0 or len(self.index) < 2:
            return
        from tqdm import tqdm

        for start in tqdm(range(0, len(ids), batch), desc="neighbour graph", disable=not progress or len(ids) < batch):
            # The graph only feeds a soft feature: a narrow HNSW search (ef 64) is plenty and 8× cheaper.
            _, nb = self.index.search(vecs[start:start + batch], k + 1, ef=64)
            for row, tid in enumerate(ids[start:start + batch]):
                self.neighbours[int(tid)] = nb[row][(nb[row] != tid) & (nb[row] >= 0)][:k]

    def neighbours_of(self, tid: int) -> np.ndarray:
        return self.neighbours.get(tid, np.zeros(0, dtype=np.int64))

    def _save(self) -> None:
        if self.index_dir is None:
            return
        extra = {}
        if self.neighbours:
            ids = np.fromiter(self.neighbours, dtype=np.int64, count=len(self.neighbours))
            k = self.cfg.graph_k
            table = np.full((len(ids), k), -1, dtype=np.int64)
            for r, tid in enumerate(ids):
                nb = self.neighbours[int(tid)]
                table[r, :len(nb)] = nb

            def write(path: Path) -> None:
                with open(path, "wb") as fh:
                    np.savez(fh, ids=ids, table=table)

            extra[NEIGHBOURS_FILE] = write
        # Everything goes through the index's atomic save, listed with checksums in its manifest.
        self.index.save(self.index_dir, self.embedder.model_id, self.checksum(), extra=extra)

    def _load_neighbours(self) -> None:
        """Neighbour lists saved with the index; recomputed from the index when missing or stale."""
        self.neighbours = {}
        path = self.index_dir / NEIGHBOURS_FILE if self.index_dir else None
        try:
            if path is None:
                raise OSError
            with np.load(path, allow_pickle=False) as data:
                ids, table = data["ids"], data["table"]
            if set(ids.tolist()) != set(self.facts) or table.shape[1] != self.cfg.graph_k:
                raise ValueError("stale")
            self.neighbours = {int(t): row[row >= 0] for t, row in zip(ids, table, strict=True)}
        except Exception:  # missing, stale or damaged (BadZipFile, EOFError …): recompute from the index
            ids = np.fromiter(self.facts, dtype=np.int64, count=len(self.facts))
            if len(ids):
                self._compute_neighbours(ids, self.index.vectors(ids))

    def upsert(self, talents: Sequence[TalentFacts], progress: Callable[[float], None] | None = None) -> None:
        """Add or update talents; only changed texts are re-encoded (``progress`` gets the encoded share)."""
        if not talents:
            return
        changed = [t for t in talents if t.id not in self.facts or self.facts[t.id].text != t.text]
        # Encode before taking the write lock: searches go on while a large import is encoded.
        vecs = self.embedder.encode_passages([t.text for t in changed], on_progress=progress) if changed else None
        with self._write:
            for t in talents:
                self.facts[t.id] = t
            self._arrays = None
            if changed and vecs is not None:
                ids = np.array([t.id for t in changed], dtype=np.int64)
                if self.kind == "hnsw" and any(t.id in self.index for t in changed):
                    self._rebuild_vectors(False)  # HNSW cannot replace in place
                else:
                    self.index.add(ids, vecs)
                    self._compute_neighbours(ids, vecs)
                self.lexical.upsert([t.id for t in changed], [t.text for t in changed])
                # Only text changes touch the saved index (loads and capacities live in the database).
                if len(self.facts) <= self.persist_threshold:
                    self._save()

    def remove(self, ids: Sequence[int]) -> None:
        with self._write:
            # Out of the searches first, then out of the facts (a search in flight skips unknown ids).
            self.index.remove(ids)
            self.lexical.remove(ids)
            for i in ids:
                self.facts.pop(int(i), None)
                self.neighbours.pop(int(i), None)
            self._arrays = None
            if len(self.facts) <= self.persist_threshold:
                self._save()

    # --------------------------------------------------------------- search
    def _attribute_arrays(self) -> dict[str, np.ndarray]:
        arrays = self._arrays
        if arrays is None:
            facts = list(self.facts.values())
            arrays = {
                "id": np.array([f.id for f in facts], dtype=np.int64),
                "sector": np.array([f.sector for f in facts], dtype=object),
                "city": np.array([f.city for f in facts], dtype=object),
                "institution_type": np.array([f.institution_type for f in facts], dtype=object),
                "in_province": np.array([f.in_province for f in facts], dtype=bool),
            }
            for mode in MODE_RULES:
                arrays["mode:" + mode] = np.array([exclusion(mode, _ANY_DEMAND, f, self.cfg) is None
                                                   for f in facts], dtype=bool)
            self._arrays = arrays
        return arrays

    def allowed_ids(self, filters: Filters, mode: str | None) -> np.ndarray | None:
        a = self._attribute_arrays()
        mask = np.ones(len(a["id"]), dtype=bool)
        narrowed = False
        for name in ("sector", "city", "institution_type"):
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
        return a["id"][mask] if narrowed else None

    def candidates(self, text: str, n: int, allowed: np.ndarray | None = None
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Union of the dense and lexical top-n, with both scores for every candidate."""
        q = self.embedder.encode_queries([text])
        if allowed is not None and len(allowed) > self.selector_max_fraction * max(1, len(self.facts)):
            # A filter that keeps most of the pool is cheaper as over-fetch + post-filter than as a FAISS
            # ID selector (building a selector over hundreds of thousands of ids costs more than the search).
            member = np.zeros(int(self._attribute_arrays()["id"].max()) + 1, dtype=bool)
            member[allowed] = True
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
        return (ids, np.array([dense[i] for i in ids.tolist()], dtype=np.float32),
                np.array([lex[i] for i in ids.tolist()], dtype=np.float32))

    def _known(self, ids: np.ndarray, dense: np.ndarray, lexical: np.ndarray
               ) -> tuple[list[TalentFacts], np.ndarray, np.ndarray]:
        """The candidates' facts, leaving out any talent removed since the search found it (a change
        applied by another thread between the index search and this lookup)."""
        facts = [self.facts.get(int(i)) for i in ids]
        keep = np.array([f is not None for f in facts], dtype=bool)
        return [f for f in facts if f is not None], dense[keep], lexical[keep]

    def propose(self, demand: DemandFacts, mode: str, k: int = 10, offset: int = 0,
                filters: Filters | None = None, include_excluded: bool = False,
                explain_results: bool = True) -> tuple[list[Proposal], int]:
        """Ranked proposals for one demand in one mode. Returns (page, number of candidates ranked)."""
        if mode not in MODE_RULES:
            raise ValueError(f"unknown mode '{mode}'")
        filters = filters or Filters()
        allowed = self.allowed_ids(filters, None if include_excluded else mode)
        pool_size = len(self.facts) if allowed is None else len(allowed)
        want = offset + k
        n = max(100, 4 * want)
        while True:
            talents, dense, lexical = self._known(*self.candidates(demand.text, n, allowed))
            ranked = rank(mode, demand, talents, dense, lexical, self.cfg, include_excluded=include_excluded,
                          neighbours=self.neighbours_of)
            if len(ranked) >= want or n >= pool_size:
                break
            n = min(pool_size, n * 4)
        page = ranked[offset:offset + k]
        by_id = {t.id: t for t in talents}
        out = []
        for r in page:
            t = by_id[r.talent_id]
            out.append(Proposal(t, r, explain(demand, t, r, mode) if explain_results else r.as_dict()))
        return out, len(ranked)

    def explain_one(self, demand: DemandFacts, talent_id: int, mode: str) -> dict[str, Any]:
        """Score and explanation of one chosen talent, normalised against the same candidate set a
        ranking would use (so the numbers agree with the proposal list)."""
        if talent_id not in self.facts:
            raise KeyError(talent_id)
        ids, dense, lexical = self.candidates(demand.text, 100)
        if talent_id not in set(ids.tolist()):
            if talent_id not in self.index:
                raise KeyError(talent_id)  # removed meanwhile
            q = self.embedder.encode_queries([demand.text])[0]
            ids = np.append(ids, talent_id)
            dense = np.append(dense, float(self.index.vectors([talent_id])[0] @ q))
            lexical = np.append(lexical, self.lexical.score(demand.text, [talent_id]))
        talents, dense, lexical = self._known(ids, dense, lexical)
        ranked = rank(mode, demand, talents, dense, lexical, self.cfg, include_excluded=True,
                      neighbours=self.neighbours_of)
        mine = next((r for r in ranked if r.talent_id == talent_id), None)
        if mine is None:
            raise KeyError(talent_id)  # removed while it was being scored
        return explain(demand, self.facts[talent_id], mine, mode)

    def rank_variants(self, text: str, k: int, demand: DemandFacts | None = None,
                      n: int = 200) -> dict[str, list[int]]:
        """Rankings of the whole pool by lexical, dense, hybrid and full scoring (for evaluation)."""
        q = self.embedder.encode_queries([text])
        _, d_ids = self.index.search(q, k)
        l_ids, _ = self.lexical.search(text, k)
        ids, dense, lexical = self.candidates(text, n)
        hybrid = fuse(dense.astype(np.float64), lexical.astype(np.float64), self.cfg.dense_weight)
        order = np.lexsort((ids, -hybrid))
        out = {"lexical": l_ids.tolist()[:k], "dense": [int(i) for i in d_ids[0] if i >= 0][:k],
               "hybrid": ids[order].tolist()[:k]}
        if demand is not None:
            talents, dense, lexical = self._known(ids, dense, lexical)
            ranked = rank("flexible", demand, talents, dense, lexical, self.cfg, include_excluded=True,
                          neighbours=self.neighbours_of)
            out["full"] = [r.talent_id for r in ranked][:k]
        return out
