//! Text to token ids: the model's tokenizer with the manifest's Unicode
//! normalisation and prefix, its special tokens, the pad id, and the three
//! long-input policies (docs/long-inputs.md): truncate, refuse, or cut into
//! overlapping windows. Also the document tokens with byte ranges that
//! chunking (`crate::chunk`) works on.
//!
//! Long texts are never tokenised in one piece: under truncate only a prefix
//! that provably yields the first `max_tokens` ids is read, and whole-text
//! tokenisation runs over pieces of about [`PIECE_BYTES`] cut at single
//! spaces between words, which every tokenizer kse loads splits on anyway.

use std::borrow::Cow;

use tokenizers::{Encoding, Tokenizer};
use unicode_normalization::char::canonical_combining_class;
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
    /// Cut the text into windows of `max_tokens` that overlap by
    /// `EncoderOptions::window_overlap` tokens, run each, and combine their
    /// vectors weighted by the tokens each adds (docs/long-inputs.md).
    Window,
}

/// Whole-text tokenisation works on pieces of about this many bytes, cut at
/// single spaces: memory follows the token count, not the tokenizer's
/// per-byte bookkeeping of a 10 MB string.
pub(crate) const PIECE_BYTES: usize = 64 * 1024;
/// How far past the wanted length a cut at a single space is looked for
/// before falling back to a cut at a character boundary.
const CUT_SEARCH_BYTES: usize = 4096;

/// One model row: the ids of one text or of one window of a text.
pub(crate) struct Tokens {
    pub ids: Vec<u32>,
}

/// A text made ready for the model: its rows (one, or its windows) with
/// the weight of each in the text's vector.
pub(crate) struct Prepared {
    pub rows: Vec<Tokens>,
    /// Per row: the document tokens it adds (docs/long-inputs.md, Window).
    pub weights: Vec<usize>,
    /// Whether the text was cut at `max_tokens`.
    pub truncated: bool,
}

/// The document tokens of a text (prefix and special tokens excluded) with
/// each one's byte range in the caller's text.
pub(crate) struct DocTokens {
    pub ids: Vec<u32>,
    pub ranges: Vec<(usize, usize)>,
}

/// The model's tokenizer, set up as the manifest says.
pub(crate) struct TextTokenizer {
    /// No truncation, no padding: kse cuts the ids itself.
    tokenizer: Tokenizer,
    prefix: String,
    normalization: UnicodeNormalization,
    max_tokens: usize,
    truncation: Truncation,
    window_overlap: usize,
    pad_id: u32,
    /// Special tokens before and after a single text.
    front: Vec<u32>,
    back: Vec<u32>,
    /// The prefix's own tokens, repeated at the head of every window and chunk.
    prefix_ids: Vec<u32>,
}

fn tokenizer_error(index: usize, e: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Tokenizer, format!("text {index}: tokenizer failed: {e}"))
}

impl TextTokenizer {
    pub fn load(model: &Model, truncation: Truncation, window_overlap: usize) -> Result<TextTokenizer> {
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
            .with_truncation(None)
            .map_err(|e| Error::new(ErrorKind::ModelInvalid, format!("tokenizer {}: {e}", file.shown())))?;
        let pad_id = configured_pad
            .or_else(|| ["<pad>", "[PAD]"].iter().find_map(|t| tokenizer.token_to_id(t)))
            .unwrap_or(0);
        let vocab = tokenizer.get_vocab_size(true);
        if vocab > i32::MAX as usize {
            return err(ErrorKind::ModelInvalid, format!("tokenizer has {vocab} tokens; ids must fit in int32"));
        }
        let invalid = |what: &str, e: tokenizers::Error| {
            Error::new(ErrorKind::ModelInvalid, format!("tokenizer {} fails on {what}: {e}", file.shown()))
        };
        // The special tokens around a single text: where a sample's own
        // tokens sit among the tokens with specials added.
        let sample = "가 a";
        let with = tokenizer.encode_fast(sample, true).map_err(|e| invalid("a sample text", e))?;
        let without = tokenizer.encode_fast(sample, false).map_err(|e| invalid("a sample text", e))?;
        let (with, without) = (with.get_ids(), without.get_ids());
        let at = (0..=with.len().saturating_sub(without.len()))
            .find(|&k| with[k..].starts_with(without))
            .ok_or_else(|| Error::new(ErrorKind::ModelInvalid, format!("tokenizer {}: its post-processor changes a text's own tokens", file.shown())))?;
        let (front, back) = (with[..at].to_vec(), with[at + without.len()..].to_vec());
        // The prefix's tokens: those ending within the prefix without its
        // trailing whitespace; the same for any text after it, or none.
        let prefix = manifest.prefix.clone();
        let prefix_ids = if prefix.is_empty() || !prefix.ends_with(char::is_whitespace) {
            Vec::new()
        } else {
            let end = prefix.trim_end().len();
            let lead = |text: &str| -> Result<Vec<u32>> {
                let e = tokenizer.encode(format!("{prefix}{text}"), false).map_err(|e| invalid("the prefix", e))?;
                Ok(e.get_ids().iter().zip(e.get_offsets()).take_while(|(_, o)| o.1 <= end).map(|(&id, _)| id).collect())
            };
            let a = lead("가")?;
            if a == lead("a.")? { a } else { Vec::new() }
        };
        let t = TextTokenizer {
            tokenizer,
            prefix,
            normalization: manifest.unicode_normalization,
            max_tokens: manifest.max_tokens,
            truncation,
            window_overlap,
            pad_id,
            front,
            back,
            prefix_ids,
        };
        // The prefix and special tokens alone must leave room for text.
        let overhead = t.count(0, "")?;
        if overhead >= t.max_tokens {
            return err(
                ErrorKind::ModelInvalid,
                format!(
                    "manifest field `max_tokens` is {}, but the prefix and special tokens alone take {overhead}",
                    t.max_tokens
                ),
            );
        }
        if truncation == Truncation::Window && window_overlap >= t.window_room() {
            return err(
                ErrorKind::InvalidArgument,
                format!(
                    "option `window_overlap` is {window_overlap}, but a window holds {} text tokens ({} max tokens less {} special and prefix tokens); use a smaller overlap",
                    t.window_room(),
                    t.max_tokens,
                    t.fixed_tokens()
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

    /// Special and prefix tokens every row carries (`S + P`).
    pub fn fixed_tokens(&self) -> usize {
        self.front.len() + self.back.len() + self.prefix_ids.len()
    }

    /// Document tokens per window (`W = max_tokens - S - P`).
    pub fn window_room(&self) -> usize {
        self.max_tokens.saturating_sub(self.fixed_tokens())
    }

    /// A row for some document tokens: specials, prefix tokens, the tokens.
    pub fn row(&self, doc: &[u32]) -> Tokens {
        let mut ids = Vec::with_capacity(self.fixed_tokens() + doc.len());
        ids.extend_from_slice(&self.front);
        ids.extend_from_slice(&self.prefix_ids);
        ids.extend_from_slice(doc);
        ids.extend_from_slice(&self.back);
        Tokens { ids }
    }

    fn with_specials(&self, body: &[u32]) -> Vec<u32> {
        [&self.front[..], body, &self.back[..]].concat()
    }

    /// Token ids the model sees for `text` (the `index`-th of a call, for
    /// messages) under truncate or refuse: normalised, prefix added, special
    /// tokens in place, cut at `max_tokens` or refused. The flag tells
    /// whether the text was cut.
    pub fn tokenize(&self, index: usize, text: &str) -> Result<(Vec<u32>, bool)> {
        let room = self.max_tokens - self.front.len() - self.back.len();
        let (body, cut) = self.leading_body(index, text, room)?;
        // Under truncate and window alike the ids are cut at max tokens
        // (for window, they are the first window's).
        if cut && self.truncation == Truncation::Error {
            let count = self.count(index, text)?;
            return err(
                ErrorKind::InputTooLong,
                format!(
                    "text {index} has {count} tokens; the model takes at most {} (truncation is off)",
                    self.max_tokens
                ),
            );
        }
        Ok((self.with_specials(&body), cut))
    }

    /// The rows of `text` under the encoder's policy: one (truncate, refuse,
    /// or a window-mode text that fits) or its windows.
    pub fn prepare(&self, index: usize, text: &str) -> Result<Prepared> {
        let (ids, cut) = self.tokenize(index, text)?;
        if !cut || self.truncation != Truncation::Window {
            return Ok(Prepared { rows: vec![Tokens { ids }], weights: vec![1], truncated: cut });
        }
        let doc = self.document_ids(index, text)?;
        let spans = windows(doc.len(), self.window_room(), self.window_overlap);
        let mut rows = Vec::with_capacity(spans.len());
        let mut weights = Vec::with_capacity(spans.len());
        let mut previous_end = 0;
        for (s, e) in spans {
            rows.push(self.row(&doc[s..e]));
            weights.push(e - previous_end);
            previous_end = e;
        }
        Ok(Prepared { rows, weights, truncated: false })
    }

    /// How many ids the model would see for `text` without truncation.
    pub fn count(&self, index: usize, text: &str) -> Result<usize> {
        let mut n = self.front.len() + self.back.len();
        self.for_each_piece(index, text, false, |e, _, _| {
            n += e.len();
            Ok(true)
        })?;
        Ok(n)
    }

    /// The document tokens of `text` (prefix tokens dropped), whole.
    fn document_ids(&self, index: usize, text: &str) -> Result<Vec<u32>> {
        let mut ids = Vec::new();
        self.for_each_piece(index, text, false, |e, _, _| {
            ids.extend_from_slice(e.get_ids());
            Ok(true)
        })?;
        ids.drain(..self.prefix_tokens_in(&ids));
        Ok(ids)
    }

    /// How many of `ids` (a text's tokens, prefix first) are the prefix's.
    fn prefix_tokens_in(&self, ids: &[u32]) -> usize {
        if ids.starts_with(&self.prefix_ids) { self.prefix_ids.len() } else { 0 }
    }

    /// The document tokens of `text` with their byte ranges in `text`.
    pub fn document(&self, index: usize, text: &str) -> Result<DocTokens> {
        let mut ids = Vec::new();
        let mut ranges = Vec::new();
        let prefix_len = self.prefix.len();
        self.for_each_piece(index, text, true, |e, start, map| {
            // The first piece carries the prefix: shift its offsets by it.
            let shift = if start == 0 { prefix_len } else { 0 };
            for (&id, &(a, b)) in e.get_ids().iter().zip(e.get_offsets()) {
                let (a, b) = (a.saturating_sub(shift), b.saturating_sub(shift));
                let (a, b) = match map {
                    Some(m) => (m.start(a), m.end(b)),
                    None => (a, b),
                };
                ids.push(id);
                ranges.push((start + a, start + b.max(a)));
            }
            Ok(true)
        })?;
        let p = self.prefix_tokens_in(&ids);
        ids.drain(..p);
        ranges.drain(..p);
        Ok(DocTokens { ids, ranges })
    }

    /// Tokenises `text` piece by piece (cut at single spaces, about
    /// [`PIECE_BYTES`] each; the prefix goes before the first), calling
    /// `f(encoding, piece start, offset map)` in order until it returns
    /// false. With `offsets` the
    /// encodings carry byte offsets into the normalised piece (prefix
    /// included), and the map takes them back to the piece as given.
    fn for_each_piece(
        &self,
        index: usize,
        text: &str,
        offsets: bool,
        mut f: impl FnMut(&Encoding, usize, Option<&OffsetMap>) -> Result<bool>,
    ) -> Result<()> {
        let mut start = 0;
        loop {
            let end = if text.len() - start <= PIECE_BYTES { None } else { space_cut(text, start + PIECE_BYTES, text.len()) };
            let piece = &text[start..end.unwrap_or(text.len())];
            let (normalized, map) = self.normalized_with_map(piece, offsets);
            let input = if start == 0 { self.prefixed(normalized) } else { normalized };
            let encoding = if offsets {
                self.tokenizer.encode(input.as_ref(), false)
            } else {
                self.tokenizer.encode_fast(input.as_ref(), false)
            }
            .map_err(|e| tokenizer_error(index, e))?;
            let more = f(&encoding, start, map.as_ref())?;
            match end {
                Some(c) if more => start = c + 1, // past the single space
                _ => return Ok(()),
            }
        }
    }

    /// Tokens of `prefix + normalise(text)` without specials, at most
    /// `room` of them, and whether there were more. Reads only as much of
    /// `text` as it takes to know (docs/long-inputs.md, Truncate).
    fn leading_body(&self, index: usize, text: &str, room: usize) -> Result<(Vec<u32>, bool)> {
        let encode = |piece: &str| -> Result<Vec<u32>> {
            let input = self.prefixed(self.normalized(piece));
            Ok(self.tokenizer.encode_fast(input.as_ref(), false).map_err(|e| tokenizer_error(index, e))?.get_ids().to_vec())
        };
        let cut_to = |mut ids: Vec<u32>| {
            let cut = ids.len() > room;
            ids.truncate(room);
            (ids, cut)
        };
        let mut len = 8 * room + 64;
        loop {
            if len >= text.len() {
                // The whole text (in pieces when long), stopping once past `room`.
                let mut ids = Vec::new();
                self.for_each_piece(index, text, false, |e, _, _| {
                    ids.extend_from_slice(e.get_ids());
                    Ok(ids.len() <= room)
                })?;
                return Ok(cut_to(ids));
            }
            if let Some(c) = space_cut(text, len, (len + CUT_SEARCH_BYTES).min(text.len())) {
                // Words before a single space tokenise as they do in the whole text.
                let ids = encode(&text[..c])?;
                if ids.len() > room {
                    return Ok(cut_to(ids));
                }
            } else {
                // No such space near: a long word spans the cut. Accept the
                // cut only if cuts a few characters further and one twice as
                // far agree on the ids kept (and on there being more).
                let a = encode(&text[..floor_char(text, len)])?;
                if a.len() > room + 8 {
                    let mut agree = true;
                    let mut next = floor_char(text, len);
                    for _ in 0..7 {
                        next += text[next..].chars().next().map_or(0, char::len_utf8);
                        let b = encode(&text[..next])?;
                        agree &= b.len() > room && a[..=room] == b[..=room];
                    }
                    let b = encode(&text[..floor_char(text, 2 * len)])?;
                    if agree && b.len() > room && a[..=room] == b[..=room] {
                        return Ok(cut_to(a));
                    }
                    // The word's first tokens depend on where it ends (a
                    // Unigram model splits a run of one character by the
                    // run's length): read to the end of the word.
                    match space_cut(text, len, text.len()) {
                        Some(c) => {
                            let ids = encode(&text[..c])?;
                            if ids.len() > room {
                                return Ok(cut_to(ids));
                            }
                            len = 2 * c;
                        }
                        None => len = text.len(),
                    }
                    continue;
                }
            }
            len *= 2;
        }
    }

    /// The manifest's prefix followed by `normalized` (a text's start).
    fn prefixed<'t>(&self, normalized: Cow<'t, str>) -> Cow<'t, str> {
        if self.prefix.is_empty() {
            normalized
        } else {
            Cow::Owned(format!("{}{normalized}", self.prefix))
        }
    }

    /// `text` as the manifest's `unicode_normalization` wants it; borrowed
    /// when a quick check shows it already is (the common case).
    fn normalized<'t>(&self, text: &'t str) -> Cow<'t, str> {
        match self.normalization {
            UnicodeNormalization::Nfc if is_nfc_quick(text.chars()) != IsNormalized::Yes => Cow::Owned(text.nfc().collect()),
            _ => Cow::Borrowed(text),
        }
    }

    /// Like `normalized`, with a map from the result's offsets back to
    /// `text`'s when normalisation changed it and offsets are wanted.
    fn normalized_with_map<'t>(&self, text: &'t str, offsets: bool) -> (Cow<'t, str>, Option<OffsetMap>) {
        let normalized = self.normalized(text);
        match normalized {
            Cow::Owned(_) if offsets => {
                let (s, map) = OffsetMap::nfc(text);
                (Cow::Owned(s), Some(map))
            }
            other => (other, None),
        }
    }
}

/// The windows over `len` document tokens, `room` per window, consecutive
/// ones sharing `overlap` (< room): `[k(room - overlap), min(.. + room, len))`
/// until one reaches `len`.
pub(crate) fn windows(len: usize, room: usize, overlap: usize) -> Vec<(usize, usize)> {
    let stride = room - overlap;
    let mut spans = Vec::new();
    let mut s = 0;
    loop {
        let e = (s + room).min(len);
        spans.push((s, e));
        if e == len {
            return spans;
        }
        s += stride;
    }
}

/// The largest character boundary of `text` at or below `i`.
fn floor_char(text: &str, mut i: usize) -> usize {
    i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The first index in `[from, to)` holding a single ASCII space with a
/// non-whitespace character on either side: the text before it and the
/// text after it tokenise as they do in the whole text.
fn space_cut(text: &str, from: usize, to: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let from = floor_char(text, from).max(1);
    (from..to.min(bytes.len().saturating_sub(1))).find(|&i| {
        bytes[i] == b' '
            && text[..i].chars().next_back().is_some_and(|c| !c.is_whitespace())
            && text[i + 1..].chars().next().is_some_and(|c| !c.is_whitespace())
    })
}

/// Offsets in the NFC form of a text mapped back to the text: per
/// normalisation unit (a character NFC keeps and nothing before it combines
/// with, plus what follows it up to the next such character).
pub(crate) struct OffsetMap {
    /// Unit boundaries as (offset in the normalised text, offset in the
    /// original, whether the unit starting here changed), in order, ending
    /// with the two lengths.
    points: Vec<(usize, usize, bool)>,
}

impl OffsetMap {
    fn nfc(text: &str) -> (String, OffsetMap) {
        let starts_unit =
            |c: char| canonical_combining_class(c) == 0 && is_nfc_quick(std::iter::once(c)) == IsNormalized::Yes;
        let mut out = String::with_capacity(text.len());
        let mut points = Vec::new();
        let mut unit_start = 0;
        let flush = |out: &mut String, points: &mut Vec<(usize, usize, bool)>, from: usize, to: usize| {
            let unit = &text[from..to];
            let before = out.len();
            out.extend(unit.nfc());
            points.push((before, from, &out[before..] != unit));
        };
        for (i, c) in text.char_indices() {
            if i > 0 && starts_unit(c) {
                flush(&mut out, &mut points, unit_start, i);
                unit_start = i;
            }
        }
        if !text.is_empty() {
            flush(&mut out, &mut points, unit_start, text.len());
        }
        points.push((out.len(), text.len(), false));
        (out, OffsetMap { points })
    }

    /// The unit holding normalised offset `x`: index `k` with
    /// `points[k].0 <= x < points[k + 1].0` (the last point for the end).
    fn unit(&self, x: usize) -> usize {
        self.points.partition_point(|p| p.0 <= x).saturating_sub(1)
    }

    /// A range start: inside a changed unit it moves to the unit's start.
    fn start(&self, x: usize) -> usize {
        let k = self.unit(x);
        let (n, o, changed) = self.points[k];
        if changed { o } else { o + (x - n) }
    }

    /// A range end: inside a changed unit it moves to the unit's end.
    fn end(&self, x: usize) -> usize {
        let k = self.unit(x);
        let (n, o, changed) = self.points[k];
        if x == n {
            o
        } else if changed {
            self.points[k + 1].1
        } else {
            o + (x - n)
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
            TextTokenizer::load(&model, Truncation::Truncate, 0).unwrap()
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
