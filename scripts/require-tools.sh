#!/usr/bin/env bash
# Checks the system tools `make test` uses (C/C++ toolchain, CMake, GoogleTest,
# valgrind, pkg-config, JDK + Maven, Go, the sqlite3 shell and SQLite's
# extension header, PostgreSQL 15 server + PGXS, a Python whose sqlite3 can
# load extensions with venv). On Debian, run as root, missing
# packages are installed with apt-get; otherwise the script names them and
# exits non-zero. Go (1.25 or newer) is not in Debian 12 at that version, so
# it is only checked.
set -euo pipefail
missing=()
check() { command -v "$1" >/dev/null 2>&1 || missing+=("$2"); }
check cc gcc
check c++ g++
check make make
check cmake cmake
check ninja ninja-build
check valgrind valgrind
check pkg-config pkg-config
check readelf binutils
check javac openjdk-17-jdk-headless
check mvn maven
[ -f /usr/include/gtest/gtest.h ] || missing+=(libgtest-dev)
check sqlite3 sqlite3
[ -f /usr/include/sqlite3ext.h ] || missing+=(libsqlite3-dev)
[ -x /usr/lib/postgresql/15/bin/postgres ] || missing+=(postgresql-15)
[ -x /usr/lib/postgresql/15/bin/pg_config ] || missing+=(postgresql-server-dev-15)
# The SQLite tests' venv is made from Debian's Python (its sqlite3 loads extensions).
if ! /usr/bin/python3 -c 'import ensurepip, sqlite3' >/dev/null 2>&1; then missing+=(python3 python3-venv); fi

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "require-tools: installing ${missing[*]} (apt-get)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
      || { echo "require-tools: apt-get install ${missing[*]} failed" >&2; exit 1; }
  else
    echo "require-tools: missing Debian packages: ${missing[*]} (install them, e.g. sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi

if ! command -v go >/dev/null 2>&1; then
  echo "require-tools: go (1.25 or newer) not found on PATH; install it from https://go.dev/dl or your distribution" >&2
  exit 1
fi
go_minor=$(go env GOVERSION | sed -n 's/^go1\.\([0-9]*\).*/\1/p')
if [ -z "$go_minor" ] || [ "$go_minor" -lt 25 ]; then
  echo "require-tools: $(go env GOVERSION) is too old; the Go binding needs go 1.25 or newer" >&2
  exit 1
fi
