#!/usr/bin/env python3
"""The four numbers a Korean encoder is chosen by, measured through the kse library (bindings/python).

    python tools/eval_ko.py [--model DIR ...] [--json FILE]

For each model directory: KorSTS dev (Spearman x 100, the number models are
selected on), the held-out 10% slice of KLUE STS train (Pearson x 100),
StyleKQC sts-dev (ROC AUC x 100 of the cosine) and PAWS-X-ko test (ROC AUC
x 100); the sets are defined in tools/ko_data.py. MODEL.md's tables come from
this command.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bindings" / "python"))
sys.path.insert(0, str(REPO / "tools"))
import kse  # noqa: E402
from ko_data import evaluate  # noqa: E402

COLUMNS = ("korsts-dev", "klue-slice", "stylekqc-sts", "pawsx-test")
AUC = ("stylekqc-sts", "pawsx-test")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", nargs="+", default=[str(REPO / "models" / "kse-ko-small")])
    p.add_argument("--threads", type=int, default=0, help="ONNX Runtime intra-op threads (0: one per core)")
    p.add_argument("--json", type=Path, help="also write the numbers here")
    args = p.parse_args()

    results = {}
    print("| model | KorSTS dev (Spearman) | KLUE slice (Pearson) | StyleKQC sts-dev (AUC) | PAWS-X-ko test (AUC) | time |")
    print("|---|---:|---:|---:|---:|---:|")
    for model in args.model:
        t0 = time.perf_counter()
        with kse.Encoder(model, intra_threads=args.threads) as enc:
            r = evaluate(enc.encode)
        results[model] = r
        # AUCs with 3 decimals: StyleKQC sts-dev is near 100 for every model tried
        cells = " | ".join(f"{r[c]:.3f}" if c in AUC else f"{r[c]:.2f}" for c in COLUMNS)
        print(f"| {model} | {cells} | {time.perf_counter() - t0:.0f} s |", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
