#!/usr/bin/env bash
# The README's "Using it from C", exactly as written, against an installed
# tree: install into a temporary prefix, take app.c and the build commands
# from README.md itself (the blocks between <!-- app.c: ... --> / <!-- end app.c -->
# and <!-- build: ... --> / <!-- end build -->, /opt/kse replaced by the
# prefix), run them in a fresh shell (env -i: PATH only; PKG_CONFIG_PATH
# only as the README's command sets it) and check that app prints the
# similarity matrix, with libkse from the prefix and the installed default
# model (share/kse/models), no KSE_MODEL_DIR, LD_LIBRARY_PATH or ldconfig.
#
# Needs what `make setup` builds and builds nothing: it runs
# scripts/install.sh (what `make install` runs after setup), which only copies.
# Run by tests/c/run.sh (make test-c); alone: bash tests/install/readme_c.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
# The prefix lives under target/, not /tmp: libkse searches for its default
# model beside itself only where no other user can change the path (no
# world- or group-writable directory on the way, sticky /tmp included).
mkdir -p target
tmp=$(mktemp -d "$PWD/target/kse-readme-c.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
fail() { echo "tests/install/readme_c.sh: $*" >&2; exit 1; }

# The fenced block of README.md between "<!-- NAME:" and "<!-- end NAME -->", fences dropped.
block() {
  awk -v start="<!-- $1:" -v end="<!-- end $1 -->" '
    index($0, start) == 1 { on = 1; found = 1; next }
    on && $0 == end { on = 0; closed = 1; next }
    on && !/^```/ { print; lines++ }
    END { if (!found || !closed || !lines) exit 1 }' README.md
}
block app.c > "$tmp/app.c" || fail "README.md has no app.c block (<!-- app.c: ... --> ... <!-- end app.c -->)"
block build > "$tmp/build.txt" || fail "README.md has no build block (<!-- build: ... --> ... <!-- end build -->)"
grep -q '/opt/kse/lib/pkgconfig' "$tmp/build.txt" || fail "the README's build block no longer uses /opt/kse/lib/pkgconfig"
sed "s|/opt/kse|$prefix|g" "$tmp/build.txt" > "$tmp/build.sh"

PREFIX="$prefix" bash scripts/install.sh > /dev/null

# A fresh shell: no variable but PATH (the system's, plus wherever cc and pkg-config are).
fresh_path=/usr/local/bin:/usr/bin:/bin
for tool in cc pkg-config; do
  dir=$(dirname "$(command -v "$tool")") || fail "\`$tool\` not found"
  case ":$fresh_path:" in *":$dir:"*) ;; *) fresh_path="$dir:$fresh_path" ;; esac
done
echo "README build commands (in $tmp, env -i PATH=$fresh_path):"
sed 's/^/  /' "$tmp/build.sh"
(cd "$tmp" && env -i PATH="$fresh_path" bash -euo pipefail "$tmp/build.sh") > "$tmp/app.out" 2> "$tmp/app.err" \
  || { cat "$tmp/app.err" >&2; fail "the README's commands failed (output above)"; }
cat "$tmp/app.out"
# The example is also clean C99 under the tests' warnings.
cc -std=c99 -Wall -Wextra -Werror -fsyntax-only -I"$prefix/include" "$tmp/app.c" \
  || fail "the README's app.c has warnings under -std=c99 -Wall -Wextra -Werror"

# The matrix: 3 x 3, unit diagonal, symmetric, the paraphrase pair above the unrelated sentence.
python3 - "$tmp/app.out" <<'PY' || fail "app did not print the expected similarity matrix"
import sys
rows = [[float(x) for x in line.split()] for line in open(sys.argv[1]) if line.strip()]
assert len(rows) == 3 and all(len(r) == 3 for r in rows), rows
for i in range(3):
    assert abs(rows[i][i] - 1) <= 1e-3, f"diagonal {i}: {rows[i][i]}"
    for j in range(3):
        assert abs(rows[i][j] - rows[j][i]) <= 1e-3, f"not symmetric at {i},{j}"
assert rows[0][1] > rows[0][2] + 0.2 and rows[0][1] > rows[1][2] + 0.2, f"paraphrase pair not the closest: {rows}"
print("README app.c: 3 x 3 similarity matrix, paraphrase pair closest")
PY

# libkse comes from the prefix through kse.pc's rpath, not from the build tree.
# Outputs captured before grep: under pipefail, `cmd | grep -q` fails when grep
# exits at its first match and cmd then dies of SIGPIPE.
dyn=$(readelf -d "$tmp/app")
rpath=$(grep -E 'RPATH|RUNPATH' <<<"$dyn" || true)
grep -qF "$prefix/lib" <<<"$rpath" || fail "app has no rpath to $prefix/lib"
if grep -qF "$PWD/target/release" <<<"$dyn"; then fail "app has an rpath into the build tree"; fi
libs=$(cd "$tmp" && env -i PATH="$fresh_path" ldd ./app)
grep -q "libkse\.so\.0 => $prefix/lib/" <<<"$libs" \
  || { echo "$libs" >&2; fail "app does not load libkse.so.0 from $prefix/lib"; }
# The model was the installed default: without share/kse/models, app cannot start.
mv "$prefix/share/kse/models" "$tmp/models.moved"
if (cd "$tmp" && env -i PATH="$fresh_path" ./app) > /dev/null 2> "$tmp/nomodel.err"; then
  fail "app still ran with $prefix/share/kse/models moved away: the default model did not come from the prefix"
fi
grep -q "^KSE_ERR_MODEL_NOT_FOUND: " "$tmp/nomodel.err" || { cat "$tmp/nomodel.err" >&2; fail "unexpected error without the installed model"; }
echo "README app.c: built and run as written from an installed tree (rpath from kse.pc, installed default model)"
