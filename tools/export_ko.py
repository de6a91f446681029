#!/usr/bin/env python3
"""Write the fine-tuned Korean encoder (tools/train_ko.py) as a compact kse model directory.

    python tools/export_ko.py --weights target/ko-model/train/weights.npz \
        --prune target/ko-model/prune --e5s1 .cache/models-src/e5-small-q4.bin \
        --out models/kse-ko-small

Storage (weight-only, deterministic; activations are never quantised):
  - the 72 transformer matrices as int8 with one float32 scale per block of 32
    inputs (symmetric, round to nearest even), expanded by Cast + Mul on
    initializers, which ONNX Runtime folds into float32 weights when the
    session is created: int8 on disk, float32 arithmetic at run time;
  - the pruned word embedding as the exact INT4 blocks of the E5S1 file (it is
    not trained), read with com.microsoft GatherBlockQuantized;
  - everything else (position embedding, biases, layer norms) float32.

One file, model.onnx, beside the pruned tokenizer.json and kse.json. The same
inputs give the same bytes. Several --weights files (runs from the same start,
or train_ko.py checkpoints) are averaged uniformly first: a model soup. A
--weights entry may also be a model directory this tool wrote (e.g. the
committed models/kse-ko-small): its int8 matrices are read back as float32
(scale x int8, the values ONNX Runtime computes with), and its word embedding,
checked to be the untrained E5S1 rows, is taken for the --prune vocabulary.

With --fp32 the matrices stay float32 (the reference for the int8 storage).
With --unpruned E5_TOKENIZER it writes the same trained model with e5-small's
whole vocabulary instead (all 250,037 embedding rows from the E5S1 file, the
original tokenizer.json): the "before" of the pruning comparison in MODEL.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import e5s1  # noqa: E402
from convert_e5s1 import E5_ATTRIBUTION, GraphConfig, Q4, build_model, make_manifest, quantize_q8, write_model_dir  # noqa: E402

NAME = "kse-ko-small"
ATTRIBUTION = E5_ATTRIBUTION + [
    "fine-tuned on KorSTS train (Ham et al., 2020, arXiv:2004.03289; kakaobrain/KorNLUDatasets) and "
    "KLUE STS v1.1 train (Park et al., 2021, arXiv:2105.09680), both CC BY-SA 4.0",
    "vocabulary pruned to Korean, fine-tuned and exported by kse tools/prune_vocab.py, tools/train_ko.py, "
    "tools/export_ko.py; see MODEL.md",
]
# What --extra-data adds: the NLI and paraphrase data of the multi-stage recipe (MODEL.md, round 2).
EXTRA_ATTRIBUTION = [
    "also trained on KLUE NLI v1.1 train/dev (Park et al., 2021), KorNLI's XNLI-ko dev/test (Ham et al., 2020), "
    "StyleKQC train (Cho et al., 2021, arXiv:2103.13439) and paraKQC v1 (Cho et al., 2020), all CC BY-SA 4.0; "
    "Question_pair (songys, MIT); PAWS-X Korean dev (Yang et al., 2019; Google LLC, free use with acknowledgement)",
]


class ExportError(Exception):
    pass


def weights_for_export(trained: dict, f: e5s1.E5S1, base_rows: np.ndarray, unpruned: bool = False,
                       fp32: bool = False) -> dict:
    exact = f.dequantize("emb.word", rows=base_rows)
    if trained["emb.word"].shape != exact.shape or not np.array_equal(trained["emb.word"], exact):
        raise ExportError("the word embedding differs from the E5S1 rows: export needs a model trained with "
                          "--freeze-embeddings (the table is stored as the original INT4 blocks)")
    q, s = f.int4("emb.word")
    if not unpruned:
        q, s = q[base_rows], s[base_rows]
    out = {"emb.word": Q4(np.ascontiguousarray(q), np.ascontiguousarray(s))}
    for name, arr in trained.items():
        if name == "emb.word":
            continue
        layer, _, part = name.partition(".")
        out[name] = quantize_q8(arr) if part in e5s1.LAYER_Q4 and not fp32 else arr.astype(np.float32)
    return out


def weights_from_model_dir(model_dir: Path, f: e5s1.E5S1, base_rows: np.ndarray) -> dict:
    """A model directory written by this tool, back as train_ko.py weights for the --prune vocabulary."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(model_dir / json.loads((model_dir / "kse.json").read_text())["graph"])).graph
    inits = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    if "emb.word.q" not in inits:
        raise ExportError(f"{model_dir}: not a model written by export_ko.py (no INT4 emb.word)")
    # The frozen embedding: every row must be one of the E5S1 file's INT4 rows.
    q, s = f.int4("emb.word")
    known = {q[i].tobytes() + s[i].tobytes() for i in range(q.shape[0])}
    mq, ms = inits["emb.word.q"].astype(np.int8), inits["emb.word.scale"].astype(np.float32)
    if any(mq[i].tobytes() + ms[i].tobytes() not in known for i in range(mq.shape[0])):
        raise ExportError(f"{model_dir}: its word embedding is not the E5S1 file's (trained or another base model)")
    out = {"emb.word": f.dequantize("emb.word", rows=base_rows), "emb.type": inits["emb.type0"][None, :].copy()}
    layers = len({k.partition(".")[0] for k in inits if k.startswith("l") and k.partition(".")[0][1:].isdigit()})
    for name in e5s1.tensor_names(dataclasses.replace(f.config, layers=layers)):
        if name in out:
            continue
        if name + ".q8" in inits:  # [in / 32, 32, out] int8 times [in / 32, 1, out] scales
            wq, ws = inits[name + ".q8"], inits[name + ".scale"]
            out[name] = np.ascontiguousarray((wq.astype(np.float32) * ws).reshape(-1, wq.shape[2]).T)
        elif name in inits:
            out[name] = inits[name].astype(np.float32)
        else:
            raise ExportError(f"{model_dir}: no weight {name}")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--weights", type=Path, nargs="+", required=True,
                    help="train_ko.py weights.npz, or a model directory this tool wrote; several: their uniform "
                         "average (a model soup, Wortsman et al., 2022), which needs runs from the same start")
    ap.add_argument("--prune", type=Path, required=True, help="prune_vocab.py output directory")
    ap.add_argument("--e5s1", type=Path, required=True, help="the E5S1 file training started from")
    ap.add_argument("--out", type=Path, required=True, help="model directory to write")
    ap.add_argument("--name", default=NAME, help=f"the model's name in kse.json (default {NAME})")
    ap.add_argument("--fp32", action="store_true",
                    help="store the transformer matrices as float32 (the reference for the int8 comparison)")
    ap.add_argument("--unpruned", type=Path, metavar="E5_TOKENIZER",
                    help="write the model with e5-small's whole vocabulary and this (original) tokenizer.json")
    ap.add_argument("--extra-data", action="store_true",
                    help="the weights were trained on the multi-stage recipe's NLI and paraphrase data too "
                         "(adds their attribution to kse.json)")
    args = ap.parse_args(argv)

    base_rows = np.array(json.loads((args.prune / "vocab-map.json").read_text())["base_rows"], np.int64)
    f = e5s1.open_e5s1(args.e5s1)
    runs = []
    for path in args.weights:
        if path.is_dir():
            try:
                runs.append(weights_from_model_dir(path, f, base_rows))
            except ExportError as e:
                print(f"export_ko: error: {e}", file=sys.stderr)
                return 1
            continue
        with np.load(path) as z:
            runs.append({k: z[k] for k in z.files if not k.startswith("__")})  # a checkpoint's random states
    if any(r.keys() != runs[0].keys() or any(r[k].shape != runs[0][k].shape for k in r) for r in runs):
        print("export_ko: error: the --weights files hold different tensors", file=sys.stderr)
        return 1
    trained = {k: (np.mean([r[k] for r in runs], axis=0, dtype=np.float64).astype(np.float32) if len(runs) > 1
                   else runs[0][k]) for k in runs[0]}
    try:
        weights = weights_for_export(trained, f, base_rows, unpruned=args.unpruned is not None, fp32=args.fp32)
    except ExportError as e:
        print(f"export_ko: error: {e}", file=sys.stderr)
        return 1
    c = f.config
    # A distilled student (tools/distill_ko.py) has fewer layers than the E5S1 file: count them in the weights.
    layers = len({k.partition(".")[0] for k in trained if k.startswith("l") and k.partition(".")[0][1:].isdigit()})
    cfg = GraphConfig(hidden=c.hidden, layers=layers, heads=c.heads, ffn=c.ffn, vocab=weights["emb.word"].q.shape[0],
                      max_positions=c.max_positions, eps=c.eps, graph_name=args.name)
    model = build_model(cfg, weights)
    name = args.name + ("-unpruned" if args.unpruned else "") + ("-fp32" if args.fp32 else "")
    attribution = ATTRIBUTION + (EXTRA_ATTRIBUTION if args.extra_data else [])
    if layers != c.layers:
        attribution.append(f"a {layers}-layer student distilled from kse-ko-small by kse tools/distill_ko.py; see MODEL.md")
    manifest = make_manifest(name, c.hidden, max_tokens=c.max_positions, attribution=attribution)
    tokenizer = args.unpruned or args.prune / "tokenizer.json"
    for path, size, digest in write_model_dir(args.out, model, tokenizer, manifest):
        print(f"{path}  {size} bytes  sha256 {digest}")
    total = sum(p.stat().st_size for p in args.out.iterdir() if p.is_file())
    print(f"{args.out}: {total} bytes in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
