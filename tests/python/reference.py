"""Independent Python reference pipeline for kse model directories.

Reads a model directory (kse.json + tokenizer.json + model.onnx) and embeds sentences
with the Python `tokenizers` package and onnxruntime, exactly as the manifest says.
Uses nothing from the Rust library; the tests compare the library against this.

    m = load("models/multilingual-e5-small")
    vecs = embed(m, ["안녕하세요"])            # float32 [n, dim]
    pairs = read_korsts(".../sts-dev.tsv")     # [(s1, s2, score)]
    spearman(pred, gold)
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MANIFEST = "kse.json"
_PAD_TOKENS = ("<pad>", "[PAD]")


@dataclass
class Model:
    dir: Path
    manifest: dict
    tokenizer: object  # tokenizers.Tokenizer (truncation on, padding off)
    session: object  # onnxruntime.InferenceSession
    pad_id: int


def load(model_dir: str | Path, threads: int = 2, session_config: dict[str, str] | None = None) -> Model:
    """Load a kse model directory.

    session_config: extra onnxruntime session config entries, e.g.
    {"session.qdq_matmulnbits_accuracy_level": "0"} to keep INT4 MatMuls in float
    (ORT's default, level 4, quantises activations to int8 in the fused MatMulNBits).
    """
    import onnxruntime as ort
    from tokenizers import Tokenizer

    model_dir = Path(model_dir)
    with open(model_dir / MANIFEST, encoding="utf-8") as f:
        man = json.load(f)
    if man.get("format") != "kse-model/1":
        raise ValueError(f"{model_dir / MANIFEST}: format {man.get('format')!r}, expected 'kse-model/1'")
    if man["pooling"] not in ("mean", "cls", "none"):
        raise ValueError(f"{model_dir / MANIFEST}: unknown pooling {man['pooling']!r}")
    if man.get("unicode_normalization", "nfc") not in ("nfc", "none"):
        raise ValueError(f"{model_dir / MANIFEST}: unknown unicode_normalization {man['unicode_normalization']!r}")
    if man["input_type"] not in ("int64", "int32"):
        raise ValueError(f"{model_dir / MANIFEST}: unknown input_type {man['input_type']!r}")

    tok = Tokenizer.from_file(str(model_dir / man["tokenizer"]))
    tok.no_padding()
    tok.enable_truncation(max_length=int(man["max_tokens"]))
    pad_id = next((i for t in _PAD_TOKENS if (i := tok.token_to_id(t)) is not None), 0)

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    for k, v in (session_config or {}).items():
        so.add_session_config_entry(k, v)
    sess = ort.InferenceSession(str(model_dir / man["graph"]), so, providers=["CPUExecutionProvider"])
    return Model(model_dir, man, tok, sess, pad_id)


def normalized(model: Model, sentence: str) -> str:
    """The sentence as the manifest's unicode_normalization (default "nfc") wants it,
    by CPython's unicodedata."""
    if model.manifest.get("unicode_normalization", "nfc") == "nfc":
        return unicodedata.normalize("NFC", sentence)
    return sentence


def token_ids(model: Model, sentences: list[str]) -> list[list[int]]:
    """Token ids per sentence: Unicode-normalised as the manifest says, prefix
    prepended, specials added, truncated to max_tokens."""
    prefix = model.manifest.get("prefix") or ""
    encs = model.tokenizer.encode_batch([prefix + normalized(model, s) for s in sentences], add_special_tokens=True)
    return [list(e.ids) for e in encs]


def feeds(model: Model, ids: list[list[int]]) -> dict:
    """Graph inputs for one batch: ids padded to the longest with the pad id, mask, zero type ids."""
    man = model.manifest
    dtype = np.int64 if man["input_type"] == "int64" else np.int32
    n, seq = len(ids), max(len(x) for x in ids)
    input_ids = np.full((n, seq), model.pad_id, dtype=dtype)
    mask = np.zeros((n, seq), dtype=dtype)
    for i, x in enumerate(ids):
        input_ids[i, : len(x)] = x
        mask[i, : len(x)] = 1
    out = {man["inputs"]["input_ids"]: input_ids, man["inputs"]["attention_mask"]: mask}
    if man["inputs"].get("token_type_ids"):
        out[man["inputs"]["token_type_ids"]] = np.zeros((n, seq), dtype=dtype)
    return out


def _run(model: Model, ids: list[list[int]]) -> np.ndarray:
    man = model.manifest
    n = len(ids)
    feed = feeds(model, ids)
    mask = feed[man["inputs"]["attention_mask"]]
    (out,) = model.session.run([man["output"]], feed)
    out = out.astype(np.float32)

    if man["pooling"] == "none":
        vec = out
    elif man["pooling"] == "cls":
        vec = out[:, 0, :]
    else:  # mean over the attention mask, accumulated in float64
        m = mask.astype(np.float64)[:, :, None]
        vec = (out.astype(np.float64) * m).sum(axis=1) / m.sum(axis=1)
    vec = np.asarray(vec, dtype=np.float64)
    if vec.shape != (n, int(man["dim"])):
        raise ValueError(f"output {man['output']} pooled to {vec.shape}, manifest dim {man['dim']}")
    if man["normalize"]:
        vec = vec / np.maximum(np.linalg.norm(vec, axis=1, keepdims=True), 1e-12)
    return vec.astype(np.float32)


def embed(model: Model, sentences: list[str], batch_size: int = 32) -> np.ndarray:
    """float32 [n, dim] sentence vectors; each batch padded to its longest sequence."""
    ids = token_ids(model, sentences)
    dim = int(model.manifest["dim"])
    out = np.zeros((len(ids), dim), dtype=np.float32)
    for start in range(0, len(ids), batch_size):
        out[start : start + batch_size] = _run(model, ids[start : start + batch_size])
    return out


def read_korsts(path: str | Path) -> list[tuple[str, str, float]]:
    """KorSTS tsv -> [(sentence1, sentence2, score)].

    The files are NOT quoted: sentences contain '"' characters, so csv readers that
    honour quotes merge lines.  Split each line on tabs only.
    """
    pairs = []
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\r\n").split("\t")
        col = {name: i for i, name in enumerate(header)}
        for key in ("score", "sentence1", "sentence2"):
            if key not in col:
                raise ValueError(f"{path}: header lacks column {key!r}")
        for lineno, line in enumerate(f, start=2):
            line = line.rstrip("\r\n")
            if not line:
                continue
            parts = line.split("\t")
            if len(parts) != len(header):
                raise ValueError(f"{path}:{lineno}: {len(parts)} fields, expected {len(header)}")
            pairs.append((parts[col["sentence1"]], parts[col["sentence2"]], float(parts[col["score"]])))
    return pairs


def _average_ranks(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x), dtype=np.float64)
    sx = x[order]
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and sx[j + 1] == sx[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0  # average of 1-based ranks i+1..j+1
        i = j + 1
    return ranks


def spearman(a, b) -> float:
    """Spearman rank correlation (Pearson on average ranks; ties get their mean rank)."""
    ra, rb = _average_ranks(a), _average_ranks(b)
    if len(ra) != len(rb) or len(ra) < 2:
        raise ValueError("spearman needs two sequences of equal length >= 2")
    ra -= ra.mean()
    rb -= rb.mean()
    return float((ra * rb).sum() / np.sqrt((ra * ra).sum() * (rb * rb).sum()))


def korsts_spearman(model: Model, path: str | Path, batch_size: int = 32) -> float:
    """Spearman x100 of cosine similarity vs gold scores on a KorSTS file."""
    pairs = read_korsts(path)
    v1 = embed(model, [p[0] for p in pairs], batch_size)
    v2 = embed(model, [p[1] for p in pairs], batch_size)
    if not model.manifest["normalize"]:
        v1 = v1 / np.linalg.norm(v1, axis=1, keepdims=True)
        v2 = v2 / np.linalg.norm(v2, axis=1, keepdims=True)
    cos = (v1.astype(np.float64) * v2.astype(np.float64)).sum(axis=1)
    return 100.0 * spearman(cos, [p[2] for p in pairs])


def main(argv: list[str] | None = None) -> int:
    """python tests/python/reference.py MODEL_DIR [--korsts sts-dev.tsv] [--config KEY=VALUE ...]"""
    import argparse
    import time

    ap = argparse.ArgumentParser(description="KorSTS Spearman x100 of a kse model directory (reference pipeline).")
    ap.add_argument("model_dir", type=Path)
    ap.add_argument("--korsts", type=Path, default=Path(__file__).resolve().parents[3] / "shared/data/korsts/sts-dev.tsv")
    ap.add_argument("--config", action="append", default=[], help="onnxruntime session config KEY=VALUE")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=32)
    args = ap.parse_args(argv)
    cfg = dict(kv.split("=", 1) for kv in args.config)
    t0 = time.perf_counter()
    model = load(args.model_dir, threads=args.threads, session_config=cfg)
    t1 = time.perf_counter()
    pairs = read_korsts(args.korsts)
    sents = [s for p in pairs for s in p[:2]]
    t2 = time.perf_counter()
    vecs = embed(model, sents, args.batch_size)
    t3 = time.perf_counter()
    v1, v2 = vecs[0::2].astype(np.float64), vecs[1::2].astype(np.float64)
    cos = (v1 * v2).sum(1) / (np.linalg.norm(v1, axis=1) * np.linalg.norm(v2, axis=1))
    rho = 100.0 * spearman(cos, [p[2] for p in pairs])
    print(f"{model.manifest['name']} {cfg or ''}: KorSTS {args.korsts.name} Spearman x100 = {rho:.2f} "
          f"({len(pairs)} pairs); load {t1 - t0:.1f} s, embed {len(sents)} sentences {t3 - t2:.1f} s "
          f"({args.threads} threads, batch {args.batch_size})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
