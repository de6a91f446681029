//! `kse chunk`: documents split into chunks at sentence ends, each embedded,
//! with its byte range (jsonl, or npy plus a tsv of ranges).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use kse::{Chunk, ChunkOptions};

use crate::cli::{ChunkArgs, ChunkFormat, ModelArgs};
use crate::common::open_encoder;
use crate::error::{CliError, Exit, Result};
use crate::input::Record;
use crate::output::{EmbeddingWriter, OutputFormat};

#[derive(Serialize)]
struct JsonChunk<'a> {
    file: &'a str,
    chunk: usize,
    start: usize,
    end: usize,
    tokens: usize,
    text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    embedding: Option<&'a [f32]>,
}

/// Output files written so far, removed unless `done` is called.
struct Written(Vec<PathBuf>);

impl Drop for Written {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

fn read_document(path: &Path) -> Result<(String, String)> {
    let name = path.display().to_string();
    let mut bytes = Vec::new();
    let read = if path.as_os_str() == "-" {
        std::io::stdin().lock().read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path).and_then(|mut f| f.read_to_end(&mut bytes))
    };
    read.map_err(|e| CliError::io(format!("cannot read {name}"), e))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        CliError::new(Exit::Input, format!("{name}: not valid UTF-8 (invalid byte at offset {})", e.utf8_error().valid_up_to()))
    })?;
    Ok((if name == "-" { "<stdin>".to_owned() } else { name }, text))
}

pub(crate) fn run(m: &ModelArgs, a: &ChunkArgs) -> Result<()> {
    let output = a.output.as_deref().filter(|p| p.as_os_str() != "-");
    let format = a.format.unwrap_or(match output {
        Some(p) if p.extension().is_some_and(|e| e == "npy") => ChunkFormat::Npy,
        _ => ChunkFormat::Jsonl,
    });
    let offsets_path = match (format, output) {
        (ChunkFormat::Npy, None) => return Err(CliError::usage("--format npy needs -o FILE.npy (the ranges go beside it)")),
        (ChunkFormat::Npy, Some(_)) if a.no_embeddings => return Err(CliError::usage("--no-embeddings needs --format jsonl")),
        (ChunkFormat::Npy, Some(o)) => Some(a.offsets.clone().unwrap_or_else(|| o.with_extension("offsets.tsv"))),
        (ChunkFormat::Jsonl, _) if a.offsets.is_some() => return Err(CliError::usage("--offsets applies to --format npy")),
        (ChunkFormat::Jsonl, _) => None,
    };
    let (enc, _) = open_encoder(m)?;
    let options = ChunkOptions { tokens: a.tokens, overlap: a.overlap };
    let mut written = Written(Vec::new());
    let mut npy = None;
    let mut tsv = None;
    let mut jsonl: Option<Box<dyn Write>> = None;
    match (&offsets_path, output) {
        (Some(off), Some(o)) => {
            npy = Some(EmbeddingWriter::create(Some(o), OutputFormat::Npy, enc.dim(), false)?);
            written.0.push(o.to_path_buf());
            let f = std::fs::File::create(off).map_err(|e| CliError::io(format!("cannot create {}", off.display()), e))?;
            written.0.push(off.clone());
            let mut w = std::io::BufWriter::new(f);
            writeln!(w, "row\tfile\tchunk\tstart\tend\ttokens").map_err(|e| CliError::io(off.display(), e))?;
            tsv = Some(w);
        }
        (None, Some(o)) => {
            let f = std::fs::File::create(o).map_err(|e| CliError::io(format!("cannot create {}", o.display()), e))?;
            written.0.push(o.to_path_buf());
            jsonl = Some(Box::new(std::io::BufWriter::new(f)));
        }
        (_, None) => jsonl = Some(Box::new(std::io::BufWriter::new(std::io::stdout().lock()))),
    }
    let out_name = output.map_or("<stdout>".to_owned(), |p| p.display().to_string());
    let write_err = |e: std::io::Error| CliError::io(format!("cannot write {out_name}"), e);
    let mut row = 0usize;
    let (mut documents, mut tokens) = (0usize, 0usize);
    for path in &a.files {
        let (name, text) = read_document(path)?;
        let (chunks, vectors): (Vec<Chunk>, Vec<f32>) = if a.no_embeddings {
            enc.chunks(&text, options).map(|c| (c, Vec::new()))
        } else {
            enc.encode_chunks(&text, options)
        }
        .map_err(|e| {
            let mut e = CliError::from_kse(e);
            e.message = format!("{name}: {}", e.message);
            e
        })?;
        let dim = enc.dim();
        if let Some(w) = &mut jsonl {
            for (i, c) in chunks.iter().enumerate() {
                let line = JsonChunk {
                    file: &name,
                    chunk: i,
                    start: c.start,
                    end: c.end,
                    tokens: c.tokens,
                    text: &text[c.start..c.end],
                    embedding: (!a.no_embeddings).then(|| &vectors[i * dim..(i + 1) * dim]),
                };
                serde_json::to_writer(&mut *w, &line).map_err(|e| write_err(e.into()))?;
                w.write_all(b"\n").map_err(write_err)?;
            }
        }
        if let (Some(n), Some(t)) = (&mut npy, &mut tsv) {
            let records: Vec<Record> = chunks.iter().map(|_| Record { line: 0, text: String::new() }).collect();
            n.write_rows(&vectors, &records)?;
            for (i, c) in chunks.iter().enumerate() {
                writeln!(t, "{}\t{name}\t{i}\t{}\t{}\t{}", row + i, c.start, c.end, c.tokens).map_err(write_err)?;
            }
        }
        row += chunks.len();
        documents += 1;
        tokens += chunks.iter().map(|c| c.tokens).sum::<usize>();
    }
    if let Some(mut w) = jsonl {
        w.flush().map_err(write_err)?;
    }
    if let Some(mut t) = tsv {
        t.flush().map_err(write_err)?;
    }
    if let Some(n) = npy {
        n.finish()?;
    }
    written.0.clear();
    if m.verbose {
        eprintln!("kse: {documents} documents, {row} chunks, {tokens} tokens, to {out_name}");
    }
    Ok(())
}
