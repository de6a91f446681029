//! The default model compiled into the library (cargo feature
//! `embedded-model`), so that one `libkse.so` (plus ONNX Runtime) is all a
//! system has to deploy.
//!
//! The embedded model is addressed by a directory path that cannot exist on
//! disk, [`EMBEDDED_DIR`]; the loaders ask [`file`] for a path's bytes before
//! touching the file system. Without the feature, [`file`] always answers
//! `None` and nothing is embedded.

use std::path::{Path, PathBuf};

/// The embedded default model's pseudo directory (under `/proc`, where no
/// one can create it).
pub const EMBEDDED_DIR: &str = "/proc/kse-embedded/kse-ko-small";

#[cfg(feature = "embedded-model")]
static FILES: [(&str, &[u8]); 3] = [
    ("kse.json", include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/models/kse-ko-small/kse.json"))),
    ("model.onnx", include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/models/kse-ko-small/model.onnx"))),
    ("tokenizer.json", include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/models/kse-ko-small/tokenizer.json"))),
];

/// The embedded model's directory, when the library carries one.
pub fn dir() -> Option<PathBuf> {
    cfg!(feature = "embedded-model").then(|| PathBuf::from(EMBEDDED_DIR))
}

/// Whether `dir` is the embedded model's directory (and the library carries it).
pub fn is_dir(dir: &Path) -> bool {
    cfg!(feature = "embedded-model") && dir == Path::new(EMBEDDED_DIR)
}

/// The bytes of an embedded file, by its pseudo path.
pub fn file(path: &Path) -> Option<&'static [u8]> {
    #[cfg(feature = "embedded-model")]
    {
        let name = path.strip_prefix(EMBEDDED_DIR).ok()?.to_str()?;
        return FILES.iter().find(|(n, _)| *n == name).map(|(_, bytes)| *bytes);
    }
    #[cfg(not(feature = "embedded-model"))]
    {
        let _ = path;
        None
    }
}
