//! A small read-only scan of an ONNX file: how many rows the embedding table
//! that the token ids index has, so that a tokenizer whose ids the model
//! cannot hold is refused at load time, before ONNX Runtime ever indexes a
//! table with them.
//!
//! Only the protobuf wire format is read, streaming: large fields (weights
//! stored inside the file) are skipped with a seek, never read, so scanning
//! a 500 MB model costs a few milliseconds. Anything unexpected ends the scan
//! with `None` (no check) rather than an error: ONNX Runtime remains the judge
//! of whether the graph is valid.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufReader, Cursor, Read, Seek, SeekFrom};

use super::FileData;

/// Rows of the table that graph input `ids_input` indexes (the word
/// embeddings), if the graph shows it plainly: a `Gather` or
/// `GatherBlockQuantized` node whose indices come from `ids_input` (directly
/// or through `Cast`, `Reshape`, `Unsqueeze`, ... nodes) and whose data is an
/// initializer (directly or through `DequantizeLinear` or `Cast`). With
/// several such tables, the smallest counts.
pub(crate) fn embedding_rows(graph: FileData, ids_input: &str) -> Option<u64> {
    let graph = match graph {
        FileData::Bytes { bytes, .. } => {
            let mut r = Reader { inner: Cursor::new(bytes), pos: 0 };
            return rows_from(&scan_model(&mut r, bytes.len() as u64)?, ids_input);
        }
        FileData::Path(p) => p,
    };
    let file = File::open(graph).ok()?;
    let len = file.metadata().ok()?.len();
    let mut r = Reader { inner: BufReader::with_capacity(1 << 16, file), pos: 0 };
    let g = scan_model(&mut r, len)?;
    rows_from(&g, ids_input)
}

/// A byte source that can skip ahead.
trait Source: Read {
    fn skip_ahead(&mut self, n: i64) -> std::io::Result<()>;
}

impl Source for BufReader<File> {
    fn skip_ahead(&mut self, n: i64) -> std::io::Result<()> {
        self.seek_relative(n) // keeps the buffer when the target is inside it
    }
}

impl Source for Cursor<&[u8]> {
    fn skip_ahead(&mut self, n: i64) -> std::io::Result<()> {
        self.seek(SeekFrom::Current(n)).map(|_| ())
    }
}

#[derive(Default, Debug)]
struct Graph {
    /// (op_type, inputs, outputs) in file order.
    nodes: Vec<(String, Vec<String>, Vec<String>)>,
    /// initializer name -> dims
    initializers: HashMap<String, Vec<i64>>,
}

fn rows_from(g: &Graph, ids_input: &str) -> Option<u64> {
    // Names that carry the token ids unchanged in value.
    const PASS: &[&str] = &["Cast", "Identity", "Reshape", "Flatten", "Squeeze", "Unsqueeze"];
    let mut ids: HashSet<&str> = HashSet::from([ids_input]);
    // Output name -> (op, first input), to follow a table back to its initializer.
    let producer: HashMap<&str, (&str, &str)> = g
        .nodes
        .iter()
        .filter_map(|(op, ins, outs)| Some((outs.first()?.as_str(), (op.as_str(), ins.first()?.as_str()))))
        .collect();
    let mut best: Option<u64> = None;
    for (op, ins, outs) in &g.nodes {
        let Some(first) = ins.first() else { continue };
        if PASS.contains(&op.as_str()) && ids.contains(first.as_str()) {
            ids.extend(outs.iter().map(String::as_str));
            continue;
        }
        if (op == "Gather" || op == "GatherBlockQuantized") && ins.len() >= 2 && ids.contains(ins[1].as_str()) {
            let mut data = ins[0].as_str();
            for _ in 0..4 {
                if g.initializers.contains_key(data) {
                    break;
                }
                match producer.get(data) {
                    Some((p, input)) if *p == "DequantizeLinear" || *p == "Cast" => data = input,
                    _ => break,
                }
            }
            if let Some(&rows) = g.initializers.get(data).and_then(|d| d.first()) {
                if rows > 0 {
                    best = Some(best.map_or(rows as u64, |b: u64| b.min(rows as u64)));
                }
            }
        }
    }
    best
}

struct Reader<S: Source> {
    inner: S,
    pos: u64,
}

impl<S: Source> Reader<S> {
    fn byte(&mut self) -> Option<u8> {
        let mut b = [0u8; 1];
        self.inner.read_exact(&mut b).ok()?;
        self.pos += 1;
        Some(b[0])
    }

    fn varint(&mut self) -> Option<u64> {
        varint(|| self.byte())
    }

    fn skip(&mut self, n: u64) -> Option<()> {
        self.inner.skip_ahead(i64::try_from(n).ok()?).ok()?;
        self.pos = self.pos.checked_add(n)?;
        Some(())
    }

    fn bytes(&mut self, n: u64) -> Option<Vec<u8>> {
        // Names and node records are small; refuse absurd lengths.
        if n > (16 << 20) {
            return None;
        }
        let mut v = vec![0u8; n as usize];
        self.inner.read_exact(&mut v).ok()?;
        self.pos += n;
        Some(v)
    }

    /// One field's key: (field number, wire type).
    fn key(&mut self) -> Option<(u64, u8)> {
        let k = self.varint()?;
        Some((k >> 3, (k & 7) as u8))
    }

    /// Skips a field's value of wire type `wt`.
    fn skip_value(&mut self, wt: u8) -> Option<()> {
        match wt {
            0 => self.varint().map(|_| ()),
            1 => self.skip(8),
            2 => {
                let n = self.varint()?;
                self.skip(n)
            }
            5 => self.skip(4),
            _ => None,
        }
    }
}

/// A protobuf base-128 varint from a byte source.
fn varint(mut next: impl FnMut() -> Option<u8>) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = next()?;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// ModelProto: field 7 is the graph.
fn scan_model<S: Source>(r: &mut Reader<S>, end: u64) -> Option<Graph> {
    let mut graph = None;
    while r.pos < end {
        let (field, wt) = r.key()?;
        if field == 7 && wt == 2 {
            let n = r.varint()?;
            let stop = r.pos.checked_add(n)?;
            graph = Some(scan_graph(r, stop)?);
        } else {
            r.skip_value(wt)?;
        }
    }
    graph
}

/// GraphProto: 1 node, 5 initializer.
fn scan_graph<S: Source>(r: &mut Reader<S>, end: u64) -> Option<Graph> {
    let mut g = Graph::default();
    while r.pos < end {
        let (field, wt) = r.key()?;
        match (field, wt) {
            (1, 2) => {
                let n = r.varint()?;
                let node = r.bytes(n)?;
                g.nodes.push(parse_node(&node)?);
            }
            (5, 2) => {
                let n = r.varint()?;
                let stop = r.pos.checked_add(n)?;
                let (name, dims) = scan_tensor(r, stop)?;
                g.initializers.insert(name, dims);
            }
            _ => r.skip_value(wt)?,
        }
    }
    (r.pos == end).then_some(g)
}

/// TensorProto: 1 dims (int64, packed or not), 8 name; the data is skipped.
fn scan_tensor<S: Source>(r: &mut Reader<S>, end: u64) -> Option<(String, Vec<i64>)> {
    let (mut name, mut dims) = (String::new(), Vec::new());
    while r.pos < end {
        let (field, wt) = r.key()?;
        match (field, wt) {
            (1, 0) => dims.push(r.varint()? as i64),
            (1, 2) => {
                let n = r.varint()?;
                let stop = r.pos.checked_add(n)?;
                while r.pos < stop {
                    dims.push(r.varint()? as i64);
                }
            }
            (8, 2) => {
                let n = r.varint()?;
                name = String::from_utf8(r.bytes(n)?).ok()?;
            }
            _ => r.skip_value(wt)?,
        }
    }
    (r.pos == end).then_some((name, dims))
}

/// NodeProto: 1 input, 2 output, 4 op_type.
fn parse_node(buf: &[u8]) -> Option<(String, Vec<String>, Vec<String>)> {
    let (mut op, mut ins, mut outs) = (String::new(), Vec::new(), Vec::new());
    let mut p = 0usize;
    let varint = |p: &mut usize| {
        varint(|| {
            let b = *buf.get(*p)?;
            *p += 1;
            Some(b)
        })
    };
    while p < buf.len() {
        let k = varint(&mut p)?;
        let (field, wt) = (k >> 3, k & 7);
        match wt {
            0 => {
                varint(&mut p)?;
            }
            1 => p = p.checked_add(8)?,
            5 => p = p.checked_add(4)?,
            2 => {
                let n = usize::try_from(varint(&mut p)?).ok()?;
                let v = buf.get(p..p.checked_add(n)?)?;
                p += n;
                let s = || String::from_utf8(v.to_vec()).ok();
                match field {
                    1 => ins.push(s()?),
                    2 => outs.push(s()?),
                    4 => op = s()?,
                    _ => {}
                }
            }
            _ => return None,
        }
    }
    (p == buf.len()).then_some((op, ins, outs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    fn rows(p: &Path, ids_input: &str) -> Option<u64> {
        embedding_rows(FileData::Path(p), ids_input)
    }

    fn test_model(name: &str) -> Option<PathBuf> {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-models").join(name).join("model.onnx");
        p.exists().then_some(p)
    }

    #[test]
    fn finds_the_word_embedding_rows() {
        // tiny-e5: external weights, int64 ids straight into Gather.
        if let Some(p) = test_model("tiny-e5") {
            assert_eq!(rows(&p, "input_ids"), Some(250037));
            assert_eq!(rows(&p, "no_such_input"), None);
        }
        // tiny-seed: weights inside the file, int32 ids through Cast.
        if let Some(p) = test_model("tiny-seed") {
            let rows = rows(&p, "input_word_ids").expect("rows");
            assert!((1000..10000).contains(&rows), "{rows}");
        }
    }

    #[test]
    fn garbage_gives_no_answer_and_no_panic() {
        let dir = std::env::temp_dir().join(format!("kse-scan-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("x.onnx");
        for bytes in [&b""[..], b"\x3a\xff\xff\xff\xff\x0f", b"{\"not\": \"onnx\"}", &[0xffu8; 64][..], b"\x3a\x05\x0a\x03\x0a\x01"] {
            std::fs::write(&p, bytes).unwrap();
            assert_eq!(rows(&p, "input_ids"), None);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
