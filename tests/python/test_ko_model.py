"""The committed default model, models/kse-ko-small, against its recipe (MODEL.md).

Checks what can be checked without PyTorch: the files and their checksums, the
size limit, the manifest, that tools/prune_vocab.py rebuilds the committed
tokenizer byte for byte, that the embedding table is exactly e5-small's INT4
rows for that vocabulary, that the matrices are weight-only int8 (no
activation quantisation), the int8 quantiser itself, that export_ko.py reads
the model back exactly (how the recipe's soup takes in the round-1 model), and
MODEL.md's four numbers through the library.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from conftest import DATA_DIR, REPO, committed_model_bytes, require

sys.path.insert(0, str(REPO / "tools"))
import e5s1  # noqa: E402
from convert_e5s1 import Q8_BLOCK, quantize_q8  # noqa: E402

KO = REPO / "models" / "kse-ko-small"
E5_SRC = REPO / ".cache" / "models-src"
MAX_BYTES = 40_000_000


def test_files_match_their_checksums_and_fit_40_mb():
    total = committed_model_bytes(KO)
    assert total <= MAX_BYTES, f"models/kse-ko-small is {total} bytes, over {MAX_BYTES}"


def test_manifest():
    m = json.loads((KO / "kse.json").read_text())
    assert (m["name"], m["dim"], m["pooling"], m["normalize"], m["prefix"], m["max_tokens"]) == (
        "kse-ko-small", 384, "mean", True, "query: ", 512)
    assert any("KorSTS" in a and "CC BY-SA 4.0" in a for a in m["attribution"])
    assert any("KLUE NLI" in a and "PAWS-X" in a for a in m["attribution"])  # the round-2 data (MODEL.md)


def prune(out: Path, *corpus: Path) -> str:
    """tools/prune_vocab.py on e5-small's tokenizer: over `corpus`, or without one over all the recipe's
    training text (../shared/data), as `make ko-model` runs it; returns its report."""
    tok = require(E5_SRC / "tokenizer.json", "e5 tokenizer.json (make setup-dev)")
    args = ["--corpus", *map(str, corpus)] if corpus else ["--data-dir", str(DATA_DIR)]
    return subprocess.run([sys.executable, str(REPO / "tools" / "prune_vocab.py"), "--tokenizer", str(tok),
                           "--out", str(out), *args, "--check"], check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def pruned(tmp_path_factory):
    """The shipped model's vocabulary, pruned again: every piece all its training text uses."""
    require(DATA_DIR / "klue-nli" / "train.tsv", "KLUE NLI (../shared/data)")
    out = tmp_path_factory.mktemp("prune")
    report = prune(out)
    assert "all training text: 0 of " in report, report  # every sentence tokenises as with the full vocabulary
    return out


def test_vocabulary_grew_by_the_pieces_of_the_new_training_text(pruned, tmp_path):
    """The STS text alone (the round-1 model's corpus) keeps 26,216 pieces; the NLI and paraphrase text adds 1,166."""
    prune(tmp_path, DATA_DIR / "korsts" / "sts-train.tsv", DATA_DIR / "klue-sts" / "klue_sts_train.csv")
    sts_only = json.loads((tmp_path / "vocab-map.json").read_text())["kept_pieces"]
    kept = json.loads((pruned / "vocab-map.json").read_text())["kept_pieces"]
    assert (sts_only, kept) == (26216, 27382)


def test_prune_vocab_rebuilds_the_committed_tokenizer(pruned):
    assert (pruned / "tokenizer.json").read_bytes() == (KO / "tokenizer.json").read_bytes()


def test_training_sentences_tokenise_as_with_the_full_vocabulary(pruned):
    from tokenizers import Tokenizer

    sys.path.insert(0, str(REPO / "tools"))
    from sts_data import read_pairs

    full = Tokenizer.from_file(str(E5_SRC / "tokenizer.json"))
    small = Tokenizer.from_file(str(KO / "tokenizer.json"))
    rows = json.loads((pruned / "vocab-map.json").read_text())["base_rows"]
    pairs = read_pairs(DATA_DIR / "korsts" / "sts-train.tsv")[:500]
    texts = [s for a, b, _ in pairs for s in (a, b)] + ["Hello, world! 2024년 KLUE", "한국어 문장 임베딩"]
    for text, a, b in zip(texts, full.encode_batch(texts), small.encode_batch(texts)):
        assert [rows[i] for i in b.ids] == a.ids, text
    # a text outside the training data may be cut into smaller pieces, never into unknowns that were known
    exotic = "Kubernetes 클러스터에서 PostgreSQL 복제본을 늘렸다"
    a, b = full.encode(exotic), small.encode(exotic)
    unk = small.token_to_id("<unk>")
    assert unk not in b.ids and len(b.ids) >= len(a.ids)


@pytest.fixture(scope="module")
def graph():
    return onnx.load(str(KO / "model.onnx"))


def test_embedding_is_e5_int4_rows_exactly(pruned, graph):
    f = e5s1.open_e5s1(require(E5_SRC / "e5-small-q4.bin", "e5-small E5S1 file (make setup-dev)"))
    rows = np.array(json.loads((pruned / "vocab-map.json").read_text())["base_rows"])
    inits = {t.name: t for t in graph.graph.initializer}
    q, s = f.int4("emb.word")
    scales = numpy_helper.to_array(inits["emb.word.scale"])
    np.testing.assert_array_equal(scales, s[rows])
    packed = np.frombuffer(inits["emb.word.q"].raw_data, np.uint8)
    want = q[rows].reshape(-1).view(np.uint8) & 0x0F
    got = np.empty(packed.size * 2, np.uint8)
    got[0::2], got[1::2] = packed & 0x0F, packed >> 4
    np.testing.assert_array_equal(got[: want.size], want)


def test_export_reads_the_committed_model_back_byte_for_byte(pruned, tmp_path):
    """export_ko.py --weights MODEL_DIR (how the soup takes in the round-1 model) recovers the exact weights:
    exporting them again writes the committed model.onnx; a directory of another base model is refused."""
    e5 = require(E5_SRC / "e5-small-q4.bin", "e5-small E5S1 file (make setup-dev)")
    cmd = [sys.executable, str(REPO / "tools" / "export_ko.py"), "--prune", str(pruned), "--e5s1", str(e5),
           "--extra-data"]
    subprocess.run(cmd + ["--weights", str(KO), "--out", str(tmp_path / "again")], check=True, capture_output=True)
    for name in ("model.onnx", "tokenizer.json"):
        assert (tmp_path / "again" / name).read_bytes() == (KO / name).read_bytes(), name
    r = subprocess.run(cmd + ["--weights", str(REPO / "models" / "multilingual-e5-small"), "--out", str(tmp_path / "x")],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "export_ko: error:" in r.stderr, r.stderr
    assert not (tmp_path / "x").exists()


def test_weights_only_quantisation(graph):
    ops = {(n.domain or "ai.onnx", n.op_type) for n in graph.graph.node}
    forbidden = {"DynamicQuantizeLinear", "MatMulInteger", "QLinearMatMul", "DynamicQuantizeMatMul",
                 "MatMulIntegerToFloat", "MatMulNBits", "QuantizeLinear"}
    assert not {op for _, op in ops} & forbidden, sorted(ops)
    int8 = [t for t in graph.graph.initializer if t.data_type == onnx.TensorProto.INT8]
    assert len(int8) == 12 * 6, "one int8 tensor per transformer matrix"
    stored = sum(np.prod(t.dims) for t in int8)
    assert stored == 12 * (4 * 384 * 384 + 2 * 384 * 1536)


def test_quantize_q8_bounds_and_zero_blocks():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(8, 4 * Q8_BLOCK)).astype(np.float32)
    w[0, :Q8_BLOCK] = 0
    q = quantize_q8(w)
    again = quantize_q8(w)
    np.testing.assert_array_equal(q.q, again.q)
    back = (q.q.reshape(8, 4, Q8_BLOCK).astype(np.float32) * q.scales[..., None]).reshape(w.shape)
    err = np.abs(back - w).reshape(8, 4, Q8_BLOCK).max(axis=2)
    assert (err <= q.scales / 2 + 1e-7).all()
    assert (back[0, :Q8_BLOCK] == 0).all() and q.scales[0, 0] == 0
    assert np.abs(q.q).max() == 127


def test_training_batches_cover_every_pair_once_and_are_seeded():
    import train_ko  # PyTorch is imported only when training runs

    lengths = list(np.random.default_rng(1).integers(5, 80, size=1003))
    a = train_ko.batches(np.random.default_rng(0), lengths, 16)
    b = train_ko.batches(np.random.default_rng(0), lengths, 16)
    c = train_ko.batches(np.random.default_rng(1), lengths, 16)
    assert [x.tolist() for x in a] == [x.tolist() for x in b]
    assert [x.tolist() for x in a] != [x.tolist() for x in c]
    flat = np.concatenate(a)
    assert sorted(flat.tolist()) == list(range(1003)) and all(len(x) <= 16 for x in a)
    # pools are length-sorted: a batch's lengths span much less than the data's
    spans = [np.ptp([lengths[i] for i in x]) for x in a if len(x) == 16]
    assert np.median(spans) < 10


def test_training_stage_spec():
    import train_ko

    st = train_ko.Stage.parse("korsts+klue:cosent:1:3e-5")
    assert (st.data, st.loss, st.epochs, st.lr) == (["korsts", "klue"], "cosent", 1, 3e-5)
    st = train_ko.Stage.parse("nli+stylekqc+parakqc+qpair+pawsx:mnrl:1:3e-5")
    assert (st.data, st.loss) == (["nli", "stylekqc", "parakqc", "qpair", "pawsx"], "mnrl")
    for bad in ("korsts:cosent:1", "nli:mse:1:1e-5", "korsts:hinge:1:1e-5", "korsts:mse:0:1e-5", "korsts:mnrl:1:1e-5",
                "nli+sae4k:mnrl:1:1e-5"):
        with pytest.raises(SystemExit):
            train_ko.Stage.parse(bad)


# MODEL.md's four numbers for the committed model (tools/eval_ko.py, through the library).
PUBLISHED = {"korsts-dev": 85.54, "klue-slice": 94.90, "stylekqc-sts": 99.996, "pawsx-test": 53.341}


def test_published_checks_through_the_library():
    """KorSTS dev, the held-out KLUE slice, StyleKQC sts-dev and PAWS-X-ko test as MODEL.md states them."""
    import kse

    sys.path.insert(0, str(REPO / "tools"))
    from ko_data import evaluate

    require(DATA_DIR / "paws-x-ko" / "test.tsv", "PAWS-X-ko (../shared/data)")
    with kse.Encoder(str(KO), intra_threads=2) as enc:
        got = evaluate(enc.encode, DATA_DIR)
    for name, want in PUBLISHED.items():
        assert abs(got[name] - want) <= 0.02, (name, got[name], want)
