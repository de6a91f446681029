//! The encoder ties the stages together: tokenise ([`crate::tokenize`]),
//! plan batches under the token budget and build their tensors
//! ([`crate::batch`]), run them on a pooled session ([`crate::runtime`]), pool
//! and normalise each text's vector into its row ([`crate::pooling`]). Long
//! texts become several rows (windows, chunks: docs/long-inputs.md) that run
//! like any other.

use std::path::PathBuf;

use crate::batch::{self, Batch, DEFAULT_BATCH_TOKENS};
use crate::chunk;
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
    /// Under [`Truncation::Window`], tokens consecutive windows share
    /// (default [`DEFAULT_WINDOW_OVERLAP`]); must be less than a window's
    /// room for text.
    pub window_overlap: usize,
}

/// Default overlap of consecutive windows, in tokens.
pub const DEFAULT_WINDOW_OVERLAP: usize = 32;

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
            window_overlap: DEFAULT_WINDOW_OVERLAP,
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
    /// Texts over `max_tokens` encoded in windows ([`Truncation::Window`]).
    pub windowed: usize,
    /// Windows those texts took.
    pub windows: usize,
}

/// How [`Encoder::encode_chunks`] cuts a document.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChunkOptions {
    /// Most tokens per chunk, special and prefix tokens included; 0 means
    /// the model's `max_tokens`.
    pub tokens: usize,
    /// Tokens consecutive chunks share.
    pub overlap: usize,
}

/// One chunk of a document: bytes `start..end` of the text, `tokens` ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunk {
    pub start: usize,
    pub end: usize,
    /// Ids of the chunk's model row, special and prefix tokens included.
    pub tokens: usize,
}

/// A document cut into chunks, with the rows that embed them.
pub(crate) struct ChunkPlan {
    pub chunks: Vec<Chunk>,
    rows: Vec<Tokens>,
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
        let tokenizer = TextTokenizer::load(&model, options.truncation, options.window_overlap)?;
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
        self.tokenizer.tokenize(0, text)
    }

    /// How many ids the model would see for `text` without truncation
    /// (prefix and special tokens included). Runs no model.
    pub fn count_tokens(&self, text: &str) -> Result<usize> {
        self.tokenizer.count(0, text)
    }

    /// Floats the vectors of `n` texts take; `BufferTooSmall` when an output
    /// of `capacity` floats cannot hold them.
    pub fn output_len(&self, n: usize, capacity: usize) -> Result<usize> {
        self.vectors_len(n, "texts", capacity)
    }

    /// Floats `n` vectors (of `what`: texts, chunks) take, checked against an
    /// output of `capacity` floats.
    pub(crate) fn vectors_len(&self, n: usize, what: &str, capacity: usize) -> Result<usize> {
        let dim = self.dim();
        let needed = n
            .checked_mul(dim)
            .ok_or_else(|| Error::new(ErrorKind::InvalidArgument, format!("{n} {what} x {dim} floats overflows")))?;
        if capacity < needed {
            return err(ErrorKind::BufferTooSmall, format!("the output holds {capacity} floats; {n} {what} x {dim} need {needed}"));
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
        let n = texts.len();
        let mut stats = EncodeStats::default();
        // Rows of all texts; a text's single row goes to its own row of the
        // scratch buffer, windows to rows after the n texts'.
        let mut rows = Vec::with_capacity(n);
        let mut dest = Vec::with_capacity(n);
        let mut windowed = Vec::new();
        let mut window_rows = 0;
        for (i, text) in texts.iter().enumerate() {
            let p = self.tokenizer.prepare(i, text.as_ref())?;
            stats.tokens += p.rows.iter().map(|r| r.ids.len()).sum::<usize>();
            stats.truncated += p.truncated as usize;
            if p.rows.len() == 1 {
                dest.push(i);
            } else {
                stats.windowed += 1;
                stats.windows += p.rows.len();
                dest.extend((0..p.rows.len()).map(|k| n + window_rows + k));
                windowed.push((i, n + window_rows, p.weights));
                window_rows += p.rows.len();
            }
            rows.extend(p.rows);
        }

        // Results go to a scratch buffer first so a failure halfway leaves
        // the caller's buffer untouched.
        let mut scratch = self.scratch(n + window_rows)?;
        self.run_rows(&rows, &dest, n, &mut scratch)?;
        drop(rows);
        let dim = self.dim();
        for (i, first, weights) in windowed {
            let (head, windows) = scratch.split_at_mut(first * dim);
            pooling::combine(&windows[..weights.len() * dim], &weights, self.manifest().normalize, &mut head[i * dim..(i + 1) * dim]);
        }
        out[..needed].copy_from_slice(&scratch[..needed]);
        Ok(stats)
    }

    /// Cuts `text` into chunks as `options` say (docs/long-inputs.md,
    /// Chunks): their byte ranges and token counts, without running the model.
    pub fn chunks(&self, text: &str, options: ChunkOptions) -> Result<Vec<Chunk>> {
        Ok(self.plan_chunks(text, options)?.chunks)
    }

    /// Cuts `text` into chunks and embeds each: the chunks and their vectors
    /// (`chunks.len() * dim` floats, row `i` for chunk `i`).
    pub fn encode_chunks(&self, text: &str, options: ChunkOptions) -> Result<(Vec<Chunk>, Vec<f32>)> {
        let plan = self.plan_chunks(text, options)?;
        let vectors = self.embed_chunks(&plan)?;
        Ok((plan.chunks, vectors))
    }

    pub(crate) fn plan_chunks(&self, text: &str, options: ChunkOptions) -> Result<ChunkPlan> {
        let max = self.manifest().max_tokens;
        let fixed = self.tokenizer.fixed_tokens();
        let tokens = if options.tokens == 0 { max } else { options.tokens };
        if tokens > max {
            return err(ErrorKind::InvalidArgument, format!("chunk_tokens is {tokens}, over the model's max tokens ({max})"));
        }
        if tokens <= fixed {
            return err(
                ErrorKind::InvalidArgument,
                format!("chunk_tokens is {tokens}, which leaves no room for text: special and prefix tokens take {fixed}"),
            );
        }
        let room = tokens - fixed;
        if options.overlap >= room {
            return err(
                ErrorKind::InvalidArgument,
                format!("chunk overlap {} must be less than the {room} text tokens a chunk of {tokens} tokens holds", options.overlap),
            );
        }
        if text.trim().is_empty() {
            return Ok(ChunkPlan { chunks: Vec::new(), rows: Vec::new() });
        }
        let doc = self.tokenizer.document(0, text)?;
        let spans = chunk::plan(text, &doc.ranges, room, options.overlap);
        let rows: Vec<Tokens> = spans.iter().map(|s| self.tokenizer.row(&doc.ids[s.first..s.last])).collect();
        let chunks = spans.iter().zip(&rows).map(|(s, r)| Chunk { start: s.start, end: s.end, tokens: r.ids.len() }).collect();
        Ok(ChunkPlan { chunks, rows })
    }

    pub(crate) fn embed_chunks(&self, plan: &ChunkPlan) -> Result<Vec<f32>> {
        let k = plan.rows.len();
        let mut scratch = self.scratch(k)?;
        let dest: Vec<usize> = (0..k).collect();
        self.run_rows(&plan.rows, &dest, k, &mut scratch)?;
        Ok(scratch)
    }

    /// A zeroed buffer for `rows` vectors, or an error if it cannot be had.
    fn scratch(&self, rows: usize) -> Result<Vec<f32>> {
        let floats = rows
            .checked_mul(self.dim())
            .ok_or_else(|| Error::new(ErrorKind::InvalidArgument, format!("{rows} rows x {} floats overflows", self.dim())))?;
        let mut scratch = Vec::new();
        scratch
            .try_reserve_exact(floats)
            .map_err(|_| Error::new(ErrorKind::InvalidArgument, format!("cannot allocate {floats} floats for {rows} vectors")))?;
        scratch.resize(floats, 0f32);
        Ok(scratch)
    }

    /// Runs `rows` in batches under the token budget, one batch at a time;
    /// row `r`'s vector goes to row `dest[r]` of `out`, normalised as the
    /// manifest says when `dest[r] < normalized_below` and left raw (for
    /// combining windows) otherwise.
    fn run_rows(&self, rows: &[Tokens], dest: &[usize], normalized_below: usize, out: &mut [f32]) -> Result<()> {
        let lengths: Vec<usize> = rows.iter().map(|t| t.ids.len()).collect();
        for indices in batch::plan(&lengths, self.options.batch_tokens) {
            self.run(rows, &indices, dest, normalized_below, out)?;
        }
        Ok(())
    }

    /// Runs the rows `indices` (into `rows`) as one batch.
    fn run(&self, rows: &[Tokens], indices: &[usize], dest: &[usize], normalized_below: usize, out: &mut [f32]) -> Result<()> {
        let manifest = self.manifest();
        let mut batch = Batch::build(manifest, rows, indices, self.tokenizer.pad_id(), self.vocab_rows)?;
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
        let targets: Vec<(usize, bool)> =
            indices.iter().map(|&r| (dest[r], manifest.normalize && dest[r] < normalized_below)).collect();
        pooling::write_rows(manifest, &shape, data, &batch, &targets, out)
    }

    /// The id padding positions get.
    #[cfg(feature = "bench-internals")]
    pub(crate) fn pad_id(&self) -> u32 {
        self.tokenizer.pad_id()
    }
}
