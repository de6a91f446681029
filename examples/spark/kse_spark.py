"""kse inside Spark executors: one encoder per Python worker, reused across batches and tasks.

Shipped to executors with `--py-files` (see examples/spark/README.md). It must be
an importable module, not code in the job script: Spark pickles functions of the
job script by value, so a cache kept there would be rebuilt for every task;
this module is imported once per Python worker and keeps its encoder for the
worker's life (spark.python.worker.reuse, on by default).

The native libraries, the Python binding and the model arrive in one archive
(`--archives kse-bundle.tar.gz#kse`, made by make_bundle.py):

    kse/                     the archive, unpacked by Spark on every executor
      python/kse/            the Python binding (ctypes over libkse)
      lib/libkse.so          libkse, with libonnxruntime.so.1 beside it
      models/NAME/           model directories
"""
from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

#: Output column with the vector (array<float>), and with the error message
#: of a row that could not be embedded (on_error="null" only).
EMBEDDING = "embedding"
ERROR = "kse_error"

_ENCODER = None
_ENCODER_KEY = None
#: Encoders this worker process has created, and pandas batches it embedded
#: (with KSE_SPARK_STATS_DIR set, written to DIR/PID.json after every batch:
#: the tests check that a worker creates one encoder, whatever it embeds).
created = 0
batches = 0
seconds = 0.0


@dataclass(frozen=True)
class JobOptions:
    archive: str = "kse"          # the --archives alias
    model: str = "kse-ko-small"   # a name under models/ in the archive, or an absolute path
    text_column: str = "text"
    threads: int = 1              # ONNX Runtime threads per encoder (one encoder per task slot)
    batch_size: int = 256         # sentences per library call
    on_error: str = "fail"        # "fail": the task fails naming the row; "null": null vector + kse_error
    long: str = "truncate"        # a text over max tokens: "truncate", "error" (a bad row) or "window"
    window_overlap: int = 32      # long="window": tokens consecutive windows share
    key_column: Optional[str] = None  # named in error messages


def bundle_dir(alias: str) -> Path:
    """Where Spark unpacked the archive: the task's working directory on a
    cluster (YARN, Kubernetes, standalone), SparkFiles' root in local mode."""
    candidates = [Path.cwd() / alias]
    try:
        from pyspark import SparkFiles

        candidates.append(Path(SparkFiles.get(alias)))
        candidates.append(Path(SparkFiles.getRootDirectory()) / alias)
    except Exception:  # noqa: BLE001 - outside Spark (tests of this module)
        pass
    env = os.environ.get("KSE_BUNDLE_DIR")
    if env:
        candidates.insert(0, Path(env))
    for c in candidates:
        if (c / "lib" / "libkse.so").exists():
            return c
    raise RuntimeError(
        f"kse bundle {alias!r} not found (looked in {', '.join(map(str, candidates))}); "
        f"ship it with --archives kse-bundle.tar.gz#{alias}"
    )


def encoder(opts: JobOptions):
    """This worker's encoder, created on first use and kept."""
    global _ENCODER, _ENCODER_KEY, created
    key = (opts.archive, opts.model, opts.threads, opts.long, opts.window_overlap)
    if _ENCODER is not None and _ENCODER_KEY == key:
        return _ENCODER
    root = bundle_dir(opts.archive)
    sys.path.insert(0, str(root / "python"))
    # The unpacked archive itself is a directory named like its alias (often
    # "kse") in the working directory, which Python would import as an empty
    # namespace package; make sure `kse` is the binding.
    stale = sys.modules.get("kse")
    if stale is not None and not hasattr(stale, "load_library"):
        del sys.modules["kse"]
    import kse

    kse.load_library(root / "lib" / "libkse.so")
    model = Path(opts.model) if os.path.isabs(opts.model) else root / "models" / opts.model
    if _ENCODER is not None:
        _ENCODER.close()
    _ENCODER = kse.Encoder(model, intra_threads=opts.threads, long=opts.long, window_overlap=opts.window_overlap)
    _ENCODER_KEY = key
    created += 1
    return _ENCODER


def _row_name(opts: JobOptions, frame, i: int) -> str:
    if opts.key_column and opts.key_column in frame.columns:
        key = frame[opts.key_column].iloc[i]
        return f"{opts.key_column}={key.item() if hasattr(key, 'item') else key!r}"
    return f"row {i} of its Arrow batch"


def _fail(opts: JobOptions, frame, i: int, why: str) -> None:
    from pyspark import TaskContext

    ctx = TaskContext.get()
    where = f" (partition {ctx.partitionId()}, attempt {ctx.attemptNumber()})" if ctx else ""
    raise ValueError(f"kse: cannot embed {_row_name(opts, frame, i)}{where}: {why}; "
                     f"run with --on-error null to keep going and report such rows in column {ERROR}")


def embed_frame(opts: JobOptions, frame):
    """One pandas batch in, the same rows in the same order out, plus the embedding column."""
    import time

    import numpy as np

    start_time = time.perf_counter()
    enc = encoder(opts)
    import kse  # the binding, now importable (encoder() put it on sys.path)
    texts = frame[opts.text_column].tolist()
    vectors: list = [None] * len(texts)
    errors: list = [None] * len(texts)
    good = []
    for i, t in enumerate(texts):
        if isinstance(t, str):
            good.append(i)
        else:
            why = "the text is null" if t is None or (isinstance(t, float) and np.isnan(t)) else \
                f"the text is {type(t).__name__}, not a string"
            if opts.on_error == "fail":
                _fail(opts, frame, i, why)
            errors[i] = why
    for start in range(0, len(good), opts.batch_size):
        idx = good[start:start + opts.batch_size]
        batch = [texts[i] for i in idx]
        try:
            out = enc.encode(batch)
            for r, i in enumerate(idx):
                vectors[i] = out[r]
        except (kse.InputTooLongError, kse.InvalidUtf8Error, kse.TokenizerError):
            # Find the bad rows one by one; the rest of the batch still gets its vectors.
            for i in idx:
                try:
                    vectors[i] = enc.encode([texts[i]])[0]
                except (kse.InputTooLongError, kse.InvalidUtf8Error, kse.TokenizerError) as e:
                    # The library names the text by its index in the call, here always 0.
                    why = re.sub(r"^text 0(:?) ", r"the text\1 ", e.message)
                    if opts.on_error == "fail":
                        _fail(opts, frame, i, why)
                    errors[i] = why
    out = frame.copy()
    out[EMBEDDING] = vectors
    if opts.on_error == "null":
        out[ERROR] = errors
    _record_stats(time.perf_counter() - start_time)
    return out


def _peak_rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _record_stats(elapsed: float) -> None:
    global batches, seconds
    batches += 1
    seconds += elapsed
    where = os.environ.get("KSE_SPARK_STATS_DIR")
    if where:
        import json

        path = Path(where) / f"{os.getpid()}.json"
        path.write_text(json.dumps({"pid": os.getpid(), "encoders": created, "batches": batches,
                                    "seconds": seconds, "peak_rss_mb": _peak_rss_mb()}))


def embed_partitions(opts: JobOptions):
    """The function for DataFrame.mapInPandas."""
    def run(frames: Iterator) -> Iterator:
        for n, frame in enumerate(frames):
            if n == 1:
                _maybe_die_for_test()
            yield embed_frame(opts, frame)
    return run


def _maybe_die_for_test() -> None:
    """Fault injection for the retry test: KSE_SPARK_TEST_DIE_PARTITION=N makes
    the first attempt of partition N kill its Python worker after it has sent
    its first batch (a worker dying mid-task)."""
    target = os.environ.get("KSE_SPARK_TEST_DIE_PARTITION")
    if target is None:
        return
    from pyspark import TaskContext

    ctx = TaskContext.get()
    if ctx is not None and ctx.partitionId() == int(target) and ctx.attemptNumber() == 0:
        os._exit(17)
