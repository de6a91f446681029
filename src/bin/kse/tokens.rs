//! `kse tokens`: how many tokens the model sees for each sentence.

use std::io::Write;

use crate::cli::{ModelArgs, TokensArgs};
use crate::common::{open_encoder, open_input};
use crate::error::{CliError, Exit, Result};

pub(crate) fn run(m: &ModelArgs, a: &TokensArgs) -> Result<()> {
    let mut reader = open_input(a.input.as_deref(), &a.input_args)?;
    let (enc, dir) = open_encoder(m)?;
    let max = enc.manifest().max_tokens;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut records = Vec::new();
    let (mut rows, mut total, mut over) = (0u64, 0u64, 0u64);
    loop {
        reader.read_chunk(a.input_args.chunk, &mut records)?;
        if records.is_empty() {
            break;
        }
        for r in &records {
            let n = enc
                .count_tokens(&r.text)
                .map_err(|e| CliError::new(Exit::Input, format!("{}:{}: {}", reader.name(), r.line, e.message())))?;
            writeln!(out, "{n}").map_err(|e| CliError::io("cannot write to stdout", e))?;
            rows += 1;
            total += n as u64;
            over += (n > max) as u64;
        }
    }
    out.flush().map_err(|e| CliError::io("cannot write to stdout", e))?;
    if m.verbose {
        eprintln!(
            "kse: {rows} sentences from {}, {total} tokens, {over} over the {max} max tokens of {} ({dir})",
            reader.name(),
            enc.manifest().name
        );
    }
    Ok(())
}
