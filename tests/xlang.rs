//! Cross-language agreement, Rust side: the default model through the Rust
//! API against the Python reference embeddings written by
//! tests/xlang/make_reference.py (`make xlang-reference`).

use std::path::{Path, PathBuf};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn rust_api_matches_the_python_reference() {
    let dir = repo().join("target/xlang");
    let model = std::env::var_os("KSE_MODEL_DIR").map(PathBuf::from).unwrap_or_else(|| repo().join("models/kse-ko-small"));
    let text = std::fs::read_to_string(dir.join("sentences.txt")).expect("target/xlang missing: run `make test-fixtures` once, then cargo test");
    let sentences: Vec<&str> = text.lines().collect();
    let bytes = std::fs::read(dir.join("reference.f32")).unwrap();
    let reference: Vec<f32> = bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();

    let mut options = kse::EncoderOptions::new(model);
    options.ort_library = std::env::var_os("KSE_ORT_LIBRARY")
        .map(PathBuf::from)
        .or_else(|| Some(repo().join("target/release/libonnxruntime.so.1")));
    let encoder = kse::Encoder::new(options).unwrap();
    assert_eq!(reference.len(), sentences.len() * encoder.dim());
    let mut got = vec![0f32; reference.len()];
    let stats = encoder.encode_into(&sentences, &mut got).unwrap();
    assert_eq!(stats.truncated, 1, "the last sentence is over the token limit");
    let diff = got.iter().zip(&reference).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    assert!(diff <= 1e-5, "max abs difference {diff}");
}
