"""Cross-language agreement, Python side: the library through ctypes against
the reference embeddings of tests/xlang/make_reference.py."""

from __future__ import annotations

import json

import numpy as np

from conftest import REPO, require


def test_python_binding_matches_the_python_reference(kse_encoder):
    xlang = REPO / "target" / "xlang"
    meta = json.loads(require(xlang / "reference.json", "cross-language reference").read_text(encoding="utf-8"))
    ref = np.fromfile(xlang / "reference.f32", dtype="<f4").reshape(meta["n"], meta["dim"])
    got = kse_encoder.encode(meta["sentences"])
    assert kse_encoder.last_stats[1] == 1, "the last sentence is over the token limit"
    diff = float(np.abs(got - ref).max())
    assert diff <= 1e-5, f"max abs difference {diff}"
