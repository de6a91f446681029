//! Where the default model is found when the caller names no model directory
//! (`kse_create` with `model_dir` NULL, the CLI without `--model`).
//!
//! In order: `$KSE_MODEL_DIR`; then `models/kse-ko-small` of the build tree
//! and `share/kse/models/kse-ko-small` of the installed tree that the file
//! holding kse's code sits in (`libkse.so`, or the program that linked
//! `libkse.a`): `<repo>/target/release/libkse.so` finds `<repo>/models/...`,
//! `<prefix>/lib/libkse.so` finds `<prefix>/share/kse/models/...`.

use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};

/// The default model directory's name, under `models/` of a build tree or
/// `share/kse/models/` of an installed tree.
pub const DEFAULT_MODEL: &str = "kse-ko-small";
/// Environment variable naming the default model directory.
pub const MODEL_ENV: &str = "KSE_MODEL_DIR";
/// How many directories, from the code file's own upwards, are searched
/// (a test binary in target/release/deps is three below the repository).
const LEVELS_UP: usize = 4;

/// The file that holds this code: the shared library, or the executable that
/// linked the static library.
fn code_file() -> Option<PathBuf> {
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    let addr = code_file as fn() -> Option<PathBuf> as *const libc::c_void;
    // SAFETY: dladdr only reads the loader's tables; `info` is a valid out-pointer.
    let found = unsafe { libc::dladdr(addr, &mut info) } != 0 && !info.dli_fname.is_null();
    let from_loader = found
        .then(|| unsafe { std::ffi::CStr::from_ptr(info.dli_fname) })
        .map(|name| PathBuf::from(std::ffi::OsStr::new(&*name.to_string_lossy())))
        .filter(|p| p.is_absolute());
    from_loader.or_else(|| std::env::current_exe().ok()).map(|p| p.canonicalize().unwrap_or(p))
}

/// The directories searched for the default model, in order (after `$KSE_MODEL_DIR`).
pub fn candidates() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Some(file) = code_file() else { return out };
    let mut dir: Option<&Path> = file.parent();
    for _ in 0..LEVELS_UP {
        let Some(d) = dir else { break };
        out.push(d.join("share/kse/models").join(DEFAULT_MODEL));
        out.push(d.join("models").join(DEFAULT_MODEL));
        dir = d.parent();
    }
    out
}

/// The default model directory, or `ModelNotFound` naming every place looked at.
pub fn default_model_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os(MODEL_ENV).filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    if let Some(dir) = crate::embedded::dir() {
        return Ok(dir);
    }
    let looked = candidates();
    if let Some(dir) = looked.iter().find(|d| d.join("kse.json").is_file()) {
        return Ok(dir.clone());
    }
    let places: Vec<String> = looked.iter().map(|d| d.display().to_string()).collect();
    Err(Error::new(
        ErrorKind::ModelNotFound,
        format!(
            "no model directory given, ${MODEL_ENV} not set, and the default model {DEFAULT_MODEL} is not in {}",
            if places.is_empty() { "any known place".to_owned() } else { places.join(", ") }
        ),
    ))
}
