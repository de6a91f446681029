//! `kse search`: brute-force cosine nearest neighbours of each query in a
//! corpus, streamed in chunks with a top-k heap per query.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::time::Instant;

use crate::error::{CliError, Exit, Result};
use crate::output::parse_npy_header;
use crate::progress::Progress;
use crate::cli::{ModelArgs, SearchArgs};
use crate::common::{cosine, encode_labeled, encode_records, open_encoder, open_input};

/// One candidate: better is a higher score, then an earlier row.
struct Hit {
    score: f64,
    row: u64,
    line: u64,
    text: String,
}

impl Hit {
    fn beats(&self, score: f64, row: u64) -> bool {
        self.key_cmp(score, row) == Ordering::Greater
    }

    fn key_cmp(&self, score: f64, row: u64) -> Ordering {
        self.score.total_cmp(&score).then(row.cmp(&self.row))
    }
}

impl PartialEq for Hit {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Hit {}
impl PartialOrd for Hit {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Hit {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key_cmp(other.score, other.row)
    }
}

/// Precomputed corpus embeddings, read row by row from a `.npy` file.
struct NpyRows {
    name: String,
    reader: BufReader<File>,
    rows: u64,
    dim: usize,
    read: u64,
}

impl NpyRows {
    fn open(path: &std::path::Path, dim: usize) -> Result<NpyRows> {
        let name = path.display().to_string();
        let file = File::open(path).map_err(|e| CliError::io(format!("cannot open {name}"), e))?;
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let (rows, npy_dim, _) = parse_npy_header(&mut reader).map_err(|m| CliError::new(Exit::Input, format!("{name}: {m}")))?;
        if npy_dim != dim {
            return Err(CliError::new(
                Exit::Input,
                format!("{name}: embeddings are {npy_dim}-d, but the model gives {dim}-d: make them with the same model"),
            ));
        }
        Ok(NpyRows { name, reader, rows, dim, read: 0 })
    }

    /// Reads the next `n` rows into `out`.
    fn read(&mut self, n: usize, corpus: &str, out: &mut Vec<f32>) -> Result<()> {
        if self.read + n as u64 > self.rows {
            return Err(CliError::new(
                Exit::Input,
                format!("{corpus} has more sentences than {} has rows ({})", self.name, self.rows),
            ));
        }
        let mut bytes = vec![0u8; n * self.dim * 4];
        self.reader.read_exact(&mut bytes).map_err(|e| CliError::io(format!("cannot read {}", self.name), e))?;
        out.clear();
        out.extend(bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])));
        self.read += n as u64;
        Ok(())
    }
}

pub fn run(m: &ModelArgs, a: &SearchArgs) -> Result<()> {
    let start = Instant::now();
    let mut reader = open_input(Some(&a.corpus), &a.input_args)?;
    let (enc, dir) = open_encoder(m)?;
    let dim = enc.dim();
    let mut npy = a.corpus_embeddings.as_deref().map(|p| NpyRows::open(p, dim)).transpose()?;

    let queries: Vec<&str> = a.query.iter().map(String::as_str).collect();
    let mut qv = vec![0f32; queries.len() * dim];
    encode_labeled(&enc, &queries, &mut qv, |i| format!("query {}", i + 1))?;

    let mut heaps: Vec<BinaryHeap<Reverse<Hit>>> = (0..queries.len()).map(|_| BinaryHeap::with_capacity(a.top_k + 1)).collect();
    let mut progress = Progress::new(reader.size(), m.quiet);
    let mut records = Vec::new();
    let mut vectors = Vec::new();
    let mut row0 = 0u64;
    let mut tokens = 0;
    loop {
        reader.read_chunk(a.input_args.chunk, &mut records)?;
        if records.is_empty() {
            break;
        }
        match &mut npy {
            Some(rows) => rows.read(records.len(), reader.name(), &mut vectors)?,
            None => tokens += encode_records(&enc, &records, reader.name(), &mut vectors)?.tokens,
        }
        for (q, heap) in heaps.iter_mut().enumerate() {
            let query = &qv[q * dim..(q + 1) * dim];
            for (i, rec) in records.iter().enumerate() {
                let score = cosine(query, &vectors[i * dim..(i + 1) * dim]);
                let row = row0 + i as u64;
                let keep = heap.len() < a.top_k || heap.peek().is_some_and(|Reverse(worst)| !worst.beats(score, row));
                if keep {
                    heap.push(Reverse(Hit { score, row, line: rec.line, text: rec.text.clone() }));
                    if heap.len() > a.top_k {
                        heap.pop();
                    }
                }
            }
        }
        row0 += records.len() as u64;
        progress.update(reader.bytes_read(), row0, records.len() == a.input_args.chunk);
    }
    progress.finish();
    if let Some(rows) = &npy {
        if rows.read != rows.rows {
            return Err(CliError::new(
                Exit::Input,
                format!("{} has {} rows, but {} has {} sentences", rows.name, rows.rows, reader.name(), rows.read),
            ));
        }
    }

    let mut out = std::io::stdout().lock();
    let io_err = |e| CliError::io("cannot write <stdout>", e);
    for (q, heap) in heaps.into_iter().enumerate() {
        if queries.len() > 1 {
            if q > 0 {
                writeln!(out).map_err(io_err)?;
            }
            writeln!(out, "# query {}: {}", q + 1, escape(queries[q])).map_err(io_err)?;
        }
        let hits = heap.into_sorted_vec(); // ascending Reverse = best first
        for (rank, Reverse(h)) in hits.into_iter().enumerate() {
            writeln!(out, "{}\t{:.6}\t{}\t{}", rank + 1, h.score, h.line, escape(&h.text)).map_err(io_err)?;
        }
    }
    out.flush().map_err(io_err)?;
    if m.verbose {
        eprintln!(
            "kse: searched {row0} sentences of {} for {} queries with {} ({}){}: {:.2} s",
            reader.name(),
            queries.len(),
            enc.manifest().name,
            dir,
            if npy.is_some() { ", embeddings from --corpus-embeddings".to_owned() } else { format!(", {tokens} corpus tokens") },
            start.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// Keeps one result per line: tabs, newlines and carriage returns as `\t`, `\n`, `\r`.
fn escape(s: &str) -> String {
    if !s.contains(['\t', '\n', '\r']) {
        return s.to_owned();
    }
    s.replace('\t', "\\t").replace('\n', "\\n").replace('\r', "\\r")
}
