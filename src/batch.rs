//! Batches: texts sorted by length and cut into runs under the token budget,
//! and the input tensors of one run.

use std::borrow::Cow;

use ort::session::SessionInputValue;
use ort::value::Tensor;

use crate::error::{err, Error, ErrorKind, Result};
use crate::model::manifest::{InputType, Manifest};
use crate::tokenize::Tokens;

/// Default token budget per run. On two cores the default model ran fastest
/// with budgets of 512 to 1024 tokens (small batches stay in cache); larger
/// budgets were slower and need more memory.
pub const DEFAULT_BATCH_TOKENS: usize = 512;
/// Most texts in one run, however short they are.
const MAX_BATCH_SENTENCES: usize = 256;

/// Groups text indices into runs: longest first, each run's
/// `rows x longest` within `budget` (a text over budget runs alone), at most
/// 256 rows. `lengths[i]` is text `i`'s token count.
pub(crate) fn plan(lengths: &[usize], budget: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(lengths[i]));
    let mut batches = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    let mut longest = 0;
    for i in order {
        let len = lengths[i].max(1);
        let new_longest = longest.max(len);
        let fits = (current.len() + 1) * new_longest <= budget && current.len() < MAX_BATCH_SENTENCES;
        if !current.is_empty() && !fits {
            batches.push(std::mem::take(&mut current));
            longest = 0;
        }
        longest = longest.max(len);
        current.push(i);
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

/// The tensors of one run: `rows` texts padded to `seq` tokens.
pub(crate) struct Batch {
    pub rows: usize,
    pub seq: usize,
    /// `rows x seq`, 1 for a real token, 0 for padding.
    pub mask: Vec<i64>,
    /// The graph inputs by the manifest's names.
    pub inputs: Vec<(Cow<'static, str>, SessionInputValue<'static>)>,
}

impl Batch {
    /// The run of texts `indices` (into `tokens`). Every id must index one of
    /// the embedding table's `vocab_rows` rows, when that is known.
    pub fn build(manifest: &Manifest, tokens: &[Tokens], indices: &[usize], pad_id: u32, vocab_rows: Option<usize>) -> Result<Batch> {
        let rows = indices.len();
        let seq = indices.iter().map(|&i| tokens[i].ids.len()).max().unwrap_or(0).max(1);
        let mut ids = vec![pad_id as i64; rows * seq];
        let mut mask = vec![0i64; rows * seq];
        let limit = vocab_rows.unwrap_or(usize::MAX);
        for (r, &i) in indices.iter().enumerate() {
            for (c, &id) in tokens[i].ids.iter().enumerate() {
                if id as usize >= limit {
                    return err(
                        ErrorKind::ModelInvalid,
                        format!("token id {id} (row {i} of the call) is outside the model's {limit}-row embedding table"),
                    );
                }
                ids[r * seq + c] = id as i64;
                mask[r * seq + c] = 1;
            }
        }
        let shape = [rows as i64, seq as i64];
        let tensor = |data: Vec<i64>| -> Result<SessionInputValue<'static>> {
            let fail = |e: ort::Error| Error::new(ErrorKind::Runtime, format!("cannot build input tensor: {e}"));
            Ok(match manifest.input_type {
                InputType::Int64 => Tensor::from_array((shape, data)).map_err(fail)?.into(),
                InputType::Int32 => {
                    let narrow: Vec<i32> = data.into_iter().map(|x| x as i32).collect();
                    Tensor::from_array((shape, narrow)).map_err(fail)?.into()
                }
            })
        };
        let names = &manifest.inputs;
        let mut inputs = vec![
            (Cow::Owned(names.input_ids.clone()), tensor(ids)?),
            (Cow::Owned(names.attention_mask.clone()), tensor(mask.clone())?),
        ];
        if let Some(tt) = &names.token_type_ids {
            inputs.push((Cow::Owned(tt.clone()), tensor(vec![0i64; rows * seq])?));
        }
        Ok(Batch { rows, seq, mask, inputs })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_respect_budget_and_cover_every_sentence_once() {
        let t = [5, 30, 7, 7, 100, 1, 12];
        let batches = plan(&t, 40);
        let mut seen: Vec<usize> = batches.iter().flatten().copied().collect();
        seen.sort();
        assert_eq!(seen, (0..t.len()).collect::<Vec<_>>());
        for b in &batches {
            let longest = b.iter().map(|&i| t[i]).max().unwrap();
            assert!(b.len() == 1 || b.len() * longest <= 40, "{b:?}");
        }
        // The 100-token sentence exceeds the budget and runs alone.
        assert!(batches.iter().any(|b| b == &vec![4]));
    }

    #[test]
    fn batches_are_capped_in_sentences() {
        let t = vec![1; 1000];
        let batches = plan(&t, 1 << 20);
        assert!(batches.iter().all(|b| b.len() <= MAX_BATCH_SENTENCES));
        assert_eq!(batches.iter().map(Vec::len).sum::<usize>(), 1000);
    }
}
