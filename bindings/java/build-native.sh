#!/usr/bin/env bash
# Compiles the JNI shim and stages the native libraries the jar bundles:
#   OUT/libkse_jni.so      (src/main/c/kse_jni.c, RUNPATH $ORIGIN, needs libkse.so.0)
#   OUT/libkse.so.0        (copy of LIBKSE, by default target/release/libkse.so;
#                           target/embedded/release/libkse.so from `make embedded`
#                           makes a jar that carries the default model)
#   OUT/libonnxruntime.so.1 (copy of target/release/libonnxruntime.so.1)
#   OUT/SHA256SUMS         (one "SHA256 SIZE NAME" line for each of the three;
#                           NativeLoader checks every extracted file against it
#                           before loading anything)
# Run by Maven (process-classes phase, after javac wrote the JNI header):
#   build-native.sh REPO_ROOT OUT_DIR JNI_HEADER_DIR JAVA_HOME [LIBKSE]
# (Maven passes LIBKSE from -Dkse.libkse; a relative path is taken from REPO_ROOT.)
set -euo pipefail
root=$1 out=$2 headers=$3 java_home=$4 libkse=${5:-}
here=$(cd "$(dirname "$0")" && pwd)
release="$root/target/release"
[ -n "$libkse" ] || libkse="$release/libkse.so"
case $libkse in /*) ;; *) libkse="$root/$libkse" ;; esac
for f in "$libkse" "$release/libonnxruntime.so.1" "$root/include/kse.h"; do
  [ -e "$f" ] || { echo "build-native.sh: $f is missing; run \`make setup\` first (\`make embedded\` for target/embedded)" >&2; exit 1; }
done
[ -e "$java_home/include/jni.h" ] || { echo "build-native.sh: no jni.h under $java_home/include; install a JDK (Debian: openjdk-17-jdk-headless)" >&2; exit 1; }
command -v "${CC:-cc}" >/dev/null || { echo "build-native.sh: no C compiler (${CC:-cc}); install gcc" >&2; exit 1; }
mkdir -p "$out"
"${CC:-cc}" -std=c99 -O2 -g -fPIC -shared -Wall -Wextra -Werror \
  -I"$root/include" -I"$headers" -I"$java_home/include" -I"$java_home/include/linux" \
  "$here/src/main/c/kse_jni.c" -o "$out/libkse_jni.so" \
  "$libkse" -Wl,-rpath,'$ORIGIN' -Wl,-z,defs -Wl,--as-needed
cp -fL "$libkse" "$out/libkse.so.0"
cp -fL "$release/libonnxruntime.so.1" "$out/libonnxruntime.so.1"
# The checksum manifest, written last, from the staged files themselves.
(cd "$out" && for f in libonnxruntime.so.1 libkse.so.0 libkse_jni.so; do
  printf '%s %s %s\n' "$(sha256sum "$f" | cut -d' ' -f1)" "$(stat -c %s "$f")" "$f"
done) > "$out/SHA256SUMS.tmp"
mv -f "$out/SHA256SUMS.tmp" "$out/SHA256SUMS"
