"""The talent pool as the engine sees it: facts, vectors (FAISS), lexical index, and the search that
turns one demand into ranked, explained proposals.

Why one object: the service loads the model and the index once and then answers many requests; the
pool owns that state, keeps it consistent on add/update/remove, and persists the vector index with a
manifest so a restart reuses it only when it still matches the talents it is given.
"""

from __future__ import annotations

import fcntl
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from matcher.domain.facts import TalentFacts
from matcher.engine.embedding import CachedEmbedder, text_hash
from matcher.engine.index import IndexCorrupt, VectorIndex, content_checksum
from matcher.engine.lexical import LexicalIndex
from matcher.engine.ltr import LearnedRanker
from matcher.engine.memory import release_free_heap
from matcher.engine.neighbours import IDS_FILE, TABLE_FILE, NeighbourTable
from matcher.engine.ranking import RankingConfig
from matcher.engine.search import Filters, PoolSearch, Proposal

__all__ = ["Filters", "Proposal", "TalentPool"]

log = logging.getLogger(__name__)
#: Held (``flock``) by the process that checks, builds or saves the index directory: the workers of one
#: machine share it, so one builds while the others wait and then load what it saved. The kernel releases
#: the lock when its holder dies, so a crashed builder never blocks the next start.
BUILD_LOCK = "build.lock"
#: A large pool's lexical vocabulary (rescore mode), saved with the index: its n-grams and IDF weights.
LEXICAL_TERMS = "lexical_terms.json"
LEXICAL_IDF = "lexical_idf.npy"


@contextmanager
def directory_lock(directory: Path | None) -> Iterator[None]:
    """Exclusive use of an index directory across processes (nothing to lock without a directory)."""
    if directory is None:
        yield
        return
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / BUILD_LOCK, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


class TalentPool(PoolSearch):
    """The pool's state and life cycle (build, load, save, upsert, remove); searching it is
    ``PoolSearch`` (engine/search.py), evaluation variants are in engine/variants.py."""

    def __init__(self, embedder: CachedEmbedder, index_dir: Path | None, kind: str = "flat",
                 cfg: RankingConfig | None = None, hnsw_m: int = 32, ef_search: int = 128,
                 persist_threshold: int = 100_000_000, ef_construction: int = 200, mmap: bool = True) -> None:
        self.embedder = embedder
        self.index_dir = index_dir
        self.kind = kind
        self.cfg = cfg or RankingConfig()
        self.hnsw_m = hnsw_m
        self.ef_search = ef_search
        self.ef_construction = ef_construction
        self.persist_threshold = persist_threshold
        self.mmap = mmap  # open saved files memory-mapped (their pages shared between worker processes)
        self.selector_max_fraction = 0.3
        self.index = VectorIndex(embedder.dim, kind, hnsw_m, ef_search, ef_construction)
        self.lexical = LexicalIndex()
        self.facts: dict[int, TalentFacts] = {}
        self.neighbours = NeighbourTable()
        self.learned: LearnedRanker | None = None
        self._arrays: dict[str, np.ndarray] | None = None  # the search's filter columns (engine/search.py)
        self._arrays_lock = threading.Lock()
        self._row_of: dict[int, int] = {}
        self._arrays_version = 0
        self._allowed_memo = {}
        self._write = threading.Lock()
        self._version = 0  # bumped by every upsert and remove (``mark``)
        self._written: dict[int, int] = {}  # talent id → the version that last changed it in the pool
        self._dirty = False  # changed since the last save
        self._dirty_since = 0.0  # monotonic time of the first unsaved change
        self._last_change = 0.0  # monotonic time of the last change
        self.ready = False
        self.outcome = ""  # how the last load_or_build got its index: "loaded" or "rebuilt: <why>"

    # ------------------------------------------------------------ life cycle
    def checksum(self) -> str:
        return content_checksum((f.id, text_hash(f.text)) for f in self.facts.values())

    def load_or_build(self, facts: Iterable[TalentFacts] | Callable[[], Iterable[TalentFacts]], progress: bool = False,
                      log_fn: Callable[[str], None] | None = None,
                      kind_for: Callable[[int], str] | None = None) -> str:
        """Use the persisted index if its manifest matches these talents; otherwise rebuild it.

        ``facts`` may be a function, called once the index directory's lock is held: a worker that waits
        for another's build then reads what that build saved beside the index (the facts' snapshot,
        ``services/pool/snapshot.py``) instead of reading the database while the build runs. ``kind_for``
        chooses the index kind from the number of talents. Returns 'loaded' or 'rebuilt: <why>'."""
        say = log_fn or log.info
        with self._write, directory_lock(self.index_dir):
            self.facts = {f.id: f for f in (facts() if callable(facts) else facts)}
            if kind_for is not None:
                self.kind = kind_for(len(self.facts))
            self._arrays = None
            checksum = self.checksum()
            outcome = "rebuilt"
            lexical_fitted = False
            if self.index_dir is not None:
                try:
                    index, manifest = VectorIndex.load(self.index_dir, self.ef_search, mmap=self.mmap)
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
                lexical_fitted = self._rebuild_vectors(progress, say)
            self.outcome = outcome
        with self._write:
            ids = list(self.facts)
            texts = [self.facts[i].text for i in ids]
            saved = self._saved_vocabulary() if outcome == "loaded" and len(ids) > self.lexical.max_indexed else None
            if saved is not None:
                self.lexical.use_vocabulary(ids, texts, *saved)
            elif not lexical_fitted:
                self.lexical.fit(ids, texts)
            self.ready = True
            return outcome

    def _saved_vocabulary(self) -> tuple[list[str], np.ndarray] | None:
        """The rescore-mode vocabulary saved with the index (listed and checked by its manifest), if any."""
        if self.index_dir is None:
            return None
        try:
            terms = json.loads((self.index_dir / LEXICAL_TERMS).read_text(encoding="utf-8"))
            idf = np.load(self.index_dir / LEXICAL_IDF, allow_pickle=False)
        except (OSError, ValueError):
            return None
        if not isinstance(terms, list) or len(terms) != len(idf):
            return None
        return terms, idf

    def load_prepared(self, facts: Sequence[TalentFacts], vectors: np.ndarray, progress: bool = False) -> None:
        """Build from vectors computed elsewhere (benchmarks, offline batch jobs); nothing is encoded."""
        with self._write:
            self.facts = {f.id: f for f in facts}
            self._arrays = None
            ids = np.array([f.id for f in facts], dtype=np.int64)
            self.index = VectorIndex(self.embedder.dim, self.kind, self.hnsw_m, self.ef_search, self.ef_construction)
            for start in range(0, len(ids), 50_000):
                self.index.add(ids[start:start + 50_000], vectors[start:start + 50_000])
            self.neighbours = NeighbourTable()
            self._compute_neighbours(ids, vectors, progress)
            self.lexical.fit(list(ids), [f.text for f in facts])
            self.ready = True

    def _rebuild_vectors(self, progress: bool, say: Callable[[str], None] = log.info) -> bool:
        """Encode (cached vectors reused), index, neighbour graph, save. A pool too large for lexical rows
        has its vocabulary fitted here, before the save, so the saved index carries it for the other workers
        (returns True then)."""
        ids = np.fromiter(self.facts, dtype=np.int64, count=len(self.facts))
        index = VectorIndex(self.embedder.dim, self.kind, self.hnsw_m, self.ef_search, self.ef_construction)
        self.neighbours = NeighbourTable()
        took: dict[str, float] = {}
        clock = time.monotonic()

        def lap(name: str) -> None:
            nonlocal clock
            now = time.monotonic()
            took[name], clock = now - clock, now

        if len(ids):
            vecs = self.embedder.encode_passages([self.facts[int(i)].text for i in ids], progress=progress)
            lap("vectors")
            index.add(ids, vecs)
            self.index = index
            lap(f"{self.kind} index")
            self._compute_neighbours(ids, vecs, progress)
            lap("neighbour graph")
            del vecs
        self.index = index
        lexical_fitted = len(ids) > self.lexical.max_indexed
        if lexical_fitted:
            self.lexical.fit(list(self.facts), [f.text for f in self.facts.values()])
            lap("lexical vocabulary")
        self._save()
        self._remap()
        lap("save")
        release_free_heap()  # the build's temporary arrays, freed, go back to the system
        say(f"index built for {len(ids)} talents in {sum(took.values()):.1f} s: "
            + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in took.items()))
        return lexical_fitted

    def _remap(self) -> None:
        """After a save: hold the saved vectors and neighbour table in the files' shared pages instead of
        private copies (the builder then costs what a loading worker costs)."""
        if self.index_dir is None or not self.mmap:
            return
        self.index.remap(self.index_dir)
        if self.neighbours.mapped or self.neighbours.delta_size or not len(self.neighbours):
            return
        try:
            table = NeighbourTable.load(self.index_dir, self.cfg.graph_k)
        except (OSError, ValueError):
            return
        if np.array_equal(np.asarray(table.base_ids), np.asarray(self.neighbours.base_ids)):
            self.neighbours = table

    def _compute_neighbours(self, ids: np.ndarray, vecs: np.ndarray, progress: bool = False,
                            batch: int = 4096) -> None:
        """Each talent's nearest colleagues by profile vector (for the cluster-support feature). Into an
        empty table (a build) the rows are written as one array; otherwise as edits on top of the table."""
        k = self.cfg.graph_k
        if k <= 0 or len(self.index) < 2:
            return
        from tqdm import tqdm

        bulk = self.neighbours.empty
        rows = np.full((len(ids), k), -1, dtype=np.int64) if bulk else None
        for start in tqdm(range(0, len(ids), batch), desc="neighbour graph", disable=not progress or len(ids) < batch):
            # The graph only feeds a soft feature: a narrow HNSW search (ef 64) is plenty and 8× cheaper.
            _, nb = self.index.search(vecs[start:start + batch], k + 1, ef=64)
            for row, tid in enumerate(ids[start:start + batch]):
                mine = nb[row][(nb[row] != tid) & (nb[row] >= 0)][:k]
                if rows is not None:
                    rows[start + row, :len(mine)] = mine
                else:
                    self.neighbours[int(tid)] = mine
        if rows is not None:
            order = np.argsort(ids, kind="stable")
            self.neighbours = NeighbourTable(np.asarray(ids, dtype=np.int64)[order], rows[order])

    def _snapshot(self) -> tuple[list[TalentFacts], NeighbourTable]:
        """What a save needs from the pool's own state, copied shallowly (milliseconds, under the lock):
        the facts (for the checksum of the indexed texts) and the neighbour table (its base is never
        written; the edits on top are copied)."""
        return list(self.facts.values()), self.neighbours.snapshot()

    def _artefacts(self, facts: list[TalentFacts], neighbours: NeighbourTable
                   ) -> tuple[str, dict[str, Callable[[Path], object]]]:
        """The checksum and the neighbour table's writers, computed from a snapshot (no lock needed)."""
        extra: dict[str, Callable[[Path], object]] = {}

        def npy(array: np.ndarray) -> Callable[[Path], None]:
            def write(path: Path) -> None:
                with open(path, "wb") as fh:
                    np.save(fh, array)
            return write

        if len(neighbours):
            ids, table = neighbours.arrays(self.cfg.graph_k)
            extra[IDS_FILE], extra[TABLE_FILE] = npy(ids), npy(table)
        if self.lexical.needs_vocabulary_only:
            terms, idf = self.lexical.vocabulary()
            extra[LEXICAL_TERMS] = lambda path: path.write_text(json.dumps(terms, ensure_ascii=False),
                                                                encoding="utf-8")
            extra[LEXICAL_IDF] = npy(idf)
        return content_checksum((f.id, text_hash(f.text)) for f in facts), extra

    def _save(self) -> None:
        if self.index_dir is None:
            return
        checksum, extra = self._artefacts(*self._snapshot())
        # Everything goes through the index's atomic save, listed with checksums in its manifest.
        self.index.save(self.index_dir, self.embedder.model_id, checksum, extra=extra)

    def _load_neighbours(self) -> None:
        """Neighbour lists saved with the index (mapped: shared pages); recomputed when missing or stale."""
        self.neighbours = NeighbourTable()
        try:
            if self.index_dir is None:
                raise OSError
            table = NeighbourTable.load(self.index_dir, self.cfg.graph_k, mmap=self.mmap)
            if not np.array_equal(np.asarray(table.base_ids), np.sort(np.fromiter(self.facts, dtype=np.int64))):
                raise ValueError("stale")
            self.neighbours = table
        except Exception:  # missing, stale or damaged: recompute from the index
            ids = np.fromiter(self.facts, dtype=np.int64, count=len(self.facts))
            if len(ids):
                self._compute_neighbours(ids, self.index.vectors(ids))

    def _changed(self) -> None:
        now = time.monotonic()
        if not self._dirty:
            self._dirty, self._dirty_since = True, now
        self._last_change = now

    def mark(self) -> int:
        """The pool's version now. A caller that reads facts from the database and applies them later (an
        import's sync, the change feed) takes a mark *before* reading and passes it as ``since``: a talent
        changed in the pool after the mark (a withdrawal applied meanwhile) is then left as it is, never
        overwritten by the older facts."""
        with self._write:
            return self._version

    def written_after(self, ids: Iterable[int], mark: int) -> bool:
        """Whether any of these talents was changed in the pool after ``mark``."""
        with self._write:
            return any(self._written.get(int(i), -1) > mark for i in ids)

    def _fresh(self, ids: Iterable[int], since: int | None) -> set[int]:
        """Of these talents, those not changed in the pool after ``since`` (all when no mark was given)."""
        return {int(i) for i in ids if since is None or self._written.get(int(i), -1) <= since}

    def _stamp(self, ids: Iterable[int]) -> None:
        self._version += 1
        for i in ids:
            self._written[int(i)] = self._version

    def upsert(self, talents: Sequence[TalentFacts], progress: Callable[[float], None] | None = None,
               since: int | None = None) -> int:
        """Add or update talents; only changed texts are re-encoded (``progress`` gets the encoded share).
        Edits update the index in place (a new vector and a tombstone, ``engine/index.py``): nothing is
        rebuilt on the request's path. Returns how many talents were applied."""
        if not talents:
            return 0
        changed = [t for t in talents if t.id not in self.facts or self.facts[t.id].text != t.text]
        # Encode before taking the write lock: searches go on while a large import is encoded.
        vecs = self.embedder.encode_passages([t.text for t in changed], on_progress=progress) if changed else None
        with self._write:
            keep = self._fresh((t.id for t in talents), since)
            applied = [t for t in talents if t.id in keep]
            for t in applied:
                self.facts[t.id] = t
            self._arrays_changed(applied, [])
            if changed and vecs is not None:
                rows = [i for i, t in enumerate(changed) if t.id in keep]
                if rows:
                    ids = np.array([changed[i].id for i in rows], dtype=np.int64)
                    self.index.add(ids, vecs[rows])
                    self._compute_neighbours(ids, vecs[rows])
                    self.lexical.upsert([changed[i].id for i in rows], [changed[i].text for i in rows])
                    self._changed()  # only text changes touch the saved index (loads live in the database)
            self._stamp(keep)
            return len(keep)

    def remove(self, ids: Sequence[int], since: int | None = None) -> int:
        with self._write:
            gone = [i for i in self._fresh(ids, since) if i in self.facts or i in self.index]
            # Out of the searches first, then out of the facts (a search in flight skips unknown ids).
            self.index.remove(gone)
            self.lexical.remove(gone)
            for i in gone:
                self.facts.pop(i, None)
                self.neighbours.pop(i, None)
            self._arrays_changed([], gone)
            self._stamp(ids)
            if gone:
                self._changed()
            return len(gone)

    def maintain(self, compact_above: float = 0.2, save_quiet: float = 0.0) -> dict[str, int]:
        """Background upkeep (the runtime's maintenance thread; never a request): compact the vector and
        lexical indexes when tombstones pass ``compact_above`` of their rows, and save the index when it
        changed (saving after every edit cost ≈ 0.5 s at 100k talents, on the request's path)."""
        done = {"vectors_dropped": 0, "lexical_dropped": 0, "saved": 0}
        if self.index.needs_compaction(compact_above):
            done["vectors_dropped"] = self.index.compact()
        if self.lexical.needs_compaction(compact_above):
            done["lexical_dropped"] = self.lexical.compact()
        done["saved"] = int(self.save_if_dirty(quiet=save_quiet))
        return done

    def save_if_dirty(self, quiet: float = 0.0, at_most_every: float = 600.0) -> bool:
        """Write the index when it changed since the last save (pools up to ``persist_threshold`` talents,
        by default every pool: the base file is rewritten only when compaction changed it, the rest is the
        delta, the position maps and the neighbour table) — once no edit came for ``quiet``
        seconds, or at the latest ``at_most_every`` seconds after the first unsaved edit, so saving (≈ 0.8 s
        at 100k) meets an edit as rarely as possible."""
        if self.index_dir is None:
            return False
        now = time.monotonic()
        with self._write:  # a consistent copy of the pool's side, taken in milliseconds …
            if not self._dirty or len(self.facts) > self.persist_threshold:
                return False
            if now - self._last_change < quiet and now - self._dirty_since < at_most_every:
                return False
            self._dirty = False
            facts, neighbours = self._snapshot()
        # … and the rest without the pool's lock: the checksum, the neighbour table, the write. The index
        # copies its own state under its read lock (an edit waits only for that copy). An edit between the
        # two copies leaves a checksum that no longer matches: the next start rebuilds (never a wrong
        # answer) and the next upkeep saves again.
        checksum, extra = self._artefacts(facts, neighbours)
        with directory_lock(self.index_dir):  # one writer of the directory at a time, across processes
            self.index.save(self.index_dir, self.embedder.model_id, checksum, extra=extra)
        self.index.remap(self.index_dir)  # a base rebuilt by compaction goes back into shared pages
        return True
