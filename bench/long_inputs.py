#!/usr/bin/env python3
"""Long inputs (docs/long-inputs.md) with the default model, ratios within one run:

    make bench-long     (or: .cache/venv/bin/python bench/long_inputs.py [--huge-mb 10])

- window throughput: tokens/s of `long="window"` on a 100 KB and a 10 MB
  document against tokens/s of short sentences (KorSTS dev), each counted two
  ways: tokens fed to the model (`stats.tokens`: special, prefix and overlap
  tokens included, as for the short sentences) and document tokens
  (`count_tokens`); and against texts of up to max tokens encoded as plain
  texts (the 100 KB document's chunks), which separates what windowing costs
  from what the model's longer rows cost;
- truncate: the time of encoding a 10 MB text under truncate against a text
  of exactly max tokens (median of --repeats calls each, alternating, in one
  process);
- memory: peak RSS of the process that windows the 10 MB document against a
  process that only loaded the model and encoded a few sentences.

Each measurement runs in its own child process (`--worker JOB`), so peak RSS
is the job's own. Documents are KorSTS and KLUE STS train sentences in
paragraphs, repeated to the size wanted. Writes target/bench/long.json and
prints the rows BENCHMARKS.md shows.
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))
sys.path.insert(0, str(REPO / "bindings" / "python"))
import sts_data  # noqa: E402

MODEL = REPO / "models" / "kse-ko-small"
LIBRARY = REPO / "target" / "release" / "libkse.so"
THREADS = 2


def sentences(path=sts_data.KORSTS_TRAIN) -> list[str]:
    return [s for p in sts_data.read_pairs(path) for s in p[:2]]


def document(nbytes: int) -> str:
    """KorSTS + KLUE STS train sentences, 8 to a paragraph, repeated to `nbytes` bytes."""
    sents = sentences() + sentences(sts_data.KLUE_TRAIN)
    paras = [" ".join(sents[i : i + 8]) for i in range(0, len(sents), 8)]
    base = "\n\n".join(paras)
    reps = nbytes // len(base.encode()) + 1
    return ("\n\n".join([base] * reps)).encode()[:nbytes].decode("utf-8", "ignore")


def encoder(long: str):
    import kse

    kse.load_library(LIBRARY)
    enc = kse.Encoder(MODEL, long=long, intra_threads=THREADS)
    enc.encode(sentences(sts_data.KORSTS_DEV)[:64])  # warm-up
    return enc


def worker(job: str, huge_mb: float, repeats: int) -> dict:
    out: dict = {"job": job}
    if job == "short":
        enc = encoder("truncate")
        texts = sentences(sts_data.KORSTS_DEV)
        t = time.perf_counter()
        _, st = enc.encode_with_stats(texts)
        out.update(secs=time.perf_counter() - t, fed=st.tokens, doc=st.tokens, texts=len(texts))
    elif job == "max-texts":
        # The 100 KB document cut into texts of up to max tokens (its chunks),
        # each encoded as a plain text: what rows of that length cost.
        enc = encoder("truncate")
        doc = document(100_000)
        texts = [c.text for c in enc.chunks(doc)]
        t = time.perf_counter()
        _, st = enc.encode_with_stats(texts)
        out.update(secs=time.perf_counter() - t, fed=st.tokens, doc=st.tokens, texts=len(texts))
    elif job.startswith("window-"):
        nbytes = 100_000 if job == "window-100k" else int(huge_mb * 1e6)
        doc = document(nbytes)
        enc = encoder("window")
        doc_tokens = enc.count_tokens(doc)
        t = time.perf_counter()
        _, st = enc.encode_with_stats([doc])
        out.update(secs=time.perf_counter() - t, fed=st.tokens, doc=doc_tokens, windows=st.windows, bytes=len(doc.encode()))
    elif job == "truncate":
        enc = encoder("truncate")
        huge = document(int(huge_mb * 1e6))
        # A text of exactly max tokens: whole sentences, then a cut to fit.
        words = document(20_000).split(" ")
        lo, hi = 1, len(words)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            lo, hi = (mid, hi) if enc.count_tokens(" ".join(words[:mid])) <= enc.max_tokens else (lo, mid - 1)
        full = " ".join(words[:lo])
        times: dict[str, list[float]] = {"max": [], "huge": []}
        for _ in range(repeats):
            for name, text in (("max", full), ("huge", huge)):
                t = time.perf_counter()
                _, st = enc.encode_with_stats([text])
                times[name].append(time.perf_counter() - t)
                assert st.truncated == (name == "huge"), (name, st)
        out.update(max_tokens_text=enc.count_tokens(full), huge_bytes=len(huge.encode()),
                   max_s=statistics.median(times["max"]), huge_s=statistics.median(times["huge"]), times=times)
    elif job == "idle":
        encoder("window")
    else:
        raise SystemExit(f"unknown job {job}")
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def run(job: str, args) -> dict:
    cmd = [sys.executable, __file__, "--worker", job, "--huge-mb", str(args.huge_mb), "--repeats", str(args.repeats)]
    print(f"-- {job}", file=sys.stderr, flush=True)
    res = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    print(f"   {res}"[:300], file=sys.stderr, flush=True)
    return res


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--huge-mb", type=float, default=10.0, help="size of the huge document, MB (default 10)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, default=REPO / "target" / "bench" / "long.json")
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.huge_mb, args.repeats)))
        return 0

    started = time.time()
    r = {j: run(j, args) for j in ("idle", "short", "max-texts", "window-100k", "truncate", "window-huge")}
    res = {"model": str(MODEL.relative_to(REPO)), "threads": THREADS, "huge_mb": args.huge_mb, "jobs": r,
           "elapsed_s": time.time() - started}
    rate = lambda j, k: r[j][k] / r[j]["secs"]  # noqa: E731
    res["ratios"] = {
        "window_100k_fed": rate("window-100k", "fed") / rate("short", "fed"),
        "window_100k_doc": rate("window-100k", "doc") / rate("short", "fed"),
        "window_huge_fed": rate("window-huge", "fed") / rate("short", "fed"),
        "window_huge_doc": rate("window-huge", "doc") / rate("short", "fed"),
        "max_texts_fed": rate("max-texts", "fed") / rate("short", "fed"),
        "window_100k_vs_max_texts": rate("window-100k", "fed") / rate("max-texts", "fed"),
        "window_huge_vs_max_texts": rate("window-huge", "fed") / rate("max-texts", "fed"),
        "truncate_huge_vs_max": r["truncate"]["huge_s"] / r["truncate"]["max_s"],
        "window_huge_rss_over_idle_mb": r["window-huge"]["peak_rss_mb"] - r["idle"]["peak_rss_mb"],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=1) + "\n")
    q = res["ratios"]
    print(f"| short sentences (KorSTS dev, {r['short']['texts']}) | {rate('short', 'fed'):.0f} | | 1.00 | |")
    print(f"| texts of up to max tokens ({r['max-texts']['texts']} chunks of the 100 KB document, each a plain text) "
          f"| {rate('max-texts', 'fed'):.0f} | | {q['max_texts_fed']:.2f} | |")
    for j, label in (("window-100k", "100 KB"), ("window-huge", f"{args.huge_mb:g} MB")):
        key = "100k" if j == "window-100k" else "huge"
        print(f"| window, one {label} document ({r[j]['windows']} windows) | {rate(j, 'fed'):.0f} | {rate(j, 'doc'):.0f} "
              f"| {q[f'window_{key}_fed']:.2f} | {q[f'window_{key}_doc']:.2f} |")
    print(f"window vs texts of max tokens (fed tokens/s): 100 KB {q['window_100k_vs_max_texts']:.2f}, "
          f"{args.huge_mb:g} MB {q['window_huge_vs_max_texts']:.2f}")
    t = r["truncate"]
    print(f"truncate: {args.huge_mb:g} MB text {t['huge_s'] * 1e3:.1f} ms vs a {t['max_tokens_text']}-token text "
          f"{t['max_s'] * 1e3:.1f} ms: {q['truncate_huge_vs_max']:.2f}x")
    print(f"peak RSS: model loaded {r['idle']['peak_rss_mb']:.0f} MB, windowing {args.huge_mb:g} MB "
          f"{r['window-huge']['peak_rss_mb']:.0f} MB (+{q['window_huge_rss_over_idle_mb']:.0f} MB)")
    print(f"wrote {args.out} in {res['elapsed_s'] / 60:.1f} min", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
