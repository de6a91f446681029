//! The C ABI: a thin skin over [`crate::Encoder`]. Each function checks its
//! arguments, runs the core inside `catch_unwind`, and maps the result onto a
//! `kse_status` plus a message in the caller's `kse_error`.
//!
//! Doc comments here are copied into `include/kse.h` by cbindgen: they are the
//! C user's manual, so they state ownership, threading and errors.
#![allow(non_camel_case_types)]

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::{LazyLock, Mutex, Once};

use crate::{ChunkOptions, Encoder, EncoderOptions, Truncation, DEFAULT_BATCH_TOKENS, DEFAULT_WINDOW_OVERLAP};
use crate::error::{Error, ErrorKind};

/// Major version of this library.
pub const KSE_VERSION_MAJOR: u32 = 0;
/// Minor version of this library.
pub const KSE_VERSION_MINOR: u32 = 2;
/// Patch version of this library.
pub const KSE_VERSION_PATCH: u32 = 0;
/// `KSE_VERSION_MAJOR * 10000 + KSE_VERSION_MINOR * 100 + KSE_VERSION_PATCH`:
/// compare it with `kse_version_number()` to check the header against the
/// library actually loaded.
pub const KSE_VERSION_NUMBER: u32 = 200;
/// Bumped whenever a change breaks binary compatibility; it is the number in
/// the library's SONAME (`libkse.so.0`).
pub const KSE_ABI_VERSION: u32 = 0;
/// `SIZE_MAX`: as a text length, "this text is NUL-terminated". Declared in
/// the header by cbindgen.toml (`after_includes`) so C sees `SIZE_MAX`.
/// cbindgen:ignore
pub const KSE_NUL_TERMINATED: usize = usize::MAX;
/// Size of the message buffer in `kse_error`, terminating NUL included.
pub const KSE_ERROR_MESSAGE_SIZE: usize = 512;

/// Result of every fallible call: `KSE_OK` (0) or one of the `KSE_ERR_*`
/// values just above; the text is in the `kse_error` passed to the call. A plain
/// `int32_t` rather than a C enum, so its size is the same for every compiler
/// and binding. Values may be added in later versions; `kse_status_name` names
/// any value.
pub type kse_status = i32;
/// The `kse_status` values (the type follows them): success.
pub const KSE_OK: i32 = 0;
/// An argument is missing or out of range (NULL pointer, bad option value).
pub const KSE_ERR_INVALID_ARGUMENT: i32 = 1;
/// A text is not valid UTF-8; the message gives its index and byte offset.
pub const KSE_ERR_INVALID_UTF8: i32 = 2;
/// The output buffer is too small; nothing was written.
pub const KSE_ERR_BUFFER_TOO_SMALL: i32 = 3;
/// A text is longer than the model's max tokens and truncation is off.
pub const KSE_ERR_INPUT_TOO_LONG: i32 = 4;
/// The model directory or one of its files does not exist.
pub const KSE_ERR_MODEL_NOT_FOUND: i32 = 5;
/// The model directory is malformed or inconsistent; the message names the field.
pub const KSE_ERR_MODEL_INVALID: i32 = 6;
/// The ONNX Runtime library is missing, unloadable or older than 1.31; the
/// message says where kse looked.
pub const KSE_ERR_RUNTIME_UNAVAILABLE: i32 = 7;
/// ONNX Runtime failed while creating a session or running the model.
pub const KSE_ERR_RUNTIME: i32 = 8;
/// The tokenizer failed on a text.
pub const KSE_ERR_TOKENIZER: i32 = 9;
/// `struct_size` of `kse_options` is not one this library knows (the header
/// is newer or older than the library).
pub const KSE_ERR_UNSUPPORTED_VERSION: i32 = 10;
/// The handle is not a live encoder: never created, or already freed.
pub const KSE_ERR_INVALID_HANDLE: i32 = 11;
/// A bug in kse (an internal panic was caught); please report it.
pub const KSE_ERR_INTERNAL: i32 = 12;

/// What to do with a text longer than the model's max tokens (the values of
/// `kse_options.truncation`; docs/long-inputs.md defines each exactly).
pub type kse_truncation = u32;
/// Keep the first max-tokens tokens; `kse_encode_stats.truncated` counts the
/// texts that were cut. The default. A huge text costs about as much as one
/// of max tokens: only the part that yields the kept ids is tokenised.
pub const KSE_TRUNCATE: kse_truncation = 0;
/// Fail the call with `KSE_ERR_INPUT_TOO_LONG`.
pub const KSE_TRUNCATION_ERROR: kse_truncation = 1;
/// Cut the text into windows of max tokens overlapping by
/// `kse_options.window_overlap` tokens, run every window, and combine their
/// vectors into one, each window weighted by the tokens it adds;
/// `kse_encode_stats.windowed` and `.windows` count them. (kse 0.2.)
pub const KSE_WINDOW: kse_truncation = 2;

/// Options for `kse_create`. Initialise with `KSE_OPTIONS_INIT(&opts)` (or
/// `kse_options_init(&opts, sizeof opts)`), then change the fields you need:
/// fields added in later versions then get their defaults, and the library
/// can tell which version of this struct the caller was compiled with.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct kse_options {
    /// Size of this struct as the caller compiled it; set by `kse_options_init`.
    pub struct_size: u32,
    /// ONNX Runtime intra-op threads per session; 0 = the machine's cores
    /// divided among the sessions.
    pub intra_threads: u32,
    /// Number of sessions in the pool, i.e. how many `kse_encode` calls on one
    /// encoder run at the same time (more wait). Default 1. Weights stored as
    /// ONNX external data are mapped from the file and shared by all sessions;
    /// each session keeps its own working memory.
    pub sessions: u32,
    /// Upper bound on (texts in a batch) x (longest text's tokens) per model
    /// run; bounds memory. Default 512. A text longer than this runs alone.
    pub batch_tokens: u32,
    /// What to do with over-long texts: `KSE_TRUNCATE` (default),
    /// `KSE_TRUNCATION_ERROR` or `KSE_WINDOW`.
    pub truncation: kse_truncation,
    /// Must be 0.
    pub reserved: u32,
    /// Path of the model directory (UTF-8, NUL-terminated); or the name of a
    /// model shipped with kse, "kse-ko-small" or "kse-ko-mini" (6 layers,
    /// about twice as fast; "./kse-ko-mini" is a directory); or NULL for the
    /// default model (see `kse_create`). Only read during `kse_create`.
    pub model_dir: *const c_char,
    /// Path of the ONNX Runtime library to load, or NULL to search: the
    /// `KSE_ORT_LIBRARY` environment variable, then `libonnxruntime.so.1`
    /// beside libkse.so (or in `kse/` beside it), then the system library
    /// path; a file found through the first two is loaded only if no user
    /// other than the caller and root can change it. The first library
    /// loaded serves the whole process; naming a different one later is an
    /// error.
    pub ort_library_path: *const c_char,
    /// Under `KSE_WINDOW`: tokens consecutive windows share. Default 32;
    /// must be less than max tokens minus the special and prefix tokens.
    /// (Added in kse 0.2.)
    pub window_overlap: u32,
    /// Must be 0. (Added in kse 0.2.)
    pub reserved2: u32,
}

/// Counts reported by `kse_encode`. An encoder created with the kse 0.1
/// `kse_options` (its smaller `struct_size`) writes only the first two
/// fields, as that header's struct has no more.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct kse_encode_stats {
    /// Tokens fed to the model, special tokens included, padding excluded.
    pub tokens: usize,
    /// Texts cut at the model's max tokens.
    pub truncated: usize,
    /// Texts over max tokens encoded in windows (`KSE_WINDOW`). (Added in kse 0.2.)
    pub windowed: usize,
    /// Windows those texts took. (Added in kse 0.2.)
    pub windows: usize,
}

/// One chunk from `kse_encode_chunks`: bytes `start` up to (not including)
/// `end` of the caller's text, and the ids the model saw for it.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct kse_chunk {
    /// Offset of the chunk's first byte in the document.
    pub start: usize,
    /// Offset just past its last byte (on a UTF-8 character boundary).
    pub end: usize,
    /// Ids of the chunk's model row, special and prefix tokens included.
    pub tokens: usize,
}

/// Error details filled in by a failing call. Caller-owned (stack or heap);
/// kse never allocates or keeps it, so there is nothing to free. Use one
/// `kse_error` per concurrent call.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct kse_error {
    /// Same value as the call returned.
    pub status: kse_status,
    /// NUL-terminated UTF-8 message naming the problem (cut at a character
    /// boundary if longer than the buffer).
    pub message: [c_char; KSE_ERROR_MESSAGE_SIZE],
}

/// An encoder: a loaded model with its tokenizer and ONNX Runtime sessions.
/// Opaque; create with `kse_create`, release with `kse_free`.
pub struct kse_encoder {
    encoder: Encoder,
    name: CString,
    /// Bytes of `kse_encode_stats` the caller's header has: told by the
    /// `kse_options` size it created the encoder with.
    stats_size: usize,
}

/// Addresses of the encoders `kse_create` handed out and `kse_free` has not
/// released: lets every call reject a stale or foreign handle without reading
/// the memory it points to. (An address reused by a later `kse_create` is
/// live again; no registry can tell that apart.)
static LIVE_HANDLES: LazyLock<Mutex<HashSet<usize>>> = LazyLock::new(|| Mutex::new(HashSet::new()));

fn live_handles() -> std::sync::MutexGuard<'static, HashSet<usize>> {
    LIVE_HANDLES.lock().unwrap_or_else(|p| p.into_inner())
}

thread_local! {
    /// The last panic inside a C ABI call on this thread, recorded by kse's
    /// panic hook for the error message.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
    /// Whether this thread is inside a C ABI call (panics there are caught).
    static IN_CALL: Cell<bool> = const { Cell::new(false) };
}

/// Keeps panics inside C ABI calls out of the host program's stderr: their
/// text goes into the caller's `kse_error` instead. Panics elsewhere (a Rust
/// program using the crate directly) still reach the previous hook.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if IN_CALL.with(Cell::get) {
                LAST_PANIC.with(|p| *p.borrow_mut() = Some(info.to_string()));
            } else {
                previous(info);
            }
        }))
    });
}

/// Runs `f` with panics caught and marked as inside a C ABI call.
fn catch<R>(f: impl FnOnce() -> R) -> std::thread::Result<R> {
    install_panic_hook();
    let outer = IN_CALL.with(|c| c.replace(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    IN_CALL.with(|c| c.set(outer));
    result
}

/// Fills `err` (if non-NULL) and returns the status.
fn report(err: *mut kse_error, kind: ErrorKind, message: &str) -> kse_status {
    let status = status_of(kind);
    if !err.is_null() {
        // SAFETY: the caller promises `err` points to a writable kse_error.
        let e = unsafe { &mut *err };
        e.status = status;
        let mut end = message.len().min(KSE_ERROR_MESSAGE_SIZE - 1);
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        for (dst, &b) in e.message.iter_mut().zip(&message.as_bytes()[..end]) {
            *dst = b as c_char;
        }
        e.message[end] = 0;
    }
    status
}

/// Every status with its C name and the error kind it reports, in value
/// order: the one table `status_of` and `kse_status_name` read (the
/// constants above are what cbindgen writes into kse.h; the bindings' tables
/// are tested against kse.h).
macro_rules! status_table {
    ($($name:ident => $kind:expr),* $(,)?) => {
        &[$(($name, c_name(concat!(stringify!($name), "\0")), $kind)),*]
    };
}

const fn c_name(s: &'static str) -> &'static CStr {
    match CStr::from_bytes_with_nul(s.as_bytes()) {
        Ok(c) => c,
        Err(_) => panic!("a status name has a NUL inside"),
    }
}

const STATUSES: &[(kse_status, &CStr, Option<ErrorKind>)] = status_table![
    KSE_OK => None,
    KSE_ERR_INVALID_ARGUMENT => Some(ErrorKind::InvalidArgument),
    KSE_ERR_INVALID_UTF8 => Some(ErrorKind::InvalidUtf8),
    KSE_ERR_BUFFER_TOO_SMALL => Some(ErrorKind::BufferTooSmall),
    KSE_ERR_INPUT_TOO_LONG => Some(ErrorKind::InputTooLong),
    KSE_ERR_MODEL_NOT_FOUND => Some(ErrorKind::ModelNotFound),
    KSE_ERR_MODEL_INVALID => Some(ErrorKind::ModelInvalid),
    KSE_ERR_RUNTIME_UNAVAILABLE => Some(ErrorKind::RuntimeUnavailable),
    KSE_ERR_RUNTIME => Some(ErrorKind::Runtime),
    KSE_ERR_TOKENIZER => Some(ErrorKind::Tokenizer),
    KSE_ERR_UNSUPPORTED_VERSION => Some(ErrorKind::UnsupportedVersion),
    KSE_ERR_INVALID_HANDLE => Some(ErrorKind::InvalidHandle),
    KSE_ERR_INTERNAL => Some(ErrorKind::Internal),
];

// The table holds the values 0, 1, 2, ... in order: none missing, none twice.
const _: () = {
    let mut i = 0;
    while i < STATUSES.len() {
        assert!(STATUSES[i].0 == i as kse_status);
        i += 1;
    }
};

fn status_of(kind: ErrorKind) -> kse_status {
    STATUSES.iter().find(|s| s.2 == Some(kind)).map_or(KSE_ERR_INTERNAL, |s| s.0)
}

/// Runs `body` with panics caught; maps its error onto a status and `err`.
fn guarded(err: *mut kse_error, body: impl FnOnce() -> Result<(), Error>) -> kse_status {
    match catch(body) {
        Ok(Ok(())) => {
            if !err.is_null() {
                // SAFETY: as in `report`.
                let e = unsafe { &mut *err };
                e.status = KSE_OK;
                e.message[0] = 0;
            }
            KSE_OK
        }
        Ok(Err(e)) => report(err, e.kind(), e.message()),
        Err(_) => {
            let what = LAST_PANIC.with(|p| p.borrow_mut().take()).unwrap_or_else(|| "unknown panic".to_owned());
            report(err, ErrorKind::Internal, &format!("internal error (please report): {what}"))
        }
    }
}

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidArgument, message)
}

/// Borrows a live encoder or says why not. Never dereferences a pointer
/// that is not in the registry.
///
/// # Safety
/// `enc` must not be freed concurrently with this call.
unsafe fn live<'a>(enc: *const kse_encoder) -> Result<&'a kse_encoder, Error> {
    if enc.is_null() {
        return Err(invalid("encoder handle is NULL"));
    }
    if !live_handles().contains(&(enc as usize)) {
        return Err(Error::new(ErrorKind::InvalidHandle, "encoder handle is not a live encoder (already freed?)"));
    }
    Ok(&*enc)
}

/// Reads one text as UTF-8.
///
/// # Safety
/// `ptr` must be valid for `len` bytes, or NUL-terminated when `len` is
/// `KSE_NUL_TERMINATED`.
unsafe fn text<'a>(what: &dyn Fn() -> String, ptr: *const c_char, len: usize) -> Result<&'a str, Error> {
    let bytes: &[u8] = if ptr.is_null() {
        if len == 0 {
            &[]
        } else {
            return Err(invalid(format!("{} is NULL", what())));
        }
    } else if len == KSE_NUL_TERMINATED {
        CStr::from_ptr(ptr).to_bytes()
    } else if len > isize::MAX as usize {
        return Err(invalid(format!("length of {} is {len}, larger than any buffer can be", what())));
    } else {
        std::slice::from_raw_parts(ptr.cast::<u8>(), len)
    };
    std::str::from_utf8(bytes).map_err(|e| {
        Error::new(
            ErrorKind::InvalidUtf8,
            format!("{} is not valid UTF-8 (invalid byte at offset {})", what(), e.valid_up_to()),
        )
    })
}

/// Size of the first `kse_options` layout (kse 0.1: six `u32`, two pointers),
/// frozen: programs compiled against that header keep working when fields are
/// added. A new field goes at the end, and the struct's new size joins
/// `KNOWN_OPTIONS_SIZES`; the checks below stop a change that moves a field.
const OPTIONS_V1_SIZE: usize = 6 * 4 + 2 * std::mem::size_of::<*const c_char>();
/// kse 0.2 added `window_overlap` and `reserved2`.
const OPTIONS_V2_SIZE: usize = OPTIONS_V1_SIZE + 2 * 4;

/// Every `kse_options` layout this library accepts, oldest first; the last is
/// today's struct.
const KNOWN_OPTIONS_SIZES: &[usize] = &[OPTIONS_V1_SIZE, OPTIONS_V2_SIZE];

/// `kse_encode_stats` as the kse 0.1 header had it (`tokens`, `truncated`).
const STATS_V1_SIZE: usize = 2 * std::mem::size_of::<usize>();

const _: () = {
    use std::mem::{offset_of, size_of};
    let p = size_of::<*const c_char>();
    assert!(offset_of!(kse_options, struct_size) == 0);
    assert!(offset_of!(kse_options, intra_threads) == 4);
    assert!(offset_of!(kse_options, sessions) == 8);
    assert!(offset_of!(kse_options, batch_tokens) == 12);
    assert!(offset_of!(kse_options, truncation) == 16);
    assert!(offset_of!(kse_options, reserved) == 20);
    assert!(offset_of!(kse_options, model_dir) == 24);
    assert!(offset_of!(kse_options, ort_library_path) == 24 + p);
    assert!(offset_of!(kse_options, window_overlap) == OPTIONS_V1_SIZE);
    assert!(offset_of!(kse_options, reserved2) == OPTIONS_V1_SIZE + 4);
    assert!(offset_of!(kse_encode_stats, windowed) == STATS_V1_SIZE);
    assert!(KNOWN_OPTIONS_SIZES[KNOWN_OPTIONS_SIZES.len() - 1] == size_of::<kse_options>());
};

fn default_options() -> kse_options {
    kse_options {
        struct_size: std::mem::size_of::<kse_options>() as u32,
        intra_threads: 0,
        sessions: 1,
        batch_tokens: DEFAULT_BATCH_TOKENS as u32,
        truncation: KSE_TRUNCATE,
        reserved: 0,
        model_dir: std::ptr::null(),
        ort_library_path: std::ptr::null(),
        window_overlap: DEFAULT_WINDOW_OVERLAP as u32,
        reserved2: 0,
    }
}

fn check_options_size(size: usize) -> Result<(), Error> {
    if KNOWN_OPTIONS_SIZES.contains(&size) {
        return Ok(());
    }
    let known: Vec<String> = KNOWN_OPTIONS_SIZES.iter().map(usize::to_string).collect();
    Err(Error::new(
        ErrorKind::UnsupportedVersion,
        format!(
            "kse_options struct_size is {size}, but this library (kse {}) knows the sizes {}; \
             initialise options with KSE_OPTIONS_INIT and use the kse.h that matches the library",
            env!("CARGO_PKG_VERSION"),
            known.join(", ")
        ),
    ))
}

/// Fills `*opts` with the defaults for every field (`model_dir` NULL: the
/// default model) and sets `struct_size`. Pass
/// `sizeof *opts` as `struct_size`, or use `KSE_OPTIONS_INIT(opts)`; only that
/// many bytes are written. Returns `KSE_ERR_UNSUPPORTED_VERSION` (writing
/// nothing) when the size is not one this library knows.
#[no_mangle]
pub unsafe extern "C" fn kse_options_init(opts: *mut kse_options, struct_size: usize) -> kse_status {
    guarded(std::ptr::null_mut(), || {
        if opts.is_null() {
            return Err(invalid("opts is NULL"));
        }
        check_options_size(struct_size)?;
        let mut defaults = default_options();
        defaults.struct_size = struct_size as u32;
        std::ptr::copy_nonoverlapping((&defaults as *const kse_options).cast::<u8>(), opts.cast::<u8>(), struct_size);
        Ok(())
    })
}

/// Loads the model directory in `opts->model_dir` and creates an encoder.
/// With `model_dir` NULL it loads the default model, kse-ko-small: the
/// directory in `$KSE_MODEL_DIR` if set, else `models/kse-ko-small` of the
/// build tree or `share/kse/models/kse-ko-small` of the installed tree that
/// libkse sits in (`KSE_ERR_MODEL_NOT_FOUND`, naming the places, if none has it).
/// With `model_dir` "kse-ko-small" or "kse-ko-mini" (exactly; a model shipped
/// with kse) it loads that model from the same build or installed tree, or
/// for "kse-ko-small" the copy compiled into libkse if it carries one
/// (`$KSE_MODEL_DIR` is not consulted, nor the current directory).
/// A default or named model is used only if no user other than the caller and
/// root can change it; shared directories such as `/tmp`, a libkse copied into
/// a fresh temporary directory and the current directory are never searched.
///
/// On success `*out` receives the encoder, which the caller owns and must
/// release with `kse_free`. On failure `*out` is set to NULL and `err` (may be
/// NULL) says why: a missing directory or file (`KSE_ERR_MODEL_NOT_FOUND`), a
/// bad manifest or a graph that disagrees with it (`KSE_ERR_MODEL_INVALID`,
/// naming the field), no usable ONNX Runtime (`KSE_ERR_RUNTIME_UNAVAILABLE`,
/// naming where kse looked), options from another version of kse.h
/// (`KSE_ERR_UNSUPPORTED_VERSION`). Loading takes about a second for the
/// default model; do it once and share the encoder across threads.
#[no_mangle]
pub unsafe extern "C" fn kse_create(opts: *const kse_options, out: *mut *mut kse_encoder, err: *mut kse_error) -> kse_status {
    guarded(err, || {
        if out.is_null() {
            return Err(invalid("out (where the encoder is returned) is NULL"));
        }
        *out = std::ptr::null_mut();
        if opts.is_null() {
            return Err(invalid("options are NULL; initialise them with KSE_OPTIONS_INIT"));
        }
        // Only `struct_size` bytes of the caller's struct exist: read the size,
        // then copy that many bytes over the defaults.
        let size = std::ptr::read_unaligned(opts.cast::<u32>()) as usize;
        check_options_size(size)?;
        let mut o = default_options();
        std::ptr::copy_nonoverlapping(opts.cast::<u8>(), (&mut o as *mut kse_options).cast::<u8>(), size);

        let model = crate::model::default::resolve(path(o.model_dir, "kse_options.model_dir")?.as_deref())?;
        let ort_library = path(o.ort_library_path, "kse_options.ort_library_path")?;
        let truncation = match o.truncation {
            KSE_TRUNCATE => Truncation::Truncate,
            KSE_TRUNCATION_ERROR => Truncation::Error,
            KSE_WINDOW => Truncation::Window,
            other => {
                return Err(invalid(format!(
                    "kse_options.truncation is {other}; use KSE_TRUNCATE, KSE_TRUNCATION_ERROR or KSE_WINDOW"
                )))
            }
        };
        if o.reserved != 0 || o.reserved2 != 0 {
            return Err(invalid("kse_options.reserved and reserved2 must be 0"));
        }
        let options = EncoderOptions {
            model,
            ort_library,
            intra_threads: o.intra_threads as usize,
            sessions: o.sessions as usize,
            batch_tokens: o.batch_tokens as usize,
            truncation,
            window_overlap: o.window_overlap as usize,
        };
        let encoder = Encoder::new(options)?;
        let name = CString::new(encoder.manifest().name.replace('\0', "")).unwrap_or_default();
        let stats_size = if size == OPTIONS_V1_SIZE { STATS_V1_SIZE } else { std::mem::size_of::<kse_encode_stats>() };
        let handle = Box::into_raw(Box::new(kse_encoder { encoder, name, stats_size }));
        live_handles().insert(handle as usize);
        *out = handle;
        Ok(())
    })
}

unsafe fn path(p: *const c_char, what: &str) -> Result<Option<PathBuf>, Error> {
    if p.is_null() {
        return Ok(None);
    }
    let s = text(&|| what.to_owned(), p, KSE_NUL_TERMINATED)?;
    if s.is_empty() {
        return Err(invalid(format!("{what} is an empty string")));
    }
    Ok(Some(PathBuf::from(s)))
}

/// Releases an encoder and everything it holds. `kse_free(NULL)` does
/// nothing, and so does a pointer that is not a live encoder (already freed,
/// or never created). No other call may be using `enc` at the same time.
#[no_mangle]
pub unsafe extern "C" fn kse_free(enc: *mut kse_encoder) {
    if enc.is_null() || !live_handles().remove(&(enc as usize)) {
        return;
    }
    let _ = catch(|| drop(Box::from_raw(enc)));
}

/// Checks the output buffer and embeds `texts` into it: the common body of
/// `kse_encode` and `kse_encode_packed`.
unsafe fn encode_checked<'t>(
    enc: &kse_encoder,
    n: usize,
    out: *mut f32,
    out_capacity: usize,
    stats: *mut kse_encode_stats,
    read_texts: impl FnOnce() -> Result<Vec<&'t str>, Error>,
) -> Result<(), Error> {
    write_stats(enc, stats, kse_encode_stats::default());
    if n == 0 {
        return Ok(());
    }
    if out.is_null() {
        return Err(invalid("out is NULL"));
    }
    let needed = enc.encoder.output_len(n, out_capacity)?;
    let texts = read_texts()?;
    let out = std::slice::from_raw_parts_mut(out, needed);
    let s = enc.encoder.encode_into(&texts, out)?;
    let s = kse_encode_stats { tokens: s.tokens, truncated: s.truncated, windowed: s.windowed, windows: s.windows };
    write_stats(enc, stats, s);
    Ok(())
}

/// Writes as much of `s` as the caller's `kse_encode_stats` holds.
unsafe fn write_stats(enc: &kse_encoder, stats: *mut kse_encode_stats, s: kse_encode_stats) {
    if !stats.is_null() {
        std::ptr::copy_nonoverlapping((&s as *const kse_encode_stats).cast::<u8>(), stats.cast::<u8>(), enc.stats_size);
    }
}

/// Embeds `n` texts into `out`, row `i` (`kse_dim(enc)` floats) for `texts[i]`.
///
/// - `texts[i]` is UTF-8 of `lengths[i]` bytes; `lengths` may be NULL (all
///   texts NUL-terminated) and any `lengths[i]` may be `KSE_NUL_TERMINATED`.
///   Embedded NULs in explicit-length text are passed to the tokenizer.
///   `texts[i]` may be NULL only when its length is 0. Empty texts are valid.
///   (A `char **` array needs a cast: `(const char *const *)texts`.)
/// - `out` holds `out_capacity` floats and must have room for `n * kse_dim(enc)`,
///   otherwise `KSE_ERR_BUFFER_TOO_SMALL` and nothing is written.
/// - `n == 0` succeeds and writes nothing (`texts` and `out` may then be NULL).
/// - `stats` (may be NULL) receives token and truncation counts.
///
/// On any error `out` is left untouched. A text's vector does not depend on
/// the other texts in the call beyond float rounding (tested within 1e-6).
/// Thread-safe: many threads may encode with one encoder at once (up to
/// `kse_options.sessions` run in parallel; the others wait).
#[no_mangle]
pub unsafe extern "C" fn kse_encode(
    enc: *const kse_encoder,
    texts: *const *const c_char,
    lengths: *const usize,
    n: usize,
    out: *mut f32,
    out_capacity: usize,
    stats: *mut kse_encode_stats,
    err: *mut kse_error,
) -> kse_status {
    guarded(err, || {
        let enc = live(enc)?;
        if n > 0 && texts.is_null() {
            return Err(invalid("texts is NULL"));
        }
        encode_checked(enc, n, out, out_capacity, stats, || {
            (0..n)
                .map(|i| {
                    let len = if lengths.is_null() { KSE_NUL_TERMINATED } else { *lengths.add(i) };
                    text(&|| format!("text {i}"), *texts.add(i), len)
                })
                .collect()
        })
    })
}

/// Like `kse_encode`, for texts packed into one buffer: text `i` is bytes
/// `data[offsets[i]]` up to (not including) `data[offsets[i + 1]]`, so
/// `offsets` has `n + 1` non-decreasing entries. Suits callers that hold
/// their strings in one byte array (Go, Java, Arrow-style columns); no NUL
/// terminators are needed or read. `data` may be NULL when all texts are
/// empty. Same buffer, error and threading rules as `kse_encode`.
#[no_mangle]
pub unsafe extern "C" fn kse_encode_packed(
    enc: *const kse_encoder,
    data: *const c_char,
    offsets: *const usize,
    n: usize,
    out: *mut f32,
    out_capacity: usize,
    stats: *mut kse_encode_stats,
    err: *mut kse_error,
) -> kse_status {
    guarded(err, || {
        let enc = live(enc)?;
        if n > 0 && offsets.is_null() {
            return Err(invalid("offsets is NULL"));
        }
        encode_checked(enc, n, out, out_capacity, stats, || {
            let offsets = std::slice::from_raw_parts(offsets, n + 1);
            if offsets[n] > isize::MAX as usize {
                return Err(invalid(format!("offsets[{n}] is {}, larger than any buffer can be", offsets[n])));
            }
            if let Some(i) = (0..n).find(|&i| offsets[i] > offsets[i + 1]) {
                return Err(invalid(format!("offsets[{i}] ({}) > offsets[{}] ({})", offsets[i], i + 1, offsets[i + 1])));
            }
            if data.is_null() && offsets[n] > offsets[0] {
                return Err(invalid("data is NULL"));
            }
            (0..n)
                .map(|i| {
                    let len = offsets[i + 1] - offsets[i];
                    let start = if len == 0 { std::ptr::null() } else { data.add(offsets[i]) };
                    text(&|| format!("text {i}"), start, len)
                })
                .collect()
        })
    })
}

/// Token ids the model sees for one text: prefix added, special tokens in
/// place, cut at max tokens (or `KSE_ERR_INPUT_TOO_LONG` when truncation is
/// off; under `KSE_WINDOW`, the first window's ids). `length` may be
/// `KSE_NUL_TERMINATED`.
///
/// `*n_ids` (required) receives the number of ids. If `ids_capacity` is
/// smaller, the call returns `KSE_ERR_BUFFER_TOO_SMALL` and writes no ids, so
/// calling with `ids = NULL, ids_capacity = 0` asks for the count.
#[no_mangle]
pub unsafe extern "C" fn kse_tokenize(
    enc: *const kse_encoder,
    text_ptr: *const c_char,
    length: usize,
    ids: *mut i32,
    ids_capacity: usize,
    n_ids: *mut usize,
    err: *mut kse_error,
) -> kse_status {
    guarded(err, || {
        let enc = live(enc)?;
        if n_ids.is_null() {
            return Err(invalid("n_ids is NULL"));
        }
        let s = text(&|| "text".to_owned(), text_ptr, length)?;
        let (tokens, _) = enc.encoder.tokenize(s)?;
        *n_ids = tokens.len();
        if ids_capacity < tokens.len() {
            return Err(Error::new(
                ErrorKind::BufferTooSmall,
                format!("ids_capacity is {ids_capacity}; the text has {} tokens", tokens.len()),
            ));
        }
        if ids.is_null() {
            return Err(invalid("ids is NULL"));
        }
        for (i, &t) in tokens.iter().enumerate() {
            *ids.add(i) = t as i32;
        }
        Ok(())
    })
}

/// How many ids the model would see for one text without truncation: prefix
/// and special tokens included, as `kse_tokenize` would return them if the
/// model had no token limit. Runs only the tokenizer, never the model.
/// `length` may be `KSE_NUL_TERMINATED`; `*n_tokens` (required) receives
/// the count.
#[no_mangle]
pub unsafe extern "C" fn kse_count_tokens(
    enc: *const kse_encoder,
    text_ptr: *const c_char,
    length: usize,
    n_tokens: *mut usize,
    err: *mut kse_error,
) -> kse_status {
    guarded(err, || {
        let enc = live(enc)?;
        if n_tokens.is_null() {
            return Err(invalid("n_tokens is NULL"));
        }
        let s = text(&|| "text".to_owned(), text_ptr, length)?;
        *n_tokens = enc.encoder.count_tokens(s)?;
        Ok(())
    })
}

/// Splits one document into chunks of at most `chunk_tokens` tokens (special
/// and prefix tokens included; 0 = the model's max tokens), at sentence ends
/// where it can (`.` `?` `!` `…` before a space, `。` `？` `！`, line breaks)
/// and at token boundaries where one sentence alone is too long,
/// consecutive chunks sharing `overlap` tokens, and embeds each chunk:
/// chunk `i`'s byte range and token count in `chunks[i]`, its vector in row
/// `i` of `out` (`kse_dim(enc)` floats). docs/long-inputs.md defines the
/// cuts exactly.
///
/// - `text` is UTF-8 of `length` bytes (`KSE_NUL_TERMINATED` allowed). An
///   empty or whitespace-only document has no chunks: `KSE_OK` with
///   `*n_chunks = 0`.
/// - `*n_chunks` (required) receives the number of chunks. If
///   `chunks_capacity` is smaller, the call returns
///   `KSE_ERR_BUFFER_TOO_SMALL` and writes nothing else, so
///   `chunks = NULL, chunks_capacity = 0` asks for the count (the tokenizer
///   runs; the model does not).
/// - `out = NULL, out_capacity = 0` fills `chunks` only, without running the
///   model. Otherwise `out` must hold `*n_chunks * kse_dim(enc)` floats, or
///   `KSE_ERR_BUFFER_TOO_SMALL` and nothing is written.
/// - `chunk_tokens` above max tokens or not above the special and prefix
///   tokens, or `overlap` not below the text tokens a chunk holds:
///   `KSE_ERR_INVALID_ARGUMENT`.
///
/// On any error `chunks` and `out` are left untouched. Thread-safe like
/// `kse_encode`; the chunks of one document share batches.
#[no_mangle]
pub unsafe extern "C" fn kse_encode_chunks(
    enc: *const kse_encoder,
    text_ptr: *const c_char,
    length: usize,
    chunk_tokens: usize,
    overlap: usize,
    chunks: *mut kse_chunk,
    chunks_capacity: usize,
    out: *mut f32,
    out_capacity: usize,
    n_chunks: *mut usize,
    err: *mut kse_error,
) -> kse_status {
    guarded(err, || {
        let enc = live(enc)?;
        if n_chunks.is_null() {
            return Err(invalid("n_chunks is NULL"));
        }
        let s = text(&|| "text".to_owned(), text_ptr, length)?;
        let plan = enc.encoder.plan_chunks(s, ChunkOptions { tokens: chunk_tokens, overlap })?;
        let n = plan.chunks.len();
        *n_chunks = n;
        if chunks_capacity < n {
            return Err(Error::new(
                ErrorKind::BufferTooSmall,
                format!("chunks_capacity is {chunks_capacity}; the document has {n} chunks"),
            ));
        }
        if n == 0 {
            return Ok(());
        }
        if chunks.is_null() {
            return Err(invalid("chunks is NULL"));
        }
        let ranges_only = out.is_null() && out_capacity == 0;
        let vectors = if ranges_only {
            None
        } else {
            if out.is_null() {
                return Err(invalid("out is NULL but out_capacity is not 0"));
            }
            enc.encoder.vectors_len(n, "chunks", out_capacity)?;
            Some(enc.encoder.embed_chunks(&plan)?)
        };
        for (i, c) in plan.chunks.iter().enumerate() {
            *chunks.add(i) = kse_chunk { start: c.start, end: c.end, tokens: c.tokens };
        }
        if let Some(v) = vectors {
            std::ptr::copy_nonoverlapping(v.as_ptr(), out, v.len());
        }
        Ok(())
    })
}

/// Width of each embedding (floats per text); 0 if `enc` is NULL.
#[no_mangle]
pub unsafe extern "C" fn kse_dim(enc: *const kse_encoder) -> usize {
    live(enc).map(|e| e.encoder.dim()).unwrap_or(0)
}

/// The model's max tokens per text, special tokens included; 0 if `enc` is NULL.
#[no_mangle]
pub unsafe extern "C" fn kse_max_tokens(enc: *const kse_encoder) -> usize {
    live(enc).map(|e| e.encoder.manifest().max_tokens).unwrap_or(0)
}

/// The model's name from its manifest, NUL-terminated UTF-8, owned by the
/// encoder and valid until `kse_free`; "" if `enc` is NULL.
#[no_mangle]
pub unsafe extern "C" fn kse_model_name(enc: *const kse_encoder) -> *const c_char {
    match live(enc) {
        Ok(e) => e.name.as_ptr(),
        Err(_) => c"".as_ptr(),
    }
}

/// The library's version as a static string, e.g. "0.2.0".
#[no_mangle]
pub extern "C" fn kse_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The library's version as `KSE_VERSION_NUMBER` computes it.
#[no_mangle]
pub extern "C" fn kse_version_number() -> u32 {
    KSE_VERSION_NUMBER
}

/// The library's ABI version (`KSE_ABI_VERSION` it was built with).
#[no_mangle]
pub extern "C" fn kse_abi_version() -> u32 {
    KSE_ABI_VERSION
}

/// A static name for a status, e.g. "KSE_ERR_INVALID_UTF8"; never NULL
/// ("KSE_ERR_UNKNOWN" for values this version does not define).
#[no_mangle]
pub extern "C" fn kse_status_name(status: kse_status) -> *const c_char {
    let name = STATUSES.iter().find(|s| s.0 == status).map_or(c"KSE_ERR_UNKNOWN", |s| s.1);
    name.as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_constants_match_cargo() {
        let v = format!("{KSE_VERSION_MAJOR}.{KSE_VERSION_MINOR}.{KSE_VERSION_PATCH}");
        assert_eq!(v, env!("CARGO_PKG_VERSION"));
        assert_eq!(KSE_VERSION_NUMBER, KSE_VERSION_MAJOR * 10000 + KSE_VERSION_MINOR * 100 + KSE_VERSION_PATCH);
        assert_eq!(KSE_ABI_VERSION, KSE_VERSION_MAJOR);
    }

    #[test]
    fn status_names_cover_every_status() {
        for s in 0..=12 {
            let name = unsafe { CStr::from_ptr(kse_status_name(s)) }.to_str().unwrap();
            assert_ne!(name, "KSE_ERR_UNKNOWN", "status {s}");
        }
        assert_eq!(unsafe { CStr::from_ptr(kse_status_name(99)) }.to_str().unwrap(), "KSE_ERR_UNKNOWN");
    }

    #[test]
    fn every_error_kind_has_its_own_status() {
        use ErrorKind::*;
        let kinds = [
            InvalidArgument, InvalidUtf8, BufferTooSmall, InputTooLong, ModelNotFound, ModelInvalid,
            RuntimeUnavailable, Runtime, Tokenizer, UnsupportedVersion, InvalidHandle, Internal,
        ];
        // A new kind must be added to `kinds` (this match stops compiling) and to STATUSES.
        for k in kinds {
            match k {
                InvalidArgument | InvalidUtf8 | BufferTooSmall | InputTooLong | ModelNotFound | ModelInvalid
                | RuntimeUnavailable | Runtime | Tokenizer | UnsupportedVersion | InvalidHandle | Internal => {}
            }
        }
        let mut statuses: Vec<kse_status> = kinds.iter().map(|&k| status_of(k)).collect();
        assert!(statuses.iter().all(|&s| s != KSE_OK));
        statuses.sort();
        statuses.dedup();
        assert_eq!(statuses.len(), kinds.len());
        assert_eq!(status_of(ModelNotFound), KSE_ERR_MODEL_NOT_FOUND);
        assert_eq!(status_of(Internal), KSE_ERR_INTERNAL);
    }

    #[test]
    fn long_messages_are_cut_at_a_char_boundary() {
        let mut e = kse_error { status: KSE_OK, message: [1; KSE_ERROR_MESSAGE_SIZE] };
        let msg = "한".repeat(400); // 1200 bytes
        report(&mut e, ErrorKind::InvalidArgument, &msg);
        let got = unsafe { CStr::from_ptr(e.message.as_ptr()) }.to_str().unwrap();
        assert!(got.len() < KSE_ERROR_MESSAGE_SIZE && got.len() % 3 == 0 && !got.is_empty());
        assert_eq!(e.status, KSE_ERR_INVALID_ARGUMENT);
    }
}
