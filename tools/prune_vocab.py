#!/usr/bin/env python3
"""Prune the multilingual-e5 (XLM-R Unigram) tokenizer to the pieces Korean text needs.

    python tools/prune_vocab.py --tokenizer models/multilingual-e5-small/tokenizer.json \
        --out DIR [--corpus FILE ...] [--ascii-top 20000]

Kept, in their original order (so the special tokens keep ids 0..3):
  - the special tokens (<s> <pad> </s> <unk>, and <mask>);
  - every piece made only of Hangul (syllables, jamo, compatibility jamo,
    jamo extensions), with or without the word-start mark U+2581;
  - every single-character ASCII piece (letters, digits, punctuation) and the
    `--ascii-top` most probable all-ASCII pieces (English words, numbers);
  - every piece that occurs when tokenising the training text: by default
    every sentence the recipe trains on (tools/ko_data.py: KorSTS and KLUE
    STS train, KLUE NLI, XNLI-ko, StyleKQC train, paraKQC, Question_pair,
    PAWS-X-ko dev), or the sentences of the `--corpus` STS files;
  - the lowest-scoring piece, so the unknown-character penalty (the minimum
    score minus 10) is the same as before.

Why this is safe: a Unigram tokenizer picks the most probable segmentation.
Dropping pieces that a text's best segmentation does not use leaves that
segmentation the best one, so every corpus sentence tokenises to the same
pieces as before; other text can only be cut into more, smaller pieces.

Writes DIR/tokenizer.json (same normaliser, pre-tokenizer, template and
decoder; vocabulary, unk id and special-token ids renumbered) and
DIR/vocab-map.json ({"base_rows": [old id of new id 0, 1, ...], ...}): the rows
of the original embedding table the pruned model keeps. Then it tokenises
every sentence of --check files with both tokenizers and reports how many
differ. Output is deterministic.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ko_data import training_sentences  # noqa: E402
from sts_data import DATA, KLUE_TRAIN, KORSTS_DEV, KORSTS_TRAIN, read_pairs  # noqa: E402

WORD_START = "\u2581"


def is_hangul(c: str) -> bool:
    o = ord(c)
    return (
        0xAC00 <= o <= 0xD7A3  # syllables
        or 0x1100 <= o <= 0x11FF  # jamo
        or 0x3130 <= o <= 0x318F  # compatibility jamo
        or 0xA960 <= o <= 0xA97F  # jamo extended-A
        or 0xD7B0 <= o <= 0xD7FF  # jamo extended-B
    )


def is_ascii_visible(c: str) -> bool:
    return 0x21 <= ord(c) <= 0x7E


def body(piece: str) -> str:
    return piece[1:] if piece.startswith(WORD_START) else piece


def sentences(files: list[Path]) -> list[str]:
    out = []
    for f in files:
        for a, b, _ in read_pairs(f):
            out += [a, b]
    return out


def choose(tok_json: dict, corpus_ids: set[int], ascii_top: int) -> tuple[list[int], dict[str, int]]:
    """Sorted old ids to keep, and how many each rule added (a piece counts under its first rule)."""
    vocab = tok_json["model"]["vocab"]
    special = {t["id"] for t in tok_json["added_tokens"]}
    keep: set[int] = set()
    counts: dict[str, int] = {}

    def add(rule: str, ids) -> None:
        new = set(ids) - keep
        counts[rule] = len(new)
        keep.update(new)

    add("special tokens", special)
    add("Hangul pieces", (i for i, (p, _) in enumerate(vocab) if body(p) and all(map(is_hangul, body(p)))))
    ascii_ids = [i for i, (p, _) in enumerate(vocab) if body(p) and all(map(is_ascii_visible, body(p)))]
    add("single ASCII characters", (i for i in ascii_ids if len(body(vocab[i][0])) == 1))
    by_score = sorted(ascii_ids, key=lambda i: (-vocab[i][1], i))
    add(f"top {ascii_top} ASCII pieces", by_score[:ascii_top])
    add("pieces used by the corpus", corpus_ids)
    lowest = min(range(len(vocab)), key=lambda i: (vocab[i][1], i))
    add("lowest-score piece", [lowest])
    return sorted(keep), counts


def rewrite(tok_json: dict, keep: list[int]) -> dict:
    new_id = {old: new for new, old in enumerate(keep)}
    out = copy.deepcopy(tok_json)
    model = out["model"]
    model["vocab"] = [tok_json["model"]["vocab"][i] for i in keep]
    model["unk_id"] = new_id[tok_json["model"]["unk_id"]]
    for t in out["added_tokens"]:
        t["id"] = new_id[t["id"]]
    post = out.get("post_processor") or {}
    for spec in (post.get("special_tokens") or {}).values():
        spec["ids"] = [new_id[i] for i in spec["ids"]]
    if out.get("padding"):
        out["padding"]["pad_id"] = new_id[out["padding"]["pad_id"]]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tokenizer", required=True, type=Path, help="the e5 tokenizer.json")
    ap.add_argument("--out", required=True, type=Path, help="output directory")
    ap.add_argument("--corpus", type=Path, nargs="*",
                    help="STS files whose sentences must tokenise unchanged (default: all the recipe's training text)")
    ap.add_argument("--check", type=Path, nargs="*", default=[KORSTS_TRAIN, KORSTS_DEV, KLUE_TRAIN],
                    help="STS files on which to count sentences that tokenise differently")
    ap.add_argument("--ascii-top", type=int, default=20000)
    ap.add_argument("--data-dir", type=Path, default=DATA, help="the shared data folder (for the default corpus)")
    args = ap.parse_args(argv)

    from tokenizers import Tokenizer

    text = args.tokenizer.read_text(encoding="utf-8")
    tok_json = json.loads(text)
    if (tok_json.get("model") or {}).get("type") != "Unigram":
        raise SystemExit(f"{args.tokenizer}: expected a Unigram tokenizer")
    base = Tokenizer.from_str(text)

    corpus_ids: set[int] = set()
    corpus = sentences(args.corpus) if args.corpus is not None else training_sentences(args.data_dir)
    for enc in base.encode_batch(corpus, add_special_tokens=True):
        corpus_ids.update(enc.ids)
    keep, counts = choose(tok_json, corpus_ids, args.ascii_top)
    pruned_json = rewrite(tok_json, keep)
    pruned_text = json.dumps(pruned_json, ensure_ascii=False, separators=(",", ":"))
    pruned = Tokenizer.from_str(pruned_text)

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "tokenizer.json").write_text(pruned_text, encoding="utf-8")
    vocab_map = {
        "base_tokenizer_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        "base_pieces": len(tok_json["model"]["vocab"]),
        "kept_pieces": len(keep),
        "rules": counts,
        "base_rows": keep,
    }
    (args.out / "vocab-map.json").write_text(json.dumps(vocab_map) + "\n", encoding="utf-8")

    print(f"pieces: {len(tok_json['model']['vocab'])} -> {len(keep)}")
    for rule, n in counts.items():
        print(f"  {n:6d}  {rule}")
    print("sentences tokenised differently after pruning (ids compared through the map):")
    total_diff = 0
    checks = [(f.name, sentences([f])) for f in args.check]
    if args.corpus is None:
        checks.append(("all training text", corpus))
    for name, sents in checks:
        old = base.encode_batch(sents, add_special_tokens=True)
        new = pruned.encode_batch(sents, add_special_tokens=True)
        diff = sum(1 for o, n in zip(old, new) if [keep[i] for i in n.ids] != o.ids)
        total_diff += diff
        print(f"  {name}: {diff} of {len(sents)}")
    print(f"wrote {args.out / 'tokenizer.json'} and {args.out / 'vocab-map.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
