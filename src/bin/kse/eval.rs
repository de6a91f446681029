//! `kse eval`: STS evaluation. Reads KorSTS TSV (split on tabs, no quoting)
//! or KLUE-style CSV (quoted), embeds both sentences of every pair, and
//! prints Spearman (average ranks for ties) and Pearson x 100 of the cosine
//! against the gold score.

use std::path::Path;
use std::time::Instant;

use clap::ValueEnum;

use crate::error::{CliError, Exit, Result};
use crate::cli::{EvalArgs, ModelArgs};
use crate::common::{cosine, encode_labeled, open_encoder};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EvalFormat {
    /// KorSTS: tab separated, header with score, sentence1, sentence2; no quoting.
    Korsts,
    /// KLUE STS as CSV: sentence1, sentence2, label (or labels); RFC 4180 quoting.
    Klue,
}

/// One sentence pair, its gold score and the line it starts on.
struct Pair {
    a: String,
    b: String,
    gold: f64,
    line: u64,
}

pub fn run(m: &ModelArgs, a: &EvalArgs) -> Result<()> {
    let name = a.file.display().to_string();
    let bytes = std::fs::read(&a.file).map_err(|e| CliError::io(format!("cannot read {name}"), e))?;
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let format = a.format.unwrap_or_else(|| detect(&a.file, bytes));
    let pairs = match format {
        EvalFormat::Korsts => read_korsts(&name, bytes)?,
        EvalFormat::Klue => read_klue(&name, bytes)?,
    };
    if pairs.is_empty() {
        return Err(CliError::new(Exit::Input, format!("{name}: no sentence pairs")));
    }

    let start = Instant::now();
    let (enc, dir) = open_encoder(m)?;
    let dim = enc.dim();
    let mut cos = Vec::with_capacity(pairs.len());
    let mut tokens = 0;
    let mut truncated = 0;
    // 1,024 pairs (2,048 sentences) per library call: memory stays bounded.
    let mut vectors = Vec::new();
    for chunk in pairs.chunks(1024) {
        let texts: Vec<&str> = chunk.iter().flat_map(|p| [p.a.as_str(), p.b.as_str()]).collect();
        vectors.clear();
        vectors.resize(texts.len() * dim, 0f32);
        let stats =
            encode_labeled(&enc, &texts, &mut vectors, |i| format!("{name}:{}: sentence{}", chunk[i / 2].line, 1 + i % 2))?;
        tokens += stats.tokens;
        truncated += stats.truncated;
        for k in 0..chunk.len() {
            cos.push(cosine(&vectors[2 * k * dim..(2 * k + 1) * dim], &vectors[(2 * k + 1) * dim..(2 * k + 2) * dim]));
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    let gold: Vec<f64> = pairs.iter().map(|p| p.gold).collect();
    let spearman = pearson(&ranks(&cos), &ranks(&gold));
    let pearson = pearson(&cos, &gold);
    let format_name = match format {
        EvalFormat::Korsts => "korsts",
        EvalFormat::Klue => "klue",
    };
    println!("model      {} ({})", enc.manifest().name, dir);
    println!("data       {name}: {} pairs ({format_name})", pairs.len());
    println!("spearman   {:.2}", 100.0 * spearman);
    println!("pearson    {:.2}", 100.0 * pearson);
    println!("time       {seconds:.1} s (load + encode {} sentences)", 2 * pairs.len());
    if m.verbose {
        eprintln!("kse: {tokens} tokens, {truncated} sentences truncated");
    }
    Ok(())
}

/// The format from the extension, else from the first line (tabs: KorSTS).
fn detect(path: &Path, bytes: &[u8]) -> EvalFormat {
    match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("tsv") => EvalFormat::Korsts,
        Some("csv") => EvalFormat::Klue,
        _ => {
            let first = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
            if first.contains(&b'\t') {
                EvalFormat::Korsts
            } else {
                EvalFormat::Klue
            }
        }
    }
}

fn column(file: &str, header: &[&str], names: &[&str]) -> Result<usize> {
    names.iter().find_map(|n| header.iter().position(|h| h == n)).ok_or_else(|| {
        CliError::input(file, 1, format!("the header has no column `{}` (columns: {})", names.join("` or `"), header.join(", ")))
    })
}

fn parse_score(file: &str, line: u64, s: &str) -> Result<f64> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
        .ok_or_else(|| CliError::input(file, line, format!("score `{s}` is not a number")))
}

/// KorSTS: every line split on `\t` (never a quote parser), the header's
/// field count on every line.
fn read_korsts(file: &str, bytes: &[u8]) -> Result<Vec<Pair>> {
    let mut lines = bytes.split(|&b| b == b'\n').enumerate().map(|(i, l)| (i as u64 + 1, l.strip_suffix(b"\r").unwrap_or(l)));
    let text = |no: u64, l: &[u8]| -> Result<String> {
        String::from_utf8(l.to_vec()).map_err(|e| {
            CliError::input(file, no, format!("invalid UTF-8 at byte {} of the line", e.utf8_error().valid_up_to() + 1))
        })
    };
    let Some((_, header)) = lines.next() else { return Ok(Vec::new()) };
    let header = text(1, header)?;
    let header: Vec<&str> = header.split('\t').collect();
    let score = column(file, &header, &["score"])?;
    let s1 = column(file, &header, &["sentence1"])?;
    let s2 = column(file, &header, &["sentence2"])?;
    let mut pairs = Vec::new();
    let mut rest: Vec<(u64, &[u8])> = lines.collect();
    // A final newline leaves one empty piece.
    if rest.last().is_some_and(|(_, l)| l.is_empty()) {
        rest.pop();
    }
    for (no, raw) in rest {
        let line = text(no, raw)?;
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() != header.len() {
            return Err(CliError::input(
                file,
                no,
                format!("expected {} tab-separated fields (as in the header), found {}", header.len(), fields.len()),
            ));
        }
        pairs.push(Pair {
            a: fields[s1].to_owned(),
            b: fields[s2].to_owned(),
            gold: parse_score(file, no, fields[score])?,
            line: no,
        });
    }
    Ok(pairs)
}

/// KLUE STS as CSV: `sentence1,sentence2,label` (or `labels`, a number or a
/// dict such as `{'label': 3.7, 'real-label': 3.71, 'binary-label': 1}`,
/// from which `real-label` is used, else `label`).
fn read_klue(file: &str, bytes: &[u8]) -> Result<Vec<Pair>> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(false).from_reader(bytes);
    let csv_err = |e: csv::Error| {
        let line = e.position().map_or(0, |p| p.line());
        match e.kind() {
            csv::ErrorKind::UnequalLengths { pos, expected_len, len } => CliError::input(
                file,
                pos.as_ref().map_or(line, |p| p.line()),
                format!("expected {expected_len} comma-separated fields (as in the header), found {len}"),
            ),
            csv::ErrorKind::Utf8 { pos, .. } => CliError::input(file, pos.as_ref().map_or(line, |p| p.line()), "invalid UTF-8"),
            other => CliError::input(file, line, format!("{other:?}")),
        }
    };
    let header = reader.headers().map_err(csv_err)?.clone();
    let header: Vec<&str> = header.iter().collect();
    let s1 = column(file, &header, &["sentence1"])?;
    let s2 = column(file, &header, &["sentence2"])?;
    let label = column(file, &header, &["label", "labels", "score"])?;
    let mut pairs = Vec::new();
    for record in reader.records() {
        let record = record.map_err(csv_err)?;
        let line = record.position().map_or(0, |p| p.line());
        let gold = klue_label(file, line, &record[label])?;
        pairs.push(Pair { a: record[s1].to_owned(), b: record[s2].to_owned(), gold, line });
    }
    Ok(pairs)
}

fn klue_label(file: &str, line: u64, s: &str) -> Result<f64> {
    if !s.trim_start().starts_with('{') {
        return parse_score(file, line, s);
    }
    let json: serde_json::Value = serde_json::from_str(&s.replace('\'', "\""))
        .map_err(|_| CliError::input(file, line, format!("label `{s}` is neither a number nor a dict")))?;
    ["real-label", "label"]
        .iter()
        .find_map(|k| json.get(k).and_then(serde_json::Value::as_f64))
        .ok_or_else(|| CliError::input(file, line, format!("label `{s}` has no numeric `real-label` or `label`")))
}

/// Ranks from 0, ties given their average rank.
fn ranks(x: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&i, &j| x[i].total_cmp(&x[j]));
    let mut r = vec![0f64; x.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && x[order[j + 1]] == x[order[i]] {
            j += 1;
        }
        for &k in &order[i..=j] {
            r[k] = (i + j) as f64 / 2.0;
        }
        i = j + 1;
    }
    r
}

fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0f64, 0f64, 0f64);
    for (&x, &y) in a.iter().zip(b) {
        let (dx, dy) = (x - ma, y - mb);
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
    }
    sab / (saa * sbb).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_average_ties() {
        assert_eq!(ranks(&[3.0, 1.0, 3.0, 2.0]), vec![2.5, 0.0, 2.5, 1.0]);
    }

    #[test]
    fn pearson_known_values() {
        assert!((pearson(&[1.0, 2.0, 3.0], &[2.0, 4.0, 6.0]) - 1.0).abs() < 1e-12);
        assert!((pearson(&[1.0, 2.0, 3.0], &[2.0, 4.0, 6.5]) - 0.997949).abs() < 1e-6);
        assert!((pearson(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
    }

    #[test]
    fn npy_header_round_trips() {
        let h = crate::output::npy_header(12345, 384);
        assert_eq!(h.len() % 64, 0);
        let (rows, dim, len) = crate::output::parse_npy_header(&mut &h[..]).unwrap();
        assert_eq!((rows, dim, len), (12345, 384, h.len()));
    }

    #[test]
    fn klue_labels() {
        assert_eq!(klue_label("f", 2, "3.5").unwrap(), 3.5);
        assert_eq!(klue_label("f", 2, "{'label': 3.7, 'real-label': 3.75, 'binary-label': 1}").unwrap(), 3.75);
        assert!(klue_label("f", 2, "x").is_err());
    }
}
