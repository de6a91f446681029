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

pub mod default_model;
pub mod embedded;
pub mod encoder;
pub mod error;
pub mod ffi;
pub mod manifest;
mod onnx_scan;
mod pooling;
pub mod runtime;
#[doc(hidden)]
pub mod trust;

pub use encoder::{EncodeStats, Encoder, EncoderOptions, Truncation, DEFAULT_BATCH_TOKENS};
pub use error::{Error, ErrorKind, Result};
pub use manifest::{InputType, Manifest, Pooling, UnicodeNormalization};
