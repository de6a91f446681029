"""Shared fixtures: where setup put things, the library through ctypes, and
the independent Python reference (tests/python/reference.py)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bindings" / "python"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

MODEL_DIR = Path(os.environ.get("KSE_MODEL_DIR", REPO / "models" / "kse-ko-small"))
E5_DIR = Path(os.environ.get("KSE_MODEL_E5_DIR", REPO / "models" / "multilingual-e5-small"))
INT4_DIR = Path(os.environ.get("KSE_MODEL_INT4_DIR", REPO / "models" / "multilingual-e5-small-int4"))
TEST_MODELS = Path(os.environ.get("KSE_TEST_MODELS", REPO / "target" / "test-models"))
DATA_DIR = Path(os.environ.get("KSE_DATA_DIR", REPO.parent / "shared" / "data"))
LIBRARY = Path(os.environ.get("KSE_LIBRARY", REPO / "target" / "release" / "libkse.so"))


def require(path: Path, what: str) -> Path:
    if not path.exists():
        pytest.fail(f"{what} not found at {path}: run `make setup` (or set the environment variable)")
    return path


def committed_model_bytes(model_dir: Path) -> int:
    """Checks a committed model directory against its SHA256SUMS (exactly kse.json, model.onnx and
    tokenizer.json, each unchanged); returns the directory's size in bytes."""
    import hashlib

    listed = dict(reversed(line.split("  ")) for line in (model_dir / "SHA256SUMS").read_text().splitlines())
    assert set(listed) == {"kse.json", "model.onnx", "tokenizer.json"}
    for name, digest in listed.items():
        assert hashlib.sha256((model_dir / name).read_bytes()).hexdigest() == digest, f"{name} differs from SHA256SUMS"
    return sum(p.stat().st_size for p in model_dir.iterdir() if p.is_file())


@pytest.fixture(scope="session")
def korsts_dev():
    import reference

    pairs = reference.read_korsts(require(DATA_DIR / "korsts" / "sts-dev.tsv", "KorSTS dev"))
    assert len(pairs) == 1500, "KorSTS dev must parse to 1,500 pairs"
    return pairs


@pytest.fixture(scope="session")
def dev_sentences(korsts_dev):
    return [s for a, b, _ in korsts_dev for s in (a, b)]


@pytest.fixture(scope="session")
def kse_encoder():
    import kse

    require(LIBRARY, "libkse.so")
    kse.load_library(LIBRARY)
    enc = kse.Encoder(require(MODEL_DIR, "default model"), intra_threads=2)
    yield enc
    enc.close()


@pytest.fixture(scope="session")
def ref_model():
    import reference

    return reference.load(require(MODEL_DIR, "default model"), threads=2)


@pytest.fixture(scope="session")
def library_embeddings(kse_encoder, dev_sentences):
    return kse_encoder.encode(dev_sentences)


@pytest.fixture(scope="session")
def reference_embeddings(ref_model, dev_sentences):
    import reference

    return reference.embed(ref_model, dev_sentences)
