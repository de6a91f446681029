//! The default model compiled into the library (cargo feature
//! `embedded-model`), so that one `libkse.so` (plus ONNX Runtime) is all a
//! system has to deploy. Without the feature nothing is embedded and
//! [`file`] always answers `None`.

/// The embedded model's name (the default model's).
pub const NAME: &str = super::default::DEFAULT_MODEL;

#[cfg(feature = "embedded-model")]
static FILES: [(&str, &[u8]); 3] = [
    ("kse.json", include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/models/kse-ko-small/kse.json"))),
    ("model.onnx", include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/models/kse-ko-small/model.onnx"))),
    ("tokenizer.json", include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/models/kse-ko-small/tokenizer.json"))),
];

/// Whether this library carries the model.
pub const AVAILABLE: bool = cfg!(feature = "embedded-model");

/// The bytes of an embedded file, by its name in the model directory.
pub fn file(name: &str) -> Option<&'static [u8]> {
    #[cfg(feature = "embedded-model")]
    {
        FILES.iter().find(|(n, _)| *n == name).map(|(_, bytes)| *bytes)
    }
    #[cfg(not(feature = "embedded-model"))]
    {
        let _ = name;
        None
    }
}
