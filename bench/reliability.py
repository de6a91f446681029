"""Long runs for RELIABILITY.md (not part of `make test`):

    .cache/venv/bin/python bench/reliability.py            # about 15 minutes on 2 cores
    .cache/venv/bin/python bench/reliability.py --quick    # about 2 minutes

1. soak: one encoder encodes N texts of random length (1 to ~600 tokens) in
   calls of 1 to 32 texts; resident memory is sampled every N/100 texts.
   Verdict: after warm-up (the first 10% of the texts) RSS grows at most 5%.
   Runs on the tiny test model (200,000 texts) and on the default model
   (fewer texts: a ~300-token text takes ~0.1 s there).
2. churn: create an encoder, encode 4 texts, free it, N times; RSS sampled
   after each sampled free, before and after glibc's malloc_trim. Verdict:
   trimmed RSS over the last 20% of the loop at most 2 MiB above its highest
   value over 10-30% of the loop.

Writes target/reliability/results.json, soak.svg, churn.svg and prints a summary.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "target" / "reliability"
RELEASE = ROOT / "target" / "release"
MODELS = ROOT / "target" / "test-models"
DEFAULT = ROOT / "models" / "multilingual-e5-small"  # the 470 MB fp32 e5-small: the largest model kse ships a recipe for
sys.path.insert(0, str(ROOT / "bench"))
import svgplot  # noqa: E402

GROWTH_LIMIT = 0.05     # soak: RSS after warm-up may grow at most 5%
CHURN_LIMIT_MB = 2.0    # churn: RSS late in the loop at most this far above RSS early in it


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def build() -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    exe = OUT / "soak"
    cmd = ["gcc", "-O2", "-std=c99", "-Wall", "-Wextra", "-Wno-unused-function", f"-I{ROOT / 'include'}", f"-I{ROOT / 'bench'}",
           str(ROOT / "bench" / "soak.c"), f"-L{RELEASE}", "-lkse", f"-Wl,-rpath,{RELEASE}", "-o", str(exe)]
    subprocess.run(cmd, check=True)
    return exe


def run(exe: Path, mode: str, model: Path, n: int) -> list[dict]:
    cmd = [str(exe), mode, str(model), str(n)]
    log("$ " + " ".join(cmd).replace(str(ROOT) + "/", ""))
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr[-2000:]}")
    return [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]


def soak_verdict(lines: list[dict], name: str) -> dict:
    prog = [x for x in lines if x["event"] == "progress"]
    done = next(x for x in lines if x["event"] == "done")
    n = done["texts"]
    warm = next(x for x in prog if x["texts"] >= n // 10)
    after = [x for x in prog if x["texts"] >= warm["texts"]]
    peak = max(x["rss_kb"] for x in after)
    growth = peak / warm["rss_kb"] - 1
    final_growth = after[-1]["rss_kb"] / warm["rss_kb"] - 1
    return {"name": name, "texts": n, "calls": done["calls"], "tokens": done["tokens"], "truncated": done["truncated"],
            "mean_tokens": done["tokens"] / n, "seconds": done["s"], "loaded_rss_mb": lines[0]["rss_kb"] / 1024,
            "warm_texts": warm["texts"], "warm_rss_mb": warm["rss_kb"] / 1024, "peak_after_warm_mb": peak / 1024,
            "final_rss_mb": after[-1]["rss_kb"] / 1024, "growth": growth, "final_growth": final_growth,
            "ok": growth <= GROWTH_LIMIT, "curve": [(x["texts"], x["rss_kb"] / 1024) for x in prog],
            "rss_after_free_mb": done["rss_after_free_kb"] / 1024, "hwm_mb": done["hwm_kb"] / 1024}


def churn_verdict(lines: list[dict], name: str) -> dict:
    """Growth = highest RSS over the last 20% of the samples minus the highest
    over 10-30% of the run (RSS after glibc's malloc_trim, so pages the
    allocator keeps for reuse do not count; both are reported)."""
    prog = [x for x in lines if x["event"] == "progress"]
    done = next(x for x in lines if x["event"] == "done")
    n = done["encoders"]
    early = [x for x in prog if 0.1 * n <= x["encoders"] <= 0.3 * n] or prog[:2]
    late = [x for x in prog if x["encoders"] >= 0.8 * n] or prog[-2:]
    mb = lambda xs, k: max(x[k] for x in xs) / 1024  # noqa: E731
    delta = mb(late, "rss_trimmed_kb") - mb(early, "rss_trimmed_kb")
    return {"name": name, "encoders": n, "seconds": done["s"], "start_rss_mb": lines[0]["rss_kb"] / 1024,
            "after_first_mb": prog[0]["rss_trimmed_kb"] / 1024,
            "early_trimmed_mb": mb(early, "rss_trimmed_kb"), "late_trimmed_mb": mb(late, "rss_trimmed_kb"),
            "early_mb": mb(early, "rss_kb"), "late_mb": mb(late, "rss_kb"), "max_rss_mb": mb(prog, "rss_kb"),
            "delta_mb": delta, "ok": delta <= CHURN_LIMIT_MB,
            "curve": [(x["encoders"], x["rss_kb"] / 1024) for x in prog],
            "curve_trimmed": [(x["encoders"], x["rss_trimmed_kb"] / 1024) for x in prog]}


def plot(path: Path, title: str, xlabel: str, results: list[dict], colors: list[str]) -> None:
    for r, color in zip(results, colors):
        xs = [x for x, _ in r["curve"]]
        svgplot.line_chart(str(path.with_name(path.stem + "-" + r["name"] + ".svg")), f"{title}: {r['name']}", xlabel,
                           "resident set (MiB)", xs, [{"label": r["name"], "ys": [y for _, y in r["curve"]],
                                                       "color": color}],
                           label_every=max(1, len(xs) // 10))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", choices=["soak", "churn"], help="run one part (results.json then holds only it)")
    a = ap.parse_args()
    for p in (MODELS / "tiny-e5", MODELS / "tiny-seed", DEFAULT, RELEASE / "libkse.so"):
        if not p.exists():
            raise SystemExit(f"missing {p}: run `make setup test-models` first")
    exe = build()
    n_tiny, n_default, n_churn, n_churn_default = (20000, 200, 100, 10) if a.quick else (200000, 1500, 1000, 40)
    t0 = time.perf_counter()
    soaks, churns = [], []
    if a.only in (None, "soak"):
        soaks = [soak_verdict(run(exe, "encode", MODELS / "tiny-e5", n_tiny), "tiny-e5"),
                 soak_verdict(run(exe, "encode", DEFAULT, n_default), "multilingual-e5-small")]
    if a.only in (None, "churn"):
        churns = [churn_verdict(run(exe, "churn", MODELS / "tiny-seed", n_churn), "tiny-seed"),
                  churn_verdict(run(exe, "churn", DEFAULT, n_churn_default), "multilingual-e5-small")]
    res = {"mode": "quick" if a.quick else "full", "soak": soaks, "churn": churns,
           "limits": {"soak_growth": GROWTH_LIMIT, "churn_mb": CHURN_LIMIT_MB},
           "command": f".cache/venv/bin/python bench/reliability.py{' --quick' if a.quick else ''}"
                      f"{' --only ' + a.only if a.only else ''}",
           "elapsed_s": time.perf_counter() - t0}
    (OUT / ("results.json" if not a.only else f"results-{a.only}.json")).write_text(json.dumps(res, indent=1))
    plot(OUT / "soak.svg", "RSS while encoding", "texts encoded", soaks, ["#1f77b4", "#d62728"])
    plot(OUT / "churn.svg", "RSS over create/encode/free", "encoders created and freed",
         [dict(c, curve=c["curve_trimmed"]) for c in churns], ["#2ca02c", "#9467bd"])
    for s in soaks:
        log(f"soak {s['name']}: {s['texts']} texts ({s['mean_tokens']:.0f} tokens mean, {s['truncated']} truncated) in "
            f"{s['seconds']:.0f} s; RSS {s['warm_rss_mb']:.1f} MiB after {s['warm_texts']} texts, peak after that "
            f"{s['peak_after_warm_mb']:.1f} (+{100 * s['growth']:.2f}%), final {s['final_rss_mb']:.1f} "
            f"(+{100 * s['final_growth']:.2f}%): {'ok' if s['ok'] else 'GREW'}")
    for c in churns:
        log(f"churn {c['name']}: {c['encoders']} encoders in {c['seconds']:.0f} s; RSS before the first "
            f"{c['start_rss_mb']:.1f} MiB, after the first (trimmed) {c['after_first_mb']:.1f}; trimmed RSS early "
            f"{c['early_trimmed_mb']:.1f}, late {c['late_trimmed_mb']:.1f} ({c['delta_mb']:+.2f} MiB); untrimmed early "
            f"{c['early_mb']:.1f}, late {c['late_mb']:.1f}: {'ok' if c['ok'] else 'GREW'}")
    ok = all(x["ok"] for x in soaks + churns)
    log(f"{'all within bounds' if ok else 'OUT OF BOUNDS'}; target/reliability/results.json")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
