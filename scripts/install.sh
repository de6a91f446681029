#!/usr/bin/env bash
# Installs kse into $DESTDIR$PREFIX (PREFIX default /usr/local):
#   lib/libkse.so.X.Y.Z (+ libkse.so.X, libkse.so links), lib/libkse.a,
#   lib/kse/libonnxruntime.so.1 (kse's private ONNX Runtime: libkse looks in
#     kse/ beside itself, so a system-wide ONNX Runtime is neither shadowed nor used),
#   include/kse.h, lib/pkgconfig/kse.pc,
#   share/kse/models/multilingual-e5-small (skip with KSE_INSTALL_MODELS=0).
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

for f in "$release/libkse.so" "$release/libkse.a" "$ort" include/kse.h; do
  [ -e "$f" ] || { echo "install: $f is missing; run \`make setup\` first" >&2; exit 1; }
done

lib="$DESTDIR$PREFIX/lib"
install -d "$lib" "$lib/kse" "$lib/pkgconfig" "$DESTDIR$PREFIX/include"
install -m 0755 "$release/libkse.so" "$lib/libkse.so.$version"
ln -sf "libkse.so.$version" "$lib/libkse.so.$major"
ln -sf "libkse.so.$major" "$lib/libkse.so"
install -m 0644 "$release/libkse.a" "$lib/libkse.a"
install -m 0755 "$ort" "$lib/kse/libonnxruntime.so.1.32.0"
ln -sf libonnxruntime.so.1.32.0 "$lib/kse/libonnxruntime.so.1"
install -m 0644 include/kse.h "$DESTDIR$PREFIX/include/kse.h"

cat > "$lib/pkgconfig/kse.pc" <<PC
prefix=$PREFIX
libdir=\${prefix}/lib
includedir=\${prefix}/include
modeldir=\${prefix}/share/kse/models

Name: kse
Description: Korean Sentence Encoder: sentence embeddings through ONNX Runtime behind a C ABI
Version: $version
Libs: -L\${libdir} -lkse
Libs.private: -lpthread -ldl -lm
Cflags: -I\${includedir}
PC

if [ "${KSE_INSTALL_MODELS:-1}" != 0 ]; then
  dest="$DESTDIR$PREFIX/share/kse/models/multilingual-e5-small"
  install -d "$dest"
  for f in models/multilingual-e5-small/*; do
    install -m 0644 "$f" "$dest/"
  done
fi

# Refresh the loader cache for a system-wide install so libkse.so.0 is found.
if [ -z "$DESTDIR" ] && [ "$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then
  ldconfig "$lib" 2>/dev/null || true
fi
echo "installed kse $version into $DESTDIR$PREFIX (pkg-config: PKG_CONFIG_PATH=$lib/pkgconfig)"
