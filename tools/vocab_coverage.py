#!/usr/bin/env python3
"""Which characters a model directory's tokenizer turns into its unknown token.

For each Unicode range below, every assigned character is tokenised alone
(after the manifest's Unicode normalisation) and counted as unknown when any
of its tokens is the tokenizer's <unk>/[UNK]. Prints a Markdown table for
MODEL.md's limitations:

    .cache/venv/bin/python tools/vocab_coverage.py models/kse-ko-small
"""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from pathlib import Path

from tokenizers import Tokenizer

def in_ks_x_1001(c: str) -> bool:
    """In Korea's national character set (EUC-KR): the 2,350 Hangul
    syllables and 4,888 Hanja in common use."""
    try:
        # Two bytes: a KS X 1001 code (other syllables take an 8-byte make-up sequence).
        return len(c.encode("euc_kr")) == 2
    except UnicodeEncodeError:
        return False


RANGES = [
    ("Hangul syllables in KS X 1001 (common)", 0xAC00, 0xD7A3, in_ks_x_1001),
    ("Hangul syllables, all", 0xAC00, 0xD7A3),
    ("Hangul compatibility jamo", 0x3131, 0x318E),
    ("Basic Latin (printable)", 0x21, 0x7E),
    ("Latin-1 letters", 0xC0, 0xFF),
    ("Hanja in KS X 1001", 0x4E00, 0x9FFF, in_ks_x_1001),
    ("CJK unified ideographs, all", 0x4E00, 0x9FFF),
    ("Hiragana", 0x3041, 0x3096),
    ("Katakana", 0x30A1, 0x30FA),
    ("Cyrillic", 0x0400, 0x04FF),
    ("Greek", 0x0370, 0x03FF),
    ("Arabic", 0x0600, 0x06FF),
    ("Thai", 0x0E01, 0x0E5B),
    ("Devanagari", 0x0900, 0x097F),
    ("General punctuation", 0x2010, 0x205E),
    ("Currency symbols", 0x20A0, 0x20C0),
    ("Mathematical operators", 0x2200, 0x22FF),
    ("Arrows", 0x2190, 0x21FF),
    ("Enclosed alphanumerics", 0x2460, 0x24FF),
    ("Enclosed CJK (circled Hangul etc.)", 0x3200, 0x32FF),
    ("Halfwidth and fullwidth forms", 0xFF01, 0xFFEE),
    ("Emoji (emoticons)", 0x1F600, 0x1F64F),
    ("Emoji (pictographs)", 0x1F300, 0x1F5FF),
]


def unknown_ids(tok: Tokenizer) -> set[int]:
    ids = {tok.token_to_id(t) for t in ("<unk>", "[UNK]")}
    return {i for i in ids if i is not None}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", type=Path, help="model directory (kse.json + tokenizer.json)")
    args = ap.parse_args(argv)
    man = json.loads((args.model / "kse.json").read_text(encoding="utf-8"))
    tok = Tokenizer.from_file(str(args.model / man["tokenizer"]))
    tok.no_truncation()
    unk = unknown_ids(tok)
    if not unk:
        print(f"{args.model}: the tokenizer has no unknown token", file=sys.stderr)
        return 1
    nfc = man.get("unicode_normalization", "nfc") == "nfc"
    print(f"{man['name']}: vocabulary {tok.get_vocab_size()} pieces\n")
    print("| characters | assigned | become <unk> | share |")
    print("|---|---:|---:|---:|")
    for name, lo, hi, *keep in RANGES:
        chars = [chr(c) for c in range(lo, hi + 1) if unicodedata.category(chr(c)) != "Cn"]
        chars = [c for c in chars if all(k(c) for k in keep)]
        texts = [unicodedata.normalize("NFC", c) if nfc else c for c in chars]
        encs = tok.encode_batch(texts, add_special_tokens=False)
        bad = sum(1 for e in encs if unk & set(e.ids))
        print(f"| {name} | {len(chars):,} | {bad:,} | {100 * bad / len(chars):.1f}% |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
