"""The ONNX Runtime backend: the same vectors and the same top-10 as torch; int8 only behind its gate."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from matcher.config import PROJECT_ROOT, Settings
from matcher.engine import onnx_backend
from matcher.engine.embedding import ensure_builtin_model, load_inner
from matcher.tools.quality_gate import gate_decision

DEMO = PROJECT_ROOT / "data" / "eval" / "demo"


def _demo_rows(kind: str, n: int) -> list[dict[str, str]]:
    with open(DEMO / f"{kind}.csv", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))[:n]


@pytest.fixture(scope="module")
def torch_embedder(settings: Settings):  # type: ignore[no-untyped-def]
    return load_inner(settings.embedding_model, settings.model_cache_dir, backend="torch")


@pytest.fixture(scope="module")
def onnx_embedder(settings: Settings):  # type: ignore[no-untyped-def]
    return load_inner(settings.embedding_model, settings.model_cache_dir, backend="onnx")


def test_onnx_gives_the_torch_vectors_and_top10(torch_embedder, onnx_embedder) -> None:  # type: ignore[no-untyped-def]
    talents = [r["profile"] + "\n" + r["research_fields"] for r in _demo_rows("talents", 150)]
    demands = [r["title"] + "\n" + r["description"] for r in _demo_rows("demands", 25)]
    assert onnx_embedder.model_id == torch_embedder.model_id  # the vectors are interchangeable: one cache
    pt, po = torch_embedder.encode_passages(talents), onnx_embedder.encode_passages(talents)
    qt, qo = torch_embedder.encode_queries(demands), onnx_embedder.encode_queries(demands)
    assert (pt * po).sum(1).min() >= 0.999 and (qt * qo).sum(1).min() >= 0.999
    top_torch = np.argsort(-(qt @ pt.T), axis=1)[:, :10]
    top_onnx = np.argsort(-(qo @ po.T), axis=1)[:, :10]
    assert (top_torch == top_onnx).all(), "the top-10 lists differ between backends"
    # a batch of one and a batch of many give the same vector (padding does not leak into the mean)
    single = np.stack([onnx_embedder.encode_passages([t])[0] for t in talents[:5]])
    assert np.allclose(single, po[:5], atol=1e-5)


def test_onnx_handles_empty_overlong_and_odd_text(onnx_embedder) -> None:  # type: ignore[no-untyped-def]
    out = onnx_embedder.encode_queries(["", "煤" * 3000, "１～２年 ＡＢＣ\u200b", "  焦炉煤气  "])
    assert out.shape == (4, onnx_embedder.dim) and np.isfinite(out).all()
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-4)
    assert np.allclose(out[3], onnx_embedder.encode_queries(["焦炉煤气"])[0], atol=1e-6)  # stripped


def test_gate_decision_measures_each_gated_variant() -> None:
    fp32 = {"dense": {"ndcg@10": 0.60}, "full": {"ndcg@10": 0.64}, "lexical": {"ndcg@10": 0.5}}
    near = {"dense": {"ndcg@10": 0.596}, "full": {"ndcg@10": 0.641}, "lexical": {"ndcg@10": 0.1}}
    far = {"dense": {"ndcg@10": 0.60}, "full": {"ndcg@10": 0.63}, "lexical": {"ndcg@10": 0.5}}
    assert gate_decision(fp32, near, 0.005) == (True, "")
    ok, why = gate_decision(fp32, far, 0.005)
    assert not ok and "full" in why and "dense" not in why


def test_int8_refused_without_a_passed_gate_for_that_file(settings: Settings, tmp_path: Path) -> None:
    model_dir = ensure_builtin_model(settings.model_cache_dir)
    int8 = onnx_backend.ensure_onnx(model_dir, int8=True)
    digest = onnx_backend.recorded_sha256(int8)
    assert digest == onnx_backend.sha256_file(int8)
    record = tmp_path / "gate.json"
    assert "no gate record" in str(onnx_backend.gate_verdict(digest, record))
    record.write_text(json.dumps({"int8_sha256": "0" * 64, "passed": True}))
    assert "different int8 file" in str(onnx_backend.gate_verdict(digest, record))
    record.write_text(json.dumps({"int8_sha256": digest, "passed": False, "reason": "demo: full −0.02"}))
    assert "full −0.02" in str(onnx_backend.gate_verdict(digest, record))
    record.write_text(json.dumps({"int8_sha256": digest, "passed": True}))
    assert onnx_backend.gate_verdict(digest, record) is True


def test_the_committed_gate_record_names_the_int8_file_this_install_builds(settings: Settings) -> None:
    """Export and quantisation are deterministic: the file measured by `matcher model quantize` (its
    record is in git) is byte for byte the file a fresh install builds, so the record applies to it."""
    record = json.loads(onnx_backend.gate_record_path().read_text())
    int8 = onnx_backend.ensure_onnx(ensure_builtin_model(settings.model_cache_dir), int8=True)
    assert record["int8_sha256"] == onnx_backend.recorded_sha256(int8)
    assert record["passed"] is True, record["reason"]
    for name, variants in record["sets"].items():
        for v in record["gated_variants"]:
            assert variants[v]["fp32"] - variants[v]["int8"] <= record["tolerance"], (name, v)
    inner = load_inner(settings.embedding_model, settings.model_cache_dir, backend="onnx-int8")
    assert inner.model_id.endswith(f"+onnx-int8/v{onnx_backend.ONNX_FORMAT_VERSION}")


def test_auto_uses_int8_only_with_a_passed_gate_and_falls_back_otherwise(settings: Settings, tmp_path: Path) -> None:
    auto = load_inner(settings.embedding_model, settings.model_cache_dir, backend="auto")
    assert auto.model_id.endswith("+onnx-int8/v1") and auto.onnx_file.name == onnx_backend.INT8_FILE
    stale = tmp_path / "gate.json"
    stale.write_text(json.dumps({"int8_sha256": "f" * 64, "passed": True}))
    fallback = load_inner(settings.embedding_model, settings.model_cache_dir, backend="auto", gate_record=stale)
    assert fallback.onnx_file.name == onnx_backend.FP32_FILE and "int8" not in fallback.model_id
    with pytest.raises(ValueError, match="quality gate"):
        load_inner(settings.embedding_model, settings.model_cache_dir, backend="onnx-int8", gate_record=stale)


def test_quality_gate_on_a_small_set(settings: Settings, tmp_path: Path) -> None:
    """The gate end to end on a 150-talent slice of the demo set: it ranks with both vector kinds and
    writes a record whose verdict follows from the measured deltas."""
    from matcher.tools.quality_gate import run_gate

    data = tmp_path / "demo-slice"
    data.mkdir()
    talents = _demo_rows("talents", 150)
    demands = _demo_rows("demands", 20)
    for kind, rows in (("talents", talents), ("demands", demands)):
        with open(data / f"{kind}.csv", "w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    keep_t = {r["external_id"] for r in talents}
    keep_d = {r["external_id"] for r in demands}
    with open(DEMO / "qrels.csv", encoding="utf-8") as src, open(data / "qrels.csv", "w", encoding="utf-8") as dst:
        reader = csv.DictReader(src)
        dst.write(",".join(reader.fieldnames or []) + "\n")
        for r in reader:
            if r["talent_external_id"] in keep_t and r["demand_external_id"] in keep_d:
                dst.write(f"{r['demand_external_id']},{r['talent_external_id']},{r['grade']}\n")
    record = tmp_path / "gate.json"
    out = run_gate(settings, datasets=[data], record=record, tolerance=0.005, log=lambda _m: None)
    saved = json.loads(record.read_text())
    assert saved == json.loads(json.dumps(out))
    deltas = [saved["sets"]["demo-slice"][v]["delta"] for v in saved["gated_variants"]]
    assert saved["passed"] == all(d >= -0.005 for d in deltas)
    assert {"lexical", "dense", "hybrid", "full"} <= set(saved["sets"]["demo-slice"])
    assert saved["sets"]["demo-slice"]["lexical"]["delta"] == 0  # vectors play no part in it
