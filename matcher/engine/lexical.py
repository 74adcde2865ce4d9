"""Lexical scoring over Chinese text: character 1–3-gram TF-IDF (scikit-learn).

Why characters: Chinese has no spaces and technical terms (气化炉, 钕铁硼) are split inconsistently by
word segmenters; overlapping character n-grams match them without a dictionary. Retrieval over the
whole pool only reads the postings of the query's informative n-grams (document frequency below
``retrieval_max_df``), so it stays cheap on large pools; scoring given candidates uses all n-grams.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

_SPACE = re.compile(r"\s+")


def _normalise(text: str) -> str:
    return _SPACE.sub(" ", text.lower()).strip()


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
        self._X: sp.csr_matrix = sp.csr_matrix((0, 0), dtype=np.float32)
        self._Xc: sp.csc_matrix | None = None
        self._ids = np.zeros(0, dtype=np.int64)
        self._row: dict[int, int] = {}
        self._alive = np.zeros(0, dtype=bool)
        self._df_ok: np.ndarray | None = None
        self._lock = threading.Lock()
        self._qcache: OrderedDict[str, tuple[TfidfVectorizer, sp.csr_matrix]] = OrderedDict()
        self._qlock = threading.Lock()

    def fit(self, ids: Sequence[int], texts: Sequence[str]) -> None:
        vec = TfidfVectorizer(analyzer="char", ngram_range=self.ngram_range, sublinear_tf=True,
                              dtype=np.float32, max_features=self.max_features, preprocessor=_normalise)
        if len(texts) > self.max_indexed:
            rng = np.random.default_rng(0)
            sample = rng.choice(len(texts), size=min(50_000, len(texts)), replace=False)
            vec.fit([texts[int(i)] for i in sample])
            with self._lock:
                self._vec = vec
                self._forget_queries()
                self.rescore_only = True
                self._texts = {int(t): x for t, x in zip(ids, texts, strict=True)}
                self._ids = np.asarray(ids, dtype=np.int64)
                self._alive = np.ones(len(self._ids), dtype=bool)
            return
        self.rescore_only = False
        self._texts = {}
        X = vec.fit_transform(texts).tocsr() if len(texts) else sp.csr_matrix((0, 0), dtype=np.float32)
        with self._lock:
            self._vec = vec
            self._forget_queries()
            self._X = X
            self._ids = np.asarray(ids, dtype=np.int64)
            self._row = {int(t): i for i, t in enumerate(self._ids)}
            self._alive = np.ones(len(self._ids), dtype=bool)
            self._Xc = None
            self._df_ok = None

    def _forget_queries(self) -> None:
        """A new vocabulary makes every remembered query row wrong."""
        with self._qlock:
            self._qcache.clear()

    @property
    def fitted(self) -> bool:
        return self._vec is not None

    def __len__(self) -> int:
        return len(self._texts) if self.rescore_only else int(self._alive.sum())

    def upsert(self, ids: Sequence[int], texts: Sequence[str]) -> None:
        """Add or replace documents with the fitted vocabulary (a rebuild refreshes the vocabulary)."""
        if self._vec is None:
            self.fit(ids, texts)
            return
        if self.rescore_only:
            with self._lock:
                self._texts.update({int(t): x for t, x in zip(ids, texts, strict=True)})
            return
        new = self._vec.transform(texts).tocsr()
        with self._lock:
            for tid in ids:
                r = self._row.get(int(tid))
                if r is not None:
                    self._alive[r] = False
            start = self._X.shape[0]
            self._X = sp.vstack([self._X, new], format="csr")
            self._ids = np.concatenate([self._ids, np.asarray(ids, dtype=np.int64)])
            self._alive = np.concatenate([self._alive, np.ones(len(ids), dtype=bool)])
            for j, tid in enumerate(ids):
                self._row[int(tid)] = start + j
            self._Xc = None
            self._df_ok = None

    def remove(self, ids: Sequence[int]) -> None:
        with self._lock:
            for tid in ids:
                self._texts.pop(int(tid), None)
                r = self._row.pop(int(tid), None)
                if r is not None:
                    self._alive[r] = False

    def _query(self, text: str) -> sp.csr_matrix:
        """The query's TF-IDF row, remembered for the last few hundred texts: one ranking asks for it
        twice (retrieval, then scoring of the dense-only candidates) and match lists are re-read often.
        Each entry keeps the vectoriser it was made with, so a refit can never serve a stale row."""
        vec = self._vec
        assert vec is not None
        with self._qlock:
            hit = self._qcache.get(text)
            if hit is not None and hit[0] is vec:
                self._qcache.move_to_end(text)
                return hit[1]
        q = vec.transform([text]).tocsr()
        with self._qlock:
            self._qcache[text] = (vec, q)
            self._qcache.move_to_end(text)
            while len(self._qcache) > 512:
                self._qcache.popitem(last=False)
        return q

    def score(self, text: str, ids: Sequence[int]) -> np.ndarray:
        """Cosine similarity of the query with each given talent (0 for unknown ids)."""
        if self._vec is None or not len(ids):
            return np.zeros(len(ids), dtype=np.float32)
        q = self._query(text)
        if self.rescore_only:
            docs = self._vec.transform([self._texts.get(int(t), "") for t in ids])
            return np.asarray(docs @ q.T.toarray(), dtype=np.float32).ravel()
        rows = np.array([self._row.get(int(t), -1) for t in ids])
        out = np.zeros(len(ids), dtype=np.float32)
        ok = rows >= 0
        if ok.any():
            out[ok] = np.asarray(self._X[rows[ok]] @ q.T.toarray()).ravel()
        return out

    def search(self, text: str, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (ids, scores) over the pool, using only the query's informative n-grams."""
        if self._vec is None or self.rescore_only or self._X.shape[0] == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        with self._lock:
            if self._Xc is None:
                self._Xc = self._X.tocsc()
                df = np.diff(self._Xc.indptr)
                self._df_ok = df <= max(5, self.retrieval_max_df * self._X.shape[0])
            Xc, df_ok, alive, ids_arr = self._Xc, self._df_ok, self._alive, self._ids
        assert df_ok is not None
        q = self._query(text)
        cols = q.indices[df_ok[q.indices]]
        if not len(cols):
            cols = q.indices
        weights = q[:, cols].toarray().ravel()
        scores = np.asarray(Xc[:, cols] @ weights).ravel()
        scores[~alive] = -1.0
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
