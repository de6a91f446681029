#!/usr/bin/env bash
# Installs kse into $DESTDIR$PREFIX (PREFIX default /usr/local):
#   bin/kse (the command-line program),
#   lib/libkse.so.X.Y.Z (+ libkse.so.X, libkse.so links), lib/libkse.a,
#   lib/kse/libonnxruntime.so.1 (kse's private ONNX Runtime: libkse looks in
#     kse/ beside itself, so a system-wide ONNX Runtime is neither shadowed nor used),
#   include/kse.h, lib/pkgconfig/kse.pc, share/doc/kse/onnxruntime-* (its licence),
#   include/kse/kse.hpp (C++) and lib/cmake/kse/kseConfig*.cmake (CMake: find_package(kse)),
#   share/kse/models/kse-ko-small, the default model, and share/kse/models/kse-ko-mini,
#     its 6-layer distilled student (skip both with KSE_INSTALL_MODELS=0),
#   share/kse/tools: the TF Hub importer behind `kse import-tfhub` (docs/import-tfhub.md),
#   lib/kse_sqlite.so: the SQLite extension (extensions/sqlite; built by `make install`).
# Run after `make setup` (the Makefile's `install` target does both).
set -euo pipefail
PREFIX=${PREFIX:-/usr/local}
case "$PREFIX" in /*) ;; *) PREFIX="$PWD/$PREFIX" ;; esac
DESTDIR=${DESTDIR:-}
cd "$(dirname "$0")/.."
release=target/release
ort=.cache/onnxruntime/libonnxruntime.so.1.32.0
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
major=${version%%.*}

for f in "$release/libkse.so" "$release/libkse.a" "$release/kse" "$ort" "$release/onnxruntime-LICENSE" include/kse.h; do
  [ -e "$f" ] || { echo "install: $f is missing; run \`make setup\` first" >&2; exit 1; }
done

lib="$DESTDIR$PREFIX/lib"
install -d "$lib" "$lib/kse" "$lib/pkgconfig" "$DESTDIR$PREFIX/include"
install -m 0755 "$release/libkse.so" "$lib/libkse.so.$version"
ln -sf "libkse.so.$version" "$lib/libkse.so.$major"
ln -sf "libkse.so.$major" "$lib/libkse.so"
install -m 0644 "$release/libkse.a" "$lib/libkse.a"
install -d "$DESTDIR$PREFIX/bin"
install -m 0755 "$release/kse" "$DESTDIR$PREFIX/bin/kse"
install -m 0755 "$ort" "$lib/kse/libonnxruntime.so.1.32.0"
ln -sf libonnxruntime.so.1.32.0 "$lib/kse/libonnxruntime.so.1"
install -m 0644 include/kse.h "$DESTDIR$PREFIX/include/kse.h"
install -d "$DESTDIR$PREFIX/share/doc/kse"
install -m 0644 "$release/onnxruntime-LICENSE" "$release/onnxruntime-ThirdPartyNotices.txt" "$DESTDIR$PREFIX/share/doc/kse/"
# C++: the header-only binding and the CMake package (find_package(kse), target kse::kse).
install -d "$DESTDIR$PREFIX/include/kse" "$lib/cmake/kse"
install -m 0644 bindings/cpp/include/kse/kse.hpp "$DESTDIR$PREFIX/include/kse/kse.hpp"
install -m 0644 bindings/cpp/cmake/kseConfig.cmake bindings/cpp/cmake/kseConfigVersion.cmake "$lib/cmake/kse/"

# The SQLite extension finds libkse.so.0 beside itself (rpath $ORIGIN).
if [ -e "$release/kse_sqlite.so" ]; then
  install -m 0755 "$release/kse_sqlite.so" "$lib/kse_sqlite.so"
else
  echo "install: $release/kse_sqlite.so not built (make sqlite-extension); the SQLite extension is not installed" >&2
fi

# `kse import-tfhub` runs this tool (with KSE_TFHUB_PYTHON, a Python that has its lock installed).
install -d "$DESTDIR$PREFIX/share/kse/tools"
install -m 0644 importers/tfhub/import_tfhub.py importers/tfhub/requirements-tfhub.lock importers/tfhub/check_card_matrix.py \
    "$DESTDIR$PREFIX/share/kse/tools/"

# prefix from the .pc file's own location, so a moved tree still works.
# Libs carry an rpath to libdir: a program linked through pkg-config (C, C++,
# Go's `#cgo pkg-config`, which accepts -Wl,-rpath) finds libkse.so.0 at run
# time wherever the prefix is, with no LD_LIBRARY_PATH or ldconfig.
cat > "$lib/pkgconfig/kse.pc" <<PC
prefix=\${pcfiledir}/../..
libdir=\${prefix}/lib
includedir=\${prefix}/include
modeldir=\${prefix}/share/kse/models

Name: kse
Description: Korean Sentence Encoder: sentence embeddings through ONNX Runtime behind a C ABI
Version: $version
Libs: -L\${libdir} -lkse -Wl,-rpath,\${libdir}
Libs.private: -lpthread -ldl -lm
Cflags: -I\${includedir}
PC

if [ "${KSE_INSTALL_MODELS:-1}" != 0 ]; then
  for model in kse-ko-small kse-ko-mini; do
    dest="$DESTDIR$PREFIX/share/kse/models/$model"
    install -d "$dest"
    for f in models/$model/*; do
      install -m 0644 "$f" "$dest/"
    done
  done
fi

# Refresh the loader cache after a system-wide install so libkse.so.0 is
# found also by programs linked without pkg-config (kse.pc's rpath covers the
# others, in any prefix).
case "$PREFIX" in
  /usr|/usr/local)
    if [ -z "$DESTDIR" ] && [ "$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then ldconfig || true; fi ;;
esac
echo "installed kse $version into $DESTDIR$PREFIX (pkg-config: PKG_CONFIG_PATH=$lib/pkgconfig)"
