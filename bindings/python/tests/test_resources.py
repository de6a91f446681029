"""Resources: encoders are freed (close, with, or garbage collection) and
encoding many texts keeps memory flat. A live tiny-e5 encoder costs about
250 MB of RSS (its 250k-token tokenizer), so one leaked per cycle shows."""

from __future__ import annotations

import gc

import numpy as np

from support import rss_mb, tiny


def test_create_and_free_many_encoders_keeps_rss_flat(kse):
    def cycle(i: int) -> None:
        if i % 3 == 0:
            enc = kse.Encoder(tiny(), intra_threads=1)
            enc.encode(["자원 정리 확인"] * 8)
            enc.close()
        elif i % 3 == 1:
            with kse.Encoder(tiny(), intra_threads=1) as enc:
                enc.encode(["자원 정리 확인"] * 8)
        else:
            enc = kse.Encoder(tiny(), intra_threads=1)  # never closed: freed by __del__
            enc.encode(["자원 정리 확인"] * 8)
            del enc
            gc.collect()

    for i in range(2):  # warm up: ONNX Runtime, the allocator's per-thread arenas
        cycle(i)
    before = rss_mb()
    for i in range(2, 6):
        cycle(i)
    growth = rss_mb() - before
    print(f"RSS growth over 4 create/encode/free cycles: {growth:.1f} MB")
    assert growth < 100, f"RSS grew {growth:.1f} MB over 4 encoder lifetimes: an encoder is not freed"


def test_encoding_100k_short_sentences_keeps_rss_flat(tiny_encoder):
    batch = [f"짧은 문장 {i}" for i in range(1000)]
    first = tiny_encoder.encode(batch)  # warm up
    for _ in range(9):
        tiny_encoder.encode(batch)
    before = rss_mb()
    tokens = 0
    for round_ in range(90):
        texts = [f"{s} / {round_}" for s in batch]
        out, stats = tiny_encoder.encode_with_stats(texts)
        tokens += stats.tokens
        assert out.shape == (1000, 16)
    growth = rss_mb() - before
    print(f"RSS growth over 90,000 more sentences (100,000 in all, {tokens} tokens): {growth:.1f} MB")
    assert growth < 16, f"RSS grew {growth:.1f} MB while encoding 90,000 short sentences"
    # The vectors are still right at the end.
    np.testing.assert_allclose(tiny_encoder.encode(batch[:50]), first[:50], atol=1e-6)
    assert np.isfinite(out).all() and np.allclose(np.linalg.norm(out, axis=1), 1, atol=1e-5)
