//! Sentence input: one sentence per line, a column of a TSV (split on tabs,
//! no quoting) or CSV (RFC 4180, quoted) file, or a string field of a JSONL
//! file, read from a file or standard input in a stream of [`Record`]s.
//!
//! Every record keeps the line it starts on, so errors and search results
//! can name `FILE:LINE`.

use std::cell::Cell;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::rc::Rc;

use clap::ValueEnum;

use crate::error::{CliError, Exit, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InputFormat {
    /// One sentence per line (a blank line is an empty sentence).
    Lines,
    /// Tab-separated fields, split on every tab (no quoting).
    Tsv,
    /// RFC 4180 comma-separated values (quoted fields may hold commas and newlines).
    Csv,
    /// One JSON object per line; the sentence is a string field.
    Jsonl,
}

impl InputFormat {
    /// The format a file name suggests (`.tsv`, `.csv`, `.jsonl`/`.ndjson`), else lines.
    pub fn from_path(path: Option<&Path>) -> InputFormat {
        let ext = path.and_then(|p| p.extension()).and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("tsv") => InputFormat::Tsv,
            Some("csv") => InputFormat::Csv,
            Some("jsonl") | Some("ndjson") => InputFormat::Jsonl,
            _ => InputFormat::Lines,
        }
    }
}

/// One sentence and the (1-based) line it starts on.
#[derive(Debug, Clone)]
pub struct Record {
    pub line: u64,
    pub text: String,
}

/// How the sentence column is chosen (`--column`, `--no-header`).
#[derive(Debug, Clone, Default)]
pub struct ColumnChoice {
    pub column: Option<String>,
    pub no_header: bool,
}

/// Counts the bytes read through it, for the progress bar.
struct Counting<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

type Stream = BufReader<Counting<Box<dyn Read>>>;

enum Parser {
    Lines,
    Tsv { column: usize, fields: Option<usize> },
    Csv { reader: Box<csv::Reader<Counting<Box<dyn Read>>>>, column: usize, record: csv::ByteRecord },
    Jsonl { key: Option<JsonKey> },
}

#[derive(Debug, Clone)]
enum JsonKey {
    Field(String),
    Index(usize),
}

/// A stream of sentences from one input.
pub struct SentenceReader {
    name: String,
    size: Option<u64>,
    bytes: Rc<Cell<u64>>,
    /// Line-oriented formats read from here; CSV owns its own reader.
    lines: Option<Stream>,
    parser: Parser,
    line_no: u64,
    buf: Vec<u8>,
}

impl SentenceReader {
    /// Opens `path` (`None` or `-`: standard input) and prepares to read
    /// the chosen column: reads the header row of TSV/CSV here.
    pub fn open(path: Option<&Path>, format: InputFormat, choice: &ColumnChoice) -> Result<SentenceReader> {
        let (name, size, raw): (String, Option<u64>, Box<dyn Read>) = match path {
            None => ("<stdin>".to_owned(), None, Box::new(io::stdin())),
            Some(p) if p.as_os_str() == "-" => ("<stdin>".to_owned(), None, Box::new(io::stdin())),
            Some(p) => {
                let name = p.display().to_string();
                let file = File::open(p).map_err(|e| CliError::io(format!("cannot open {name}"), e))?;
                let size = file.metadata().ok().filter(|m| m.is_file()).map(|m| m.len());
                (name, size, Box::new(file))
            }
        };
        let bytes = Rc::new(Cell::new(0));
        let counting = Counting { inner: raw, count: bytes.clone() };
        let mut reader = SentenceReader { name, size, bytes, lines: None, parser: Parser::Lines, line_no: 0, buf: Vec::new() };
        match format {
            InputFormat::Lines => {
                if choice.column.is_some() {
                    return Err(CliError::usage("--column needs --input-format tsv, csv or jsonl"));
                }
                reader.lines = Some(BufReader::with_capacity(1 << 16, counting));
            }
            InputFormat::Tsv => {
                reader.lines = Some(BufReader::with_capacity(1 << 16, counting));
                reader.init_tsv(choice)?;
            }
            InputFormat::Csv => reader.init_csv(counting, choice)?,
            InputFormat::Jsonl => {
                if choice.no_header {
                    return Err(CliError::usage("--no-header applies to tsv and csv input only"));
                }
                reader.lines = Some(BufReader::with_capacity(1 << 16, counting));
                let key = choice.column.as_ref().map(|c| match c.parse::<usize>() {
                    Ok(i) => JsonKey::Index(i),
                    Err(_) => JsonKey::Field(c.clone()),
                });
                reader.parser = Parser::Jsonl { key };
            }
        }
        Ok(reader)
    }

    /// The input's name for messages: the path, or `<stdin>`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The input's size in bytes, when it is a regular file.
    pub fn size(&self) -> Option<u64> {
        self.size
    }

    /// Bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes.get()
    }

    /// Reads the next physical line (without `\n` or `\r\n`) as UTF-8; `None` at the end.
    fn next_line(&mut self) -> Result<Option<String>> {
        let stream = self.lines.as_mut().expect("line-oriented input");
        self.buf.clear();
        let n = stream.read_until(b'\n', &mut self.buf).map_err(|e| CliError::io(format!("cannot read {}", self.name), e))?;
        if n == 0 {
            return Ok(None);
        }
        self.line_no += 1;
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
            if self.buf.last() == Some(&b'\r') {
                self.buf.pop();
            }
        }
        let mut bytes = std::mem::take(&mut self.buf);
        if self.line_no == 1 && bytes.starts_with(b"\xEF\xBB\xBF") {
            bytes.drain(..3);
        }
        match String::from_utf8(bytes) {
            Ok(s) => Ok(Some(s)),
            Err(e) => Err(CliError::input(
                &self.name,
                self.line_no,
                format!("invalid UTF-8 at byte {} of the line", e.utf8_error().valid_up_to() + 1),
            )),
        }
    }

    fn init_tsv(&mut self, choice: &ColumnChoice) -> Result<()> {
        if choice.no_header {
            self.parser = Parser::Tsv { column: column_by_index(choice)?, fields: None };
            return Ok(());
        }
        let header = match self.next_line()? {
            Some(h) => h,
            // An empty file: no header, no sentences.
            None => {
                self.parser = Parser::Tsv { column: 0, fields: None };
                return Ok(());
            }
        };
        let names: Vec<&str> = header.split('\t').collect();
        let column = column_by_name(choice, &names, &self.name)?;
        self.parser = Parser::Tsv { column, fields: Some(names.len()) };
        Ok(())
    }

    fn init_csv(&mut self, counting: Counting<Box<dyn Read>>, choice: &ColumnChoice) -> Result<()> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(!choice.no_header)
            .flexible(false)
            .buffer_capacity(1 << 16)
            .from_reader(counting);
        let column = if choice.no_header {
            column_by_index(choice)?
        } else {
            let header = reader.byte_headers().map_err(|e| csv_error(&self.name, e))?.clone();
            if header.is_empty() {
                0 // an empty file
            } else {
                let names = header
                    .iter()
                    .map(|f| std::str::from_utf8(f).map_err(|_| CliError::input(&self.name, 1, "invalid UTF-8 in the header")))
                    .collect::<Result<Vec<&str>>>()?;
                let names: Vec<&str> = names
                    .into_iter()
                    .enumerate()
                    .map(|(i, n)| if i == 0 { n.trim_start_matches('\u{feff}') } else { n })
                    .collect();
                column_by_name(choice, &names, &self.name)?
            }
        };
        self.parser = Parser::Csv { reader: Box::new(reader), column, record: csv::ByteRecord::new() };
        Ok(())
    }

    /// The next sentence, or `None` at the end of the input.
    pub fn next_record(&mut self) -> Result<Option<Record>> {
        loop {
            match &mut self.parser {
                Parser::Lines => {
                    return Ok(self.next_line()?.map(|text| Record { line: self.line_no, text }));
                }
                Parser::Tsv { .. } => {
                    let Some(line) = self.next_line()? else { return Ok(None) };
                    let Parser::Tsv { column, fields } = &mut self.parser else { unreachable!() };
                    let count = line.split('\t').count();
                    // Blank lines are skipped in multi-column files (as CSV readers do).
                    if line.is_empty() && fields.is_none_or(|f| f > 1) {
                        continue;
                    }
                    let expected = *fields.get_or_insert(count);
                    if count != expected {
                        return Err(CliError::input(
                            &self.name,
                            self.line_no,
                            format!("expected {expected} tab-separated fields, found {count}"),
                        ));
                    }
                    if *column >= count {
                        return Err(CliError::input(
                            &self.name,
                            self.line_no,
                            format!("no column {} (the line has {count} fields; columns count from 0)", column),
                        ));
                    }
                    let text = line.split('\t').nth(*column).unwrap_or_default().to_owned();
                    return Ok(Some(Record { line: self.line_no, text }));
                }
                Parser::Csv { reader, column, record } => {
                    let more = reader.read_byte_record(record).map_err(|e| csv_error(&self.name, e))?;
                    if !more {
                        return Ok(None);
                    }
                    let line = record.position().map_or(0, |p| p.line());
                    if *column >= record.len() {
                        return Err(CliError::input(
                            &self.name,
                            line,
                            format!("no column {column} (the record has {} fields; columns count from 0)", record.len()),
                        ));
                    }
                    for (i, field) in record.iter().enumerate() {
                        if let Err(e) = std::str::from_utf8(field) {
                            return Err(CliError::input(
                                &self.name,
                                line,
                                format!("invalid UTF-8 in field {i} at byte {}", e.valid_up_to() + 1),
                            ));
                        }
                    }
                    let text = String::from_utf8(record[*column].to_vec()).expect("checked above");
                    return Ok(Some(Record { line, text }));
                }
                Parser::Jsonl { .. } => {
                    let Some(line) = self.next_line()? else { return Ok(None) };
                    if line.trim().is_empty() {
                        continue;
                    }
                    let line_no = self.line_no;
                    let Parser::Jsonl { key } = &mut self.parser else { unreachable!() };
                    let value: serde_json::Value = serde_json::from_str(&line)
                        .map_err(|e| CliError::input(&self.name, line_no, format!("invalid JSON: {e}")))?;
                    let text = json_text(&value, key).map_err(|m| CliError::input(&self.name, line_no, m))?;
                    return Ok(Some(Record { line: line_no, text }));
                }
            }
        }
    }

    /// Reads up to `n` sentences into `out` (cleared first).
    pub fn read_chunk(&mut self, n: usize, out: &mut Vec<Record>) -> Result<()> {
        out.clear();
        while out.len() < n {
            match self.next_record()? {
                Some(r) => out.push(r),
                None => break,
            }
        }
        Ok(())
    }
}

/// The sentence in one JSONL value. With no `--column`, the key is chosen on
/// the first object: `text`, else `sentence`; a bare JSON string is the
/// sentence itself.
fn json_text(value: &serde_json::Value, key: &mut Option<JsonKey>) -> std::result::Result<String, String> {
    use serde_json::Value;
    if key.is_none() {
        match value {
            Value::String(s) => return Ok(s.clone()),
            Value::Object(map) => {
                let k = ["text", "sentence"].into_iter().find(|k| map.contains_key(*k)).ok_or_else(|| {
                    let have: Vec<&str> = map.keys().map(String::as_str).collect();
                    format!("no field `text` or `sentence` (fields: {}); choose one with --column", have.join(", "))
                })?;
                *key = Some(JsonKey::Field(k.to_owned()));
            }
            _ => return Err("expected a JSON object or string".to_owned()),
        }
    }
    let found = match (key.as_ref().expect("set above"), value) {
        (JsonKey::Field(k), Value::Object(map)) => map.get(k).ok_or_else(|| format!("no field `{k}`"))?,
        (JsonKey::Index(i), Value::Array(items)) => {
            items.get(*i).ok_or_else(|| format!("no element {i} (the array has {})", items.len()))?
        }
        (JsonKey::Index(i), Value::Object(map)) => map.get(&i.to_string()).ok_or_else(|| format!("no field `{i}`"))?,
        (JsonKey::Field(k), _) => return Err(format!("expected a JSON object with field `{k}`")),
        (JsonKey::Index(i), _) => return Err(format!("expected a JSON array with element {i}")),
    };
    match found {
        Value::String(s) => Ok(s.clone()),
        other => Err(format!("the sentence must be a JSON string, found {}", json_kind(other))),
    }
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    use serde_json::Value;
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The column for a file with a header: `--column` as a name, else as a
/// 0-based index; without `--column`, `text`, `sentence`, or the only column.
fn column_by_name(choice: &ColumnChoice, names: &[&str], file: &str) -> Result<usize> {
    let list = || names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
    match &choice.column {
        Some(c) => {
            if let Some(i) = names.iter().position(|n| n == c) {
                return Ok(i);
            }
            match c.parse::<usize>() {
                Ok(i) if i < names.len() => Ok(i),
                Ok(i) => Err(CliError::input(file, 1, format!("no column {i}: the header has {} columns", names.len()))),
                Err(_) => Err(CliError::input(file, 1, format!("no column `{c}` in the header (columns: {})", list()))),
            }
        }
        None => {
            if let Some(i) = ["text", "sentence"].iter().find_map(|w| names.iter().position(|n| n == w)) {
                Ok(i)
            } else if names.len() == 1 {
                Ok(0)
            } else {
                Err(CliError::new(
                    Exit::Usage,
                    format!(
                        "{file}: {} columns and none named `text` or `sentence`; choose one with --column (columns: {})",
                        names.len(),
                        list()
                    ),
                ))
            }
        }
    }
}

/// The column for a file without a header: `--column` must be a 0-based index.
fn column_by_index(choice: &ColumnChoice) -> Result<usize> {
    match &choice.column {
        None => Ok(0),
        Some(c) => c
            .parse::<usize>()
            .map_err(|_| CliError::usage(format!("--column `{c}`: with --no-header, columns are chosen by 0-based index"))),
    }
}

fn csv_error(file: &str, e: csv::Error) -> CliError {
    let line = e.position().map(|p| p.line());
    match e.into_kind() {
        csv::ErrorKind::Io(io) => CliError::io(format!("cannot read {file}"), io),
        csv::ErrorKind::UnequalLengths { pos, expected_len, len } => CliError::input(
            file,
            pos.map_or(line.unwrap_or(0), |p| p.line()),
            format!("expected {expected_len} comma-separated fields, found {len}"),
        ),
        csv::ErrorKind::Utf8 { pos, err } => {
            CliError::input(file, pos.map_or(line.unwrap_or(0), |p| p.line()), format!("invalid UTF-8 in field {}", err.field()))
        }
        other => CliError::input(file, line.unwrap_or(0), format!("{other:?}")),
    }
}
