#!/usr/bin/env python3
"""KorSTS evaluation through the kse library (C ABI, via bindings/python).

    python tools/eval_korsts.py [--model DIR] [--data FILE]

Prints Spearman and Pearson x 100 of the cosine between each pair's
embeddings against the gold scores, the number of pairs and the time. The
README's KorSTS dev score comes from this command. KorSTS is tab separated
without quoting: lines are split on tabs, never read with a CSV quote parser.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bindings" / "python"))
import kse  # noqa: E402


def read_korsts(path: Path) -> list[tuple[str, str, float]]:
    pairs = []
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        col = {name: i for i, name in enumerate(header)}
        for lineno, line in enumerate(f, start=2):
            fields = line.rstrip("\n").split("\t")
            if len(fields) != len(header):
                raise SystemExit(f"{path}:{lineno}: expected {len(header)} tab-separated fields, got {len(fields)}")
            pairs.append((fields[col["sentence1"]], fields[col["sentence2"]], float(fields[col["score"]])))
    return pairs


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
    a = a - a.mean()
    b = b - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=str(REPO / "models" / "multilingual-e5-small"))
    p.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "korsts" / "sts-dev.tsv"))
    p.add_argument("--threads", type=int, default=0, help="ONNX Runtime intra-op threads (0: one per core)")
    args = p.parse_args()

    pairs = read_korsts(Path(args.data))
    start = time.perf_counter()
    with kse.Encoder(args.model, intra_threads=args.threads) as enc:
        emb = enc.encode([s for a, b, _ in pairs for s in (a, b)])
        name = enc.name
    seconds = time.perf_counter() - start
    cos = (emb[0::2] * emb[1::2]).sum(axis=1) / (
        np.linalg.norm(emb[0::2], axis=1) * np.linalg.norm(emb[1::2], axis=1)
    )
    gold = np.array([g for _, _, g in pairs])
    print(f"model      {name} ({args.model})")
    print(f"data       {args.data}: {len(pairs)} pairs")
    print(f"spearman   {100 * pearson(ranks(cos), ranks(gold)):.2f}")
    print(f"pearson    {100 * pearson(cos, gold):.2f}")
    print(f"time       {seconds:.1f} s (load + encode {2 * len(pairs)} sentences)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
