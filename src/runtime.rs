//! ONNX Runtime: finding and loading its shared library once per process, the
//! one ORT environment, and a pool of sessions over one model graph, built
//! with [`SessionSettings`] (the place for execution providers and other
//! per-session choices).
//!
//! ONNX Runtime is loaded at run time (`dlopen`), never linked, so one build
//! of kse works with any ONNX Runtime from 1.31 on. The library is looked for,
//! in this order:
//! 1. the path given in the options (`ort_library_path`), and only there;
//! 2. the path in the environment variable `KSE_ORT_LIBRARY`;
//! 3. beside the file that holds kse's own code (`libkse.so`, or the program
//!    kse is linked into): `libonnxruntime.so.1`, then `libonnxruntime.so`,
//!    then `kse/` beside it and `../lib/kse/`;
//!
//!    a file found through 2. or 3. is loaded only if no user other than the
//!    caller and root can change it (see [`crate::trust`]; sticky directories
//!    such as `/tmp` may lie on the way), otherwise it is skipped and the
//!    error names it;
//! 4. the system's library search path (`libonnxruntime.so.1`).
//!
//! The first library loaded successfully serves the whole process (ONNX
//! Runtime allows one environment per process); a later encoder that names a
//! different library gets an error rather than silently using the first.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard};

use ort::environment::Environment;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;

use crate::error::{err, Error, ErrorKind, Result};
use crate::model::FileData;
use crate::trust;

/// Environment variable naming the ONNX Runtime library to load.
pub const ORT_LIBRARY_ENV: &str = "KSE_ORT_LIBRARY";
/// Looked for beside the object holding kse's code: the build tree keeps
/// ONNX Runtime beside libkse.so, an install keeps it in lib/kse/ (and the
/// `kse` program, in bin/, finds it through ../lib/kse/).
const ORT_FILE_NAMES: &[&str] =
    &["libonnxruntime.so.1", "libonnxruntime.so", "kse/libonnxruntime.so.1", "../lib/kse/libonnxruntime.so.1"];

/// The process's ORT environment and the library file it came from.
static ENVIRONMENT: Mutex<Option<(Environment, PathBuf)>> = Mutex::new(None);

/// Returns the process-wide ORT environment, loading ONNX Runtime on first use
/// (`explicit`: the library to load, else the search above).
pub(crate) fn environment(explicit: Option<&Path>) -> Result<Environment> {
    let mut slot = ENVIRONMENT.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((env, loaded)) = slot.as_ref() {
        if let Some(wanted) = explicit {
            let same = match (std::fs::canonicalize(wanted), std::fs::canonicalize(loaded)) {
                (Ok(a), Ok(b)) => a == b,
                _ => false,
            };
            if !same {
                return err(
                    ErrorKind::RuntimeUnavailable,
                    format!(
                        "ONNX Runtime is already loaded in this process from {}; a process can use only one, so {} cannot be loaded",
                        loaded.display(),
                        wanted.display()
                    ),
                );
            }
        }
        return Ok(env.clone());
    }
    let (env, path) = load(explicit)?;
    *slot = Some((env.clone(), path));
    Ok(env)
}

/// Candidate library paths, in search order, for the error message and the
/// loader; each with whether it must pass [`trust::check`] (what the caller
/// named explicitly need not).
fn candidates(explicit: Option<&Path>) -> Vec<(PathBuf, bool)> {
    if let Some(p) = explicit {
        return vec![(absolute(p), false)];
    }
    let mut out = Vec::new();
    if let Some(p) = std::env::var_os(ORT_LIBRARY_ENV).filter(|p| !p.is_empty()) {
        out.push((absolute(Path::new(&p)), true));
    }
    if let Some(dir) = trust::code_file().as_deref().and_then(Path::parent) {
        out.extend(ORT_FILE_NAMES.iter().map(|n| (dir.join(n), true)));
    }
    // A bare name: dlopen searches LD_LIBRARY_PATH, the ld.so cache and /usr/lib.
    out.push((PathBuf::from(ORT_FILE_NAMES[0]), false));
    out
}

/// `p` made absolute against the current directory: ort resolves relative
/// paths against the executable's directory, which is not what a user means.
fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

fn load(explicit: Option<&Path>) -> Result<(Environment, PathBuf)> {
    let paths = candidates(explicit);
    let mut problems = Vec::new();
    for (path, checked) in &paths {
        let is_bare_name = path.components().count() == 1 && !path.is_absolute();
        if !is_bare_name && !path.exists() {
            continue;
        }
        // Sticky directories (/tmp) may lie on the way: a private copy of
        // kse and ONNX Runtime extracted there (the Java jar's) is found.
        if *checked {
            if let Err(why) = trust::check(path) {
                problems.push(format!("{} is not loaded: {why}", path.display()));
                continue;
            }
        }
        // ort panics rather than erroring in a few loader paths; never let that
        // reach the caller.
        let attempt = catch_unwind(AssertUnwindSafe(|| -> std::result::Result<Environment, String> {
            let builder = ort::init_from(path).map_err(|e| e.to_string())?;
            builder.with_name("kse").with_telemetry(false).build().map_err(|e| e.to_string())
        }));
        match attempt {
            Ok(Ok(env)) => return Ok((env, path.clone())),
            Ok(Err(e)) if is_bare_name && e.contains("failed to load from") => {}
            Ok(Err(e)) => {
                problems.push(format!("{}: {e}", path.display()));
                // A library that loaded but could not build an environment
                // stays loaded; trying further candidates would reuse it.
                break;
            }
            Err(_) => {
                problems.push(format!("{}: loading ONNX Runtime panicked", path.display()));
                break;
            }
        }
    }
    let looked = paths.iter().map(|(p, _)| p.display().to_string()).collect::<Vec<_>>().join(", ");
    if problems.is_empty() {
        err(
            ErrorKind::RuntimeUnavailable,
            format!(
                "ONNX Runtime shared library (1.31 or newer) not found; looked for: {looked}. \
                 Put libonnxruntime.so.1 beside libkse.so, or set {ORT_LIBRARY_ENV} or the \
                 ort_library_path option"
            ),
        )
    } else {
        err(ErrorKind::RuntimeUnavailable, format!("ONNX Runtime could not be loaded: {}", problems.join("; ")))
    }
}

/// Session settings that come from the encoder options.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SessionSettings {
    /// ONNX Runtime intra-op threads per session (at least 1).
    pub intra_threads: usize,
}

/// A fixed set of sessions over one model; `Session::run` needs `&mut`, so
/// each call borrows one session exclusively and concurrent callers use
/// different sessions instead of queueing on one lock.
pub(crate) struct SessionPool {
    sessions: Vec<Mutex<Session>>,
    free: Mutex<Vec<usize>>,
    available: Condvar,
}

/// A session borrowed from the pool; returned on drop.
pub(crate) struct PooledSession<'p> {
    pool: &'p SessionPool,
    index: usize,
    /// Always `Some` until drop, which releases it before announcing the
    /// session as free.
    session: Option<MutexGuard<'p, Session>>,
}

impl std::ops::Deref for PooledSession<'_> {
    type Target = Session;
    fn deref(&self) -> &Session {
        self.session.as_ref().expect("session held until drop")
    }
}

impl std::ops::DerefMut for PooledSession<'_> {
    fn deref_mut(&mut self) -> &mut Session {
        self.session.as_mut().expect("session held until drop")
    }
}

impl Drop for PooledSession<'_> {
    fn drop(&mut self) {
        self.session = None;
        let mut free = self.pool.free.lock().unwrap_or_else(|p| p.into_inner());
        free.push(self.index);
        self.pool.available.notify_one();
    }
}

impl SessionPool {
    pub fn new(env: &Environment, graph: FileData, size: usize, settings: SessionSettings) -> Result<SessionPool> {
        let mut sessions = Vec::with_capacity(size);
        for _ in 0..size.max(1) {
            sessions.push(Mutex::new(build_session(env, graph, settings)?));
        }
        let free = (0..sessions.len()).rev().collect();
        Ok(SessionPool { sessions, free: Mutex::new(free), available: Condvar::new() })
    }

    /// Waits until a session is free and borrows it.
    pub fn acquire(&self) -> PooledSession<'_> {
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        let index = loop {
            if let Some(i) = free.pop() {
                break i;
            }
            free = self.available.wait(free).unwrap_or_else(|p| p.into_inner());
        };
        drop(free);
        // Owning the index means no one else holds this lock; a poisoned lock
        // only means an earlier caller panicked mid-run, and the session holds
        // no per-call state.
        let session = self.sessions[index].lock().unwrap_or_else(|p| p.into_inner());
        PooledSession { pool: self, index, session: Some(session) }
    }
}

/// A session over `graph` with the options every kse session gets.
pub(crate) fn build_session(env: &Environment, graph: FileData, settings: SessionSettings) -> Result<Session> {
    let fail = |e: String| Error::new(ErrorKind::Runtime, format!("cannot create an ONNX Runtime session for {}: {e}", graph.shown()));
    let mut builder = Session::builder(env).map_err(|e| fail(e.to_string()))?;
    builder = builder
        // Memory-pattern planning caches an allocation plan per input shape,
        // so memory would grow with every new sentence length.
        .with_memory_pattern(false)
        .map_err(|e| fail(e.to_string()))?
        .with_optimization_level(GraphOptimizationLevel::All)
        .map_err(|e| fail(e.to_string()))?
        .with_inter_threads(1)
        .map_err(|e| fail(e.to_string()))?
        .with_intra_threads(settings.intra_threads.max(1))
        .map_err(|e| fail(e.to_string()))?
        // Errors reach the caller as statuses; ORT printing them too would
        // write into the host program's stderr.
        .with_log_level(ort::logging::LogLevel::Fatal)
        .map_err(|e| fail(e.to_string()))?
        // ORT fuses blocked-INT4 DequantizeLinear+MatMul into MatMulNBits,
        // which by default quantises activations to int8; level 0 keeps the
        // arithmetic in fp32 so an INT4 graph gives its exact weights' result.
        .with_config_entry("session.qdq_matmulnbits_accuracy_level", "0")
        .map_err(|e| fail(e.to_string()))?;
    match graph {
        FileData::Bytes { bytes, .. } => builder
            .commit_from_memory(bytes)
            .map_err(|e| Error::new(ErrorKind::ModelInvalid, format!("cannot load ONNX graph {}: {e}", graph.shown()))),
        FileData::Path(path) => builder.commit_from_file(path).map_err(|e| {
            let kind = if path.is_file() { ErrorKind::ModelInvalid } else { ErrorKind::ModelNotFound };
            Error::new(kind, format!("cannot load ONNX graph {}: {e}", path.display()))
        }),
    }
}
