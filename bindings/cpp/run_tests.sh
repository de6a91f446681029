#!/usr/bin/env bash
# Tests of the C++ binding (bindings/cpp/include/kse/kse.hpp), run from anywhere:
#   bash bindings/cpp/run_tests.sh
# 1. GoogleTest suites built with CMake into target/cpp/build: the C++17 suite
#    (the resource checks in a process of their own) and the C++20 std::span
#    suite under AddressSanitizer and UndefinedBehaviorSanitizer.
# 2. The installed package: scripts/install.sh into a temporary prefix, which
#    is then moved (the CMake package must be relocatable); examples/cpp built
#    out of tree with find_package(kse) against it, shared and static, and run
#    on the default model; a C-only CMake project checks version and component
#    requests and builds examples/c/similarity.c with kse::kse.
# Needs: cmake, ninja (or make), a C/C++ compiler, GoogleTest (Debian libgtest-dev),
# python3; and `make setup`, `make test-models`, `make xlang-reference`.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
out=target/cpp
model=${KSE_MODEL_DIR:-$repo/models/kse-ko-small}
start=$SECONDS

fail() { echo "bindings/cpp/run_tests.sh: $*" >&2; exit 1; }
for tool in cmake c++ cc python3 readelf; do
  command -v "$tool" >/dev/null || fail "\`$tool\` not found (Debian: apt-get install cmake g++ python3 binutils)"
done
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
[ -e target/release/libkse.so ] || fail "target/release/libkse.so is missing: run \`make setup\`"
[ -e "$model/kse.json" ] || fail "$model is missing: run \`make setup\`"
[ -e target/test-models/tiny-e5/kse.json ] || [ -n "${KSE_TEST_MODELS:-}" ] ||
  fail "target/test-models/tiny-e5 is missing: run \`make test-models\`"
[ -e target/xlang/reference.f32 ] || fail "target/xlang/reference.f32 is missing: run \`make xlang-reference\`"

echo "== build the C++ tests ($out/build)"
build_type=Debug  # -O0: the work is in libkse; this halves the build time
if [ -f "$out/build/CMakeCache.txt" ] && ! grep -q "^CMAKE_GENERATOR:INTERNAL=${generator[1]:-Unix Makefiles}$" "$out/build/CMakeCache.txt"; then
  rm -rf "$out/build"
fi
cmake -S bindings/cpp -B "$out/build" "${generator[@]}" -DCMAKE_BUILD_TYPE=$build_type >/dev/null
cmake --build "$out/build" --parallel 2

echo "== C++17 suite"
"$out/build/kse_cpp_test" --gtest_brief=1 --gtest_filter='-Resources.*'
echo "== resource checks (own process)"
"$out/build/kse_cpp_test" --gtest_brief=1 --gtest_filter='Resources.*'
echo "== C++20 std::span suite (ASan + UBSan)"
"$out/build/kse_cpp20_test" --gtest_brief=1

echo "== install into a temporary prefix, move it, build the examples with find_package(kse)"
# Under target/, not /tmp: libkse searches for its default model only in a
# tree that no other user can write to (RELIABILITY.md, Security).
tmp=$(mktemp -d "$PWD/target/kse-cpp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
PREFIX="$tmp/installed" KSE_INSTALL_MODELS=0 bash scripts/install.sh
mv "$tmp/installed" "$tmp/moved"  # nothing may still point at the install path
prefix=$tmp/moved
for f in include/kse/kse.hpp lib/cmake/kse/kseConfig.cmake lib/cmake/kse/kseConfigVersion.cmake; do
  [ -f "$prefix/$f" ] || fail "install.sh did not install $f"
done

cmake -S examples/cpp -B "$tmp/example" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$tmp/example" --parallel 2 >/dev/null
# Output captured before grep: under pipefail, `cmd | grep -q` fails when grep
# exits at its first match and cmd then dies of SIGPIPE.
dyn=$(readelf -d "$tmp/example/similarity")
grep -q 'NEEDED.*libkse\.so\.0' <<<"$dyn" || fail "the example does not link libkse.so.0"
(unset KSE_ORT_LIBRARY; "$tmp/example/similarity" "$model") | tee "$out/similarity.out"

cmake -S examples/cpp -B "$tmp/example-static" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" -DKSE_LINK_STATIC=ON >/dev/null
cmake --build "$tmp/example-static" --parallel 2 >/dev/null
dyn=$(readelf -d "$tmp/example-static/similarity")
if grep -q 'NEEDED.*libkse' <<<"$dyn"; then fail "the static example needs libkse.so"; fi
KSE_ORT_LIBRARY="$prefix/lib/kse/libonnxruntime.so.1" "$tmp/example-static/similarity" "$model" > "$out/similarity-static.out"
diff "$out/similarity.out" "$out/similarity-static.out" || fail "static and shared examples differ"
echo "static example (kse::kse_static): same output"

# Without MODEL_DIR the example passes no directory and libkse looks for its
# default model: $KSE_MODEL_DIR, else beside the installed libkse (not
# installed here: KSE_INSTALL_MODELS=0), from any working directory.
(cd / && KSE_MODEL_DIR="$model" "$tmp/example/similarity") > "$out/similarity-default.out" ||
  fail "the example without MODEL_DIR (KSE_MODEL_DIR=$model) failed"
diff "$out/similarity.out" "$out/similarity-default.out" || fail "the example without MODEL_DIR differs"
if (cd / && env -u KSE_MODEL_DIR "$tmp/example/similarity") > /dev/null 2> "$out/similarity-nomodel.err"; then
  fail "the example found a default model in a prefix installed without models"
fi
looked_for="$(cd "$prefix" && pwd -P)/share/kse/models/kse-ko-small"
grep -q KSE_ERR_MODEL_NOT_FOUND "$out/similarity-nomodel.err" && grep -qF "$looked_for" "$out/similarity-nomodel.err" ||
  fail "no model installed: expected KSE_ERR_MODEL_NOT_FOUND naming $looked_for, got: $(cat "$out/similarity-nomodel.err")"
echo "example without MODEL_DIR: \$KSE_MODEL_DIR is used; with none, the installed tree's share/kse/models/kse-ko-small is looked for"

cmake -S bindings/cpp/tests/package -B "$tmp/package" "${generator[@]}" -DCMAKE_PREFIX_PATH="$prefix" \
  -DKSE_C_EXAMPLE="$repo/examples/c/similarity.c" >/dev/null
cmake --build "$tmp/package" >/dev/null
(unset KSE_ORT_LIBRARY; "$tmp/package/similarity_c" "$model") > "$out/similarity-c.out"
echo "C-only CMake project: version/component requests as documented, C example built with kse::kse"

# The C++ matrix: the paraphrase pairs (the diagonal) beat every other entry
# in their row, and it equals the C example's dot products within 1e-6.
python3 - "$out/similarity.out" "$out/similarity-c.out" <<'PY'
import re, sys
def matrix(path):
    return [[float(x) for x in re.findall(r"-?\d+\.\d+", l)] for l in open(path, encoding="utf-8") if l.startswith("[")]
cpp, c = matrix(sys.argv[1]), matrix(sys.argv[2])
assert len(cpp) == 4 and all(len(r) == 4 for r in cpp), cpp
for i, r in enumerate(cpp):
    assert max(range(4), key=lambda j: r[j]) == i, f"row {i}: diagonal is not the largest: {r}"
worst = max(abs(a - b) for ra, rb in zip(cpp, c) for a, b in zip(ra, rb))
assert len(c) == 4 and worst <= 1e-6, f"C++ and C examples differ by {worst}"
print(f"similarity matrix: diagonal dominates; C++ and C examples agree (max difference {worst:.1e})")
PY

echo "C++ binding: all tests passed in $((SECONDS - start)) s"
