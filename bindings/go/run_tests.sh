#!/usr/bin/env bash
# Go binding tests: vet, the package tests under the race detector and
# cgocheck2, the example (build tree), and the example built against an
# installed tree.
# Run from anywhere after `make setup`, `make test-models` and
# `make xlang-reference`:
#
#   bash bindings/go/run_tests.sh            # the tests
#   bash bindings/go/run_tests.sh --bench    # the tests, then the benchmarks
#
# Everything it builds goes under target/go/ (pkg-config file, Go build cache,
# binaries); nothing is downloaded (the module has no dependencies).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
out=target/go

need() {
  [ -e "$1" ] || { echo "bindings/go/run_tests.sh: $1 is missing; run \`$2\` first" >&2; exit 1; }
}
# The minimum Go is go.mod's `go` line (1.25: sync.WaitGroup.Go in the tests;
# go vet's stdversion check keeps newer library calls out).
go_min=$(sed -n 's/^go \([0-9.]*\)$/\1/p' bindings/go/go.mod)
command -v go >/dev/null || { echo "bindings/go/run_tests.sh: go ($go_min or newer) not found on PATH" >&2; exit 1; }
go_have=$(GOTOOLCHAIN=local go env GOVERSION); go_have=${go_have#go}; go_have=${go_have%%[!0-9.]*}
if [ -n "$go_have" ] && [ "$(printf '%s\n%s\n' "$go_min" "$go_have" | sort -V | head -n1)" != "$go_min" ]; then
  echo "bindings/go/run_tests.sh: go $go_have is too old; the Go binding needs go $go_min or newer" >&2; exit 1
fi
command -v pkg-config >/dev/null || { echo "bindings/go/run_tests.sh: pkg-config not found; install the Debian package pkg-config" >&2; exit 1; }
command -v gcc >/dev/null || command -v cc >/dev/null || { echo "bindings/go/run_tests.sh: no C compiler for cgo; install gcc" >&2; exit 1; }
need target/release/libkse.so "make setup"
need target/release/libonnxruntime.so.1 "make setup"
need models/kse-ko-small/kse.json "make setup"
need target/test-models/tiny-e5/kse.json "make test-models"
need target/test-models/tiny-seed/kse.json "make test-models"
need target/xlang/reference.f32 "make xlang-reference"

# A pkg-config file for the build tree: headers from include/, libkse from
# target/release with an rpath to it (cgo's flag allowlist accepts -Wl,-rpath,PATH).
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
mkdir -p "$out/pkgconfig" "$out/bin"
cat > "$out/pkgconfig/kse.pc" <<PC
prefix=$root
includedir=\${prefix}/include
libdir=\${prefix}/target/release

Name: kse
Description: Korean Sentence Encoder (build tree)
Version: $version
Libs: -L\${libdir} -lkse -Wl,-rpath,\${libdir}
Cflags: -I\${includedir}
PC

export PKG_CONFIG_PATH="$root/$out/pkgconfig"
export GOCACHE="$root/$out/cache"
export GOTOOLCHAIN=local GOWORK=off GOPROXY=off GOFLAGS=
export CGO_ENABLED=1
unset KSE_ORT_LIBRARY KSE_MODEL_DIR CGO_LDFLAGS

echo "== go vet"
(cd bindings/go && go vet ./...)
(cd examples/go && go vet ./...)
unformatted=$(gofmt -l bindings/go examples/go)
[ -z "$unformatted" ] || { echo "not gofmt-formatted: $unformatted" >&2; exit 1; }

# -race, and GOEXPERIMENT=cgocheck2: every pointer passed to C and every
# pointer stored in non-Go memory is checked against cgo's rules at run time.
echo "== go test -race (cgocheck2)"
(cd bindings/go && GOEXPERIMENT=cgocheck2 go test -race -count=1 -timeout 10m -v ./... 2>&1 \
  | grep -v '^=== RUN') | tee "$out/test.log"
grep -q '^ok ' "$out/test.log"

echo "== example (build tree)"
(cd examples/go && go build -o "$root/$out/bin/similarity" .)
"$out/bin/similarity" models/kse-ko-small | tee "$out/similarity.out"
# A 4 x 4 matrix whose diagonal (the paraphrase pairs) beats every other entry in its row.
awk -F'[][ ]+' '/^\[/ {
    rows++; best = 2
    for (j = 3; j <= 5; j++) if ($j + 0 > $best + 0) best = j
    if (NF != 6 || best != rows + 1) { print "row " rows ": diagonal is not the largest: " $0; bad = 1 }
  } END { if (rows != 4 || bad) exit 1; print "similarity matrix: diagonal dominates" }' "$out/similarity.out"
# Without MODEL_DIR (and $KSE_MODEL_DIR unset above), from another working
# directory: libkse's default model, the same one as models/kse-ko-small.
(cd / && "$root/$out/bin/similarity") > "$out/similarity-default.out"
diff "$out/similarity.out" "$out/similarity-default.out"
echo "example without MODEL_DIR: the default model, same output"

echo "== example (installed tree, pkg-config from make install)"
prefix=$(mktemp -d "${TMPDIR:-/tmp}/kse-go-install.XXXXXX")
trap 'rm -rf "$prefix"' EXIT
PREFIX="$prefix" KSE_INSTALL_MODELS=0 bash scripts/install.sh >/dev/null
# Only PKG_CONFIG_PATH, as the README says: the rpath comes from kse.pc's Libs.
# -a: Go's build cache keys cgo packages without pkg-config's output
# (golang/go#24544), so it would reuse the package built above against the
# build tree's kse.pc, rpath and all.
(cd examples/go && PKG_CONFIG_PATH="$prefix/lib/pkgconfig" \
  go build -a -o "$root/$out/bin/similarity-installed" .)
# Captured before grep (under pipefail, grep -q's early exit can SIGPIPE ldd).
libs=$(ldd "$out/bin/similarity-installed")
if ! grep -q "libkse\.so\.0 => $prefix/lib/" <<<"$libs"; then
  echo "the installed build does not load libkse from $prefix/lib (kse.pc's rpath):" >&2
  echo "$libs" >&2; exit 1
fi
"$out/bin/similarity-installed" models/kse-ko-small > "$out/similarity-installed.out"
diff "$out/similarity.out" "$out/similarity-installed.out"
echo "installed build: same output"

if [ "${1:-}" = "--bench" ]; then
  echo "== benchmarks"
  (cd bindings/go && go test -run '^$' -bench . -benchmem -count=1 ./...)
fi
echo "Go binding: all tests passed"
