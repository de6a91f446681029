//! `kse encode`: embeddings of a file's sentences (npy, jsonl, raw f32).

use std::time::Instant;

use kse::EncodeStats;

use crate::cli::{EncodeArgs, ModelArgs};
use crate::common::{encode_records, open_encoder, open_input};
use crate::error::{CliError, Result};
use crate::output::{self, EmbeddingWriter, OutputFormat};
use crate::progress::Progress;

pub(crate) fn run(m: &ModelArgs, a: &EncodeArgs) -> Result<()> {
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
        totals.windowed += stats.windowed;
        totals.windows += stats.windows;
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
            "kse: encoded {rows} sentences from {} to {out_name} ({} [{rows}, {dim}]) with {} ({}): {} tokens, {} truncated, {} in {} windows, {secs:.2} s ({:.0} sentences/s)",
            reader.name(),
            output::format_name(format),
            enc.manifest().name,
            dir,
            totals.tokens,
            totals.truncated,
            totals.windowed,
            totals.windows,
            rows as f64 / secs.max(1e-9),
        );
    }
    Ok(())
}
