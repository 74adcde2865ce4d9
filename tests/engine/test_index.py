"""FAISS index: persistence with manifest, damage detection, add/update/remove, filters, HNSW recall."""

import threading

import numpy as np
import pytest

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
    with pytest.raises(ValueError, match="rebuild"):
        approx.add(np.array([int(e[0, 0])]), x[:1])


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
