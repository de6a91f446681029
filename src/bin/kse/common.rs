//! What the subcommands share: opening the model, embedding with errors that
//! name the input line, opening an input file, the cosine.

use std::path::Path;

use kse::{EncodeStats, Encoder, EncoderOptions, ErrorKind, ModelSource, Truncation};

use crate::cli::{InputArgs, LongPolicy, ModelArgs};
use crate::error::{CliError, Exit, Result};
use crate::input::{ColumnChoice, InputFormat, Record, SentenceReader};

/// The model: `--model` (a directory, or a shipped model's name), else the
/// library's default model (`$KSE_MODEL_DIR`, else the build or installed
/// tree the program sits in).
pub(crate) fn model_source(args: &ModelArgs) -> Result<ModelSource> {
    kse::default_model::resolve(args.model.as_deref()).map_err(|e| {
        let advice = if args.model.is_none() { "; pass --model DIR" } else { "" };
        CliError::new(Exit::Runtime, format!("{}{advice}", e.message()))
    })
}

pub(crate) fn open_encoder(args: &ModelArgs) -> Result<(Encoder, ModelSource)> {
    let dir = model_source(args)?;
    let mut options = EncoderOptions::new(dir.clone());
    options.intra_threads = args.threads;
    options.batch_tokens = args.batch_tokens;
    options.truncation = match (args.long, args.no_truncate) {
        (LongPolicy::Truncate, false) => Truncation::Truncate,
        (LongPolicy::Error, _) | (LongPolicy::Truncate, true) => Truncation::Error,
        (LongPolicy::Window, false) => Truncation::Window,
        (LongPolicy::Window, true) => return Err(CliError::usage("--no-truncate contradicts --long window")),
    };
    options.window_overlap = args.window_overlap;
    let encoder = Encoder::new(options).map_err(|e| {
        let about_model = !matches!(e.kind(), ErrorKind::RuntimeUnavailable);
        let mut e = CliError::from_kse(e);
        let shown = dir.to_string();
        if about_model && !e.message.contains(&shown) {
            e.message = format!("model {shown}: {}", e.message);
        }
        e
    })?;
    Ok((encoder, dir))
}

/// Embeds `texts` into `out`. A sentence the library rejects (too long
/// under `--long error`, or refused by the tokenizer) is named by `label(i)`.
pub(crate) fn encode_labeled(enc: &Encoder, texts: &[&str], out: &mut [f32], label: impl Fn(usize) -> String) -> Result<EncodeStats> {
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
pub(crate) fn encode_records(enc: &Encoder, records: &[Record], file: &str, out: &mut Vec<f32>) -> Result<EncodeStats> {
    out.clear();
    out.resize(records.len() * enc.dim(), 0.0);
    let texts: Vec<&str> = records.iter().map(|r| r.text.as_str()).collect();
    encode_labeled(enc, &texts, out, |i| format!("{file}:{}", records[i].line))
}

pub(crate) fn open_input(path: Option<&Path>, args: &InputArgs) -> Result<SentenceReader> {
    let format = args.input_format.unwrap_or_else(|| InputFormat::from_path(path.filter(|p| p.as_os_str() != "-")));
    let choice = ColumnChoice { column: args.column.clone(), no_header: args.no_header };
    if args.no_header && !matches!(format, InputFormat::Tsv | InputFormat::Csv) {
        return Err(CliError::usage("--no-header applies to tsv and csv input only"));
    }
    SentenceReader::open(path, format, &choice)
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
