"""Encoding: shapes and types, accepted inputs, batching, stats, tokenize."""

from __future__ import annotations

import numpy as np

from support import reference


def test_encode_gives_float32_unit_rows(encoder):
    v = encoder.encode(["안녕하세요", "반갑습니다", ""])
    assert isinstance(v, np.ndarray)
    assert v.dtype == np.float32 and v.shape == (3, 384) and v.flags.c_contiguous
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert (encoder.dim, encoder.max_tokens, encoder.name) == (384, 512, "kse-ko-small")
    # Paraphrases are closer than unrelated sentences.
    a, b, c = encoder.encode(["날씨가 정말 좋네요.", "오늘 날씨가 참 좋습니다.", "주식 시장이 폭락했다."])
    assert a @ b > a @ c + 0.05


def test_any_iterable_a_single_str_and_bytes(encoder):
    texts = ["첫 번째 문장", "두 번째 문장"]
    base = encoder.encode(texts)
    np.testing.assert_array_equal(encoder.encode(tuple(texts)), base)
    np.testing.assert_array_equal(encoder.encode(t for t in texts), base)
    np.testing.assert_array_equal(encoder.encode(np.array(texts)), base)
    np.testing.assert_array_equal(encoder.encode([t.encode("utf-8") for t in texts]), base)
    np.testing.assert_array_equal(encoder.encode([texts[0], texts[1].encode()]), base)
    one = encoder.encode(texts[0])
    assert one.shape == (384,)
    np.testing.assert_allclose(one, base[0], atol=1e-6)
    empty = encoder.encode([])
    assert empty.shape == (0, 384) and empty.dtype == np.float32


def test_batched_equals_one_by_one(encoder):
    sentences, _ = reference()
    batched = encoder.encode(sentences)
    for i, s in enumerate(sentences):
        single = encoder.encode([s])[0]
        diff = float(np.abs(single - batched[i]).max())
        assert diff <= 1e-6, f"sentence {i}: batched vs alone differ by {diff}"
    # Order does not matter either.
    perm = np.random.default_rng(7).permutation(len(sentences))
    shuffled = encoder.encode([sentences[i] for i in perm])
    assert float(np.abs(shuffled - batched[perm]).max()) <= 1e-6


def test_stats_count_tokens_and_truncation(kse, encoder):
    sentences, _ = reference()
    _, stats = encoder.encode_with_stats(sentences)
    assert isinstance(stats, kse.EncodeStats)
    assert stats.truncated == 1, "exactly one cross-language sentence is over 512 tokens"
    assert encoder.last_stats == stats
    total = sum(len(encoder.tokenize(s)) for s in sentences)
    assert stats.tokens == total, "stats.tokens is the sum of each text's token count"
    _, stats = encoder.encode_with_stats(["짧은 문장"])
    assert stats == (len(encoder.tokenize("짧은 문장")), 0, 0, 0)


def test_tokenize(encoder):
    ids = encoder.tokenize("안녕하세요")
    assert isinstance(ids, list) and all(isinstance(i, int) for i in ids)
    assert ids[0] == 0 and ids[-1] == 2, "<s> ... </s>"
    assert ids[1:4] == encoder.tokenize("")[1:4], "every text starts with the 'query: ' prefix"
    assert encoder.tokenize("안녕하세요".encode()) == ids
    assert len(encoder.tokenize("가 " * 2000)) == encoder.max_tokens, "cut at max_tokens"


def test_truncate_false_raises_input_too_long(kse, tiny_encoder):
    with kse.Encoder(tiny_encoder.model_dir, truncate=False) as strict:
        assert strict.encode(["가 " * 100]).shape == (1, 16)
        long = "가 " * 600
        for call in (lambda: strict.encode(["짧다", long]), lambda: strict.tokenize(long)):
            try:
                call()
            except kse.InputTooLongError as e:
                assert e.status == kse.Status.INPUT_TOO_LONG and isinstance(e, ValueError)
            else:
                raise AssertionError("an over-long text with truncate=False must raise")
    # The default (truncate=True) cuts it instead.
    assert tiny_encoder.encode_with_stats([long])[1].truncated == 1


def test_repr_and_properties(kse, tiny_encoder):
    r = repr(tiny_encoder)
    assert r.startswith("<kse.Encoder ") and "tiny-e5" in r and "dim=16" in r and "sessions=2" in r
    assert not tiny_encoder.closed
    assert kse.library_version() == kse.__version__
    assert kse.library_path().endswith("libkse.so")
