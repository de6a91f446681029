//! Where the default model is found when the caller names no model directory
//! (`kse_create` with `model_dir` NULL, the CLI without `--model`).
//!
//! In order:
//! 1. `$KSE_MODEL_DIR`, if set: used if no other user can change it,
//!    otherwise an error;
//! 2. the model compiled into the library (cargo feature `embedded-model`);
//! 3. `models/kse-ko-small` of the build tree and `share/kse/models/kse-ko-small`
//!    of the installed tree that the file holding kse's code sits in
//!    (`libkse.so`, or the program that linked `libkse.a`):
//!    `<repo>/target/release/libkse.so` finds `<repo>/models/...`,
//!    `<prefix>/lib/libkse.so` finds `<prefix>/share/kse/models/...`.
//!    The search goes up at most four directories and stops below the first
//!    one others can write to (never `/tmp/models`); a copy of libkse in a
//!    fresh temporary directory (the Java jar's) searches nothing; a model
//!    found is used only if no other user can change it.
//!
//! The rules are those of [`crate::trust`]; the current directory is never searched.

use std::path::{Path, PathBuf};

use super::manifest::{Manifest, MANIFEST_FILE};
use super::{embedded, ModelSource};
use crate::error::{Error, ErrorKind, Result};
use crate::trust;

/// The default model directory's name, under `models/` of a build tree or
/// `share/kse/models/` of an installed tree.
pub const DEFAULT_MODEL: &str = "kse-ko-small";
/// Environment variable naming the default model directory.
pub const MODEL_ENV: &str = "KSE_MODEL_DIR";
/// How many directories, from the code file's own upwards, are searched
/// (a test binary in target/release/deps is three below the repository).
const LEVELS_UP: usize = 4;

/// The directories searched for the default model, in order (after
/// `$KSE_MODEL_DIR`), or why none are: the file holding kse's code sits where
/// others can write.
pub fn candidates() -> std::result::Result<Vec<PathBuf>, String> {
    let Some(file) = trust::code_file() else { return Ok(Vec::new()) };
    let dirs = trust::search_dirs(&file, LEVELS_UP).map_err(|why| {
        format!("no default model is searched beside kse's code ({}): {why}", file.display())
    })?;
    let mut out = Vec::new();
    for d in dirs {
        out.push(d.join("share/kse/models").join(DEFAULT_MODEL));
        out.push(d.join("models").join(DEFAULT_MODEL));
    }
    Ok(out)
}

/// Why another user could change the model in `dir` (the directory, its
/// manifest, or the files the manifest names), or `Ok`.
fn check_model(dir: &Path) -> std::result::Result<(), String> {
    trust::check(dir)?;
    // A manifest that is missing or does not load loads nothing: the encoder reports it.
    let manifest_file = dir.join(MANIFEST_FILE);
    if manifest_file.exists() {
        trust::check(&manifest_file)?;
    }
    if let Ok(manifest) = Manifest::load(dir) {
        trust::check(&manifest.graph)?;
        trust::check(&manifest.tokenizer)?;
    }
    Ok(())
}

/// The default model, or `ModelNotFound` naming every place looked at and why
/// a model found there was not used.
pub fn default_model() -> Result<ModelSource> {
    if let Some(dir) = std::env::var_os(MODEL_ENV).filter(|d| !d.is_empty()) {
        let dir = PathBuf::from(dir);
        if dir.exists() {
            check_model(&dir).map_err(|why| {
                Error::new(
                    ErrorKind::ModelNotFound,
                    format!(
                        "${MODEL_ENV} names {}, which other users can change ({why}); kse does not load a model \
                         from there unless the program names it explicitly",
                        dir.display()
                    ),
                )
            })?;
        }
        return Ok(ModelSource::Dir(dir));
    }
    if embedded::AVAILABLE {
        return Ok(ModelSource::Embedded);
    }
    let looked = candidates().map_err(|why| {
        Error::new(ErrorKind::ModelNotFound, format!("no model directory given and ${MODEL_ENV} not set; {why}"))
    })?;
    let mut refused = Vec::new();
    for dir in looked.iter().filter(|d| d.join(MANIFEST_FILE).is_file()) {
        match check_model(dir) {
            Ok(()) => return Ok(ModelSource::Dir(dir.clone())),
            Err(why) => refused.push(format!("{} is not used: {why}", dir.display())),
        }
    }
    // Refusals first: C callers see the first 511 bytes of a message.
    let places: Vec<String> = looked.iter().map(|d| d.display().to_string()).collect();
    let mut message = format!("no model directory given and ${MODEL_ENV} not set; ");
    for r in refused {
        message.push_str(&r);
        message.push_str("; ");
    }
    message.push_str(&format!(
        "the default model {DEFAULT_MODEL} is not in {}",
        if places.is_empty() { "any known place".to_owned() } else { places.join(", ") }
    ));
    Err(Error::new(ErrorKind::ModelNotFound, message))
}
