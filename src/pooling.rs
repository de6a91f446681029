//! From the graph's output to one vector per sentence: pooling over tokens,
//! then optional L2 normalisation, written to each text's row. Sums run in
//! f64 so the result is the correctly rounded f32 of the exact mean, whatever
//! the batch looks like.

use crate::batch::Batch;
use crate::error::{err, ErrorKind, Result};
use crate::model::manifest::{Manifest, Pooling};

/// Writes the vector of each row `r` of `batch` to row `targets[r].0` of
/// `out`, L2-normalised if `targets[r].1`, from the graph output `data` of
/// shape `shape`, which must be what the manifest says.
pub(crate) fn write_rows(manifest: &Manifest, shape: &[i64], data: &[f32], batch: &Batch, targets: &[(usize, bool)], out: &mut [f32]) -> Result<()> {
    let (rows, seq, dim) = (batch.rows, batch.seq, manifest.dim);
    let expected: Vec<i64> = match manifest.pooling {
        Pooling::None => vec![rows as i64, dim as i64],
        Pooling::Mean | Pooling::Cls => vec![rows as i64, seq as i64, dim as i64],
    };
    if shape != expected.as_slice() {
        return err(
            ErrorKind::ModelInvalid,
            format!(
                "graph output `{}` has shape {shape:?} but the manifest (dim {dim}, pooling {:?}) expects {expected:?}",
                manifest.output, manifest.pooling
            ),
        );
    }
    let per_row = data.len() / rows;
    for (r, &(i, normalize)) in targets.iter().enumerate() {
        let row = &mut out[i * dim..(i + 1) * dim];
        pool(manifest.pooling, &data[r * per_row..(r + 1) * per_row], &batch.mask[r * seq..(r + 1) * seq], dim, row);
        if normalize {
            l2_normalize(row);
        }
    }
    Ok(())
}

/// One text's vector from its windows' (`rows`: one pooled, unnormalised
/// vector per window, `out.len()` floats each): the mean weighted by
/// `weights` (the tokens each window adds), in f64, then L2-normalised if
/// `normalize`.
pub(crate) fn combine(rows: &[f32], weights: &[usize], normalize: bool, out: &mut [f32]) {
    let dim = out.len();
    let mut sum = vec![0f64; dim];
    let total: usize = weights.iter().sum();
    for (row, &w) in rows.chunks_exact(dim).zip(weights) {
        for (s, &x) in sum.iter_mut().zip(row) {
            *s += w as f64 * x as f64;
        }
    }
    let denom = total.max(1) as f64;
    for (o, s) in out.iter_mut().zip(&sum) {
        *o = (s / denom) as f32;
    }
    if normalize {
        l2_normalize(out);
    }
}

/// Pools one sentence. `states` holds `seq * dim` token states (row-major) for
/// `Pooling::Mean`/`Cls`, or `dim` values for `Pooling::None`; `mask` holds the
/// `seq` attention-mask values (1 for real tokens, 0 for padding).
fn pool(pooling: Pooling, states: &[f32], mask: &[i64], dim: usize, out: &mut [f32]) {
    debug_assert_eq!(out.len(), dim);
    match pooling {
        Pooling::None => out.copy_from_slice(&states[..dim]),
        Pooling::Cls => out.copy_from_slice(&states[..dim]),
        Pooling::Mean => {
            let mut sum = vec![0f64; dim];
            let mut count = 0usize;
            for (row, &m) in states.chunks_exact(dim).zip(mask) {
                if m != 0 {
                    count += 1;
                    for (s, &x) in sum.iter_mut().zip(row) {
                        *s += x as f64;
                    }
                }
            }
            let denom = count.max(1) as f64;
            for (o, s) in out.iter_mut().zip(&sum) {
                *o = (s / denom) as f32;
            }
        }
    }
}

/// Scales `v` to unit L2 norm; a zero vector stays zero.
fn l2_normalize(v: &mut [f32]) {
    let norm = v.iter().map(|&x| (x as f64) * (x as f64)).sum::<f64>().sqrt();
    if norm > 0.0 {
        for x in v.iter_mut() {
            *x = ((*x as f64) / norm) as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_ignores_padding() {
        let states = [1.0, 2.0, 3.0, 4.0, 100.0, 100.0];
        let mut out = [0.0; 2];
        pool(Pooling::Mean, &states, &[1, 1, 0], 2, &mut out);
        assert_eq!(out, [2.0, 3.0]);
    }

    #[test]
    fn cls_takes_first_token() {
        let states = [1.0, 2.0, 3.0, 4.0];
        let mut out = [0.0; 2];
        pool(Pooling::Cls, &states, &[1, 1], 2, &mut out);
        assert_eq!(out, [1.0, 2.0]);
    }

    #[test]
    fn windows_combine_by_the_tokens_they_add() {
        let rows = [1.0, 0.0, 0.0, 1.0];
        let mut out = [0.0; 2];
        combine(&rows, &[3, 1], false, &mut out);
        assert_eq!(out, [0.75, 0.25]);
    }

    #[test]
    fn normalize_gives_unit_norm_and_keeps_zero() {
        let mut v = [3.0, 4.0];
        l2_normalize(&mut v);
        assert_eq!(v, [0.6, 0.8]);
        let mut z = [0.0, 0.0];
        l2_normalize(&mut z);
        assert_eq!(z, [0.0, 0.0]);
    }
}
