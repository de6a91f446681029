//! `kse similarity`: cosine matrices of sentences given on the command line.

use std::io::Write;
use std::time::Instant;

use kse::EncodeStats;

use crate::cli::{ModelArgs, SimilarityArgs};
use crate::common::{cosine, encode_labeled, open_encoder};
use crate::error::{CliError, Result};

pub(crate) fn run(m: &ModelArgs, a: &SimilarityArgs) -> Result<()> {
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
            dir,
            s1.tokens + s2.tokens,
            s1.truncated + s2.truncated,
            start.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
