"""A FAISS vector index persisted on disk with a manifest, safe to search from many threads, updated in
place.

Why a manifest: the index is derived data. At start the service compares the manifest (model id,
dimension, vector count, checksum of what was indexed, checksum of the file itself) with what the
database says should be indexed; any mismatch or a damaged file means rebuild, never a wrong answer.
FAISS's own ``write_index`` format is used (no pickle).

Why internal positions: HNSW cannot delete or replace a vector, and a talent who is edited, or removed
and later re-added (consent withdrawn, then granted again), must not make the service rebuild the whole
graph inside a request (minutes at 1M talents). So FAISS only ever sees positions 0, 1, 2 … in the
order vectors were added, and this class keeps the mapping: position → talent id, an alive mask, and
talent id → current position. An edit or a re-add appends the new vector at a new position and
tombstones the old one; a removal is a tombstone. Searches exclude tombstones inside FAISS through a
bitmap selector over positions (a bit test per visited vector, whatever the number of tombstones), so a
search still returns k alive results. The same holds for the exact ``flat`` kind, which keeps positions
stable that way too. Tombstones cost memory and, for HNSW, some search breadth; ``compact()`` rebuilds
the FAISS index from the alive vectors off to the side and swaps it in; the caller schedules it when
``needs_compaction()`` says so (for HNSW it is the expensive path and belongs in the background).

Why a base and a delta: several worker processes of one machine serve the same pool, and at a million
talents the vectors alone are 1.5 GiB. A saved index is therefore opened memory-mapped
(``faiss.IO_FLAG_MMAP_IFC``: the vectors stay in the file's pages, which the kernel shares between the
processes that map it); FAISS cannot add to a mapped index, so what arrives after the load (an edit, a
new talent) goes to a small private *delta* of plain vectors at positions after the base's, searched
exactly beside it and saved as a file of its own. ``compact()`` folds the delta and the tombstones into a
new base (private until it is saved and mapped again: ``remap``).

Kinds: ``flat`` is ``IndexFlatIP``: exact. ``hnsw`` is ``IndexHNSWFlat``: approximate, for large pools.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import faiss
import numpy as np

log = logging.getLogger(__name__)

INDEX_FILE = "vectors.faiss"
POSITIONS_FILE = "positions.npy"  # int64: FAISS position → talent id (the id it had, for tombstones too)
ALIVE_FILE = "alive.npy"  # bool: FAISS position → not a tombstone
DELTA_FILE = "delta.npy"  # float32 (rows, dim): the vectors at positions after the base's
MANIFEST_FILE = "manifest.json"

# A filter that keeps at most this many talents is scored exactly over their stored vectors: HNSW with a
# very selective ID selector can end its walk with fewer than k hits (or none) although k exist, and
# 4,096 inner products cost about a millisecond.
EXACT_BELOW = 4096
# The score FAISS reports for a missing result under the inner-product metric.
_MISSING_SCORE = np.float32(-np.finfo(np.float32).max)


class IndexCorrupt(Exception):
    """The files on disk cannot be trusted; the caller rebuilds."""


# 4: raw base index + delta.npy + positions.npy + alive.npy (3 had no delta; 2 was an IndexIDMap2).
MANIFEST_FORMAT = 4


@dataclass(frozen=True)
class Manifest:
    model_id: str
    dim: int
    kind: str
    count: int
    content_checksum: str
    file_sha256: str = ""
    format: int = MANIFEST_FORMAT
    files: dict[str, str] | None = None  # every artefact of the index directory → its SHA-256


def _failpoint(name: str, where: str) -> None:
    """Fault injection for the crash tests: ``MATCHER_FAILPOINT=index-save:30`` pauses 30 s at this point
    (after logging it), so a test can kill the process exactly here. Inert unless the variable is set."""
    spec = os.environ.get("MATCHER_FAILPOINT", "")
    if spec.partition(":")[0] == name:
        pause = float(spec.partition(":")[2] or 30)
        log.warning("failpoint %s: %s; pausing %.0f s", name, where, pause)
        time.sleep(pause)


def atomic_write(path: Path, write: Callable[[Path], object]) -> str:
    """Write through ``write(tmp)`` into a temporary file beside ``path``, fsync it, rename it over
    ``path`` and fsync the directory: after a crash either the old or the new file is there, whole.
    Returns the new file's SHA-256."""
    return _commit(_write_tmp(path, write), path)


def _write_tmp(path: Path, write: Callable[[Path], object]) -> Path:
    # A name of its own per writer: several worker processes may save the same index at once.
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    write(tmp)
    return tmp


def _commit(tmp: Path, path: Path) -> str:
    """The second half of ``atomic_write``: make ``tmp`` durable and rename it over ``path``."""
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    digest = sha256_file(tmp)
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return digest


def content_checksum(pairs: Iterable[tuple[int, str]]) -> str:
    """Checksum of (talent id, text hash) pairs: changes whenever a talent is added, removed or edited."""
    h = hashlib.sha256()
    for tid, th in sorted(pairs):
        h.update(f"{tid}:{th};".encode())
    return h.hexdigest()


class _RWLock:
    """Many concurrent readers or one writer (FAISS searches are thread-safe; mutation is not).

    A waiting writer holds back new readers: under a steady stream of searches an edit would otherwise
    wait until the stream happens to pause. Not reentrant: never take it twice in one thread."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False
        self._waiting_writers = 0

    @contextmanager
    def read(self) -> Iterator[None]:
        with self._cond:
            while self._writer or self._waiting_writers:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        with self._cond:
            self._waiting_writers += 1
            try:
                while self._writer or self._readers:
                    self._cond.wait()
            finally:
                self._waiting_writers -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


def _as_ids(ids: Iterable[int] | np.ndarray) -> np.ndarray:
    if isinstance(ids, np.ndarray):
        return ids.astype(np.int64, copy=False).reshape(-1)
    return np.fromiter((int(i) for i in ids), dtype=np.int64)


def _grown(arr: np.ndarray, size: int, fill: object) -> np.ndarray:
    """``arr`` with room for at least ``size`` entries (doubling, so appends stay amortised O(1))."""
    if size <= len(arr) and not len(arr) % 8:
        return arr
    cap = max(size, 2 * len(arr), 1024)
    cap += -cap % 8  # whole bytes of the packed bitmap
    out = np.full(cap, fill, dtype=arr.dtype)
    out[:len(arr)] = arr
    return out


def _merge_top(s1: np.ndarray, p1: np.ndarray, s2: np.ndarray, p2: np.ndarray, k: int
               ) -> tuple[np.ndarray, np.ndarray]:
    """The k best of two (scores, positions) result sets per query row (missing results score lowest)."""
    scores = np.concatenate([s1, s2], axis=1)
    pos = np.concatenate([p1, p2], axis=1)
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(scores, order, axis=1), np.take_along_axis(pos, order, axis=1)


def _identity(path: Path) -> tuple[int, int, int]:
    """What tells one version of a file from another without reading it (an atomic save is a new inode)."""
    st = path.stat()
    return st.st_ino, st.st_size, st.st_mtime_ns


class VectorIndex:
    """Talent vectors in FAISS, addressed by talent id (non-negative integers: database keys; the id →
    position table costs 8 bytes per id up to the largest one)."""

    def __init__(self, dim: int, kind: str = "flat", hnsw_m: int = 32, ef_search: int = 128,
                 ef_construction: int = 200) -> None:
        if kind not in ("flat", "hnsw"):
            raise ValueError(f"unknown index kind '{kind}' (flat or hnsw)")
        self.dim = dim
        self.kind = kind
        self.ef_search = ef_search
        self.hnsw_m = hnsw_m
        self.ef_construction = ef_construction
        self._index = self._new_base()  # the base: positions [0, _base_n)
        self._base_n = 0
        self._mapped = False  # the base is a read-only view of a saved file (shared with other processes)
        self._base_file: tuple[int, int, int] | None = None  # (inode, size, mtime) of the file the base equals
        self._delta = np.zeros((0, dim), dtype=np.float32)  # positions [_base_n, _n), spare rows beyond
        # Arrays over positions [0, _n), with spare capacity beyond (alive False, bits 0 there).
        self._pos2id = np.zeros(0, dtype=np.int64)
        self._alive = np.zeros(0, dtype=bool)
        self._bits = np.zeros(0, dtype=np.uint8)  # _alive packed little-endian, what IDSelectorBitmap reads
        self._table = np.zeros(0, dtype=np.int64)  # talent id → current position, -1 when absent
        self._n = 0  # positions used (FAISS's ntotal)
        self._count = 0  # alive positions (talents in the index)
        self._lock = _RWLock()
        self._compacting = threading.Lock()

    def _new_base(self) -> faiss.Index:
        if self.kind == "flat":
            return faiss.IndexFlatIP(self.dim)
        base = faiss.IndexHNSWFlat(self.dim, self.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        base.hnsw.efConstruction = self.ef_construction
        base.hnsw.efSearch = self.ef_search
        return base

    # ------------------------------------------------------------------ state helpers (under the write lock)
    def _repack(self, positions: np.ndarray) -> None:
        """Bring the packed bitmap's bytes holding ``positions`` in line with ``_alive``."""
        if not len(positions):
            return
        byte = np.unique(positions >> 3)
        bits = self._alive[(byte[:, None] * 8 + np.arange(8)).ravel()]
        self._bits[byte] = np.packbits(bits, bitorder="little")

    def _tombstone(self, positions: np.ndarray) -> None:
        if not len(positions):
            return
        self._alive[positions] = False
        self._repack(positions)
        self._count -= len(positions)

    def _lookup(self, ids: np.ndarray) -> np.ndarray:
        """Current positions of ``ids`` (-1 for an id not in the index)."""
        table = self._table
        out = np.full(len(ids), -1, dtype=np.int64)
        known = (ids >= 0) & (ids < len(table))
        out[known] = table[ids[known]]
        return out

    # ------------------------------------------------------------------ writes
    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Insert vectors for ``ids``; an id already present (an edit) or removed before (a re-add) gets
        its new vector at a new position and its old position, if any, becomes a tombstone."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim or len(ids) != len(vectors):
            raise ValueError(f"expected {len(ids)} vectors of dimension {self.dim}, got {vectors.shape}")
        if not len(ids):
            return
        if len(np.unique(ids)) != len(ids):
            raise ValueError("duplicate ids in one add")
        if int(ids.min()) < 0:
            raise ValueError("talent ids must be non-negative")
        with self._lock.write():
            self._add_locked(ids, vectors)

    @property
    def delta_rows(self) -> int:
        """Positions held in the private delta (added since the base was mapped)."""
        return self._n - self._base_n

    @property
    def mapped(self) -> bool:
        return self._mapped

    def _add_locked(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        start, m = self._n, len(ids)
        if not self._mapped and start == self._base_n:
            self._index.add(vectors)  # first: if FAISS fails, nothing else has changed
            self._base_n += m
            self._base_file = None
        else:  # a mapped base takes no additions (FAISS aborts): they go to the delta
            d = start - self._base_n
            if d + m > len(self._delta):
                grown = np.zeros((max(d + m, 2 * len(self._delta), 256), self.dim), dtype=np.float32)
                grown[:d] = self._delta[:d]
                self._delta = grown
            self._delta[d:d + m] = vectors
        old = self._lookup(ids)
        self._tombstone(old[old >= 0])
        self._pos2id = _grown(self._pos2id, start + m, -1)
        self._alive = _grown(self._alive, start + m, False)
        self._bits = _grown(self._bits, len(self._alive) // 8, 0)
        self._table = _grown(self._table, int(ids.max()) + 1, -1)
        new = np.arange(start, start + m, dtype=np.int64)
        self._pos2id[new] = ids
        self._alive[new] = True
        self._repack(new)
        self._table[ids] = new
        self._n = start + m
        self._count += m

    def remove(self, ids: Iterable[int]) -> int:
        """Tombstone the given talents (unknown ids are ignored); returns how many were in the index."""
        wanted = np.unique(_as_ids(ids))
        with self._lock.write():
            pos = self._lookup(wanted)
            present = pos >= 0
            self._table[wanted[present]] = -1
            self._tombstone(pos[present])
            return int(present.sum())

    def compact(self, chunk: int = 20_000, tail: int = 64) -> int:
        """Rebuild the FAISS index from the alive vectors only; returns the number of tombstones dropped.

        Why off to the side: building HNSW over a million vectors takes minutes. The new index is filled
        chunk by chunk from vectors copied under the read lock (searches go on; writers wait at most one
        chunk's copy), then catches up with what was added meanwhile, and only the last ``tail`` additions
        and the swap happen under the write lock. A position that died during the build is carried over
        as a tombstone, so the result is exact whatever ran concurrently. One compaction at a time."""
        with self._compacting:
            fresh = self._new_base()
            sources: list[np.ndarray] = []  # new position → old position, in order
            done = 0
            budget: int | None = None  # chunks left: the first pass, then a few rounds of catching up
            while True:
                with self._lock.read():
                    n = self._n
                    if budget is None:
                        budget = -(-n // chunk) + 8
                    if n - done <= tail or budget <= 0:
                        break
                    stop = min(n, done + chunk)
                    pos = np.flatnonzero(self._alive[done:stop]) + done
                    vecs = self._reconstruct(pos) if len(pos) else None
                if vecs is not None:
                    fresh.add(vecs)
                    sources.append(pos)
                done = stop
                budget -= 1
            with self._lock.write():
                pos = np.flatnonzero(self._alive[done:self._n]) + done
                if len(pos):
                    fresh.add(self._reconstruct(pos))
                    sources.append(pos)
                src = np.concatenate(sources) if sources else np.zeros(0, dtype=np.int64)
                dropped = self._n - len(src)
                m = len(src)
                alive = np.zeros(m + (-m % 8), dtype=bool)
                alive[:m] = self._alive[src]
                pos2id = np.full(len(alive), -1, dtype=np.int64)
                pos2id[:m] = self._pos2id[src]
                table = np.full(len(self._table), -1, dtype=np.int64)
                live = np.flatnonzero(alive)
                table[pos2id[live]] = live
                self._index = fresh
                self._base_n, self._mapped, self._base_file = m, False, None
                self._delta = np.zeros((0, self.dim), dtype=np.float32)
                self._pos2id, self._alive, self._table = pos2id, alive, table
                self._bits = np.packbits(alive, bitorder="little")
                self._n = m
                self._count = len(live)
            log.info("index compacted: %d tombstones dropped, %d positions", dropped, m)
            return dropped

    # ------------------------------------------------------------------ reads
    def __len__(self) -> int:
        return self._count

    def __contains__(self, tid: object) -> bool:
        if not isinstance(tid, int | np.integer):
            return False
        table = self._table
        return 0 <= int(tid) < len(table) and bool(table[int(tid)] >= 0)

    @property
    def tombstone_share(self) -> float:
        """Dead positions / all positions: what a compaction would drop."""
        n = self._n
        return (n - self._count) / n if n else 0.0

    def needs_compaction(self, threshold: float = 0.2, delta_above: int = 20_000) -> bool:
        """True when tombstones are more than ``threshold`` of the positions (searches walk noticeably more
        dead vectors and memory holds them), or the private delta holds more than ``delta_above`` rows
        (each searched exactly, in every process): the caller runs ``compact()``, in the background."""
        return self.tombstone_share > threshold or self.delta_rows > delta_above

    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None, ef: int | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k inner products → (scores, talent ids). ``allowed`` restricts the search to those talent ids
        (applied inside FAISS, so a filtered query still returns k results when k exist). Missing results
        have id -1. ``ef`` overrides the HNSW search breadth for this call (bulk jobs that tolerate
        approximate answers)."""
        queries = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.dim)
        with self._lock.read():
            k = max(1, min(int(k), self._count))
            if not self._count or not len(queries):
                return self._nothing(len(queries), k)
            selector = None
            mask = None
            if allowed is not None:
                pos = self._lookup(np.asarray(allowed, dtype=np.int64).reshape(-1))
                pos = pos[pos >= 0]  # the table only holds alive positions: allowed ∧ alive
                if not len(pos):
                    return self._nothing(len(queries), k)
                if self.kind == "hnsw" and len(pos) <= EXACT_BELOW:
                    return self._exact(queries, np.unique(pos), k)
                mask = np.zeros(len(self._alive), dtype=bool)
                mask[pos] = True
                # the local ``bitmap`` keeps the buffer alive while FAISS reads it
                bitmap = np.packbits(mask, bitorder="little")
                selector = faiss.IDSelectorBitmap(bitmap)
            elif self._count < self._n:
                # Writers wait for this read lock, so the maintained bitmap does not change under FAISS.
                selector = faiss.IDSelectorBitmap(self._bits)
            if self.kind == "hnsw":
                params: faiss.SearchParameters = faiss.SearchParametersHNSW(efSearch=max(ef or self.ef_search, k))
            else:
                params = faiss.SearchParameters()
            if selector is not None:
                params.sel = selector
            if self._base_n:
                scores, pos_found = self._index.search(queries, k, params=params)
            else:
                scores, pos_found = self._nothing(len(queries), k)
            if self._n > self._base_n:  # the delta, exactly, merged in by score
                live = self._alive[self._base_n:self._n] if mask is None else mask[self._base_n:self._n]
                if live.any():
                    more_s, more_p = self._delta_top(queries, live, k)
                    scores, pos_found = _merge_top(scores, pos_found, more_s, more_p, k)
            ids = np.where(pos_found >= 0, self._pos2id[np.clip(pos_found, 0, None)], -1)
        return scores, ids

    def _reconstruct(self, pos: np.ndarray) -> np.ndarray:
        """The stored vectors at these positions, from the base or the delta (one FAISS call for the base's)."""
        pos = np.asarray(pos, dtype=np.int64)
        in_base = pos < self._base_n
        if in_base.all():
            return self._index.reconstruct_batch(pos)
        out = np.empty((len(pos), self.dim), dtype=np.float32)
        if in_base.any():
            out[in_base] = self._index.reconstruct_batch(pos[in_base])
        out[~in_base] = self._delta[pos[~in_base] - self._base_n]
        return out

    def _delta_top(self, queries: np.ndarray, live: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Exact top-k over the delta's rows where ``live`` → (scores, positions), -1 where fewer than k. One
        product over the delta in place (no copy; its cost per row was not measured)."""
        sims = queries @ self._delta[:len(live)].T
        sims[:, ~live] = _MISSING_SCORE
        scores, out = self._nothing(len(queries), k)
        kk = min(k, int(live.sum()))
        top = np.argpartition(-sims, kk - 1, axis=1)[:, :kk]
        order = np.take_along_axis(top, np.argsort(-np.take_along_axis(sims, top, axis=1), axis=1), axis=1)
        scores[:, :kk] = np.take_along_axis(sims, order, axis=1)
        out[:, :kk] = order + self._base_n
        return scores, out

    def _exact_positions(self, queries: np.ndarray, pos: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Exact top-k over the given positions → (scores, positions), -1 where fewer than k."""
        sims = queries @ self._reconstruct(pos).T
        scores, out = self._nothing(len(queries), k)
        kk = min(k, len(pos))
        top = np.argpartition(-sims, kk - 1, axis=1)[:, :kk]
        order = np.take_along_axis(top, np.argsort(-np.take_along_axis(sims, top, axis=1), axis=1), axis=1)
        scores[:, :kk] = np.take_along_axis(sims, order, axis=1)
        out[:, :kk] = pos[order]
        return scores, out

    @staticmethod
    def _nothing(nq: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        return np.full((nq, k), _MISSING_SCORE, dtype=np.float32), np.full((nq, k), -1, dtype=np.int64)

    def _exact(self, queries: np.ndarray, pos: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Exact top-k over the given alive positions (a small filtered set), FAISS's output layout."""
        scores, found = self._exact_positions(queries, pos, k)
        return scores, np.where(found >= 0, self._pos2id[np.clip(found, 0, None)], -1)

    # ------------------------------------------------------------ persistence
    def save(self, directory: Path, model_id: str, checksum: str,
             extra: Mapping[str, Callable[[Path], object]] | None = None) -> Manifest:
        """Write the FAISS index, the position map, the alive mask and any ``extra`` artefacts (name →
        writer) atomically, then the manifest listing each with its checksum — last, so a crash before it
        leaves the old manifest, whose checksums no longer match, and the next start rebuilds."""
        directory.mkdir(parents=True, exist_ok=True)
        files: dict[str, str] = {}
        # One consistent state: the FAISS index and the arrays from the same moment, taken under the read
        # lock; the files are fsynced, checksummed and renamed after.
        with self._lock.read():
            # The base is written only when it is not already the file on disk (a mapped base, or one saved
            # before and not changed since): at a million talents that file is 1.5 GiB, the rest a few MiB.
            base_file = directory / INDEX_FILE
            old = _read_manifest(directory)
            same = (self._base_file is not None and base_file.exists() and _identity(base_file) == self._base_file
                    and old is not None and (old.files or {}).get(INDEX_FILE))
            # Written straight from FAISS to the temporary file (no in-memory copy: 1.5 GiB at a million),
            # under the read lock: edits wait for that write, which happens only when the base changed.
            tmp = None if same else _write_tmp(base_file, lambda p: faiss.write_index(self._index, str(p)))
            positions = self._pos2id[:self._n].copy()
            alive = self._alive[:self._n].copy()
            delta = self._delta[:self._n - self._base_n].copy()
            count = self._count
        if tmp is None:
            assert old is not None and old.files is not None
            files[INDEX_FILE] = old.files[INDEX_FILE]
        else:
            files[INDEX_FILE] = _commit(tmp, base_file)
            with self._lock.read():
                if self._base_n == len(positions) - len(delta) and not self._mapped:
                    self._base_file = _identity(base_file)  # the base is that file now (until it changes)

        def npy(array: np.ndarray) -> Callable[[Path], None]:
            def write(p: Path) -> None:
                with open(p, "wb") as fh:
                    np.save(fh, array)
            return write

        files[POSITIONS_FILE] = atomic_write(directory / POSITIONS_FILE, npy(positions))
        files[ALIVE_FILE] = atomic_write(directory / ALIVE_FILE, npy(alive))
        files[DELTA_FILE] = atomic_write(directory / DELTA_FILE, npy(delta))
        for name, writer in (extra or {}).items():
            files[name] = atomic_write(directory / name, writer)
        _failpoint("index-save", "index artefacts written, manifest not yet")
        manifest = Manifest(model_id=model_id, dim=self.dim, kind=self.kind, count=count,
                            content_checksum=checksum, file_sha256=files[INDEX_FILE], files=files)
        atomic_write(directory / MANIFEST_FILE, lambda p: p.write_text(json.dumps(asdict(manifest), indent=2)))
        return manifest

    @classmethod
    def load(cls, directory: Path, ef_search: int = 128, mmap: bool = True) -> tuple[VectorIndex, Manifest]:
        """Load and verify; raises ``IndexCorrupt`` for anything missing, damaged, inconsistent or written
        in an older format (the caller then rebuilds). With ``mmap`` the base's vectors stay in the file's
        pages (shared by every process that maps the file); otherwise they are read into private memory."""
        try:
            manifest = Manifest(**json.loads((directory / MANIFEST_FILE).read_text()))
        except (OSError, ValueError, TypeError) as exc:
            raise IndexCorrupt(f"manifest unreadable: {exc}") from exc
        if manifest.format != MANIFEST_FORMAT or not manifest.files:
            raise IndexCorrupt(f"manifest format {manifest.format} (expected {MANIFEST_FORMAT})")
        for name in (INDEX_FILE, POSITIONS_FILE, ALIVE_FILE, DELTA_FILE):
            if name not in manifest.files:
                raise IndexCorrupt(f"{name} is not listed in the manifest")
        for name, digest in manifest.files.items():
            path = directory / name
            if not path.exists() or sha256_file(path) != digest:
                raise IndexCorrupt(f"{name} missing or its checksum does not match the manifest")
        try:
            identity = _identity(directory / INDEX_FILE)
            raw = faiss.read_index(str(directory / INDEX_FILE), faiss.IO_FLAG_MMAP_IFC if mmap else 0)
            positions = np.load(directory / POSITIONS_FILE, allow_pickle=False)
            alive = np.load(directory / ALIVE_FILE, allow_pickle=False)
            delta = np.load(directory / DELTA_FILE, allow_pickle=False)
        except Exception as exc:  # faiss raises RuntimeError; numpy ValueError/OSError
            raise IndexCorrupt(f"index unreadable: {exc}") from exc
        if isinstance(raw, faiss.IndexHNSWFlat):
            kind = "hnsw"
        elif isinstance(raw, faiss.IndexFlatIP):
            kind = "flat"
        else:
            raise IndexCorrupt(f"index file holds a {type(raw).__name__}, not IndexFlatIP or IndexHNSWFlat")
        if kind != manifest.kind or raw.d != manifest.dim or raw.metric_type != faiss.METRIC_INNER_PRODUCT:
            raise IndexCorrupt("index kind, dimension or metric do not match the manifest")
        if (positions.dtype != np.int64 or alive.dtype != np.bool_ or positions.ndim != 1 or alive.ndim != 1
                or delta.dtype != np.float32 or delta.ndim != 2 or delta.shape[1] != raw.d
                or len(positions) != raw.ntotal + len(delta) or len(alive) != len(positions)):
            raise IndexCorrupt("position map, alive mask or delta do not match the index")
        live = np.flatnonzero(alive)
        live_ids = positions[live]
        if len(live) != manifest.count or (len(live) and (int(live_ids.min()) < 0
                                                          or len(np.unique(live_ids)) != len(live))):
            raise IndexCorrupt("index contents do not match the manifest")
        if kind == "hnsw":
            raw.hnsw.efSearch = ef_search
            index = cls(raw.d, kind, hnsw_m=int(raw.hnsw.nb_neighbors(1)), ef_search=ef_search,
                        ef_construction=int(raw.hnsw.efConstruction))
        else:
            index = cls(raw.d, kind, ef_search=ef_search)
        n = len(positions)
        index._index = raw
        index._base_n = int(raw.ntotal)
        index._mapped = mmap
        index._base_file = identity
        index._delta = delta
        index._pos2id = _grown(positions.copy(), n, -1)
        index._alive = _grown(alive.copy(), n, False)
        index._bits = np.packbits(index._alive, bitorder="little")
        index._table = np.full(int(live_ids.max()) + 1 if len(live) else 0, -1, dtype=np.int64)
        index._table[live_ids] = live
        index._n = n
        index._count = len(live)
        return index, manifest

    def remap(self, directory: Path) -> bool:
        """Swap a private base for the mapped file it was just saved to (same positions, same vectors), so
        this process holds the vectors in shared pages too; False when the file is not this base."""
        path = directory / INDEX_FILE
        with self._lock.read():
            if self._mapped or self._base_file is None or not path.exists() or _identity(path) != self._base_file:
                return False
            base_n = self._base_n
        raw = faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC)
        if raw.ntotal != base_n:
            return False
        if self.kind == "hnsw":
            raw.hnsw.efSearch = self.ef_search
        with self._lock.write():
            if self._base_n != base_n or self._mapped or self._base_file != _identity(path):
                return False  # changed meanwhile: keep what we have
            self._index, self._mapped = raw, True
        return True

    def vectors(self, ids: Iterable[int]) -> np.ndarray:
        """The stored vectors of the given talent ids (an unknown id raises ``KeyError``), e.g. to score a
        chosen talent."""
        wanted = _as_ids(ids)
        with self._lock.read():
            if not len(wanted):
                return np.zeros((0, self.dim), dtype=np.float32)
            pos = self._lookup(wanted)
            if (pos < 0).any():
                raise KeyError(f"not in the index: {wanted[pos < 0][:10].tolist()}")
            # one call into FAISS, not one per id: 100 ids cost 0.1 ms instead of 2 ms
            return self._reconstruct(pos)

    def ids(self) -> np.ndarray:
        """The talent ids in the index, sorted."""
        with self._lock.read():
            return np.sort(self._pos2id[:self._n][self._alive[:self._n]])


def _read_manifest(directory: Path) -> Manifest | None:
    try:
        return Manifest(**json.loads((directory / MANIFEST_FILE).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
