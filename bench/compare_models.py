#!/usr/bin/env python3
"""Speed of two model directories through kse's C ABI, in one run: the ratio a model change is judged by.

    .cache/venv/bin/python bench/compare_models.py BASELINE_DIR CANDIDATE_DIR [--rounds 3] [--limit 400]

Builds bench/kse_bench.c against target/release/libkse.so (into target/bench/), then for each round runs
kse_bench on both models, alternating which goes first, over the first --limit KorSTS dev sentences in
calls of 1, 8, 32 and 128 texts (2 threads). Prints texts/s (the fastest round of each) and the ratio
candidate / baseline per batch size, and the peak RSS of each process.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import KORSTS, KSE_BENCH_BUILD, OUT, RELEASE, reference  # noqa: E402  (bench/run.py)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("baseline", type=Path)
    ap.add_argument("candidate", type=Path)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--limit", type=int, default=400)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    subprocess.run(KSE_BENCH_BUILD, check=True)
    exe = Path(KSE_BENCH_BUILD[-1])
    texts = OUT / "korsts-dev-sentences.txt"
    texts.write_text("".join(f"{s}\n" for a_, b, _ in reference.read_korsts(KORSTS) for s in (a_, b)),
                     encoding="utf-8")
    best: dict[str, dict[int, float]] = {"baseline": {}, "candidate": {}}
    rss: dict[str, int] = {}
    for r in range(a.rounds):
        order = [("baseline", a.baseline), ("candidate", a.candidate)]
        for name, model in order if r % 2 == 0 else order[::-1]:
            out = subprocess.run([str(exe), str(model), str(texts), "--threads", str(a.threads), "--batches",
                                  "1,8,32,128", "--limit", str(a.limit), "--warmup", "16"],
                                 check=True, capture_output=True, text=True, env={"KSE_ORT_LIBRARY": str(
                                     RELEASE / "libonnxruntime.so.1")}).stdout
            res = json.loads(out)
            rss[name] = max(rss.get(name, 0), res.get("rss_after_warmup_kb", 0))
            for t in res["throughput"]:
                best[name][t["batch"]] = max(best[name].get(t["batch"], 0.0), t["n"] / t["seconds"])
    print(f"| caller batch | {a.baseline} (texts/s) | {a.candidate} (texts/s) | ratio |")
    print("|---:|---:|---:|---:|")
    for b in sorted(best["baseline"]):
        x, y = best["baseline"][b], best["candidate"][b]
        print(f"| {b} | {x:.1f} | {y:.1f} | {y / x:.3f} |")
    print(f"RSS after warm-up: {rss['baseline'] / 1024:.0f} MB / {rss['candidate'] / 1024:.0f} MB "
          f"({a.rounds} rounds, fastest of each, {a.threads} threads, first {a.limit} KorSTS dev sentences)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
