"""One person, one record: probable duplicates among talent records, with the evidence for each pair.

Officials build the pool from several lists (universities, institutes, earlier programmes), so one person
arrives twice with slightly different text: the name spaced differently, the affiliation with or
without the school, a profile reworded, a phone number on one list only. Different people also share
names (王磊, 李伟), sometimes in one university.

How (recordlinkage, a kept record-linkage toolkit, with rapidfuzz for the string similarities):

1. **Candidate pairs** (blocking): records sharing a normalised name, a phone number or an email, or
   neighbours in a sorted-name window (near-identical names) — recordlinkage's ``Index`` — plus each
   record's nearest profiles by embedding (a person's two profiles describe the same work, whatever
   the name's spelling).
2. **Comparison**: name similarity (Jaro–Winkler), affiliation similarity (rapidfuzz partial ratio: one
   list writes the school, the other does not), phone and email equality, profile cosine.
3. **Score**: a Fellegi–Sunter log-likelihood sum with fixed, documented weights per agreement level —
   the evidence an official reads is those weights, one line per comparison — turned into a
   probability. Fixed rather than EM-estimated: with a few dozen duplicates among thousands of
   records EM is unstable, and a reviewer should see the same weight for the same evidence every time.

Plain data in, plain data out: no database (``services/duplicates.py`` stores pairs and merges).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

#: Log-likelihood weights (log2 m/u) per comparison and agreement level. m: how often two records of
#: one person agree so; u: how often two records of different people in the same candidate set do.
#: Set from how lists differ (documented in docs/privacy.md, "Duplicates"), checked against the
#: seeded duplicates of ``matcher dedup-eval``.
WEIGHTS: dict[str, dict[str, float]] = {
    "name": {"exact": 4.0, "close": 1.5, "different": -6.0},
    "affiliation": {"same": 2.5, "overlap": 1.5, "different": -1.5, "missing": 0.0},
    "phone": {"same": 6.0, "different": -3.0, "missing": 0.0},
    "email": {"same": 6.0, "different": -1.0, "missing": 0.0},
    "profile": {"same_work": 5.0, "similar": 2.0, "different": -4.0},
}
#: Prior log-odds that a candidate pair is one person (most candidate pairs are namesakes or neighbours).
PRIOR = -6.0
#: Pairs at or above this probability are stored for an official to decide.
THRESHOLD = 0.5
LABELS: dict[str, str] = {
    "name": "姓名", "affiliation": "单位", "phone": "手机号", "email": "邮箱", "profile": "简介内容",
    "exact": "完全一致", "close": "相近", "different": "不同", "same": "相同", "overlap": "部分一致",
    "missing": "一方缺失", "same_work": "高度一致", "similar": "相近",
}

_SPACES = re.compile(r"[\s·•．.]+")
_BRACKETS = re.compile(r"[（(][^）)]*[）)]")  # "耿玉（博士）": a title or note written into the name


@dataclass(frozen=True)
class PersonRecord:
    id: int
    name: str
    affiliation: str = ""
    phone: str = ""
    email: str = ""


@dataclass
class ScoredPair:
    """Two records the finder scored as probably one person (the stored pair an official decides on is
    ``storage.models.DuplicatePair``)."""

    a: int
    b: int
    probability: float
    evidence: dict[str, Any] = field(default_factory=dict)


def normalise_name(name: str) -> str:
    return _SPACES.sub("", _BRACKETS.sub("", name or "")).strip().lower()


def _digits(phone: str) -> str:
    d = "".join(c for c in phone or "" if c.isdigit())
    return d[-11:] if len(d) >= 7 else ""


def _frame(records: Sequence[PersonRecord]) -> pd.DataFrame:
    return pd.DataFrame({
        "id": [r.id for r in records],
        "name": [normalise_name(r.name) for r in records],
        "affiliation": [(r.affiliation or "").strip() for r in records],
        "phone": [_digits(r.phone) for r in records],
        "email": [(r.email or "").strip().lower() for r in records],
    })


def candidate_pairs(records: Sequence[PersonRecord], vectors: np.ndarray | None = None, neighbours: int = 3,
                    neighbour_positions: Sequence[Sequence[int]] | None = None,
                    max_block: int = 50) -> set[tuple[int, int]]:
    """Pairs of positions (i < j) worth comparing. Nearest profiles come from ``neighbour_positions``
    (e.g. the pool's neighbour graph) or, given ``vectors``, an exact search. A name, phone or email
    shared by more than ``max_block`` records (王伟, a switchboard number) is no evidence on its own and
    would make the pairs grow with the square of the pool: such blocks are left to the other keys."""
    import recordlinkage

    df = _frame(records)
    pairs: set[tuple[int, int]] = set()
    for column in ("name", "phone", "email"):
        sizes = df[column].map(df[column].value_counts())
        sub = df[(df[column] != "") & (sizes <= max_block)]
        if len(sub) > 1:
            idx = recordlinkage.Index()
            idx.block(column)
            pairs |= {(min(i, j), max(i, j)) for i, j in idx.index(sub)}
    if len(df) > 1:
        idx = recordlinkage.Index()
        idx.sortedneighbourhood("name", window=3)  # near-identical spellings sort next to each other
        pairs |= {(min(i, j), max(i, j)) for i, j in idx.index(df)}
    if neighbour_positions is not None:
        pairs |= {(min(i, int(j)), max(i, int(j))) for i, near in enumerate(neighbour_positions)
                  for j in list(near)[:neighbours] if 0 <= int(j) != i}
    elif vectors is not None and len(records) > 1:
        import faiss

        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(vectors)
        _, top = index.search(vectors, min(neighbours + 1, len(records)))
        pairs |= {(min(i, int(j)), max(i, int(j))) for i in range(len(records)) for j in top[i] if 0 <= j != i}
    return {p for p in pairs if p[0] != p[1]}


def _name_level(a: str, b: str) -> tuple[str, float]:
    import jellyfish

    if a and a == b:
        return "exact", 1.0
    sim = jellyfish.jaro_winkler_similarity(a, b) if a and b else 0.0
    return ("close" if sim >= 0.85 else "different"), sim


def _affiliation_level(a: str, b: str) -> tuple[str, float]:
    from rapidfuzz import fuzz

    if not a or not b:
        return "missing", 0.0
    if a == b:
        return "same", 100.0
    sim = float(fuzz.partial_ratio(a, b))
    return ("overlap" if sim >= 80 else "different"), sim


def _equal_level(a: str, b: str) -> str:
    if not a or not b:
        return "missing"
    return "same" if a == b else "different"


def _profile_level(cos: float | None) -> str:
    if cos is None:
        return "similar"  # no vectors: neutral-ish
    if cos >= 0.93:
        return "same_work"
    return "similar" if cos >= 0.86 else "different"


def score_pairs(records: Sequence[PersonRecord], pairs: set[tuple[int, int]],
                vectors: np.ndarray | None = None, threshold: float = THRESHOLD) -> list[ScoredPair]:
    """Probable duplicates among the candidate pairs, most probable first, with the evidence."""
    df = _frame(records)
    names, affs, phones, emails = (df[c].tolist() for c in ("name", "affiliation", "phone", "email"))
    out: list[ScoredPair] = []
    for i, j in sorted(pairs):
        name_level, name_sim = _name_level(names[i], names[j])
        aff_level, aff_sim = _affiliation_level(affs[i], affs[j])
        phone_level = _equal_level(phones[i], phones[j])
        email_level = _equal_level(emails[i], emails[j])
        cos = float(vectors[i] @ vectors[j]) if vectors is not None else None
        levels = {"name": name_level, "affiliation": aff_level, "phone": phone_level, "email": email_level,
                  "profile": _profile_level(cos)}
        total = PRIOR + sum(WEIGHTS[k][v] for k, v in levels.items())
        p = 1.0 / (1.0 + 2.0 ** (-total))
        if p < threshold:
            continue
        evidence: dict[str, Any] = {k: {"level": v, "label": f"{LABELS[k]}{LABELS[v]}", "weight": WEIGHTS[k][v]}
                                    for k, v in levels.items()}
        evidence["name"]["similarity"] = round(name_sim, 3)
        evidence["affiliation"]["similarity"] = round(aff_sim, 1)
        if cos is not None:
            evidence["profile"]["cosine"] = round(cos, 3)
        evidence["log2_odds"] = round(total, 2)
        ra, rb = records[i], records[j]
        a_id, b_id = (ra.id, rb.id) if ra.id < rb.id else (rb.id, ra.id)
        out.append(ScoredPair(a_id, b_id, round(p, 4), evidence))
    out.sort(key=lambda d: (-d.probability, d.a, d.b))
    return out


def find_duplicates(records: Sequence[PersonRecord], vectors: np.ndarray | None = None,
                    threshold: float = THRESHOLD) -> list[ScoredPair]:
    """Candidate pairs (blocking), compared and scored; only pairs at or above ``threshold``."""
    if vectors is not None:
        vectors = np.asarray(vectors, dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        vectors = vectors / np.where(norms > 0, norms, 1.0)
    return score_pairs(records, candidate_pairs(records, vectors), vectors, threshold)


def precision_recall(found: Sequence[tuple[int, int]], truth: Sequence[tuple[int, int]]) -> dict[str, float]:
    f = {(min(a, b), max(a, b)) for a, b in found}
    t = {(min(a, b), max(a, b)) for a, b in truth}
    tp = len(f & t)
    p = tp / len(f) if f else 1.0
    r = tp / len(t) if t else 1.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0, "found": len(f),
            "true": len(t), "true_positive": tp}
