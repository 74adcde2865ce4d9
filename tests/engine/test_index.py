"""FAISS index: persistence with manifest, damage detection, add/update/remove, filters, HNSW recall;
updates in place (edits and re-adds as tombstone + append, for flat and HNSW), compaction, concurrency."""

import json
import threading
import time

import numpy as np
import pytest

import matcher.engine.index as index_module
from matcher.engine.index import IndexCorrupt, VectorIndex


def _unit(n: int, d: int = 32, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_exact_search_add_update_remove() -> None:
    x = _unit(200)
    ix = VectorIndex(32)
    ix.add(np.arange(200) + 1000, x)
    _, ids = ix.search(x[:3], 1)
    assert ids[:, 0].tolist() == [1000, 1001, 1002]
    ix.add(np.array([1000]), x[[5]])  # update: talent 1000 now looks like 1005
    assert len(ix) == 200
    _, ids = ix.search(x[[0]], 5)
    assert 1000 not in ids[0, :1]
    ix.remove([1005, 4242])
    _, ids = ix.search(x[[5]], 3)
    assert 1005 not in ids[0] and ids[0, 0] == 1000


def test_filtered_search_returns_k_inside_the_allowed_set() -> None:
    x = _unit(500)
    ix = VectorIndex(32)
    ix.add(np.arange(500), x)
    allowed = np.arange(0, 500, 7)  # 72 ids, none necessarily near the query
    _, ids = ix.search(x[[1]], 10, allowed=allowed)
    assert len(ids[0]) == 10 and set(ids[0].tolist()) <= set(allowed.tolist())
    _, few = ix.search(x[[1]], 10, allowed=np.array([3, 4]))
    assert sorted(few[0][few[0] >= 0].tolist()) == [3, 4]


def test_persistence_and_damage_detection(tmp_path) -> None:
    x = _unit(100)
    ix = VectorIndex(32)
    ix.add(np.arange(100), x)
    manifest = ix.save(tmp_path, "model-a", "sum-1")
    assert manifest.count == 100 and manifest.dim == 32
    loaded, m = VectorIndex.load(tmp_path)
    assert m.content_checksum == "sum-1" and m.model_id == "model-a"
    assert np.array_equal(loaded.search(x[:4], 3)[1], ix.search(x[:4], 3)[1])
    data = bytearray((tmp_path / "vectors.faiss").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / "vectors.faiss").write_bytes(bytes(data))
    with pytest.raises(IndexCorrupt):
        VectorIndex.load(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(IndexCorrupt):
        VectorIndex.load(tmp_path)


def test_hnsw_recall_against_exact_and_tombstones() -> None:
    x = _unit(3000, seed=1)
    q = _unit(50, seed=2)
    exact, approx = VectorIndex(32), VectorIndex(32, "hnsw", hnsw_m=16, ef_search=64)
    exact.add(np.arange(3000), x)
    approx.add(np.arange(3000), x)
    e = exact.search(q, 10)[1]
    a = approx.search(q, 10)[1]
    recall = np.mean([len(set(e[i]) & set(a[i])) / 10 for i in range(len(q))])
    assert recall >= 0.9
    approx.remove([int(e[0, 0])])
    assert int(e[0, 0]) not in approx.search(q[:1], 10)[1][0]
    # a removed talent can come back (consent granted again) without a rebuild, with its new vector
    approx.add(np.array([int(e[0, 0])]), q[:1])
    assert approx.search(q[:1], 1)[1][0, 0] == int(e[0, 0]) and len(approx) == 3000


def test_concurrent_searches_and_writes() -> None:
    x = _unit(1000)
    ix = VectorIndex(32)
    ix.add(np.arange(1000), x)
    errors: list[Exception] = []

    def reader() -> None:
        try:
            for i in range(200):
                _, ids = ix.search(x[[i % 1000]], 5)
                assert (ids >= 0).all()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def writer() -> None:
        for i in range(100):
            ix.add(np.array([5000 + i]), x[[i]])
            ix.remove([5000 + i])

    threads = [threading.Thread(target=reader) for _ in range(4)] + [threading.Thread(target=writer)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(ix) == 1000


# ---------------------------------------------------------------------------- in-place updates, both kinds
KINDS = ["flat", "hnsw"]


def _index(kind: str, n: int = 600, seed: int = 3) -> tuple[VectorIndex, np.ndarray]:
    x = _unit(n, seed=seed)
    ix = VectorIndex(32, kind, hnsw_m=16, ef_search=64, ef_construction=100)
    ix.add(np.arange(n), x)
    return ix, x


def _all(ix: VectorIndex, q: np.ndarray, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Every result for q (k = the whole index), a way to see whatever a search can return."""
    return ix.search(q, len(ix) + 5, allowed=allowed)


@pytest.mark.parametrize("kind", KINDS)
def test_edit_moves_the_talent_and_its_old_vector_is_gone(kind: str) -> None:
    ix, x = _index(kind)
    new = _unit(1, seed=99)
    ix.add(np.array([7]), new)
    assert len(ix) == 600 and 7 in ix and ix.tombstone_share == pytest.approx(1 / 601)
    assert ix.search(new, 1)[1][0, 0] == 7
    scores, ids = _all(ix, x[[7]])
    assert (ids[0] == 7).sum() == 1  # once, with the new vector's score, never the old one's (1.0)
    assert scores[0][ids[0] == 7][0] == pytest.approx(float(new[0] @ x[7]), abs=1e-5)
    assert np.allclose(ix.vectors([7]), new)
    assert ix.search(x[[7]], 1)[1][0, 0] != 7


@pytest.mark.parametrize("kind", KINDS)
def test_remove_then_readd_finds_the_new_vector_only(kind: str) -> None:
    ix, x = _index(kind)
    assert ix.remove([7, 8, 123456]) == 2  # unknown ids are ignored
    assert ix.remove([7]) == 0
    assert 7 not in ix and len(ix) == 598
    assert 7 not in _all(ix, x[[7]])[1][0]
    new = _unit(2, seed=98)
    ix.add(np.array([7, 8]), new)  # consent granted again
    assert 7 in ix and len(ix) == 600
    assert ix.search(new, 1)[1][:, 0].tolist() == [7, 8]
    scores, ids = _all(ix, x[[7]])
    assert (ids[0] == 7).sum() == 1
    assert scores[0][ids[0] == 7][0] == pytest.approx(float(new[0] @ x[7]), abs=1e-5)
    assert np.array_equal(ix.ids(), np.arange(600))
    with pytest.raises(KeyError):
        ix.vectors([7, 123456])


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("exact_below", [8, 4096])  # the bitmap selector and the exact path for small sets
def test_tombstones_never_appear_with_or_without_a_filter(kind: str, exact_below: int, monkeypatch) -> None:
    monkeypatch.setattr(index_module, "EXACT_BELOW", exact_below)
    ix, x = _index(kind)
    rng = np.random.default_rng(5)
    removed = rng.choice(600, 150, replace=False)
    edited = np.setdiff1d(rng.choice(600, 100, replace=False), removed)
    ix.remove(removed.tolist())
    ix.add(edited, _unit(len(edited), seed=6))
    alive = np.setdiff1d(np.arange(600), removed)
    assert np.array_equal(ix.ids(), alive) and len(ix) == len(alive)
    for allowed in (None, np.arange(0, 600, 3), np.concatenate([removed[:20], edited[:20]]), removed):
        scores, ids = _all(ix, x[:20], allowed)
        wanted = set(alive.tolist()) if allowed is None else set(alive.tolist()) & set(allowed.tolist())
        for row, srow in zip(ids, scores, strict=True):
            got = row[row >= 0].tolist()
            assert set(got) <= wanted and len(got) == len(set(got))
            if kind == "flat" or exact_below > len(wanted):  # exact: every allowed alive talent comes back
                assert set(got) == wanted
            assert np.all(np.diff(srow[row >= 0]) <= 1e-6)  # best first
        # the old vectors of edited talents never surface: their self-query never scores ≈ 1 for them
        scores, hit = ix.search(x[edited], 3, allowed=allowed)
        for tid, row, srow in zip(edited.tolist(), hit, scores, strict=True):
            assert not (row[0] == tid and srow[0] > 0.999)


@pytest.mark.parametrize("kind", KINDS)
def test_edge_cases(kind: str) -> None:
    empty = VectorIndex(32, kind)
    _, ids = empty.search(_unit(2), 5)
    assert ids.shape[0] == 2 and (ids == -1).all() and len(empty) == 0 and empty.tombstone_share == 0
    assert empty.remove([1, 2]) == 0 and empty.ids().tolist() == [] and empty.vectors([]).shape == (0, 32)
    ix, x = _index(kind, n=20)
    _, ids = ix.search(x[:3], 50)  # k beyond the alive count
    assert ids.shape == (3, 20) and sorted(ids[0].tolist()) == list(range(20))
    ix.remove(range(5, 20))
    _, ids = ix.search(x[:3], 50)
    assert sorted(ids[0][ids[0] >= 0].tolist()) == [0, 1, 2, 3, 4]
    for nothing in (np.array([], dtype=np.int64), np.array([5, 6, 999]), np.array([-3])):
        _, ids = ix.search(x[:2], 10, allowed=nothing)
        assert (ids == -1).all()
    ix.remove(range(5))
    assert len(ix) == 0 and (ix.search(x[:1], 3)[1] == -1).all() and ix.tombstone_share == 1.0
    with pytest.raises(ValueError, match="duplicate"):
        ix.add(np.array([1, 1]), x[:2])
    with pytest.raises(ValueError, match="non-negative"):
        ix.add(np.array([-1]), x[:1])
    ix.add(np.array([3]), x[:1])
    assert ix.search(x[:1], 3)[1][0].tolist()[0] == 3 and len(ix) == 1


def test_hnsw_small_filter_still_returns_k() -> None:
    """A very selective filter on HNSW is scored exactly: HNSW's walk alone can end with fewer hits."""
    x = _unit(3000, seed=1)
    exact, approx = VectorIndex(32), VectorIndex(32, "hnsw", hnsw_m=16, ef_search=64)
    exact.add(np.arange(3000), x)
    approx.add(np.arange(3000), x)
    allowed = np.random.default_rng(2).choice(3000, 12, replace=False)
    q = _unit(5, seed=4)
    e, a = exact.search(q, 10, allowed=allowed), approx.search(q, 10, allowed=allowed)
    assert np.array_equal(e[1], a[1]) and np.allclose(e[0], a[0], atol=1e-5)


@pytest.mark.parametrize("kind", KINDS)
def test_save_load_after_edits_and_removals(kind: str, tmp_path) -> None:
    ix, x = _index(kind)
    ix.remove(list(range(0, 600, 4)))
    ix.add(np.arange(1, 600, 8), _unit(75, seed=7))
    ix.add(np.array([0, 4]), _unit(2, seed=8))  # re-added
    q = np.vstack([x[:30], _unit(10, seed=9)])
    allowed = np.arange(0, 600, 3)
    before = ix.search(q, 10), ix.search(q, 10, allowed=allowed), ix.search(q, 10, ef=16)
    manifest = ix.save(tmp_path, "m", "c")
    assert manifest.count == len(ix) and manifest.format == index_module.MANIFEST_FORMAT
    assert set(manifest.files or {}) == {"vectors.faiss", "positions.npy", "alive.npy", "delta.npy"}
    loaded, _ = VectorIndex.load(tmp_path, ef_search=64)
    after = loaded.search(q, 10), loaded.search(q, 10, allowed=allowed), loaded.search(q, 10, ef=16)
    for (s0, i0), (s1, i1) in zip(before, after, strict=True):
        assert np.array_equal(i0, i1) and np.array_equal(s0, s1)
    assert loaded.kind == kind and len(loaded) == len(ix) and np.array_equal(loaded.ids(), ix.ids())
    assert loaded.tombstone_share == ix.tombstone_share and 0 in loaded and 8 not in loaded
    assert np.array_equal(loaded.vectors([0, 1, 5]), ix.vectors([0, 1, 5]))
    if kind == "hnsw":
        assert loaded.hnsw_m == 16 and loaded.ef_construction == 100
    # the loaded index goes on taking edits and compacts
    loaded.add(np.array([8]), x[[8]])
    assert loaded.search(x[[8]], 1)[1][0, 0] == 8
    loaded.compact()
    assert loaded.tombstone_share == 0 and loaded.search(x[[8]], 1)[1][0, 0] == 8


def test_old_format_or_inconsistent_files_mean_rebuild(tmp_path) -> None:
    ix, _ = _index("flat", n=50)
    ix.save(tmp_path, "m", "c")
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    old = dict(manifest, format=2)
    (tmp_path / "manifest.json").write_text(json.dumps(old))
    with pytest.raises(IndexCorrupt, match="format"):
        VectorIndex.load(tmp_path)
    # a manifest whose checksums match but whose count does not (a lying manifest) is refused too
    (tmp_path / "manifest.json").write_text(json.dumps(dict(manifest, count=49)))
    with pytest.raises(IndexCorrupt):
        VectorIndex.load(tmp_path)
    for name in ("positions.npy", "alive.npy"):
        (tmp_path / "manifest.json").write_text(json.dumps(manifest))
        VectorIndex.load(tmp_path)
        saved = (tmp_path / name).read_bytes()
        (tmp_path / name).write_bytes(saved[: len(saved) // 2])
        with pytest.raises(IndexCorrupt):
            VectorIndex.load(tmp_path)
        (tmp_path / name).write_bytes(saved)


@pytest.mark.parametrize("kind", KINDS)
def test_compaction_keeps_results_and_drops_tombstones(kind: str) -> None:
    ix, _ = _index(kind, n=2000)
    rng = np.random.default_rng(11)
    removed = rng.choice(2000, 300, replace=False)
    ix.remove(removed.tolist())
    edited = rng.choice(2000, 300, replace=False)  # some of them re-added: no new tombstone for those
    ix.add(edited, _unit(300, seed=12))
    dead = 300 + len(np.setdiff1d(edited, removed))
    assert ix.tombstone_share == pytest.approx(dead / 2300)
    assert ix.needs_compaction(0.2) and not ix.needs_compaction(0.5)
    alive = ix.ids()
    q = ix.vectors(alive)
    allowed = alive[::3]
    before, before_f = ix.search(q, 10), ix.search(q, 10, allowed=allowed)
    assert ix.compact() == dead
    assert ix.tombstone_share == 0 and not ix.needs_compaction() and np.array_equal(ix.ids(), alive)
    after, after_f = ix.search(q, 10), ix.search(q, 10, allowed=allowed)
    if kind == "flat":
        for b, a in ((before, after), (before_f, after_f)):
            assert np.array_equal(b[1], a[1]) and np.allclose(b[0], a[0], atol=1e-6)
    else:  # the graph is rebuilt: the same talent first for every self-query
        assert np.array_equal(after[1][:, 0], alive)
        assert np.array_equal(before[1][:, 0], after[1][:, 0])
    assert np.array_equal(ix.vectors(alive), q)
    assert ix.compact() == 0


@pytest.mark.parametrize("kind", KINDS)
def test_concurrent_searches_during_edits_removals_and_compaction(kind: str) -> None:
    """Searches never raise and never return a tombstone while another thread edits, removes, re-adds and
    compacts. Talents removed for good must never appear; talents edited away from their first vector
    must never be found through it (a self-query scoring ≈ 1)."""
    ix, x = _index(kind, n=1500)
    gone = np.arange(0, 100)  # removed for good before the threads start
    moved = np.arange(100, 200)  # edited away from their first vector for good
    ix.remove(gone.tolist())
    ix.add(moved, _unit(100, seed=21))
    churn = np.arange(200, 260)  # edited, removed and re-added all along
    errors: list[BaseException] = []
    stop = threading.Event()
    forbidden = set(gone.tolist())
    allowed = np.arange(0, 1500, 2)

    def reader(seed: int) -> None:
        rng = np.random.default_rng(seed)
        try:
            while not stop.is_set():
                pick = rng.integers(0, 200, 4)
                for filt in (None, allowed, gone[:30]):
                    scores, ids = ix.search(x[pick], 8, allowed=filt)
                    assert not forbidden & set(ids.ravel().tolist()), "a removed talent was returned"
                    for row, srow, p in zip(ids, scores, pick.tolist(), strict=True):
                        assert not (row[0] == p and srow[0] > 0.999), "an old vector was returned"
                        got = row[row >= 0]
                        assert len(set(got.tolist())) == len(got)
                        if filt is None:
                            assert len(got) == 8
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def writer() -> None:
        rng = np.random.default_rng(7)
        try:
            for i in range(150):
                c = churn[rng.integers(0, len(churn), 3)]
                c = np.unique(c)
                ix.add(c, _unit(len(c), seed=1000 + i))
                ix.remove([int(c[0])])
                if i % 3 == 0:
                    ix.add(c[:1], _unit(1, seed=5000 + i))
        except BaseException as exc:  # pragma: no cover
            errors.append(exc)

    built_during_edits = []

    class SlowBuild:
        """The new index of a compaction, slowed down so that edits land while it is being built."""

        def __init__(self, inner: object) -> None:
            self.inner = inner

        def add(self, vectors: np.ndarray) -> None:
            before = ix._n
            time.sleep(0.01)
            self.inner.add(vectors)  # type: ignore[attr-defined]
            built_during_edits.append(ix._n != before)

        def __getattr__(self, name: str) -> object:
            return getattr(self.inner, name)

    new_base = ix._new_base
    ix._new_base = lambda: SlowBuild(new_base())  # type: ignore[method-assign]

    def compactor() -> None:
        try:
            for _ in range(4):
                ix.compact(chunk=300, tail=8)
        except BaseException as exc:  # pragma: no cover
            errors.append(exc)

    readers = [threading.Thread(target=reader, args=(s,)) for s in range(3)]
    writers = [threading.Thread(target=writer), threading.Thread(target=compactor)]
    for t in readers + writers:
        t.start()
    for t in writers:
        t.join()
    stop.set()
    for t in readers:
        t.join()
    assert not errors, errors[:3]
    assert any(built_during_edits)  # the compactions really ran beside the edits
    present = set(ix.ids().tolist())
    assert not forbidden & present and set(range(260, 1500)) <= present and set(moved.tolist()) <= present
    assert len(ix) == len(present)
    ix.compact()
    assert ix.tombstone_share == 0 and set(ix.ids().tolist()) == present
    _, ids = _all(ix, x[:5])
    assert set(ids[0][ids[0] >= 0].tolist()) == present


@pytest.mark.parametrize("kind", KINDS)
def test_a_loaded_index_is_mapped_and_takes_edits_in_its_delta(kind: str, tmp_path) -> None:
    """A saved index is opened memory-mapped (shared pages); FAISS cannot add to it, so edits and new talents
    go to the private delta, searched exactly beside the base: the answers are those of an index that took
    the same edits in memory. Saving again leaves the base file as it is (same inode); a compaction folds the
    delta into a new private base, and the save after it maps the new base again."""
    ix, _ = _index(kind)
    ix.save(tmp_path, "m", "c")
    inode = (tmp_path / "vectors.faiss").stat().st_ino
    mapped, _ = VectorIndex.load(tmp_path, ef_search=64)
    private, _ = VectorIndex.load(tmp_path, ef_search=64, mmap=False)
    assert mapped.mapped and not private.mapped
    for ix_ in (mapped, private):  # the same edits on both: new talents, an edit, a removal, a re-add
        ix_.add(np.arange(600, 640), _unit(40, seed=11))
        ix_.add(np.array([3, 5]), _unit(2, seed=12))
        ix_.remove([7, 620])
        ix_.add(np.array([7]), _unit(1, seed=13))
    assert mapped.delta_rows == 43 and private.delta_rows == 0
    q = np.vstack([_unit(20, seed=14), _unit(40, seed=11)[:10]])
    allowed = np.arange(0, 640, 5)
    for args in ({}, {"allowed": allowed}):
        (s0, i0), (s1, i1) = private.search(q, 10, **args), mapped.search(q, 10, **args)
        assert np.array_equal(i0, i1) and np.allclose(s0, s1, atol=1e-6), args
    assert mapped.search(_unit(40, seed=11)[[0]], 1)[1][0, 0] == 600  # a delta row is found
    assert 620 not in mapped and 7 in mapped and len(mapped) == len(private)
    assert np.array_equal(mapped.vectors([3, 600, 1]), private.vectors([3, 600, 1]))

    mapped.save(tmp_path, "m", "c2")
    assert (tmp_path / "vectors.faiss").stat().st_ino == inode  # the 1.5 GiB-at-1M base is not rewritten
    again, manifest = VectorIndex.load(tmp_path, ef_search=64)
    assert manifest.content_checksum == "c2" and again.delta_rows == 43
    assert np.array_equal(again.search(q, 10)[1], mapped.search(q, 10)[1])

    before = mapped.search(q, 10)
    mapped.compact()
    assert mapped.delta_rows == 0 and not mapped.mapped and mapped.tombstone_share == 0
    assert np.array_equal(mapped.search(q, 10)[1], before[1]) or kind == "hnsw"  # HNSW rebuilt: approximate
    mapped.save(tmp_path, "m", "c3")
    assert (tmp_path / "vectors.faiss").stat().st_ino != inode
    assert mapped.remap(tmp_path) and mapped.mapped
    mapped.add(np.array([700]), _unit(1, seed=15))  # a remapped base takes edits in its delta again
    assert mapped.delta_rows == 1 and mapped.search(_unit(1, seed=15), 1)[1][0, 0] == 700


def test_neighbour_table_edits_on_a_mapped_base(tmp_path) -> None:
    from matcher.engine.neighbours import NeighbourTable

    ids = np.array([2, 5, 9], dtype=np.int64)
    table = np.array([[5, 9, -1], [2, -1, -1], [5, 2, -1]], dtype=np.int64)
    np.save(tmp_path / "neighbour_ids.npy", ids)
    np.save(tmp_path / "neighbour_table.npy", table)
    nt = NeighbourTable.load(tmp_path, 3)
    assert nt.mapped and nt.row(2).tolist() == [5, 9] and nt.row(4).tolist() == [] and len(nt) == 3
    nt[4] = np.array([2, 9])
    nt[5] = np.array([9])
    nt.pop(9)
    nt.pop(123)
    assert nt.row(4).tolist() == [2, 9] and nt.row(5).tolist() == [9] and 9 not in nt and len(nt) == 3
    assert sorted(nt) == [2, 4, 5]
    snap = nt.snapshot()
    nt[9] = np.array([2])
    assert 9 not in snap and 9 in nt
    out_ids, out = snap.arrays(3)
    assert out_ids.tolist() == [2, 4, 5] and out.tolist() == [[5, 9, -1], [2, 9, -1], [9, -1, -1]]
    with pytest.raises(ValueError):
        NeighbourTable.load(tmp_path, 4)  # another width: stale
