"""An ONNX Runtime encoding backend for sentence-transformers directories (Transformer → mean pooling).

Why: on this 2-core CPU the torch path spends its time in Python dispatch and un-fused kernels for
short inputs (one demand ≈ 20 ms); ONNX Runtime runs the same float32 graph with its own fusions
(≈ 13 ms), and an int8 graph (per-channel weights, dynamically quantised activations through
VNNI/AMX) encodes ≈ 1.6× more profiles per second. The float32 export is numerically the torch model
(cosine ≥ 0.999 99 on Chinese profiles); the int8 one changes the vectors, so it has a model id of
its own and is used only when its quality gate passed (``matcher/engine/quality_gate.py``).

The graph includes mean pooling and L2 normalisation, so one ``run`` gives the final vectors.
Export uses torch's TorchScript-based exporter (no extra packages); quantisation uses
``onnxruntime.quantization`` (the kept library for it). Files live beside the model directory
(``<model>/onnx/``), are built on first use and carry a metadata file; a mismatch rebuilds them.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from matcher.engine.index import sha256_file

log = logging.getLogger(__name__)

#: Bump when the export or the quantisation recipe changes: cached files are then rebuilt.
ONNX_FORMAT_VERSION = 1
OPSET = 17
FP32_FILE = "model.onnx"
INT8_FILE = "model_int8.onnx"
META_FILE = "onnx.json"

#: Nodes kept in float32 in the int8 graph. Chosen by measurement (docs in models/README.md): none
#: needed to pass the gate, so the list is empty; it stays a parameter of ``quantize_int8``.
INT8_KEEP_FP32: tuple[str, ...] = ()


def onnx_dir(model_dir: Path) -> Path:
    return model_dir / "onnx"


def _read_meta(directory: Path) -> dict[str, object]:
    try:
        meta = json.loads((directory / META_FILE).read_text())
        return meta if isinstance(meta, dict) else {}
    except (OSError, ValueError):
        return {}


def _write_meta(directory: Path, meta: dict[str, object]) -> None:
    tmp = directory / f"{META_FILE}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(meta, indent=2, sort_keys=True))
    os.replace(tmp, directory / META_FILE)


def _source_stamp(model_dir: Path) -> str:
    """What the export was made from: the converted weights' marker, or the weights file's size+mtime."""
    marker = model_dir / "CONVERTED_FROM"
    if marker.exists():
        return marker.read_text()
    weights = model_dir / "model.safetensors"
    st = weights.stat() if weights.exists() else None
    return f"{weights.name}:{st.st_size}:{int(st.st_mtime)}" if st else "unknown"


def export_fp32(model_dir: Path, target: Path) -> Path:
    """Trace the Hugging Face encoder with mean pooling and normalisation into one float32 graph."""
    import torch
    from transformers import AutoModel

    pooling = json.loads((model_dir / "1_Pooling" / "config.json").read_text()) \
        if (model_dir / "1_Pooling" / "config.json").exists() else {"pooling_mode_mean_tokens": True}
    if not pooling.get("pooling_mode_mean_tokens"):
        raise ValueError(f"{model_dir}: only mean-pooling models are exported to ONNX")
    model = AutoModel.from_pretrained(str(model_dir), dtype=torch.float32, attn_implementation="eager").eval()

    class Pooled(torch.nn.Module):
        def __init__(self, encoder: torch.nn.Module) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, dim=-1)

    ids = torch.tensor([[0, 6, 7, 2], [0, 6, 2, 1]], dtype=torch.long)
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]], dtype=torch.long)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    with torch.no_grad():
        torch.onnx.export(Pooled(model), (ids, mask), str(tmp), input_names=["input_ids", "attention_mask"],
                          output_names=["embedding"], opset_version=OPSET, dynamo=False,
                          dynamic_axes={"input_ids": {0: "batch", 1: "tokens"},
                                        "attention_mask": {0: "batch", 1: "tokens"}, "embedding": {0: "batch"}})
    os.replace(tmp, target)
    return target


def quantize_int8(fp32: Path, target: Path, keep_fp32: Sequence[str] = INT8_KEEP_FP32,
                  activations: bool = True) -> Path:
    """Dynamic int8: per-channel symmetric int8 weights, activations quantised per batch at run time.

    ``keep_fp32``: substrings of node names left in float32 (e.g. ``"layer.11/output"``).
    ``activations``: also quantise the activation×activation MatMuls of attention (Q·Kᵀ, P·V)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model = onnx.load(str(fp32))
    weights = {init.name for init in model.graph.initializer}
    nodes = [n.name for n in model.graph.node if n.op_type == "MatMul"
             and (activations or any(i in weights for i in n.input))
             and not any(k in n.name for k in keep_fp32)]
    tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    quantize_dynamic(str(fp32), str(tmp), per_channel=True, weight_type=QuantType.QInt8, nodes_to_quantize=nodes,
                     op_types_to_quantize=["MatMul"])
    os.replace(tmp, target)
    return target


def ensure_onnx(model_dir: Path, int8: bool = False) -> Path:
    """The ONNX file for ``model_dir`` (float32, or int8 when asked), exported/quantised on first use."""
    directory = onnx_dir(model_dir)
    directory.mkdir(parents=True, exist_ok=True)
    meta = _read_meta(directory)
    stamp = {"format_version": ONNX_FORMAT_VERSION, "source": _source_stamp(model_dir)}
    fresh = all(meta.get(k) == v for k, v in stamp.items())
    fp32 = directory / FP32_FILE
    if not (fresh and fp32.exists() and meta.get("fp32_sha256")):
        log.info("exporting %s to ONNX", model_dir)
        export_fp32(model_dir, fp32)
        meta = {**stamp, "opset": OPSET, "fp32_sha256": sha256_file(fp32)}
        _write_meta(directory, meta)
    if not int8:
        return fp32
    q = directory / INT8_FILE
    if not (q.exists() and meta.get("int8_sha256") and meta.get("int8_keep_fp32") == list(INT8_KEEP_FP32)):
        log.info("quantising %s to int8", fp32)
        quantize_int8(fp32, q)
        meta = {**meta, "int8_sha256": sha256_file(q), "int8_keep_fp32": list(INT8_KEEP_FP32)}
        _write_meta(directory, meta)
    return q


def recorded_sha256(path: Path) -> str:
    """The SHA-256 recorded when ``path`` (an ONNX file of ours) was written; hashing 400 MB at every
    start would cost a second."""
    meta = _read_meta(path.parent)
    key = "int8_sha256" if path.name == INT8_FILE else "fp32_sha256"
    value = meta.get(key)
    return value if isinstance(value, str) else sha256_file(path)


class OnnxEmbedder:
    """Encodes with an ONNX Runtime session: texts sorted by length and batched (little padding), the
    fast ``tokenizers`` tokenizer, prompts and maximum length from the sentence-transformers files."""

    def __init__(self, model_dir: Path, onnx_file: Path, model_id: str, batch_size: int = 16,
                 threads: int | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        cfg_path = model_dir / "config_sentence_transformers.json"
        prompts = json.loads(cfg_path.read_text()).get("prompts", {}) if cfg_path.exists() else {}
        self.query_prompt: str = prompts.get("query", "")
        self.passage_prompt: str = prompts.get("passage", "")
        st_cfg = model_dir / "sentence_bert_config.json"
        max_len = int(json.loads(st_cfg.read_text()).get("max_seq_length", 512)) if st_cfg.exists() else 512
        self._tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._tok.enable_truncation(max_length=max_len)
        pad = self._tok.token_to_id("<pad>")
        self._tok.enable_padding(pad_id=pad if pad is not None else 0, pad_token="<pad>")
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads or min(4, os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        # No busy-waiting between runs: spinning ORT threads would take the cores from the FAISS search
        # and the ranking that follow an encoding in the same request.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
        self.dim = int(self._session.get_outputs()[0].shape[-1])
        self.model_id = model_id
        self.batch_size = batch_size
        self.onnx_file = onnx_file
        self._lock = threading.Lock()  # one run at a time: two would only fight for the same two cores

    def _encode(self, texts: Sequence[str], prompt: str) -> np.ndarray:
        clean = [prompt + t.strip() for t in texts]
        out = np.empty((len(clean), self.dim), dtype=np.float32)
        order = sorted(range(len(clean)), key=lambda i: -len(clean[i]))
        with self._lock:
            for start in range(0, len(order), self.batch_size):
                idx = order[start:start + self.batch_size]
                batch = self._tok.encode_batch([clean[i] for i in idx])
                ids = np.asarray([e.ids for e in batch], dtype=np.int64)
                mask = np.asarray([e.attention_mask for e in batch], dtype=np.int64)
                out[idx] = self._session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        return out

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self.query_prompt)

    def encode_passages(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        return self._encode(texts, self.passage_prompt)


def gate_record_path() -> Path:
    """The int8 quality gate's record, kept in git beside the model card: the export and quantisation
    are deterministic, so the file measured here is the file a fresh install builds (its SHA-256 says so)."""
    from matcher.config import PROJECT_ROOT

    return PROJECT_ROOT / "models" / "int8-gate.json"


def gate_verdict(int8_sha256: str, record: Path | None = None) -> bool | str:
    """True when the gate passed for exactly this int8 file, else the reason it may not be used."""
    path = record or gate_record_path()
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return f"no gate record at {path}"
    if data.get("int8_sha256") != int8_sha256:
        return "the gate was measured on a different int8 file"
    if not data.get("passed"):
        return "the gate failed: " + str(data.get("reason", "nDCG@10 fell too far"))
    return True
