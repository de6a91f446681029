#!/usr/bin/env bash
# Installs kse into PREFIX (default /usr/local):
#   lib/libkse.so.X.Y.Z (+ libkse.so.X, libkse.so links), lib/libkse.a,
#   lib/libonnxruntime.so.1.32.0 (+ libonnxruntime.so.1) beside libkse,
#   include/kse.h, lib/pkgconfig/kse.pc,
#   share/kse/models/multilingual-e5-small (skip with KSE_INSTALL_MODELS=0).
# Run after `make setup` (the Makefile's `install` target does both).
set -euo pipefail
cd "$(dirname "$0")/.."
PREFIX=${PREFIX:-/usr/local}
release=target/release
ort=.cache/onnxruntime/libonnxruntime.so.1.32.0
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
major=${version%%.*}

for f in "$release/libkse.so" "$release/libkse.a" "$ort" include/kse.h; do
  [ -e "$f" ] || { echo "install: $f is missing; run \`make setup\` first" >&2; exit 1; }
done

lib="$PREFIX/lib"
install -d "$lib" "$lib/pkgconfig" "$PREFIX/include"
install -m 0755 "$release/libkse.so" "$lib/libkse.so.$version"
ln -sf "libkse.so.$version" "$lib/libkse.so.$major"
ln -sf "libkse.so.$major" "$lib/libkse.so"
install -m 0644 "$release/libkse.a" "$lib/libkse.a"
install -m 0755 "$ort" "$lib/libonnxruntime.so.1.32.0"
ln -sf libonnxruntime.so.1.32.0 "$lib/libonnxruntime.so.1"
install -m 0644 include/kse.h "$PREFIX/include/kse.h"

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
  dest="$PREFIX/share/kse/models/multilingual-e5-small"
  install -d "$dest"
  for f in model.onnx model.onnx.data tokenizer.json kse.json; do
    install -m 0644 "models/multilingual-e5-small/$f" "$dest/$f"
  done
fi
echo "installed kse $version into $PREFIX (pkg-config: PKG_CONFIG_PATH=$lib/pkgconfig)"
