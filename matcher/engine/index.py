"""A FAISS vector index persisted on disk with a manifest, safe to search from many threads.

Why a manifest: the index is derived data. At start the service compares the manifest (model id,
dimension, vector count, checksum of what was indexed, checksum of the file itself) with what the
database says should be indexed; any mismatch or a damaged file means rebuild, never a wrong answer.
FAISS's own ``write_index`` format is used (no pickle).

Kinds: ``flat`` is ``IndexIDMap2(IndexFlatIP)``: exact, supports deletes. ``hnsw`` is
``IndexIDMap2(IndexHNSWFlat)``: approximate, for large pools; HNSW cannot delete, so removed ids are
kept as tombstones and excluded inside the search through an ID selector.
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
MANIFEST_FILE = "manifest.json"
TOMBSTONES_FILE = "tombstones.npy"


class IndexCorrupt(Exception):
    """The files on disk cannot be trusted; the caller rebuilds."""


MANIFEST_FORMAT = 2


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
    # A name of its own per writer: several worker processes may save the same index at once.
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    write(tmp)
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
    """Many concurrent readers or one writer (FAISS searches are thread-safe; mutation is not)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False

    @contextmanager
    def read(self) -> Iterator[None]:
        with self._cond:
            while self._writer:
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
            while self._writer or self._readers:
                self._cond.wait()
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


class VectorIndex:
    def __init__(self, dim: int, kind: str = "flat", hnsw_m: int = 32, ef_search: int = 128,
                 ef_construction: int = 200) -> None:
        if kind not in ("flat", "hnsw"):
            raise ValueError(f"unknown index kind '{kind}' (flat or hnsw)")
        self.dim = dim
        self.kind = kind
        self.ef_search = ef_search
        if kind == "flat":
            base: faiss.Index = faiss.IndexFlatIP(dim)
        else:
            base = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
            base.hnsw.efConstruction = ef_construction
            base.hnsw.efSearch = ef_search
        self._index = faiss.IndexIDMap2(base)
        self._ids: set[int] = set()
        self._tombstones: set[int] = set()
        self._lock = _RWLock()

    # ------------------------------------------------------------------ writes
    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Insert or replace vectors for ``ids``."""
        ids = np.asarray(ids, dtype=np.int64)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim or len(ids) != len(vectors):
            raise ValueError(f"expected {len(ids)} vectors of dimension {self.dim}, got {vectors.shape}")
        if len(set(ids.tolist())) != len(ids):
            raise ValueError("duplicate ids in one add")
        with self._lock.write():
            present = [int(i) for i in ids if int(i) in self._ids]
            if present:
                self._remove_locked(present)
            if self.kind == "hnsw":
                # A re-added id must not stay hidden by its old tombstone: give HNSW the new vector under
                # the same id only after the old one is unreachable, i.e. rebuild is the clean path for
                # heavy churn; here the old entry stays tombstoned and the new vector is added.
                revived = self._tombstones.intersection(int(i) for i in ids)
                if revived:
                    raise ValueError("hnsw index: re-adding removed ids needs a rebuild")
            self._index.add_with_ids(vectors, ids)
            self._ids.update(int(i) for i in ids)

    def remove(self, ids: Iterable[int]) -> int:
        with self._lock.write():
            return self._remove_locked([int(i) for i in ids if int(i) in self._ids])

    def _remove_locked(self, ids: list[int]) -> int:
        if not ids:
            return 0
        if self.kind == "flat":
            self._index.remove_ids(np.asarray(ids, dtype=np.int64))
        else:
            self._tombstones.update(ids)
        self._ids.difference_update(ids)
        return len(ids)

    # ------------------------------------------------------------------ reads
    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, tid: int) -> bool:
        return tid in self._ids

    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None, ef: int | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k inner products. ``allowed`` restricts the search to those ids (applied inside FAISS, so a
        filtered query still returns k results when k exist). Missing results have id -1. ``ef``
        overrides the HNSW search breadth for this call (bulk jobs that tolerate approximate answers)."""
        queries = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.dim)
        with self._lock.read():
            k = max(1, min(k, len(self._ids)))
            # Selectors are referenced from ``parts`` so Python keeps them alive while FAISS uses them.
            parts: list[faiss.IDSelector] = []
            selector = None
            if allowed is not None:
                selector = faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64))
                parts.append(selector)
            if self._tombstones:
                batch = faiss.IDSelectorBatch(np.fromiter(self._tombstones, dtype=np.int64))
                dead = faiss.IDSelectorNot(batch)
                parts += [batch, dead]
                selector = dead if selector is None else faiss.IDSelectorAnd(selector, dead)
                parts.append(selector)
            if self.kind == "hnsw":
                params: faiss.SearchParameters = faiss.SearchParametersHNSW(efSearch=max(ef or self.ef_search, k))
            else:
                params = faiss.SearchParameters()
            if selector is not None:
                params.sel = selector
            scores, ids = self._index.search(queries, k, params=params)
        return scores, ids

    # ------------------------------------------------------------ persistence
    def save(self, directory: Path, model_id: str, checksum: str,
             extra: Mapping[str, Callable[[Path], object]] | None = None) -> Manifest:
        """Write the index, its tombstones and any ``extra`` artefacts (name → writer) atomically, then
        the manifest listing each with its checksum — last, so a crash before it leaves the old manifest,
        whose checksums no longer match, and the next start rebuilds."""
        directory.mkdir(parents=True, exist_ok=True)
        files: dict[str, str] = {}
        with self._lock.read():
            files[INDEX_FILE] = atomic_write(directory / INDEX_FILE, lambda p: faiss.write_index(self._index, str(p)))
            tomb = np.fromiter(sorted(self._tombstones), dtype=np.int64)
            count = len(self._ids)

        def save_npy(p: Path) -> None:
            with open(p, "wb") as fh:
                np.save(fh, tomb)

        files[TOMBSTONES_FILE] = atomic_write(directory / TOMBSTONES_FILE, save_npy)
        for name, writer in (extra or {}).items():
            files[name] = atomic_write(directory / name, writer)
        _failpoint("index-save", "index artefacts written, manifest not yet")
        manifest = Manifest(model_id=model_id, dim=self.dim, kind=self.kind, count=count,
                            content_checksum=checksum, file_sha256=files[INDEX_FILE], files=files)
        atomic_write(directory / MANIFEST_FILE, lambda p: p.write_text(json.dumps(asdict(manifest), indent=2)))
        return manifest

    @classmethod
    def load(cls, directory: Path, ef_search: int = 128) -> tuple[VectorIndex, Manifest]:
        """Load and verify; raises ``IndexCorrupt`` for anything missing, damaged or inconsistent."""
        try:
            manifest = Manifest(**json.loads((directory / MANIFEST_FILE).read_text()))
        except (OSError, ValueError, TypeError) as exc:
            raise IndexCorrupt(f"manifest unreadable: {exc}") from exc
        if manifest.format != MANIFEST_FORMAT or not manifest.files:
            raise IndexCorrupt(f"manifest format {manifest.format} (expected {MANIFEST_FORMAT})")
        for name, digest in manifest.files.items():
            path = directory / name
            if not path.exists() or sha256_file(path) != digest:
                raise IndexCorrupt(f"{name} missing or its checksum does not match the manifest")
        path = directory / INDEX_FILE
        try:
            raw = faiss.read_index(str(path))
            tomb = np.load(directory / TOMBSTONES_FILE, allow_pickle=False)
        except Exception as exc:  # faiss raises RuntimeError; numpy ValueError/OSError
            raise IndexCorrupt(f"index unreadable: {exc}") from exc
        index = cls.__new__(cls)
        index.dim = raw.d
        index.kind = manifest.kind
        index.ef_search = ef_search
        if not isinstance(raw, faiss.IndexIDMap2):
            raise IndexCorrupt("index file does not hold an IndexIDMap2")
        index._index = raw
        ids = faiss.vector_to_array(raw.id_map).astype(np.int64)
        index._tombstones = {int(t) for t in tomb}
        index._ids = {int(i) for i in ids} - index._tombstones
        index._lock = _RWLock()
        if index.dim != manifest.dim or len(index._ids) != manifest.count:
            raise IndexCorrupt("index contents do not match the manifest")
        return index, manifest

    def vectors(self, ids: Iterable[int]) -> np.ndarray:
        """The stored vectors of the given ids (an unknown id raises), e.g. to score a chosen talent."""
        wanted = [int(i) for i in ids]
        with self._lock.read():
            if not wanted:
                return np.zeros((0, self.dim), dtype=np.float32)
            # one call into FAISS, not one per id: 100 ids cost 0.1 ms instead of 2 ms
            return self._index.reconstruct_batch(np.asarray(wanted, dtype=np.int64))

    def ids(self) -> np.ndarray:
        with self._lock.read():
            return np.fromiter(sorted(self._ids), dtype=np.int64)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
