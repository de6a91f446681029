//! The encoder ties the stages together: tokenise ([`crate::tokenize`]),
//! plan batches under the token budget and build their tensors
//! ([`crate::batch`]), run them on a pooled session ([`crate::runtime`]), pool
//! and normalise each text's vector into its row ([`crate::pooling`]).

use std::path::PathBuf;

use crate::batch::{self, Batch, DEFAULT_BATCH_TOKENS};
use crate::error::{err, Error, ErrorKind, Result};
use crate::model::manifest::Manifest;
use crate::model::{graph, Model, ModelSource};
use crate::pooling;
use crate::runtime::{self, SessionPool, SessionSettings};
use crate::tokenize::{TextTokenizer, Tokens, Truncation};

/// How to build an [`Encoder`].
#[derive(Debug, Clone)]
pub struct EncoderOptions {
    /// The model: a directory holding `kse.json`, or the embedded one.
    pub model: ModelSource,
    /// ONNX Runtime library to load; `None` searches (see [`crate::runtime`]).
    pub ort_library: Option<PathBuf>,
    /// ONNX Runtime intra-op threads per session; 0 divides the machine's
    /// cores among the sessions (at least one each).
    pub intra_threads: usize,
    /// Sessions in the pool: how many `encode` calls run at the same time.
    /// Weights stored as ONNX external data are mapped from the file once and
    /// shared; each session keeps its own working memory and any weights
    /// ONNX Runtime computes when it loads the graph (int8 folded to float32).
    pub sessions: usize,
    /// Upper bound on `batch size x padded length` per ONNX Runtime run. A
    /// text longer than this still runs, alone.
    pub batch_tokens: usize,
    pub truncation: Truncation,
}

impl EncoderOptions {
    /// Defaults for the model in `model` (a directory, or [`ModelSource::Embedded`]).
    pub fn new(model: impl Into<ModelSource>) -> Self {
        EncoderOptions {
            model: model.into(),
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
    /// Texts cut at `max_tokens`.
    pub truncated: usize,
}

/// A loaded model. `encode` takes `&self`: share one encoder across threads
/// (it is `Send + Sync`); up to `sessions` calls run at once.
pub struct Encoder {
    model: Model,
    tokenizer: TextTokenizer,
    pool: SessionPool,
    /// Rows of the embedding table the token ids index, when the graph shows
    /// it; every id fed is checked against it.
    vocab_rows: Option<usize>,
    options: EncoderOptions,
}

impl Encoder {
    /// Loads the model and builds the session pool.
    pub fn new(options: EncoderOptions) -> Result<Encoder> {
        if options.sessions == 0 {
            return err(ErrorKind::InvalidArgument, "option `sessions` must be at least 1");
        }
        if options.batch_tokens == 0 {
            return err(ErrorKind::InvalidArgument, "option `batch_tokens` must be at least 1");
        }
        let model = Model::open(&options.model)?;
        let manifest = model.manifest();
        let tokenizer = TextTokenizer::load(&model, options.truncation)?;
        let graph_file = model.file(&manifest.graph);
        let vocab_rows = graph::embedding_rows(manifest, graph_file, tokenizer.max_id())?;

        let env = runtime::environment(options.ort_library.as_deref())?;
        // 0 threads: share the machine's cores among the sessions instead of
        // giving every session all of them.
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let intra_threads = match options.intra_threads {
            0 => (cores / options.sessions).max(1),
            n => n,
        };
        let pool = SessionPool::new(&env, graph_file, options.sessions, SessionSettings { intra_threads })?;
        graph::check_session(manifest, &pool.acquire())?;
        Ok(Encoder { model, tokenizer, pool, vocab_rows, options })
    }

    /// Width of each embedding.
    pub fn dim(&self) -> usize {
        self.manifest().dim
    }

    pub fn manifest(&self) -> &Manifest {
        self.model.manifest()
    }

    pub fn options(&self) -> &EncoderOptions {
        &self.options
    }

    /// Token ids the model sees for `text`: prefix added, special tokens in
    /// place, cut at `max_tokens` (or an error under [`Truncation::Error`]).
    /// The flag tells whether the text was cut.
    pub fn tokenize(&self, text: &str) -> Result<(Vec<u32>, bool)> {
        let t = self.tokenizer.tokenize(0, text)?;
        Ok((t.ids, t.truncated))
    }

    /// Floats the vectors of `n` texts take; `BufferTooSmall` when an output
    /// of `capacity` floats cannot hold them.
    pub fn output_len(&self, n: usize, capacity: usize) -> Result<usize> {
        let dim = self.dim();
        let needed = n
            .checked_mul(dim)
            .ok_or_else(|| Error::new(ErrorKind::InvalidArgument, format!("{n} texts x {dim} floats overflows")))?;
        if capacity < needed {
            return err(ErrorKind::BufferTooSmall, format!("the output holds {capacity} floats; {n} texts x {dim} need {needed}"));
        }
        Ok(needed)
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
        let needed = self.output_len(texts.len(), out.len())?;
        if texts.is_empty() {
            return Ok(EncodeStats::default());
        }
        let tokens = texts
            .iter()
            .enumerate()
            .map(|(i, t)| self.tokenizer.tokenize(i, t.as_ref()))
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
        for indices in batch::plan(&lengths, self.options.batch_tokens) {
            self.run(&tokens, &indices, &mut scratch)?;
        }
        out[..needed].copy_from_slice(&scratch);
        Ok(stats)
    }

    /// Runs the texts `indices` (into `tokens`) as one batch and writes each
    /// one's vector to its row of `out`.
    fn run(&self, tokens: &[Tokens], indices: &[usize], out: &mut [f32]) -> Result<()> {
        let manifest = self.manifest();
        let mut batch = Batch::build(manifest, tokens, indices, self.tokenizer.pad_id(), self.vocab_rows)?;
        let mut session = self.pool.acquire();
        let outputs = session
            .run(std::mem::take(&mut batch.inputs))
            .map_err(|e| Error::new(ErrorKind::Runtime, format!("ONNX Runtime run failed: {e}")))?;
        let value = outputs
            .get(&manifest.output)
            .ok_or_else(|| Error::new(ErrorKind::ModelInvalid, format!("graph has no output `{}`", manifest.output)))?;
        let (shape, data) = value.try_extract_tensor::<f32>().map_err(|e| {
            Error::new(ErrorKind::ModelInvalid, format!("graph output `{}` is not a float32 tensor: {e}", manifest.output))
        })?;
        let shape: Vec<i64> = shape.iter().copied().collect();
        pooling::write_rows(manifest, &shape, data, &batch, indices, out)
    }

    /// The id padding positions get.
    #[cfg(feature = "bench-internals")]
    pub(crate) fn pad_id(&self) -> u32 {
        self.tokenizer.pad_id()
    }
}
