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

sys.path.insert(0, str(REPO / "tools"))
from sts_data import KORSTS_DEV, pair_cosines, pearson, read_pairs, spearman  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=str(REPO / "models" / "multilingual-e5-small"))
    p.add_argument("--data", default=str(KORSTS_DEV))
    p.add_argument("--threads", type=int, default=0, help="ONNX Runtime intra-op threads (0: one per core)")
    args = p.parse_args()

    pairs = read_pairs(Path(args.data))
    start = time.perf_counter()
    with kse.Encoder(args.model, intra_threads=args.threads) as enc:
        emb = enc.encode([s for a, b, _ in pairs for s in (a, b)])
        name = enc.name
    seconds = time.perf_counter() - start
    cos = pair_cosines(emb)
    gold = np.array([g for _, _, g in pairs])
    print(f"model      {name} ({args.model})")
    print(f"data       {args.data}: {len(pairs)} pairs")
    print(f"spearman   {100 * spearman(cos, gold):.2f}")
    print(f"pearson    {100 * pearson(cos, gold):.2f}")
    print(f"time       {seconds:.1f} s (load + encode {2 * len(pairs)} sentences)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
