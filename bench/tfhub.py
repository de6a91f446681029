#!/usr/bin/env python3
"""The TF Hub twin in TensorFlow vs the same twin imported into kse (not part of `make test`).

    make bench-tfhub        (or: .cache/tf-venv/bin/python bench/tfhub.py --twin target/tfhub-twin)

Same machine, same run, same sentences (the 3,000 KorSTS dev sentences), same
architecture and weights (3 x 768, 12 heads; docs/import-tfhub.md):
  tensorflow   the seed's own runtime: preprocess SavedModel + encoder SavedModel
               through tf.saved_model.load, strings in, batches of 32 (as the
               seed card's Keras model would be called), L2-normalised out;
  tensorflow-trimmed  the same, but the packed [32, 128] inputs cut to the
               batch's longest sentence before the encoder (what TensorFlow
               gives without the fixed 128-token padding: separates the
               padding's cost from the runtime's);
  kse-32       kse through its C ABI (Python binding), one call per 32 sentences;
  kse          kse, one call for all 3,000 (the library batches them itself).
Each is warmed up, then timed --repeats times, interleaved (tf, kse-32, kse, tf, ...);
the median counts. Threads: both use every core (--threads, default all).
Writes --out (JSON) and prints the table BENCHMARKS.md quotes.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))
sys.path.insert(0, str(REPO / "bindings" / "python"))
import sts_data  # noqa: E402

BATCH = 32


def git_describe() -> str:
    import subprocess

    def git(*a: str) -> str:
        return subprocess.run(["git", *a], cwd=REPO, capture_output=True, text=True).stdout.strip()

    return git("rev-parse", "--short", "HEAD") + (" (uncommitted changes)" if git("status", "--porcelain") else "")


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--twin", type=Path, default=REPO / "target" / "tfhub-twin")
    ap.add_argument("--out", type=Path, default=REPO / "target" / "bench" / "tfhub.json")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--limit", type=int, default=0, help="use only the first N sentences (a quick look)")
    args = ap.parse_args(argv)

    import tensorflow as tf
    import tensorflow_text  # noqa: F401

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    import kse

    kse.load_library(REPO / "target" / "release" / "libkse.so")

    pairs = sts_data.read_pairs(sts_data.KORSTS_DEV)
    sentences = [s for p in pairs for s in p[:2]]
    if args.limit:
        sentences = sentences[: args.limit]
    batches = [sentences[i:i + BATCH] for i in range(0, len(sentences), BATCH)]

    pre = tf.saved_model.load(str(args.twin / "src" / "preprocess"))
    enc = tf.saved_model.load(str(args.twin / "src" / "encoder"))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def tf_model(texts):
        return tf.nn.l2_normalize(enc(pre(texts)), axis=-1)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def tf_trimmed(texts):
        packed = pre(texts)
        width = tf.reduce_max(tf.reduce_sum(packed["input_mask"], axis=1))
        return tf.nn.l2_normalize(enc({k: v[:, :width] for k, v in packed.items()}), axis=-1)

    encoder = kse.Encoder(args.twin / "model", intra_threads=args.threads)

    def run_tf(bs):
        return np.concatenate([tf_model(tf.constant(b)).numpy() for b in bs])

    def run_tf_trimmed(bs):
        return np.concatenate([tf_trimmed(tf.constant(b)).numpy() for b in bs])

    def run_kse32(bs):
        return np.concatenate([encoder.encode(b) for b in bs])

    def run_kse(bs):
        return encoder.encode([s for b in bs for s in b])

    runs = {"tensorflow": run_tf, "tensorflow-trimmed": run_tf_trimmed, "kse-32": run_kse32, "kse": run_kse}
    for fn in runs.values():  # warm-up: graph tracing, session start
        fn(batches[:2])
    outputs = {}
    times: dict[str, list[float]] = {k: [] for k in runs}
    for r in range(args.repeats):
        for name, fn in runs.items():
            t0 = time.perf_counter()
            outputs[name] = fn(batches)
            times[name].append(time.perf_counter() - t0)
            print(f"  repeat {r + 1}: {name:<10} {times[name][-1]:8.2f} s", flush=True)
    others = [k for k in runs if k != "tensorflow"]
    agree = {k: float(np.abs(outputs[k] - outputs["tensorflow"]).max()) for k in others}
    median = {k: statistics.median(v) for k, v in times.items()}
    rate = {k: len(sentences) / v for k, v in median.items()}
    result = {
        "what": "TF Hub twin (3 x 768, 12 heads, seq 128): TensorFlow SavedModels vs the imported model in kse",
        "sentences": len(sentences),
        "tf_batch": BATCH,
        "threads": args.threads,
        "repeats": args.repeats,
        "seconds": times,
        "median_seconds": median,
        "sentences_per_second": rate,
        "ratio_vs_tensorflow": {k: rate[k] / rate["tensorflow"] for k in others},
        "ratio_vs_tensorflow_trimmed": {k: rate[k] / rate["tensorflow-trimmed"] for k in ("kse-32", "kse")},
        "max_abs_diff_vs_tensorflow": agree,
        "machine": {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine(),
                    "load_avg_after": os.getloadavg()[0]},
        "versions": {"tensorflow": tf.__version__, "kse": kse.library_version()},
        "git": git_describe(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print("\n| runtime | sentences/s | vs TensorFlow | vs TensorFlow trimmed | max abs diff vs TF |")
    print("|---|---:|---:|---:|---:|")
    for k in runs:
        diff = "—" if k == "tensorflow" else f"{agree[k]:.1e}"
        print(f"| {k} | {rate[k]:.1f} | {rate[k] / rate['tensorflow']:.2f}x | "
              f"{rate[k] / rate['tensorflow-trimmed']:.2f}x | {diff} |")
    print(f"\nwritten: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
