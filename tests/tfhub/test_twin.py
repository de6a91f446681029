"""The TF Hub importer on the synthetic twin (docs/import-tfhub.md): kse,
through its C ABI (the Python binding over libkse), against what the twin's own
TensorFlow SavedModels give (tests/tfhub/make_reference.py).

Needs `make tfhub-twin`. Paths: KSE_TWIN_DIR (default target/tfhub-twin),
KSE_LIBRARY (default target/release/libkse.so).
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bindings" / "python"))
TWIN = Path(os.environ.get("KSE_TWIN_DIR", REPO / "target" / "tfhub-twin"))
LIBRARY = Path(os.environ.get("KSE_LIBRARY", REPO / "target" / "release" / "libkse.so"))
SEQ_LENGTH = 128
TOLERANCE = 1e-4


def need(path: Path) -> Path:
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make tfhub-twin`")
    return path


@pytest.fixture(scope="module")
def reference():
    ref = need(TWIN / "reference")
    sentences = json.loads((ref / "sentences.json").read_text(encoding="utf-8"))
    ids = json.loads((ref / "ids.json").read_text(encoding="utf-8"))
    emb = np.load(ref / "embeddings.npy").astype(np.float64)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    n = len(sentences["dev"])
    return {"sentences": sentences, "ids": ids, "dev_emb": emb[:n], "long_emb": emb[n:]}


@pytest.fixture(scope="module")
def encoder():
    import kse

    kse.load_library(need(LIBRARY))
    with kse.Encoder(need(TWIN / "model"), intra_threads=2) as enc:
        yield enc


def test_reference_covers_the_dev_set_and_long_sentences(reference):
    assert len(reference["sentences"]["dev"]) == 3000
    long_ids = reference["ids"]["long"]
    assert sum(len(r) == SEQ_LENGTH for r in long_ids) >= 10, "some long sentences must be cut at 128 tokens"
    assert any(len(r) < SEQ_LENGTH for r in long_ids), "and some must fit"


def test_manifest_is_what_the_importer_promises():
    m = json.loads(need(TWIN / "model" / "kse.json").read_text(encoding="utf-8"))
    assert m["input_type"] == "int32"
    assert m["inputs"] == {"input_ids": "input_word_ids", "attention_mask": "input_mask", "token_type_ids": None}
    assert (m["pooling"], m["normalize"], m["dim"], m["max_tokens"], m["prefix"]) == ("none", True, 768, SEQ_LENGTH, "")
    tok = json.loads((TWIN / "model" / "tokenizer.json").read_text(encoding="utf-8"))
    assert (tok["padding"]["pad_id"], tok["padding"]["pad_token"]) == (1, "[PAD]"), "kse pads with [PAD], as TF does"


def test_token_ids_equal_tf_preprocess_on_every_dev_sentence(reference, encoder):
    got = [encoder.tokenize(s) for s in reference["sentences"]["dev"]]
    bad = [(s, want, mine) for s, want, mine in zip(reference["sentences"]["dev"], reference["ids"]["dev"], got)
           if mine != want]
    assert not bad, f"{len(bad)} of 3000 differ; first: {bad[0]}"


def test_long_sentences_are_cut_like_tf(reference, encoder):
    for s, want in zip(reference["sentences"]["long"], reference["ids"]["long"]):
        got = encoder.tokenize(s)
        assert got == want, s[:80]
        assert len(got) <= SEQ_LENGTH


def test_embeddings_equal_tf_on_every_dev_sentence(reference, encoder):
    got = encoder.encode(reference["sentences"]["dev"]).astype(np.float64)
    diff = np.abs(got - reference["dev_emb"]).max()
    print(f"max abs difference per component, 3000 KorSTS dev sentences: {diff:.2e}")
    assert diff <= TOLERANCE
    # The comparison can fail: the vectors differ between sentences by far more.
    assert np.abs(reference["dev_emb"][0] - reference["dev_emb"][1]).max() > 100 * TOLERANCE


def test_embeddings_of_cut_sentences_equal_tf(reference, encoder):
    got = encoder.encode(reference["sentences"]["long"]).astype(np.float64)
    assert np.abs(got - reference["long_emb"]).max() <= TOLERANCE


def test_batching_does_not_change_the_vectors(reference, encoder):
    sentences = reference["sentences"]["dev"][:64]
    one_by_one = np.stack([encoder.encode([s])[0] for s in sentences]).astype(np.float64)
    assert np.abs(one_by_one - reference["dev_emb"][:64]).max() <= TOLERANCE


def test_import_report_records_the_checks():
    report = json.loads(need(TWIN / "model" / "import-report.json").read_text(encoding="utf-8"))
    assert report["checks"]["token_ids_equal"] is True
    assert report["checks"]["max_abs_diff_normalized"] <= TOLERANCE
    assert report["sentencepiece"]["pieces"] == 8002
    assert report["packing"] == {"seq_length": 128, "cls_id": 2, "sep_id": 3, "pad_id": 1, "type_ids": False}
    sums = dict(reversed(line.split("  ")) for line in (TWIN / "model" / "SHA256SUMS").read_text().splitlines())
    assert set(sums) == {"kse.json", "model.onnx", "tokenizer.json"}


def test_the_card_matrix_check_accepts_the_card_and_rejects_others():
    sys.path.insert(0, str(REPO / "importers" / "tfhub"))
    import check_card_matrix as card

    printed = "model x (kse 0.2.0), 768-d, 99 tokens\n" + "\n".join(
        "[" + " ".join(f"{v:11.8f}" for v in row) + "]" for row in card.CARD)
    assert card.compare(card.parse(printed), 1e-4)[0]
    off = printed.replace("0.68404090", "0.68454090")
    assert off != printed
    ok, worst, message = card.compare(card.parse(off), 1e-4)
    assert not ok and abs(worst - 5e-4) < 1e-6 and "row 2, column 2" in message
    assert not card.compare(card.parse(printed.rsplit("\n", 1)[0]), 1e-4)[0]
