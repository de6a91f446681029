#!/usr/bin/env python3
"""kse inside Spark (examples/spark/embed.py) vs the kse CLI on the same sentences (not part of `make test`).

    make bench-spark     (or: .cache/spark-venv/bin/python bench/spark.py)

Input: --sentences distinct Korean sentences (KorSTS train + dev, KLUE STS
train; default 10,000) as 8 Parquet files. Runs, interleaved, --repeats times:
  cli-1     kse encode, 1 ONNX Runtime thread
  spark-1   spark-submit --master local[1], one task slot, 1 thread per encoder
  cli-2     kse encode, 2 threads
  spark-2   spark-submit --master local[2], two task slots (two Python workers,
            one encoder each), 1 thread per encoder
Reports sentences/s of each (wall time of the whole command: JVM start, reading,
writing Parquet included), Spark's overhead over the CLI at the same core count,
1 -> 2 core scaling, the time the workers spent inside kse_spark (encode +
pandas), and each Python worker's peak RSS (model + ONNX Runtime sessions).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))
import sts_data  # noqa: E402

RELEASE = REPO / "target" / "release"
MODEL = REPO / "models" / "kse-ko-small"


def corpus(n: int) -> list[str]:
    seen: dict[str, None] = {}
    for path in (sts_data.KORSTS_TRAIN, sts_data.KORSTS_DEV, sts_data.KLUE_TRAIN):
        for p in sts_data.read_pairs(path):
            for s in p[:2]:
                if "\n" not in s and "\r" not in s:
                    seen.setdefault(s, None)
    texts = list(seen)
    if len(texts) < n:
        raise SystemExit(f"only {len(texts)} distinct sentences available; use --sentences {len(texts)}")
    return texts[:n]


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sentences", type=int, default=10000)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--out", type=Path, default=REPO / "target" / "bench" / "spark.json")
    args = ap.parse_args(argv)

    import pyarrow as pa
    import pyarrow.parquet as pq

    texts = corpus(args.sentences)
    work = Path(tempfile.mkdtemp(prefix="kse-bench-spark-"))
    try:
        lines = work / "in.txt"
        lines.write_text("".join(t + "\n" for t in texts), encoding="utf-8")
        src = work / "in.parquet"
        src.mkdir()
        step = -(-len(texts) // 8)
        for f in range(8):
            chunk = range(f * step, min(len(texts), (f + 1) * step))
            pq.write_table(pa.table({"id": pa.array(list(chunk), pa.int64()), "text": [texts[i] for i in chunk]}),
                           src / f"part-{f:05d}.parquet")
        bundle = work / "kse-bundle.tar.gz"
        subprocess.run([sys.executable, str(REPO / "examples" / "spark" / "make_bundle.py"), "--out", str(bundle)],
                       check=True)
        env = dict(os.environ, PYSPARK_PYTHON=sys.executable, KSE_ORT_LIBRARY=str(RELEASE / "libonnxruntime.so.1"))

        def cli(threads: int) -> dict:
            out = work / "cli.npy"
            t0 = time.perf_counter()
            subprocess.run([str(RELEASE / "kse"), "--model", str(MODEL), "--threads", str(threads), "--quiet",
                            "encode", str(lines), "-o", str(out)], check=True, env=env)
            return {"seconds": time.perf_counter() - t0}

        def spark(cores: int) -> dict:
            out, stats = work / "out.parquet", work / "stats"
            shutil.rmtree(out, ignore_errors=True)
            shutil.rmtree(stats, ignore_errors=True)
            stats.mkdir()
            cmd = [str(Path(sys.executable).parent / "spark-submit"), "--master", f"local[{cores}]",
                   "--conf", "spark.ui.enabled=false", "--conf", f"spark.pyspark.python={sys.executable}",
                   "--archives", f"{bundle}#kse", "--py-files", str(REPO / "examples" / "spark" / "kse_spark.py"),
                   str(REPO / "examples" / "spark" / "embed.py"), "--input", str(src), "--output", str(out),
                   "--threads", "1"]
            t0 = time.perf_counter()
            r = subprocess.run(cmd, capture_output=True, text=True, env=dict(env, KSE_SPARK_STATS_DIR=str(stats)))
            wall = time.perf_counter() - t0
            if r.returncode != 0:
                raise SystemExit(f"spark-submit failed:\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}")
            workers = [json.loads(p.read_text()) for p in stats.glob("*.json")]
            rows = sum(pq.read_metadata(p).num_rows for p in out.glob("part-*.parquet"))
            assert rows == len(texts), (rows, len(texts))
            return {"seconds": wall, "workers": len(workers),
                    "encoders": sum(w["encoders"] for w in workers),
                    "worker_seconds": sum(w["seconds"] for w in workers),
                    "worker_peak_rss_mb": max(w["peak_rss_mb"] for w in workers)}

        runs = {"cli-1": lambda: cli(1), "spark-1": lambda: spark(1), "cli-2": lambda: cli(2),
                "spark-2": lambda: spark(2)}
        results: dict[str, list[dict]] = {k: [] for k in runs}
        for r in range(args.repeats):
            for name, fn in runs.items():
                results[name].append(fn())
                print(f"  repeat {r + 1}: {name:<8} {results[name][-1]['seconds']:7.1f} s", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    med = {k: statistics.median(x["seconds"] for x in v) for k, v in results.items()}
    rate = {k: len(texts) / v for k, v in med.items()}
    summary = {
        "sentences": len(texts),
        "repeats": args.repeats,
        "runs": results,
        "median_seconds": med,
        "sentences_per_second": rate,
        "spark_over_cli": {"1 core": med["spark-1"] / med["cli-1"], "2 cores": med["spark-2"] / med["cli-2"]},
        "scaling_1_to_2": {"spark": rate["spark-2"] / rate["spark-1"], "cli": rate["cli-2"] / rate["cli-1"]},
        "machine": {"cpus": os.cpu_count(), "load_avg_after": os.getloadavg()[0]},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2) + "\n")
    print("\n| run | sentences/s | seconds (median) | inside workers (s) | worker peak RSS (MB) |")
    print("|---|---:|---:|---:|---:|")
    for k in runs:
        last = results[k][-1]
        inside = f"{statistics.median(x['worker_seconds'] for x in results[k]):.1f}" if "worker_seconds" in last else "—"
        rss = f"{last['worker_peak_rss_mb']:.0f}" if "worker_peak_rss_mb" in last else "—"
        print(f"| {k} | {rate[k]:.0f} | {med[k]:.1f} | {inside} | {rss} |")
    print(f"\nSpark / CLI time: 1 core {summary['spark_over_cli']['1 core']:.2f}x, "
          f"2 cores {summary['spark_over_cli']['2 cores']:.2f}x; "
          f"1 -> 2 cores: Spark {summary['scaling_1_to_2']['spark']:.2f}x, CLI {summary['scaling_1_to_2']['cli']:.2f}x")
    print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
