#!/usr/bin/env python3
"""TensorFlow's side of the TF Hub twin test: what the twin's own SavedModels
give on every KorSTS dev sentence and on sentences over 128 tokens.

    make_reference.py --twin target/tfhub-twin/src --out target/tfhub-twin/reference

Runs the preprocess SavedModel and the encoder SavedModel with TensorFlow
(tf.saved_model.load, batches of 64, as the seed card's pipeline: strings ->
preprocess -> encoder) and writes:
  sentences.json   {"dev": [...3000], "long": [...]} the inputs
  ids.json         {"dev": [[...]], "long": [[...]]} the preprocess ids, padding removed
  embeddings.npy   float32 [3000 + len(long), 768], the encoder's raw output
Needs the TF venv (importers/tfhub/requirements-tfhub.lock); tests/tfhub/test_twin.py
compares kse with these through the C ABI.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))
import sts_data  # noqa: E402


def long_sentences(dev: list[str], n: int = 40) -> list[str]:
    """Runs of consecutive dev sentences joined until well past 128 tokens."""
    out, i = [], 0
    while len(out) < n:
        k = 8 + len(out) % 17
        out.append(" ".join(dev[i:i + k]))
        i += k
    return out


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--twin", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--data", type=Path, default=sts_data.DATA)
    args = ap.parse_args(argv)

    import tensorflow as tf
    import tensorflow_text  # noqa: F401

    pairs = sts_data.read_pairs(args.data / "korsts" / "sts-dev.tsv")
    dev = [s for p in pairs for s in p[:2]]
    sets = {"dev": dev, "long": long_sentences(dev)}
    pre = tf.saved_model.load(str(args.twin / "preprocess"))
    enc = tf.saved_model.load(str(args.twin / "encoder"))
    ids: dict[str, list[list[int]]] = {}
    embs = []
    for name, sentences in sets.items():
        ids[name] = []
        for start in range(0, len(sentences), 64):
            packed = pre(tf.constant(sentences[start:start + 64]))
            word, mask = packed["input_word_ids"].numpy(), packed["input_mask"].numpy()
            ids[name] += [row[: m.sum()].tolist() for row, m in zip(word, mask)]
            embs.append(enc(packed).numpy())
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "sentences.json").write_text(json.dumps(sets, ensure_ascii=False), encoding="utf-8")
    (args.out / "ids.json").write_text(json.dumps(ids), encoding="utf-8")
    np.save(args.out / "embeddings.npy", np.concatenate(embs).astype(np.float32))
    cut = sum(len(r) == 128 for r in ids["long"])
    print(f"reference: {len(dev)} dev + {len(sets['long'])} long sentences ({cut} cut at 128 tokens) -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
