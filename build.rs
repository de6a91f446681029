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
    // CI is read below but deliberately not tracked (no rerun-if-env-changed):
    // a build script that reruns recompiles the whole crate, and CI's `make test`
    // (CI=true) followed by a `make install` without CI rebuilt it for nothing.
    // So the header is copied, or not, when the script runs anyway: on the first
    // build and after src/ffi.rs or cbindgen.toml change (after a CI build that
    // left include/kse.h stale: `touch src/ffi.rs && cargo build`).

    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap();
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libkse.so.{major}");
    // No rpath: kse looks for ONNX Runtime beside itself by full path, after
    // checking that no other user can change it (src/trust.rs); an $ORIGIN
    // rpath would let the last, bare-name dlopen load that file unchecked.

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
