"""Development and test parts of the relevance sets, by demand, fixed once and kept as data.

Why a file and not a function called at evaluation time: the split is part of the protocol — every setting
is chosen on the development part, the test part is reported, never tuned on — so it must not move when
code changes, and the repository's history must show when it was made. ``split.csv`` in each set
(``demand_external_id,part``) is written by ``python -m matcher.tools.splits`` and read by ``matcher eval
--part``.

The rule: the set's demand ids, sorted, shuffled with ``random.Random(SEED)``, the first half (rounded down)
``dev``, the rest ``test``. A set listed in ``ALL_TEST`` is test only: the held-out set written by hand and
committed before any model ran on it, kept out of every setting and guard. The three older sets (``demo``,
``small``, ``csl``) were looked at as wholes before this split existed: their test parts are *seen* data and
reported as such."""

from __future__ import annotations

import csv
import random
import sys
from pathlib import Path

from matcher.config import PROJECT_ROOT

SEED = 2026
EVAL_DIR = PROJECT_ROOT / "data" / "eval"
#: The relevance sets split into dev and test, and the ones that are test only.
SPLIT_SETS: tuple[str, ...] = ("demo", "small", "csl")
ALL_TEST: tuple[str, ...] = ("heldout",)
#: Sets whose every part was looked at before the split (so "test" there is seen data).
SEEN: frozenset[str] = frozenset(SPLIT_SETS)
PARTS: tuple[str, ...] = ("dev", "test", "all")


def split_ids(ids: list[str], seed: int = SEED) -> dict[str, str]:
    order = sorted(ids)
    random.Random(seed).shuffle(order)
    half = len(order) // 2
    return {q: ("dev" if i < half else "test") for i, q in enumerate(order)}


def demand_ids(dataset: Path) -> list[str]:
    with open(dataset / "demands.csv", encoding="utf-8") as fh:
        return [row["external_id"] for row in csv.DictReader(fh)]


def write_split(dataset: Path, all_test: bool = False) -> dict[str, int]:
    ids = demand_ids(dataset)
    parts = {q: "test" for q in ids} if all_test else split_ids(ids)
    with open(dataset / "split.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["demand_external_id", "part"])
        for q in sorted(parts):
            w.writerow([q, parts[q]])
    return {p: sum(1 for v in parts.values() if v == p) for p in ("dev", "test")}


def read_split(dataset: Path) -> dict[str, str]:
    """Demand id → ``dev`` / ``test``; a set without ``split.csv`` is refused (no silent whole-set report)."""
    path = dataset / "split.csv"
    if not path.exists():
        raise ValueError(f"{path}: no split file (python -m matcher.tools.splits writes it)")
    with open(path, encoding="utf-8") as fh:
        return {row["demand_external_id"]: row["part"] for row in csv.DictReader(fh)}


def main() -> None:
    for name in (*SPLIT_SETS, *ALL_TEST):
        folder = EVAL_DIR / name
        if not (folder / "demands.csv").exists():
            print(f"{name}: no demands.csv, skipped", file=sys.stderr)
            continue
        counts = write_split(folder, all_test=name in ALL_TEST)
        print(f"{name}: dev {counts['dev']}, test {counts['test']}")


if __name__ == "__main__":
    main()
