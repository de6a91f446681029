//! `kse`: Korean sentence embeddings from the command line.
//!
//! A client of the kse library (`kse::Encoder`): it reads sentences, calls
//! the library, and writes what comes back. Subcommands: `encode`,
//! `similarity`, `search`, `eval`, `import-tfhub`; `kse --help` documents options and exit
//! codes.

mod error;
mod eval;
mod import_tfhub;
mod input;
mod output;
mod progress;
mod search;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Args, Parser, Subcommand};
use kse::{EncodeStats, Encoder, EncoderOptions, ErrorKind, Truncation};

use error::{CliError, Exit, Result};
use input::{ColumnChoice, InputFormat, Record, SentenceReader};
use output::{EmbeddingWriter, OutputFormat};
use progress::Progress;

/// Sentences per library call when streaming.
const DEFAULT_CHUNK: usize = 2048;

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  model or ONNX Runtime error (model directory missing or invalid, ONNX Runtime not found, a run failed)
  2  usage error (bad option or argument)
  3  malformed input data (wrong number of fields, missing column, invalid UTF-8 or JSON,
     a sentence over the model's max tokens under --no-truncate); the message names FILE:LINE
  4  I/O error (a file cannot be opened, read or written)
Errors are one line on stderr: `kse: error: ...`.";

#[derive(Parser)]
#[command(
    name = "kse",
    version,
    about = "Korean sentence embeddings from the command line (the kse library on ONNX Runtime)",
    long_about = "Korean sentence embeddings from the command line: the kse library on ONNX Runtime.\n\n\
                  encode writes embeddings of a file's sentences (npy, jsonl, raw f32); similarity prints \
                  cosine matrices; search finds a corpus's nearest sentences; eval scores an STS file \
                  (KorSTS, KLUE).",
    after_help = EXIT_CODES,
    propagate_version = true
)]
struct Cli {
    #[command(flatten)]
    model: ModelArgs,
    #[command(subcommand)]
    command: Command,
}

/// Options every subcommand takes (before or after its name).
#[derive(Args, Debug)]
#[command(next_help_heading = "Model and run options (every subcommand)")]
struct ModelArgs {
    /// Model directory (holding kse.json) [default: $KSE_MODEL_DIR, else the
    /// default model kse-ko-small: models/kse-ko-small of the build tree the
    /// program sits in (<exe>/../../models/...), else
    /// share/kse/models/kse-ko-small of an installed tree
    /// (<exe>/../share/kse/models/...)]
    #[arg(long, global = true, value_name = "DIR")]
    model: Option<PathBuf>,

    /// ONNX Runtime intra-op threads; 0 lets ONNX Runtime choose (one per core)
    #[arg(long, global = true, value_name = "N", default_value_t = 0)]
    threads: usize,

    /// Token budget per ONNX Runtime run (batch size x padded length); larger
    /// budgets use more memory
    #[arg(long, global = true, value_name = "N", default_value_t = kse::DEFAULT_BATCH_TOKENS, value_parser = positive)]
    batch_tokens: usize,

    /// Fail (exit 3, naming the sentence) on a sentence longer than the
    /// model's max tokens, instead of keeping its first max tokens
    #[arg(long, global = true)]
    no_truncate: bool,

    /// Print a one-line summary (model, counts, time) to stderr
    #[arg(short, long, global = true)]
    verbose: bool,

    /// Never draw a progress bar (it is drawn only when stderr is a terminal and the input is large)
    #[arg(short, long, global = true)]
    quiet: bool,
}

#[derive(Subcommand)]
enum Command {
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
Runs tools/import_tfhub.py (needs TensorFlow, TF Text and tf2onnx: `make setup-tfhub`; or set
KSE_TFHUB_PYTHON to a Python that has tools/requirements-tfhub.lock installed). ENCODER and
PREPROCESS are SavedModel directories or TF Hub .tar.gz downloads. Nothing is written unless the
converted tokenizer gives the preprocess model's ids and ONNX Runtime gives TensorFlow's vectors
(within 1e-4) on its probe sentences. `kse import-tfhub --help` prints the tool's own options.
Guide: docs/import-tfhub.md. Exit: 0 written, 1 refused (the message says what was found), 2 usage."
    )]
    ImportTfhub(ImportArgs),
}

/// Arguments passed through to tools/import_tfhub.py.
#[derive(Args, Debug)]
struct ImportArgs {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "ARGS")]
    args: Vec<String>,
}

/// How sentences are read from a file (encode, search).
#[derive(Args, Debug)]
struct InputArgs {
    /// Input format [default: from the file's extension (.tsv, .csv, .jsonl/.ndjson), else lines]
    #[arg(long, value_enum, value_name = "FORMAT")]
    input_format: Option<InputFormat>,

    /// tsv/csv: the sentence column, by header name or 0-based index; jsonl: the field (an integer
    /// picks an array element) [default: `text`, else `sentence`, else the only column; with
    /// --no-header: column 0]
    #[arg(long, value_name = "NAME_OR_INDEX")]
    column: Option<String>,

    /// tsv/csv: the first line is data, not a header (choose the column by index)
    #[arg(long)]
    no_header: bool,

    /// Sentences per library call (memory grows with it)
    #[arg(long, value_name = "N", default_value_t = DEFAULT_CHUNK, value_parser = positive)]
    chunk: usize,
}

#[derive(Args, Debug)]
struct EncodeArgs {
    /// Input file; `-` or none reads stdin
    #[arg(value_name = "INPUT")]
    input: Option<PathBuf>,

    #[command(flatten)]
    input_args: InputArgs,

    /// Output file; `-` or none writes stdout
    #[arg(short, long, value_name = "OUTPUT")]
    output: Option<PathBuf>,

    /// Output format [default: from OUTPUT's extension (.jsonl/.ndjson, .f32/.bin/.raw), else npy]
    #[arg(long, value_enum)]
    format: Option<OutputFormat>,

    /// jsonl: add each sentence's input line and text
    #[arg(long)]
    with_text: bool,
}

#[derive(Args, Debug)]
struct SimilarityArgs {
    /// Sentences (rows of the matrix)
    #[arg(required = true, value_name = "SENTENCE")]
    sentences: Vec<String>,

    /// Second group (columns of the matrix)
    #[arg(long, num_args = 1.., value_name = "SENTENCE")]
    against: Vec<String>,
}

#[derive(Args, Debug)]
struct SearchArgs {
    /// Corpus file, one sentence per record (`-`: stdin)
    #[arg(long, value_name = "FILE")]
    corpus: PathBuf,

    /// The query (repeat for several)
    #[arg(long, required = true, value_name = "TEXT")]
    query: Vec<String>,

    /// Results per query
    #[arg(short = 'k', long, default_value_t = 10, value_parser = positive)]
    top_k: usize,

    /// The corpus's embeddings (from `kse encode`, same model): skips embedding the corpus
    #[arg(long, value_name = "FILE.npy")]
    corpus_embeddings: Option<PathBuf>,

    #[command(flatten)]
    input_args: InputArgs,
}

#[derive(Args, Debug)]
struct EvalArgs {
    /// STS file: KorSTS TSV or KLUE-style CSV
    #[arg(value_name = "FILE")]
    file: PathBuf,

    /// File format [default: from the extension (.tsv: korsts, .csv: klue), else from the header]
    #[arg(long, value_enum)]
    format: Option<eval::EvalFormat>,
}

fn positive(s: &str) -> std::result::Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_owned()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

fn main() {
    // Die quietly on a closed pipe (`kse search ... | head`), as Unix tools do.
    // SAFETY: restores the default disposition of one signal, before any threads start.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Encode(a) => cmd_encode(&cli.model, a),
        Command::Similarity(a) => cmd_similarity(&cli.model, a),
        Command::Search(a) => search::run(&cli.model, a),
        Command::Eval(a) => eval::run(&cli.model, a),
        Command::ImportTfhub(a) => import_tfhub::run(&a.args),
    };
    if let Err(e) = result {
        let _ = std::io::stdout().flush();
        let message = e.message.replace('\n', " ");
        eprintln!("kse: error: {message}");
        std::process::exit(e.exit as i32);
    }
}

/// The model directory: `--model`, else the library's default model
/// (`$KSE_MODEL_DIR`, else the build or installed tree the program sits in).
fn model_dir(args: &ModelArgs) -> Result<PathBuf> {
    if let Some(m) = &args.model {
        return Ok(m.clone());
    }
    kse::default_model::default_model_dir().map_err(|e| CliError::new(Exit::Runtime, format!("{}; pass --model DIR", e.message())))
}

fn open_encoder(args: &ModelArgs) -> Result<(Encoder, PathBuf)> {
    let dir = model_dir(args)?;
    let mut options = EncoderOptions::new(&dir);
    options.intra_threads = args.threads;
    options.batch_tokens = args.batch_tokens;
    options.truncation = if args.no_truncate { Truncation::Error } else { Truncation::Truncate };
    let encoder = Encoder::new(options).map_err(|e| {
        let about_model = !matches!(e.kind(), ErrorKind::RuntimeUnavailable);
        let mut e = CliError::from_kse(e);
        let shown = dir.display().to_string();
        if about_model && !e.message.contains(&shown) {
            e.message = format!("model {shown}: {}", e.message);
        }
        e
    })?;
    Ok((encoder, dir))
}

/// Embeds `texts` into `out`. A sentence the library rejects (too long
/// under `--no-truncate`, or refused by the tokenizer) is named by `label(i)`.
fn encode_labeled(enc: &Encoder, texts: &[&str], out: &mut [f32], label: impl Fn(usize) -> String) -> Result<EncodeStats> {
    enc.encode_into(texts, out).map_err(|e| {
        if !matches!(e.kind(), ErrorKind::InputTooLong | ErrorKind::Tokenizer) {
            return CliError::from_kse(e);
        }
        // The library names the sentence by its index in the call; find it
        // again to name its line.
        for (i, text) in texts.iter().enumerate() {
            if let Err(one) = enc.tokenize(text) {
                // "text 0 has N tokens; ..." / "text 0: tokenizer failed: ..."
                let rest = one.message().strip_prefix("text 0").unwrap_or(one.message());
                let what = match one.kind() {
                    ErrorKind::InputTooLong => format!("the sentence{rest}"),
                    _ => rest.trim_start_matches(": ").to_owned(),
                };
                return CliError::new(Exit::Input, format!("{}: {what}", label(i)));
            }
        }
        CliError::from_kse(e)
    })
}

/// Embeds a chunk of records read from `file`, naming a bad one by `FILE:LINE`.
fn encode_records(enc: &Encoder, records: &[Record], file: &str, out: &mut Vec<f32>) -> Result<EncodeStats> {
    out.clear();
    out.resize(records.len() * enc.dim(), 0.0);
    let texts: Vec<&str> = records.iter().map(|r| r.text.as_str()).collect();
    encode_labeled(enc, &texts, out, |i| format!("{file}:{}", records[i].line))
}

fn open_input(path: Option<&Path>, args: &InputArgs) -> Result<SentenceReader> {
    let format = args.input_format.unwrap_or_else(|| InputFormat::from_path(path.filter(|p| p.as_os_str() != "-")));
    let choice = ColumnChoice { column: args.column.clone(), no_header: args.no_header };
    if args.no_header && !matches!(format, InputFormat::Tsv | InputFormat::Csv) {
        return Err(CliError::usage("--no-header applies to tsv and csv input only"));
    }
    SentenceReader::open(path, format, &choice)
}

fn cmd_encode(m: &ModelArgs, a: &EncodeArgs) -> Result<()> {
    let start = Instant::now();
    let format = a.format.unwrap_or_else(|| OutputFormat::from_path(a.output.as_deref()));
    if a.with_text && format != OutputFormat::Jsonl {
        return Err(CliError::usage("--with-text needs --format jsonl"));
    }
    if let (Some(i), Some(o)) = (&a.input, &a.output) {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(mi), Ok(mo)) = (std::fs::metadata(i), std::fs::metadata(o)) {
            if i.as_os_str() != "-" && o.as_os_str() != "-" && (mi.dev(), mi.ino()) == (mo.dev(), mo.ino()) {
                return Err(CliError::usage(format!("{} is both INPUT and OUTPUT", i.display())));
            }
        }
    }
    let mut reader = open_input(a.input.as_deref(), &a.input_args)?;
    let (enc, dir) = open_encoder(m)?;
    let dim = enc.dim();
    let mut writer = EmbeddingWriter::create(a.output.as_deref(), format, dim, a.with_text)?;
    let mut progress = Progress::new(reader.size(), m.quiet);
    let mut records = Vec::new();
    let mut vectors = Vec::new();
    let mut totals = EncodeStats::default();
    loop {
        reader.read_chunk(a.input_args.chunk, &mut records)?;
        if records.is_empty() {
            break;
        }
        let stats = encode_records(&enc, &records, reader.name(), &mut vectors)?;
        totals.tokens += stats.tokens;
        totals.truncated += stats.truncated;
        writer.write_rows(&vectors, &records)?;
        let more = records.len() == a.input_args.chunk;
        progress.update(reader.bytes_read(), writer.rows(), more);
    }
    progress.finish();
    let rows = writer.rows();
    let out_name = writer.name().to_owned();
    writer.finish()?;
    if m.verbose {
        let secs = start.elapsed().as_secs_f64();
        eprintln!(
            "kse: encoded {rows} sentences from {} to {out_name} ({} [{rows}, {dim}]) with {} ({}): {} tokens, {} truncated, {secs:.2} s ({:.0} sentences/s)",
            reader.name(),
            output::format_name(format),
            enc.manifest().name,
            dir.display(),
            totals.tokens,
            totals.truncated,
            rows as f64 / secs.max(1e-9),
        );
    }
    Ok(())
}

/// Cosine of two vectors, in f64.
pub(crate) fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let (mut dot, mut na, mut nb) = (0f64, 0f64, 0f64);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (x as f64, y as f64);
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    dot / (na.sqrt() * nb.sqrt())
}

fn cmd_similarity(m: &ModelArgs, a: &SimilarityArgs) -> Result<()> {
    let start = Instant::now();
    let (enc, dir) = open_encoder(m)?;
    let dim = enc.dim();
    let embed = |texts: &[String], group: &str| -> Result<(Vec<f32>, EncodeStats)> {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let mut out = vec![0f32; refs.len() * dim];
        let stats = encode_labeled(&enc, &refs, &mut out, |i| format!("{group} {}", i + 1))?;
        Ok((out, stats))
    };
    let (rows, s1) = embed(&a.sentences, "sentence")?;
    let (cols, s2, m_cols) = if a.against.is_empty() {
        (rows.clone(), EncodeStats::default(), a.sentences.len())
    } else {
        let (v, s) = embed(&a.against, "--against sentence")?;
        (v, s, a.against.len())
    };
    let mut out = std::io::stdout().lock();
    let io_err = |e| CliError::io("cannot write <stdout>", e);
    for i in 0..a.sentences.len() {
        let mut line = String::from("[");
        for j in 0..m_cols {
            let c = cosine(&rows[i * dim..(i + 1) * dim], &cols[j * dim..(j + 1) * dim]);
            if j > 0 {
                line.push(' ');
            }
            line.push_str(&format!("{c:11.8}"));
        }
        line.push(']');
        writeln!(out, "{line}").map_err(io_err)?;
    }
    out.flush().map_err(io_err)?;
    if m.verbose {
        eprintln!(
            "kse: {} x {m_cols} cosine matrix with {} ({}, {dim}-d): {} tokens, {} truncated, {:.2} s",
            a.sentences.len(),
            enc.manifest().name,
            dir.display(),
            s1.tokens + s2.tokens,
            s1.truncated + s2.truncated,
            start.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
