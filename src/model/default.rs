//! Where the default model is found when the caller names no model directory
//! (`kse_create` with `model_dir` NULL, the CLI without `--model`), and where
//! a model shipped with kse is found when the caller names it
//! ([`SHIPPED_MODELS`]: `model_dir` "kse-ko-mini", `--model kse-ko-mini`).
//!
//! The default model, in order:
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
//! A shipped model named by the caller is looked for as in 2 and 3 (the
//! embedded copy only for the default model's name); `$KSE_MODEL_DIR` plays no
//! part, and a directory of that name in the current directory is never taken
//! for it (`./kse-ko-mini` names that one).
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
/// The models shipped with kse (`models/` of the build tree,
/// `share/kse/models/` of the installed tree), which a caller may name instead
/// of giving a directory: the default, and its 6-layer distilled student
/// (about twice as fast, MODEL.md).
pub const SHIPPED_MODELS: [&str; 2] = [DEFAULT_MODEL, "kse-ko-mini"];
/// Environment variable naming the default model directory.
pub const MODEL_ENV: &str = "KSE_MODEL_DIR";
/// How many directories, from the code file's own upwards, are searched
/// (a test binary in target/release/deps is three below the repository).
const LEVELS_UP: usize = 4;

/// The directories searched for the default model, in order (after
/// `$KSE_MODEL_DIR`), or why none are: the file holding kse's code sits where
/// others can write.
pub fn candidates() -> std::result::Result<Vec<PathBuf>, String> {
    candidates_for(DEFAULT_MODEL)
}

/// The directories searched for the shipped model `name`, in order, or why
/// none are.
fn candidates_for(name: &str) -> std::result::Result<Vec<PathBuf>, String> {
    let Some(file) = trust::code_file() else { return Ok(Vec::new()) };
    let dirs = trust::search_dirs(&file, LEVELS_UP).map_err(|why| {
        let what = if name == DEFAULT_MODEL { "default model" } else { "shipped model" };
        format!("no {what} is searched beside kse's code ({}): {why}", file.display())
    })?;
    let mut out = Vec::new();
    for d in dirs {
        out.push(d.join("share/kse/models").join(name));
        out.push(d.join("models").join(name));
    }
    Ok(out)
}

/// The model a caller's `model_dir` means: none, the default model
/// ([`default_model`]); the exact name of a shipped model, that model
/// ([`shipped_model`]); anything else, the directory it names.
pub fn resolve(model_dir: Option<&Path>) -> Result<ModelSource> {
    match model_dir {
        None => default_model(),
        Some(dir) => match dir.to_str().filter(|d| SHIPPED_MODELS.contains(d)) {
            Some(name) => shipped_model(name),
            None => Ok(ModelSource::Dir(dir.to_path_buf())),
        },
    }
}

/// The shipped model `name` (one of [`SHIPPED_MODELS`]): the copy compiled
/// into the library for the default model's name, else the first trusted
/// `share/kse/models/<name>` or `models/<name>` beside kse's code; else
/// `ModelNotFound` naming the places.
pub fn shipped_model(name: &str) -> Result<ModelSource> {
    if !SHIPPED_MODELS.contains(&name) {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("{name:?} is not a model shipped with kse (those are {})", SHIPPED_MODELS.join(", ")),
        ));
    }
    if embedded::AVAILABLE && name == embedded::NAME {
        return Ok(ModelSource::Embedded);
    }
    // The advice first: C callers see the first 511 bytes of a message.
    search(name, &format!("model {name} was named (a model shipped with kse; pass ./{name} for a directory of that name)"))
}

/// The first trusted directory of `candidates_for(name)`, or `ModelNotFound`
/// starting with `context`, then the refusals and the places looked at.
fn search(name: &str, context: &str) -> Result<ModelSource> {
    let looked = candidates_for(name).map_err(|why| Error::new(ErrorKind::ModelNotFound, format!("{context}; {why}")))?;
    let mut refused = Vec::new();
    for dir in looked.iter().filter(|d| d.join(MANIFEST_FILE).is_file()) {
        match check_model(dir) {
            Ok(()) => return Ok(ModelSource::Dir(dir.clone())),
            Err(why) => refused.push(format!("{} is not used: {why}", dir.display())),
        }
    }
    // Refusals first: C callers see the first 511 bytes of a message.
    let places: Vec<String> = looked.iter().map(|d| d.display().to_string()).collect();
    let mut message = format!("{context}; ");
    for r in refused {
        message.push_str(&r);
        message.push_str("; ");
    }
    let what = if name == DEFAULT_MODEL { "the default model" } else { "the shipped model" };
    message.push_str(&format!(
        "{what} {name} is not in {}",
        if places.is_empty() { "any known place".to_owned() } else { places.join(", ") }
    ));
    Err(Error::new(ErrorKind::ModelNotFound, message))
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
    search(DEFAULT_MODEL, &format!("no model directory given and ${MODEL_ENV} not set"))
}
