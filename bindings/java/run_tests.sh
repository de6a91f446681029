#!/usr/bin/env bash
# Java binding: builds the JNI shim and the jar (native libraries for
# linux-x86_64 inside) into target/java, runs the JUnit tests, then runs
# examples/java/Similarity.java from the built jar on the default model.
# Run from anywhere; needs `make setup`, `make test-models` and
# `make xlang-reference` to have been run, a JDK 17+, Maven 3.8+ and gcc.
set -euo pipefail
cd "$(dirname "$0")/../.."
for f in target/release/libkse.so target/release/libonnxruntime.so.1 models/kse-ko-small/kse.json; do
  [ -e "$f" ] || { echo "run_tests.sh: $f is missing; run \`make setup\`" >&2; exit 1; }
done
[ -e target/test-models/tiny-e5/kse.json ] || { echo "run_tests.sh: test models missing; run \`make test-models\`" >&2; exit 1; }
[ -e target/xlang/reference.f32 ] || { echo "run_tests.sh: reference missing; run \`make xlang-reference\`" >&2; exit 1; }
for tool in mvn java gcc; do
  command -v "$tool" >/dev/null || { echo "run_tests.sh: \`$tool\` not found (Debian: maven, openjdk-17-jdk-headless, gcc)" >&2; exit 1; }
done
# Tests and example use the jar's bundled libraries unless told otherwise.
unset KSE_LIBRARY

reports=target/java/surefire-reports
rm -rf "$reports"
# (Debian's Maven 3.8 prints stray colour resets even in batch mode: strip them.)
set +e
mvn -q -B -ntp -f bindings/java/pom.xml package 2>&1 | sed -u 's/\x1b\[[0-9;]*m//g'
status=${PIPESTATUS[0]}
set -e

# Summarise the JUnit results (Surefire's own summary is hidden by -q).
if compgen -G "$reports/TEST-*.xml" >/dev/null; then
  python3 - "$reports" <<'PY'
import glob, sys, xml.etree.ElementTree as ET
run = failed = skipped = 0
for f in glob.glob(sys.argv[1] + "/TEST-*.xml"):
    r = ET.parse(f).getroot()
    run += int(r.get("tests")); skipped += int(r.get("skipped"))
    failed += int(r.get("failures")) + int(r.get("errors"))
print(f"java: {run - failed - skipped} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
PY
fi
[ "$status" = 0 ] || { echo "run_tests.sh: Maven build or tests failed" >&2; exit "$status"; }

jar=target/java/kse-0.2.0.jar
jar tf "$jar" > target/java/jar-contents.txt
for f in libkse_jni.so libkse.so.0 libonnxruntime.so.1 SHA256SUMS; do
  grep -qx "native/linux-x86_64/$f" target/java/jar-contents.txt || { echo "run_tests.sh: $jar lacks $f" >&2; exit 1; }
done

# The example, from the jar alone: a 4 x 4 matrix whose diagonal (the
# paraphrase pairs) beats every other entry in its row.
java -cp "$jar" examples/java/Similarity.java models/kse-ko-small | tee target/java/similarity.out
awk '/^\[/ { gsub(/[\[\]]/, ""); n++; best = 1; for (j = 1; j <= NF; j++) if ($j + 0 > $best + 0) best = j;
             if (best != n) { print "row " n ": diagonal is not the largest: " $0; bad = 1 } }
     END { if (n != 4) { print "expected 4 rows, got " n; bad = 1 } exit bad }' target/java/similarity.out
echo "java example: diagonal dominates"
# Without MODEL_DIR or $KSE_MODEL_DIR, from another directory, on the tree's
# libkse: the default model, found beside it; the same matrix.
root=$PWD
(cd / && env -u KSE_MODEL_DIR java -Dkse.library="$root/target/release/libkse.so" -cp "$root/$jar" \
  "$root/examples/java/Similarity.java") > target/java/similarity-default.out
diff target/java/similarity.out target/java/similarity-default.out
echo "java example without MODEL_DIR: the default model, same output"

# A jar whose libkse carries the default model (`make embedded`, which `make
# test` runs before the bindings): from the jar alone, without MODEL_DIR or
# $KSE_MODEL_DIR, from another directory, the same matrix.
embedded=target/embedded/release/libkse.so
if [ -e "$embedded" ]; then
  set +e
  mvn -q -B -ntp -f bindings/java/pom.xml package -DskipTests -Dkse.libkse="$embedded" \
    -Dkse.build.dir="$root/target/java-embedded" 2>&1 | sed -u 's/\x1b\[[0-9;]*m//g'
  status=${PIPESTATUS[0]}
  set -e
  [ "$status" = 0 ] || { echo "run_tests.sh: building the jar with $embedded failed" >&2; exit "$status"; }
  (cd / && env -u KSE_MODEL_DIR java -cp "$root/target/java-embedded/kse-0.2.0.jar" \
    "$root/examples/java/Similarity.java") > target/java/similarity-embedded.out
  diff target/java/similarity.out target/java/similarity-embedded.out
  echo "java example from a jar with the model inside (-Dkse.libkse=$embedded), without MODEL_DIR: same output"
else
  echo "java: no $embedded (\`make embedded\`): the jar with the model inside is not checked"
fi
