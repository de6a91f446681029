#!/usr/bin/env bash
# The Python binding's error and thread tests (tiny model) under valgrind
# memcheck. Fails on any invalid read, write or free anywhere in the process,
# and on any error report whose stack passes through kse or ONNX Runtime.
# CPython 3.11 itself draws a few dozen "uninitialised value" reports in its
# garbage collector and eval loop under valgrind (no suppression file ships
# with it); those are counted and listed, not failed on. Leak checking is off
# (the interpreter keeps its objects at exit; kse's own leaks are checked by
# tests/c/run.sh). Not part of `make test` (about 6 minutes); RELIABILITY.md
# reports it.
#   bash tests/memcheck_python.sh      (after make setup test-models)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "tests/memcheck_python.sh: valgrind not found (apt-get install valgrind)" >&2; exit 1; }
export PYTHONMALLOC=malloc   # plain malloc, so memcheck sees every Python allocation
mkdir -p target/memcheck
log=target/memcheck/python.log
valgrind --leak-check=no --log-file="$log" --num-callers=40 \
  --suppressions=tests/c/valgrind.supp \
  .cache/venv/bin/python -m pytest -q -p no:cacheprovider \
  bindings/python/tests/test_errors.py \
  "bindings/python/tests/test_threads.py::test_many_threads_many_batches_every_vector_checked" \
  "bindings/python/tests/test_threads.py::test_close_waits_for_calls_in_flight" "$@"
python3 - "$log" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
# One record per error: the header line and its stack, up to a blank line.
records = re.findall(r"^==\d+== ([A-Z][^\n]*)\n((?:==\d+==  [^\n]*\n)*)", text, re.M)
errors = [(h, st) for h, st in records if not h.startswith(("Memcheck", "Copyright", "Using", "Command", "Parent",
                                                               "HEAP", "ERROR SUMMARY", "For lists", "Use --", "All heap"))]
bad = [(h, st) for h, st in errors
       if h.startswith(("Invalid", "Mismatched", "Source and destination", "Syscall param"))
       or re.search(r"libkse|kse::|libonnxruntime|_kse|ctypes|_ctypes", st)]
kinds = {}
for h, _ in errors:
    kinds[h] = kinds.get(h, 0) + 1
print(f"memcheck: {len(errors)} reports in all; {len(bad)} in kse, ONNX Runtime, ctypes or of an invalid-access kind")
for h, n in sorted(kinds.items(), key=lambda kv: -kv[1]):
    print(f"  {n:4d} x {h}")
for h, st in bad[:5]:
    print("FAIL:", h, st, sep="\n")
sys.exit(1 if bad else 0)
PY
