#!/usr/bin/env bash
# Model directories broken in each way a user can break one, made from the
# tiny test models (make test-models) for tests/c/test_bad_input.c.
#   tests/c/make_broken_models.sh TEST_MODELS_DIR OUT_DIR
set -euo pipefail
src=$1 out=$2
e5=$src/tiny-e5 seed=$src/tiny-seed
rm -rf "$out"
mkdir -p "$out"

# copy DIR NAME: a copy of a model directory, big files symlinked.
copy() {
  mkdir "$out/$2"
  for f in "$1"/*; do ln -s "$(cd "$(dirname "$f")" && pwd)/$(basename "$f")" "$out/$2/"; done
  rm "$out/$2/kse.json" && cp "$1/kse.json" "$out/$2/kse.json"
}
# manifest NAME PYTHON-EXPRESSION: edits $out/NAME/kse.json as `m`.
manifest() {
  python3 - "$out/$1/kse.json" "$2" <<'PY'
import json, sys
p, expr = sys.argv[1], sys.argv[2]
m = json.load(open(p, encoding="utf-8"))
exec(expr)
json.dump(m, open(p, "w", encoding="utf-8"), ensure_ascii=False, indent=2)
PY
}

echo "not a directory" > "$out/a-file"

copy "$e5" no-manifest && rm "$out/no-manifest/kse.json"

copy "$e5" manifest-not-json && printf '{"format": "kse-model/1", "name": ' > "$out/manifest-not-json/kse.json"

# Not protobuf: JSON text where the graph should be.
copy "$e5" corrupt-graph && rm "$out/corrupt-graph/model.onnx" && head -c 8192 "$e5/tokenizer.json" > "$out/corrupt-graph/model.onnx"

copy "$e5" empty-graph && rm "$out/empty-graph/model.onnx" && : > "$out/empty-graph/model.onnx"

# The graph refers to weights in model.onnx.data, which is gone.
copy "$e5" missing-weights && rm "$out/missing-weights/model.onnx.data"

copy "$e5" truncated-tokenizer && rm "$out/truncated-tokenizer/tokenizer.json" &&
  head -c 1000000 "$e5/tokenizer.json" > "$out/truncated-tokenizer/tokenizer.json"

copy "$e5" wrong-dim && manifest wrong-dim 'm["dim"] = m["dim"] + 1'

copy "$e5" wrong-output-name && manifest wrong-output-name 'm["output"] = "no_such_output"'

# The small seed graph (an embedding table of a few thousand rows) with the
# 250,002-token e5 tokenizer: ids beyond the table.
copy "$seed" vocab-exceeds-embeddings && rm "$out/vocab-exceeds-embeddings/tokenizer.json" &&
  ln -s "$(cd "$e5" && pwd)/tokenizer.json" "$out/vocab-exceeds-embeddings/tokenizer.json"

echo "broken model directories in $out"
