"""Character n-gram TF-IDF rows computed with numpy for a vocabulary fitted by scikit-learn.

Why: in rescore mode (pools above the lexical index's ``max_indexed``) every ranking scores its ~100
candidates from their texts. ``TfidfVectorizer.transform`` analyses each text in Python (a slice and a
dict lookup per n-gram, ≈ 0.3 ms a profile), which made the lexical side two thirds of a ranking at a
million talents. Here a batch of texts becomes one array of code points; every 1-, 2- and 3-gram is one
int64 key (code points + 1 in 21-bit fields, so grams of different lengths never collide), looked up in
the vocabulary's keys with one hash lookup (pandas), counted per text with one ``np.unique``, weighted
(1 + log tf) × idf and L2-normalised: the same rows as scikit-learn's for ``analyzer="char"``,
``sublinear_tf=True``, ``norm="l2"``, to float32 rounding (``tests/engine/test_ngrams.py``).

The vectoriser's preprocessor (``lexical._normalise``) is applied as scikit-learn applies it, and so is
its own step for char analysers, collapsing runs of whitespace to one space.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

_RUNS = re.compile(r"\s\s+")
_BITS = 21  # every code point + 1 fits (0x110000 < 2**21); three fields fill 63 bits


def _fold(points: np.ndarray) -> np.ndarray:
    """One key per row of code points (shape rows × n): code point + 1 in 21-bit fields."""
    key = np.zeros(points.shape[0], dtype=np.int64)
    for j in range(points.shape[1]):
        key = (key << _BITS) | (points[:, j].astype(np.int64) + 1)
    return key


def _grams(texts: Sequence[str], max_n: int, min_n: int) -> tuple[np.ndarray, np.ndarray]:
    """(text number, key) of every n-gram of these texts, ``min_n`` ≤ n ≤ ``max_n``, as scikit-learn's char
    analyser makes them (contiguous, never across two texts)."""
    docs = [_RUNS.sub(" ", t) for t in texts]
    lengths = np.fromiter((len(d) for d in docs), dtype=np.int64, count=len(docs))
    points = np.frombuffer("".join(docs).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    owner = np.repeat(np.arange(len(docs), dtype=np.int64), lengths)
    ends = np.cumsum(lengths)  # one past each text's last position
    doc_parts, key_parts = [], []
    for n in range(min_n, max_n + 1):
        if len(points) < n:
            break
        starts = np.arange(len(points) - n + 1, dtype=np.int64)
        starts = starts[starts + n <= ends[owner[starts]]]  # the gram ends inside its own text
        doc_parts.append(owner[starts])
        key_parts.append(_fold(points[starts[:, None] + np.arange(n)]))
    if not doc_parts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(doc_parts), np.concatenate(key_parts)


class CharTfidf:
    """TF-IDF rows over a fixed character n-gram vocabulary (terms → columns) and its IDF weights."""

    def __init__(self, vocabulary: Mapping[str, int], idf: np.ndarray, ngram_range: tuple[int, int],
                 preprocessor: Callable[[str], str] | None = None) -> None:
        self.min_n, self.max_n = ngram_range
        self.preprocessor = preprocessor
        if self.max_n * _BITS > 63:
            raise ValueError(f"n-grams longer than {63 // _BITS} characters do not fit one key")
        self.width = len(idf)
        self.idf = np.asarray(idf, dtype=np.float64)
        # A term is one gram of its own length: its key, computed for all terms of a length at once.
        keys, columns = [], []
        by_length: dict[int, list[tuple[str, int]]] = {}
        for term, column in vocabulary.items():
            by_length.setdefault(len(term), []).append((term, column))
        for n, items in by_length.items():
            if not self.min_n <= n <= self.max_n:
                raise ValueError(f"the vocabulary holds a {n}-gram outside {ngram_range}")
            points = np.frombuffer("".join(t for t, _ in items).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
            keys.append(_fold(points.reshape(len(items), n)))
            columns.append(np.fromiter((c for _, c in items), dtype=np.int64, count=len(items)))
        self._index = pd.Index(np.concatenate(keys) if keys else np.zeros(0, dtype=np.int64))
        self._columns = np.concatenate(columns) if columns else np.zeros(0, dtype=np.int64)
        # pandas builds an index's hash table lazily, at its first lookup, and that build is not safe
        # across threads (seen: a concurrent first lookup saw a half-built table): build it here, once.
        if not self._index.is_unique:
            raise ValueError("two vocabulary terms share one key")
        self._index.get_indexer(pd.Index(np.zeros(1, dtype=np.int64)))

    @classmethod
    def of(cls, vectoriser: object) -> CharTfidf:
        """From a fitted ``TfidfVectorizer`` (its vocabulary, IDF and n-gram range)."""
        v: Any = vectoriser
        return cls(v.vocabulary_, v.idf_, v.ngram_range, v.preprocessor)

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """One L2-normalised float32 row per text, columns sorted."""
        if self.preprocessor is not None:
            texts = [self.preprocessor(t) for t in texts]
        doc, keys = _grams(texts, self.max_n, self.min_n)
        where = self._index.get_indexer(pd.Index(keys))
        hit = where >= 0
        doc, col = doc[hit], self._columns[where[hit]]
        pair, counts = np.unique(doc * self.width + col, return_counts=True)
        rows, cols = pair // self.width, pair % self.width
        weights = (1.0 + np.log(counts)) * self.idf[cols]
        norms = np.sqrt(np.bincount(rows, weights=weights * weights, minlength=len(texts)))
        weights = weights / norms[rows]
        indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=len(texts)))])
        return sp.csr_matrix((weights.astype(np.float32), cols.astype(np.int32), indptr),
                             shape=(len(texts), self.width))
