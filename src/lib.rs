//! kse — Korean Sentence Encoder.
//!
//! Turns sentences into embedding vectors with an ONNX model described by a
//! model directory (see [`manifest`]). The same [`Encoder`] serves Rust
//! callers directly and C, C++, Go, Java and Python callers through the C ABI
//! in [`ffi`] (header: `include/kse.h`).
//!
//! ```no_run
//! let enc = kse::Encoder::new(kse::EncoderOptions::new("models/multilingual-e5-small"))?;
//! let v = enc.encode(&["안녕하세요", "반갑습니다"])?;
//! assert_eq!(v.len(), 2 * enc.dim());
//! # Ok::<(), kse::Error>(())
//! ```

//! The source follows the pipeline: [`model`] (where the files are, the
//! manifest, the graph checks), `tokenize`, `batch`, [`runtime`] (ONNX
//! Runtime and its sessions), `pooling`, tied together by [`encoder`]; [`ffi`]
//! is the C ABI over it.

mod batch;
mod chunk;
pub mod encoder;
pub mod error;
pub mod ffi;
pub mod model;
mod pooling;
pub mod runtime;
mod tokenize;
#[doc(hidden)]
pub mod trust;

pub use encoder::{Chunk, ChunkOptions, EncodeStats, Encoder, EncoderOptions, DEFAULT_WINDOW_OVERLAP};
pub use error::{Error, ErrorKind, Result};
pub use batch::DEFAULT_BATCH_TOKENS;
pub use model::manifest::{self, InputType, Manifest, Pooling, UnicodeNormalization};
pub use model::default as default_model;
pub use model::ModelSource;
pub use tokenize::Truncation;

/// What the overhead benchmark (`benches/overhead.rs`) needs to replay kse's
/// runs on a bare ONNX Runtime session in the same process. Not an API: only
/// with cargo feature `bench-internals`.
#[cfg(feature = "bench-internals")]
#[doc(hidden)]
pub mod bench_internals {
    use std::path::Path;

    pub use ort::environment::Environment;
    pub use ort::session::Session;

    use crate::model::FileData;
    use crate::runtime::{build_session, SessionSettings};
    use crate::{Encoder, Result};

    /// The process's ONNX Runtime environment (loading the library as kse does).
    pub fn environment() -> Result<Environment> {
        crate::runtime::environment(None)
    }

    /// A session over `graph` with the options kse's own sessions get.
    pub fn session(env: &Environment, graph: &Path, intra_threads: usize) -> Result<Session> {
        build_session(env, FileData::Path(graph), SessionSettings { intra_threads })
    }

    /// kse's runs for texts of these token counts under `budget`.
    pub fn plan_batches(lengths: &[usize], budget: usize) -> Vec<Vec<usize>> {
        crate::batch::plan(lengths, budget)
    }

    /// The id kse pads with.
    pub fn pad_id(enc: &Encoder) -> u32 {
        enc.pad_id()
    }
}
