//! The encoder: tokenise, sort by length, cut into batches under a token
//! budget, run, pool, normalise, and write each vector back in the caller's
//! order.

use std::borrow::Cow;
use std::path::PathBuf;

use ort::session::SessionInputValue;
use ort::value::TensorElementType;
use ort::value::{Tensor, ValueType};
use tokenizers::{Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

use crate::error::{err, Error, ErrorKind, Result};
use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization as _};

use crate::manifest::{InputType, Manifest, Pooling, UnicodeNormalization};
use crate::pooling::{l2_normalize, pool};
use crate::runtime::{self, SessionPool, SessionSettings};

/// What to do with a sentence longer than the model's `max_tokens`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Truncation {
    /// Keep the first `max_tokens` tokens (special tokens included) and count
    /// the sentence in [`EncodeStats::truncated`].
    #[default]
    Truncate,
    /// Fail the whole call with [`ErrorKind::InputTooLong`].
    Error,
}

/// How to build an [`Encoder`].
#[derive(Debug, Clone)]
pub struct EncoderOptions {
    /// The model directory (holding `kse.json`).
    pub model_dir: PathBuf,
    /// ONNX Runtime library to load; `None` searches (see [`crate::runtime`]).
    pub ort_library: Option<PathBuf>,
    /// ONNX Runtime intra-op threads per session; 0 lets ONNX Runtime choose
    /// (one per physical core).
    pub intra_threads: usize,
    /// Sessions in the pool: how many `encode` calls run at the same time.
    /// Each session holds its own copy of the weights.
    pub sessions: usize,
    /// Upper bound on `batch size x padded length` per ONNX Runtime run. A
    /// sentence longer than this still runs, alone.
    pub batch_tokens: usize,
    pub truncation: Truncation,
}

/// Default token budget per run. On two cores the default model ran fastest
/// with budgets of 512 to 1024 tokens (small batches stay in cache); larger
/// budgets were slower and need more memory.
pub const DEFAULT_BATCH_TOKENS: usize = 512;
/// Most sentences in one run, however short they are.
const MAX_BATCH_SENTENCES: usize = 256;

impl EncoderOptions {
    pub fn new(model_dir: impl Into<PathBuf>) -> Self {
        EncoderOptions {
            model_dir: model_dir.into(),
            ort_library: None,
            intra_threads: 0,
            sessions: 1,
            batch_tokens: DEFAULT_BATCH_TOKENS,
            truncation: Truncation::Truncate,
        }
    }
}

/// Counts from one `encode` call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EncodeStats {
    /// Tokens fed to the model, special tokens included, padding excluded.
    pub tokens: usize,
    /// Sentences cut at `max_tokens`.
    pub truncated: usize,
}

/// A loaded model. `encode` takes `&self`: share one encoder across threads
/// (it is `Send + Sync`); up to `sessions` calls run at once.
pub struct Encoder {
    manifest: Manifest,
    tokenizer: Tokenizer,
    pool: SessionPool,
    pad_id: u32,
    /// Rows of the embedding table the token ids index, when the graph
    /// shows it (see [`crate::onnx_scan`]); every id fed is checked against it.
    vocab_rows: Option<usize>,
    options: EncoderOptions,
}

/// One tokenised sentence.
struct Tokens {
    ids: Vec<u32>,
    truncated: bool,
}

impl Encoder {
    /// Loads the model directory and builds the session pool.
    pub fn new(options: EncoderOptions) -> Result<Encoder> {
        if options.sessions == 0 {
            return err(ErrorKind::InvalidArgument, "option `sessions` must be at least 1");
        }
        if options.batch_tokens == 0 {
            return err(ErrorKind::InvalidArgument, "option `batch_tokens` must be at least 1");
        }
        let manifest = Manifest::load(&options.model_dir)?;
        let tokenizer = match crate::embedded::file(&manifest.tokenizer) {
            Some(bytes) => Tokenizer::from_bytes(bytes),
            None => Tokenizer::from_file(&manifest.tokenizer),
        };
        let mut tokenizer = tokenizer.map_err(|e| {
            Error::new(ErrorKind::ModelInvalid, format!("cannot read tokenizer {}: {e}", manifest.tokenizer.display()))
        })?;
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
            .map_err(|e| Error::new(ErrorKind::ModelInvalid, format!("tokenizer {}: {e}", manifest.tokenizer.display())))?;
        let pad_id = configured_pad
            .or_else(|| ["<pad>", "[PAD]"].iter().find_map(|t| tokenizer.token_to_id(t)))
            .unwrap_or(0);

        let vocab = tokenizer.get_vocab_size(true);
        if vocab > i32::MAX as usize {
            return err(ErrorKind::ModelInvalid, format!("tokenizer has {vocab} tokens; ids must fit in int32"));
        }
        // Every id the tokenizer can produce must index a row of the graph's
        // embedding table; ONNX Runtime must never see one that does not.
        let vocab_rows = crate::onnx_scan::embedding_rows(&manifest.graph, &manifest.inputs.input_ids)
            .map(|r| usize::try_from(r).unwrap_or(usize::MAX));
        let max_id = tokenizer.get_vocab(true).into_values().max().unwrap_or(0) as usize;
        if let Some(rows) = vocab_rows {
            if max_id >= rows {
                return err(
                    ErrorKind::ModelInvalid,
                    format!(
                        "tokenizer {} has token ids up to {max_id}, but the embedding table in {} has {rows} rows; \
                         the tokenizer does not belong to this graph",
                        manifest.tokenizer.display(),
                        manifest.graph.display()
                    ),
                );
            }
        }

        let env = runtime::environment(options.ort_library.as_deref())?;
        // 0 threads: share the machine's cores among the sessions instead of
        // giving every session all of them.
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let intra_threads = match options.intra_threads {
            0 => (cores / options.sessions).max(1),
            n => n,
        };
        let settings = SessionSettings { intra_threads };
        let pool = SessionPool::new(&env, &manifest.graph, options.sessions, settings)?;
        check_graph(&manifest, &pool)?;
        let encoder = Encoder { manifest, tokenizer, pool, pad_id, vocab_rows, options };
        // The prefix and special tokens alone must leave room for text:
        // otherwise the tokenizer's truncation arithmetic underflows.
        let (overhead, _) = encoder.tokenize("")?;
        if overhead.len() >= encoder.manifest.max_tokens {
            return err(
                ErrorKind::ModelInvalid,
                format!(
                    "manifest field `max_tokens` is {}, but the prefix and special tokens alone take {}",
                    encoder.manifest.max_tokens,
                    overhead.len()
                ),
            );
        }
        Ok(encoder)
    }

    /// Width of each embedding.
    pub fn dim(&self) -> usize {
        self.manifest.dim
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    pub fn options(&self) -> &EncoderOptions {
        &self.options
    }

    /// The id padding positions get (the tokenizer's padding setting, else
    /// its `<pad>` or `[PAD]`, else 0). For the benchmark's raw baseline; not a stable API.
    #[doc(hidden)]
    pub fn pad_id(&self) -> u32 {
        self.pad_id
    }

    /// Token ids the model sees for `text`: prefix added, special tokens in
    /// place, cut at `max_tokens` (or an error under [`Truncation::Error`]).
    /// The flag tells whether the text was cut.
    pub fn tokenize(&self, text: &str) -> Result<(Vec<u32>, bool)> {
        let t = self.tokenize_one(0, text)?;
        Ok((t.ids, t.truncated))
    }

    fn tokenize_one(&self, index: usize, text: &str) -> Result<Tokens> {
        let text = self.normalized(text);
        let input: Cow<str> = if self.manifest.prefix.is_empty() {
            text
        } else {
            Cow::Owned(format!("{}{}", self.manifest.prefix, text))
        };
        let tokenize = |tokenizer: &Tokenizer| {
            tokenizer.encode_fast(input.as_ref(), true).map_err(|e| {
                Error::new(ErrorKind::Tokenizer, format!("text {index}: tokenizer failed: {e}"))
            })
        };
        let encoding = tokenize(&self.tokenizer)?;
        let truncated = !encoding.get_overflowing().is_empty();
        if truncated && self.options.truncation == Truncation::Error {
            // Only on this error path: the whole text's count, from a copy
            // of the tokenizer that does not truncate.
            let mut whole = self.tokenizer.clone();
            whole.with_truncation(None).map_err(|e| Error::new(ErrorKind::Tokenizer, format!("text {index}: {e}")))?;
            let count = tokenize(&whole)?.len();
            return err(
                ErrorKind::InputTooLong,
                format!(
                    "text {index} has {count} tokens; the model takes at most {} (truncation is off)",
                    self.manifest.max_tokens
                ),
            );
        }
        Ok(Tokens { ids: encoding.get_ids().to_vec(), truncated })
    }

    /// `text` as the manifest's `unicode_normalization` wants it; borrowed
    /// when a quick check shows it already is (the common case).
    fn normalized<'t>(&self, text: &'t str) -> Cow<'t, str> {
        match self.manifest.unicode_normalization {
            UnicodeNormalization::Nfc if is_nfc_quick(text.chars()) != IsNormalized::Yes => Cow::Owned(text.nfc().collect()),
            _ => Cow::Borrowed(text),
        }
    }

    /// Embeds `texts`; returns `texts.len() * dim` floats, row `i` for `texts[i]`.
    pub fn encode<S: AsRef<str>>(&self, texts: &[S]) -> Result<Vec<f32>> {
        let mut out = vec![0f32; texts.len() * self.dim()];
        self.encode_into(texts, &mut out)?;
        Ok(out)
    }

    /// Embeds `texts` into `out` (at least `texts.len() * dim` floats). On
    /// error `out` is left exactly as it was.
    pub fn encode_into<S: AsRef<str>>(&self, texts: &[S], out: &mut [f32]) -> Result<EncodeStats> {
        let dim = self.dim();
        let needed = texts.len().checked_mul(dim).ok_or_else(|| {
            Error::new(ErrorKind::InvalidArgument, format!("{} texts x {dim} floats overflows", texts.len()))
        })?;
        if out.len() < needed {
            return err(
                ErrorKind::BufferTooSmall,
                format!("output holds {} floats; {} texts x {dim} need {needed}", out.len(), texts.len()),
            );
        }
        if texts.is_empty() {
            return Ok(EncodeStats::default());
        }
        let tokens = texts
            .iter()
            .enumerate()
            .map(|(i, t)| self.tokenize_one(i, t.as_ref()))
            .collect::<Result<Vec<_>>>()?;
        let stats = EncodeStats {
            tokens: tokens.iter().map(|t| t.ids.len()).sum(),
            truncated: tokens.iter().filter(|t| t.truncated).count(),
        };

        // Results go to a scratch buffer first so a failure halfway leaves
        // the caller's buffer untouched.
        let mut scratch = Vec::new();
        scratch.try_reserve_exact(needed).map_err(|_| {
            Error::new(ErrorKind::InvalidArgument, format!("cannot allocate {needed} floats for {} texts", texts.len()))
        })?;
        scratch.resize(needed, 0f32);
        let lengths: Vec<usize> = tokens.iter().map(|t| t.ids.len()).collect();
        for batch in plan_batches(&lengths, self.options.batch_tokens) {
            self.run_batch(&tokens, &batch, &mut scratch)?;
        }
        out[..needed].copy_from_slice(&scratch);
        Ok(stats)
    }

    /// Runs one batch (indices into `tokens`) and writes each sentence's vector
    /// to its row of `out`.
    fn run_batch(&self, tokens: &[Tokens], batch: &[usize], out: &mut [f32]) -> Result<()> {
        let dim = self.dim();
        let rows = batch.len();
        let seq = batch.iter().map(|&i| tokens[i].ids.len()).max().unwrap_or(0).max(1);
        let mut ids = vec![self.pad_id as i64; rows * seq];
        let mut mask = vec![0i64; rows * seq];
        let rows_limit = self.vocab_rows.unwrap_or(usize::MAX);
        for (r, &i) in batch.iter().enumerate() {
            for (c, &id) in tokens[i].ids.iter().enumerate() {
                if id as usize >= rows_limit {
                    return err(
                        ErrorKind::ModelInvalid,
                        format!("text {i}: token id {id} is outside the model's {rows_limit}-row embedding table"),
                    );
                }
                ids[r * seq + c] = id as i64;
                mask[r * seq + c] = 1;
            }
        }
        let shape = vec![rows as i64, seq as i64];
        let names = &self.manifest.inputs;
        let mut inputs: Vec<(Cow<str>, SessionInputValue)> = Vec::with_capacity(3);
        let tensor_err = |e: ort::Error| Error::new(ErrorKind::Runtime, format!("cannot build input tensor: {e}"));
        let mut push = |name: &str, data: Vec<i64>| -> Result<()> {
            let value: SessionInputValue = match self.manifest.input_type {
                InputType::Int64 => Tensor::from_array((shape.clone(), data)).map_err(tensor_err)?.into(),
                InputType::Int32 => {
                    let narrow: Vec<i32> = data.into_iter().map(|x| x as i32).collect();
                    Tensor::from_array((shape.clone(), narrow)).map_err(tensor_err)?.into()
                }
            };
            inputs.push((Cow::Owned(name.to_owned()), value));
            Ok(())
        };
        push(&names.input_ids, ids)?;
        push(&names.attention_mask, mask.clone())?;
        if let Some(tt) = &names.token_type_ids {
            push(tt, vec![0i64; rows * seq])?;
        }

        let mut session = self.pool.acquire();
        let outputs = session
            .run(inputs)
            .map_err(|e| Error::new(ErrorKind::Runtime, format!("ONNX Runtime run failed: {e}")))?;
        let value = outputs.get(&self.manifest.output).ok_or_else(|| {
            Error::new(ErrorKind::ModelInvalid, format!("graph has no output `{}`", self.manifest.output))
        })?;
        let (out_shape, data) = value.try_extract_tensor::<f32>().map_err(|e| {
            Error::new(ErrorKind::ModelInvalid, format!("graph output `{}` is not a float32 tensor: {e}", self.manifest.output))
        })?;
        let dims: Vec<i64> = out_shape.iter().copied().collect();
        let expected: Vec<i64> = match self.manifest.pooling {
            Pooling::None => vec![rows as i64, dim as i64],
            Pooling::Mean | Pooling::Cls => vec![rows as i64, seq as i64, dim as i64],
        };
        if dims != expected {
            return err(
                ErrorKind::ModelInvalid,
                format!(
                    "graph output `{}` has shape {dims:?} but the manifest (dim {dim}, pooling {:?}) expects {expected:?}",
                    self.manifest.output, self.manifest.pooling
                ),
            );
        }
        let per_row = data.len() / rows;
        for (r, &i) in batch.iter().enumerate() {
            let row = &mut out[i * dim..(i + 1) * dim];
            pool(self.manifest.pooling, &data[r * per_row..(r + 1) * per_row], &mask[r * seq..(r + 1) * seq], dim, row);
            if self.manifest.normalize {
                l2_normalize(row);
            }
        }
        Ok(())
    }
}

/// Groups sentence indices into runs: longest first, each run's
/// `rows x longest` within `budget` (a sentence over budget runs alone), at
/// most 256 rows. `lengths[i]` is sentence `i`'s token count. Public for the
/// benchmark, which replays kse's runs on a bare session; not a stable API.
#[doc(hidden)]
pub fn plan_batches(lengths: &[usize], budget: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(lengths[i]));
    let mut batches = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    let mut longest = 0;
    for i in order {
        let len = lengths[i].max(1);
        let new_longest = longest.max(len);
        let fits = (current.len() + 1) * new_longest <= budget && current.len() < MAX_BATCH_SENTENCES;
        if !current.is_empty() && !fits {
            batches.push(std::mem::take(&mut current));
            longest = 0;
        }
        longest = longest.max(len);
        current.push(i);
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

/// Checks the graph against the manifest before the first sentence is run.
fn check_graph(manifest: &Manifest, pool: &SessionPool) -> Result<()> {
    let session = pool.first();
    let graph = manifest.graph.display();
    let want_type = match manifest.input_type {
        InputType::Int64 => TensorElementType::Int64,
        InputType::Int32 => TensorElementType::Int32,
    };
    let names = &manifest.inputs;
    let mut fed: Vec<(&str, &str)> = vec![("inputs.input_ids", &names.input_ids), ("inputs.attention_mask", &names.attention_mask)];
    if let Some(tt) = &names.token_type_ids {
        fed.push(("inputs.token_type_ids", tt));
    }
    for (field, name) in &fed {
        let input = session.inputs().iter().find(|i| i.name() == *name).ok_or_else(|| {
            let have: Vec<&str> = session.inputs().iter().map(|i| i.name()).collect();
            Error::new(ErrorKind::ModelInvalid, format!("manifest field `{field}` names graph input `{name}`, but {graph} has inputs {have:?}"))
        })?;
        match input.dtype() {
            ValueType::Tensor { ty, .. } if *ty == want_type => {}
            other => {
                return err(
                    ErrorKind::ModelInvalid,
                    format!("graph input `{name}` of {graph} is {other:?}, but manifest field `input_type` says {want_type:?}"),
                )
            }
        }
    }
    if let Some(extra) = session.inputs().iter().find(|i| !fed.iter().any(|(_, n)| *n == i.name())) {
        return err(
            ErrorKind::ModelInvalid,
            format!("graph {graph} needs input `{}`, which the manifest's `inputs` does not name", extra.name()),
        );
    }
    let output = session.outputs().iter().find(|o| o.name() == manifest.output).ok_or_else(|| {
        let have: Vec<&str> = session.outputs().iter().map(|o| o.name()).collect();
        Error::new(ErrorKind::ModelInvalid, format!("manifest field `output` names `{}`, but {graph} has outputs {have:?}", manifest.output))
    })?;
    if let ValueType::Tensor { ty, shape, .. } = output.dtype() {
        if *ty != TensorElementType::Float32 {
            return err(ErrorKind::ModelInvalid, format!("graph output `{}` is {ty:?}; kse needs float32", manifest.output));
        }
        let rank = if manifest.pooling == Pooling::None { 2 } else { 3 };
        if shape.len() != rank {
            return err(
                ErrorKind::ModelInvalid,
                format!(
                    "graph output `{}` has rank {}, but manifest field `pooling` ({:?}) needs rank {rank}",
                    manifest.output,
                    shape.len(),
                    manifest.pooling
                ),
            );
        }
        let last = shape[shape.len() - 1];
        if last >= 0 && last as usize != manifest.dim {
            return err(
                ErrorKind::ModelInvalid,
                format!("manifest field `dim` is {}, but graph output `{}` has width {last}", manifest.dim, manifest.output),
            );
        }
    } else {
        return err(ErrorKind::ModelInvalid, format!("graph output `{}` is not a tensor", manifest.output));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_respect_budget_and_cover_every_sentence_once() {
        let t = [5, 30, 7, 7, 100, 1, 12];
        let batches = plan_batches(&t, 40);
        let mut seen: Vec<usize> = batches.iter().flatten().copied().collect();
        seen.sort();
        assert_eq!(seen, (0..t.len()).collect::<Vec<_>>());
        for b in &batches {
            let longest = b.iter().map(|&i| t[i]).max().unwrap();
            assert!(b.len() == 1 || b.len() * longest <= 40, "{b:?}");
        }
        // The 100-token sentence exceeds the budget and runs alone.
        assert!(batches.iter().any(|b| b == &vec![4]));
    }

    #[test]
    fn batches_are_capped_in_sentences() {
        let t = vec![1; 1000];
        let batches = plan_batches(&t, 1 << 20);
        assert!(batches.iter().all(|b| b.len() <= MAX_BATCH_SENTENCES));
        assert_eq!(batches.iter().map(Vec::len).sum::<usize>(), 1000);
    }
}
