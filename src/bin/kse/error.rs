//! The CLI's one error type: a message for stderr and the exit code that
//! scripts can rely on (see [`Exit`]).

use kse::ErrorKind;
use std::fmt;

/// Exit codes, documented in `kse --help`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The model or ONNX Runtime failed: missing or broken model directory,
    /// ONNX Runtime not found, a run failed.
    Runtime = 1,
    /// Bad command line (clap also exits 2 for its own usage errors).
    Usage = 2,
    /// The input data is malformed: wrong number of fields, missing column,
    /// invalid UTF-8, bad JSON, a sentence too long under `--no-truncate`.
    Input = 3,
    /// A file could not be opened, read or written.
    Io = 4,
}

#[derive(Debug)]
pub struct CliError {
    pub exit: Exit,
    pub message: String,
}

pub type Result<T> = std::result::Result<T, CliError>;

impl CliError {
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        CliError { exit, message: message.into() }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Exit::Usage, message)
    }

    /// Malformed input at `FILE:LINE`.
    pub fn input(file: &str, line: u64, message: impl fmt::Display) -> Self {
        Self::new(Exit::Input, format!("{file}:{line}: {message}"))
    }

    pub fn io(what: impl fmt::Display, e: std::io::Error) -> Self {
        Self::new(Exit::Io, format!("{what}: {e}"))
    }

    /// A library error, mapped by its kind.
    pub fn from_kse(e: kse::Error) -> Self {
        let exit = match e.kind() {
            ErrorKind::InvalidUtf8 | ErrorKind::InputTooLong | ErrorKind::Tokenizer => Exit::Input,
            ErrorKind::InvalidArgument => Exit::Usage,
            ErrorKind::BufferTooSmall
            | ErrorKind::ModelNotFound
            | ErrorKind::ModelInvalid
            | ErrorKind::RuntimeUnavailable
            | ErrorKind::Runtime
            | ErrorKind::UnsupportedVersion
            | ErrorKind::InvalidHandle
            | ErrorKind::Internal => Exit::Runtime,
        };
        CliError::new(exit, e.message().to_owned())
    }
}

impl From<kse::Error> for CliError {
    fn from(e: kse::Error) -> Self {
        CliError::from_kse(e)
    }
}
