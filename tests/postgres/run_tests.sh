#!/usr/bin/env bash
# Runs the kse PostgreSQL extension tests against a private PostgreSQL 15 server
# (tests/postgres/pgserver.py): build, install into target/postgres/root, initdb
# in a temp directory, test, stop, clean up. Nothing goes into system directories.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$REPO"

fail() { echo "tests/postgres: $*" >&2; exit 1; }

PY="$REPO/.cache/venv/bin/python"
PG_CONFIG="${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}"
[ -x "$PG_CONFIG" ] || PG_CONFIG="$(command -v pg_config || true)"
DATA_DIR="${KSE_DATA_DIR:-$REPO/../shared/data}"

[ -f target/release/libkse.so ] || fail "target/release/libkse.so not found: build the library first (cargo build --release)"
[ -e target/release/libonnxruntime.so.1 ] || fail "target/release/libonnxruntime.so.1 not found: run the setup that places ONNX Runtime beside libkse.so"
[ -x "$PY" ] || fail "Python venv not found at $PY: run the project setup (make setup)"
"$PY" -c "import pytest, numpy" 2>/dev/null || fail "$PY lacks pytest or numpy"
[ -n "$PG_CONFIG" ] && [ -x "$PG_CONFIG" ] || fail "pg_config not found: install postgresql-server-dev-15 (or set PG_CONFIG)"
PGV="$("$PG_CONFIG" --version)"
case "$PGV" in
  "PostgreSQL 15"*) ;;
  *) fail "need PostgreSQL 15, $PG_CONFIG says: $PGV" ;;
esac
[ -f "$("$PG_CONFIG" --pgxs)" ] || fail "PGXS not found: install postgresql-server-dev-15"
BINDIR="$("$PG_CONFIG" --bindir)"
for b in postgres initdb pg_ctl psql pgbench; do
  [ -x "$BINDIR/$b" ] || fail "$BINDIR/$b not found: install postgresql-15 (server) and postgresql-client-15"
done
[ -f "$DATA_DIR/korsts/sts-dev.tsv" ] || fail "KorSTS dev not found at $DATA_DIR/korsts/sts-dev.tsv (set KSE_DATA_DIR)"
if [ "$(id -u)" = 0 ]; then
  id nobody >/dev/null 2>&1 || fail "running as root needs the user 'nobody' to run the server"
  command -v runuser >/dev/null || fail "running as root needs runuser (util-linux)"
fi

export PG_CONFIG
exec "$PY" -m pytest -q -p no:cacheprovider tests/postgres "$@"
