//! The committed include/kse.h must be exactly what cbindgen generates from
//! src/ffi.rs now (build.rs writes the fresh copy to OUT_DIR).

#[test]
fn committed_header_is_up_to_date() {
    let fresh = std::fs::read_to_string(concat!(env!("OUT_DIR"), "/kse.h")).unwrap();
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/include/kse.h"))
        .expect("include/kse.h is missing");
    assert!(
        fresh == committed,
        "include/kse.h is stale: run `cargo build` outside CI (it rewrites the header) and commit it"
    );
}
