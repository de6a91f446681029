//! The Rust core on the tiny test models (`make test-models` writes them):
//! pooling and input variants, batch independence, threads, truncation, and
//! model directories that are broken in each way a user can break them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kse::{Encoder, EncoderOptions, ErrorKind, Truncation};

fn test_models() -> PathBuf {
    let dir = std::env::var_os("KSE_TEST_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-models"));
    assert!(dir.join("tiny-e5/kse.json").exists(), "{} has no test models: run `make test-fixtures` once, then cargo test", dir.display());
    dir
}

fn ort_library() -> PathBuf {
    let p = std::env::var_os("KSE_ORT_LIBRARY")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/libonnxruntime.so.1"));
    assert!(p.exists(), "ONNX Runtime not found at {}: run `make test-fixtures` once, then cargo test", p.display());
    p
}

fn options(model: &Path) -> EncoderOptions {
    let mut o = EncoderOptions::new(model);
    o.ort_library = Some(ort_library());
    o.intra_threads = 1;
    o
}

fn encoder(name: &str) -> Encoder {
    Encoder::new(options(&test_models().join(name))).unwrap()
}

fn sentences() -> Vec<String> {
    let base = [
        "다만, 도로와 인접해서 거리의 소음이 들려요.",
        "가족 모임 일정은 바꾸지 말도록 하십시오.",
        "관광자원화 검토를 모범적으로 적용한 지자체에는 홍보·컨설팅, 관광상품 개발 지원 등을 제공할 계획이다.",
        "한 남자가 기타를 치고 있다.",
        "",
        "KorSTS 3.2점",
    ];
    (0..60).map(|i| base[i % base.len()].repeat(1 + i % 4)).collect()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// A model directory whose manifest is `edit`ed from `base`'s; the big files are symlinked.
fn edited_model(base: &str, tag: &str, edit: impl FnOnce(&mut serde_json::Value)) -> PathBuf {
    let src = test_models().join(base);
    let dir = std::env::temp_dir().join(format!("kse-test-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(&src).unwrap() {
        let name = entry.unwrap().file_name();
        if name != "kse.json" {
            std::os::unix::fs::symlink(src.join(&name), dir.join(&name)).unwrap();
        }
    }
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(src.join("kse.json")).unwrap()).unwrap();
    edit(&mut manifest);
    std::fs::write(dir.join("kse.json"), manifest.to_string()).unwrap();
    dir
}

fn load_error(dir: &Path) -> kse::Error {
    match Encoder::new(options(dir)) {
        Ok(_) => panic!("{} loaded but should not", dir.display()),
        Err(e) => e,
    }
}

#[test]
fn seed_style_cls_pooling_equals_the_graph_pooled_output() {
    let cls = encoder("tiny-seed");
    let pooled = encoder("tiny-seed-pooled");
    assert_eq!(cls.dim(), 768);
    let s = sentences();
    let a = cls.encode(&s).unwrap();
    let b = pooled.encode(&s).unwrap();
    assert!(max_diff(&a, &b) <= 1e-6, "cls pooling vs graph pooling: {}", max_diff(&a, &b));
    // [CLS] ... [SEP] template and no prefix.
    let (ids, _) = cls.tokenize("한 남자").unwrap();
    assert_eq!(ids.first(), Some(&2));
    assert_eq!(ids.last(), Some(&3));
}

#[test]
fn default_style_model_uses_prefix_and_mean_pooling() {
    let e = encoder("tiny-e5");
    assert_eq!(e.dim(), 16);
    let (with_prefix, _) = e.tokenize("한 남자").unwrap();
    let (prefix_only, _) = e.tokenize("").unwrap();
    assert_eq!(with_prefix[0], 0, "<s> first");
    assert_eq!(*with_prefix.last().unwrap(), 2, "</s> last");
    assert!(prefix_only.len() > 2, "the \"query: \" prefix is tokenised even for empty text");
    let v = e.encode(&["한 남자"]).unwrap();
    let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-5);
}

#[test]
fn a_vector_does_not_depend_on_its_batch() {
    for model in ["tiny-e5", "tiny-seed"] {
        let s = sentences();
        let mut big_opts = options(&test_models().join(model));
        big_opts.batch_tokens = 1 << 16;
        let big = Encoder::new(big_opts).unwrap();
        let mut small_opts = options(&test_models().join(model));
        small_opts.batch_tokens = 64;
        let small = Encoder::new(small_opts).unwrap();
        let all = big.encode(&s).unwrap();
        let chunked = small.encode(&s).unwrap();
        assert!(max_diff(&all, &chunked) <= 1e-6, "{model}: batch budget changed vectors by {}", max_diff(&all, &chunked));
        let dim = big.dim();
        for (i, text) in s.iter().enumerate() {
            let one = big.encode(&[text]).unwrap();
            let d = max_diff(&one, &all[i * dim..(i + 1) * dim]);
            assert!(d <= 1e-6, "{model}: sentence {i} alone differs by {d}");
        }
    }
}

#[test]
fn many_threads_share_one_encoder() {
    let mut o = options(&test_models().join("tiny-e5"));
    o.sessions = 3;
    let e = Arc::new(Encoder::new(o).unwrap());
    let s = Arc::new(sentences());
    let expected = Arc::new(e.encode(&s).unwrap());
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let (e, s, expected) = (e.clone(), s.clone(), expected.clone());
            std::thread::spawn(move || {
                let dim = e.dim();
                for round in 0..25 {
                    let start = (t + round) % s.len();
                    let part = &s[start..(start + 7).min(s.len())];
                    let got = e.encode(part).unwrap();
                    let want = &expected[start * dim..(start + part.len()) * dim];
                    assert!(max_diff(&got, want) <= 1e-6, "thread {t} round {round}");
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

#[test]
fn truncation_is_counted_or_an_error() {
    let e = encoder("tiny-seed");
    let long = "가 ".repeat(1000);
    let mut out = vec![0f32; 2 * e.dim()];
    let stats = e.encode_into(&[long.as_str(), "짧은 문장"], &mut out).unwrap();
    assert_eq!(stats.truncated, 1);
    let (ids, truncated) = e.tokenize(&long).unwrap();
    assert!(truncated);
    assert_eq!(ids.len(), e.manifest().max_tokens);
    assert_eq!(*ids.last().unwrap(), 3, "[SEP] kept after truncation");

    let mut o = options(&test_models().join("tiny-seed"));
    o.truncation = Truncation::Error;
    let strict = Encoder::new(o).unwrap();
    let mut out2 = vec![7f32; 2 * e.dim()];
    let err = strict.encode_into(&["짧은 문장", long.as_str()], &mut out2).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InputTooLong);
    // The count is the whole text's, as the tokenizer alone gives it.
    let mut whole = tokenizers::Tokenizer::from_file(&strict.manifest().tokenizer).unwrap();
    whole.with_truncation(None).unwrap();
    let text = format!("{}{long}", strict.manifest().prefix);
    let count = whole.encode(text.as_str(), true).unwrap().len();
    assert!(count > 1000, "{count}");
    let expected = format!("text 1 has {count} tokens; the model takes at most {}", strict.manifest().max_tokens);
    assert!(err.message().contains(&expected), "{} (expected {expected})", err.message());
    assert!(out2.iter().all(|&x| x == 7.0), "output touched on error");
}

#[test]
fn buffer_too_small_writes_nothing() {
    let e = encoder("tiny-e5");
    let mut out = vec![5f32; 2 * e.dim() - 1];
    let err = e.encode_into(&["가", "나"], &mut out).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BufferTooSmall);
    assert!(out.iter().all(|&x| x == 5.0));
    assert_eq!(e.encode_into::<&str>(&[], &mut []).unwrap(), kse::EncodeStats::default());
}

#[test]
fn manifests_that_disagree_with_the_graph_name_the_field() {
    let cases: Vec<(&str, Box<dyn FnOnce(&mut serde_json::Value)>, &str)> = vec![
        ("dim", Box::new(|m| m["dim"] = 17.into()), "`dim`"),
        ("output", Box::new(|m| m["output"] = "pooled".into()), "`output`"),
        ("input", Box::new(|m| m["inputs"]["input_ids"] = "ids".into()), "`inputs.input_ids`"),
        ("type", Box::new(|m| m["input_type"] = "int32".into()), "`input_type`"),
        ("pool", Box::new(|m| m["pooling"] = "none".into()), "`pooling`"),
        ("tt", Box::new(|m| m["inputs"]["token_type_ids"] = "token_type_ids".into()), "`inputs.token_type_ids`"),
        ("maxtok", Box::new(|m| m["max_tokens"] = 3.into()), "`max_tokens`"),
    ];
    for (tag, edit, field) in cases {
        let dir = edited_model("tiny-e5", tag, edit);
        let e = load_error(&dir);
        assert_eq!(e.kind(), ErrorKind::ModelInvalid, "{tag}: {}", e.message());
        assert!(e.message().contains(field), "{tag}: {}", e.message());
        std::fs::remove_dir_all(dir).unwrap();
    }
}

#[test]
fn broken_model_files_are_clear_errors() {
    // Missing graph.
    let dir = edited_model("tiny-e5", "nograph", |_| {});
    std::fs::remove_file(dir.join("model.onnx")).unwrap();
    let e = load_error(&dir);
    assert_eq!(e.kind(), ErrorKind::ModelNotFound, "{}", e.message());
    assert!(e.message().contains("model.onnx"));

    // Corrupt graph.
    std::fs::write(dir.join("model.onnx"), b"not an onnx graph").unwrap();
    let e = load_error(&dir);
    assert_eq!(e.kind(), ErrorKind::ModelInvalid, "{}", e.message());
    assert!(e.message().contains("model.onnx"));
    std::fs::remove_dir_all(&dir).unwrap();

    // Truncated tokenizer.json.
    let dir = edited_model("tiny-seed", "badtok", |_| {});
    let full = std::fs::read(test_models().join("tiny-seed/tokenizer.json")).unwrap();
    std::fs::remove_file(dir.join("tokenizer.json")).unwrap();
    std::fs::write(dir.join("tokenizer.json"), &full[..full.len() / 2]).unwrap();
    let e = load_error(&dir);
    assert_eq!(e.kind(), ErrorKind::ModelInvalid, "{}", e.message());
    assert!(e.message().contains("tokenizer.json"));
    std::fs::remove_dir_all(&dir).unwrap();

    // Missing directory, missing manifest.
    let e = load_error(Path::new("/nonexistent/model"));
    assert_eq!(e.kind(), ErrorKind::ModelNotFound);
    let empty = std::env::temp_dir().join(format!("kse-test-{}-empty", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    let e = load_error(&empty);
    assert_eq!(e.kind(), ErrorKind::ModelNotFound);
    assert!(e.message().contains("kse.json"));
    std::fs::remove_dir_all(&empty).unwrap();
}

#[test]
fn bad_options_are_rejected() {
    let mut o = options(&test_models().join("tiny-e5"));
    o.sessions = 0;
    assert_eq!(Encoder::new(o).err().unwrap().kind(), ErrorKind::InvalidArgument);
    let mut o = options(&test_models().join("tiny-e5"));
    o.batch_tokens = 0;
    assert_eq!(Encoder::new(o).err().unwrap().kind(), ErrorKind::InvalidArgument);
}

#[test]
fn tokenizer_with_ids_beyond_the_embedding_table_is_refused_at_load() {
    // tiny-seed's graph (an embedding table of a few thousand rows; weights
    // inside model.onnx) with the 250,002-token e5 tokenizer.
    let dir = edited_model("tiny-seed", "vocab-rows", |_| {});
    std::fs::remove_file(dir.join("tokenizer.json")).unwrap();
    std::os::unix::fs::symlink(test_models().join("tiny-e5/tokenizer.json"), dir.join("tokenizer.json")).unwrap();
    let e = load_error(&dir);
    assert_eq!(e.kind(), ErrorKind::ModelInvalid, "{}", e.message());
    assert!(e.message().contains("250001") && e.message().contains("rows"), "{}", e.message());
    // The same tokenizer with its own graph (external weights) loads.
    encoder("tiny-e5");
}

#[test]
fn the_pad_id_comes_from_the_tokenizers_padding_setting_when_it_has_one() {
    // tiny-seed's tokenizer names [PAD]; an imported model's tokenizer says it
    // in its padding setting instead (importers/tfhub/import_tfhub.py), which wins.
    // (That the setting's id is the one used: tokenize.rs's unit test; here, that it changes nothing.)
    let plain = encoder("tiny-seed");
    let dir = edited_model("tiny-seed", "pad-setting", |_| {});
    let mut tok: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(test_models().join("tiny-seed/tokenizer.json")).unwrap()).unwrap();
    let configured = 3; // [PAD] is 0
    tok["padding"] = serde_json::json!({
        "strategy": "BatchLongest", "direction": "Right", "pad_to_multiple_of": null,
        "pad_id": configured, "pad_type_id": 0, "pad_token": "[PAD]"
    });
    std::fs::remove_file(dir.join("tokenizer.json")).unwrap();
    std::fs::write(dir.join("tokenizer.json"), tok.to_string()).unwrap();
    let padded = Encoder::new(options(&dir)).unwrap();
    // Padding is masked: the vectors do not depend on the pad id.
    let texts = ["짧다", "이 문장은 조금 더 길어서 배치를 채운다"];
    assert!(max_diff(&plain.encode(&texts).unwrap(), &padded.encode(&texts).unwrap()) < 1e-6);
    // And the setting does not pad single sentences to anything.
    assert_eq!(plain.tokenize("짧다").unwrap(), padded.tokenize("짧다").unwrap());
}

#[test]
fn canonically_equivalent_texts_embed_identically() {
    use unicode_normalization::UnicodeNormalization;
    let e = encoder("tiny-e5");
    let composed: Vec<String> = sentences().into_iter().filter(|s| !s.is_empty()).take(12).collect();
    let decomposed: Vec<String> = composed.iter().map(|s| s.nfd().collect()).collect();
    assert!(composed.iter().zip(&decomposed).all(|(a, b)| a != b), "every sentence has Hangul to decompose");
    for (a, b) in composed.iter().zip(&decomposed) {
        assert_eq!(e.tokenize(a).unwrap(), e.tokenize(b).unwrap(), "{a}");
    }
    assert_eq!(e.encode(&composed).unwrap(), e.encode(&decomposed).unwrap());

    // With "unicode_normalization": "none" the tokenizer sees jamo: other ids.
    let raw = Encoder::new(options(&edited_model("tiny-e5", "no-nfc", |m| m["unicode_normalization"] = "none".into()))).unwrap();
    assert_eq!(raw.tokenize(&composed[0]).unwrap(), e.tokenize(&composed[0]).unwrap());
    assert_ne!(raw.tokenize(&decomposed[0]).unwrap(), e.tokenize(&decomposed[0]).unwrap());
}
