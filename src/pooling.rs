//! From the graph's output to one vector per sentence: pooling over tokens,
//! then optional L2 normalisation. Sums run in f64 so the result is the
//! correctly rounded f32 of the exact mean, whatever the batch looks like.

use crate::manifest::Pooling;

/// Pools one sentence. `states` holds `seq * dim` token states (row-major) for
/// `Pooling::Mean`/`Cls`, or `dim` values for `Pooling::None`; `mask` holds the
/// `seq` attention-mask values (1 for real tokens, 0 for padding).
pub(crate) fn pool(pooling: Pooling, states: &[f32], mask: &[i64], dim: usize, out: &mut [f32]) {
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
pub(crate) fn l2_normalize(v: &mut [f32]) {
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
    fn normalize_gives_unit_norm_and_keeps_zero() {
        let mut v = [3.0, 4.0];
        l2_normalize(&mut v);
        assert_eq!(v, [0.6, 0.8]);
        let mut z = [0.0, 0.0];
        l2_normalize(&mut z);
        assert_eq!(z, [0.0, 0.0]);
    }
}
