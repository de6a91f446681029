#!/usr/bin/env python3
"""Writes the cross-language reference for long inputs (docs/long-inputs.md):
documents, their token counts, their window-mode vectors, their chunks and
the chunks' vectors, all by the independent Python reference
(tests/python/long_reference.py: tokenizers + onnxruntime) on the default
model. Every binding's test runs the same documents through the library and
compares (vectors within 1e-5, counts and byte ranges equal).

    python tests/xlang/make_long_reference.py [--model DIR] [--out DIR]

Outputs in OUT (default target/xlang/long/), plain files any language reads:
  doc0.txt ...        the documents, UTF-8, exactly as encoded
  params.txt          key=value lines: documents, dim, window_overlap,
                      chunk_tokens, chunk_overlap
  counts.txt          one line per document: count_tokens
  windows.txt         one line per document: windows under KSE_WINDOW
  window.f32          little-endian float32 [documents, dim]: window-mode vectors
  chunks.tsv          one line per chunk: document, start byte, end byte, tokens
  chunks.f32          little-endian float32 [chunks, dim], in chunks.tsv order
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO / "tests" / "python"))
import long_reference as lr  # noqa: E402

WINDOW_OVERLAP = 32
CHUNK_TOKENS = 128
CHUNK_OVERLAP = 16


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, default=REPO / "models" / "kse-ko-small")
    ap.add_argument("--out", type=Path, default=REPO / "target" / "xlang" / "long")
    args = ap.parse_args()
    texts = lr.builder_texts()
    docs = [texts["ko-1500"], texts["mixed"], lr.no_sentence_end_text(n=60), "짧은 문장 하나.", " \n "]
    m = lr.load(args.model)
    args.out.mkdir(parents=True, exist_ok=True)
    for i, d in enumerate(docs):
        (args.out / f"doc{i}.txt").write_bytes(d.encode("utf-8"))
    window = lr.embed_window(m, docs, WINDOW_OVERLAP).astype("<f4")
    windows = [len(lr.window_rows(m, d, WINDOW_OVERLAP)) for d in docs]
    rows, vectors = [], []
    for i, d in enumerate(docs):
        spans, vecs = lr.embed_chunks(m, d, CHUNK_TOKENS, CHUNK_OVERLAP)
        rows += [f"{i}\t{s[0]}\t{s[1]}\t{s[2]}\n" for s in spans]
        vectors.append(np.asarray(vecs, dtype="<f4").reshape(len(spans), window.shape[1]))
    (args.out / "params.txt").write_text(
        f"documents={len(docs)}\ndim={window.shape[1]}\nwindow_overlap={WINDOW_OVERLAP}\n"
        f"chunk_tokens={CHUNK_TOKENS}\nchunk_overlap={CHUNK_OVERLAP}\n"
    )
    (args.out / "counts.txt").write_text("".join(f"{lr.count_tokens(m, d)}\n" for d in docs))
    (args.out / "windows.txt").write_text("".join(f"{k}\n" for k in windows))
    (args.out / "window.f32").write_bytes(window.tobytes())
    (args.out / "chunks.tsv").write_text("".join(rows))
    (args.out / "chunks.f32").write_bytes(np.concatenate(vectors).tobytes())
    print(f"wrote {args.out}: {len(docs)} documents, {sum(windows)} windows, {len(rows)} chunks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
