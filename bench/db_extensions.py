"""Rows per second embedding 10,000 KorSTS sentences inside SQLite and
PostgreSQL, against the kse CLI on the same sentences, in one run; memory
once the model is loaded (BENCHMARKS.md, "Inside databases").

    make bench-db        (.cache/sqlite-venv/bin/python bench/db_extensions.py)

Every path uses the default model with libkse's default threads. The CLI's
rate excludes its model load (time for the 10,000 minus time for one
sentence); the database rates are timed statements after the model was
loaded in that connection or backend:
  sqlite row:     INSERT INTO emb SELECT rowid, kse_embed(s) FROM t
  sqlite column:  INSERT INTO emb SELECT rowid, embedding FROM kse_embed_column('t', 's')
  postgres row:   INSERT INTO emb SELECT id, kse_embed(s) FROM t
  postgres array: INSERT INTO emb SELECT ... FROM kse_embed(array_agg(s)) WITH ORDINALITY
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "python"))
sys.path.insert(0, str(REPO / "tests" / "postgres"))
RELEASE = REPO / "target" / "release"
DATA = REPO.parent / "shared" / "data"


def sentences(n: int) -> list[str]:
    import reference

    out, seen = [], set()
    for a, b, _ in reference.read_korsts(DATA / "korsts" / "sts-train.tsv"):
        for s in (a, b):
            if s not in seen and "\n" not in s:
                seen.add(s)
                out.append(s)
    if len(out) < n:
        raise SystemExit(f"KorSTS train has only {len(out)} distinct sentences")
    return out[:n]


def rss_kib() -> int:
    m = re.search(r"VmRSS:\s+(\d+)", Path("/proc/self/status").read_text())
    return int(m.group(1))


def cli(texts: list[str], work: Path) -> dict:
    one, many = work / "one.txt", work / "many.txt"
    one.write_text(texts[0] + "\n", encoding="utf-8")
    many.write_text("\n".join(texts) + "\n", encoding="utf-8")

    def run(path: Path) -> float:
        t = time.perf_counter()
        subprocess.run([str(RELEASE / "kse"), "encode", str(path), "-o", str(work / "out.npy")], check=True)
        return time.perf_counter() - t

    t1, tn = run(one), run(many)
    return {"seconds": tn - t1, "load_seconds": t1, "rows_per_s": len(texts) / (tn - t1)}


def sqlite(texts: list[str], work: Path) -> dict:
    db = sqlite3.connect(work / "bench.db")
    before = rss_kib()
    db.enable_load_extension(True)
    db.load_extension(str(RELEASE / "kse_sqlite"))
    db.execute("CREATE TABLE t(s TEXT)")
    db.executemany("INSERT INTO t(s) VALUES (?)", [(s,) for s in texts])
    db.execute("CREATE TABLE emb(id INTEGER PRIMARY KEY, v BLOB)")
    db.commit()
    db.execute("SELECT kse_embed('모델을 불러온다')").fetchone()
    loaded = rss_kib()
    out = {"process_rss_growth_mb_after_load": (loaded - before) / 1024}
    for name, sql in [("row", "INSERT INTO emb SELECT rowid, kse_embed(s) FROM t"),
                      ("column", "INSERT INTO emb SELECT rowid, embedding FROM kse_embed_column('t', 's')")]:
        db.execute("DELETE FROM emb")
        db.commit()
        t = time.perf_counter()
        db.execute(sql)
        db.commit()
        dt = time.perf_counter() - t
        assert db.execute("SELECT count(*) FROM emb WHERE length(v) = 1536").fetchone()[0] == len(texts)
        out[name] = {"seconds": dt, "rows_per_s": len(texts) / dt}
    out["process_rss_mb_after"] = rss_kib() / 1024
    return out


PG_SCRIPT = r"""
CREATE EXTENSION kse;
CREATE TABLE t(id integer PRIMARY KEY, s text);
\copy t FROM '{data}'
CREATE TABLE emb(id integer, v real[]);
SELECT 'rss_before', substring(pg_read_file('/proc/self/status') from 'VmRSS:\s+(\d+)');
SELECT 'dim', array_length(kse_embed('모델을 불러온다'), 1);
SELECT 'rss_loaded', substring(pg_read_file('/proc/self/status') from 'VmRSS:\s+(\d+)');
SELECT 'start_row', clock_timestamp();
INSERT INTO emb SELECT id, kse_embed(s) FROM t;
SELECT 'end_row', clock_timestamp();
TRUNCATE emb;
SELECT 'start_array', clock_timestamp();
INSERT INTO emb SELECT b.ids[x.i], x.e
  FROM (SELECT array_agg(id ORDER BY id) AS ids, array_agg(s ORDER BY id) AS ss FROM t) b,
       kse_embed(b.ss) WITH ORDINALITY AS x(e, i);
SELECT 'end_array', clock_timestamp();
SELECT 'rows', count(*) FROM emb WHERE array_length(v, 1) = 384;
SELECT 'rss_after', substring(pg_read_file('/proc/self/status') from 'VmRSS:\s+(\d+)');
"""


def postgres(texts: list[str], work: Path) -> dict:
    from pgserver import PgServer

    data = work / "t.tsv"
    data.write_text("".join(f"{i}\t{s.replace(chr(92), chr(92) * 2)}\n" for i, s in enumerate(texts, 1)),
                    encoding="utf-8")
    data.chmod(0o644)
    with PgServer(REPO) as pg:
        out = pg.psql(PG_SCRIPT.format(data=data), timeout=3600).stdout
    vals = {}
    for line in out.splitlines():
        key, _, value = line.partition("|")
        vals[key] = value

    def ts(key: str) -> float:
        from datetime import datetime

        return datetime.fromisoformat(vals[key]).timestamp()

    assert int(vals["rows"]) == len(texts), vals
    res = {"backend_rss_mb_before_load": int(vals["rss_before"]) / 1024,
           "backend_rss_mb_after_load": int(vals["rss_loaded"]) / 1024,
           "backend_rss_mb_after_runs": int(vals["rss_after"]) / 1024}
    for name in ("row", "array"):
        dt = ts(f"end_{name}") - ts(f"start_{name}")
        res[name] = {"seconds": dt, "rows_per_s": len(texts) / dt}
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "db.json")
    args = ap.parse_args()
    texts = sentences(args.n)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        res = {"n": len(texts), "machine": platform.processor() or platform.machine(), "cli": cli(texts, work)}
        res["sqlite"] = sqlite(texts, work)
        res["postgres"] = postgres(texts, work)
    base = res["cli"]["rows_per_s"]
    rows = [("kse CLI (`kse encode`)", base),
            ("SQLite `kse_embed(s)` row by row", res["sqlite"]["row"]["rows_per_s"]),
            ("SQLite `kse_embed_column('t', 's')`", res["sqlite"]["column"]["rows_per_s"]),
            ("PostgreSQL `kse_embed(s)` row by row", res["postgres"]["row"]["rows_per_s"]),
            ("PostgreSQL `kse_embed(text[])`", res["postgres"]["array"]["rows_per_s"])]
    print(f"| path | rows/s | vs CLI |\n|---|---:|---:|")
    for name, r in rows:
        print(f"| {name} | {r:.1f} | {r / base:.2f}x |")
    pgm = res["postgres"]
    print(f"PostgreSQL backend RSS: {pgm['backend_rss_mb_before_load']:.0f} MB before the model, "
          f"{pgm['backend_rss_mb_after_load']:.0f} MB after loading it, {pgm['backend_rss_mb_after_runs']:.0f} MB "
          f"after both runs; SQLite process grew {res['sqlite']['process_rss_growth_mb_after_load']:.0f} MB on load")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
