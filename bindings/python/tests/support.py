"""Paths and helpers shared by the binding's tests."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

BINDING = Path(__file__).resolve().parents[1]  # bindings/python
REPO = BINDING.parents[1]
sys.path.insert(0, str(BINDING))

LIBRARY = Path(os.environ.get("KSE_LIBRARY", REPO / "target" / "release" / "libkse.so"))
DEFAULT_MODEL = "kse-ko-small"  # the model libkse loads when given no directory
MODEL_DIR = Path(os.environ.get("KSE_MODEL_DIR", REPO / "models" / DEFAULT_MODEL))
TEST_MODELS = Path(os.environ.get("KSE_TEST_MODELS", REPO / "target" / "test-models"))
XLANG = REPO / "target" / "xlang"
WORK = REPO / "target" / "python"  # git-ignored scratch space for these tests

# Environment variables that would let a child process find kse some other way.
KSE_ENV = ("KSE_LIBRARY", "KSE_ORT_LIBRARY", "ORT_DYLIB_PATH", "LD_LIBRARY_PATH", "PYTHONPATH", "KSE_MODEL_DIR")

SETUP = {
    "libkse.so": "make setup",
    "default model": "make setup",
    "test models": "make test-models",
    "cross-language reference": "make xlang-reference",
}


def require(path: Path, what: str) -> Path:
    """The path, or a test failure naming the command that makes it."""
    if not path.exists():
        pytest.fail(f"{what} not found at {path}: run `{SETUP[what]}` from the repository root")
    return path


def tiny() -> Path:
    return require(TEST_MODELS / "tiny-e5", "test models")


def reference() -> tuple[list[str], np.ndarray]:
    """The cross-language sentences (from sentences.txt) and reference vectors."""
    meta = json.loads(require(XLANG / "reference.json", "cross-language reference").read_text(encoding="utf-8"))
    text = require(XLANG / "sentences.txt", "cross-language reference").read_bytes().decode("utf-8")
    sentences = text.split("\n")
    if sentences and sentences[-1] == "" and len(sentences) == meta["n"] + 1:
        sentences.pop()  # the file's final newline
    assert len(sentences) == meta["n"], f"sentences.txt has {len(sentences)} lines, reference.json says {meta['n']}"
    assert sentences == meta["sentences"], "sentences.txt and reference.json disagree"
    ref = np.fromfile(require(XLANG / "reference.f32", "cross-language reference"), dtype="<f4")
    return sentences, ref.reshape(meta["n"], meta["dim"])


def clean_env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in KSE_ENV}
    env.update(extra)
    return env


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        return int(f.read().split("VmRSS:")[1].split()[0]) / 1024
