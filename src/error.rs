//! One error type for the whole library. Every failure carries a [`ErrorKind`]
//! (which the C ABI maps 1:1 onto `kse_status`) and a message that names the
//! problem: the field, the file, the sentence index.

use std::fmt;

/// What went wrong, coarse enough for a caller to branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// An argument is missing or out of range (NULL pointer, zero size, bad option).
    InvalidArgument,
    /// A sentence is not valid UTF-8.
    InvalidUtf8,
    /// The caller's output buffer is too small; nothing was written.
    BufferTooSmall,
    /// A sentence is longer than the model's max tokens and truncation is off.
    InputTooLong,
    /// The model directory or one of its files does not exist or cannot be read.
    ModelNotFound,
    /// The model directory exists but is malformed or inconsistent.
    ModelInvalid,
    /// The ONNX Runtime shared library is missing, unloadable or too old.
    RuntimeUnavailable,
    /// ONNX Runtime reported an error while building a session or running it.
    Runtime,
    /// The tokenizer failed on an input.
    Tokenizer,
    /// The options struct has an unknown size or version.
    UnsupportedVersion,
    /// A C handle that is not a live encoder (e.g. already freed).
    InvalidHandle,
    /// A bug in kse (a caught panic or a broken internal invariant).
    Internal,
}

/// An error with its kind and a human-readable message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into() }
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

/// Shorthand used across the crate: `err(ErrorKind::X, format!(..))`.
pub(crate) fn err<T>(kind: ErrorKind, message: impl Into<String>) -> Result<T> {
    Err(Error::new(kind, message))
}
