#!/usr/bin/env bash
# C-side tests: the API contract on each test model, a missing ONNX Runtime,
# the example (shared and static), and valgrind memcheck. Run by `make test-c`.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=target/c
models=${KSE_TEST_MODELS:-target/test-models}
model=${KSE_MODEL_DIR:-models/kse-ko-small}

need() {
  command -v "$1" >/dev/null && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing $2 (apt-get)"; apt-get update -qq && apt-get install -y -qq "$2" >/dev/null && return 0
  fi
  echo "tests/c/run.sh: \`$1\` not found; install the Debian package $2" >&2; exit 1
}
need valgrind valgrind
need pkg-config pkg-config
need readelf binutils

for m in tiny-e5 tiny-seed tiny-seed-pooled; do
  "$bin/test_c_api" "$models/$m"
done
cc -shared -fPIC -o "$bin/libfake_old_ort.so" tests/c/fake_old_ort.c
KSE_TEST_OLD_ORT="$PWD/$bin/libfake_old_ort.so" "$bin/test_c_api" --no-runtime "$models/tiny-e5"

# Bad input, table-driven: each case its own status and message, output untouched.
bash tests/c/make_broken_models.sh "$models" "$bin/broken-models"
"$bin/test_bad_input" "$models" "$bin/broken-models" "$PWD/$bin/libfake_old_ort.so"

# Threads: concurrent create/free, and 8 threads x 2,000 calls on one encoder,
# bit-identical to the single-threaded results.
"$bin/test_threads" "$models/tiny-e5" 8 2000

# Cross-language agreement: the C API against the Python reference embeddings.
"$bin/xlang" "$model" target/xlang

# The example on the default model: a 4 x 4 matrix whose diagonal (the
# paraphrase pairs) beats every other entry in its row.
"$bin/similarity" "$model" | tee "$bin/similarity.out"
python3 - "$bin/similarity.out" <<'PY'
import re, sys
rows = [[float(x) for x in re.findall(r"-?\d+\.\d+", l)] for l in open(sys.argv[1]) if l.startswith("[")]
assert len(rows) == 4 and all(len(r) == 4 for r in rows), rows
for i, r in enumerate(rows):
    assert max(range(4), key=lambda j: r[j]) == i, f"row {i}: diagonal is not the largest: {r}"
print("similarity matrix: diagonal dominates")
PY
# Linked statically, the example prints the same matrix (ONNX Runtime via KSE_ORT_LIBRARY).
KSE_ORT_LIBRARY="$PWD/target/release/libonnxruntime.so.1" "$bin/similarity-static" "$model" > "$bin/similarity-static.out"
diff "$bin/similarity.out" "$bin/similarity-static.out"
echo "static example: same output"

# Memcheck: no definite or indirect leaks, no invalid reads/writes.
valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
  --show-leak-kinds=definite,indirect --suppressions=tests/c/valgrind.supp \
  "$bin/test_c_api" "$models/tiny-e5"
valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
  --show-leak-kinds=definite,indirect --suppressions=tests/c/valgrind.supp \
  "$bin/test_threads" "$models/tiny-e5" 4 25 2 1
echo "valgrind: clean"

# Installed: a C program built with pkg-config against the installed tree
# finds libkse and ONNX Runtime with no environment variables.
# Under target/, not /tmp: libkse searches for its default model only in a
# tree that no other user can write to (RELIABILITY.md, Security).
prefix=$(mktemp -d "$PWD/target/kse-install.XXXXXX")
trap 'rm -rf "$prefix"' EXIT
PREFIX="$prefix" bash scripts/install.sh
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
cc -std=c99 -Wall -Werror examples/c/similarity.c $(pkg-config --cflags --libs kse) -o "$prefix/similarity"
(unset KSE_ORT_LIBRARY; "$prefix/similarity" "$model") > "$bin/similarity-installed.out"
diff "$bin/similarity.out" "$bin/similarity-installed.out"
# No model directory: the installed libkse finds <prefix>/share/kse/models/kse-ko-small.
(cd /; unset KSE_ORT_LIBRARY KSE_MODEL_DIR; "$prefix/similarity") > "$bin/similarity-installed-default.out"
diff "$bin/similarity.out" "$bin/similarity-installed-default.out"
# model_dir "kse-ko-mini": the installed shipped model by name (from /, which has
# no such directory), the same matrix as the build tree's models/kse-ko-mini.
"$bin/similarity" models/kse-ko-mini > "$bin/similarity-mini.out"
(cd /; unset KSE_ORT_LIBRARY KSE_MODEL_DIR; "$prefix/similarity" kse-ko-mini) > "$bin/similarity-installed-mini.out"
diff "$bin/similarity-mini.out" "$bin/similarity-installed-mini.out"
if diff -q "$bin/similarity.out" "$bin/similarity-mini.out" > /dev/null; then
  echo "kse-ko-mini gave the default model's matrix"; exit 1
fi
# Outputs captured before grep: under pipefail, `cmd | grep -q` fails when grep
# exits at its first match and cmd then dies of SIGPIPE.
dyn=$(readelf -d "$prefix/lib/libkse.so")
grep -q 'SONAME.*libkse\.so\.0' <<<"$dyn" || { echo "libkse.so has no SONAME libkse.so.0"; exit 1; }
# The installed kse finds the TF Hub importer in <prefix>/share/kse/tools.
help=$(cd /; KSE_TFHUB_PYTHON=python3 "$prefix/bin/kse" import-tfhub --help) || true
grep -q "usage: kse import-tfhub" <<<"$help" \
  || { echo "installed kse import-tfhub does not find its tool"; exit 1; }
echo "installed tree: pkg-config build works, default model and kse-ko-mini found, SONAME set, import-tfhub tool found"

# The README's C example and build command, as written, in a fresh shell
# against an installed tree (its own temporary prefix under target/).
bash tests/install/readme_c.sh

# One library file: libkse built with the default model compiled in (cargo
# feature embedded-model), copied alone with ONNX Runtime into an empty
# directory, gives the example the same matrix with no model files anywhere.
one=$(mktemp -d "${TMPDIR:-/tmp}/kse-embedded.XXXXXX")
trap 'rm -rf "$prefix" "$one"' EXIT
cp target/embedded/release/libkse.so "$one/libkse.so.0"
ln -s libkse.so.0 "$one/libkse.so"
cp target/release/libonnxruntime.so.1 "$one/"
cc -std=c99 -Wall -Werror -Iinclude examples/c/similarity.c -L"$one" -lkse -Wl,-rpath,"$one" -o "$one/similarity"
(cd "$one"; unset KSE_ORT_LIBRARY KSE_MODEL_DIR; ./similarity) > "$bin/similarity-embedded.out"
diff "$bin/similarity.out" "$bin/similarity-embedded.out"
echo "embedded model: one library file, same output"
