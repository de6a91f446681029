//! Embedding output: `.npy` (float32, little-endian, `[n, dim]`), JSON lines,
//! or raw little-endian float32 rows, written as the chunks arrive.
//!
//! The `.npy` format (numpy's `NEP 1`): the magic `\x93NUMPY`, version 1.0,
//! a little-endian u16 header length, then a Python dict literal padded with
//! spaces to a multiple of 64 bytes and ending in `\n`, then the data in C
//! order. The row count is not known while streaming, so the header has a
//! fixed size ([`NPY_HEADER_LEN`]) and is rewritten with the final shape at
//! the end: that needs a seekable output. Standard output that is not a
//! regular file (a pipe) gets the array from memory, up to
//! [`NPY_PIPE_LIMIT`] bytes.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Seek, SeekFrom, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use clap::ValueEnum;
use serde::Serialize;

use crate::error::{CliError, Exit, Result};
use crate::input::Record;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// numpy `.npy`: float32 little-endian, shape [n, dim] (numpy.load reads it).
    Npy,
    /// One JSON object per line: {"index": i, "embedding": [...]}.
    Jsonl,
    /// Raw little-endian float32, n x dim, no header.
    F32,
}

impl OutputFormat {
    /// The format a file name suggests: `.jsonl`/`.ndjson`, `.f32`/`.bin`, else npy.
    pub fn from_path(path: Option<&Path>) -> OutputFormat {
        let ext = path.and_then(|p| p.extension()).and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("jsonl") | Some("ndjson") => OutputFormat::Jsonl,
            Some("f32") | Some("bin") | Some("raw") => OutputFormat::F32,
            _ => OutputFormat::Npy,
        }
    }
}

/// Total size of the `.npy` header this program writes (a multiple of 64).
pub const NPY_HEADER_LEN: usize = 128;
/// Most bytes of `.npy` data held in memory for a non-seekable output.
pub const NPY_PIPE_LIMIT: usize = 256 << 20;

/// The `.npy` header for a float32 `[rows, dim]` array, exactly [`NPY_HEADER_LEN`] bytes.
pub fn npy_header(rows: u64, dim: usize) -> Vec<u8> {
    let dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {dim}), }}");
    let mut out = Vec::with_capacity(NPY_HEADER_LEN);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&((NPY_HEADER_LEN - 10) as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.resize(NPY_HEADER_LEN - 1, b' ');
    out.push(b'\n');
    debug_assert_eq!(out.len(), NPY_HEADER_LEN);
    out
}

/// Parses a `.npy` header of a little-endian float32, C-order, 2-D array;
/// returns `(rows, dim, header bytes)`.
pub fn parse_npy_header(r: &mut impl io::Read) -> std::result::Result<(u64, usize, usize), String> {
    let mut pre = [0u8; 8];
    r.read_exact(&mut pre).map_err(|e| format!("cannot read the header: {e}"))?;
    if &pre[..6] != b"\x93NUMPY" {
        return Err("not a .npy file (no \\x93NUMPY magic)".to_owned());
    }
    let (len_bytes, prefix) = match pre[6] {
        1 => (2, 10),
        2 | 3 => (4, 12),
        v => return Err(format!("unsupported .npy version {v}")),
    };
    let mut len = [0u8; 4];
    r.read_exact(&mut len[..len_bytes]).map_err(|e| format!("cannot read the header: {e}"))?;
    let len = u32::from_le_bytes(len) as usize;
    let mut dict = vec![0u8; len];
    r.read_exact(&mut dict).map_err(|e| format!("cannot read the header: {e}"))?;
    let dict = String::from_utf8_lossy(&dict);
    let compact: String = dict.chars().filter(|c| !c.is_whitespace()).collect();
    let field = |name: &str| -> Option<&str> {
        let start = compact.find(&format!("'{name}':"))? + name.len() + 3;
        Some(&compact[start..])
    };
    let descr = field("descr").ok_or("header has no 'descr'")?;
    if !(descr.starts_with("'<f4'") || descr.starts_with("'float32'")) {
        return Err(format!("data type is {} (need little-endian float32 '<f4')", descr.split(',').next().unwrap_or("")));
    }
    if !field("fortran_order").ok_or("header has no 'fortran_order'")?.starts_with("False") {
        return Err("array is in Fortran order (need C order)".to_owned());
    }
    let shape = field("shape").ok_or("header has no 'shape'")?;
    let inner = shape.strip_prefix('(').and_then(|s| s.split(')').next()).ok_or("bad 'shape'")?;
    let dims: Vec<u64> = inner
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<u64>().map_err(|_| format!("bad 'shape' ({inner})")))
        .collect::<std::result::Result<_, _>>()?;
    match dims[..] {
        [rows, dim] => Ok((rows, dim as usize, prefix + len)),
        _ => Err(format!("array has shape ({inner}); need 2 dimensions [n, dim]")),
    }
}

/// Where the bytes go.
enum Target {
    /// A seekable file (an `-o` file, or standard output redirected to a
    /// regular file); `start` is where the output began.
    File { w: BufWriter<File>, start: u64 },
    /// Standard output that cannot seek.
    Stdout(BufWriter<io::Stdout>),
}

impl Target {
    fn write_all(&mut self, b: &[u8]) -> io::Result<()> {
        match self {
            Target::File { w, .. } => w.write_all(b),
            Target::Stdout(w) => w.write_all(b),
        }
    }
}

/// Writes embeddings, chunk by chunk, in one format.
pub struct EmbeddingWriter {
    format: OutputFormat,
    dim: usize,
    target: Target,
    /// An `-o` file, removed if writing fails.
    path: Option<PathBuf>,
    name: String,
    rows: u64,
    /// `.npy` for a non-seekable output: the data, held until the end.
    held: Option<Vec<u8>>,
    with_text: bool,
    scratch: Vec<u8>,
}

#[derive(Serialize)]
struct JsonRow<'a> {
    index: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
    embedding: &'a [f32],
}

impl EmbeddingWriter {
    /// Opens `path` (`None` or `-`: standard output). Binary formats are not
    /// written to a terminal.
    pub fn create(path: Option<&Path>, format: OutputFormat, dim: usize, with_text: bool) -> Result<EmbeddingWriter> {
        let path = path.filter(|p| p.as_os_str() != "-");
        let (target, name) = match path {
            Some(p) => {
                let name = p.display().to_string();
                let file = File::create(p).map_err(|e| CliError::io(format!("cannot create {name}"), e))?;
                (Target::File { w: BufWriter::with_capacity(1 << 20, file), start: 0 }, name)
            }
            None => {
                let stdout = io::stdout();
                if format != OutputFormat::Jsonl && stdout.is_terminal() {
                    return Err(CliError::usage(format!(
                        "will not write binary {} to a terminal: use -o FILE, a pipe, or --format jsonl",
                        format_name(format)
                    )));
                }
                let target = match seekable_stdout() {
                    Some((file, start)) => Target::File { w: BufWriter::with_capacity(1 << 20, file), start },
                    None => Target::Stdout(BufWriter::with_capacity(1 << 20, stdout)),
                };
                (target, "<stdout>".to_owned())
            }
        };
        let held = (format == OutputFormat::Npy && matches!(target, Target::Stdout(_))).then(Vec::new);
        let mut w = EmbeddingWriter {
            format,
            dim,
            target,
            path: path.map(Path::to_path_buf),
            name,
            rows: 0,
            held,
            with_text,
            scratch: Vec::new(),
        };
        if format == OutputFormat::Npy && w.held.is_none() {
            let header = npy_header(0, dim);
            w.write(&header)?;
        }
        Ok(w)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        let name = &self.name;
        self.target.write_all(bytes).map_err(|e| CliError::io(format!("cannot write {name}"), e))
    }

    /// Appends one chunk: `records.len()` rows of `dim` floats.
    pub fn write_rows(&mut self, rows: &[f32], records: &[Record]) -> Result<()> {
        debug_assert_eq!(rows.len(), records.len() * self.dim);
        match self.format {
            OutputFormat::Npy | OutputFormat::F32 => {
                let mut bytes = std::mem::take(&mut self.scratch);
                bytes.clear();
                bytes.reserve(rows.len() * 4);
                for x in rows {
                    bytes.extend_from_slice(&x.to_le_bytes());
                }
                if let Some(held) = &mut self.held {
                    if held.len() + bytes.len() > NPY_PIPE_LIMIT {
                        return Err(CliError::new(
                            Exit::Io,
                            format!(
                                ".npy to a pipe is built in memory and limited to {} MiB ({} rows of {} floats so far): \
                                 write to a file with -o FILE (or redirect to one), or use --format f32 or jsonl",
                                NPY_PIPE_LIMIT >> 20,
                                self.rows,
                                self.dim
                            ),
                        ));
                    }
                    held.extend_from_slice(&bytes);
                } else {
                    self.write(&bytes)?;
                }
                self.scratch = bytes;
            }
            OutputFormat::Jsonl => {
                let mut line = std::mem::take(&mut self.scratch);
                for (i, r) in records.iter().enumerate() {
                    line.clear();
                    let row = JsonRow {
                        index: self.rows + i as u64,
                        line: self.with_text.then_some(r.line),
                        text: self.with_text.then_some(r.text.as_str()),
                        embedding: &rows[i * self.dim..(i + 1) * self.dim],
                    };
                    serde_json::to_writer(&mut line, &row).expect("serialising to memory");
                    line.push(b'\n');
                    self.write(&line)?;
                }
                self.scratch = line;
            }
        }
        self.rows += records.len() as u64;
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Writes the final `.npy` shape and flushes.
    pub fn finish(mut self) -> Result<()> {
        let name = self.name.clone();
        let io_err = |e| CliError::io(format!("cannot write {name}"), e);
        if self.format == OutputFormat::Npy {
            let header = npy_header(self.rows, self.dim);
            if let Some(held) = self.held.take() {
                self.write(&header)?;
                self.write(&held)?;
            } else if let Target::File { w, start } = &mut self.target {
                w.flush().map_err(io_err)?;
                let file = w.get_mut();
                let end = file.stream_position().map_err(io_err)?;
                file.seek(SeekFrom::Start(*start)).map_err(io_err)?;
                file.write_all(&header).map_err(io_err)?;
                file.seek(SeekFrom::Start(end)).map_err(io_err)?;
            }
        }
        match &mut self.target {
            Target::File { w, .. } => w.flush().map_err(io_err)?,
            Target::Stdout(w) => w.flush().map_err(io_err)?,
        }
        self.path = None;
        Ok(())
    }
}

impl Drop for EmbeddingWriter {
    /// An `-o` file that was not finished (an error stopped the run) is
    /// removed, so no half-written file looks like a result.
    fn drop(&mut self) {
        if let Some(p) = self.path.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

pub fn format_name(f: OutputFormat) -> &'static str {
    match f {
        OutputFormat::Npy => "npy",
        OutputFormat::Jsonl => "jsonl",
        OutputFormat::F32 => "f32",
    }
}

/// Standard output as a file, if it is a regular file opened without
/// `O_APPEND` (so the `.npy` header can be rewritten in place), with its
/// current position.
fn seekable_stdout() -> Option<(File, u64)> {
    let fd = io::stdout().as_fd().try_clone_to_owned().ok()?;
    let mut file = File::from(fd);
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    // SAFETY: F_GETFL only reads the descriptor's flags.
    let flags = unsafe { libc::fcntl(std::os::fd::AsRawFd::as_raw_fd(&file), libc::F_GETFL) };
    if flags < 0 || flags & libc::O_APPEND != 0 {
        return None;
    }
    let start = file.stream_position().ok()?;
    Some((file, start))
}
