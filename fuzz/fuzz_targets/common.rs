//! What the C ABI fuzz targets share: the encoder they all call, loaded once.

use std::ffi::CString;
use std::sync::OnceLock;

use kse::ffi::*;

pub struct Enc(pub *mut kse_encoder);
unsafe impl Send for Enc {}
unsafe impl Sync for Enc {}

pub fn encoder() -> &'static Enc {
    static ENC: OnceLock<Enc> = OnceLock::new();
    ENC.get_or_init(|| {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        let model = std::env::var("KSE_FUZZ_MODEL").unwrap_or_else(|_| format!("{root}/target/test-models/tiny-e5"));
        let ort = std::env::var("KSE_ORT_LIBRARY")
            .unwrap_or_else(|_| format!("{root}/target/release/libonnxruntime.so.1"));
        let model = CString::new(model).unwrap();
        let ort = CString::new(ort).unwrap();
        unsafe {
            let mut o: kse_options = std::mem::zeroed();
            assert_eq!(kse_options_init(&mut o, std::mem::size_of::<kse_options>()), KSE_OK);
            o.model_dir = model.as_ptr();
            o.ort_library_path = ort.as_ptr();
            o.intra_threads = 1;
            let mut enc = std::ptr::null_mut();
            let mut err: kse_error = std::mem::zeroed();
            let s = kse_create(&o, &mut enc, &mut err);
            assert_eq!(s, KSE_OK, "cannot load the fuzz model: {:?}", std::ffi::CStr::from_ptr(err.message.as_ptr()));
            Enc(enc)
        }
    })
}
