//! `kse import-tfhub`: a front for `importers/tfhub/import_tfhub.py`.
//!
//! Converting a TF Hub SavedModel pair needs TensorFlow, TF Text and tf2onnx,
//! which the library never links; the conversion is a Python tool, and this
//! subcommand finds it and the Python that can run it, passes every argument
//! through and returns its exit status (0 written, 1 refused, 2 usage).

use std::path::{Path, PathBuf};
use std::process::Command;

use kse::trust;

use crate::error::{CliError, Exit, Result};

const TOOL: &str = "import_tfhub.py";
const SETUP_HINT: &str = "make setup-tfhub in the kse source tree (or: python3 -m venv VENV && \
     VENV/bin/pip install --require-hashes -r importers/tfhub/requirements-tfhub.lock), then set KSE_TFHUB_PYTHON=VENV/bin/python";

/// Where the tool may live: `$KSE_TOOLS_DIR`, the source tree of a
/// build-tree binary (`target/release/kse` -> `importers/tfhub/`), or an installed
/// tree (`bin/kse` -> `share/kse/tools/`), searched beside the program as
/// the library searches for its default model (`kse::trust::search_dirs`: a
/// copy of `kse` in a fresh temporary directory never runs a planted tool).
/// `Err` says why nothing beside the program is searched.
fn tool_candidates() -> (Vec<PathBuf>, Option<String>) {
    let mut dirs = Vec::new();
    if let Some(d) = std::env::var_os("KSE_TOOLS_DIR") {
        dirs.push(PathBuf::from(d));
    }
    let beside = std::env::current_exe().map_err(|e| e.to_string()).and_then(|exe| trust::search_dirs(&exe, 4));
    let not_searched = match beside {
        Ok(up) => {
            for d in up {
                dirs.push(d.join("importers/tfhub"));
                dirs.push(d.join("share/kse/tools"));
            }
            None
        }
        Err(why) => Some(why),
    };
    (dirs.into_iter().map(|d| d.join(TOOL)).collect(), not_searched)
}

/// `$KSE_TFHUB_PYTHON`, else the source tree's `.cache/tf-venv` (if no
/// other user can change it), else `python3`.
fn python_for(tool: &Path) -> PathBuf {
    if let Some(p) = std::env::var_os("KSE_TFHUB_PYTHON") {
        return PathBuf::from(p);
    }
    // importers/tfhub/import_tfhub.py: the source tree is two levels above the tool's directory.
    if let Some(root) = tool.parent().and_then(Path::parent).and_then(Path::parent) {
        let venv = root.join(".cache/tf-venv/bin/python");
        if venv.is_file() && trust::check(&venv).is_ok() {
            return venv;
        }
    }
    PathBuf::from("python3")
}

pub fn run(args: &[String]) -> Result<()> {
    let (candidates, not_searched) = tool_candidates();
    let mut refused: Vec<String> = not_searched.into_iter().map(|why| format!("nothing beside the program is searched: {why}")).collect();
    let tool = candidates.iter().filter(|p| p.is_file()).find(|p| match trust::check(p) {
        Ok(()) => true,
        Err(why) => {
            refused.push(format!("{} is not used: {why}", p.display()));
            false
        }
    });
    let tool = tool.ok_or_else(|| {
        let looked: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
        let refused: String = refused.iter().map(|r| format!("; {r}")).collect();
        CliError::new(
            Exit::Runtime,
            format!(
                "cannot find {TOOL} (looked at: {}{refused}); set KSE_TOOLS_DIR to the kse source tree's tools/",
                looked.join(", ")
            ),
        )
    })?;
    let python = python_for(tool);
    let status = Command::new(&python).arg(tool).args(args).status().map_err(|e| {
        CliError::new(Exit::Runtime, format!("cannot run {} for {}: {e}; {SETUP_HINT}", python.display(), tool.display()))
    })?;
    match status.code() {
        Some(0) => Ok(()),
        // The tool has printed its own message (refused: 1, usage: 2).
        Some(code) => std::process::exit(code),
        None => Err(CliError::new(Exit::Runtime, format!("{} was killed by a signal", tool.display()))),
    }
}
