"""examples/spark/embed.py under spark-submit, local[2]: the Spark job's vectors
equal the CLI's, rows and keys stay in order, one encoder per Python worker,
bad rows are reported or fail the job as chosen, and a worker that dies is
retried without losing or duplicating rows.

Runs in .cache/spark-venv (make setup-spark; make test-spark). Needs
`make setup` (libkse, the kse CLI) and ../shared/data.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))
import sts_data  # noqa: E402

RELEASE = REPO / "target" / "release"
SPARK_SUBMIT = Path(sys.executable).parent / "spark-submit"
MODEL = REPO / "models" / "kse-ko-small"
FILES = 4  # input Parquet files, so Spark reads 4 partitions in order
TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("spark")


@pytest.fixture(scope="module")
def bundle(work):
    out = work / "kse-bundle.tar.gz"
    subprocess.run([sys.executable, str(REPO / "examples" / "spark" / "make_bundle.py"), "--model", str(MODEL),
                    "--out", str(out)], check=True)
    return out


@pytest.fixture(scope="module")
def sentences():
    pairs = sts_data.read_pairs(sts_data.KORSTS_DEV)
    return [s for p in pairs for s in p[:2]]


def cli_embed(texts: list[str], work: Path, tag: str, options: tuple[str, ...] = ()) -> np.ndarray:
    """The same sentences through the kse CLI (one per line in a file), with `options`."""
    assert not any("\n" in t or "\r" in t for t in texts)
    src, out = work / f"{tag}.txt", work / f"{tag}.npy"
    src.write_text("".join(t + "\n" for t in texts), encoding="utf-8")
    env = dict(os.environ, KSE_ORT_LIBRARY=str(RELEASE / "libonnxruntime.so.1"))
    subprocess.run([str(RELEASE / "kse"), "--model", str(MODEL), *options, "encode", str(src), "-o", str(out)],
                   check=True, env=env)
    return np.load(out)


@pytest.fixture(scope="module")
def cli_vectors(sentences, work):
    return cli_embed(sentences, work, "cli")


@pytest.fixture(scope="module")
def parquet_input(sentences, work):
    """KorSTS dev as FILES Parquet files: id (the row number), text, genre."""
    d = work / "input.parquet"
    d.mkdir()
    step = -(-len(sentences) // FILES)
    for f in range(FILES):
        ids = list(range(f * step, min(len(sentences), (f + 1) * step)))
        table = pa.table({"id": pa.array(ids, pa.int64()), "text": [sentences[i] for i in ids],
                          "genre": [f"g{i % 3}" for i in ids]})
        pq.write_table(table, d / f"part-{f:05d}.parquet")
    return d


def submit(bundle: Path | None, *args: str, master: str = "local[2]", env: dict | None = None) -> subprocess.CompletedProcess:
    """spark-submit of the example job; bundle None ships no --archives."""
    cmd = [str(SPARK_SUBMIT), "--master", master,
           "--conf", "spark.ui.enabled=false",
           "--conf", f"spark.pyspark.python={sys.executable}",
           *(["--archives", f"{bundle}#kse"] if bundle else []),
           "--py-files", str(REPO / "examples" / "spark" / "kse_spark.py"),
           str(REPO / "examples" / "spark" / "embed.py"), *args]
    full_env = dict(os.environ, PYSPARK_PYTHON=sys.executable, **(env or {}))
    full_env.pop("KSE_ORT_LIBRARY", None)  # executors use the bundle's ONNX Runtime
    return subprocess.run(cmd, capture_output=True, text=True, env=full_env, timeout=600)


def read_output(path: Path):
    files = sorted(path.glob("part-*.parquet"))
    assert files, f"no Parquet parts in {path}"
    return pa.concat_tables([pq.read_table(f) for f in files])


def check_complete_and_ordered(path: Path, n: int, file_rows: int) -> dict[int, np.ndarray]:
    """Every id 0..n-1 exactly once, each input file's rows in their order.
    Spark packs input files into partitions in an order of its own (largest
    first), so only the order of rows within a file (a split) is defined; a job
    that needs a global order sorts by its key."""
    by_id: dict[int, np.ndarray] = {}
    for part in sorted(path.glob("part-*.parquet")):
        t = pq.read_table(part)
        ids = t["id"].to_pylist()
        for f in {i // file_rows for i in ids}:
            mine = [i for i in ids if i // file_rows == f]
            assert mine == sorted(mine), f"{part.name}: rows of input file {f} reordered"
        for i, v in zip(ids, t["embedding"].to_pylist()):
            assert i not in by_id, f"id {i} written twice"
            by_id[i] = np.asarray(v, dtype=np.float32)
    assert sorted(by_id) == list(range(n)), "rows lost"
    return by_id


def max_diff_to(by_id: dict[int, np.ndarray], want: np.ndarray) -> float:
    return float(max(np.abs(v - want[i]).max() for i, v in by_id.items()))


def check_ok(r: subprocess.CompletedProcess) -> None:
    assert r.returncode == 0, r.stderr[-4000:]


def test_job_equals_the_cli_and_keeps_rows_keys_and_columns(bundle, parquet_input, cli_vectors, sentences, work):
    stats = work / "stats"
    stats.mkdir()
    out = work / "out.parquet"
    r = submit(bundle, "--input", str(parquet_input), "--output", str(out), "--batch-size", "256",
               env={"KSE_SPARK_STATS_DIR": str(stats)})
    check_ok(r)
    table = read_output(out)
    assert table.column_names == ["id", "text", "genre", "embedding"]
    by_id = check_complete_and_ordered(out, len(cli_vectors), -(-len(cli_vectors) // FILES))
    diff = max_diff_to(by_id, cli_vectors)
    print(f"Spark vs CLI, {len(by_id)} sentences: max abs difference {diff:.2e}")
    assert diff <= TOLERANCE
    ids = table["id"].to_pylist()
    assert table["genre"].to_pylist() == [f"g{i % 3}" for i in ids]
    assert table["text"].to_pylist() == [sentences[i] for i in ids]
    # One encoder per Python worker, reused across its batches and tasks:
    # 4 partitions x 3 batches went through at most 2 workers (local[2]).
    created = [json.loads(p.read_text()) for p in stats.glob("*.json")]
    assert created and all(c["encoders"] == 1 for c in created), created
    assert sum(c["batches"] for c in created) == FILES * 3
    assert len(created) <= 2


def test_a_worker_that_dies_is_retried_without_duplicates(bundle, parquet_input, cli_vectors, work):
    out = work / "retried.parquet"
    r = submit(bundle, "--input", str(parquet_input), "--output", str(out), master="local[2,4]",
               env={"KSE_SPARK_TEST_DIE_PARTITION": "1"})
    check_ok(r)
    assert "Lost task" in r.stderr or "failed" in r.stderr.lower(), "the injected failure did not happen"
    by_id = check_complete_and_ordered(out, len(cli_vectors), -(-len(cli_vectors) // FILES))
    assert max_diff_to(by_id, cli_vectors) <= TOLERANCE


@pytest.fixture(scope="module")
def bad_input(sentences, work):
    long = " ".join(sentences[:200])
    rows = [(0, sentences[0]), (1, None), (2, long), (3, sentences[1]), (4, "")]
    d = work / "bad.parquet"
    d.mkdir()
    pq.write_table(pa.table({"id": [i for i, _ in rows], "text": [t for _, t in rows]}), d / "part-00000.parquet")
    return d, rows


def test_bad_rows_are_reported_per_row_when_asked(bundle, bad_input, work):
    src, rows = bad_input
    out = work / "bad-null.parquet"
    check_ok(submit(bundle, "--input", str(src), "--output", str(out), "--on-error", "null", "--no-truncate"))
    table = read_output(out).to_pylist()
    assert [r["id"] for r in table] == [0, 1, 2, 3, 4]
    assert table[1]["embedding"] is None and table[1]["kse_error"] == "the text is null"
    assert table[2]["embedding"] is None
    assert re.fullmatch(r"the text has \d+ tokens; the model takes at most 512 \(truncation is off\)", table[2]["kse_error"])
    good = [0, 3, 4]
    want = cli_embed([rows[i][1] for i in good], work, "bad-good")
    for k, i in enumerate(good):
        assert table[i]["kse_error"] is None
        assert np.abs(np.array(table[i]["embedding"], dtype=np.float32) - want[k]).max() <= TOLERANCE


def test_bad_rows_fail_the_job_with_a_clear_message_by_default(bundle, bad_input, work):
    src, _ = bad_input
    out = work / "bad-fail.parquet"
    r = submit(bundle, "--input", str(src), "--output", str(out), "--key-column", "id")
    assert r.returncode == 1
    # spark-submit sends the Python driver's stderr to its stdout.
    assert "embed.py: error: kse: cannot embed id=1 (partition 0, attempt 0): the text is null" in r.stdout, \
        r.stdout[-3000:]
    assert not (out / "_SUCCESS").exists()


def test_csv_and_text_inputs(bundle, sentences, work):
    texts = sentences[:50]
    csv = work / "in.csv"
    csv.write_text("key,text\n" + "".join(f'{i},"{t.replace(chr(34), chr(34) * 2)}"\n' for i, t in enumerate(texts)),
                   encoding="utf-8")
    txt = work / "in.txt"
    txt.write_text("".join(t + "\n" for t in texts), encoding="utf-8")
    want = cli_embed(texts, work, "small")
    for src, fmt in ((csv, "csv"), (txt, "text")):
        out = work / f"small-{fmt}.parquet"
        check_ok(submit(bundle, "--input", str(src), "--output", str(out)))
        table = read_output(out)
        assert table["text"].to_pylist() == texts
        got = np.array(table["embedding"].to_pylist(), dtype=np.float32)
        assert np.abs(got - want).max() <= TOLERANCE


def test_a_missing_bundle_is_a_clear_error(parquet_input, work):
    r = submit(None, "--input", str(parquet_input), "--output", str(work / "nobundle.parquet"), master="local[1]")
    assert r.returncode == 1
    assert "embed.py: error: kse bundle 'kse' not found" in r.stdout and "--archives" in r.stdout, r.stdout[-3000:]


def test_long_window_embeds_whole_documents_as_the_cli_does(bundle, sentences, work):
    """--long window: documents of up to ~2,000 tokens, one vector each, equal
    to `kse encode --long window` on the same texts (and unlike truncation)."""
    docs = [" ".join(sentences[i : i + k]) for i, k in ((0, 3), (10, 40), (60, 120), (200, 5), (300, 90))]
    src = work / "docs.csv"
    src.write_text("key,text\n" + "".join(f'{i},"{t.replace(chr(34), chr(34) * 2)}"\n' for i, t in enumerate(docs)),
                   encoding="utf-8")
    want = cli_embed(docs, work, "docs-window", ("--long", "window"))
    truncated = cli_embed(docs, work, "docs-truncate")
    out = work / "docs-window.parquet"
    check_ok(submit(bundle, "--input", str(src), "--output", str(out), "--long", "window"))
    table = read_output(out)
    order = np.argsort(table["key"].to_pylist())
    got = np.array(table["embedding"].to_pylist(), dtype=np.float32)[order]
    assert np.abs(got - want).max() <= TOLERANCE
    assert np.abs(got[2] - truncated[2]).max() > 1e-3, "a 2,000-token document is not its first 512 tokens"
