"""importers/tfhub/import_tfhub.py refuses what it cannot convert faithfully, says what it
found, and writes nothing; and converts a bare BERT-style encoder when told
which output is the sentence vector.

Runs in the TF venv (make test-tfhub): builds tiny encoders with the twin
builder's own code; uses the twin's preprocess model (make tfhub-twin).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))
sys.path.insert(0, str(REPO / "bindings" / "python"))
TWIN = Path(os.environ.get("KSE_TWIN_DIR", REPO / "target" / "tfhub-twin"))
LIBRARY = Path(os.environ.get("KSE_LIBRARY", REPO / "target" / "release" / "libkse.so"))
TOOL = REPO / "importers" / "tfhub" / "import_tfhub.py"


def preprocess_dir() -> Path:
    path = TWIN / "src" / "preprocess"
    if not (path / "saved_model.pb").exists():
        pytest.fail(f"{path} is missing: run `make tfhub-twin`")
    return path


def tiny_encoder(out: Path, vocab: int = 8002, outputs: str = "cls") -> Path:
    import make_tfhub_twin

    make_tfhub_twin.build_encoder(out, seed=7, vocab=vocab, hidden=32, layers=1, heads=2, ffn=64, outputs=outputs)
    return out


def run_import(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(TOOL), *map(str, args)], capture_output=True, text=True)


@pytest.fixture(scope="module")
def bare_encoder(tmp_path_factory):
    return tiny_encoder(tmp_path_factory.mktemp("enc") / "bare", outputs="dict")


def test_an_encoder_with_another_vocabulary_is_refused(tmp_path):
    enc = tiny_encoder(tmp_path / "enc", vocab=1000)
    out = tmp_path / "model"
    r = run_import(enc, preprocess_dir(), "-o", out)
    assert r.returncode == 1, r.stderr
    assert "1000 rows" in r.stderr and "8002 pieces" in r.stderr, r.stderr
    assert "nothing written" in r.stderr
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".model.")], "staging left behind"


def test_several_outputs_need_output_and_are_named(bare_encoder, tmp_path):
    r = run_import(bare_encoder, preprocess_dir(), "-o", tmp_path / "model")
    assert r.returncode == 1
    assert "pooled_output" in r.stderr and "sequence_output" in r.stderr and "--output" in r.stderr, r.stderr
    r = run_import(bare_encoder, preprocess_dir(), "-o", tmp_path / "model", "--output", "sequence_output")
    assert r.returncode == 1 and "expected float [batch, dim]" in r.stderr, r.stderr
    assert not (tmp_path / "model").exists()


def test_the_chosen_output_is_converted_and_kse_matches_tensorflow(bare_encoder, tmp_path):
    import tensorflow as tf
    import tensorflow_text  # noqa: F401

    out = tmp_path / "model"
    r = run_import(bare_encoder, preprocess_dir(), "-o", out, "--output", "pooled_output", "--name", "tiny")
    assert r.returncode == 0, r.stderr
    sentences = ["다만, 도로와 인접해서 거리의 소음이 들려요.", "가족 모임 일정은 바꾸지 말도록 하십시오.", "짧다"]
    pre, enc = tf.saved_model.load(str(preprocess_dir())), tf.saved_model.load(str(bare_encoder))
    want = enc(pre(tf.constant(sentences)))["pooled_output"].numpy().astype(np.float64)
    want /= np.linalg.norm(want, axis=1, keepdims=True)

    import kse

    kse.load_library(LIBRARY)
    with kse.Encoder(out) as e:
        assert (e.dim, e.max_tokens, e.name) == (32, 128, "tiny")
        got = e.encode(sentences).astype(np.float64)
    assert np.abs(got - want).max() <= 1e-4


def test_a_preprocess_model_without_its_sentencepiece_asset_is_refused(bare_encoder, tmp_path):
    pre = tmp_path / "pre"
    shutil.copytree(preprocess_dir(), pre)
    for f in (pre / "assets").iterdir():
        f.unlink()
    r = run_import(bare_encoder, pre, "-o", tmp_path / "model", "--output", "pooled_output")
    assert r.returncode == 1 and "no SentencePiece model" in r.stderr, r.stderr


def test_an_asset_that_is_not_the_model_the_graph_runs_is_caught(bare_encoder, tmp_path):
    import io

    import sentencepiece as spm

    pre = tmp_path / "pre"
    shutil.copytree(preprocess_dir(), pre)
    model = io.BytesIO()
    text = ["한국어 문장을 조금 적습니다.", "다른 어휘를 가진 작은 모델입니다.", "토큰이 다르게 나옵니다."] * 20
    spm.SentencePieceTrainer.train(sentence_iterator=iter(text), model_writer=model, vocab_size=60, hard_vocab_limit=False,
                                   unk_piece="[UNK]", pad_id=1, pad_piece="[PAD]", bos_id=2, bos_piece="[CLS]",
                                   eos_id=3, eos_piece="[SEP]", minloglevel=2)
    asset = next((pre / "assets").iterdir())
    asset.write_bytes(model.getvalue())
    r = run_import(bare_encoder, pre, "-o", tmp_path / "model", "--output", "pooled_output")
    assert r.returncode == 1 and "tokenise differently" in r.stderr, r.stderr
    assert not (tmp_path / "model").exists()


def test_an_existing_model_directory_is_not_overwritten(bare_encoder, tmp_path):
    out = tmp_path / "model"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    r = run_import(bare_encoder, preprocess_dir(), "-o", out, "--output", "pooled_output")
    assert r.returncode == 1 and "--force" in r.stderr
    assert (out / "keep.txt").read_text() == "mine"


def test_a_file_that_is_not_a_savedmodel_or_tarball_is_refused(tmp_path):
    junk = tmp_path / "encoder.tar.gz"
    junk.write_bytes(b"not a tar file")
    r = run_import(junk, preprocess_dir(), "-o", tmp_path / "model")
    assert r.returncode == 1 and "not a tar archive" in r.stderr, r.stderr
    r = run_import(tmp_path / "missing", preprocess_dir(), "-o", tmp_path / "model")
    assert r.returncode == 1 and "does not exist" in r.stderr, r.stderr
