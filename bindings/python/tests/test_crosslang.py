"""Cross-language agreement: the binding against the reference embeddings of
the independent Python pipeline (tests/xlang/make_reference.py)."""

from __future__ import annotations

import numpy as np

from support import reference


def test_binding_matches_the_reference_embeddings(encoder):
    sentences, ref = reference()
    got, stats = encoder.encode_with_stats(sentences)
    assert got.shape == ref.shape
    assert stats.truncated == 1, "the last sentence is over the 512-token limit"
    diff = np.abs(got - ref)
    worst = np.unravel_index(int(diff.argmax()), diff.shape)
    assert float(diff.max()) <= 1e-5, f"max abs difference {float(diff.max())} at sentence {worst[0]}, component {worst[1]}"
