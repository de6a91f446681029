"""The SQLite extension (extensions/sqlite) driven by the real `sqlite3` shell
and Python's sqlite3 module: vectors equal the C ABI's, sqlite-vec's nearest
neighbours equal `kse search`'s, connections on many threads share one
encoder, and bad input is an SQL error that leaves the database usable.

Run by `make test-sqlite` with .cache/sqlite-venv's Python (its sqlite3 can
load extensions; sqlite-vec from the hash-locked wheel)."""

from __future__ import annotations

import json
import os
import sqlite3
import struct
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bindings" / "python"))
sys.path.insert(0, str(REPO / "tests" / "python"))

RELEASE = REPO / "target" / "release"
EXTENSION = RELEASE / "kse_sqlite"  # SQLite adds .so
MODEL = REPO / "models" / "kse-ko-small"
TINY = REPO / "target" / "test-models" / "tiny-e5"
DATA = Path(os.environ.get("KSE_DATA_DIR", REPO.parent / "shared" / "data"))
KSE = RELEASE / "kse"
TOL = 1e-6


def need(path: Path, how: str) -> Path:
    if not path.exists():
        pytest.fail(f"{path} is missing: run `{how}`")
    return path


@pytest.fixture(scope="session")
def sentences():
    import reference

    pairs = reference.read_korsts(need(DATA / "korsts" / "sts-dev.tsv", "ls ../shared/data (KorSTS dev)"))
    out, seen = [], set()
    for a, b, _ in pairs:
        for s in (a, b):
            if s not in seen:
                seen.add(s)
                out.append(s)
    assert len(out) > 2500
    return out


@pytest.fixture(scope="session")
def encoder():
    import kse

    kse.load_library(need(RELEASE / "libkse.so", "make setup"))
    with kse.Encoder(MODEL, intra_threads=2) as enc:
        yield enc


@pytest.fixture(scope="session")
def c_abi(encoder, sentences):
    """The C ABI's vectors (kse_encode through the Python binding)."""
    return encoder.encode(sentences)


def connect(path=":memory:") -> sqlite3.Connection:
    need(EXTENSION.with_suffix(".so"), "make sqlite-extension")
    db = sqlite3.connect(path, check_same_thread=False)
    db.enable_load_extension(True)
    db.load_extension(str(EXTENSION))
    db.enable_load_extension(False)
    return db


def vec(blob: bytes) -> np.ndarray:
    assert isinstance(blob, bytes) and len(blob) % 4 == 0
    return np.frombuffer(blob, dtype="<f4")


@pytest.fixture
def corpus_db(tmp_path, sentences):
    path = tmp_path / "corpus.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE sentences(id INTEGER PRIMARY KEY, s TEXT)")
    db.executemany("INSERT INTO sentences(id, s) VALUES (?, ?)", enumerate(sentences, 1))
    db.commit()
    db.close()
    return path


def shell(db: Path, sql: str, check: bool = True) -> subprocess.CompletedProcess:
    """The real sqlite3 shell, the extension loaded with .load."""
    script = f".bail on\n.load {EXTENSION}\n{sql}\n"
    proc = subprocess.run(["sqlite3", str(db)], input=script, capture_output=True, text=True, timeout=600)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


# ---- vectors equal the C ABI's ----------------------------------------------------------------


def test_shell_row_by_row_equals_c_abi(corpus_db, c_abi):
    shell(corpus_db, "CREATE TABLE emb AS SELECT id, kse_embed(s) AS v FROM sentences;")
    db = sqlite3.connect(corpus_db)
    rows = db.execute("SELECT id, v FROM emb ORDER BY id").fetchall()
    assert [r[0] for r in rows] == list(range(1, len(c_abi) + 1))
    got = np.stack([vec(v) for _, v in rows])
    assert got.shape == c_abi.shape
    assert np.abs(got - c_abi).max() <= TOL


def test_shell_batched_column_equals_c_abi(corpus_db, c_abi):
    # The batched path: kse_embed_column reads the column in calls of 2,048 rows.
    shell(corpus_db, "CREATE TABLE emb AS SELECT rowid AS id, embedding AS v FROM kse_embed_column('sentences', 's');")
    db = sqlite3.connect(corpus_db)
    rows = db.execute("SELECT id, v FROM emb ORDER BY id").fetchall()
    assert [r[0] for r in rows] == list(range(1, len(c_abi) + 1))
    assert np.abs(np.stack([vec(v) for _, v in rows]) - c_abi).max() <= TOL


def test_python_module_equals_c_abi(sentences, c_abi):
    db = connect()
    got = np.stack([vec(db.execute("SELECT kse_embed(?)", (s,)).fetchone()[0]) for s in sentences[:300]])
    assert np.abs(got - c_abi[:300]).max() <= TOL
    assert json.loads(db.execute("SELECT kse_model()").fetchone()[0]) == {"name": "kse-ko-small", "dim": 384,
                                                                          "max_tokens": 512}


def test_utf16_database_gives_the_same_vectors(sentences, c_abi):
    db = connect()
    db.execute("PRAGMA encoding = 'UTF-16le'")
    db.execute("CREATE TABLE t(s TEXT)")
    db.executemany("INSERT INTO t VALUES (?)", [(s,) for s in sentences[:50]])
    got = np.stack([vec(v) for (v,) in db.execute("SELECT kse_embed(s) FROM t ORDER BY rowid")])
    assert db.execute("PRAGMA encoding").fetchone()[0] == "UTF-16le"
    assert np.abs(got - c_abi[:50]).max() <= TOL


def test_tokens_and_cosine(encoder, sentences, c_abi):
    db = connect()
    for s in sentences[:40]:
        assert db.execute("SELECT kse_tokens(?)", (s,)).fetchone()[0] == encoder.count_tokens(s)
    long_text = "가나다 " * 3000
    assert db.execute("SELECT kse_tokens(?)", (long_text,)).fetchone()[0] == encoder.count_tokens(long_text) > 512
    a, b = c_abi[0].astype(np.float64), c_abi[1].astype(np.float64)
    want = a @ b / np.linalg.norm(a) / np.linalg.norm(b)
    got = db.execute("SELECT kse_cosine(kse_embed(?), kse_embed(?))", (sentences[0], sentences[1])).fetchone()[0]
    assert abs(got - want) <= 1e-6
    zero = struct.pack("<3f", 0, 0, 0)
    assert db.execute("SELECT kse_cosine(?, ?)", (zero, struct.pack("<3f", 1, 2, 3))).fetchone()[0] is None


def test_setup_and_model_argument_choose_the_model(sentences):
    db = connect()
    tiny = need(TINY, "make test-models")
    info = json.loads(db.execute("SELECT kse_model(?)", (str(tiny),)).fetchone()[0])
    assert info["name"] != "kse-ko-small" and info["dim"] != 384
    assert len(db.execute("SELECT kse_embed('가나다', ?)", (str(tiny),)).fetchone()[0]) == 4 * info["dim"]
    assert len(db.execute("SELECT kse_embed('가나다')").fetchone()[0]) == 4 * 384  # the default model still
    assert db.execute("SELECT kse_setup(?, 1, 2)", (str(tiny),)).fetchone()[0] == info["name"]
    assert len(db.execute("SELECT kse_embed('가나다')").fetchone()[0]) == 4 * info["dim"]
    other = connect()  # kse_setup is per connection
    assert len(other.execute("SELECT kse_embed('가나다')").fetchone()[0]) == 4 * 384
    assert db.execute("SELECT kse_setup(NULL)").fetchone()[0] == "kse-ko-small"
    assert len(db.execute("SELECT kse_embed('가나다')").fetchone()[0]) == 4 * 384
    # A shipped model's name: kse-ko-mini from beside libkse, its own vectors.
    assert json.loads(db.execute("SELECT kse_model('kse-ko-mini')").fetchone()[0])["name"] == "kse-ko-mini"
    mini = db.execute("SELECT kse_embed('가나다', 'kse-ko-mini')").fetchone()[0]
    assert len(mini) == 4 * 384 and mini != db.execute("SELECT kse_embed('가나다')").fetchone()[0]


# ---- sqlite-vec: nearest neighbours equal kse search's ------------------------------------------


def kse_search(corpus: Path, queries: list[str], k: int) -> list[list[int]]:
    args = [str(KSE), "search", "--model", str(MODEL), "--corpus", str(corpus), "-k", str(k)]
    for q in queries:
        args += ["--query", q]
    out = subprocess.run(args, capture_output=True, text=True, check=True, timeout=600).stdout
    hits: list[list[int]] = []
    for line in out.splitlines():
        if line.startswith("# query"):
            hits.append([])
        elif line.strip():
            hits[-1].append(int(line.split("\t")[2]))
    return hits


def test_sqlite_vec_nearest_neighbours_equal_kse_search(tmp_path, sentences):
    import sqlite_vec

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(sentences) + "\n", encoding="utf-8")
    queries = ["한 남자가 기타를 치고 있다.", "날씨가 맑습니다", "여자가 요리를 하고 있다.", "주식 시장이 하락했다.",
               "아이들이 공원에서 놀고 있다."]
    k = 5
    want = kse_search(corpus, queries, k)

    db = connect(tmp_path / "vec.db")
    db.enable_load_extension(True)
    db.load_extension(sqlite_vec.loadable_path())
    db.execute("CREATE TABLE sentences(id INTEGER PRIMARY KEY, s TEXT)")
    db.executemany("INSERT INTO sentences(id, s) VALUES (?, ?)", enumerate(sentences, 1))
    db.execute("CREATE VIRTUAL TABLE vec_sentences USING vec0(embedding float[384] distance_metric=cosine)")
    db.execute("INSERT INTO vec_sentences(rowid, embedding) SELECT rowid, embedding FROM kse_embed_column('sentences', 's')")
    assert db.execute("SELECT count(*) FROM vec_sentences").fetchone()[0] == len(sentences)
    for q, hits in zip(queries, want):
        got = db.execute(
            "SELECT rowid, distance FROM vec_sentences WHERE embedding MATCH kse_embed(?) AND k = ? ORDER BY distance",
            (q, k)).fetchall()
        assert [r for r, _ in got] == hits, q
        # kse_cosine agrees with sqlite-vec's cosine distance
        for rowid, distance in got:
            cos = db.execute("SELECT kse_cosine(v.embedding, kse_embed(?)) FROM vec_sentences v WHERE rowid = ?",
                             (q, rowid)).fetchone()[0]
            assert abs((1 - cos) - distance) <= 1e-5


# ---- threads ------------------------------------------------------------------------------------


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_threads_with_their_own_connections_share_one_encoder(sentences, c_abi):
    first = connect()
    first.execute("SELECT kse_embed('가')").fetchone()  # loads the default model (once per process)
    before = rss_kib()
    n_threads, per_thread = 8, 60
    failures: list[str] = []
    barrier = threading.Barrier(n_threads)

    def work(t: int) -> None:
        try:
            db = connect()
            barrier.wait()
            for i in range(t, t + per_thread):
                v = vec(db.execute("SELECT kse_embed(?)", (sentences[i],)).fetchone()[0])
                err = float(np.abs(v - c_abi[i]).max())
                if err > TOL:
                    failures.append(f"thread {t} sentence {i}: {err}")
            db.close()
        except Exception as e:  # noqa: BLE001 - reported below
            failures.append(f"thread {t}: {e!r}")

    threads = [threading.Thread(target=work, args=(t * per_thread,)) for t in range(n_threads)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=600)
    assert not any(th.is_alive() for th in threads)
    assert failures == []
    # Eight more connections loaded no second model (a model costs well over 60 MB here).
    grown = (rss_kib() - before) / 1024
    print(f"RSS growth over 8 connections on 8 threads: {grown:.1f} MB")
    assert grown < 60


# ---- bad input: an SQL error, the statement fails, the database stays usable ---------------------


BAD = [
    ("SELECT kse_embed(42)", "kse_embed: argument 1 must be text, got an integer"),
    ("SELECT kse_embed(4.5)", "kse_embed: argument 1 must be text, got a real"),
    ("SELECT kse_embed(x'41')", "kse_embed: argument 1 must be text, got a blob"),
    ("SELECT kse_embed(CAST(x'41ff42' AS TEXT))", "not valid UTF-8"),
    ("SELECT kse_tokens(CAST(x'c3' AS TEXT))", "not valid UTF-8"),
    ("SELECT kse_tokens(7)", "kse_tokens: argument 1 must be text, got an integer"),
    ("SELECT kse_embed('가', '/nonexistent/model')", "/nonexistent/model"),
    ("SELECT kse_embed('가', 17)", "kse_embed: the model directory argument must be text"),
    ("SELECT kse_setup('/nonexistent/model')", "/nonexistent/model"),
    ("SELECT kse_setup('/etc')", "kse_setup: kse:"),
    ("SELECT kse_setup(NULL, -1)", "threads must be an integer"),
    ("SELECT kse_setup(NULL, 1, 0)", "sessions must be an integer"),
    ("SELECT kse_setup(NULL, 'two')", "threads must be an integer"),
    ("SELECT kse_cosine(x'0000803f', x'0000803f0000803f')", "different dimensions (1 and 2)"),
    ("SELECT kse_cosine(x'00', x'00')", "not non-empty float32 vectors"),
    ("SELECT kse_cosine(x'', x'')", "not non-empty float32 vectors"),
    ("SELECT kse_cosine('a', x'0000803f')", "argument 1 must be a float32 blob"),
    ("SELECT * FROM kse_embed_column('t')", "give a table and a column"),
    ("SELECT * FROM kse_embed_column('missing_table', 's')", "no such table: missing_table"),
    ("SELECT * FROM kse_embed_column('t', 'missing_column')", "no such column: t.missing_column"),
    ("SELECT * FROM kse_embed_column('mixed', 's')", 'row 2 of "mixed"."s" holds a blob, not text'),
    ("SELECT * FROM kse_embed_column('t', 's', '/nonexistent/model')", "/nonexistent/model"),
    ("SELECT * FROM kse_embed_column(1, 's')", "table name must be text"),
]


@pytest.mark.parametrize("sql,message", BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_an_sql_error_and_the_connection_lives(sql, message):
    db = connect()
    db.execute("CREATE TABLE t(s TEXT)")
    db.execute("INSERT INTO t VALUES ('가나다')")
    db.execute("CREATE TABLE mixed(s)")  # no affinity: a blob stays a blob
    db.executemany("INSERT INTO mixed VALUES (?)", [("가",), (b"\x00\x01",), ("나",)])
    with pytest.raises(sqlite3.OperationalError) as e:
        db.execute(sql).fetchall()
    assert message in str(e.value)
    assert db.execute("SELECT length(kse_embed(s)) FROM t").fetchone()[0] == 4 * 384


def test_failed_insert_writes_nothing(tmp_path):
    db = connect(tmp_path / "t.db")
    db.execute("CREATE TABLE src(s)")
    db.executemany("INSERT INTO src VALUES (?)", [("가",), ("나",), (b"\xff",), ("다",)])
    db.execute("CREATE TABLE emb(v BLOB)")
    db.execute("INSERT INTO emb SELECT kse_embed('먼저')")
    db.commit()
    for sql in ("INSERT INTO emb SELECT kse_embed(s) FROM src",
                "INSERT INTO emb SELECT embedding FROM kse_embed_column('src', 's')"):
        with pytest.raises(sqlite3.OperationalError, match="blob"):
            db.execute(sql)
        db.commit()
        assert db.execute("SELECT count(*) FROM emb").fetchone()[0] == 1  # the statement wrote no row
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_null_in_null_out():
    db = connect()
    assert db.execute("SELECT kse_embed(NULL), kse_tokens(NULL), kse_cosine(NULL, x'0000803f')").fetchone() == (
        None, None, None)
    db.execute("CREATE TABLE t(s TEXT)")
    db.executemany("INSERT INTO t VALUES (?)", [("가",), (None,), ("",)])
    rows = db.execute("SELECT rowid, length(embedding) FROM kse_embed_column('t', 's') ORDER BY rowid").fetchall()
    assert rows == [(1, 1536), (2, None), (3, 1536)]


def test_shell_reports_the_error_and_exits_non_zero(corpus_db):
    proc = shell(corpus_db, "SELECT kse_embed(CAST(x'ff' AS TEXT));", check=False)
    assert proc.returncode != 0
    assert "kse_embed: kse:" in proc.stderr and "not valid UTF-8" in proc.stderr
    proc = shell(corpus_db, "SELECT count(*) FROM sentences;")
    assert int(proc.stdout) > 2500


def test_functions_that_read_paths_are_direct_only(tmp_path):
    """kse_setup and the model-directory forms cannot run from a schema's
    views or triggers (a database file someone else wrote)."""
    db = connect(tmp_path / "t.db")
    db.execute("CREATE VIEW v AS SELECT kse_setup('/tmp/model')")
    with pytest.raises(sqlite3.OperationalError, match="unsafe use of kse_setup"):
        db.execute("SELECT * FROM v").fetchall()
    db.execute("CREATE VIEW w AS SELECT length(kse_embed('가')) AS n")
    assert db.execute("SELECT n FROM w").fetchone()[0] == 1536


def readme_sql(heading: str) -> str:
    """The first ```sql block after `heading` in README.md."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    start = text.index("```sql\n", text.index(heading)) + len("```sql\n")
    return text[start:text.index("```", start)]


def test_readme_example_runs_as_written(tmp_path):
    sql = readme_sql("**SQLite**")
    load, _, rest = sql.partition("\n")
    assert load == ".load /usr/local/lib/kse_sqlite"
    proc = shell(tmp_path / "readme.db", rest)  # shell() loads the build tree's extension
    rows = [line.split("|") for line in proc.stdout.splitlines()]
    assert rows[0] == ["1", "오늘은 날씨가 맑다."] and len(rows) == 3, proc.stdout
