//! Arbitrary bytes through the C ABI's encode and tokenize calls on a tiny
//! model (target/test-models/tiny-e5, or KSE_FUZZ_MODEL).
//!
//! The first byte picks how the rest reaches kse; the rest is split into
//! texts at '\n'. Whatever the bytes, the call must return OK or the status
//! the input deserves (invalid UTF-8 -> KSE_ERR_INVALID_UTF8), never
//! KSE_ERR_INTERNAL (a caught panic) and never crash; on success every row
//! is finite with unit length, on failure the output is untouched.
#![no_main]

use std::ffi::{c_char, CString};

use kse::ffi::*;
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;
use common::encoder;

const CANARY: f32 = 42.0;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let enc = encoder().0;
    let texts: Vec<&[u8]> = rest.split(|&b| b == b'\n').take(64).collect();
    let dim = unsafe { kse_dim(enc) };
    let mut out = vec![CANARY; texts.len() * dim];
    let mut err: kse_error = unsafe { std::mem::zeroed() };
    let valid = texts.iter().all(|t| std::str::from_utf8(t).is_ok());
    let status = unsafe {
        match mode % 4 {
            // explicit lengths (embedded NULs allowed)
            0 => {
                let ptrs: Vec<*const c_char> = texts.iter().map(|t| t.as_ptr() as *const c_char).collect();
                let lens: Vec<usize> = texts.iter().map(|t| t.len()).collect();
                kse_encode(enc, ptrs.as_ptr(), lens.as_ptr(), texts.len(), out.as_mut_ptr(), out.len(), std::ptr::null_mut(), &mut err)
            }
            // NUL-terminated copies (cut at the first NUL, as C would see them)
            1 => {
                let owned: Vec<CString> =
                    texts.iter().map(|t| CString::new(t.split(|&b| b == 0).next().unwrap()).unwrap()).collect();
                let ptrs: Vec<*const c_char> = owned.iter().map(|c| c.as_ptr()).collect();
                let cut_valid = owned.iter().all(|c| c.to_str().is_ok());
                let s = kse_encode(enc, ptrs.as_ptr(), std::ptr::null(), texts.len(), out.as_mut_ptr(), out.len(), std::ptr::null_mut(), &mut err);
                check(s, cut_valid, &out, dim, &err);
                return;
            }
            // packed into one buffer with offsets
            2 => {
                let mut offsets = vec![0usize];
                let mut buf = Vec::new();
                for t in &texts {
                    buf.extend_from_slice(t);
                    offsets.push(buf.len());
                }
                kse_encode_packed(enc, buf.as_ptr() as *const c_char, offsets.as_ptr(), texts.len(), out.as_mut_ptr(), out.len(), std::ptr::null_mut(), &mut err)
            }
            // tokenize the whole input as one text
            _ => {
                let mut ids = vec![-1i32; 600];
                let mut n = 0usize;
                let s = kse_tokenize(enc, rest.as_ptr() as *const c_char, rest.len(), ids.as_mut_ptr(), ids.len(), &mut n, &mut err);
                let ok = std::str::from_utf8(rest).is_ok();
                assert_ne!(s, KSE_ERR_INTERNAL);
                if ok {
                    assert!(s == KSE_OK || s == KSE_ERR_BUFFER_TOO_SMALL, "status {s} on valid UTF-8");
                    if s == KSE_OK {
                        assert!(n >= 2 && n <= kse_max_tokens(enc));
                        assert!(ids[..n].iter().all(|&i| i >= 0));
                    }
                } else {
                    assert_eq!(s, KSE_ERR_INVALID_UTF8);
                }
                return;
            }
        }
    };
    check(status, valid, &out, dim, &err);
});

fn check(status: kse_status, valid: bool, out: &[f32], dim: usize, err: &kse_error) {
    let msg = unsafe { std::ffi::CStr::from_ptr(err.message.as_ptr()) };
    assert_ne!(status, KSE_ERR_INTERNAL, "internal error: {msg:?}");
    if valid {
        assert_eq!(status, KSE_OK, "valid UTF-8 refused: {msg:?}");
        for row in out.chunks(dim) {
            let norm: f64 = row.iter().map(|&x| (x as f64) * (x as f64)).sum();
            assert!(row.iter().all(|x| x.is_finite()) && (norm - 1.0).abs() < 1e-4, "bad row, norm^2 {norm}");
        }
    } else {
        assert_eq!(status, KSE_ERR_INVALID_UTF8, "invalid UTF-8 not reported: {msg:?}");
        assert!(out.iter().all(|&x| x == CANARY), "output written on error");
    }
}
