#!/usr/bin/env python3
"""Checks the seed card's 4 x 4 similarity matrix (docs/import-tfhub.md).

    target/c/similarity MODEL_DIR | python3 importers/tfhub/check_card_matrix.py [--tolerance 1e-4]

Reads the matrix examples/c/similarity.c prints (rows like `[ 0.89076161 ...]`)
and compares it with the numbers the DistilKoBERT sentence encoder's model card
prints for the same sentences (TF Hub jeongukjae/distilkobert_sentence_encoder/1).
Exit 0 when every entry is within the tolerance, 1 otherwise (the largest
difference is printed either way). Standard library only.
"""
from __future__ import annotations

import argparse
import re
import sys

CARD = [
    [0.8907616, 0.07906969, -0.09612353, 0.00167902],
    [0.0184274, 0.6840409, -0.1102942, 0.02653065],
    [-0.00795126, -0.10688838, 0.5041443, -0.01270578],
    [0.04684553, -0.0619101, 0.00684686, 0.68705124],
]
ROW = re.compile(r"^\s*\[([^\]]*)\]\s*$")


def parse(text: str) -> list[list[float]]:
    rows = []
    for line in text.splitlines():
        m = ROW.match(line)
        if m:
            rows.append([float(x) for x in m.group(1).split()])
    return rows


def compare(rows: list[list[float]], tolerance: float) -> tuple[bool, float, str]:
    if len(rows) != 4 or any(len(r) != 4 for r in rows):
        return False, float("inf"), f"expected a 4 x 4 matrix, read {len(rows)} rows"
    worst, where = max((abs(rows[i][j] - CARD[i][j]), (i, j)) for i in range(4) for j in range(4))
    i, j = where
    return worst <= tolerance, worst, f"largest difference {worst:.2e} at row {i + 1}, column {j + 1} " \
        f"(got {rows[i][j]:.8f}, card {CARD[i][j]:.8f})"


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tolerance", type=float, default=1e-4)
    args = ap.parse_args(argv)
    ok, _, message = compare(parse(sys.stdin.read()), args.tolerance)
    print(("matches the model card: " if ok else "does NOT match the model card: ") + message)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
