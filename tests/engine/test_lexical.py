"""Lexical index: upserts replace a talent's row in place (tombstone + append into small segments),
removals, compaction without any change in scores, the rescore mode, searches beside edits."""

import threading

import numpy as np
import pytest

import matcher.engine.lexical as lexical_module
from matcher.engine.lexical import LexicalIndex

TOPICS = [
    "煤气化炉渣口堵渣，灰熔点调控与助熔剂配煤",
    "钕铁硼永磁材料晶界扩散与重稀土减量",
    "高炉炼铁智能控制系统与炉温预测",
    "锂电池正极材料包覆改性与循环寿命",
    "煤矿井下瓦斯抽采与突出防治技术",
    "光伏组件封装胶膜老化与可靠性评价",
    "氢燃料电池膜电极催化剂层设计",
    "焦化废水深度处理与膜分离回用",
    "碳纤维复合材料构件成型工艺",
    "风电齿轮箱故障诊断与振动监测",
]
GAS = "气化炉渣口堵渣"
MAGNET = "钕铁硼晶界扩散"


def _texts(n: int, seed: int = 0) -> list[str]:
    """Profiles: a topic sentence and a few filler words, so n-gram frequencies look like a pool's."""
    rng = np.random.default_rng(seed)
    filler = ["研究", "工程", "教授", "研究员", "实验室", "项目", "应用", "工艺", "优化", "设计", "装备", "检测"]
    return [TOPICS[i % len(TOPICS)] + "。" + "".join(rng.choice(filler, 6).tolist()) + f"，第{i}号" for i in range(n)]


def _index(n: int = 200) -> tuple[LexicalIndex, list[str]]:
    lx = LexicalIndex()
    texts = _texts(n)
    lx.fit(list(range(n)), texts)
    return lx, texts


def _found(lx: LexicalIndex, query: str, k: int = 500) -> set[int]:
    return set(lx.search(query, k)[0].tolist())


def test_upsert_replaces_the_text() -> None:
    lx, _ = _index()
    assert 0 in _found(lx, GAS) and 1 not in _found(lx, GAS)
    lx.upsert([0, 1], ["稀土永磁电机转子设计", "渣口堵渣与灰渣黏温特性"])
    assert len(lx) == 200 and 0 not in _found(lx, GAS) and 1 in _found(lx, GAS)
    assert lx.score(GAS, [0])[0] == 0 and lx.score(GAS, [1])[0] > 0
    assert lx.tombstone_share == pytest.approx(2 / 202)
    lx.upsert([5, 5], ["第一稿", "钕铁硼晶界扩散最终稿"])  # twice in one call: the last text counts
    assert len(lx) == 200 and 5 in _found(lx, MAGNET)


def test_remove_and_readd() -> None:
    lx, _ = _index()
    lx.remove([0, 10, 9999])
    assert len(lx) == 198 and not {0, 10} & _found(lx, GAS)
    assert lx.score(GAS, [0, 20, 9999]).tolist()[0] == 0 and lx.score(GAS, [20])[0] > 0
    lx.upsert([0], ["渣口堵渣"])
    assert len(lx) == 199 and 0 in _found(lx, GAS) and 10 not in _found(lx, GAS)


def test_allowed_filter_and_k() -> None:
    lx, _ = _index()
    lx.upsert([1], [TOPICS[0]])
    lx.upsert([0], ["风电"])
    ids, scores = lx.search(GAS, 5, allowed=np.array([1, 10, 30, 3]))
    assert set(ids[:3].tolist()) == {1, 10, 30} and set(ids.tolist()) <= {1, 10, 30, 3}
    assert np.all(np.diff(scores) <= 0)
    assert lx.search(GAS, 5, allowed=np.array([0, 999]))[0].tolist() == []  # 0's old row is a tombstone


def _state(lx: LexicalIndex, ids: list[int]) -> list[tuple[np.ndarray, np.ndarray]]:
    queries = [GAS, MAGNET, "智能控制", "膜分离回用", "第17号", "研究员"]
    out = [lx.search(q, 20) for q in queries] + [lx.search(q, 20, allowed=np.arange(0, 400, 3)) for q in queries]
    return [*out, *[(np.array(ids), lx.score(q, ids)) for q in queries]]


def test_compaction_keeps_scores_identical(monkeypatch) -> None:
    monkeypatch.setattr(lexical_module, "MERGE_ROWS", 16)  # many segments, capped ones included
    lx, texts = _index(300)
    rng = np.random.default_rng(1)
    for i in range(120):  # one edit at a time, as the change feed applies them
        tid = int(rng.integers(0, 340))
        lx.upsert([tid], [texts[int(rng.integers(0, 300))] + f"修订{i}"])
    lx.remove(rng.choice(340, 40, replace=False).tolist())
    assert len(lx._segments) > 3 and lx.needs_compaction(0.1)
    ids = list(range(-1, 342))
    before = _state(lx, ids)
    alive = len(lx)
    dropped = lx.compact()
    assert dropped > 0 and lx.tombstone_share == 0 and not lx.needs_compaction() and len(lx) == alive
    assert len(lx._segments) == 1
    for (i0, s0), (i1, s1) in zip(before, _state(lx, ids), strict=True):
        assert np.array_equal(i0, i1) and np.array_equal(s0, s1)
    assert lx.compact() == 0
    lx.upsert([3], ["渣口堵渣"])  # edits go on after a compaction
    assert 3 in _found(lx, GAS)


def test_segments_score_like_a_fresh_transform(monkeypatch) -> None:
    """Rows spread over merged segments score as the vectoriser scores the talent's current text."""
    monkeypatch.setattr(lexical_module, "MERGE_ROWS", 8)
    lx, texts = _index(100)
    current = dict(enumerate(texts))
    rng = np.random.default_rng(2)
    for i in range(60):
        tid = int(rng.integers(0, 120))
        current[tid] = TOPICS[int(rng.integers(0, 10))] + f"第{i}版"
        lx.upsert([tid], [current[tid]])
    ids = sorted(current)
    vec = lx._vec
    assert vec is not None
    q = vec.transform([GAS])
    expected = np.asarray(vec.transform([current[i] for i in ids]) @ q.T.toarray()).ravel()
    assert np.allclose(lx.score(GAS, ids), expected, atol=1e-6)


def test_empty_fit_then_upsert() -> None:
    lx = LexicalIndex()
    lx.fit([], [])
    assert not lx.fitted and len(lx) == 0 and lx.search(GAS, 5)[0].tolist() == []
    lx.upsert([4], [TOPICS[0]])  # the first talent fits the vocabulary
    assert lx.fitted and lx.search(GAS, 5)[0].tolist() == [4]


def test_rescore_mode_updates_in_place() -> None:
    lx = LexicalIndex(max_indexed=50)
    texts = _texts(80)
    lx.fit(list(range(80)), texts)
    assert lx.rescore_only and len(lx) == 80 and lx.search(GAS, 5)[0].tolist() == []
    assert lx.score(GAS, [0])[0] > 0
    lx.upsert([0], ["稀土永磁"])
    assert lx.score(GAS, [0])[0] == 0
    lx.remove([0])
    assert len(lx) == 79 and lx.compact() == 0 and not lx.needs_compaction()


def test_rescore_rows_equal_the_vectoriser_and_are_never_stale() -> None:
    """Rescore mode computes candidates' TF-IDF rows from their texts at each ranking (engine/ngrams.py):
    the scores equal the vectoriser's own, an edited text is scored from the new text, a removed talent
    scores 0."""
    lx = LexicalIndex(max_indexed=50)
    texts = _texts(80)
    lx.fit(list(range(80)), texts)
    ids = list(range(0, 80, 2))
    first = lx.score(GAS, ids)
    exact = (lx._vec.transform([texts[i] for i in ids]) @ lx._vec.transform([GAS]).T).toarray().ravel()
    assert np.allclose(first, exact, atol=1e-6) and (first > 0).any()
    lx.upsert([ids[-1]], ["稀土永磁材料"])
    again = lx.score(GAS, ids)
    assert again[-1] == 0 and np.allclose(again[:-1], first[:-1], atol=1e-7)
    lx.remove([ids[0]])
    assert lx.score(GAS, [ids[0]])[0] == 0


def test_searches_beside_edits_and_compaction(monkeypatch) -> None:
    monkeypatch.setattr(lexical_module, "MERGE_ROWS", 32)
    lx, texts = _index(300)
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                ids, _ = lx.search(GAS, 50)
                assert len(ids) == len(set(ids.tolist()))
                lx.score(MAGNET, [*ids.tolist(), 1, 2])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def writer() -> None:
        try:
            rng = np.random.default_rng(3)
            for i in range(200):
                tid = int(rng.integers(0, 300))
                lx.upsert([tid], [texts[int(rng.integers(0, 300))]])
                if i % 7 == 0:
                    lx.remove([int(rng.integers(0, 300))])
                if i % 50 == 0:
                    lx.compact()
        except BaseException as exc:  # pragma: no cover
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(2)]
    w = threading.Thread(target=writer)
    for t in [*threads, w]:
        t.start()
    w.join()
    stop.set()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    alive = len(lx)
    lx.compact()
    assert len(lx) == alive and lx.tombstone_share == 0


def test_edits_made_while_a_compaction_builds_are_kept(monkeypatch) -> None:
    """The compaction builds from a snapshot outside the lock; a removal, an edit and an addition that
    land meanwhile are carried over at the swap."""
    lx, _ = _index(100)
    twin, _ = _index(100)  # the same history without a compaction, for reference
    for ix in (lx, twin):
        ix.upsert([1, 2], ["风电齿轮箱", "稀土"])
        ix.remove([3])

    def meanwhile(ix: LexicalIndex) -> None:
        ix.remove([0])
        ix.upsert([10], ["渣口堵渣修订稿"])
        ix.upsert([500], [TOPICS[1]])

    original = lexical_module._Segment.of
    fired: list[bool] = []

    def of(start: int, csr):
        if not fired and csr.shape[0] > 50:  # the compaction's new base, before the swap
            fired.append(True)
            meanwhile(lx)
        return original(start, csr)

    monkeypatch.setattr(lexical_module._Segment, "of", staticmethod(of))
    assert lx.compact() == 3
    monkeypatch.undo()
    meanwhile(twin)
    assert fired and len(lx) == len(twin) == 99 and 0 not in _found(lx, GAS) and 500 in _found(lx, MAGNET)
    ids = [*range(-1, 120), 500]
    for (i0, s0), (i1, s1) in zip(_state(twin, ids), _state(lx, ids), strict=True):
        assert np.array_equal(i0, i1) and np.array_equal(s0, s1)
    assert lx.tombstone_share == pytest.approx(2 / 101)  # 0 and 10's old row, dead during the build
