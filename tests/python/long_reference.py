"""Independent Python reference for kse's long-input features (docs/long-inputs.md).

Written from that page alone (nothing from the Rust sources): token counts, document
tokens with byte ranges in the caller's text (NFC offset mapping included), windowed
embedding, truncation ids by whole-text tokenisation, and chunks.

    m = load("models/kse-ko-small")
    count_tokens(m, text); window_rows(m, text, 32); embed_window(m, [text], 32)
    spans, vecs = embed_chunks(m, text, chunk_tokens=128, overlap=16)

`python tests/python/long_reference.py MODEL_DIR` runs a self-check.
"""

from __future__ import annotations

import bisect
import functools
import os
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference  # noqa: E402

DATA_DIR = Path(os.environ.get("KSE_DATA_DIR", Path(__file__).resolve().parents[3] / "shared" / "data"))
# Unicode White_Space (Rust char::is_whitespace); Python's str.isspace also accepts U+001C..U+001F.
WHITESPACE = frozenset("\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B)))
                       + "\u2028\u2029\u202f\u205f\u3000")
_WS = "".join(sorted(WHITESPACE))
_CLOSERS = [c.encode() for c in "\"'”’)]}」』》〉"]
_ENDS_SPACED = [c.encode() for c in ".?!…"]
_ENDS_ANY = [c.encode() for c in "。？！"]


@dataclass
class LongModel:
    ref: reference.Model  # reference pipeline (its tokenizer truncates; unused here)
    tok: object  # tokenizers.Tokenizer, truncation and padding off
    first: list[int]  # F: special ids the tokenizer puts before a single text
    last: list[int]  # B: special ids after it

    @property
    def manifest(self) -> dict:
        return self.ref.manifest


@dataclass
class Doc:
    prefix_ids: list[int]  # the P prefix tokens
    ids: list[int]  # document tokens t_0 .. t_{L-1}
    starts: list[int]  # byte range of t_i in the caller's text
    ends: list[int]
    data: bytes  # the caller's text, UTF-8


def load(model_dir: str | Path, threads: int = 2) -> LongModel:
    """reference.load plus a non-truncating tokenizer and the special ids F, B."""
    from tokenizers import Tokenizer

    ref = reference.load(model_dir, threads=threads)
    tok = Tokenizer.from_file(str(Path(model_dir) / ref.manifest["tokenizer"]))
    tok.no_truncation()
    tok.no_padding()
    enc = tok.encode("a", add_special_tokens=True)
    mask, ids = enc.special_tokens_mask, enc.ids
    nf = next(i for i, s in enumerate(mask) if not s)
    nb = next(i for i, s in enumerate(reversed(mask)) if not s)
    return LongModel(ref, tok, ids[:nf], ids[len(ids) - nb:])


def _prefix(m: LongModel) -> str:
    return m.manifest.get("prefix") or ""


def _specials(m: LongModel) -> int:
    return len(m.first) + len(m.last)


# ---------------------------------------------------------------- normalisation offsets

@functools.lru_cache(maxsize=None)
def _nfc_maybe() -> frozenset[str]:
    """Characters with NFC_Quick_Check=Maybe (Python has no query for it), derived from
    unicodedata: second elements of primary composites (two-character canonical
    decompositions that NFC recomposes, i.e. not excluded), plus the Hangul V and T jamo
    (U+1161..U+1175, U+11A8..U+11C2) that compose algorithmically with what precedes them.
    NFC_QC=No is "NFC changes the character alone"."""
    out = {chr(c) for c in range(0x1161, 0x1176)} | {chr(c) for c in range(0x11A8, 0x11C3)}
    for c in range(0x110000):
        d = unicodedata.decomposition(chr(c))
        if d and not d.startswith("<"):
            parts = d.split()
            if len(parts) == 2 and unicodedata.normalize("NFC", chr(c)) == chr(c):
                out.add(chr(int(parts[1], 16)))
    return frozenset(out)


def _starts_unit(ch: str) -> bool:
    """NFC quick check Yes (NFC keeps it: not No; nothing before can combine: not Maybe) and ccc 0."""
    return (unicodedata.combining(ch) == 0 and unicodedata.normalize("NFC", ch) == ch
            and ch not in _nfc_maybe())


def _offset_map(text: str, norm: str):
    """f(byte offset in UTF-8 norm, is_end) -> byte offset in UTF-8 text, per normalisation unit."""
    if text == norm:
        return lambda x, is_end: x
    units, cur = [], ""
    for ch in text:
        if cur and _starts_unit(ch):
            units.append(cur)
            cur = ""
        cur += ch
    if cur:
        units.append(cur)
    nstarts, ostarts, changed = [], [], []
    o = n = 0
    pieces = []
    for u in units:
        nu = unicodedata.normalize("NFC", u)
        pieces.append(nu)
        nstarts.append(n)
        ostarts.append(o)
        changed.append(nu != u)
        o += len(u.encode())
        n += len(nu.encode())
    assert "".join(pieces) == norm, "NFC is not the concatenation of the units' NFC"
    nstarts.append(n)
    ostarts.append(o)

    def f(x: int, is_end: bool) -> int:
        j = bisect.bisect_right(nstarts, x) - 1
        if x == nstarts[j]:
            return ostarts[j]
        if not changed[j]:
            return ostarts[j] + x - nstarts[j]
        return ostarts[j + 1] if is_end else ostarts[j]

    return f


# ---------------------------------------------------------------- tokens

def _doc(m: LongModel, text: str) -> Doc:
    prefix = _prefix(m)
    norm = reference.normalized(m.ref, text)
    full = prefix + norm
    enc = m.tok.encode(full, add_special_tokens=False)
    cum = [0]  # char index -> byte offset in full
    for ch in full:
        cum.append(cum[-1] + len(ch.encode()))
    pend = len(prefix.rstrip(_WS).encode())
    plen = len(prefix.encode())
    p = 0
    while p < len(enc.ids) and cum[enc.offsets[p][1]] <= pend:
        p += 1
    fmap = _offset_map(text, norm)
    starts, ends = [], []
    for a, b in enc.offsets[p:]:
        starts.append(fmap(max(cum[a] - plen, 0), False))
        ends.append(fmap(max(cum[b] - plen, 0), True))
    return Doc(list(enc.ids[:p]), list(enc.ids[p:]), starts, ends, text.encode())


def document_tokens(m: LongModel, text: str) -> tuple[int, list[tuple[int, int, int]]]:
    """(P, [(id, start_byte, end_byte)] for t_0..t_{L-1}), ranges in text's UTF-8 bytes."""
    d = _doc(m, text)
    return len(d.prefix_ids), list(zip(d.ids, d.starts, d.ends))


def count_tokens(m: LongModel, text: str) -> int:
    """Ids the model would see without truncation: S + P + L."""
    return len(m.tok.encode(_prefix(m) + reference.normalized(m.ref, text), add_special_tokens=True).ids)


def truncate_ids(m: LongModel, text: str) -> list[int]:
    """F + (prefix + document tokens)[:max_tokens - S] + B, from whole-text tokenisation."""
    d = _doc(m, text)
    keep = int(m.manifest["max_tokens"]) - _specials(m)
    return m.first + (d.prefix_ids + d.ids)[:keep] + m.last


def _row(m: LongModel, d: Doc, s: int, e: int) -> list[int]:
    return m.first + d.prefix_ids + d.ids[s:e] + m.last


# ---------------------------------------------------------------- model runs

def _pool(m: LongModel, rows: list[list[int]], max_batch: int = 16, max_tokens: int = 8192) -> np.ndarray:
    """Pooled, un-normalised float64 [n, dim] per row; rows batched by length, padded like reference.feeds."""
    man = m.manifest
    dim = int(man["dim"])
    out = np.zeros((len(rows), dim), dtype=np.float64)
    order = sorted(range(len(rows)), key=lambda i: len(rows[i]))
    i = 0
    while i < len(order):
        j = i + 1
        while j < len(order) and j - i < max_batch and (j - i + 1) * len(rows[order[j]]) <= max_tokens:
            j += 1
        idx = order[i:j]
        feed = reference.feeds(m.ref, [rows[k] for k in idx])
        mask = feed[man["inputs"]["attention_mask"]].astype(np.float64)[:, :, None]
        (y,) = m.ref.session.run([man["output"]], feed)
        y = y.astype(np.float32).astype(np.float64)
        if man["pooling"] == "none":
            v = y
        elif man["pooling"] == "cls":
            v = y[:, 0, :]
        else:
            v = (y * mask).sum(axis=1) / mask.sum(axis=1)
        if v.shape != (len(idx), dim):
            raise ValueError(f"pooled to {v.shape}, manifest dim {dim}")
        out[idx] = v
        i = j
    return out


def _normalise(m: LongModel, v: np.ndarray) -> np.ndarray:
    if m.manifest["normalize"]:
        v = v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)
    return v


# ---------------------------------------------------------------- windows

def window_rows(m: LongModel, text: str, overlap: int = 32) -> list[tuple[list[int], int]]:
    """[(row ids, weight)] per the Window section; weights sum to L (one row when L <= W)."""
    d = _doc(m, text)
    w = int(m.manifest["max_tokens"]) - _specials(m) - len(d.prefix_ids)
    if not 0 <= overlap < w:
        raise ValueError(f"window overlap {overlap} outside [0, {w})")
    n = len(d.ids)
    if n <= w:
        return [(_row(m, d, 0, n), n)]
    out, k, prev = [], 0, 0
    while True:
        s = k * (w - overlap)
        e = min(s + w, n)
        out.append((_row(m, d, s, e), e - prev))
        prev = e
        if e == n:
            return out
        k += 1


def embed_window(m: LongModel, texts: list[str], overlap: int = 32) -> np.ndarray:
    """float32 [n, dim]: length-weighted mean of the windows' pooled vectors, then normalised."""
    per = [window_rows(m, t, overlap) for t in texts]
    rows = [r for wr in per for r, _ in wr]
    pooled = _pool(m, rows)
    out = np.zeros((len(texts), int(m.manifest["dim"])), dtype=np.float64)
    i = 0
    for k, wr in enumerate(per):
        v = pooled[i:i + len(wr)]
        if len(wr) == 1:
            out[k] = v[0]  # exactly as under truncate
        else:
            w = np.array([x for _, x in wr], dtype=np.float64)[:, None]
            out[k] = (w * v).sum(axis=0) / w.sum()
        i += len(wr)
    return _normalise(m, out).astype(np.float32)


# ---------------------------------------------------------------- chunks

def _char_len(data: bytes, p: int) -> int:
    b = data[p]
    return 1 if b < 0x80 else 2 if b < 0xE0 else 3 if b < 0xF0 else 4


def _skip_ws(data: bytes, p: int) -> int:
    while p < len(data):
        n = _char_len(data, p)
        if data[p:p + n].decode() not in WHITESPACE:
            break
        p += n
    return p


def sentence_ends(d: Doc) -> list[int]:
    """Token indices b (1 <= b < L) with a sentence end before t_b."""
    out = []
    data = d.data
    for b in range(1, len(d.ids)):
        xe = d.ends[b - 1]
        g = data[xe:max(xe, _skip_ws(data, d.starts[b]))]  # empty if t_b starts before t_{b-1} ends
        x = xe  # x = data[:x], trailing closing quotes and brackets removed
        for _ in range(8):  # at most 8 closers are looked through
            if (c := next((c for c in _CLOSERS if data.endswith(c, 0, x)), None)) is None:
                break
            x -= len(c)
        if (b"\n" in g or b"\r" in g or (g and any(data.endswith(c, 0, x) for c in _ENDS_SPACED))
                or any(data.endswith(c, 0, x) for c in _ENDS_ANY)):
            out.append(b)
    return out


def _trim(data: bytes, a: int, z: int) -> tuple[int, int]:
    piece = data[a:z].decode()
    core = piece.strip(_WS)
    if not core:
        return a, z
    lead = len(piece[:len(piece) - len(piece.lstrip(_WS))].encode())
    trail = len(piece[len(piece.rstrip(_WS)):].encode())
    return a + lead, z - trail


def chunk_spans(m: LongModel, text: str, chunk_tokens: int = 0, overlap: int = 0
                ) -> list[tuple[int, int, int, int, int]]:
    """[(start_byte, end_byte, row_tokens, s, e)] per the Chunks section; ValueError on bad arguments."""
    d = _doc(m, text)
    max_tokens = int(m.manifest["max_tokens"])
    n_tok = max_tokens if chunk_tokens == 0 else chunk_tokens
    c = n_tok - _specials(m) - len(d.prefix_ids)
    if chunk_tokens < 0 or n_tok > max_tokens or c < 1:
        raise ValueError(f"chunk_tokens {chunk_tokens}: need 0 or S+P+1 .. {max_tokens}")
    if not 0 <= overlap < c:
        raise ValueError(f"overlap {overlap} outside [0, {c})")
    n = len(d.ids)
    if n == 0 or not text.strip(_WS):
        return []
    ends = sentence_ends(d)
    spans, s, e_prev = [], 0, 0
    while True:
        if n - s <= c:
            e = n
        else:
            lo, hi = max(s, e_prev), s + c
            k = bisect.bisect_right(ends, hi) - 1
            e = ends[k] if k >= 0 and ends[k] > lo else hi
        a, z = _trim(d.data, d.starts[s], max(d.ends[e - 1], d.starts[s]))
        spans.append((a, z, _specials(m) + len(d.prefix_ids) + e - s, s, e))
        if e == n:
            return spans
        s, e_prev = max(e - overlap, s + 1), e


def embed_chunks(m: LongModel, text: str, chunk_tokens: int = 0, overlap: int = 0
                 ) -> tuple[list[tuple[int, int, int, int, int]], np.ndarray]:
    """(chunk_spans(...), float32 [n_chunks, dim]): each chunk's row, normalised per the manifest."""
    spans = chunk_spans(m, text, chunk_tokens, overlap)
    if not spans:
        return spans, np.zeros((0, int(m.manifest["dim"])), dtype=np.float32)
    d = _doc(m, text)
    pooled = _pool(m, [_row(m, d, s, e) for _, _, _, s, e in spans])
    return spans, _normalise(m, pooled).astype(np.float32)


# ---------------------------------------------------------------- test texts

def korean_sentences(data_dir: str | Path = DATA_DIR) -> list[str]:
    """KorSTS dev sentences, unique, in file order (sentence1, sentence2 of each pair)."""
    seen: dict[str, None] = {}
    for a, b, _ in reference.read_korsts(Path(data_dir) / "korsts" / "sts-dev.tsv"):
        seen.setdefault(a)
        seen.setdefault(b)
    return list(seen)


def long_korean_documents(data_dir: str | Path = DATA_DIR) -> list[str]:
    """Three documents of about 600, 1500 and 5000 kse-ko-small tokens (~1.73 chars a token):
    KorSTS dev sentences joined by " ", 4 to a paragraph, paragraphs joined by "\\n\\n"."""
    sents = korean_sentences(data_dir)
    docs = []
    for start, chars in ((0, 1040), (700, 2600), (1300, 9850)):
        paras, para, total, i = [], [], 0, start
        while total < chars:
            para.append(sents[i % len(sents)])
            total += len(para[-1]) + 1
            i += 1
            if len(para) == 4:
                paras.append(" ".join(para))
                para = []
        paras += [" ".join(para)] if para else []
        docs.append("\n\n".join(paras))
    return docs


def no_sentence_end_text(data_dir: str | Path = DATA_DIR, n: int = 400) -> str:
    """n KorSTS sentences without final punctuation, joined by single spaces: no sentence end
    anywhere (sentences with an end mark or quote left inside are skipped)."""
    marks = ".?!…。？！"
    out = []
    for s in korean_sentences(data_dir):
        s = s.rstrip(marks + "\"'”’)]}」』》〉" + _WS)
        if s and not any(c in s for c in marks + "\n\r"):
            out.append(s)
        if len(out) == n:
            break
    return " ".join(out)


def no_space_text(n: int = 200, data_dir: str | Path = DATA_DIR) -> str:
    """The first n KorSTS dev sentences concatenated with every whitespace character removed."""
    return "".join(c for s in korean_sentences(data_dir)[:n] for c in s if c not in WHITESPACE)


def one_char_run(ch: str, n: int) -> str:
    """ch repeated n times."""
    return ch * n


def mixed_script_text(repeat: int = 6) -> str:
    """Korean, English, Japanese (。), Chinese, numbers, emoji (ZWJ, flags), quotes after periods,
    full-width marks and line breaks; `repeat` numbered copies."""
    block = ("한국어 문장입니다. 그는 \"내일 온다\"고 했다.\" 정말요? 네! 3.14는 원주율이다.\n"
             "The quick brown fox (v2.0) jumps... over 1,234 lazy dogs! Really?\n"
             "今日は良い天気です。明日も晴れるでしょう。東京へ行きます！"
             "我们今天去北京。这是中文句子？\n"
             "가족 👩‍👩‍👧‍👦 과 개발자 👨‍💻 그리고 국기 🇰🇷🇯🇵 입니다… 『책』을 읽었다.』 끝（괄호）！\r\n"
             "값은 2024.05.01에 42.5% 올랐다.) 다음 줄\n\n")
    return "".join(f"[{i}] " + block for i in range(1, repeat + 1))


def nfd_hangul_text(data_dir: str | Path = DATA_DIR, n: int = 120) -> str:
    """n KorSTS sentences joined by spaces, every other one decomposed (NFD Hangul), starting
    with a decomposed one, plus Latin with combining accents and an Angstrom sign (NFC singleton)."""
    sents = korean_sentences(data_dir)[:n]
    parts = [unicodedata.normalize("NFD", s) if i % 2 == 0 else s for i, s in enumerate(sents)]
    parts.insert(3, "Cafe\u0301 na\u0308ive \u212b \u1100\u1161\u11a8\u0301 각\u0301.")
    return " ".join(parts)


def builder_texts(data_dir: str | Path = DATA_DIR) -> dict[str, str]:
    docs = long_korean_documents(data_dir)
    return {"ko-600": docs[0], "ko-1500": docs[1], "ko-5000": docs[2],
            "no-sentence-end": no_sentence_end_text(data_dir), "no-space": no_space_text(200, data_dir),
            "run-가": one_char_run("가", 3000), "run-a": one_char_run("a", 5000),
            "run-.": one_char_run(".", 3000),
            "mixed": mixed_script_text(), "nfd": nfd_hangul_text(data_dir)}


# ---------------------------------------------------------------- self-check

def main(argv: list[str] | None = None) -> int:
    """python tests/python/long_reference.py MODEL_DIR [--data DATA_DIR]"""
    import argparse

    ap = argparse.ArgumentParser(description="Self-check of the long-input reference on one model.")
    ap.add_argument("model_dir", type=Path)
    ap.add_argument("--data", type=Path, default=DATA_DIR)
    args = ap.parse_args(argv)
    m = load(args.model_dir)
    S, max_tokens = _specials(m), int(m.manifest["max_tokens"])
    print(f"{m.manifest['name']}: max_tokens {max_tokens}, S {S}, prefix {_prefix(m)!r}")

    # (a) short texts: windowed == reference.embed
    short = korean_sentences(args.data)[:3] + ["", "   "]
    for t in short:
        a, b = embed_window(m, [t])[0], reference.embed(m.ref, [t])[0]
        assert np.abs(a - b).max() <= 1e-6, (t, np.abs(a - b).max())
    print(f"(a) embed_window == reference.embed on {len(short)} short texts")
    p3 = len(_doc(m, "가나다").prefix_ids)
    assert chunk_spans(m, "") == [] and chunk_spans(m, " \n\u3000\t") == []
    for bad in ((max_tokens + 1, 0), (S + p3, 0), (S + p3 + 4, 4), (S + p3 + 4, -1), (-1, 0)):
        try:
            chunk_spans(m, "가나다", *bad)
            raise AssertionError(f"chunk_spans accepted {bad}")
        except ValueError:
            pass
    print("chunk argument checks and empty/whitespace documents: ok")

    for name, text in builder_texts(args.data).items():
        d = _doc(m, text)
        n, p = len(d.ids), len(d.prefix_ids)
        assert count_tokens(m, text) == S + p + n
        rows = window_rows(m, text, 32)
        assert sum(w for _, w in rows) == n and all(len(r) <= max_tokens for r, _ in rows)  # (c)
        assert truncate_ids(m, text) == reference.token_ids(m.ref, [text])[0]  # (d)
        spans = chunk_spans(m, text, 128, 16)
        data, covered = d.data, bytearray(len(d.data))
        for a, z, _, _, _ in spans:  # (b)
            assert 0 <= a <= z <= len(data)
            data[a:z].decode()  # raises unless both ends are UTF-8 boundaries
            covered[a:z] = b"\x01" * (z - a)
        assert all(t <= 128 for _, _, t, _, _ in spans) and (not spans or spans[-1][4] == n)
        assert all(x[4] < y[4] and x[0] <= y[0] and x[1] <= y[1] for x, y in zip(spans, spans[1:]))
        tok_bytes = bytearray(len(data))
        for a, z in zip(d.starts, d.ends):
            tok_bytes[a:z] = b"\x01" * (z - a)
        pos = 0
        for ch in text:  # every byte outside the chunks is whitespace or outside every token
            k = len(ch.encode())
            assert covered[pos] or not tok_bytes[pos] or ch in WHITESPACE, (name, pos, ch)
            pos += k
        if name == "no-sentence-end":
            assert not sentence_ends(d)
        if name == "nfd":
            assert n == len(_doc(m, unicodedata.normalize("NFC", text)).ids)
        shown = ", ".join(f"{a}-{z}:{t}" for a, z, t, _, _ in spans[:3])
        print(f"  {name:16s} bytes {len(data):6d} count_tokens {S + p + n:5d} (P {p}) windows {len(rows):2d} "
              f"chunks(128,16) {len(spans):3d} [{shown}{', ...' if len(spans) > 3 else ''}]")
    print("(b) chunk ranges in text, on UTF-8 boundaries, ends increasing; (c) window weights sum to L; "
          "(d) truncate_ids == reference.token_ids")

    docs = long_korean_documents(args.data)
    v = embed_window(m, [docs[1]], 32)
    spans, cv = embed_chunks(m, docs[0], 128, 16)
    assert np.isfinite(v).all() and np.isfinite(cv).all() and cv.shape == (len(spans), int(m.manifest["dim"]))
    if m.manifest["normalize"]:
        assert np.allclose(np.linalg.norm(cv, axis=1), 1, atol=1e-5)
    cos = float(v[0] @ reference.embed(m.ref, [docs[1]])[0])
    print(f"embedded {len(window_rows(m, docs[1], 32))} windows (cos with truncated {cos:.3f}) "
          f"and {len(spans)} chunks: ok")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
