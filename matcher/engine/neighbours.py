"""Each talent's nearest colleagues by profile vector (the cluster-support feature reads them), as one
shared table plus a small private delta.

Why a table: at a million talents a dict of a million small arrays costs ≈ 200 MiB of Python objects in
every worker. The saved table (sorted talent ids, and one row of neighbour ids per talent, -1 padded) is
opened with ``np.load(mmap_mode="r")``, so the workers of one machine share its pages; what changes
after the load (an edit's new neighbours, a removal) is held in a dict and a set on top, and written into
the next saved table.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

IDS_FILE = "neighbour_ids.npy"
TABLE_FILE = "neighbour_table.npy"
_EMPTY = np.zeros(0, dtype=np.int64)


class NeighbourTable:
    """talent id → its neighbours' ids: a read-only base (maybe mapped) with edits on top."""

    def __init__(self, ids: np.ndarray | None = None, table: np.ndarray | None = None) -> None:
        self._ids = ids if ids is not None else _EMPTY
        self._table = table if table is not None else np.zeros((0, 0), dtype=np.int64)
        self._changed: dict[int, np.ndarray] = {}
        self._removed: set[int] = set()

    # -------------------------------------------------------------- reads
    def _base_row(self, tid: int) -> np.ndarray | None:
        i = int(np.searchsorted(self._ids, tid))
        if i < len(self._ids) and int(self._ids[i]) == tid:
            row = np.asarray(self._table[i])
            return row[row >= 0]
        return None

    def row(self, tid: int) -> np.ndarray:
        """The talent's neighbours (none when it has no row)."""
        found = self.get(tid)
        return _EMPTY if found is None else found

    def get(self, tid: int, default: np.ndarray | None = None) -> np.ndarray | None:
        if tid in self._changed:
            return self._changed[tid]
        if tid in self._removed:
            return default
        row = self._base_row(tid)
        return default if row is None else row

    def __getitem__(self, tid: int) -> np.ndarray:
        row = self.get(tid)
        if row is None:
            raise KeyError(tid)
        return row

    def __contains__(self, tid: object) -> bool:
        return isinstance(tid, int | np.integer) and self.get(int(tid)) is not None

    def __iter__(self) -> Iterator[int]:
        for t in self._ids.tolist():
            if t not in self._removed and t not in self._changed:
                yield t
        yield from self._changed

    def __len__(self) -> int:
        base = len(self._ids)
        if self._removed or self._changed:
            gone = np.isin(self._ids, np.fromiter(self._removed | set(self._changed), dtype=np.int64)).sum()
            base -= int(gone)
        return base + len(self._changed)

    @property
    def empty(self) -> bool:
        """No rows at all (cheap: ``len`` compares the base with the edits, a pass over a million ids)."""
        return not len(self._ids) and not self._changed

    @property
    def mapped(self) -> bool:
        """Whether the base is a view of a saved file (pages shared between processes)."""
        return isinstance(self._table, np.memmap)

    @property
    def base_ids(self) -> np.ndarray:
        return self._ids

    @property
    def delta_size(self) -> int:
        return len(self._changed) + len(self._removed)

    # -------------------------------------------------------------- writes
    def __setitem__(self, tid: int, row: np.ndarray) -> None:
        self._removed.discard(tid)
        self._changed[tid] = row

    def pop(self, tid: int, default: np.ndarray | None = None) -> np.ndarray | None:
        row = self.get(tid, default)
        self._changed.pop(tid, None)
        if self._base_row(tid) is not None:
            self._removed.add(tid)
        return row

    def snapshot(self) -> NeighbourTable:
        """A copy that later edits of this one do not reach (the base arrays are shared, never written)."""
        out = NeighbourTable(self._ids, self._table)
        out._changed, out._removed = dict(self._changed), set(self._removed)
        return out

    # -------------------------------------------------------------- files
    def arrays(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The whole table as (sorted ids, rows of k neighbour ids, -1 padded), base and edits merged."""
        keep = np.ones(len(self._ids), dtype=bool)
        if self._removed or self._changed:
            keep = ~np.isin(self._ids, np.fromiter(self._removed | set(self._changed), dtype=np.int64))
        base_ids = np.asarray(self._ids)[keep]
        base = np.full((len(base_ids), k), -1, dtype=np.int64)
        if len(base_ids) and self._table.shape[1]:
            width = min(k, self._table.shape[1])
            base[:, :width] = np.asarray(self._table)[keep][:, :width]
        new_ids = np.fromiter(self._changed, dtype=np.int64, count=len(self._changed))
        new = np.full((len(new_ids), k), -1, dtype=np.int64)
        for r, tid in enumerate(new_ids.tolist()):
            row = self._changed[tid][:k]
            new[r, :len(row)] = row
        ids = np.concatenate([base_ids, new_ids])
        table = np.concatenate([base, new])
        order = np.argsort(ids, kind="stable")
        return ids[order], table[order]

    @classmethod
    def load(cls, directory: Path, k: int, mmap: bool = True) -> NeighbourTable:
        """The saved table (its pages shared when ``mmap``); ValueError when it is not one of width ``k``."""
        if mmap:
            ids = np.load(directory / IDS_FILE, mmap_mode="r", allow_pickle=False)
            table = np.load(directory / TABLE_FILE, mmap_mode="r", allow_pickle=False)
        else:
            ids = np.load(directory / IDS_FILE, allow_pickle=False)
            table = np.load(directory / TABLE_FILE, allow_pickle=False)
        if (ids.dtype != np.int64 or table.dtype != np.int64 or ids.ndim != 1 or table.ndim != 2
                or len(ids) != len(table) or table.shape[1] != k
                or (len(ids) > 1 and not bool((np.diff(ids) > 0).all()))):
            raise ValueError("neighbour table damaged or of another width")
        return cls(ids, table)
