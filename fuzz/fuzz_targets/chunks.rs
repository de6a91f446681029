//! Arbitrary bytes as one document through `kse_encode_chunks` (ranges only,
//! no model run) on a tiny model (target/test-models/tiny-e5, or
//! KSE_FUZZ_MODEL); the first two bytes pick the chunk size and overlap.
//!
//! Whatever the bytes: invalid UTF-8 gives KSE_ERR_INVALID_UTF8 and leaves
//! the chunks untouched; valid UTF-8 gives KSE_OK, the sizing call agrees
//! on the count, and the chunks lie inside the text on UTF-8 boundaries,
//! in order (starts and ends never decrease), each within the chunk size,
//! and cover it: the chunks hold every token of the document, each exactly
//! once without overlap (their own tokens add up to the document's count
//! from kse_count_tokens). Never KSE_ERR_INTERNAL, never a crash.
#![no_main]

use std::ffi::c_char;

use kse::ffi::*;
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;
use common::encoder;

const CANARY: kse_chunk = kse_chunk { start: 4242, end: 4242, tokens: 4242 };

/// The ids the model would see for `text` without truncation.
fn count_tokens(enc: *mut kse_encoder, text: &str) -> usize {
    let mut n = 0usize;
    let mut err: kse_error = unsafe { std::mem::zeroed() };
    let s = unsafe { kse_count_tokens(enc, text.as_ptr() as *const c_char, text.len(), &mut n, &mut err) };
    assert_eq!(s, KSE_OK);
    n
}

fuzz_target!(|data: &[u8]| {
    let [a, b, doc @ ..] = data else { return };
    let enc = encoder().0;
    // tiny-e5: 5 special and prefix tokens, 512 max tokens.
    let tokens = 6 + (*a as usize % 64);
    let room = tokens - 5;
    let overlap = *b as usize % room;
    let mut chunks = vec![CANARY; 2048];
    let mut n = usize::MAX;
    let mut err: kse_error = unsafe { std::mem::zeroed() };
    let status = unsafe {
        kse_encode_chunks(enc, doc.as_ptr() as *const c_char, doc.len(), tokens, overlap, chunks.as_mut_ptr(), chunks.len(),
                          std::ptr::null_mut(), 0, &mut n, &mut err)
    };
    let msg = unsafe { std::ffi::CStr::from_ptr(err.message.as_ptr()) };
    assert_ne!(status, KSE_ERR_INTERNAL, "internal error: {msg:?}");
    let Ok(text) = std::str::from_utf8(doc) else {
        assert_eq!(status, KSE_ERR_INVALID_UTF8, "invalid UTF-8 not reported: {msg:?}");
        assert!(chunks.iter().all(|c| *c == CANARY), "chunks written on error");
        return;
    };
    if status == KSE_ERR_BUFFER_TOO_SMALL {
        return; // more than 2,048 chunks: the count was still reported
    }
    assert_eq!(status, KSE_OK, "valid UTF-8 refused: {msg:?}");
    let mut sized = 0usize;
    let s = unsafe {
        kse_encode_chunks(enc, doc.as_ptr() as *const c_char, doc.len(), tokens, overlap, std::ptr::null_mut(), 0,
                          std::ptr::null_mut(), 0, &mut sized, &mut err)
    };
    assert!(s == KSE_OK || s == KSE_ERR_BUFFER_TOO_SMALL);
    assert_eq!(sized, n, "the sizing call disagrees on the count");
    let chunks = &chunks[..n];
    assert!(chunks.iter().all(|c| c.start <= c.end && c.end <= text.len()), "range outside the text: {chunks:?}");
    assert!(chunks.iter().all(|c| text.is_char_boundary(c.start) && text.is_char_boundary(c.end)), "range inside a character");
    assert!(chunks.iter().all(|c| c.tokens <= tokens && c.tokens > 5), "chunk over its size");
    for w in chunks.windows(2) {
        assert!(w[0].start <= w[1].start && w[0].end <= w[1].end, "chunks out of order: {w:?}");
    }
    if text.trim().is_empty() {
        assert_eq!(n, 0, "a blank document has chunks");
    } else {
        // Coverage: the chunks hold every document token, in order, each once
        // without overlap (at least once with it). tiny-e5 rows carry 5
        // special and prefix tokens; the document has count - 5 of its own.
        let own: usize = chunks.iter().map(|c| c.tokens - 5).sum();
        let doc_tokens = count_tokens(enc, text) - 5;
        if overlap == 0 {
            assert_eq!(own, doc_tokens, "chunks do not partition the document's tokens");
        } else {
            assert!(own >= doc_tokens, "chunks miss some of the document's tokens");
        }
    }
});
