#!/usr/bin/env python3
"""Turn a TF Hub text-encoder pair (encoder + preprocess SavedModels) into a kse model directory.

    import_tfhub.py ENCODER PREPROCESS -o MODEL_DIR [--name NAME] [--probe-file FILE]

ENCODER and PREPROCESS are SavedModel directories or TF Hub compressed
downloads (.tar.gz). Run through `kse import-tfhub` or directly with the TF
venv (`make setup-tfhub`; importers/tfhub/requirements-tfhub.lock).

What it does, and what it refuses (nothing is written unless every check passes):
1. Preprocess: finds the SentencePiece model in its assets/, runs the
   SavedModel on probe sentences and reads off what it packs: outputs
   input_word_ids / input_mask, sequence length, the ids of [CLS] (first),
   [SEP] (last) and [PAD] (padding).
2. Tokenizer: converts the SentencePiece model into a Hugging Face
   tokenizer.json (precompiled normaliser, whitespace handling, Metaspace,
   Unigram with the same scores and unknown penalty, the [CLS] $A [SEP]
   template) and checks that it gives exactly the preprocess model's ids on
   every probe sentence, including ones cut at the sequence length.
3. Encoder: checks that the serving signature takes the preprocess outputs
   (int32) and returns one float [batch, dim] tensor (or the one --output
   names), converts it with tf2onnx, checks that its word-embedding table
   has as many rows as the SentencePiece vocabulary, and that ONNX Runtime
   on the converted graph gives TensorFlow's L2-normalised vectors within
   --tolerance on the probe sentences.
4. Writes MODEL_DIR atomically: model.onnx, tokenizer.json, kse.json (int32
   inputs with the signature's names, pooling none since the graph pools,
   normalise on, max_tokens = the sequence length), import-report.json
   (sources' sha256, versions, what was found and measured) and SHA256SUMS.
Exit status: 0 written, 1 refused (the message says what was found), 2 usage.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tarfile
import tempfile
import unicodedata
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SPIECE_UNDERLINE = "\u2581"
# SentencePiece piece types (sentencepiece_model.proto).
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6
# SentencePiece's penalty for an unknown character: its score is the lowest
# normal piece's score minus this (unigram_model.h, kUnkPenalty).
UNK_PENALTY = 10.0
#: Pieces SentencePiece never matches against text, by type: how tokenizer.json spells them.
NEVER_MATCHED = {CONTROL: "control", UNKNOWN: "unk", UNUSED: "unused"}
EXPECTED_INPUTS = ("input_word_ids", "input_mask")
OPTIONAL_INPUTS = ("input_type_ids",)

# Sentences every import is checked on, beside --probe-file and the card's.
PROBES = [
    "다만, 도로와 인접해서 거리의 소음이 들려요.",
    "하지만, 길과 가깝기 때문에 거리의 소음을 들을 수 있습니다.",
    "형이 다시 캐나다 들어가야 하니 가족모임 일정은 바꾸지 마세요.",
    "가족 모임 일정은 바꾸지 말도록 하십시오.",
    "방안에 필요한 시설이 모두 있어서 매우 편리합니다.",
    "특히, 숙소 근처에 안전한 실내 주차장이 있어서 편리합니다.",
    "관광자원화 검토를 모범적으로 적용한 지자체에는 홍보·컨설팅, 관광상품 개발 지원 등을 제공할 계획이다.",
    "아울러 지자체, 지역관광협회 등과 함께 수시로 관광지 현장을 점검할 계획이다.",
    "",
    " ",
    "   앞뒤와   사이에   공백이   많은   문장   ",
    "탭\t과 줄바꿈\n이 섞인 문장\r\n",
    "ＦＵＬＬ　ＷＩＤＴＨ　１２３ 전각 문자와 ㈜ ① ㎏ ﬁ",
    "Mixed English 텍스트 with numbers 3.14159 and URLs https://example.com/a?b=c",
    "이모지 😀👍🏽 와 한자 漢字 그리고 ☃ 기호",
    "[CLS] [SEP] [PAD] [MASK] [UNK] <s> </s> <unk> 리터럴 특수 토큰",
    "ᄒᆞᆫ글 옛한글 ㅎㅏㄴ 자모 분리 각각 ㅋㅋㅋ ㅠㅠ",
    unicodedata.normalize("NFD", "맥에서 온 분해된 한글 파일이름.txt"),
    "\u00a0\u2003\u3000여러 종류의\u2009공백\u200b문자",
    "A" * 300,
    "가나다라마바사아자차카타파하 " * 40,
    " ".join(["국립국어원은 표준국어대사전을 편찬하고 한국어 어문 규범을 관리하는 기관이다."] * 12),
]


class Refused(Exception):
    """The inputs are not what this importer can convert faithfully; the message says what was found."""


def say(msg: str) -> None:
    print(f"import-tfhub: {msg}", file=sys.stderr, flush=True)


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): sha256(p) for p in sorted(root.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------- inputs

def saved_model_dir(src: Path, what: str, scratch: Path) -> Path:
    """A SavedModel directory from a directory or a (TF Hub compressed) tarball."""
    if not src.exists():
        raise Refused(f"{what} {src} does not exist")
    if src.is_file():
        if not tarfile.is_tarfile(src):
            raise Refused(f"{what} {src} is a file but not a tar archive (expected a SavedModel directory or a .tar.gz)")
        dest = scratch / what
        dest.mkdir()
        with tarfile.open(src) as tar:
            tar.extractall(dest, filter="data")
        src = dest
    if (src / "saved_model.pb").is_file():
        return src
    found = [p.parent for p in src.glob("*/saved_model.pb")]
    if len(found) == 1:
        return found[0]
    raise Refused(f"{what} {src} holds no saved_model.pb (looked at its top level and one folder down)")


# ---------------------------------------------------------------- preprocess

def find_spm(pre_dir: Path):
    from sentencepiece import sentencepiece_model_pb2 as pb

    assets = sorted(p for p in (pre_dir / "assets").glob("*") if p.is_file()) if (pre_dir / "assets").is_dir() else []
    models = []
    for path in assets:
        proto = pb.ModelProto()
        try:
            proto.ParseFromString(path.read_bytes())
        except Exception:
            continue
        if len(proto.pieces) > 0 and proto.HasField("normalizer_spec"):
            models.append((path, proto))
    if not models:
        names = ", ".join(p.name for p in assets) or "none"
        raise Refused(f"no SentencePiece model in the preprocess model's assets/ (files there: {names})")
    if len(models) > 1:
        raise Refused("several SentencePiece models in the preprocess assets/: " + ", ".join(p.name for p, _ in models))
    return models[0]


def run_preprocess(pre, sentences: list[str]) -> dict:
    import numpy as np
    import tensorflow as tf

    out = pre(tf.constant(sentences))
    if not isinstance(out, dict):
        raise Refused(f"the preprocess model returns {type(out).__name__}, not a dict of named tensors")
    return {k: np.asarray(v) for k, v in out.items()}


def read_packing(outputs: dict, sentences: list[str]) -> dict:
    """Sequence length and special ids, read off the preprocess model's outputs."""
    import numpy as np

    missing = [k for k in EXPECTED_INPUTS if k not in outputs]
    if missing:
        found = ", ".join(f"{k} {v.dtype}{list(v.shape)}" for k, v in outputs.items())
        raise Refused(f"the preprocess model's outputs lack {', '.join(missing)} (found: {found})")
    extra = sorted(set(outputs) - set(EXPECTED_INPUTS) - set(OPTIONAL_INPUTS))
    if extra:
        raise Refused(f"the preprocess model has outputs kse does not feed: {', '.join(extra)}")
    ids, mask = outputs["input_word_ids"], outputs["input_mask"]
    for name in outputs:
        if outputs[name].dtype != np.int32:
            raise Refused(f"preprocess output {name} is {outputs[name].dtype}, expected int32")
    if "input_type_ids" in outputs and outputs["input_type_ids"].any():
        raise Refused("preprocess output input_type_ids is not all zeros for single sentences")
    seq_length = ids.shape[1]
    lengths = mask.sum(axis=1)
    if not ((mask == (np.arange(seq_length)[None, :] < lengths[:, None])).all()):
        raise Refused("preprocess output input_mask is not a prefix of ones followed by zeros")
    cls = set(ids[:, 0].tolist())
    sep = {int(ids[i, lengths[i] - 1]) for i in range(len(sentences))}
    pad = set(ids[mask == 0].tolist())
    if len(cls) != 1 or len(sep) != 1 or len(pad) > 1:
        raise Refused(f"preprocess does not pack [CLS] ... [SEP] [PAD]...: first ids {sorted(cls)}, last ids {sorted(sep)}, padding ids {sorted(pad)}")
    if not pad:
        raise Refused("no probe sentence was short enough to show the padding id")
    return {"seq_length": int(seq_length), "cls_id": cls.pop(), "sep_id": sep.pop(), "pad_id": pad.pop(),
            "type_ids": "input_type_ids" in outputs}


# ---------------------------------------------------------------- tokenizer

def tokenizer_json(proto, packing: dict) -> dict:
    """A tokenizer.json that tokenises like SentencePiece (as TF Text runs it) plus the BERT template."""
    trainer, norm = proto.trainer_spec, proto.normalizer_spec
    if trainer.model_type != 1:
        kind = {2: "BPE", 3: "word", 4: "char"}.get(trainer.model_type, str(trainer.model_type))
        raise Refused(f"the SentencePiece model is of type {kind}; only unigram models are converted")
    if not norm.escape_whitespaces:
        raise Refused("the SentencePiece model does not escape whitespace (escape_whitespaces=false); not supported")
    if trainer.treat_whitespace_as_suffix:
        raise Refused("the SentencePiece model treats whitespace as a suffix; not supported")
    if norm.name not in ("nmt_nfkc", "nfkc", "identity", "nmt_nfkc_cf", "nfkc_cf", "user_defined") and not norm.precompiled_charsmap:
        raise Refused(f"normaliser {norm.name!r} has no precompiled character map")

    pieces = list(proto.pieces)
    unk = [i for i, p in enumerate(pieces) if p.type == UNKNOWN]
    if len(unk) != 1:
        raise Refused(f"the SentencePiece model has {len(unk)} unknown pieces, expected 1")
    scores = [p.score for p in pieces if p.type == NORMAL]
    if not scores:
        raise Refused("the SentencePiece model has no normal pieces")

    # SentencePiece never matches control, unknown or unused pieces against
    # text; Hugging Face's Unigram matches every vocabulary string. Such pieces
    # are spelled with a space, which the Metaspace step never leaves in text,
    # so they keep their ids but can never be produced from input.
    vocab = []
    for p in pieces:
        if p.type in NEVER_MATCHED:
            vocab.append([f"<{NEVER_MATCHED[p.type]} {p.piece}>", 0.0])
        else:
            vocab.append([p.piece, float(p.score)])
    # Scores that only exist for the reason above must not lower the minimum
    # the unknown penalty is taken from.
    if min(s for _, s in vocab) < min(scores):
        raise Refused("a non-normal piece scores below every normal piece; the unknown penalty would differ")

    normalizers = []
    if norm.precompiled_charsmap:
        import base64

        normalizers.append({"type": "Precompiled", "precompiled_charsmap": base64.b64encode(norm.precompiled_charsmap).decode()})
        # SentencePiece applies its character map by longest match across
        # characters, so separate jamo (NFD Hangul, compatibility jamo pairs
        # such as "ㅎㅏ") come out composed; Hugging Face's Precompiled maps
        # each grapheme alone. NFC after it composes them the same way.
        normalizers.append({"type": "NFC"})
    if norm.remove_extra_whitespaces:
        normalizers.append({"type": "Replace", "pattern": {"Regex": "^ +| +$"}, "content": ""})
        normalizers.append({"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "})

    added = []
    for i, p in enumerate(pieces):
        if p.type == USER_DEFINED:
            added.append({"id": i, "content": p.piece, "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": True, "special": False})

    def token(i: int) -> str:
        return pieces[i].piece

    cls, sep = packing["cls_id"], packing["sep_id"]
    special = {token(cls): {"id": token(cls), "ids": [cls], "tokens": [token(cls)]},
               token(sep): {"id": token(sep), "ids": [sep], "tokens": [token(sep)]}}
    return {
        "version": "1.0",
        "truncation": None,
        # kse reads the pad id from here ([PAD] itself is spelled as a control piece, below).
        "padding": {"strategy": "BatchLongest", "direction": "Right", "pad_to_multiple_of": None,
                    "pad_id": packing["pad_id"], "pad_type_id": 0, "pad_token": pieces[packing["pad_id"]].piece},
        "added_tokens": added,
        "normalizer": {"type": "Sequence", "normalizers": normalizers},
        "pre_tokenizer": {"type": "Metaspace", "replacement": SPIECE_UNDERLINE,
                          "prepend_scheme": "always" if norm.add_dummy_prefix else "never",
                          "split": bool(trainer.split_by_whitespace)},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": token(cls), "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": token(sep), "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": token(cls), "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": token(sep), "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 0}},
                     {"SpecialToken": {"id": token(sep), "type_id": 0}}],
            "special_tokens": special,
        },
        "decoder": {"type": "Metaspace", "replacement": SPIECE_UNDERLINE,
                    "prepend_scheme": "always" if norm.add_dummy_prefix else "never", "split": True},
        "model": {"type": "Unigram", "unk_id": unk[0], "vocab": vocab, "byte_fallback": bool(trainer.byte_fallback)},
    }


def check_tokenizer(tok, sentences: list[str], outputs: dict, seq_length: int) -> int:
    """Our ids (cut at seq_length like kse does) must be the preprocess model's, padding removed."""
    ids, mask = outputs["input_word_ids"], outputs["input_mask"]
    tok.no_padding()
    tok.enable_truncation(max_length=seq_length)
    ours = [e.ids for e in tok.encode_batch(sentences)]
    bad = []
    for i, s in enumerate(sentences):
        theirs = ids[i, : mask[i].sum()].tolist()
        if ours[i] != theirs:
            bad.append((s, theirs, ours[i]))
    if bad:
        lines = [f"{len(bad)} of {len(sentences)} probe sentences tokenise differently from the preprocess model:"]
        for s, theirs, mine in bad[:5]:
            lines.append(f"  {s[:60]!r}\n    TF:   {theirs[:24]}\n    kse:  {mine[:24]}")
        raise Refused("\n".join(lines))
    return len(sentences)


# ---------------------------------------------------------------- encoder

def encoder_signature(enc, output: str | None, packing: dict):
    import tensorflow as tf

    sigs = getattr(enc, "signatures", {})
    if "serving_default" not in sigs:
        raise Refused(f"the encoder has no serving_default signature (signatures: {', '.join(sigs) or 'none'})")
    sig = sigs["serving_default"]
    _, inputs = sig.structured_input_signature
    found = ", ".join(f"{k} {v.dtype.name}{v.shape.as_list()}" for k, v in inputs.items())
    wanted = set(EXPECTED_INPUTS) | ({"input_type_ids"} if packing["type_ids"] else set())
    if set(inputs) != wanted:
        raise Refused(f"the encoder's serving signature takes {found}; the preprocess model gives {', '.join(sorted(wanted))}")
    for k, v in inputs.items():
        if v.dtype != tf.int32 or v.shape.rank != 2:
            raise Refused(f"encoder input {k} is {v.dtype.name}{v.shape.as_list()}, expected int32 [batch, seq]")
    outs = sig.structured_outputs
    desc = ", ".join(f"{k} {v.dtype.name}{v.shape.as_list()}" for k, v in outs.items())
    if output is None:
        if len(outs) != 1:
            raise Refused(f"the encoder's serving signature returns {len(outs)} outputs ({desc}); "
                          "name the sentence vector with --output")
        output = next(iter(outs))
    if output not in outs:
        raise Refused(f"the encoder has no output {output!r} (outputs: {desc})")
    spec = outs[output]
    if not spec.dtype.is_floating or spec.shape.rank != 2 or spec.shape[-1] is None:
        raise Refused(f"encoder output {output} is {spec.dtype.name}{spec.shape.as_list()}, "
                      "expected float [batch, dim] (one vector per sentence)")
    return sig, output, int(spec.shape[-1])


def convert(enc_dir: Path, output: str, dest: Path, opset: int) -> None:
    """tf2onnx on the serving signature; graph inputs/outputs get the signature's names."""
    import subprocess

    import onnx

    cmd = [sys.executable, "-m", "tf2onnx.convert", "--saved-model", str(enc_dir), "--signature_def", "serving_default",
           "--tag", "serve", "--opset", str(opset), "--output", str(dest)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        raise Refused(f"tf2onnx could not convert the encoder:\n{tail}")
    model = onnx.load(str(dest))
    graph = model.graph
    for inp in graph.input:
        base = inp.name.split(":")[0]
        if base != inp.name:
            rename(graph, inp.name, base)
    keep = [o for o in graph.output if o.name.split(":")[0] == output]
    if len(keep) != 1:
        raise Refused(f"the converted graph's outputs are {[o.name for o in graph.output]}; none is {output!r}")
    if keep[0].name != output:
        rename(graph, keep[0].name, output)
    for o in [o for o in graph.output if o.name != output]:
        graph.output.remove(o)
    onnx.checker.check_model(model)
    onnx.save(model, str(dest))


def rename(graph, old: str, new: str) -> None:
    for v in list(graph.input) + list(graph.output) + list(graph.value_info):
        if v.name == old:
            v.name = new
    for node in graph.node:
        for i, n in enumerate(node.input):
            if n == old:
                node.input[i] = new
        for i, n in enumerate(node.output):
            if n == old:
                node.output[i] = new


def embedding_rows(onnx_path: Path, ids_input: str) -> int | None:
    """Rows of the table that input_word_ids index (following casts and reshapes)."""
    import onnx

    model = onnx.load(str(onnx_path), load_external_data=False)
    inits = {i.name: list(i.dims) for i in model.graph.initializer}
    consts = {}
    for node in model.graph.node:
        if node.op_type == "Constant":
            for a in node.attribute:
                if a.name == "value":
                    consts[node.output[0]] = list(a.t.dims)
    frontier, seen = [ids_input], set()
    while frontier:
        name = frontier.pop()
        if name in seen:
            continue
        seen.add(name)
        for node in model.graph.node:
            if name not in node.input:
                continue
            if node.op_type == "Gather" and node.input[1] == name:
                dims = inits.get(node.input[0]) or consts.get(node.input[0])
                if dims and len(dims) == 2:
                    return int(dims[0])
            elif node.op_type in ("Cast", "Identity", "Reshape", "Unsqueeze", "Squeeze", "Flatten", "Expand"):
                frontier.extend(node.output)
    return None


def l2(x):
    import numpy as np

    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def check_onnx(onnx_path: Path, sig, output: str, outputs: dict, tolerance: float) -> float:
    """ONNX Runtime vs TensorFlow's encoder on the preprocess model's packed probes.

    TensorFlow gets them as packed (padded to the sequence length); ONNX
    Runtime gets each batch cut to its longest sentence, as kse feeds it. The
    ids are the ones check_tokenizer found our tokenizer to give."""
    import numpy as np
    import onnxruntime as ort

    sess = ort.InferenceSession(str(onnx_path), ort.SessionOptions(), providers=["CPUExecutionProvider"])
    n = len(outputs["input_mask"])
    worst = 0.0
    for start in range(0, n, 16):
        packed = {k: v[start:start + 16] for k, v in outputs.items()}
        theirs = l2(np.asarray(sig(**packed)[output], dtype=np.float64))
        width = int(packed["input_mask"].sum(axis=1).max())
        ours = l2(np.asarray(sess.run([output], {k: v[:, :width] for k, v in packed.items()})[0], dtype=np.float64))
        worst = max(worst, float(np.abs(ours - theirs).max()))
    if worst > tolerance:
        raise Refused(f"ONNX Runtime on the converted graph differs from TensorFlow by {worst:.3g} "
                      f"(per component of the L2-normalised vectors; tolerance {tolerance:g})")
    return worst


# ---------------------------------------------------------------- main

def import_pair(args) -> dict:
    try:
        import numpy as np  # noqa: F401
        import onnx
        import onnxruntime
        import sentencepiece  # noqa: F401
        import tensorflow as tf
        import tensorflow_text  # registers the SentencePiece ops the preprocess graph uses
        import tf2onnx
        import tokenizers
    except ImportError as e:
        raise Refused(f"{e}: this Python ({sys.executable}) lacks the importer's packages; install them with "
                      "pip install --require-hashes -r importers/tfhub/requirements-tfhub.lock (make setup-tfhub does it "
                      "into .cache/tf-venv) or point KSE_TFHUB_PYTHON at a Python that has them") from None

    out = args.out.resolve()
    if out.exists() and not out.is_dir():
        raise Refused(f"{out} exists and is not a directory")
    if out.exists() and any(out.iterdir()) and not args.force:
        raise Refused(f"{out} exists and is not empty (use --force to replace it)")
    out.parent.mkdir(parents=True, exist_ok=True)
    probes = list(PROBES)
    if args.probe_file:
        probes += [line.rstrip("\n") for line in args.probe_file.read_text(encoding="utf-8").splitlines()]

    with tempfile.TemporaryDirectory(prefix="kse-import-") as scratch_name:
        scratch = Path(scratch_name)
        enc_dir = saved_model_dir(args.encoder, "encoder", scratch)
        pre_dir = saved_model_dir(args.preprocess, "preprocess", scratch)

        say(f"preprocess {pre_dir}")
        spm_path, proto = find_spm(pre_dir)
        pre = tf.saved_model.load(str(pre_dir))
        if not callable(pre):
            raise Refused("the preprocess SavedModel is not callable (no __call__ on strings)")
        outputs = run_preprocess(pre, probes)
        packing = read_packing(outputs, probes)
        names = {k: proto.pieces[packing[k + "_id"]].piece for k in ("cls", "sep", "pad")}
        say(f"SentencePiece {spm_path.name}: {len(proto.pieces)} pieces; sequence length {packing['seq_length']}; "
            f"[CLS]={packing['cls_id']} ({names['cls']}) [SEP]={packing['sep_id']} ({names['sep']}) "
            f"[PAD]={packing['pad_id']} ({names['pad']})")

        tok_json = tokenizer_json(proto, packing)
        tok = tokenizers.Tokenizer.from_str(json.dumps(tok_json))
        checked = check_tokenizer(tok, probes, outputs, packing["seq_length"])
        say(f"tokenizer.json gives the preprocess model's ids on all {checked} probe sentences")

        say(f"encoder {enc_dir}")
        enc = tf.saved_model.load(str(enc_dir))
        sig, output, dim = encoder_signature(enc, args.output, packing)
        stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
        try:
            onnx_path = stage / "model.onnx"
            say(f"converting the serving signature with tf2onnx (output {output}, {dim}-d, opset {args.opset})")
            convert(enc_dir, output, onnx_path, args.opset)
            rows = embedding_rows(onnx_path, "input_word_ids")
            if rows is None:
                raise Refused("could not find the word-embedding table input_word_ids index in the converted graph")
            if rows != len(proto.pieces):
                raise Refused(f"the encoder's word-embedding table has {rows} rows but the preprocess model's "
                              f"SentencePiece vocabulary has {len(proto.pieces)} pieces: the two do not belong together")
            worst = check_onnx(onnx_path, sig, output, outputs, args.tolerance)
            say(f"ONNX Runtime matches TensorFlow on {len(probes)} probe sentences (max abs diff {worst:.2e}, "
                f"L2-normalised)")

            (stage / "tokenizer.json").write_text(json.dumps(tok_json, ensure_ascii=False), encoding="utf-8")
            manifest = {
                "format": "kse-model/1",
                "name": args.name or default_name(args.encoder),
                "dim": dim,
                "graph": "model.onnx",
                "tokenizer": "tokenizer.json",
                "inputs": {"input_ids": "input_word_ids", "attention_mask": "input_mask",
                           "token_type_ids": "input_type_ids" if packing["type_ids"] else None},
                "input_type": "int32",
                "output": output,
                "pooling": "none",
                "normalize": True,
                "prefix": "",
                "unicode_normalization": "nfc",
                "max_tokens": packing["seq_length"],
                "license": args.license,
                "attribution": [f"Imported from TF Hub SavedModels: encoder {args.encoder.name}, preprocess {args.preprocess.name}"],
            }
            (stage / "kse.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
            report = {
                "sources": {"encoder": {"path": str(args.encoder), "files": tree_digest(enc_dir)},
                            "preprocess": {"path": str(args.preprocess), "files": tree_digest(pre_dir)}},
                "sentencepiece": {"asset": spm_path.name, "pieces": len(proto.pieces), "sha256": sha256(spm_path)},
                "packing": packing,
                "encoder": {"output": output, "dim": dim, "embedding_rows": rows},
                "checks": {"probe_sentences": len(probes), "token_ids_equal": True,
                           "max_abs_diff_normalized": worst, "tolerance": args.tolerance},
                "versions": {"tensorflow": tf.__version__, "tensorflow_text": tensorflow_text.__version__,
                             "tf2onnx": tf2onnx.__version__, "onnx": onnx.__version__,
                             "onnxruntime": onnxruntime.__version__, "tokenizers": tokenizers.__version__},
                "opset": args.opset,
            }
            (stage / "import-report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
            sums = "".join(f"{sha256(stage / n)}  {n}\n" for n in ("kse.json", "model.onnx", "tokenizer.json"))
            (stage / "SHA256SUMS").write_text(sums, encoding="utf-8")
            umask = os.umask(0)
            os.umask(umask)
            stage.chmod(0o777 & ~umask)
            if out.exists():
                shutil.rmtree(out)
            stage.rename(out)
        finally:
            if stage.exists():
                shutil.rmtree(stage)
    return manifest


def default_name(src: Path) -> str:
    name = src.name
    for suffix in (".tar.gz", ".tgz", ".tar"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return name or "tfhub-import"


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="kse import-tfhub", description=__doc__.split("\n\n")[0])
    ap.add_argument("encoder", type=Path, help="encoder SavedModel directory or .tar.gz")
    ap.add_argument("preprocess", type=Path, help="preprocess SavedModel directory or .tar.gz")
    ap.add_argument("-o", "--out", type=Path, required=True, help="model directory to write")
    ap.add_argument("--name", help="model name in kse.json (default: the encoder's file name)")
    ap.add_argument("--license", default="see the source models' licence (TF Hub page)",
                    help="licence text for kse.json")
    ap.add_argument("--output", help="the encoder output that is the sentence vector, if it has several")
    ap.add_argument("--probe-file", type=Path, help="more sentences to check on, one per line")
    ap.add_argument("--tolerance", type=float, default=1e-4, help="max abs difference per normalised component")
    ap.add_argument("--opset", type=int, default=17)
    ap.add_argument("--force", action="store_true", help="replace MODEL_DIR if it exists")
    args = ap.parse_args(argv)
    try:
        manifest = import_pair(args)
    except Refused as e:
        say(f"refused, nothing written: {e}")
        return 1
    say(f"wrote {args.out} ({manifest['name']}, {manifest['dim']}-d, max {manifest['max_tokens']} tokens)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
