"""Korean STS data readers and the STS metrics, shared by the evaluation and training tools.

KorSTS (`sts-*.tsv`) is tab separated WITHOUT quoting: lines are split on tabs,
never read with a CSV quote parser (which silently merges rows). KLUE STS
(`klue_sts_train.csv`) is ordinary RFC 4180 CSV. Both give (sentence1,
sentence2, gold score 0..5). numpy and the standard library only.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data"
KORSTS_TRAIN = DATA / "korsts" / "sts-train.tsv"
KORSTS_DEV = DATA / "korsts" / "sts-dev.tsv"
KLUE_TRAIN = DATA / "klue-sts" / "klue_sts_train.csv"

Pair = tuple[str, str, float]


def read_tsv(path: Path) -> list[dict[str, str]]:
    """Rows of a tab-separated file with a header line and no quoting, as dicts by column name.
    Every line must have the header's number of fields."""
    rows = []
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        for lineno, line in enumerate(f, start=2):
            fields = line.rstrip("\n").split("\t")
            if len(fields) != len(header):
                raise SystemExit(f"{path}:{lineno}: expected {len(header)} tab-separated fields, got {len(fields)}")
            rows.append(dict(zip(header, fields)))
    return rows


def read_korsts(path: Path) -> list[Pair]:
    return [(r["sentence1"], r["sentence2"], float(r["score"])) for r in read_tsv(path)]


def read_klue(path: Path) -> list[Pair]:
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    missing = {"sentence1", "sentence2", "label"} - set(rows[0] if rows else ())
    if missing:
        raise SystemExit(f"{path}: missing columns {sorted(missing)}")
    return [(r["sentence1"], r["sentence2"], float(r["label"])) for r in rows]


def read_pairs(path: Path) -> list[Pair]:
    """KorSTS .tsv or KLUE .csv, chosen by the file's extension."""
    path = Path(path)
    if path.suffix == ".tsv":
        return read_korsts(path)
    if path.suffix == ".csv":
        return read_klue(path)
    raise SystemExit(f"{path}: expected a KorSTS .tsv or a KLUE STS .csv file")


def ranks(x: np.ndarray) -> np.ndarray:
    """Ranks with ties given their average rank."""
    order = np.argsort(x, kind="mergesort")
    r = np.empty(len(x), dtype=np.float64)
    sorted_x = x[order]
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and sorted_x[j + 1] == sorted_x[i]:
            j += 1
        r[order[i : j + 1]] = (i + j) / 2.0
        i = j + 1
    return r


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    a = np.asarray(a, np.float64) - np.mean(a)
    b = np.asarray(b, np.float64) - np.mean(b)
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    return pearson(ranks(np.asarray(a)), ranks(np.asarray(b)))


def pair_cosines(emb: np.ndarray) -> np.ndarray:
    """Cosine of rows 2i and 2i+1 (embeddings of pairs encoded as [a0, b0, a1, b1, ...])."""
    a, b = emb[0::2].astype(np.float64), emb[1::2].astype(np.float64)
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
