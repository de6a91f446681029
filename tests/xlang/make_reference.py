#!/usr/bin/env python3
"""Writes the cross-language reference: the embeddings of tests/xlang/sentences.json
by the independent Python pipeline (tests/python/reference.py: Python tokenizers +
onnxruntime) on the default model.

    python tests/xlang/make_reference.py [--model DIR] [--out DIR]

Outputs (default target/xlang/): reference.f32 (little-endian float32, row-major
[n, dim]), reference.json ({"n", "dim", "model", "sentences"}) and
sentences.txt (the sentences, one per line, UTF-8, for languages without a
JSON parser at hand). Every
binding's test encodes the same sentences through the library and compares.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO / "tests" / "python"))
import reference  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, default=REPO / "models" / "multilingual-e5-small")
    ap.add_argument("--out", type=Path, default=REPO / "target" / "xlang")
    args = ap.parse_args()
    sentences = json.loads((HERE / "sentences.json").read_text(encoding="utf-8"))["sentences"]
    model = reference.load(args.model)
    emb = reference.embed(model, sentences).astype("<f4")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "reference.f32").write_bytes(emb.tobytes())
    meta = {"n": len(sentences), "dim": int(emb.shape[1]), "model": str(args.model), "sentences": sentences}
    assert not any("\n" in s or "\r" in s for s in sentences), "sentences.txt needs one line per sentence"
    (args.out / "sentences.txt").write_text("".join(s + "\n" for s in sentences), encoding="utf-8")
    (args.out / "reference.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}/reference.f32 ({emb.shape[0]} x {emb.shape[1]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
