//! kse's own overhead over ONNX Runtime, measured in one process.
//!
//! Run by `bench/run.py` (or by hand after `make setup`):
//!
//! ```sh
//! KSE_ORT_LIBRARY=target/release/libonnxruntime.so.1 \
//!   cargo bench --locked --bench overhead -- --model models/multilingual-e5-small \
//!   --input target/bench/data/korsts.txt --threads 2
//! ```
//!
//! For every caller batch size B it times two things on the same texts, in
//! the same process, alternating in blocks of calls covering 64 texts (which
//! engine goes first flips with every block and every round), so that the
//! machine's drifts hit both alike:
//!
//! - **kse**: `Encoder::encode_into` over consecutive calls of B texts
//!   (tokenising, sorting, batching, tensors, run, pooling, normalising);
//! - **raw**: `Session::run` only, on a second session built with kse's
//!   session options, fed the very runs kse makes from those calls
//!   (token ids from the encoder's own tokenizer, grouped by kse's own
//!   `plan_batches`), with the input tensors built before timing.
//!
//! Prints one JSON object with every pass's seconds; `bench/run.py` reports
//! the ratio of the fastest passes and the median of the paired per-round
//! ratios.

use std::path::PathBuf;

use ort::session::Session;
use std::time::Instant;

use kse::{bench_internals, Encoder, EncoderOptions, InputType};
use ort::session::SessionInputValue;
use ort::value::{DynValue, Tensor};
use serde_json::json;

struct Args {
    model: PathBuf,
    input: PathBuf,
    threads: usize,
    batch_tokens: usize,
    batches: Vec<usize>,
    limit: usize,
    rounds: usize,
    warmup: usize,
    aa: bool,
}

fn usage(msg: &str) -> ! {
    eprintln!(
        "overhead: {msg}\nusage: overhead --model DIR --input FILE [--threads N] [--batch-tokens N] \
         [--batches 1,8,32,128] [--limit N] [--rounds N] [--warmup N] [--aa]"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut a = Args {
        model: PathBuf::new(),
        input: PathBuf::new(),
        threads: 2,
        batch_tokens: kse::DEFAULT_BATCH_TOKENS,
        batches: vec![1, 8, 32, 128],
        limit: 0,
        rounds: 5,
        warmup: 64,
        aa: false,
    };
    // `cargo bench` appends `--bench`; ignore it.
    let mut it = std::env::args().skip(1).filter(|s| s != "--bench");
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| usage(&format!("{flag} needs a value")));
        let num = |s: String| s.parse::<usize>().unwrap_or_else(|_| usage(&format!("{flag}: not a number: {s}")));
        match flag.as_str() {
            "--model" => a.model = value().into(),
            "--input" => a.input = value().into(),
            "--threads" => a.threads = num(value()),
            "--batch-tokens" => a.batch_tokens = num(value()),
            "--batches" => a.batches = value().split(',').map(|s| num(s.to_owned())).collect(),
            "--limit" => a.limit = num(value()),
            "--rounds" => a.rounds = num(value()).max(1),
            "--warmup" => a.warmup = num(value()),
            "--aa" => a.aa = true,
            _ => usage(&format!("unknown argument {flag}")),
        }
    }
    if a.model.as_os_str().is_empty() || a.input.as_os_str().is_empty() {
        usage("--model and --input are required");
    }
    a
}

/// The input tensors of one run, built as kse builds them.
fn feeds(enc: &Encoder, pad: i64, ids: &[&Vec<u32>]) -> Vec<(String, DynValue)> {
    let m = enc.manifest();
    let rows = ids.len();
    let seq = ids.iter().map(|x| x.len()).max().unwrap_or(0).max(1);
    let mut tok = vec![pad; rows * seq];
    let mut mask = vec![0i64; rows * seq];
    for (r, x) in ids.iter().enumerate() {
        for (c, &id) in x.iter().enumerate() {
            tok[r * seq + c] = id as i64;
            mask[r * seq + c] = 1;
        }
    }
    let shape = vec![rows as i64, seq as i64];
    let tensor = |data: Vec<i64>| -> DynValue {
        match m.input_type {
            InputType::Int64 => Tensor::from_array((shape.clone(), data)).expect("tensor").into_dyn(),
            InputType::Int32 => {
                let narrow: Vec<i32> = data.into_iter().map(|x| x as i32).collect();
                Tensor::from_array((shape.clone(), narrow)).expect("tensor").into_dyn()
            }
        }
    };
    let mut out = vec![(m.inputs.input_ids.clone(), tensor(tok)), (m.inputs.attention_mask.clone(), tensor(mask))];
    if let Some(tt) = &m.inputs.token_type_ids {
        out.push((tt.clone(), tensor(vec![0; rows * seq])));
    }
    out
}

/// `Session::run` alone over `runs`, timed around each run.
fn raw_call(session: &mut Session, output: &str, runs: &[Vec<(String, DynValue)>]) -> f64 {
    let mut total = 0.0;
    for f in runs {
        let inputs: Vec<(std::borrow::Cow<str>, SessionInputValue)> =
            f.iter().map(|(n, v)| (std::borrow::Cow::Borrowed(n.as_str()), SessionInputValue::from(v))).collect();
        let t = Instant::now();
        let outputs = session.run(inputs).expect("run");
        total += t.elapsed().as_secs_f64();
        assert!(outputs.get(output).is_some());
    }
    total
}

fn main() {
    let a = parse_args();
    let text = std::fs::read_to_string(&a.input).unwrap_or_else(|e| usage(&format!("{}: {e}", a.input.display())));
    let mut texts: Vec<&str> = text.lines().collect();
    if a.limit > 0 && texts.len() > a.limit {
        texts.truncate(a.limit);
    }
    if texts.is_empty() {
        usage(&format!("{} has no lines", a.input.display()));
    }

    let mut opts = EncoderOptions::new(&a.model);
    opts.intra_threads = a.threads;
    opts.batch_tokens = a.batch_tokens;
    let enc = Encoder::new(opts).unwrap_or_else(|e| usage(&format!("cannot load the model: {e}")));
    let env = bench_internals::environment().expect("environment");
    let mut session = bench_internals::session(&env, &enc.manifest().graph, a.threads).expect("session");
    let output = enc.manifest().output.clone();
    let pad = i64::from(bench_internals::pad_id(&enc));

    // Tokenisation alone, for the breakdown.
    let t0 = Instant::now();
    let ids: Vec<Vec<u32>> = texts.iter().map(|t| enc.tokenize(t).expect("tokenize").0).collect();
    let tokenize_s = t0.elapsed().as_secs_f64();
    let tokens: usize = ids.iter().map(Vec::len).sum();

    let dim = enc.dim();
    let mut out = vec![0f32; a.batches.iter().max().copied().unwrap_or(1).max(8) * dim];
    // The runs kse makes from each call of B texts, tensors built ahead.
    let prepare = |b: usize| -> Vec<Vec<Vec<(String, DynValue)>>> {
        ids.chunks(b)
            .map(|chunk| {
                let lengths: Vec<usize> = chunk.iter().map(Vec::len).collect();
                bench_internals::plan_batches(&lengths, a.batch_tokens)
                    .into_iter()
                    .map(|run| feeds(&enc, pad, &run.iter().map(|&i| &chunk[i]).collect::<Vec<_>>()))
                    .collect()
            })
            .collect()
    };
    // --aa: a calibration run, a second bare session in kse's place; its
    // ratio shows the bias and noise of the method itself.
    let mut session_b = a.aa.then(|| bench_internals::session(&env, &enc.manifest().graph, a.threads).expect("session"));
    let kse_call = |chunk: &[&str], out: &mut [f32]| -> f64 {
        let t = Instant::now();
        enc.encode_into(chunk, out).expect("encode");
        t.elapsed().as_secs_f64()
    };

    // Warm-up: both engines, a few calls.
    let warm = a.warmup.max(1).min(texts.len());
    let warm_prepared = prepare(8);
    for (c, chunk) in texts[..warm].chunks(8).enumerate() {
        kse_call(chunk, &mut out);
        raw_call(&mut session, &output, &warm_prepared[c]);
        if let Some(sb) = session_b.as_mut() {
            raw_call(sb, &output, &warm_prepared[c]);
        }
    }

    // Each round is one pass over the texts in calls of B. Within a pass the
    // two engines alternate block by block (blocks of calls covering 64
    // texts; which engine goes first flips every block and every round), so
    // both see the same moments of the machine. Not call by call: each
    // session has its own intra-op thread pool, whose threads spin for a
    // while after a run and would slow the other session's next call.
    let mut results = serde_json::Map::new();
    for &b in &a.batches {
        let prepared = prepare(b);
        let chunks: Vec<&[&str]> = texts.chunks(b).collect();
        let block = 64usize.div_ceil(b).max(1);
        let (mut kse_s, mut raw_s) = (Vec::new(), Vec::new());
        for round in 0..a.rounds {
            let (mut k, mut r) = (0.0, 0.0);
            for (n, start) in (0..chunks.len()).step_by(block).enumerate() {
                let end = (start + block).min(chunks.len());
                let mut kse_block = |out: &mut [f32]| match session_b.as_mut() {
                    Some(sb) => prepared[start..end].iter().map(|p| raw_call(sb, &output, p)).sum::<f64>(),
                    None => chunks[start..end].iter().map(|c| kse_call(c, out)).sum::<f64>(),
                };
                let mut raw_block = || prepared[start..end].iter().map(|p| raw_call(&mut session, &output, p)).sum::<f64>();
                if (n + round) % 2 == 0 {
                    k += kse_block(&mut out);
                    r += raw_block();
                } else {
                    r += raw_block();
                    k += kse_block(&mut out);
                }
            }
            kse_s.push(k);
            raw_s.push(r);
        }
        let runs: usize = prepared.iter().map(Vec::len).sum();
        results.insert(b.to_string(), json!({"runs": runs, "kse_s": kse_s, "raw_s": raw_s}));
    }
    let report = json!({
        "engine": if a.aa { "rust-overhead-aa" } else { "rust-overhead" },
        "model": enc.manifest().name,
        "threads": a.threads,
        "batch_tokens": a.batch_tokens,
        "texts": texts.len(),
        "tokens": tokens,
        "rounds": a.rounds,
        "tokenize_s": tokenize_s,
        "batches": results,
    });
    println!("{report}");
}
