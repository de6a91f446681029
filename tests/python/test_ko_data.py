"""tools/ko_data.py: the training data of the model recipe and the four checks it is chosen by.

The checks must be free of training text (a sentence of KorSTS dev, the KLUE
slice, StyleKQC sts-dev or PAWS-X-ko test in the training data would inflate
the numbers MODEL.md reports), and the metrics must be the usual ones.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from conftest import DATA_DIR, REPO, require

sys.path.insert(0, str(REPO / "tools"))
import ko_data  # noqa: E402


@pytest.fixture(scope="module")
def data():
    require(DATA_DIR / "klue-nli" / "train.tsv", "KLUE NLI (../shared/data)")
    return DATA_DIR


def test_roc_auc_counts_ordered_pairs_ties_half():
    rng = np.random.default_rng(0)
    scores = np.round(rng.normal(size=300), 1)  # rounded: many ties
    labels = rng.integers(0, 2, size=300)
    pos, neg = scores[labels == 1], scores[labels == 0]
    brute = ((pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()) / (len(pos) * len(neg))
    assert ko_data.roc_auc(scores, labels) == pytest.approx(brute, abs=1e-12)
    assert ko_data.roc_auc(np.array([0.1, 0.9]), np.array([0, 1])) == 1.0
    assert ko_data.roc_auc(np.array([0.9, 0.1]), np.array([0, 1])) == 0.0


def test_klue_slice_is_a_tenth_and_shares_no_sentence_with_training(data):
    train, held = ko_data.klue_split(data)
    total = len(ko_data.read_klue(data / "klue-sts" / "klue_sts_train.csv"))
    assert 0.08 * total < len(held) < 0.12 * total
    assert len(train) + len(held) <= total and len(train) > 0.85 * total
    held_sentences = {s for a, b, _ in held for s in (a, b)}
    assert not held_sentences & {s for a, b, _ in train for s in (a, b)}


def test_no_check_sentence_is_training_text(data):
    """Only KorSTS train as published shares sentences with KorSTS dev (166, as in STS-B's splits);
    paraKQC's 691 sentences of the KLUE slice and PAWS-X dev's 6 of test are dropped."""
    train = set(ko_data.training_sentences(data))
    korsts_train = {s for a, b, _ in ko_data.sts_pairs("korsts", data) for s in (a, b)}
    for name, (pairs, gold, _) in ko_data.eval_sets(data).items():
        leaked = {s for p in pairs for s in p} & train
        assert leaked <= korsts_train, (name, sorted(leaked - korsts_train)[:10])
        assert len(leaked) < 200
        assert len(pairs) == len(gold) and len(pairs) > 1000


def test_eval_sets_sizes_and_labels(data):
    sets = ko_data.eval_sets(data)
    assert list(sets) == ["korsts-dev", "klue-slice", "stylekqc-sts", "pawsx-test"]
    assert len(sets["korsts-dev"][0]) == 1500  # tab split, no quote parsing
    assert len(sets["stylekqc-sts"][0]) == 10800 and set(sets["stylekqc-sts"][1]) == {0.0, 1.0}
    paws_pairs, paws_gold, _ = sets["pawsx-test"]
    assert 1900 < len(paws_pairs) < 2000 and "NS" not in {s.strip() for p in paws_pairs for s in p}
    assert set(paws_gold) == {0.0, 1.0}


def test_contrastive_examples(data):
    nli = ko_data.nli_triplets(data)
    assert len(nli) > 9000 and all(a and p and n and p != n for a, p, n, _ in nli)
    qpair = ko_data.pair_examples("qpair", data)
    # is_duplicate 0 means the same question: the kept pairs are duplicates, never identical strings
    assert len(qpair) > 3000 and all(a != b and n is None for a, b, n, _ in qpair)
    for name in ("stylekqc", "parakqc"):
        source = ko_data.contrastive_source(name, data)
        first, again = source(np.random.default_rng(0)), source(np.random.default_rng(0))
        assert first == again and first != source(np.random.default_rng(1))
        sets = ko_data.paraphrase_sets(name, data)
        assert len(first) == sum(min(len(s) // 2, ko_data.PAIRS_PER_SET) for s in sets)
        sets_of = {}
        for k, st in enumerate(sets):
            for s in st:
                sets_of.setdefault(s, set()).add(k)
        assert all(a != b and sets_of[a] & sets_of[b] for a, b, _, _ in first)
    assert len(ko_data.paraphrase_sets("stylekqc", data)) == 2400  # train only: sts-dev is built from dev
