"""The int8 quality gate: quantised vectors may serve only if the ranking they give is as good.

Why a gate on ranking metrics rather than on cosine: per-vector cosine to float32 (≈ 0.998 for
dynamic int8) says little about what users see; what matters is whether the same talents come out on
top. So the gate ranks every evaluation set twice — float32 ONNX vectors and int8 vectors, everything
else identical — and requires nDCG@10 of the vector-based rankings (``dense`` and ``full``) to lose at
most ``tolerance`` on each set. The record is written with the int8 file's SHA-256; the int8 backend
refuses to load a file the record does not name as passed.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from matcher.config import BUILTIN_E5, PROJECT_ROOT, Settings
from matcher.engine import onnx_backend
from matcher.engine.embedding import ensure_builtin_model, load_embedder

GATED_VARIANTS = ("dense", "full")
EVAL_SETS = ("csl", "demo")


def gate_decision(fp32: dict[str, dict[str, float]], int8: dict[str, dict[str, float]], tolerance: float,
                  variants: tuple[str, ...] = GATED_VARIANTS) -> tuple[bool, str]:
    """Passed, and why not: every gated variant's nDCG@10 within ``tolerance`` of float32."""
    worst = []
    for v in variants:
        drop = fp32[v]["ndcg@10"] - int8[v]["ndcg@10"]
        if drop > tolerance:
            worst.append(f"{v} nDCG@10 {fp32[v]['ndcg@10']:.4f} → {int8[v]['ndcg@10']:.4f} (−{drop:.4f})")
    return (not worst, "; ".join(worst))


def run_gate(settings: Settings, limit: int | None = None, tolerance: float = 0.005, record: Path | None = None,
             datasets: Sequence[Path] | None = None, log: Callable[[str], None] = print) -> dict[str, object]:
    """Rank every dataset (default: data/eval/csl and data/eval/demo) with float32 and int8 vectors and
    write the record (default: models/int8-gate.json)."""
    from matcher.tools.evaluation import run_eval

    if settings.embedding_model != BUILTIN_E5:
        model_dir = Path(settings.embedding_model)
    else:
        model_dir = ensure_builtin_model(settings.model_cache_dir)
    int8_file = onnx_backend.ensure_onnx(model_dir, int8=True)
    fp32_file = onnx_backend.ensure_onnx(model_dir)
    embedders = {
        "fp32": load_embedder(settings.embedding_model, settings.model_cache_dir, settings.embedding_cache_dir,
                              backend="onnx"),
        "int8": load_embedder(settings.embedding_model, settings.model_cache_dir, settings.embedding_cache_dir,
                              backend="onnx-int8", gated=False),
    }
    results: dict[str, dict[str, dict[str, float]]] = {}
    passed = True
    reasons = []
    for dataset in datasets or [PROJECT_ROOT / "data" / "eval" / n for n in EVAL_SETS]:
        name = dataset.name
        per: dict[str, dict[str, dict[str, float]]] = {}
        for label, emb in embedders.items():
            t0 = time.perf_counter()
            per[label] = run_eval(dataset, settings, limit_demands=limit, progress=False, log=lambda _m: None,
                                  embedder=emb, with_learned=False)
            log(f"{name} {label}: " + ", ".join(f"{v} nDCG@10 {m['ndcg@10']:.4f}" for v, m in per[label].items())
                + f" ({time.perf_counter() - t0:.0f} s)")
        ok, why = gate_decision(per["fp32"], per["int8"], tolerance)
        passed &= ok
        if not ok:
            reasons.append(f"{name}: {why}")
        results[name] = {v: {"fp32": round(per["fp32"][v]["ndcg@10"], 4), "int8": round(per["int8"][v]["ndcg@10"], 4),
                             "delta": round(per["int8"][v]["ndcg@10"] - per["fp32"][v]["ndcg@10"], 4)}
                         for v in per["fp32"]}
    import onnxruntime

    out: dict[str, object] = {
        "passed": passed, "reason": "; ".join(reasons), "tolerance": tolerance, "gated_variants": list(GATED_VARIANTS),
        "metric": "ndcg@10", "sets": results, "limit_demands": limit,
        "int8_sha256": onnx_backend.recorded_sha256(int8_file), "fp32_sha256": onnx_backend.recorded_sha256(fp32_file),
        "keep_fp32": list(onnx_backend.INT8_KEEP_FP32), "onnxruntime": onnxruntime.__version__,
        "measured": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%MZ"),
    }
    target = record or onnx_backend.gate_record_path()
    target.write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n")
    log(f"gate {'passed' if passed else 'FAILED'}; record written to {target}")
    return out
