#!/usr/bin/env python3
"""Build a synthetic twin of the seed's TF Hub pair, the way the seed was built.

The seed model (DistilKoBERT sentence encoder, docs/import-tfhub.md) is a pair
of TF2 SavedModels: a preprocessing model (TF Text SentencepieceTokenizer over
KoBERT's SentencePiece model + BERT input packing, 128 tokens) and an encoder
(BERT blocks, 3 x 768, 12 heads, the [CLS] state out). Their files cannot be
fetched here, so the importer (importers/tfhub/import_tfhub.py) is proven on a twin with
the same structure:

- a SentencePiece unigram model trained on the Korean training sentences of
  ../shared/data (KorSTS train + KLUE STS train; never dev or test),
  vocabulary 8,002 with KoBERT's special pieces [UNK]=0 [PAD]=1 [CLS]=2
  [SEP]=3 [MASK]=4, stored in the preprocess SavedModel's assets/;
- a preprocess SavedModel: `__call__` (strings -> input_word_ids, input_mask,
  int32 [batch, 128]), `tokenize` and `bert_pack_inputs` like the TF Hub BERT
  preprocessors (round-robin trimming to seq_length - 2, [CLS] first, [SEP]
  last, [PAD] padding, ids looked up in the spm vocabulary);
- an encoder SavedModel built from Keras layers in the Model Garden's shape
  (OnDeviceEmbedding, PositionEmbedding from 0, layer norm eps 1e-12,
  TransformerEncoderBlock x 3 with post-norm, tanh-GELU, no token types),
  random weights from a fixed seed, serving signature inputs input_word_ids /
  input_mask (int32) and one float output [batch, 768] (the [CLS] state).

Usage: make_tfhub_twin.py --data ../shared/data --out DIR
Writes DIR/preprocess/, DIR/encoder/ (SavedModels) and DIR/*.tar.gz of each.
Needs the TF venv (importers/tfhub/requirements-tfhub.lock).
"""
from __future__ import annotations

import argparse
import io
import os
import sys
import tarfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sts_data  # noqa: E402

VOCAB = 8002
SEQ_LENGTH = 128
HIDDEN = 768
LAYERS = 3
HEADS = 12
FFN = 3072
MAX_POSITIONS = 512
SPM_NAME = "twin_ko_cased.spiece"


def training_sentences(data: Path) -> list[str]:
    pairs = sts_data.read_pairs(data / "korsts" / "sts-train.tsv") + sts_data.read_pairs(
        data / "klue-sts" / "klue_sts_train.csv"
    )
    seen: dict[str, None] = {}
    for p in pairs:
        for s in p[:2]:
            seen.setdefault(s, None)
    return list(seen)


def train_spm(sentences: list[str], out: Path) -> Path:
    import sentencepiece as spm

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences),
        model_writer=model,
        model_type="unigram",
        vocab_size=VOCAB,
        character_coverage=0.9995,
        unk_id=0, unk_piece="[UNK]",
        pad_id=1, pad_piece="[PAD]",
        bos_id=2, bos_piece="[CLS]",
        eos_id=3, eos_piece="[SEP]",
        control_symbols=["[MASK]"],
        num_threads=1,
        minloglevel=2,
    )
    path = out / SPM_NAME
    path.write_bytes(model.getvalue())
    return path


def build_preprocess(spm_path: Path, out: Path) -> None:
    import tensorflow as tf
    import tensorflow_text as tf_text

    class Preprocess(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.spm_asset = tf.saved_model.Asset(str(spm_path))
            self.tokenizer = tf_text.SentencepieceTokenizer(model=spm_path.read_bytes())
            ids = self.tokenizer.string_to_id(tf.constant(["[CLS]", "[SEP]", "[PAD]"])).numpy()
            self.cls_id, self.sep_id, self.pad_id = (int(i) for i in ids)

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def tokenize(self, sentences):
            return self.tokenizer.tokenize(sentences)

        def _pack(self, segments, seq_length: int):
            trimmed = tf_text.RoundRobinTrimmer(max_seq_length=seq_length - 2).trim(segments)
            ids, _ = tf_text.combine_segments(
                trimmed, start_of_sequence_id=self.cls_id, end_of_segment_id=self.sep_id
            )
            word_ids, mask = tf_text.pad_model_inputs(ids, max_seq_length=seq_length, pad_value=self.pad_id)
            return {"input_word_ids": tf.cast(word_ids, tf.int32), "input_mask": tf.cast(mask, tf.int32)}

        @tf.function(input_signature=[tf.RaggedTensorSpec([None, None], tf.int32)])
        def bert_pack_inputs(self, tokens):
            return self._pack([tokens], SEQ_LENGTH)

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def __call__(self, sentences):
            return self._pack([self.tokenizer.tokenize(sentences)], SEQ_LENGTH)

    module = Preprocess()
    tf.saved_model.save(module, str(out), signatures={"serving_default": module.__call__})


def build_encoder(out: Path, seed: int, vocab: int = VOCAB, hidden: int = HIDDEN, layers: int = LAYERS,
                  heads: int = HEADS, ffn: int = FFN, outputs: str = "cls") -> None:
    """The encoder SavedModel. outputs="cls": one [batch, hidden] tensor (the
    twin); "dict": {"pooled_output", "sequence_output"} like a bare BERT
    encoder (for the importer's tests)."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    init = keras.initializers.TruncatedNormal(stddev=0.5, seed=seed)

    class OnDeviceEmbedding(keras.layers.Layer):
        def __init__(self, vocab_size: int, width: int, **kw) -> None:
            super().__init__(**kw)
            self.embeddings = self.add_weight(name="embeddings", shape=(vocab_size, width), initializer=init)

        def call(self, ids):
            return tf.gather(self.embeddings, ids)

    class PositionEmbedding(keras.layers.Layer):
        def __init__(self, max_length: int, width: int, **kw) -> None:
            super().__init__(**kw)
            self.embeddings = self.add_weight(name="embeddings", shape=(max_length, width), initializer=init)

        def call(self, x):
            return self.embeddings[None, : tf.shape(x)[1], :]

    class SelfAttentionMask(keras.layers.Layer):
        def call(self, x, mask):
            return tf.cast(mask[:, None, :], x.dtype) * tf.ones_like(x[:, :, :1])

    class TransformerEncoderBlock(keras.layers.Layer):
        def __init__(self, **kw) -> None:
            super().__init__(**kw)
            self.attention = keras.layers.MultiHeadAttention(num_heads=heads, key_dim=hidden // heads, name="self_attention")
            self.attention_norm = keras.layers.LayerNormalization(epsilon=1e-12, name="self_attention_layer_norm")
            self.intermediate = keras.layers.Dense(ffn, activation=lambda v: keras.activations.gelu(v, approximate=True), name="intermediate")
            self.output_dense = keras.layers.Dense(hidden, name="output")
            self.output_norm = keras.layers.LayerNormalization(epsilon=1e-12, name="output_layer_norm")

        def call(self, x, attention_mask):
            x = self.attention_norm(x + self.attention(x, x, attention_mask=attention_mask))
            return self.output_norm(x + self.output_dense(self.intermediate(x)))

    word_ids = keras.Input((None,), dtype="int32", name="input_word_ids")
    mask = keras.Input((None,), dtype="int32", name="input_mask")
    x = OnDeviceEmbedding(vocab, hidden, name="word_embeddings")(word_ids)
    x = x + PositionEmbedding(MAX_POSITIONS, hidden, name="position_embedding")(x)
    x = keras.layers.LayerNormalization(epsilon=1e-12, name="embeddings_layer_norm")(x)
    attention_mask = SelfAttentionMask()(x, mask)
    for i in range(layers):
        x = TransformerEncoderBlock(name=f"transformer_layer_{i}")(x, attention_mask)
    cls = x[:, 0, :]
    result = cls if outputs == "cls" else {"pooled_output": cls, "sequence_output": x}
    model = keras.Model({"input_word_ids": word_ids, "input_mask": mask}, result, name="sentence_encoder")

    spec = {
        "input_word_ids": tf.TensorSpec([None, None], tf.int32, name="input_word_ids"),
        "input_mask": tf.TensorSpec([None, None], tf.int32, name="input_mask"),
    }

    class Encoder(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        @tf.function(input_signature=[spec])
        def __call__(self, inputs):
            return self.model(inputs, training=False)

    module = Encoder()
    tf.saved_model.save(module, str(out), signatures={"serving_default": module.__call__})


def tarball(src: Path, dest: Path) -> None:
    """A TF Hub style compressed SavedModel: the SavedModel's files at the archive root."""
    with tarfile.open(dest, "w:gz") as tar:
        for path in sorted(src.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(src)), recursive=False)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="../shared/data")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args(argv)

    args.out.mkdir(parents=True, exist_ok=True)
    work = args.out / "spm"
    work.mkdir(exist_ok=True)
    sentences = training_sentences(args.data)
    spm_path = train_spm(sentences, work)
    print(f"sentencepiece: {len(sentences)} training sentences -> {spm_path}", flush=True)
    build_preprocess(spm_path, args.out / "preprocess")
    build_encoder(args.out / "encoder", args.seed)
    for name in ("preprocess", "encoder"):
        tarball(args.out / name, args.out / f"{name}.tar.gz")
    print(f"twin written to {args.out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
