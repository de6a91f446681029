#!/usr/bin/env bash
# Tests of the Python binding (bindings/python/tests) and its example, from
# the repository root or anywhere: bindings/python/run_tests.sh [pytest args]
# Needs `make setup`, `make test-models` and `make xlang-reference` first.
# Scratch files (a throwaway venv for the install test) go to target/python/.
set -euo pipefail
cd "$(dirname "$0")/../.."
py=.cache/venv/bin/python

missing=0
check() {  # path, the command that makes it
  if [ ! -e "$1" ]; then echo "bindings/python/run_tests.sh: $1 is missing: run \`$2\`" >&2; missing=1; fi
}
check "$py" "make setup"
check target/release/libkse.so "make setup"
check models/kse-ko-small/kse.json "make setup"
check target/test-models/tiny-e5/kse.json "make test-models"
check target/xlang/reference.f32 "make xlang-reference"
[ "$missing" = 0 ] || exit 1

mkdir -p target/python
"$py" -m pytest -q -p no:cacheprovider bindings/python/tests "$@"
echo "--- examples/python/similarity.py (the default model, kse-ko-small)"
"$py" examples/python/similarity.py
