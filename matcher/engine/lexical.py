"""Lexical scoring over Chinese text: character 1–3-gram TF-IDF (scikit-learn).

Why characters: Chinese has no spaces and technical terms (气化炉, 钕铁硼) are split inconsistently by
word segmenters; overlapping character n-grams match them without a dictionary. Retrieval over the
whole pool only reads the postings of the query's informative n-grams (document frequency among the
indexed talents below ``retrieval_max_df``), so it stays cheap on large pools; scoring given candidates
uses all n-grams.

Why segments: an edit must not copy the whole matrix (≈ 700 n-grams per profile, 70 M entries at 100k
talents: a ``vstack`` or a ``tocsc()`` of it costs about a second). The rows live in segments, each with
its CSR (rows, for scoring given talents) and CSC (columns, for retrieval) copy: one large base segment
built by ``fit`` or ``compact``, then small segments appended by edits and merged pairwise while they are
small (a binary counter, capped at ``MERGE_ROWS`` rows), so an edit costs its own row plus an occasional
small merge and a search reads a few segments. An edit or a re-add appends the talent's new row and
tombstones the old one; ``compact()`` rebuilds one base segment without the dead rows, keeping the fitted
vocabulary (scores do not change).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from matcher.engine.ngrams import CharTfidf

_SPACE = re.compile(r"\s+")

# Appended segments are merged while the result stays at most this many rows (≈ 1.4 M stored n-grams:
# a merge then costs ≈ 15 ms, paid once per 2,048 edits at most).
MERGE_ROWS = 2048
def _normalise(text: str) -> str:
    return _SPACE.sub(" ", text.lower()).strip()


@dataclass(frozen=True)
class _Segment:
    """Rows ``start .. start + rows`` of the index, never changed once made (searches read them unlocked)."""

    start: int
    csr: sp.csr_matrix
    csc: sp.csc_matrix

    @property
    def rows(self) -> int:
        return int(self.csr.shape[0])

    @classmethod
    def of(cls, start: int, csr: sp.csr_matrix) -> _Segment:
        return cls(start, csr, csr.tocsc())


class LexicalIndex:
    def __init__(self, ngram_range: tuple[int, int] = (1, 3), retrieval_max_df: float = 0.05,
                 max_features: int | None = 2_000_000, max_indexed: int = 300_000) -> None:
        self.ngram_range = ngram_range
        self.retrieval_max_df = retrieval_max_df
        self.max_features = max_features
        # Above ``max_indexed`` documents the TF-IDF matrix would not fit comfortably in memory (≈700
        # n-grams per profile); the vocabulary is then fitted on a sample and only candidates are scored,
        # from their texts, at query time ("rescore" mode): dense retrieval alone proposes candidates.
        self.max_indexed = max_indexed
        self.rescore_only = False
        self._texts: dict[int, str] = {}
        self._vec: TfidfVectorizer | None = None
        self._segments: tuple[_Segment, ...] = ()
        self._ids = np.zeros(0, dtype=np.int64)  # row → talent id (dead rows keep theirs)
        self._row: dict[int, int] = {}  # talent id → its alive row
        self._alive = np.zeros(0, dtype=bool)
        self._df = np.zeros(0, dtype=np.int64)  # alive rows holding each n-gram
        self._lock = threading.Lock()  # held briefly: to change the state or to take a consistent view of it
        self._compacting = threading.Lock()
        self._qcache: OrderedDict[str, tuple[TfidfVectorizer, sp.csr_matrix]] = OrderedDict()
        self._qlock = threading.Lock()
        # The numpy transform of the current vectoriser (engine/ngrams.py), made once per vectoriser.
        self._fast: tuple[TfidfVectorizer, CharTfidf] | None = None
        self._fast_lock = threading.Lock()

    def fit(self, ids: Sequence[int], texts: Sequence[str]) -> None:
        """Fit the vocabulary on these texts and index them (nothing is fitted on no texts: the first
        upsert then fits)."""
        vec = TfidfVectorizer(analyzer="char", ngram_range=self.ngram_range, sublinear_tf=True,
                              dtype=np.float32, max_features=self.max_features, preprocessor=_normalise)
        if len(texts) > self.max_indexed:
            rng = np.random.default_rng(0)
            sample = rng.choice(len(texts), size=min(50_000, len(texts)), replace=False)
            vec.fit([texts[int(i)] for i in sample])
            self._use_rescore(vec, ids, texts)
            return
        if not len(texts):
            with self._lock:
                self._vec = None
                self._forget_queries()
                self.rescore_only = False
                self._texts = {}
                self._segments = ()
                self._ids = np.zeros(0, dtype=np.int64)
                self._row = {}
                self._alive = np.zeros(0, dtype=bool)
                self._df = np.zeros(0, dtype=np.int64)
            return
        X = vec.fit_transform(texts).tocsr()
        self._rows_of(vec, [])  # its numpy transform now (queries and edits use it), not at the first request
        base = _Segment.of(0, X)
        df = np.diff(base.csc.indptr).astype(np.int64)
        id_arr = np.asarray(ids, dtype=np.int64)
        with self._lock:
            self._vec = vec
            self._forget_queries()
            self.rescore_only = False
            self._texts = {}
            self._segments = (base,)
            self._ids = id_arr
            self._row = {int(t): i for i, t in enumerate(id_arr)}
            self._alive = np.ones(len(id_arr), dtype=bool)
            self._df = df

    @property
    def needs_vocabulary_only(self) -> bool:
        """Whether the state worth saving is the vocabulary alone (rescore mode: no rows are kept)."""
        return self.rescore_only and self._vec is not None

    def vocabulary(self) -> tuple[list[str], np.ndarray]:
        """The fitted n-grams in column order and their IDF weights (what a rescore-mode index is)."""
        assert self._vec is not None
        return self._vec.get_feature_names_out().tolist(), np.asarray(self._vec.idf_, dtype=np.float64)

    def use_vocabulary(self, ids: Sequence[int], texts: Sequence[str], terms: Sequence[str], idf: np.ndarray) -> None:
        """Rescore mode with a vocabulary fitted before (saved with the index): the workers of one state
        folder then score with the same vocabulary, and none of them spends the sample fit (10 s at 1M, measured)."""
        if len(terms) != len(idf):
            raise ValueError("terms and idf differ in length")
        vec = TfidfVectorizer(analyzer="char", ngram_range=self.ngram_range, sublinear_tf=True,
                              dtype=np.float32, max_features=self.max_features, preprocessor=_normalise)
        vec.vocabulary_ = {t: i for i, t in enumerate(terms)}
        vec.idf_ = np.asarray(idf, dtype=np.float64)
        self._use_rescore(vec, ids, texts)

    def _use_rescore(self, vec: TfidfVectorizer, ids: Sequence[int], texts: Sequence[str]) -> None:
        """Switch to rescore mode with this vocabulary: the texts are kept, no rows. Its numpy transform is
        made now (inside the worker's measured 12–15 s load at 1M; not timed apart), not by the first ranking."""
        self._rows_of(vec, [])
        with self._lock:
            self._vec = vec
            self._forget_queries()
            self.rescore_only = True
            self._texts = {int(t): x for t, x in zip(ids, texts, strict=True)}
            self._segments = ()
            self._ids = np.asarray(ids, dtype=np.int64)
            self._row = {}
            self._alive = np.zeros(0, dtype=bool)
            self._df = np.zeros(0, dtype=np.int64)

    def _forget_queries(self) -> None:
        """A new vocabulary makes every remembered query row wrong."""
        with self._qlock:
            self._qcache.clear()

    @property
    def fitted(self) -> bool:
        return self._vec is not None

    def __len__(self) -> int:
        return len(self._texts) if self.rescore_only else len(self._row)

    @property
    def tombstone_share(self) -> float:
        """Dead rows / all rows: what a compaction would drop (0 in rescore mode, which keeps no rows)."""
        n = len(self._ids) if not self.rescore_only else 0
        return (n - len(self._row)) / n if n else 0.0

    def needs_compaction(self, threshold: float = 0.2) -> bool:
        """True when dead rows are more than ``threshold`` of the rows: they cost memory and search time
        (every retrieval multiplies them); the caller runs ``compact()``, preferably off the request."""
        return self.tombstone_share > threshold

    # ------------------------------------------------------------------ writes (under self._lock)
    def _row_columns(self, segments: tuple[_Segment, ...], row: int) -> np.ndarray:
        for seg in reversed(segments):
            if row >= seg.start:
                r = row - seg.start
                return np.asarray(seg.csr.indices[seg.csr.indptr[r]:seg.csr.indptr[r + 1]])
        raise AssertionError(f"row {row} is in no segment")

    def _kill(self, row: int) -> None:
        self._alive[row] = False
        self._df[self._row_columns(self._segments, row)] -= 1  # a row's columns are distinct

    def upsert(self, ids: Sequence[int], texts: Sequence[str]) -> None:
        """Add or replace documents with the fitted vocabulary (a rebuild refreshes the vocabulary): a
        replaced talent's old row becomes a tombstone, the new row is appended."""
        if len(ids) != len(texts):
            raise ValueError("ids and texts differ in length")
        if self._vec is None:
            self.fit(ids, texts)
            return
        if self.rescore_only:
            with self._lock:
                self._texts.update({int(t): x for t, x in zip(ids, texts, strict=True)})
            return
        last = {int(t): i for i, t in enumerate(ids)}  # a talent twice in one call: its last text counts
        order = sorted(last.values())
        id_arr = np.array([int(ids[i]) for i in order], dtype=np.int64)
        vec = self._vec
        new = self._rows_of(vec, [texts[i] for i in order])  # outside the lock: searches go on
        with self._lock:
            if self._vec is not vec or self.rescore_only:  # refitted meanwhile: do it again with the new one
                retry = True
            else:
                retry = False
                self._append_locked(id_arr, new)
        if retry:
            self.upsert(ids, texts)

    def _append_locked(self, ids: np.ndarray, new: sp.csr_matrix) -> None:
        first = start = len(self._ids)
        # New arrays (not in place): a search that took the old ones keeps a consistent view.
        self._alive = np.concatenate([self._alive, np.ones(len(ids), dtype=bool)])
        self._ids = np.concatenate([self._ids, ids])
        for tid in ids.tolist():
            old = self._row.get(tid)
            if old is not None:
                self._kill(old)
        np.add.at(self._df, new.indices, 1)
        # Absorb the newest segments while they are no larger than what is being added (never the base,
        # never past the cap): a binary counter, so a row is copied O(log MERGE_ROWS) times. The column
        # copy (whose index array has one entry per n-gram of the vocabulary) is made once, at the end.
        segments = list(self._segments)
        rows = new
        while (len(segments) > 1 and segments[-1].rows <= rows.shape[0]
               and segments[-1].rows + rows.shape[0] <= MERGE_ROWS):
            prev = segments.pop()
            rows, start = sp.vstack([prev.csr, rows], format="csr"), prev.start
        segments.append(_Segment.of(start, rows))
        self._segments = tuple(segments)
        for j, tid in enumerate(ids.tolist()):
            self._row[tid] = first + j

    def remove(self, ids: Sequence[int]) -> None:
        with self._lock:
            for tid in ids:
                self._texts.pop(int(tid), None)
                r = self._row.pop(int(tid), None)
                if r is not None:
                    self._kill(r)

    def compact(self) -> int:
        """Rebuild the rows as one base segment without the dead ones, keeping the vocabulary, so scores
        stay the same; returns the number of rows dropped. The new matrices are built from a snapshot
        outside the lock (searches and edits go on); edits made meanwhile are carried over at the swap."""
        with self._compacting:
            with self._lock:
                if self.rescore_only or not self._segments:
                    return 0
                segments, vec, n0 = self._segments, self._vec, len(self._ids)
                src = np.flatnonzero(self._alive[:n0])
            X = sp.vstack([s.csr for s in segments], format="csr")[src]
            base = _Segment.of(0, sp.csr_matrix(X))
            with self._lock:
                if self._vec is not vec or self.rescore_only:
                    return 0  # refitted meanwhile: nothing left to compact
                n = len(self._ids)
                tail_parts = [s.csr[max(n0, s.start) - s.start:] for s in self._segments if s.start + s.rows > n0]
                new_segments = [base]
                if n > n0:
                    new_segments.append(_Segment.of(base.rows, sp.vstack(tail_parts, format="csr")))
                keep = np.concatenate([src, np.arange(n0, n, dtype=np.int64)])
                ids = self._ids[keep]
                alive = self._alive[keep]
                self._segments = tuple(new_segments)
                self._ids = ids
                self._alive = alive
                self._row = {int(t): i for i, t in zip(np.flatnonzero(alive).tolist(), ids[alive].tolist(),
                                                       strict=True)}
                return n - len(keep)

    # ------------------------------------------------------------------ reads
    def _query(self, text: str, vec: TfidfVectorizer | None = None) -> sp.csr_matrix:
        """The query's TF-IDF row, remembered for the last few hundred texts: one ranking asks for it
        twice (retrieval, then scoring of the dense-only candidates) and match lists are re-read often.
        Each entry keeps the vectoriser it was made with, so a refit can never serve a stale row."""
        vec = vec or self._vec
        assert vec is not None
        with self._qlock:
            hit = self._qcache.get(text)
            if hit is not None and hit[0] is vec:
                self._qcache.move_to_end(text)
                return hit[1]
        q = self._rows_of(vec, [text])
        with self._qlock:
            self._qcache[text] = (vec, q)
            self._qcache.move_to_end(text)
            while len(self._qcache) > 512:
                self._qcache.popitem(last=False)
        return q

    def score(self, text: str, ids: Sequence[int]) -> np.ndarray:
        """Cosine similarity of the query with each given talent (0 for unknown ids)."""
        vec = self._vec
        if vec is None or not len(ids):
            return np.zeros(len(ids), dtype=np.float32)
        if self.rescore_only:
            q = self._query(text, vec)
            docs = self._rescore_rows([int(t) for t in ids], vec)
            return np.asarray(docs @ q.T.toarray(), dtype=np.float32).ravel()
        with self._lock:
            vec, segments = self._vec, self._segments
            rows = np.array([self._row.get(int(t), -1) for t in ids], dtype=np.int64)
        out = np.zeros(len(ids), dtype=np.float32)
        if vec is None or not (rows >= 0).any():
            return out
        qt = self._query(text, vec).T.toarray()
        starts = np.array([s.start for s in segments], dtype=np.int64)
        where = np.searchsorted(starts, rows, side="right") - 1
        for s in np.unique(where[rows >= 0]).tolist():
            hit = (rows >= 0) & (where == s)
            seg = segments[s]
            out[hit] = np.asarray(seg.csr[rows[hit] - seg.start] @ qt).ravel()
        return out

    def _rows_of(self, vec: TfidfVectorizer, texts: Sequence[str]) -> sp.csr_matrix:
        """These texts' TF-IDF rows with this vectoriser, through its numpy transform (engine/ngrams.py:
        the same rows as ``vec.transform``, ≈ 6× faster on a batch of profiles)."""
        with self._fast_lock:
            if self._fast is None or self._fast[0] is not vec:
                self._fast = (vec, CharTfidf.of(vec))
            fast = self._fast[1]
        return fast.transform(texts)

    def _rescore_rows(self, ids: list[int], vec: TfidfVectorizer) -> sp.csr_matrix:
        """The TF-IDF rows of these talents from their texts (rescore mode; an unknown id has no row).
        Computed for every ranking (≈ 2.5 ms for 100 profiles): nothing is kept that an edit could make
        stale."""
        return self._rows_of(vec, [self._texts.get(t, "") for t in ids])

    def search(self, text: str, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (ids, scores) over the pool, using only the query's informative n-grams."""
        with self._lock:
            vec, segments, df, alive, ids_arr = self._vec, self._segments, self._df, self._alive, self._ids
            n_alive = len(self._row)
        if vec is None or self.rescore_only or not len(ids_arr):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        q = self._query(text, vec)
        cols = q.indices[df[q.indices] <= max(5, self.retrieval_max_df * n_alive)]
        if not len(cols):
            cols = q.indices
        weights = q[:, cols].toarray().ravel()
        scores = np.concatenate([np.asarray(s.csc[:, cols] @ weights).ravel() for s in segments])
        scores[~alive[:len(scores)]] = -1.0
        if allowed is not None:
            member = np.zeros(int(max(ids_arr.max(), allowed.max(initial=0))) + 1, dtype=bool)
            member[allowed] = True
            scores[~member[ids_arr]] = -1.0
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        top = top[scores[top] > 0]
        return ids_arr[top], scores[top].astype(np.float32)

    def key_phrases(self, text: str, limit: int = 12, stop: frozenset[str] = frozenset()) -> list[str]:
        """The words of ``text`` that weigh most in lexical matching (jieba words of two characters or
        more, ranked by count × the pool's IDF of the word as an n-gram): what a talent reads as "the
        phrases the engine picks out of my profile". Words the pool has never seen get the median IDF."""
        import jieba

        vec = self._vec
        vocab = vec.vocabulary_ if vec is not None else {}
        idf = vec.idf_ if vec is not None else None
        counts: dict[str, int] = {}
        for w in jieba.cut(text):
            w = w.strip()
            if len(w) >= 2 and w not in stop and re.fullmatch(r"[0-9A-Za-z\u4e00-\u9fff]+", w) and not w.isdigit():
                counts[w] = counts.get(w, 0) + 1
        default = float(np.median(idf)) if idf is not None and len(idf) else 1.0

        def weight(w: str) -> float:
            j = vocab.get(_normalise(w))
            return counts[w] * (float(idf[j]) if j is not None and idf is not None else default)

        return sorted(counts, key=lambda w: (-weight(w), text.index(w)))[:limit]
