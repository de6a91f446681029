"""One Python-side benchmark process; prints one JSON object like kse_bench.

Engines (--engine):
  pipeline  Python `tokenizers` + `onnxruntime` as a careful user writes it
            (tests/python/reference.py's tokenisation, padding and pooling):
            caller batches of B in input order, each padded to its longest
            text; timed end to end (tokenise, pad, run, pool, normalise).
  raw       ONNX Runtime session time only: texts tokenised and feeds built
            beforehand; each caller batch of B is cut into the very runs kse
            makes (sorted longest first, rows x longest <= --batch-tokens, at
            most 256 rows; src/batch.rs plan) and only
            session.run is timed. The floor kse's overhead is measured against.
  kse-py    kse through its Python binding (bindings/python, ctypes).

Both ONNX Runtime engines use kse's session options (src/runtime.rs):
ORT_ENABLE_ALL, intra_op_num_threads = --threads, inter_op_num_threads = 1,
memory pattern off, session.qdq_matmulnbits_accuracy_level = 0. (Python
onnxruntime runs its own statically linked build of the same release as
kse's libonnxruntime.so.1.)

Run by bench/run.py with the repository as working directory.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "python"))
sys.path.insert(0, str(ROOT / "bindings" / "python"))

import reference  # noqa: E402  (tests/python/reference.py)

MAX_BATCH_SENTENCES = 256  # src/batch.rs


def status_kb(key: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return -1


def percentile(sorted_vals: list[float], p: float) -> float:
    """Nearest rank, as bench_util.h."""
    n = len(sorted_vals)
    if n == 0:
        return 0.0
    rank = min(max(int(np.ceil(p / 100.0 * n - 1e-9)), 1), n)
    return sorted_vals[rank - 1]


def plan_batches(lengths: list[int], budget: int) -> list[list[int]]:
    """kse's plan_batches: indices longest first, rows x longest <= budget."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])  # stable, like Rust's sort_by_key
    batches, cur, longest = [], [], 0
    for i in order:
        ln = max(lengths[i], 1)
        new_longest = max(longest, ln)
        fits = (len(cur) + 1) * new_longest <= budget and len(cur) < MAX_BATCH_SENTENCES
        if cur and not fits:
            batches.append(cur)
            cur, longest = [], 0
        longest = max(longest, ln)
        cur.append(i)
    if cur:
        batches.append(cur)
    return batches


def load_model(model_dir: str, threads: int) -> reference.Model:
    """reference.load with kse's session options."""
    import onnxruntime as ort
    from tokenizers import Tokenizer

    d = Path(model_dir)
    man = json.loads((d / reference.MANIFEST).read_text(encoding="utf-8"))
    tok = Tokenizer.from_file(str(d / man["tokenizer"]))
    tok.no_padding()
    tok.enable_truncation(max_length=int(man["max_tokens"]))
    pad_id = next((i for t in reference._PAD_TOKENS if (i := tok.token_to_id(t)) is not None), 0)
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.enable_mem_pattern = False
    so.log_severity_level = 3
    so.add_session_config_entry("session.qdq_matmulnbits_accuracy_level", "0")
    sess = ort.InferenceSession(str(d / man["graph"]), so, providers=["CPUExecutionProvider"])
    return reference.Model(d, man, tok, sess, pad_id)


class Pipeline:
    def __init__(self, a):
        self.m = load_model(a.model, a.threads)
        self.dim = int(self.m.manifest["dim"])

    def encode(self, texts: list[str]) -> tuple[np.ndarray, int]:
        ids = reference.token_ids(self.m, texts)
        return reference._run(self.m, ids), sum(map(len, ids))


class KsePy:
    def __init__(self, a):
        import kse

        self.enc = kse.Encoder(a.model, intra_threads=a.threads, batch_tokens=a.batch_tokens or None)
        self.dim = self.enc.dim
        self.version = kse.library_version() if hasattr(kse, "library_version") else None

    def encode(self, texts: list[str]) -> tuple[np.ndarray, int]:
        v, st = self.enc.encode_with_stats(texts)
        return v, st.tokens


class Raw:
    """Times session.run only; feeds are prepared (untimed) per call."""

    def __init__(self, a):
        self.m = load_model(a.model, a.threads)
        self.dim = int(self.m.manifest["dim"])
        self.budget = a.batch_tokens or 512
        self.out_name = self.m.manifest["output"]

    def prepare(self, ids: list[list[int]]) -> list[dict]:
        runs = plan_batches([len(x) for x in ids], self.budget)
        return [reference.feeds(self.m, [ids[i] for i in r]) for r in runs]

    def run(self, prepared: list[dict]) -> float:
        t = 0.0
        for f in prepared:
            t0 = time.perf_counter()
            self.m.session.run([self.out_name], f)
            t += time.perf_counter() - t0
        return t


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--engine", choices=["pipeline", "raw", "kse-py"], required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--input", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-tokens", type=int, default=0)
    ap.add_argument("--batches", default="1,8,32,128")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--warmup", type=int, default=64)
    ap.add_argument("--latency", type=int, default=0)
    ap.add_argument("--latency-reps", type=int, default=10)
    ap.add_argument("--embed-out")
    ap.add_argument("--embed-batch", type=int, default=32)
    ap.add_argument("--repeat", type=int, default=1, help="rounds over all batch sizes; the fastest pass counts")
    a = ap.parse_args()

    with open(a.input, encoding="utf-8") as f:
        texts = [line.rstrip("\r\n") for line in f]
    limit = len(texts) if a.limit <= 0 else min(a.limit, len(texts))
    batches = [max(int(b), 1) for b in a.batches.split(",") if b]

    t0 = time.perf_counter()
    eng = {"pipeline": Pipeline, "raw": Raw, "kse-py": KsePy}[a.engine](a)
    load_s = time.perf_counter() - t0
    res = {"engine": a.engine, "model": a.model, "dim": eng.dim, "threads": a.threads, "texts": len(texts),
           "load_s": load_s, "rss_after_load_kb": status_kb("VmRSS")}
    if a.engine == "raw":
        res["batch_tokens"] = eng.budget

    if a.engine == "raw":
        ids_all = reference.token_ids(eng.m, texts)
        w = min(a.warmup, len(texts))
        for s in range(0, w, 16):
            eng.run(eng.prepare(ids_all[s : min(s + 16, w)]))
        res["rss_after_warmup_kb"] = status_kb("VmRSS")
        prepared = {b: [eng.prepare(ids_all[s : min(s + b, limit)]) for s in range(0, limit, b)] for b in batches}
        secs = {b: [] for b in batches}
        for _ in range(max(a.repeat, 1)):
            for b in batches:
                secs[b].append(sum(eng.run(p) for p in prepared[b]))
        res["throughput"] = []
        for b in batches:
            padded = sum(int(np.prod(f[eng.m.manifest["inputs"]["input_ids"]].shape)) for p in prepared[b] for f in p)
            res["throughput"].append({"batch": b, "n": limit, "tokens": sum(map(len, ids_all[:limit])),
                                      "padded_tokens": padded, "runs": sum(map(len, prepared[b])),
                                      "calls": len(prepared[b]), "seconds": min(secs[b]), "seconds_all": secs[b]})
        del prepared
        if a.latency:
            k = min(a.latency, len(texts))
            all_s, med = [], []
            for i in range(k):
                p = eng.prepare([ids_all[i]])
                eng.run(p)
                one = sorted(eng.run(p) for _ in range(a.latency_reps))
                all_s += one
                med.append(percentile(one, 50))
            all_s.sort()
            res["latency"] = {"n": k, "reps": a.latency_reps, "per_sentence_median_s": med,
                              "p50_s": percentile(all_s, 50), "p90_s": percentile(all_s, 90),
                              "p99_s": percentile(all_s, 99)}
    else:
        out = np.zeros((len(texts), eng.dim), dtype=np.float32)
        w = min(a.warmup, len(texts))
        for s in range(0, w, 16):
            eng.encode(texts[s : min(s + 16, w)])
        res["rss_after_warmup_kb"] = status_kb("VmRSS")
        embedded = False
        passes = {b: [] for b in batches}
        for _ in range(max(a.repeat, 1)):
            for b in batches:
                secs, tokens, calls = 0.0, 0, 0
                for s in range(0, limit, b):
                    chunk = texts[s : min(s + b, limit)]
                    t0 = time.perf_counter()
                    v, nt = eng.encode(chunk)
                    out[s : s + len(chunk)] = v
                    secs += time.perf_counter() - t0
                    tokens += nt
                    calls += 1
                passes[b].append((secs, tokens, calls))
                if a.embed_out and not embedded and limit == len(texts) and b == a.embed_batch:
                    out.tofile(a.embed_out)
                    embedded = True
        res["throughput"] = [{"batch": b, "n": limit, "tokens": passes[b][0][1], "calls": passes[b][0][2],
                              "seconds": min(p[0] for p in passes[b]), "seconds_all": [p[0] for p in passes[b]]}
                             for b in batches]
        if a.latency:
            k = min(a.latency, len(texts))
            all_s, med = [], []
            for i in range(k):
                eng.encode(texts[i : i + 1])
                one = []
                for _ in range(a.latency_reps):
                    t0 = time.perf_counter()
                    eng.encode(texts[i : i + 1])
                    one.append(time.perf_counter() - t0)
                one.sort()
                all_s += one
                med.append(percentile(one, 50))
            all_s.sort()
            res["latency"] = {"n": k, "reps": a.latency_reps, "per_sentence_median_s": med,
                              "p50_s": percentile(all_s, 50), "p90_s": percentile(all_s, 90),
                              "p99_s": percentile(all_s, 99)}
        if a.embed_out:
            if embedded:
                res["full"] = f"throughput entry with batch {a.embed_batch}"
            else:
                t0 = time.perf_counter()
                for s in range(0, len(texts), a.embed_batch):
                    chunk = texts[s : s + a.embed_batch]
                    out[s : s + len(chunk)] = eng.encode(chunk)[0]
                res["full"] = {"batch": a.embed_batch, "n": len(texts), "seconds": time.perf_counter() - t0}
                out.tofile(a.embed_out)
    res["rss_hwm_kb"] = status_kb("VmHWM")
    res["rss_end_kb"] = status_kb("VmRSS")
    res["rss_anon_end_kb"] = status_kb("RssAnon")
    res["rss_file_end_kb"] = status_kb("RssFile")
    json.dump(res, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
