//! What the ONNX graph must agree with before the first sentence runs: the
//! tokenizer's ids fit its embedding table, and its inputs and output are the
//! ones the manifest names, with the types and ranks it says.

use ort::session::Session;
use ort::value::{TensorElementType, ValueType};

use super::manifest::{InputType, Manifest, Pooling};
use super::{onnx_scan, FileData};
use crate::error::{err, Error, ErrorKind, Result};

/// Rows of the embedding table the token ids index, when the graph shows it
/// (see [`onnx_scan`]); an error when the tokenizer can produce an id
/// (`max_id`) the table does not have, since ONNX Runtime must never see one.
pub(crate) fn embedding_rows(manifest: &Manifest, graph: FileData, max_id: usize) -> Result<Option<usize>> {
    let rows = onnx_scan::embedding_rows(graph, &manifest.inputs.input_ids).map(|r| usize::try_from(r).unwrap_or(usize::MAX));
    if let Some(rows) = rows {
        if max_id >= rows {
            return err(
                ErrorKind::ModelInvalid,
                format!(
                    "tokenizer {} has token ids up to {max_id}, but the embedding table in {} has {rows} rows; \
                     the tokenizer does not belong to this graph",
                    manifest.tokenizer.display(),
                    graph.shown()
                ),
            );
        }
    }
    Ok(rows)
}

/// The session's inputs and output against the manifest.
pub(crate) fn check_session(manifest: &Manifest, session: &Session) -> Result<()> {
    let graph = manifest.graph.display();
    let want_type = match manifest.input_type {
        InputType::Int64 => TensorElementType::Int64,
        InputType::Int32 => TensorElementType::Int32,
    };
    let names = &manifest.inputs;
    let mut fed: Vec<(&str, &str)> = vec![("inputs.input_ids", &names.input_ids), ("inputs.attention_mask", &names.attention_mask)];
    if let Some(tt) = &names.token_type_ids {
        fed.push(("inputs.token_type_ids", tt));
    }
    for (field, name) in &fed {
        let input = session.inputs().iter().find(|i| i.name() == *name).ok_or_else(|| {
            let have: Vec<&str> = session.inputs().iter().map(|i| i.name()).collect();
            Error::new(ErrorKind::ModelInvalid, format!("manifest field `{field}` names graph input `{name}`, but {graph} has inputs {have:?}"))
        })?;
        match input.dtype() {
            ValueType::Tensor { ty, .. } if *ty == want_type => {}
            other => {
                return err(
                    ErrorKind::ModelInvalid,
                    format!("graph input `{name}` of {graph} is {other:?}, but manifest field `input_type` says {want_type:?}"),
                )
            }
        }
    }
    if let Some(extra) = session.inputs().iter().find(|i| !fed.iter().any(|(_, n)| *n == i.name())) {
        return err(
            ErrorKind::ModelInvalid,
            format!("graph {graph} needs input `{}`, which the manifest's `inputs` does not name", extra.name()),
        );
    }
    let output = session.outputs().iter().find(|o| o.name() == manifest.output).ok_or_else(|| {
        let have: Vec<&str> = session.outputs().iter().map(|o| o.name()).collect();
        Error::new(ErrorKind::ModelInvalid, format!("manifest field `output` names `{}`, but {graph} has outputs {have:?}", manifest.output))
    })?;
    let ValueType::Tensor { ty, shape, .. } = output.dtype() else {
        return err(ErrorKind::ModelInvalid, format!("graph output `{}` is not a tensor", manifest.output));
    };
    if *ty != TensorElementType::Float32 {
        return err(ErrorKind::ModelInvalid, format!("graph output `{}` is {ty:?}; kse needs float32", manifest.output));
    }
    let rank = if manifest.pooling == Pooling::None { 2 } else { 3 };
    if shape.len() != rank {
        return err(
            ErrorKind::ModelInvalid,
            format!(
                "graph output `{}` has rank {}, but manifest field `pooling` ({:?}) needs rank {rank}",
                manifest.output,
                shape.len(),
                manifest.pooling
            ),
        );
    }
    let last = shape[shape.len() - 1];
    if last >= 0 && last as usize != manifest.dim {
        return err(
            ErrorKind::ModelInvalid,
            format!("manifest field `dim` is {}, but graph output `{}` has width {last}", manifest.dim, manifest.output),
        );
    }
    Ok(())
}
