//! Arbitrary bytes as a model manifest (kse.json): parsing must return a
//! manifest or an error naming the problem, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match kse::Manifest::parse(text, std::path::Path::new("/fuzz/model")) {
        Ok(m) => {
            assert!(m.dim > 0 && m.max_tokens > 0);
            assert!(m.graph.starts_with("/fuzz/model") && m.tokenizer.starts_with("/fuzz/model"));
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
