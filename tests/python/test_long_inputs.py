"""Long inputs (docs/long-inputs.md) through the library against the
independent reference (tests/python/long_reference.py: tokenizers +
onnxruntime, written from the spec): token counts and truncated ids equal,
chunk byte ranges equal, window and chunk vectors within 1e-5; the bounded
tokenisation of huge texts under truncate equals whole-text tokenisation;
bad input is refused with a status and a message."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import DATA_DIR, LIBRARY, MODEL_DIR, TEST_MODELS, require

TOL = 1e-5
MODELS = {
    "kse-ko-small": MODEL_DIR,  # XLM-R tokenizer, prefix "query: ", mean pooling
    "tiny-seed": TEST_MODELS / "tiny-seed",  # BERT tokenizer, no prefix, CLS pooling
    "tiny-e5": TEST_MODELS / "tiny-e5",
}


@pytest.fixture(scope="module")
def lr():
    import long_reference

    return long_reference


@pytest.fixture(scope="module")
def texts(lr):
    return lr.builder_texts(DATA_DIR)


@pytest.fixture(scope="module", params=list(MODELS))
def pair(request, lr):
    """(library encoder under the window policy, reference model), per model."""
    import kse

    path = require(MODELS[request.param], request.param)
    kse.load_library(require(LIBRARY, "libkse.so"))
    enc = kse.Encoder(path, long="window", intra_threads=2)
    yield request.param, enc, lr.load(path)
    enc.close()


def test_token_counts_and_truncated_ids_equal_the_reference(pair, texts, lr):
    name, enc, ref = pair
    for label, text in texts.items():
        assert enc.count_tokens(text) == lr.count_tokens(ref, text), f"{name}: {label}"
        # Under the window policy kse_tokenize gives the first window's ids,
        # which are the truncated ids.
        assert enc.tokenize(text) == lr.truncate_ids(ref, text), f"{name}: {label}"


@pytest.mark.parametrize("tokens,overlap", [(0, 0), (128, 16), (40, 0)])
def test_chunk_ranges_equal_the_reference(pair, texts, lr, tokens, overlap):
    name, enc, ref = pair
    for label, text in texts.items():
        got = [(c.byte_start, c.byte_end, c.tokens) for c in enc.chunks(text, tokens, overlap)]
        want = [s[:3] for s in lr.chunk_spans(ref, text, tokens, overlap)]
        assert got == want, f"{name}: {label}, chunk_tokens {tokens}, overlap {overlap}"


def test_chunk_vectors_equal_the_reference(pair, texts, lr):
    name, enc, ref = pair
    for label in ("ko-1500", "mixed", "no-space"):
        chunks, got = enc.encode_chunks(texts[label], 128, 16)
        spans, want = lr.embed_chunks(ref, texts[label], 128, 16)
        assert [(c.byte_start, c.byte_end) for c in chunks] == [s[:2] for s in spans]
        diff = float(np.abs(got - want).max())
        assert diff <= TOL, f"{name}: {label}: max abs difference {diff}"
        data = texts[label].encode()
        assert all(c.text == data[c.byte_start : c.byte_end].decode() for c in chunks)


def test_window_vectors_equal_the_reference(pair, texts, lr):
    name, enc, ref = pair
    labels = ["ko-600", "ko-1500", "no-sentence-end", "mixed", "nfd", "run-가"]
    docs = [texts[k] for k in labels] + ["짧은 문장 하나."]
    got, stats = enc.encode_with_stats(docs)
    want = lr.embed_window(ref, docs, 32)
    diff = np.abs(got - want).max(axis=1)
    assert float(diff.max()) <= TOL, f"{name}: max abs difference {dict(zip(labels, diff.tolist()))}"
    rows = [lr.window_rows(ref, d, 32) for d in docs]
    assert stats.truncated == 0
    assert stats.windowed == sum(len(r) > 1 for r in rows)
    assert stats.windows == sum(len(r) for r in rows if len(r) > 1)


def test_a_short_text_gets_the_same_vector_under_every_policy(pair):
    import kse

    name, enc, _ = pair
    with kse.Encoder(MODELS[name], intra_threads=2) as plain:
        s = ["짧은 문장 하나.", "두 번째 문장입니다"]
        assert float(np.abs(plain.encode(s) - enc.encode(s)).max()) <= 1e-6


def repeated(sentences, times):
    return " ".join(sentences for _ in range(times))


def test_truncating_a_huge_text_reads_a_prefix_and_gets_the_whole_texts_ids(lr, texts):
    """The bounded-prefix tokenisation against whole-text tokenisation: KorSTS
    dev sentences repeated to several lengths, texts without spaces, long runs
    of one character, up to 1 MB."""
    import kse

    sentences = lr.korean_sentences(DATA_DIR)
    cases = {}
    for i in range(0, 400, 20):
        for times in (1, 7, 40, 300):
            cases[f"dev {i} x{times}"] = repeated(sentences[i], times)
    cases["dev all"] = " ".join(sentences)
    cases["no spaces"] = "".join(sentences).replace(" ", "")
    cases["no spaces, 1 MB"] = ("".join(sentences).replace(" ", "") * 3)[: 350_000]
    for ch in ("가", "a", ".", "ㅋ", "😀", "あ"):
        for n in (600, 5000, 300_000):
            cases[f"run {ch} x{n}"] = ch * n
    cases["words, 1 MB"] = repeated(" ".join(sentences[:50]), 400)
    kse.load_library(require(LIBRARY, "libkse.so"))
    for name in ("kse-ko-small", "tiny-seed"):
        ref = lr.load(require(MODELS[name], name))
        with kse.Encoder(MODELS[name], intra_threads=2) as enc:
            for label, text in cases.items():
                assert enc.tokenize(text) == lr.truncate_ids(ref, text), f"{name}: {label}"


def test_bad_input_is_refused_with_a_message(lr):
    import kse

    kse.load_library(require(LIBRARY, "libkse.so"))
    with kse.Encoder(MODEL_DIR, intra_threads=2) as enc:
        max_tokens = enc.max_tokens
        with pytest.raises(kse.InvalidUtf8Error, match="not valid UTF-8"):
            enc.count_tokens(b"\xff\xfe")
        with pytest.raises(kse.InvalidUtf8Error, match="not valid UTF-8"):
            enc.encode_chunks(b"abc \xc3")
        # NUL bytes inside a text with a length are text, not an end.
        assert enc.count_tokens("가\0나") > enc.count_tokens("가")
        assert enc.chunks("") == [] and enc.chunks(" \n\t ") == []
        chunks, vectors = enc.encode_chunks("")
        assert chunks == [] and vectors.shape == (0, enc.dim)
        with pytest.raises(kse.InvalidArgumentError, match="over the model's max tokens"):
            enc.chunks("가나다", max_tokens + 1)
        with pytest.raises(kse.InvalidArgumentError, match="special and prefix tokens take 5"):
            enc.chunks("가나다", 5)
        with pytest.raises(kse.InvalidArgumentError, match="overlap 10 must be less than the 10 text tokens"):
            enc.chunks("가나다", 15, 10)
    with pytest.raises(kse.InvalidArgumentError, match="window_overlap"):
        kse.Encoder(MODEL_DIR, long="window", window_overlap=max_tokens)
    with pytest.raises(kse.InvalidArgumentError, match="long must be one of"):
        kse.Encoder(MODEL_DIR, long="split")
