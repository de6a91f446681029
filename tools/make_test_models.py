#!/usr/bin/env python3
"""Write tiny random-weight kse model directories for fast tests.

    python tools/make_test_models.py --e5-tokenizer tokenizer.json --out target/test-models

DIR/tiny-e5/           real e5 tokenizer, hidden 16, 2 layers, mean pooling, int64 inputs
DIR/tiny-seed/         WordPiece tokenizer (KorSTS train characters), hidden 768, 1 layer,
                       int32 inputs input_word_ids / input_mask, outputs sequence_output and
                       pooled_output (= final CLS state); manifest: cls pooling of sequence_output
DIR/tiny-seed-pooled/  the same graph and tokenizer; manifest: pooling none of pooled_output

Weights come from fixed numpy seeds and the graphs from convert_e5s1.build_model, so the
output is byte-identical from run to run.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from convert_e5s1 import GraphConfig, build_model, make_manifest, write_model_dir  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SEED_E5, SEED_SEED = 1, 2
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
TEST_ONLY = "random weights from kse tools/make_test_models.py (fixed numpy seed); for tests only, not a real encoder"


def random_weights(rng: np.random.Generator, cfg: GraphConfig, type_vocab: int = 1) -> dict[str, np.ndarray]:
    """Random BERT weights in E5S1 naming / PyTorch [out, in] layout, all float32."""
    H, F = cfg.hidden, cfg.ffn

    def normal(shape, std):
        return (rng.standard_normal(shape, dtype=np.float32) * np.float32(std)).astype(np.float32)

    w = {
        "emb.word": normal((cfg.vocab, H), 0.5),
        "emb.pos": normal((cfg.max_positions, H), 0.5),
        "emb.type": normal((type_vocab, H), 0.1),
        "emb.ln.w": 1.0 + normal((H,), 0.1),
        "emb.ln.b": normal((H,), 0.1),
    }
    for i in range(cfg.layers):
        for name, out, inp in (("q", H, H), ("k", H, H), ("v", H, H), ("ao", H, H), ("fi", F, H), ("fo", H, F)):
            w[f"l{i}.{name}.w"] = normal((out, inp), 1.0 / np.sqrt(inp))
            w[f"l{i}.{name}.b"] = normal((out,), 0.1)
        for ln in ("aln", "oln"):
            w[f"l{i}.{ln}.w"] = 1.0 + normal((H,), 0.1)
            w[f"l{i}.{ln}.b"] = normal((H,), 0.1)
    return w


def korsts_characters(path: Path) -> list[str]:
    """Sorted distinct non-whitespace characters of a KorSTS file's sentences (tab split, no quoting)."""
    chars: set[str] = set()
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\r\n").split("\t")
        i1, i2 = header.index("sentence1"), header.index("sentence2")
        for line in f:
            parts = line.rstrip("\r\n").split("\t")
            if len(parts) == len(header):
                chars.update(parts[i1])
                chars.update(parts[i2])
    return sorted(c for c in chars if not c.isspace() and c.isprintable())


def seed_tokenizer_json(chars: list[str]) -> str:
    """DistilKoBERT-style WordPiece tokenizer over single characters, as tokenizer.json text."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    vocab_list = SPECIALS + chars + ["##" + c for c in chars]
    vocab = {tok: i for i, tok in enumerate(vocab_list)}
    if len(vocab) != len(vocab_list):
        raise ValueError("duplicate WordPiece vocabulary entries")
    tok = Tokenizer(models.WordPiece(vocab=vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=False
    )
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    tok.decoder = decoders.WordPiece(prefix="##")
    tok.add_special_tokens(SPECIALS)
    return tok.to_str(pretty=True)


def make_tiny_e5(e5_tokenizer: Path, out: Path):
    cfg = GraphConfig(hidden=16, layers=2, heads=2, ffn=32, vocab=250037, max_positions=512,
                      eps=1e-12, graph_name="tiny-e5")
    model = build_model(cfg, random_weights(np.random.default_rng(SEED_E5), cfg))
    manifest = make_manifest(
        "tiny-e5", cfg.hidden, max_tokens=512,
        attribution=[TEST_ONLY, "tokenizer.json: the multilingual-e5-small tokenizer (MIT)"],
    )
    # Weights in model.onnx.data, as the converter writes the default model;
    # the tiny-seed models keep them inline, so tests cover both layouts.
    return write_model_dir(out, model, e5_tokenizer, manifest, external=True)


def make_tiny_seed(chars: list[str], out_cls: Path, out_pooled: Path):
    tok_json = seed_tokenizer_json(chars)
    cfg = GraphConfig(
        hidden=768, layers=1, heads=12, ffn=256, vocab=len(SPECIALS) + 2 * len(chars), max_positions=128,
        eps=1e-12, input_type="int32", input_ids="input_word_ids", attention_mask="input_mask",
        output="sequence_output", pooled_output="pooled_output", graph_name="tiny-seed",
    )
    model = build_model(cfg, random_weights(np.random.default_rng(SEED_SEED), cfg))
    inputs = {"input_ids": "input_word_ids", "attention_mask": "input_mask", "token_type_ids": None}
    attribution = [TEST_ONLY, "tokenizer.json: character WordPiece built from KorSTS train sentences"]
    common = dict(input_type="int32", inputs=inputs, normalize=True, prefix="", max_tokens=128,
                  attribution=attribution)
    results = write_model_dir(
        out_cls, model, tok_json,
        make_manifest("tiny-seed", cfg.hidden, output="sequence_output", pooling="cls", **common),
    )
    results += write_model_dir(
        out_pooled, model, tok_json,
        make_manifest("tiny-seed-pooled", cfg.hidden, output="pooled_output", pooling="none", **common),
        check=False,
    )
    return results


def default_korsts_train() -> Path:
    data = Path(os.environ.get("KSE_DATA_DIR", REPO.parent / "shared" / "data"))
    return data / "korsts" / "sts-train.tsv"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Write tiny random-weight kse test models.")
    ap.add_argument("--e5-tokenizer", required=True, type=Path, help="the e5 tokenizer.json")
    ap.add_argument("--out", required=True, type=Path, help="output directory")
    ap.add_argument("--korsts-train", type=Path, default=None,
                    help="KorSTS sts-train.tsv (default: $KSE_DATA_DIR/korsts/sts-train.tsv)")
    args = ap.parse_args(argv)
    train = args.korsts_train or default_korsts_train()
    for p, what in ((args.e5_tokenizer, "e5 tokenizer.json"), (train, "KorSTS train file")):
        if not p.is_file():
            print(f"make_test_models: error: {what} not found: {p}", file=sys.stderr)
            return 1
    try:
        results = make_tiny_e5(args.e5_tokenizer, args.out / "tiny-e5")
        results += make_tiny_seed(korsts_characters(train), args.out / "tiny-seed", args.out / "tiny-seed-pooled")
    except (OSError, ValueError) as e:
        print(f"make_test_models: error: {e}", file=sys.stderr)
        return 1
    for path, size, digest in results:
        print(f"{path}  {size} bytes  sha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
