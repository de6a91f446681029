"""The library (through its C ABI) against the independent Python pipeline
(Python tokenizers + onnxruntime + numpy pooling) on the same model directory,
over every sentence of KorSTS dev."""

from __future__ import annotations

import unicodedata

import numpy as np

import reference


def test_token_ids_equal_python_tokenizers(kse_encoder, ref_model, dev_sentences):
    expected = reference.token_ids(ref_model, dev_sentences)
    mismatches = [i for i, (s, want) in enumerate(zip(dev_sentences, expected)) if kse_encoder.tokenize(s) != want]
    assert not mismatches, f"{len(mismatches)} sentences tokenise differently, first: {dev_sentences[mismatches[0]]!r}"


def test_embeddings_equal_python_onnxruntime(library_embeddings, reference_embeddings):
    assert library_embeddings.shape == reference_embeddings.shape == (3000, 384)
    diff = np.abs(library_embeddings - reference_embeddings).max()
    print(f"max abs difference library vs reference: {diff:.3g}")
    assert diff <= 1e-4, f"max abs difference {diff}"


def test_korsts_dev_spearman_equals_reference(korsts_dev, library_embeddings, reference_embeddings):
    gold = np.array([g for _, _, g in korsts_dev])

    def score(e):
        return 100 * reference.spearman((e[0::2] * e[1::2]).sum(axis=1), gold)

    ours, theirs = score(library_embeddings), score(reference_embeddings)
    print(f"KorSTS dev Spearman x100: library {ours:.2f}, reference {theirs:.2f}")
    assert abs(ours - theirs) <= 0.05
    assert 75 < ours < 95, "far from any known KorSTS dev score of the default model"


def test_batched_equals_one_by_one(kse_encoder, dev_sentences, library_embeddings):
    for i in range(0, len(dev_sentences), 10):  # 300 sentences across all lengths
        one = kse_encoder.encode([dev_sentences[i]])[0]
        diff = np.abs(one - library_embeddings[i]).max()
        assert diff <= 1e-5, f"sentence {i}: alone vs batched differ by {diff}"


def test_decomposed_hangul_embeds_as_composed(kse_encoder, ref_model, dev_sentences, library_embeddings):
    """NFD text (Hangul syllables as conjoining jamo, as macOS file names give
    it) gets the NFC text's ids and vector, in the library and the reference."""
    nfc = dev_sentences[:400]
    nfd = [unicodedata.normalize("NFD", s) for s in nfc]
    changed = [i for i, (a, b) in enumerate(zip(nfc, nfd)) if a != b]
    assert len(changed) == len(nfc), "every Korean sentence changes under NFD"
    assert reference.token_ids(ref_model, nfd) == reference.token_ids(ref_model, nfc)
    assert [kse_encoder.tokenize(s) for s in nfd] == reference.token_ids(ref_model, nfc)
    got = kse_encoder.encode(nfd)
    batch = kse_encoder.encode(nfc)
    np.testing.assert_array_equal(got, batch)
    cos = (got * library_embeddings[: len(nfc)]).sum(axis=1)
    assert cos.min() > 1 - 1e-5, f"lowest cosine NFD vs NFC: {cos.min()}"
    # Without NFC the tokenizer sees jamo: the ids differ (what the manifest field prevents).
    raw = ref_model.tokenizer.encode_batch([ref_model.manifest["prefix"] + s for s in nfd])
    assert sum(list(r.ids) != want for r, want in zip(raw, reference.token_ids(ref_model, nfc))) > 300
