//! The model: where its files are (a directory on disk, or the copy compiled
//! into the library), its manifest, and the checks its graph must pass before
//! the first sentence runs.
//!
//! Whether a file comes from disk or from memory is decided once, by the
//! [`ModelSource`] a [`Model`] is opened from; everything else asks the model
//! for a file's [`FileData`].

pub mod default;
mod embedded;
pub(crate) mod graph;
pub mod manifest;
mod onnx_scan;

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};
use manifest::{Manifest, MANIFEST_FILE};

/// Where a model's files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSource {
    /// A model directory on disk, holding `kse.json` and the files it names.
    Dir(PathBuf),
    /// The default model compiled into the library (cargo feature
    /// `embedded-model`).
    Embedded,
}

impl ModelSource {
    /// The directory, for a model on disk.
    pub fn dir(&self) -> Option<&Path> {
        match self {
            ModelSource::Dir(d) => Some(d),
            ModelSource::Embedded => None,
        }
    }
}

impl<P: AsRef<Path>> From<P> for ModelSource {
    fn from(dir: P) -> Self {
        ModelSource::Dir(dir.as_ref().to_path_buf())
    }
}

impl fmt::Display for ModelSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelSource::Dir(d) => write!(f, "{}", d.display()),
            ModelSource::Embedded => write!(f, "{} (embedded in libkse)", embedded::NAME),
        }
    }
}

/// One of a model's files, as a loader takes it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum FileData<'a> {
    Path(&'a Path),
    Bytes { name: &'a Path, bytes: &'static [u8] },
}

impl FileData<'_> {
    /// The file as messages name it.
    pub fn shown(&self) -> String {
        match self {
            FileData::Path(p) => p.display().to_string(),
            FileData::Bytes { name, .. } => format!("{} of the embedded {}", name.display(), embedded::NAME),
        }
    }
}

/// A model whose manifest is read and checked and whose files exist.
#[derive(Debug)]
pub(crate) struct Model {
    source: ModelSource,
    manifest: Manifest,
}

impl Model {
    pub fn open(source: &ModelSource) -> Result<Model> {
        let manifest = match source {
            ModelSource::Dir(dir) => Manifest::load(dir)?,
            ModelSource::Embedded => {
                let Some(text) = embedded::file(MANIFEST_FILE) else {
                    return Err(Error::new(
                        ErrorKind::ModelNotFound,
                        "this libkse carries no embedded model (built without cargo feature `embedded-model`)",
                    ));
                };
                let manifest = Manifest::parse(&String::from_utf8_lossy(text), Path::new("")).map_err(|e| {
                    Error::new(e.kind(), format!("manifest of the embedded {}: {}", embedded::NAME, e.message()))
                })?;
                for file in [&manifest.graph, &manifest.tokenizer] {
                    if file.to_str().and_then(embedded::file).is_none() {
                        return Err(Error::new(
                            ErrorKind::ModelNotFound,
                            format!("the embedded {} has no file {}", embedded::NAME, file.display()),
                        ));
                    }
                }
                manifest
            }
        };
        Ok(Model { source: source.clone(), manifest })
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// A file the manifest names (`manifest.graph`, `manifest.tokenizer`).
    pub fn file<'a>(&self, path: &'a Path) -> FileData<'a> {
        match self.source {
            ModelSource::Dir(_) => FileData::Path(path),
            ModelSource::Embedded => {
                // `open` checked that both files the manifest names are embedded.
                let bytes = path.to_str().and_then(embedded::file).unwrap_or_default();
                FileData::Bytes { name: path, bytes }
            }
        }
    }
}
