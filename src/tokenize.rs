//! Text to token ids: the model's tokenizer with the manifest's Unicode
//! normalisation and prefix, its special tokens, the pad id, and what
//! happens to a text longer than `max_tokens`.

use std::borrow::Cow;

use tokenizers::{Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};
use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization as _};

use crate::error::{err, Error, ErrorKind, Result};
use crate::model::manifest::UnicodeNormalization;
use crate::model::{FileData, Model};

/// What to do with a text longer than the model's `max_tokens`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Truncation {
    /// Keep the first `max_tokens` tokens (special tokens included) and count
    /// the text in [`crate::EncodeStats::truncated`].
    #[default]
    Truncate,
    /// Fail the whole call with [`ErrorKind::InputTooLong`].
    Error,
}

/// One tokenised text.
pub(crate) struct Tokens {
    pub ids: Vec<u32>,
    /// Whether the text was cut at `max_tokens`.
    pub truncated: bool,
}

/// The model's tokenizer, set up as the manifest says.
pub(crate) struct TextTokenizer {
    tokenizer: Tokenizer,
    prefix: String,
    normalization: UnicodeNormalization,
    max_tokens: usize,
    truncation: Truncation,
    pad_id: u32,
}

impl TextTokenizer {
    pub fn load(model: &Model, truncation: Truncation) -> Result<TextTokenizer> {
        let manifest = model.manifest();
        let file = model.file(&manifest.tokenizer);
        let tokenizer = match file {
            FileData::Bytes { bytes, .. } => Tokenizer::from_bytes(bytes),
            FileData::Path(p) => Tokenizer::from_file(p),
        };
        let mut tokenizer = tokenizer
            .map_err(|e| Error::new(ErrorKind::ModelInvalid, format!("cannot read tokenizer {}: {e}", file.shown())))?;
        // The pad id: the tokenizer's own padding setting when it has one
        // (imported models name it there), else its `<pad>` or `[PAD]` token,
        // else 0. Padded positions are masked, so this only has to be a valid id.
        let configured_pad = tokenizer.get_padding().map(|p| p.pad_id);
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                direction: TruncationDirection::Right,
                max_length: manifest.max_tokens,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
            }))
            .map_err(|e| Error::new(ErrorKind::ModelInvalid, format!("tokenizer {}: {e}", file.shown())))?;
        let pad_id = configured_pad
            .or_else(|| ["<pad>", "[PAD]"].iter().find_map(|t| tokenizer.token_to_id(t)))
            .unwrap_or(0);
        let vocab = tokenizer.get_vocab_size(true);
        if vocab > i32::MAX as usize {
            return err(ErrorKind::ModelInvalid, format!("tokenizer has {vocab} tokens; ids must fit in int32"));
        }
        let t = TextTokenizer {
            tokenizer,
            prefix: manifest.prefix.clone(),
            normalization: manifest.unicode_normalization,
            max_tokens: manifest.max_tokens,
            truncation,
            pad_id,
        };
        // The prefix and special tokens alone must leave room for text:
        // otherwise the tokenizer's truncation arithmetic underflows.
        let overhead = t.tokenize(0, "")?.ids.len();
        if overhead >= t.max_tokens {
            return err(
                ErrorKind::ModelInvalid,
                format!(
                    "manifest field `max_tokens` is {}, but the prefix and special tokens alone take {overhead}",
                    t.max_tokens
                ),
            );
        }
        Ok(t)
    }

    /// The id padding positions get.
    pub fn pad_id(&self) -> u32 {
        self.pad_id
    }

    /// The largest id the tokenizer can produce.
    pub fn max_id(&self) -> usize {
        self.tokenizer.get_vocab(true).into_values().max().unwrap_or(0) as usize
    }

    /// Token ids the model sees for `text` (the `index`-th of a call, for
    /// messages): normalised, prefix added, special tokens in place, cut at
    /// `max_tokens` or refused, as the truncation policy says.
    pub fn tokenize(&self, index: usize, text: &str) -> Result<Tokens> {
        let text = self.normalized(text);
        let input: Cow<str> = if self.prefix.is_empty() { text } else { Cow::Owned(format!("{}{}", self.prefix, text)) };
        let tokenize = |tokenizer: &Tokenizer| {
            tokenizer
                .encode_fast(input.as_ref(), true)
                .map_err(|e| Error::new(ErrorKind::Tokenizer, format!("text {index}: tokenizer failed: {e}")))
        };
        let encoding = tokenize(&self.tokenizer)?;
        let truncated = !encoding.get_overflowing().is_empty();
        if truncated && self.truncation == Truncation::Error {
            // Only on this error path: the whole text's count, from a copy
            // of the tokenizer that does not truncate.
            let mut whole = self.tokenizer.clone();
            whole.with_truncation(None).map_err(|e| Error::new(ErrorKind::Tokenizer, format!("text {index}: {e}")))?;
            let count = tokenize(&whole)?.len();
            return err(
                ErrorKind::InputTooLong,
                format!(
                    "text {index} has {count} tokens; the model takes at most {} (truncation is off)",
                    self.max_tokens
                ),
            );
        }
        Ok(Tokens { ids: encoding.get_ids().to_vec(), truncated })
    }

    /// `text` as the manifest's `unicode_normalization` wants it; borrowed
    /// when a quick check shows it already is (the common case).
    fn normalized<'t>(&self, text: &'t str) -> Cow<'t, str> {
        match self.normalization {
            UnicodeNormalization::Nfc if is_nfc_quick(text.chars()) != IsNormalized::Yes => Cow::Owned(text.nfc().collect()),
            _ => Cow::Borrowed(text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ModelSource;
    use std::path::Path;

    /// tiny-seed's tokenizer names `[PAD]` (id 0); a tokenizer that gives a
    /// pad id in its padding setting (imported models do) gets that one.
    #[test]
    fn the_pad_id_comes_from_the_padding_setting_when_there_is_one() {
        let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-models/tiny-seed");
        if !seed.exists() {
            eprintln!("skipped: {} not built (make test-fixtures)", seed.display());
            return;
        }
        let load = |dir: &Path| {
            let model = Model::open(&ModelSource::Dir(dir.to_path_buf())).unwrap();
            TextTokenizer::load(&model, Truncation::Truncate).unwrap()
        };
        assert_eq!(load(&seed).pad_id(), 0);
        let dir = std::env::temp_dir().join(format!("kse-pad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for f in ["kse.json", "model.onnx"] {
            std::fs::copy(seed.join(f), dir.join(f)).unwrap();
        }
        let mut tok: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(seed.join("tokenizer.json")).unwrap()).unwrap();
        tok["padding"] = serde_json::json!({
            "strategy": "BatchLongest", "direction": "Right", "pad_to_multiple_of": null,
            "pad_id": 3, "pad_type_id": 0, "pad_token": "[PAD]"
        });
        std::fs::write(dir.join("tokenizer.json"), tok.to_string()).unwrap();
        let padded = load(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(padded.pad_id(), 3);
    }
}
