//! Generates the C header from src/ffi.rs with cbindgen and gives the shared
//! library a SONAME.
//!
//! The header is written to OUT_DIR/kse.h on every build, and copied to
//! include/kse.h (the committed copy) unless CI is set: in CI a stale
//! committed header is left alone, so the header test fails and says so.

use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    println!("cargo:rerun-if-changed=src/ffi.rs");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-env-changed=CI");

    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap();
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libkse.so.{major}");
    // Finds libonnxruntime.so.1 beside libkse.so when dlopen is given a bare name.
    println!("cargo:rustc-cdylib-link-arg=-Wl,-rpath,$ORIGIN");

    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let generated = out_dir.join("kse.h");
    cbindgen::Builder::new()
        .with_config(config)
        .with_src(crate_dir.join("src/ffi.rs"))
        .generate()
        .expect("cbindgen could not generate kse.h from src/ffi.rs")
        .write_to_file(&generated);

    let committed = crate_dir.join("include/kse.h");
    let in_ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0");
    if !in_ci {
        let new = std::fs::read(&generated).unwrap();
        if std::fs::read(&committed).ok().as_deref() != Some(new.as_slice()) {
            std::fs::create_dir_all(crate_dir.join("include")).unwrap();
            std::fs::write(&committed, new).unwrap();
        }
    }
}
