"""The Korean data kse's default model is trained and checked on: readers for ../shared/data.

Training data (tools/train_ko.py, tools/prune_vocab.py):
  - STS pairs with gold scores 0..5: korsts (KorSTS train), klue (KLUE STS
    train without the held-out slice below), klue-all (all of KLUE STS train:
    the recipe of the shipped kse-ko-small, made before the slice existed);
  - contrastive examples (anchor, positive, hard negative or None, group):
      nli       KLUE NLI train + dev and XNLI-ko dev + test: premise, its
                entailment, its contradiction (premises that have both);
      stylekqc  StyleKQC train: a request said in 10 styles; each epoch pairs
                the shuffled sentences of a set (never dev, from which
                sts-dev is built; never test);
      parakqc   paraKQC: sets of 10 paraphrases, paired the same way;
      qpair     Question_pair train + validation: duplicate questions
                (is_duplicate 0 means the same question), identical strings
                dropped;
      pawsx     PAWS-X-ko dev: the paraphrase pairs (label 1); `NS` rows dropped.
    Examples of one group (a premise, a paraphrase set) are never each other's
    in-batch negatives. No contrastive example holds a sentence of the checks
    below (paraKQC shares 691 sentences with the KLUE slice, whose KLUE STS
    pairs were partly built from it; PAWS-X dev shares 6 with test): such
    examples, and such sentences of paraphrase sets, are dropped. KorSTS train
    is the official split as published (it shares 166 sentences with dev, as
    STS-B's splits do).

Checks besides KorSTS dev (tools/eval_ko.py, and train_ko.py after each stage):
  - klue-slice: a fixed 10% of klue_sts_train.csv held out of training (pairs
    whose sentence1's SHA-256 is 0 mod 10; pairs sharing a sentence with the
    slice are dropped from training too), Pearson x 100;
  - stylekqc-sts: StyleKQC sts-dev (similar 1 / not 0), ROC AUC x 100 of the cosine;
  - pawsx-test: PAWS-X-ko test (paraphrase 1 / not 0, `NS` rows dropped), ROC AUC x 100.

Tab-separated files without quoting are split on tabs (sts_data.read_tsv,
never a CSV quote parser); KLUE STS is quoted CSV. numpy and the standard library only.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from sts_data import DATA, Pair, pearson, ranks, read_klue, read_korsts, read_tsv, spearman

Example = tuple[str, str, "str | None", str]  # anchor, positive, hard negative, group


# ---------------------------------------------------------------------------
# KLUE STS: the held-out slice
# ---------------------------------------------------------------------------


def in_klue_slice(sentence1: str) -> bool:
    return int(hashlib.sha256(sentence1.encode("utf-8")).hexdigest(), 16) % 10 == 0


def klue_split(data: Path = DATA) -> tuple[list[Pair], list[Pair]]:
    """(training pairs, held-out slice) of KLUE STS train."""
    pairs = read_klue(data / "klue-sts" / "klue_sts_train.csv")
    in_slice = [in_klue_slice(a) for a, _, _ in pairs]
    held = [p for p, h in zip(pairs, in_slice) if h]
    held_sentences = {s for a, b, _ in held for s in (a, b)}
    train = [p for p, h in zip(pairs, in_slice) if not h and p[0] not in held_sentences and p[1] not in held_sentences]
    return train, held


def sts_pairs(name: str, data: Path = DATA) -> list[Pair]:
    if name == "korsts":
        return read_korsts(data / "korsts" / "sts-train.tsv")
    if name == "klue":
        return klue_split(data)[0]
    if name == "klue-all":
        return read_klue(data / "klue-sts" / "klue_sts_train.csv")
    raise KeyError(name)


# ---------------------------------------------------------------------------
# Contrastive examples
# ---------------------------------------------------------------------------


_CHECK_SENTENCES: dict[Path, frozenset[str]] = {}


def check_sentences(data: Path = DATA) -> frozenset[str]:
    """Every sentence of the four checks (kept out of the contrastive data)."""
    if data not in _CHECK_SENTENCES:
        _CHECK_SENTENCES[data] = frozenset(s for pairs, _, _ in eval_sets(data).values() for p in pairs for s in p)
    return _CHECK_SENTENCES[data]


def _clean(examples: list[Example], data: Path) -> list[Example]:
    held = check_sentences(data)
    return [ex for ex in examples if not any(s in held for s in ex[:3] if s is not None)]


def nli_triplets(data: Path = DATA) -> list[Example]:
    """(premise, entailment, contradiction) for every premise with both, in file order."""
    out = []
    sources = [(data / "klue-nli" / f, "premise", "hypothesis") for f in ("train.tsv", "dev.tsv")]
    sources += [(data / "xnli-ko" / f, "sentence1", "sentence2") for f in ("dev.tsv", "test.tsv")]
    for path, p_col, h_col in sources:
        by_premise: dict[str, dict[str, list[str]]] = {}
        for r in read_tsv(path):
            by_premise.setdefault(r[p_col], {}).setdefault(r["gold_label"], []).append(r[h_col])
        for premise, hyp in by_premise.items():
            for ent, con in zip(hyp.get("entailment", []), hyp.get("contradiction", [])):
                out.append((premise, ent, con, f"nli:{path.parent.name}:{premise}"))
    return _clean(out, data)


def paraphrase_sets(name: str, data: Path = DATA) -> list[list[str]]:
    """Sets of sentences with one meaning (duplicates within a set removed, order kept)."""
    sets: list[list[str]] = []
    if name == "stylekqc":
        rows = read_tsv(data / "stylekqc" / "train.tsv")
        if len(rows) % 10:
            raise SystemExit(f"stylekqc/train.tsv: {len(rows)} rows, not blocks of 10")
        sets = [[r["sentence"] for r in rows[k : k + 10]] for k in range(0, len(rows), 10)]
    elif name == "parakqc":
        by_id: dict[str, list[str]] = {}
        for r in read_tsv(data / "parakqc" / "parakqc.tsv"):
            by_id.setdefault(r["set_id"], []).append(r["sentence"])
        sets = list(by_id.values())
    else:
        raise KeyError(name)
    held = check_sentences(data)
    sets = [list(dict.fromkeys(x.strip() for x in st if x.strip() and x.strip() not in held)) for st in sets]
    return [st for st in sets if len(st) >= 2]


def paws_rows(split: str, data: Path = DATA) -> list[tuple[str, str, int]]:
    rows = read_tsv(data / "paws-x-ko" / f"{split}.tsv")
    return [(r["sentence1"], r["sentence2"], int(r["label"])) for r in rows
            if r["sentence1"].strip() != "NS" and r["sentence2"].strip() != "NS"]


def pair_examples(name: str, data: Path = DATA) -> list[Example]:
    if name == "qpair":
        out = []
        for f in ("train.tsv", "validation.tsv"):
            for r in read_tsv(data / "question-pair" / f):
                a, b = r["question1"].strip(), r["question2"].strip()
                if r["is_duplicate"] == "0" and a and b and a != b:  # 0 = the same question
                    out.append((a, b, None, f"qpair:{a}"))
        return _clean(out, data)
    if name == "pawsx":
        return _clean([(a, b, None, f"pawsx:{a}") for a, b, label in paws_rows("dev", data) if label == 1], data)
    raise KeyError(name)


CONTRASTIVE = ("nli", "stylekqc", "parakqc", "qpair", "pawsx")
PAIRS_PER_SET = 2


def contrastive_source(name: str, data: Path = DATA):
    """A function rng -> this epoch's examples. Paraphrase sets are paired afresh each epoch:
    shuffled, then the first PAIRS_PER_SET disjoint pairs of consecutive sentences (2 of a set of 10:
    the sets are many and alike, and a CPU epoch is the budget)."""
    if name == "nli":
        fixed = nli_triplets(data)
        return lambda rng: fixed
    if name in ("qpair", "pawsx"):
        fixed = pair_examples(name, data)
        return lambda rng: fixed
    if name in ("stylekqc", "parakqc"):
        sets = paraphrase_sets(name, data)

        def epoch(rng):
            out = []
            for k, s in enumerate(sets):
                order = rng.permutation(len(s))
                out += [(s[order[i]], s[order[i + 1]], None, f"{name}:{k}")
                        for i in range(0, min(len(s) - 1, 2 * PAIRS_PER_SET), 2)]
            return out

        return epoch
    raise KeyError(name)


def training_sentences(data: Path = DATA) -> list[str]:
    """Every sentence the recipe trains on (for tools/prune_vocab.py), in a fixed order."""
    out = [s for name in ("korsts", "klue") for a, b, _ in sts_pairs(name, data) for s in (a, b)]
    for a, p, n, _ in nli_triplets(data) + pair_examples("qpair", data) + pair_examples("pawsx", data):
        out += [a, p] + ([n] if n is not None else [])
    for name in ("stylekqc", "parakqc"):
        out += [s for st in paraphrase_sets(name, data) for s in st]
    return out


# ---------------------------------------------------------------------------
# The four checks
# ---------------------------------------------------------------------------


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U; ties count half)."""
    labels = np.asarray(labels).astype(bool)
    r = ranks(np.asarray(scores, np.float64)) + 1.0
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    return float((r[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def eval_sets(data: Path = DATA) -> dict[str, tuple[list[tuple[str, str]], np.ndarray, str]]:
    """name -> (pairs, gold, metric) for the four numbers, KorSTS dev first."""
    korsts = read_korsts(data / "korsts" / "sts-dev.tsv")
    klue = klue_split(data)[1]
    style = [(r["sentence1"], r["sentence2"], int(r["similarity"])) for r in read_tsv(data / "stylekqc" / "sts-dev.tsv")]
    paws = paws_rows("test", data)
    out = {}
    for name, rows, metric in (("korsts-dev", korsts, "spearman"), ("klue-slice", klue, "pearson"),
                               ("stylekqc-sts", style, "auc"), ("pawsx-test", paws, "auc")):
        out[name] = ([(a, b) for a, b, _ in rows], np.array([g for *_, g in rows], np.float64), metric)
    return out


def score(metric: str, cos: np.ndarray, gold: np.ndarray) -> float:
    fn = {"spearman": spearman, "pearson": pearson, "auc": roc_auc}[metric]
    return 100 * fn(cos, gold)


def evaluate(embed, data: Path = DATA) -> dict[str, float]:
    """The four numbers for `embed(list of sentences) -> array of vectors` (each sentence embedded once)."""
    sets = eval_sets(data)
    sentences = list(dict.fromkeys(s for pairs, _, _ in sets.values() for p in pairs for s in p))
    emb = np.asarray(embed(sentences), np.float64)
    emb /= np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
    index = {s: i for i, s in enumerate(sentences)}
    out = {}
    for name, (pairs, gold, metric) in sets.items():
        a = emb[[index[x] for x, _ in pairs]]
        b = emb[[index[y] for _, y in pairs]]
        out[name] = round(score(metric, (a * b).sum(axis=1), gold), 3)
    return out
