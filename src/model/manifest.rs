//! The model directory and its manifest, `kse.json`.
//!
//! A model directory holds an ONNX graph, a Hugging Face `tokenizer.json` and
//! the manifest that says how to use them:
//!
//! ```json
//! {
//!   "format": "kse-model/1",
//!   "name": "multilingual-e5-small",
//!   "dim": 384,
//!   "graph": "model.onnx",
//!   "tokenizer": "tokenizer.json",
//!   "inputs": {"input_ids": "input_ids", "attention_mask": "attention_mask", "token_type_ids": null},
//!   "input_type": "int64",
//!   "output": "last_hidden_state",
//!   "pooling": "mean",
//!   "normalize": true,
//!   "prefix": "query: ",
//!   "unicode_normalization": "nfc",
//!   "max_tokens": 512,
//!   "license": "MIT",
//!   "attribution": ["..."]
//! }
//! ```
//!
//! `unicode_normalization` (optional, default `"nfc"`) says what the encoder
//! does to each text before the tokenizer sees it: `"nfc"` puts it in Unicode
//! Normalization Form C, so canonically equivalent texts (Hangul syllables and
//! the same syllables spelled as conjoining jamo, as macOS file names and some
//! old systems produce them) get the same tokens and the same vector;
//! `"none"` passes the text as it is.
//!
//! Parsing is strict: an unknown field, a missing field or a value of the wrong
//! type or range is an error that names the field, so a typo never silently
//! changes how sentences are embedded.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::{err, ErrorKind, Result};

/// File name of the manifest inside a model directory.
pub const MANIFEST_FILE: &str = "kse.json";
/// The only manifest format this version reads.
pub const MANIFEST_FORMAT: &str = "kse-model/1";

/// How token states become one sentence vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooling {
    /// Average of the token states over the attention mask.
    Mean,
    /// The first token's state (`[CLS]` / `<s>`).
    Cls,
    /// The graph already returns one vector per sentence, `[batch, dim]`.
    None,
}

/// What the encoder does to a text before tokenising it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnicodeNormalization {
    /// Unicode Normalization Form C (canonical composition).
    #[default]
    Nfc,
    /// The text as given.
    None,
}

/// Element type of the graph's integer inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputType {
    Int64,
    Int32,
}

/// Names of the graph inputs the encoder feeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputNames {
    pub input_ids: String,
    pub attention_mask: String,
    /// Fed with zeros when present; `None` when the graph has no such input.
    pub token_type_ids: Option<String>,
}

/// A parsed and validated manifest, with file paths resolved against the
/// model directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub name: String,
    pub dim: usize,
    pub graph: PathBuf,
    pub tokenizer: PathBuf,
    pub inputs: InputNames,
    pub input_type: InputType,
    pub output: String,
    pub pooling: Pooling,
    pub normalize: bool,
    pub prefix: String,
    pub unicode_normalization: UnicodeNormalization,
    pub max_tokens: usize,
    pub license: String,
    pub attribution: Vec<String>,
}

const FIELDS: &[&str] = &[
    "format", "name", "dim", "graph", "tokenizer", "inputs", "input_type", "output", "pooling",
    "normalize", "prefix", "unicode_normalization", "max_tokens", "license", "attribution",
];
const INPUT_FIELDS: &[&str] = &["input_ids", "attention_mask", "token_type_ids"];

/// Largest embedding width accepted; guards size arithmetic against absurd manifests.
const MAX_DIM: u64 = 1 << 16;
/// Largest `max_tokens` accepted.
const MAX_TOKENS_LIMIT: u64 = 1 << 16;

impl Manifest {
    /// Reads `dir/kse.json` and checks that the files it names exist.
    pub fn load(dir: &Path) -> Result<Manifest> {
        if !dir.is_dir() {
            return err(
                ErrorKind::ModelNotFound,
                format!("model directory {} does not exist or is not a directory", dir.display()),
            );
        }
        let path = dir.join(MANIFEST_FILE);
        let text = std::fs::read_to_string(&path).or_else(|e| {
            err(ErrorKind::ModelNotFound, format!("cannot read model manifest {}: {e}", path.display()))
        })?;
        let manifest = Manifest::parse(&text, dir).map_err(|e| {
            crate::Error::new(e.kind(), format!("model manifest {}: {}", path.display(), e.message()))
        })?;
        for (field, file) in [("graph", &manifest.graph), ("tokenizer", &manifest.tokenizer)] {
            if !file.is_file() {
                return err(
                    ErrorKind::ModelNotFound,
                    format!("file {} named by field `{field}` of {} does not exist", file.display(), path.display()),
                );
            }
        }
        Ok(manifest)
    }

    /// Parses manifest text; relative file names are resolved against `dir`.
    pub fn parse(text: &str, dir: &Path) -> Result<Manifest> {
        let value: Value = serde_json::from_str(text)
            .or_else(|e| err(ErrorKind::ModelInvalid, format!("not valid JSON: {e}")))?;
        let obj = value
            .as_object()
            .ok_or_else(|| invalid("the manifest must be a JSON object"))?;
        reject_unknown(obj, FIELDS, "")?;

        let format = string(obj, "format")?;
        if format != MANIFEST_FORMAT {
            return err(
                ErrorKind::ModelInvalid,
                format!("field `format` is \"{format}\"; this version of kse reads \"{MANIFEST_FORMAT}\""),
            );
        }
        let name = nonempty(obj, "name")?;
        let dim = bounded(obj, "dim", 1, MAX_DIM)? as usize;
        let graph = dir.join(file_name(obj, "graph")?);
        let tokenizer = dir.join(file_name(obj, "tokenizer")?);

        let inputs = obj.get("inputs").ok_or_else(|| missing("inputs"))?;
        let inputs = inputs
            .as_object()
            .ok_or_else(|| invalid("field `inputs` must be an object naming the graph inputs"))?;
        reject_unknown(inputs, INPUT_FIELDS, "inputs.")?;
        let input_names = InputNames {
            input_ids: nonempty_in(inputs, "input_ids", "inputs.")?,
            attention_mask: nonempty_in(inputs, "attention_mask", "inputs.")?,
            token_type_ids: match inputs.get("token_type_ids") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
                Some(_) => return Err(invalid("field `inputs.token_type_ids` must be a non-empty string or null")),
            },
        };
        if input_names.input_ids == input_names.attention_mask
            || input_names.token_type_ids.as_deref() == Some(input_names.input_ids.as_str())
            || input_names.token_type_ids.as_deref() == Some(input_names.attention_mask.as_str())
        {
            return Err(invalid("fields of `inputs` must name three different graph inputs"));
        }

        let input_type = match string(obj, "input_type")?.as_str() {
            "int64" => InputType::Int64,
            "int32" => InputType::Int32,
            other => {
                return Err(invalid(format!("field `input_type` must be \"int64\" or \"int32\" (got \"{other}\")")))
            }
        };
        let output = nonempty(obj, "output")?;
        let pooling = match string(obj, "pooling")?.as_str() {
            "mean" => Pooling::Mean,
            "cls" => Pooling::Cls,
            "none" => Pooling::None,
            other => {
                return Err(invalid(format!(
                    "field `pooling` must be \"mean\", \"cls\" or \"none\" (got \"{other}\")"
                )))
            }
        };
        let normalize = match obj.get("normalize") {
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(invalid("field `normalize` must be true or false")),
            None => return Err(missing("normalize")),
        };
        let prefix = match obj.get("prefix") {
            None => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(_) => return Err(invalid("field `prefix` must be a string")),
        };
        let unicode_normalization = match obj.get("unicode_normalization") {
            None => UnicodeNormalization::default(),
            Some(Value::String(s)) if s == "nfc" => UnicodeNormalization::Nfc,
            Some(Value::String(s)) if s == "none" => UnicodeNormalization::None,
            Some(_) => return Err(invalid("field `unicode_normalization` must be \"nfc\" or \"none\"")),
        };
        let max_tokens = bounded(obj, "max_tokens", 2, MAX_TOKENS_LIMIT)? as usize;
        let license = nonempty(obj, "license")?;
        let attribution = match obj.get("attribution") {
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| invalid("field `attribution` must be an array of strings"))?,
            Some(_) => return Err(invalid("field `attribution` must be an array of strings")),
        };

        Ok(Manifest {
            name,
            dim,
            graph,
            tokenizer,
            inputs: input_names,
            input_type,
            output,
            pooling,
            normalize,
            prefix,
            unicode_normalization,
            max_tokens,
            license,
            attribution,
        })
    }
}

fn invalid(message: impl Into<String>) -> crate::Error {
    crate::Error::new(ErrorKind::ModelInvalid, message)
}

fn missing(field: &str) -> crate::Error {
    invalid(format!("required field `{field}` is missing"))
}

fn reject_unknown(obj: &Map<String, Value>, known: &[&str], prefix: &str) -> Result<()> {
    match obj.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => err(
            ErrorKind::ModelInvalid,
            format!("unknown field `{prefix}{k}` (known fields: {})", known.join(", ")),
        ),
        None => Ok(()),
    }
}

fn string_in(obj: &Map<String, Value>, field: &str, prefix: &str) -> Result<String> {
    match obj.get(field) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => err(ErrorKind::ModelInvalid, format!("field `{prefix}{field}` must be a string")),
        None => Err(missing(&format!("{prefix}{field}"))),
    }
}

fn nonempty_in(obj: &Map<String, Value>, field: &str, prefix: &str) -> Result<String> {
    let s = string_in(obj, field, prefix)?;
    if s.is_empty() {
        return err(ErrorKind::ModelInvalid, format!("field `{prefix}{field}` must not be empty"));
    }
    Ok(s)
}

fn string(obj: &Map<String, Value>, field: &str) -> Result<String> {
    string_in(obj, field, "")
}

fn nonempty(obj: &Map<String, Value>, field: &str) -> Result<String> {
    nonempty_in(obj, field, "")
}

/// A file name inside the model directory: relative, no `..`, so a manifest
/// cannot point the library at files elsewhere on the machine.
fn file_name(obj: &Map<String, Value>, field: &str) -> Result<PathBuf> {
    let s = nonempty(obj, field)?;
    let p = PathBuf::from(&s);
    let inside = p.components().all(|c| matches!(c, std::path::Component::Normal(_)));
    if !inside {
        return err(
            ErrorKind::ModelInvalid,
            format!("field `{field}` must be a file name inside the model directory (got \"{s}\")"),
        );
    }
    Ok(p)
}

fn bounded(obj: &Map<String, Value>, field: &str, lo: u64, hi: u64) -> Result<u64> {
    let v = obj.get(field).ok_or_else(|| missing(field))?;
    match v.as_u64() {
        Some(n) if (lo..=hi).contains(&n) => Ok(n),
        _ => err(
            ErrorKind::ModelInvalid,
            format!("field `{field}` must be an integer from {lo} to {hi} (got {v})"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{
        "format": "kse-model/1", "name": "m", "dim": 384, "graph": "model.onnx",
        "tokenizer": "tokenizer.json",
        "inputs": {"input_ids": "input_ids", "attention_mask": "attention_mask", "token_type_ids": null},
        "input_type": "int64", "output": "last_hidden_state", "pooling": "mean",
        "normalize": true, "prefix": "query: ", "max_tokens": 512, "license": "MIT",
        "attribution": ["a", "b"]
    }"#;

    fn with(field: &str, value: &str) -> String {
        let mut v: Value = serde_json::from_str(GOOD).unwrap();
        if value.is_empty() {
            v.as_object_mut().unwrap().remove(field);
        } else {
            v[field] = serde_json::from_str(value).unwrap();
        }
        v.to_string()
    }

    fn error_of(text: &str) -> crate::Error {
        Manifest::parse(text, Path::new("/m")).unwrap_err()
    }

    #[test]
    fn parses_the_default_shape() {
        let m = Manifest::parse(GOOD, Path::new("/m")).unwrap();
        assert_eq!(m.dim, 384);
        assert_eq!(m.pooling, Pooling::Mean);
        assert_eq!(m.input_type, InputType::Int64);
        assert_eq!(m.graph, PathBuf::from("/m/model.onnx"));
        assert_eq!(m.prefix, "query: ");
        assert_eq!(m.inputs.token_type_ids, None);
        assert_eq!(m.attribution.len(), 2);
        assert_eq!(m.unicode_normalization, UnicodeNormalization::Nfc);
        let none = Manifest::parse(&with("unicode_normalization", "\"none\""), Path::new("/m")).unwrap();
        assert_eq!(none.unicode_normalization, UnicodeNormalization::None);
    }

    #[test]
    fn every_error_names_its_field() {
        let cases: &[(&str, &str, &str)] = &[
            ("dim", "0", "`dim`"),
            ("dim", "\"384\"", "`dim`"),
            ("dim", "", "`dim`"),
            ("pooling", "\"max\"", "`pooling`"),
            ("input_type", "\"float\"", "`input_type`"),
            ("normalize", "1", "`normalize`"),
            ("max_tokens", "1", "`max_tokens`"),
            ("graph", "\"../x.onnx\"", "`graph`"),
            ("graph", "\"/etc/passwd\"", "`graph`"),
            ("format", "\"kse-model/2\"", "`format`"),
            ("output", "\"\"", "`output`"),
            ("license", "", "`license`"),
            ("poolling", "\"mean\"", "`poolling`"),
            ("inputs", "{\"input_ids\": \"a\"}", "`inputs.attention_mask`"),
            ("inputs", "{\"input_ids\": \"a\", \"attention_mask\": \"b\", \"x\": 1}", "`inputs.x`"),
            ("attribution", "[1]", "`attribution`"),
            ("unicode_normalization", "\"NFKC\"", "`unicode_normalization`"),
            ("unicode_normalization", "true", "`unicode_normalization`"),
        ];
        for (field, value, expected) in cases {
            let e = error_of(&with(field, value));
            assert_eq!(e.kind(), ErrorKind::ModelInvalid, "{field}={value}");
            assert!(e.message().contains(expected), "{field}={value}: {}", e.message());
        }
    }

    #[test]
    fn malformed_json_is_model_invalid() {
        let e = error_of("{\"format\": ");
        assert_eq!(e.kind(), ErrorKind::ModelInvalid);
        assert!(e.message().contains("JSON"));
    }

    #[test]
    fn missing_directory_is_model_not_found() {
        let e = Manifest::load(Path::new("/nonexistent/kse-model")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ModelNotFound);
        assert!(e.message().contains("/nonexistent/kse-model"));
    }
}
