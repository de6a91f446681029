//! The command line: clap's schema of every subcommand and option, and the
//! exit codes `kse --help` documents.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::input::InputFormat;
use crate::output::OutputFormat;
use crate::eval;

/// Sentences per library call when streaming.
pub(crate) const DEFAULT_CHUNK: usize = 2048;

pub(crate) const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  model or ONNX Runtime error (model directory missing or invalid, ONNX Runtime not found, a run failed)
  2  usage error (bad option or argument)
  3  malformed input data (wrong number of fields, missing column, invalid UTF-8 or JSON,
     a sentence over the model's max tokens under --long error); the message names FILE:LINE
  4  I/O error (a file cannot be opened, read or written)
Errors are one line on stderr: `kse: error: ...`.";

#[derive(Parser)]
#[command(
    name = "kse",
    version,
    about = "Korean sentence embeddings from the command line (the kse library on ONNX Runtime)",
    long_about = "Korean sentence embeddings from the command line: the kse library on ONNX Runtime.\n\n\
                  encode writes embeddings of a file's sentences (npy, jsonl, raw f32); chunk splits \
                  documents into embedded chunks with their byte ranges; tokens counts tokens; similarity \
                  prints cosine matrices; search finds a corpus's nearest sentences; eval scores an STS \
                  file (KorSTS, KLUE).",
    after_help = EXIT_CODES,
    propagate_version = true
)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) model: ModelArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options every subcommand takes (before or after its name).
#[derive(Args, Debug)]
#[command(next_help_heading = "Model and run options (every subcommand)")]
pub(crate) struct ModelArgs {
    /// Model directory (holding kse.json), or the name of a model shipped with
    /// kse: kse-ko-small, or kse-ko-mini (6 layers, about twice as fast), found
    /// in the build or installed tree the program sits in (./kse-ko-mini is a
    /// directory) [default: $KSE_MODEL_DIR, else kse-ko-small: models/kse-ko-small
    /// of the build tree the program sits in (<exe>/../../models/...), else
    /// share/kse/models/kse-ko-small of an installed tree
    /// (<exe>/../share/kse/models/...)]
    #[arg(long, global = true, value_name = "DIR|NAME")]
    pub(crate) model: Option<PathBuf>,

    /// ONNX Runtime intra-op threads per session; 0 divides the machine's cores
    /// among the sessions
    #[arg(long, global = true, value_name = "N", default_value_t = 0)]
    pub(crate) threads: usize,

    /// Token budget per ONNX Runtime run (batch size x padded length); larger
    /// budgets use more memory
    #[arg(long, global = true, value_name = "N", default_value_t = kse::DEFAULT_BATCH_TOKENS, value_parser = positive)]
    pub(crate) batch_tokens: usize,

    /// A sentence longer than the model's max tokens: keep its first max
    /// tokens (truncate), fail naming it (error, exit 3), or embed all of it
    /// in overlapping windows combined into one vector (window;
    /// docs/long-inputs.md)
    #[arg(long, global = true, value_enum, value_name = "POLICY", default_value_t = LongPolicy::Truncate)]
    pub(crate) long: LongPolicy,

    /// The same as --long error
    #[arg(long, global = true)]
    pub(crate) no_truncate: bool,

    /// --long window: tokens consecutive windows share
    #[arg(long, global = true, value_name = "N", default_value_t = kse::DEFAULT_WINDOW_OVERLAP)]
    pub(crate) window_overlap: usize,

    /// Print a one-line summary (model, counts, time) to stderr
    #[arg(short, long, global = true)]
    pub(crate) verbose: bool,

    /// Never draw a progress bar (it is drawn only when stderr is a terminal and the input is large)
    #[arg(short, long, global = true)]
    pub(crate) quiet: bool,
}

/// `--long`: what to do with a sentence over the model's max tokens.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LongPolicy {
    Truncate,
    Error,
    Window,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Embed sentences from a file or stdin; write npy, jsonl or raw f32
    #[command(after_help = "\
Input: INPUT (or stdin) is read as a stream, CHUNK sentences per library call, so memory stays
bounded whatever its size. Row i of the output is the i-th sentence read. Formats:
  lines  one sentence per line (a blank line is an empty sentence; \\r\\n endings are accepted)
  tsv    split on every tab, no quoting (KorSTS style); every line must have the header's field count
  csv    RFC 4180 (quoted fields may hold commas, quotes and newlines)
  jsonl  one JSON object per line, the sentence a string field (or a bare JSON string per line)
Blank lines are skipped in tsv (several columns), csv and jsonl.
Output: npy is float32 little-endian [n, dim] for numpy.load; its header is rewritten with n at
the end, so it needs a file (-o, or stdout redirected to a file); to a pipe, the array is held in
memory (256 MiB at most). jsonl: {\"index\": i, \"embedding\": [...]} per line (with --with-text also
\"line\" and \"text\"). f32: rows of dim little-endian float32, no header (dim: see -v). On error
the -o file is removed.")]
    Encode(EncodeArgs),
    /// Split documents into chunks at sentence ends and embed each, with its byte range
    #[command(after_help = "\
Each FILE is one document (UTF-8; `-` reads stdin). Chunks hold at most --tokens tokens (special and
prefix tokens included), end at sentence ends (. ? ! … before a space, 。？！, line breaks) where they
can and at token boundaries where one sentence alone is too long; docs/long-inputs.md defines them.
Output: jsonl (default): one object per chunk, {\"file\", \"chunk\", \"start\", \"end\", \"tokens\",
\"text\", \"embedding\"}, where start..end is the chunk's byte range in the file (--no-embeddings:
without \"embedding\", and no model run). npy (-o FILE.npy): float32 [chunks, dim], and the ranges in
--offsets (default: FILE.offsets.tsv), a tsv with header `row file chunk start end tokens`.
An empty or whitespace-only document has no chunks. On error the output files are removed.")]
    Chunk(ChunkArgs),
    /// Count the tokens the model sees for each sentence (no model run)
    #[command(after_help = "\
Prints one count per sentence read (the input formats of `kse encode`), in order: the ids the
model would see without truncation, prefix and special tokens included, so a count above the
model's max tokens (see -v) marks a sentence that --long truncate would cut.")]
    Tokens(TokensArgs),
    /// Print the cosine similarity matrix of sentences (or of two groups)
    #[command(after_help = "\
Prints one row per sentence, like examples/c/similarity.c: `[ 0.95919393  0.83749194 ...]`.
Without --against: the n x n matrix of SENTENCES; with it: the n x m matrix, row i = SENTENCES[i],
column j = --against[j]. Put --against after the sentences: it takes every argument after it.")]
    Similarity(SimilarityArgs),
    /// Find the corpus sentences nearest to a query (brute-force cosine)
    #[command(after_help = "\
Prints, for each query, up to TOP_K lines `RANK<TAB>SCORE<TAB>LINE<TAB>TEXT`, best first (ties:
earlier line first); LINE is the corpus line the sentence starts on; tabs and newlines in TEXT are
written as \\t and \\n. With several queries, each block starts with `# query N: TEXT`.
Limits: brute force, every query is compared with every corpus sentence (O(corpus x queries));
no index is kept, so the corpus is embedded again on every run unless --corpus-embeddings names
its embeddings, made with `kse encode CORPUS -o FILE.npy` (same model and input options).
Memory is bounded: the corpus streams in chunks, and only the top k per query are kept.")]
    Search(SearchArgs),
    /// Score an STS file: Spearman and Pearson x100 of cosine vs gold
    #[command(after_help = "\
Formats:
  korsts  tab separated, header `genre filename year id score sentence1 sentence2` (columns found by
          name); split on every tab, no quoting (a CSV reader would merge rows)
  klue    RFC 4180 CSV with header sentence1,sentence2,label (or labels: a number, or a dict with
          `real-label`/`label`)
Spearman uses average ranks for ties. Prints model, data (pairs), spearman, pearson and time
(load + encode).")]
    Eval(EvalArgs),
    /// Convert a TF Hub encoder + preprocess SavedModel pair into a kse model directory
    #[command(
        disable_help_flag = true,
        override_usage = "kse import-tfhub ENCODER PREPROCESS -o MODEL_DIR [--name NAME] [--output NAME] [--probe-file FILE] [--force]",
        after_help = "\
Runs importers/tfhub/import_tfhub.py (needs TensorFlow, TF Text and tf2onnx: `make setup-tfhub`; or set
KSE_TFHUB_PYTHON to a Python that has importers/tfhub/requirements-tfhub.lock installed). ENCODER and
PREPROCESS are SavedModel directories or TF Hub .tar.gz downloads. Nothing is written unless the
converted tokenizer gives the preprocess model's ids and ONNX Runtime gives TensorFlow's vectors
(within 1e-4) on its probe sentences. `kse import-tfhub --help` prints the tool's own options.
Guide: docs/import-tfhub.md. Exit: 0 written, 1 refused (the message says what was found), 2 usage."
    )]
    ImportTfhub(ImportArgs),
}

/// Arguments passed through to importers/tfhub/import_tfhub.py.
#[derive(Args, Debug)]
pub(crate) struct ImportArgs {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "ARGS")]
    pub(crate) args: Vec<String>,
}

/// How sentences are read from a file (encode, search).
#[derive(Args, Debug)]
pub(crate) struct InputArgs {
    /// Input format [default: from the file's extension (.tsv, .csv, .jsonl/.ndjson), else lines]
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub(crate) input_format: Option<InputFormat>,

    /// tsv/csv: the sentence column, by header name or 0-based index; jsonl: the field (an integer
    /// picks an array element) [default: `text`, else `sentence`, else the only column; with
    /// --no-header: column 0]
    #[arg(long, value_name = "NAME_OR_INDEX")]
    pub(crate) column: Option<String>,

    /// tsv/csv: the first line is data, not a header (choose the column by index)
    #[arg(long)]
    pub(crate) no_header: bool,

    /// Sentences per library call (memory grows with it)
    #[arg(long, value_name = "N", default_value_t = DEFAULT_CHUNK, value_parser = positive)]
    pub(crate) chunk: usize,
}

#[derive(Args, Debug)]
pub(crate) struct EncodeArgs {
    /// Input file; `-` or none reads stdin
    #[arg(value_name = "INPUT")]
    pub(crate) input: Option<PathBuf>,

    #[command(flatten)]
    pub(crate) input_args: InputArgs,

    /// Output file; `-` or none writes stdout
    #[arg(short, long, value_name = "OUTPUT")]
    pub(crate) output: Option<PathBuf>,

    /// Output format [default: from OUTPUT's extension (.jsonl/.ndjson, .f32/.bin/.raw), else npy]
    #[arg(long, value_enum)]
    pub(crate) format: Option<OutputFormat>,

    /// jsonl: add each sentence's input line and text
    #[arg(long)]
    pub(crate) with_text: bool,
}

/// `kse chunk` output formats.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ChunkFormat {
    Jsonl,
    Npy,
}

#[derive(Args, Debug)]
pub(crate) struct ChunkArgs {
    /// Documents, one per file (`-`: stdin)
    #[arg(required = true, value_name = "FILE")]
    pub(crate) files: Vec<PathBuf>,

    /// Output file; `-` or none writes stdout (jsonl only)
    #[arg(short, long, value_name = "OUTPUT")]
    pub(crate) output: Option<PathBuf>,

    /// Output format [default: npy if OUTPUT ends in .npy, else jsonl]
    #[arg(long, value_enum)]
    pub(crate) format: Option<ChunkFormat>,

    /// npy: the tsv the chunks' byte ranges go to [default: OUTPUT with .npy replaced by .offsets.tsv]
    #[arg(long, value_name = "FILE")]
    pub(crate) offsets: Option<PathBuf>,

    /// Most tokens per chunk, special and prefix tokens included; 0: the model's max tokens
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub(crate) tokens: usize,

    /// Tokens consecutive chunks share
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub(crate) overlap: usize,

    /// jsonl: ranges and text only; the model does not run
    #[arg(long)]
    pub(crate) no_embeddings: bool,
}

#[derive(Args, Debug)]
pub(crate) struct TokensArgs {
    /// Input file; `-` or none reads stdin
    #[arg(value_name = "INPUT")]
    pub(crate) input: Option<PathBuf>,

    #[command(flatten)]
    pub(crate) input_args: InputArgs,
}

#[derive(Args, Debug)]
pub(crate) struct SimilarityArgs {
    /// Sentences (rows of the matrix)
    #[arg(required = true, value_name = "SENTENCE")]
    pub(crate) sentences: Vec<String>,

    /// Second group (columns of the matrix)
    #[arg(long, num_args = 1.., value_name = "SENTENCE")]
    pub(crate) against: Vec<String>,
}

#[derive(Args, Debug)]
pub(crate) struct SearchArgs {
    /// Corpus file, one sentence per record (`-`: stdin)
    #[arg(long, value_name = "FILE")]
    pub(crate) corpus: PathBuf,

    /// The query (repeat for several)
    #[arg(long, required = true, value_name = "TEXT")]
    pub(crate) query: Vec<String>,

    /// Results per query
    #[arg(short = 'k', long, default_value_t = 10, value_parser = positive)]
    pub(crate) top_k: usize,

    /// The corpus's embeddings (from `kse encode`, same model): skips embedding the corpus
    #[arg(long, value_name = "FILE.npy")]
    pub(crate) corpus_embeddings: Option<PathBuf>,

    #[command(flatten)]
    pub(crate) input_args: InputArgs,
}

#[derive(Args, Debug)]
pub(crate) struct EvalArgs {
    /// STS file: KorSTS TSV or KLUE-style CSV
    #[arg(value_name = "FILE")]
    pub(crate) file: PathBuf,

    /// File format [default: from the extension (.tsv: korsts, .csv: klue), else from the header]
    #[arg(long, value_enum)]
    pub(crate) format: Option<eval::EvalFormat>,
}

pub(crate) fn positive(s: &str) -> std::result::Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_owned()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}
