"""The kse PostgreSQL extension on a real PostgreSQL 15 server (see pgserver.py).

Vectors from SQL are compared with the C ABI's, through the Python binding.
Run: tests/postgres/run_tests.sh (or python -m pytest -q -p no:cacheprovider tests/postgres).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "bindings" / "python"))
sys.path.insert(0, str(REPO / "tests" / "python"))

from pgserver import ADMIN, PgServer  # noqa: E402

DATA_DIR = Path(os.environ.get("KSE_DATA_DIR", REPO.parent / "shared" / "data"))
KORSTS_DEV = DATA_DIR / "korsts" / "sts-dev.tsv"
LIBRARY = REPO / "target" / "release" / "libkse.so"
# With KSE_MODEL_DIR set, the server gets it as kse.model_dir; otherwise it uses
# libkse's default-model search (models/kse-ko-small of this build tree).
MODEL_ENV = os.environ.get("KSE_MODEL_DIR")
MODEL_DIR = Path(MODEL_ENV) if MODEL_ENV else REPO / "models" / "kse-ko-small"
TOL = 1e-6
LONG_ARRAY_SQL = "ARRAY(SELECT s FROM sents, generate_series(1, 7) AS g ORDER BY g, id)"  # ~20,000 texts


# ---- helpers ------------------------------------------------------------------------
def parse_vec(s: str) -> np.ndarray:
    assert s.startswith("{") and s.endswith("}"), s[:80]
    return np.array(s[1:-1].split(","), dtype=np.float32)


def copy_escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def fetch_vectors(pg: PgServer, query: str, db: str = "postgres") -> dict:
    """{id: vector} from COPY (query) TO STDOUT, the query giving (id, real[])."""
    out = pg.psql(f"COPY ({query}) TO STDOUT", db=db).stdout
    vecs = {}
    for line in out.splitlines():
        i, v = line.split("\t")
        vecs[int(i)] = parse_vec(v)
    return vecs


def max_diff(vecs: dict, ref: np.ndarray) -> float:
    """Largest |difference| over all rows, checking shapes; ids are 1-based rows of ref."""
    worst = 0.0
    for i, v in vecs.items():
        assert v.shape == ref[i - 1].shape, (i, v.shape)
        worst = max(worst, float(np.max(np.abs(v - ref[i - 1]))))
    return worst


def expect_error(pg: PgServer, sql: str, db: str = "postgres", user: str = ADMIN,
                 after: str = "SELECT 'alive'") -> tuple:
    """Runs sql in a psql session that goes on after errors (VERBOSITY verbose), then `after`.

    Returns (sqlstate, message, stderr, last stdout line). Asserts that exactly the
    statement failed and that `after` still ran in the same session.
    """
    script = f"\\set VERBOSITY verbose\n{sql};\n{after};\n"
    r = pg.psql(script, db=db, user=user, check=False, args=["-v", "ON_ERROR_STOP=0"])
    m = re.search(r"ERROR:\s+([0-9A-Z]{5}): (.*)", r.stderr)
    assert m, f"no ERROR for {sql!r}:\nstdout: {r.stdout}\nstderr: {r.stderr}"
    lines = r.stdout.strip().splitlines()
    assert lines, f"session did not answer after {sql!r}: {r.stderr}"
    return m.group(1), m.group(2), r.stderr, lines[-1]


# ---- fixtures -----------------------------------------------------------------------
@pytest.fixture(scope="session")
def sentences():
    from reference import read_korsts

    if not KORSTS_DEV.exists():
        pytest.fail(f"KorSTS dev not found at {KORSTS_DEV} (set KSE_DATA_DIR)")
    pairs = read_korsts(KORSTS_DEV)
    assert len(pairs) == 1500
    return sorted({s for a, b, _ in pairs for s in (a, b)})


@pytest.fixture(scope="session")
def enc():
    import kse

    kse.load_library(str(LIBRARY))
    e = kse.Encoder(str(MODEL_DIR), intra_threads=2)
    yield e
    e.close()


@pytest.fixture(scope="session")
def ref(enc, sentences):
    """C ABI vectors of the sentences; row id-1 is sentence id."""
    return enc.encode(sentences)


@pytest.fixture(scope="session")
def pg(sentences):
    settings = {"fsync": "off"}
    if MODEL_ENV:
        settings["kse.model_dir"] = MODEL_ENV
    with PgServer(REPO, settings=settings) as server:
        rows = "".join(f"{i}\t{copy_escape(s)}\n" for i, s in enumerate(sentences, 1))
        server.psql("CREATE EXTENSION kse;\n"
                    "CREATE TABLE sents(id integer PRIMARY KEY, s text NOT NULL);\n"
                    f"COPY sents FROM STDIN;\n{rows}\\.\n"
                    "CREATE ROLE kse_user LOGIN;\n")
        n = int(server.psql("SELECT count(*) FROM sents").stdout)
        assert n == len(sentences)
        yield server


@pytest.fixture(scope="session")
def single_vectors(pg):
    """emb_single filled row by row with INSERT ... SELECT id, kse_embed(s)."""
    t = time.monotonic()
    pg.psql("CREATE TABLE emb_single(id integer PRIMARY KEY, emb real[] NOT NULL);\n"
            "INSERT INTO emb_single SELECT id, kse_embed(s) FROM sents;")
    print(f"\n  INSERT ... kse_embed(s): {time.monotonic() - t:.1f} s")
    return fetch_vectors(pg, "SELECT id, emb FROM emb_single ORDER BY id")


@pytest.fixture(scope="session")
def ascii_db(pg):
    pg.psql("CREATE DATABASE kse_ascii ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0")
    pg.psql("CREATE EXTENSION kse", db="kse_ascii")
    return "kse_ascii"


# ---- 1. installation ----------------------------------------------------------------
def test_version_matches_cargo_toml(pg):
    cargo = (REPO / "Cargo.toml").read_text()
    version = re.search(r'^version\s*=\s*"([^"]+)"', cargo, re.M).group(1)
    assert pg.psql("SELECT kse_version()").stdout.strip() == version
    assert pg.psql("SELECT extversion FROM pg_extension WHERE extname = 'kse'").stdout.strip() == "0.2.0"


def test_model_reports_name_dim_max_tokens(pg, enc):
    assert pg.psql("SELECT name, dim, max_tokens FROM kse_model()").stdout.strip() == \
        f"{enc.name}|{enc.dim}|{enc.max_tokens}"


# ---- 2. vectors equal the C ABI's ---------------------------------------------------
def test_row_by_row_embeddings_match_c_abi(single_vectors, ref):
    assert len(single_vectors) == len(ref)
    worst = max_diff(single_vectors, ref)
    print(f"\n  row-by-row: {len(ref)} rows, max |diff| vs C ABI = {worst:.3g}")
    assert worst <= TOL


def test_batched_embeddings_with_ordinality_match_c_abi(pg, ref):
    t = time.monotonic()
    pg.psql("CREATE TABLE emb_batch(id integer PRIMARY KEY, emb real[] NOT NULL);\n"
            "INSERT INTO emb_batch SELECT a.ids[t.ord], t.emb\n"
            "  FROM (SELECT array_agg(id ORDER BY id) AS ids, array_agg(s ORDER BY id) AS ss FROM sents) AS a,\n"
            "       kse_embed(a.ss) WITH ORDINALITY AS t(emb, ord);")
    print(f"\n  kse_embed(text[]): {time.monotonic() - t:.1f} s")
    vecs = fetch_vectors(pg, "SELECT id, emb FROM emb_batch ORDER BY id")
    assert sorted(vecs) == list(range(1, len(ref) + 1))
    worst = max_diff(vecs, ref)
    print(f"  batched: {len(ref)} rows, max |diff| vs C ABI = {worst:.3g}")
    assert worst <= TOL


def test_batched_keeps_input_order_and_null_rows(pg, enc):
    texts = ["고양이가 잔다.", None, "", "비가 온다.", None]
    arr = "ARRAY[" + ", ".join("NULL" if t is None else sql_str(t) for t in texts) + "]::text[]"
    out = pg.psql(f"SELECT ord, emb IS NULL, emb FROM kse_embed({arr}) WITH ORDINALITY AS t(emb, ord)").stdout
    rows = [line.split("|") for line in out.strip().splitlines()]
    assert [int(r[0]) for r in rows] == [1, 2, 3, 4, 5]
    assert [r[1] for r in rows] == ["f", "t", "f", "f", "t"]
    want = enc.encode([t for t in texts if t is not None])
    got = np.stack([parse_vec(r[2]) for r in rows if r[1] == "f"])
    assert float(np.max(np.abs(got - want))) <= TOL
    assert pg.psql("SELECT count(*) FROM kse_embed('{}'::text[])").stdout.strip() == "0"


# ---- 3. nearest neighbours ----------------------------------------------------------
@pytest.mark.parametrize("query", ["남자가 기타를 치고 있다.", "비행기가 이륙하고 있다.", "주식 시장이 하락했다."])
def test_nearest_neighbours_match_numpy(pg, single_vectors, ref, enc, query):
    # (SELECT kse_embed(q)) is an InitPlan: the query is embedded once, not per row.
    out = pg.psql(f"SELECT id, kse_cosine(emb, (SELECT kse_embed({sql_str(query)}))) AS sim FROM emb_single\n"
                  f"ORDER BY sim DESC LIMIT 5").stdout
    got = [int(line.split("|")[0]) for line in out.strip().splitlines()]
    q = enc.encode([query])[0].astype(np.float64)
    r = ref.astype(np.float64)
    sims = r @ q / (np.linalg.norm(r, axis=1) * np.linalg.norm(q))
    want = [int(i) + 1 for i in np.argsort(-sims, kind="stable")[:5]]
    print(f"\n  {query}: top 5 ids {got}")
    if got != want:  # only a near-tie may reorder
        assert np.allclose(sims[np.array(got) - 1], sims[np.array(want) - 1], atol=1e-6), (got, want)


def test_parallel_workers_embed_like_c_abi(pg, ref):
    r = pg.psql("SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0;\n"
                "SET min_parallel_table_scan_size = 0; SET max_parallel_workers_per_gather = 2;\n"
                "SET parallel_leader_participation = off; SET client_min_messages = debug1;\n"
                "COPY (SELECT id, kse_embed(s) FROM sents WHERE id % 20 = 0) TO STDOUT;")
    loads = re.findall(r"kse: loaded model", r.stderr)
    assert len(loads) == 2, r.stderr  # one per worker; the leader only gathers
    vecs = {}
    for line in r.stdout.splitlines():
        i, v = line.split("\t")
        vecs[int(i)] = parse_vec(v)
    assert sorted(vecs) == list(range(20, len(ref) + 1, 20))
    assert max_diff(vecs, ref) <= TOL


# ---- 4. concurrent sessions ---------------------------------------------------------
def test_pgbench_8_sessions_embed_correctly(pg, ref):
    pg.psql("CREATE TABLE pgb_results(id integer NOT NULL, pid integer NOT NULL, emb real[] NOT NULL)")
    script = Path(pg.host) / "embed.sql"  # removed with the server's temp directory
    script.write_text("\\set id random(1, :nsent)\n"
                      "INSERT INTO pgb_results SELECT id, pg_backend_pid(), kse_embed(s) FROM sents WHERE id = :id;\n")
    env = pg.client_env()
    env["PGOPTIONS"] = "-c kse.threads=1"  # 8 backends on a few cores: one ONNX thread each
    r = subprocess.run([str(pg.system_bin_dir / "pgbench"), "-n", "-c", "8", "-j", "8", "-T", "10",
                        "-f", str(script), "-D", f"nsent={len(ref)}", "postgres"],
                       capture_output=True, text=True, timeout=120, env=env)
    print("\n" + r.stdout)
    assert r.returncode == 0, r.stderr + r.stdout
    failed = re.search(r"number of failed transactions: (\d+)", r.stdout)
    assert failed and int(failed.group(1)) == 0, r.stdout
    tps = float(re.search(r"tps = ([0-9.]+)", r.stdout).group(1))
    done = int(re.search(r"number of transactions actually processed: (\d+)", r.stdout).group(1))
    print(f"  pgbench: {done} transactions, tps = {tps:.1f}")
    per_pid = pg.psql("SELECT pid, count(*) FROM pgb_results GROUP BY pid ORDER BY 2").stdout.split()
    counts = [int(x.split("|")[1]) for x in per_pid]
    print(f"  rows per backend: {counts}")
    assert len(counts) == 8, per_pid
    assert min(counts) >= 3, per_pid
    assert sum(counts) == done
    vecs = pg.psql("COPY (SELECT id, emb FROM pgb_results) TO STDOUT").stdout.splitlines()
    worst = 0.0
    for line in vecs:
        i, v = line.split("\t")
        worst = max(worst, float(np.max(np.abs(parse_vec(v) - ref[int(i) - 1]))))
    print(f"  concurrent rows: {len(vecs)}, max |diff| vs C ABI = {worst:.3g}")
    assert worst <= TOL


# ---- 5. cancel and statement_timeout ------------------------------------------------
def start_long_call_and_signal(pg: PgServer, signal_fn: str, app: str) -> tuple:
    """Starts a ~20,000-text kse_embed(text[]) in a background psql, calls signal_fn(pid)
    from another session 2 s later; returns (stderr, returncode, seconds until it ended)."""
    t0 = time.monotonic()
    proc = pg.psql_background(f"SELECT count(*) FROM kse_embed({LONG_ARRAY_SQL})",
                              db=f"dbname=postgres application_name={app}", args=["-v", "VERBOSITY=verbose"])
    try:
        pid = None
        while pid is None and time.monotonic() - t0 < 30 and proc.poll() is None:
            out = pg.psql(f"SELECT pid FROM pg_stat_activity WHERE application_name = '{app}' "
                          "AND state = 'active'").stdout.strip()
            pid = int(out) if out else None
            time.sleep(0.1)
        assert pid is not None, proc.communicate()
        time.sleep(max(0.0, t0 + 2.0 - time.monotonic()))
        assert proc.poll() is None, "the long statement ended before the signal"
        t_sig = time.monotonic()
        assert pg.psql(f"SELECT {signal_fn}({pid})").stdout.strip() == "t"
        _, err = proc.communicate(timeout=60)
        delay = time.monotonic() - t_sig
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    print(f"\n  {signal_fn} took effect after {delay:.2f} s ({t_sig - t0:.1f} s into the call)")
    return err, proc.returncode, delay


def test_cancel_stops_long_batched_call(pg):
    err, rc, delay = start_long_call_and_signal(pg, "pg_cancel_backend", "kse_cancel_test")
    assert rc != 0
    assert "57014" in err and "canceling statement due to user request" in err, err
    assert delay < 5.0
    assert pg.psql("SELECT 1").stdout.strip() == "1"


def test_terminate_ends_backend_in_long_batched_call(pg):
    err, rc, delay = start_long_call_and_signal(pg, "pg_terminate_backend", "kse_terminate_test")
    assert rc != 0
    assert "57P01" in err and "terminating connection due to administrator command" in err, err
    assert delay < 5.0
    assert pg.psql("SELECT 1").stdout.strip() == "1"


def test_statement_timeout_stops_long_batched_call(pg):
    t0 = time.monotonic()
    state, msg, _, last = expect_error(
        pg, f"SET statement_timeout = '1s';\nSELECT count(*) FROM kse_embed({LONG_ARRAY_SQL})",
        after="RESET statement_timeout;\nSELECT 1")
    elapsed = time.monotonic() - t0
    print(f"\n  statement_timeout 1s: session done after {elapsed:.2f} s")
    assert state == "57014" and "statement timeout" in msg
    assert last == "1"
    assert elapsed < 6.0


# ---- 6. bad inputs ------------------------------------------------------------------
def test_invalid_utf8_in_sql_ascii_db_is_22021(pg, ascii_db):
    bad = "convert_from('\\xff'::bytea, 'SQL_ASCII')"
    for call in (f"SELECT kse_embed({bad})",
                 f"SELECT count(*) FROM kse_embed(ARRAY['좋다', {bad}])",
                 f"SELECT kse_tokens({bad})"):
        state, msg, _, last = expect_error(pg, call, db=ascii_db)
        assert state == "22021", (call, state, msg)
        assert msg.startswith("kse: ") and "UTF-8" in msg, msg
        assert last == "alive"


def test_valid_utf8_in_sql_ascii_db_embeds_like_c_abi(pg, ascii_db, enc, sentences):
    s = sentences[0]
    hexed = s.encode("utf-8").hex()
    v = parse_vec(pg.psql(f"SELECT kse_embed(convert_from('\\x{hexed}'::bytea, 'SQL_ASCII'))", db=ascii_db).stdout.strip())
    assert float(np.max(np.abs(v - enc.encode([s])[0]))) <= TOL


def test_euc_kr_db_converts_text_to_utf8(pg, enc, sentences):
    pg.psql("CREATE DATABASE kse_euckr ENCODING 'EUC_KR' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0")
    pg.psql("CREATE EXTENSION kse", db="kse_euckr")
    chosen = []
    for s in sentences:
        try:
            s.encode("euc_kr")
        except UnicodeEncodeError:
            continue
        chosen.append(s)
        if len(chosen) == 3:
            break
    arr = "ARRAY[" + ", ".join(sql_str(s) for s in chosen) + "]"
    out = pg.psql(f"SELECT kse_embed({sql_str(chosen[0])});\nSELECT e FROM kse_embed({arr}) AS e;",
                  db="kse_euckr").stdout.split()
    want = enc.encode(chosen)
    got = np.stack([parse_vec(x) for x in out])
    assert got.shape == (4, want.shape[1])
    assert float(np.max(np.abs(got - np.concatenate([want[:1], want])))) <= TOL


def test_missing_model_dir_is_58P01_naming_the_path(pg):
    state, msg, err, last = expect_error(
        pg, "SET kse.model_dir = '/nonexistent/kse-model';\nSELECT kse_embed('a')",
        after="RESET kse.model_dir;\nSELECT array_length(kse_embed('a'), 1)")
    assert state == "58P01"
    assert msg.startswith("kse: ") and "/nonexistent/kse-model" in msg
    assert "HINT:" in err and "kse.model_dir" in err
    assert last == "384"


def test_model_dir_may_name_a_shipped_model(pg):
    r = pg.psql("SET kse.model_dir = 'kse-ko-mini';\nSELECT name, dim FROM kse_model();\n"
                "SELECT kse_cosine(kse_embed('오늘 날씨가 좋다'), kse_embed('날씨가 맑다'));\n"
                "RESET kse.model_dir;\nSELECT name FROM kse_model();\n"
                "SELECT kse_cosine(kse_embed('오늘 날씨가 좋다'), kse_embed('날씨가 맑다'));")
    mini, mini_cos, default, default_cos = r.stdout.split()
    assert (mini, default) == ("kse-ko-mini|384", "kse-ko-small"), r.stdout
    assert mini_cos != default_cos, r.stdout  # two models, two similarities


def test_directory_without_model_is_an_error(pg):
    empty = Path(pg.host) / "not-a-model"
    empty.mkdir(mode=0o755)
    state, msg, _, last = expect_error(pg, f"SET kse.model_dir = '{empty}';\nSELECT kse_embed('a')")
    assert state == "58P01" and str(empty) in msg, msg
    assert last == "alive"
    bad = Path(pg.host) / "bad-manifest"
    bad.mkdir(mode=0o755)
    (bad / "kse.json").write_text('{"format": "kse-model/1"}')
    os.chmod(bad / "kse.json", 0o644)
    state, msg, _, last = expect_error(pg, f"SET kse.model_dir = '{bad}';\nSELECT kse_tokens('a')")
    assert state == "F0000" and msg.startswith("kse: "), (state, msg)
    assert last == "alive"


def test_non_superuser_cannot_set_model_dir(pg):
    state, msg, _, last = expect_error(pg, "SELECT kse_version();\nSET kse.model_dir = '/tmp'", user="kse_user")
    assert state == "42501", (state, msg)
    assert last == "alive"


def test_non_superuser_placeholder_model_dir_is_ignored(pg):
    # Set before the library loads, the placeholder is dropped with a WARNING when it loads.
    r = pg.psql("SET kse.model_dir = '/nonexistent';\nSELECT array_length(kse_embed('a'), 1);\nSHOW kse.model_dir;",
                user="kse_user")
    assert r.stdout.split("\n")[:2] == ["384", ""], r.stdout
    assert "permission denied" in r.stderr


def test_guc_ranges_are_checked(pg):
    # kse_version() loads the library first: before that, kse.* are placeholders
    # (PostgreSQL checks their values when the library loads, with a WARNING).
    for sql in ("SET kse.threads = 65", "SET kse.threads = -1", "SET kse.sessions = 0", "SET kse.sessions = 65"):
        state, _, _, last = expect_error(pg, f"SELECT kse_version();\n{sql}")
        assert state == "22023", sql
        assert last == "alive"
    state, _, _, _ = expect_error(pg, "SELECT kse_version();\nSET kse.no_such_setting = 1")
    assert state == "42602"  # the kse. prefix is reserved


@pytest.mark.parametrize("args, state", [
    ("'{1,2,3}'::real[], '{1,2}'::real[]", "2202E"),
    ("'{1,NULL,3}'::real[], '{1,2,3}'::real[]", "22023"),
    ("'{{1,2},{3,4}}'::real[], '{{1,2},{3,4}}'::real[]", "2202E"),
    ("'{}'::real[], '{}'::real[]", "22023"),
    ("'{1,2}'::real[], '{}'::real[]", "22023"),
])
def test_cosine_rejects_bad_vectors(pg, args, state):
    got, msg, _, last = expect_error(pg, f"SELECT kse_cosine({args})")
    assert got == state, (args, got, msg)
    assert msg.startswith("kse_cosine: ")
    assert last == "alive"


def test_cosine_values_and_zero_norm_is_null(pg):
    out = pg.psql("SELECT kse_cosine('{1,0}', '{0,1}'), kse_cosine('{1,2,3}', '{2,4,6}'),\n"
                  "       kse_cosine('{0,0}', '{1,1}') IS NULL, kse_cosine(NULL, '{1}') IS NULL").stdout.strip()
    a, b, zero, null = out.split("|")
    assert float(a) == 0.0 and abs(float(b) - 1.0) < 1e-12
    assert zero == "t" and null == "t"


def test_null_inputs_give_null(pg):
    assert pg.psql("SELECT kse_embed(NULL) IS NULL, kse_tokens(NULL) IS NULL,\n"
                   "       (SELECT count(*) FROM kse_embed(NULL::text[]))").stdout.strip() == "t|t|0"
    out = pg.psql("SELECT array_length(e, 1), e IS NULL FROM kse_embed(ARRAY['a', NULL]) AS e").stdout.split()
    assert out == ["384|f", "|t"]


def test_empty_string_gives_vector_of_model_dim(pg, enc):
    v = parse_vec(pg.psql("SELECT kse_embed('')").stdout.strip())
    assert v.shape == (enc.dim,)
    assert float(np.max(np.abs(v - enc.encode([""])[0]))) <= TOL


def test_one_megabyte_text_is_truncated_to_a_vector(pg, enc):
    unit = "가나다라 마바사 "
    n = 1_000_000 // len(unit.encode()) + 1
    t = time.monotonic()
    out = pg.psql(f"SELECT octet_length(t), kse_tokens(t), kse_embed(t) FROM (SELECT repeat('{unit}', {n}) AS t) s")
    print(f"\n  1 MB text: {time.monotonic() - t:.2f} s")
    size, tokens, vec = out.stdout.strip().split("|")
    assert int(size) >= 1_000_000
    assert int(tokens) > enc.max_tokens  # so the vector is of a truncated text
    v = parse_vec(vec)
    assert v.shape == (enc.dim,)
    assert float(np.max(np.abs(v - enc.encode([unit * n])[0]))) <= TOL


# ---- 7. tokens and reload on GUC change ---------------------------------------------
def test_tokens_equal_c_abi_count(pg, enc, sentences):
    texts = sentences[:15] + ["", "a", "가나다라 " * 2000]
    arr = "ARRAY[" + ", ".join(sql_str(t) for t in texts) + "]"
    out = pg.psql(f"SELECT kse_tokens(t) FROM unnest({arr}) WITH ORDINALITY AS u(t, o) ORDER BY o").stdout.split()
    assert [int(x) for x in out] == [enc.count_tokens(t) for t in texts]
    assert int(out[-1]) > enc.max_tokens  # untruncated


def test_changing_threads_or_sessions_reloads_the_model(pg, enc):
    q = sql_str("주말에 등산을 갔다.")
    r = pg.psql("SET client_min_messages = debug1;\n"
                f"SELECT kse_embed({q});\n"
                f"SELECT kse_embed({q});\n"
                "SET kse.threads = 1;\n"
                "SELECT name, dim FROM kse_model();\n"
                f"SELECT kse_embed({q});\n"
                "SET kse.sessions = 2;\n"
                f"SELECT kse_embed({q});\n")
    loads = re.findall(r"kse: loaded model .* with threads=(\d+) sessions=(\d+)", r.stderr)
    assert loads == [("0", "1"), ("1", "1"), ("1", "2")], r.stderr
    lines = r.stdout.split()
    assert lines[2] == f"{enc.name}|{enc.dim}"
    vecs = [parse_vec(x) for i, x in enumerate(lines) if i != 2]
    want = enc.encode(["주말에 등산을 갔다."])[0]
    assert max(float(np.max(np.abs(v - want))) for v in vecs) <= TOL


# ---- 8. backend memory --------------------------------------------------------------
def test_backend_rss_with_model_loaded(pg):
    loaded = pg.psql_background("SET application_name = 'kse_rss_loaded';\n"
                                "SELECT kse_embed('메모리'), pg_sleep(60);")
    idle = pg.psql_background("SET application_name = 'kse_rss_idle';\nSELECT pg_sleep(60);")
    try:
        pids = {}
        t0 = time.monotonic()
        while len(pids) < 2 and time.monotonic() - t0 < 30:
            out = pg.psql("SELECT application_name, pid FROM pg_stat_activity "
                          "WHERE application_name LIKE 'kse_rss_%' AND wait_event = 'PgSleep'").stdout.split()
            pids = dict(x.split("|") for x in out)
            time.sleep(0.2)
        assert len(pids) == 2, pids
        rss_loaded = PgServer.backend_rss_kib(int(pids["kse_rss_loaded"]))
        rss_idle = PgServer.backend_rss_kib(int(pids["kse_rss_idle"]))
        pg.psql(f"SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'kse_rss_%'")
    finally:
        for p in (loaded, idle):
            try:
                p.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.communicate()
    print(f"\n  backend VmRSS: {rss_loaded / 1024:.1f} MiB with the model loaded, "
          f"{rss_idle / 1024:.1f} MiB idle (+{(rss_loaded - rss_idle) / 1024:.1f} MiB)")
    assert rss_loaded > rss_idle + 10 * 1024
    assert rss_loaded < 2 * 1024 * 1024


# ---- last: no backend crashed ---------------------------------------------------------
def test_server_log_shows_no_crash(pg):
    log = pg.log_path.read_text(errors="replace")
    for bad in ("terminated by signal", "was terminated by", "server process (PID", "PANIC:",
                "terminating any other active server processes"):
        assert bad not in log, f"{bad!r} in the server log:\n{pg.log_tail(40)}"


def test_readme_example_runs_as_written(pg):
    """README.md's PostgreSQL example, as written, in a fresh database."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    start = text.index("```sql\n", text.index("**PostgreSQL 15**")) + len("```sql\n")
    sql = text[start:text.index("```", start)]
    pg.psql("CREATE DATABASE readme")
    try:
        rows = [line.split("|") for line in pg.psql(sql, db="readme").stdout.splitlines() if "|" in line]
        assert rows[0] == ["1", "오늘은 날씨가 맑다."] and len(rows) == 3, rows
    finally:
        pg.psql("DROP DATABASE readme")
