//! The [`Pass`] trait and the helpers every rewrite shares: consumer counts and a memoized
//! bottom-up rebuild of the layer graph.

use chunkwise_ir::{topo_order, IrError, Meta, Node, NodeId};
use rustc_hash::{FxHashMap, FxHashSet};
use thiserror::Error;

/// Why a pass failed: a layer that could not be rebuilt (a graph invalid to begin with), or
/// a pass that broke its contract by changing a layer's or an output's metadata (a bug in
/// the pass, reported rather than ignored). A failed pass returns no graph, so nothing is
/// half-applied.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum PassError {
    /// A layer could not be rebuilt.
    #[error("pass {pass}: {source}")]
    Ir {
        /// The pass.
        pass: &'static str,
        /// The error.
        source: IrError,
    },
    /// A pass changed an output's shape, chunks or dtype (a bug in the pass).
    #[error("pass {pass} changed output {output}'s metadata")]
    ChangedOutput {
        /// The pass.
        pass: &'static str,
        /// Output number.
        output: usize,
    },
    /// A rule replaced a layer by one of other shape, chunks or dtype (a bug in the pass).
    #[error(
        "pass {pass} changed the metadata of layer %{position} ({layer}): {before} became {after}"
    )]
    ChangedLayer {
        /// The pass.
        pass: &'static str,
        /// The replaced layer's label ([`Node::label`]).
        layer: String,
        /// Its position in the input graph: `%position` of [`chunkwise_ir::dump::layers_text`].
        position: usize,
        /// Its metadata, as dumps show it (`f64 [100] chunks (100/10)`).
        before: String,
        /// The replacement's metadata.
        after: String,
    },
}

/// One rewrite of the layer graph. A pass takes the graph's outputs and returns equivalent
/// outputs: equal metadata (shape, chunks, dtype) and equal values.
pub trait Pass: Send + Sync {
    /// A short name (`slice-fusion`, ...), used by `explain` and to select passes.
    fn name(&self) -> &'static str;

    /// Rewrites the graph of `outputs`.
    fn run(&self, outputs: &[Node]) -> Result<Vec<Node>, PassError>;

    /// Whether the pass manager keeps this pass's result only when the cost model
    /// ([`crate::Stats::cost`]) does not get worse. For rewrites that usually help but can
    /// duplicate work (a slice pushed below a layer that other slices also read).
    fn guarded(&self) -> bool {
        false
    }
}

/// Who reads each layer: for every node reachable from the outputs, the ids of the nodes
/// that take it as an input (once per input slot), and whether it is a requested output.
#[derive(Debug, Default)]
pub struct Consumers {
    users: FxHashMap<NodeId, Vec<Node>>,
    outputs: FxHashSet<NodeId>,
}

impl Consumers {
    /// Consumers of every node of the graph of `outputs`.
    pub fn of(outputs: &[Node]) -> Consumers {
        let mut c = Consumers {
            outputs: outputs.iter().map(Node::id).collect(),
            ..Consumers::default()
        };
        for n in topo_order(outputs) {
            for m in n.inputs() {
                c.users.entry(m.id()).or_default().push(n.clone());
            }
        }
        c
    }

    /// The nodes reading `n` (one entry per input slot).
    pub fn users(&self, n: &Node) -> &[Node] {
        self.users.get(&n.id()).map_or(&[], Vec::as_slice)
    }

    /// Whether `n` is a requested output.
    pub fn is_output(&self, n: &Node) -> bool {
        self.outputs.contains(&n.id())
    }

    /// Whether `n` is read only by `user` (possibly through several slots) and is not an
    /// output.
    pub fn only_user(&self, n: &Node, user: &Node) -> bool {
        !self.is_output(n) && self.users(n).iter().all(|u| u.id() == user.id())
    }
}

/// The rewritten version of every node visited so far, by original id.
pub type Rewritten = FxHashMap<NodeId, Node>;

/// Rebuilds the graph bottom-up: every node is first rebuilt on its rewritten inputs, then
/// `rule(original, rebuilt, rewritten)` may replace it (returning `None` keeps it);
/// `rewritten` maps every node before it (all of its inputs, transitively) to its new
/// version. Each node is visited once (memoized by id).
///
/// The contract (checked, as rustc's MIR validator checks its passes): a replacement keeps
/// the original's metadata (shape, chunks, dtype). A rule that breaks it fails the pass
/// with [`PassError::ChangedLayer`], naming `pass` and the layer, instead of being ignored;
/// the outputs are checked again at the end ([`PassError::ChangedOutput`]).
pub fn rewrite(
    pass: &'static str,
    outputs: &[Node],
    mut rule: impl FnMut(&Node, Node, &Rewritten) -> Result<Option<Node>, IrError>,
) -> Result<Vec<Node>, PassError> {
    let err = |source| PassError::Ir { pass, source };
    let mut new = Rewritten::default();
    for (position, n) in topo_order(outputs).into_iter().enumerate() {
        let inputs: Vec<Node> = n.inputs().iter().map(|m| new[&m.id()].clone()).collect();
        let rebuilt = n.with_inputs(&inputs).map_err(err)?;
        let out = match rule(&n, rebuilt.clone(), &new).map_err(err)? {
            Some(r) if r.meta() != n.meta() => {
                return Err(PassError::ChangedLayer {
                    pass,
                    layer: n.label(),
                    position,
                    before: meta_text(n.meta()),
                    after: meta_text(r.meta()),
                });
            }
            Some(r) => r,
            None => rebuilt,
        };
        new.insert(n.id(), out);
    }
    let out: Vec<Node> = outputs.iter().map(|o| new[&o.id()].clone()).collect();
    check_outputs(pass, outputs, &out)?;
    Ok(out)
}

/// The check after every pass (the pass manager runs it on every pass's result, whether
/// the pass uses [`rewrite`] or not): the same number of outputs, each with the shape,
/// chunks and dtype it had ([`PassError::ChangedOutput`] otherwise).
pub fn check_outputs(pass: &'static str, before: &[Node], after: &[Node]) -> Result<(), PassError> {
    if before.len() != after.len() {
        return Err(PassError::ChangedOutput {
            pass,
            output: before.len().min(after.len()),
        });
    }
    match before
        .iter()
        .zip(after)
        .position(|(a, b)| a.meta() != b.meta())
    {
        Some(output) => Err(PassError::ChangedOutput { pass, output }),
        None => Ok(()),
    }
}

/// `f64 [100] chunks (100/10)`, as [`chunkwise_ir::dump::layers_text`] shows metadata.
fn meta_text(m: &Meta) -> String {
    format!("{} {:?} chunks {}", m.dtype, m.shape(), m.chunks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{random, unary};
    use chunkwise_ir::program::UnaryOp;
    use chunkwise_ir::{ChunkGrid, DType, Distribution, Layer, ReduceOp};

    const UNIFORM: Distribution = Distribution::Uniform {
        low: 0.0,
        high: 1.0,
    };

    /// `sum(exp(x))` with `x` random: the source and `exp` are inner layers.
    fn graph() -> Vec<Node> {
        let e = unary(UnaryOp::Exp, &random(&[100], &[10], 1));
        vec![Node::reduction(e, ReduceOp::Sum, &[0], false, 4).unwrap()]
    }

    /// Runs a rule that replaces the random source by `replace(source)`.
    fn replace_source(replace: impl Fn(&Node) -> Node) -> Result<Vec<Node>, PassError> {
        rewrite("test-rule", &graph(), |orig, _, _| {
            Ok(matches!(orig.layer(), Layer::Random { .. }).then(|| replace(orig)))
        })
    }

    #[test]
    fn a_rule_changing_an_inner_dtype_is_reported_with_pass_and_layer() {
        let grid = ChunkGrid::regular(&[100], &[10]).unwrap();
        let err = replace_source(|_| Node::random(grid.clone(), DType::F32, 1, UNIFORM).unwrap())
            .unwrap_err();
        assert_eq!(
            err,
            PassError::ChangedLayer {
                pass: "test-rule",
                layer: "random-uniform".into(),
                position: 0,
                before: "f64 [100] chunks (100/10)".into(),
                after: "f32 [100] chunks (100/10)".into(),
            }
        );
        assert_eq!(
            err.to_string(),
            "pass test-rule changed the metadata of layer %0 (random-uniform): \
             f64 [100] chunks (100/10) became f32 [100] chunks (100/10)"
        );
    }

    #[test]
    fn a_rule_changing_inner_chunks_is_reported() {
        let err = replace_source(|_| random(&[100], &[20], 1)).unwrap_err();
        assert!(
            matches!(&err, PassError::ChangedLayer { pass: "test-rule", layer, position: 0, after, .. }
                if layer == "random-uniform" && after == "f64 [100] chunks (100/20)"),
            "{err}"
        );
    }

    #[test]
    fn a_rule_changing_an_output_is_reported_at_its_layer() {
        // The output `sum` (%2) replaced by its input `exp`, of shape [100] where the sum is
        // 0-d: reported at the layer, before the check of the outputs.
        let g = graph();
        let err = rewrite("test-rule", &g, |orig, n, _| {
            Ok(matches!(orig.layer(), Layer::Reduction(_)).then(|| n.inputs()[0].clone()))
        })
        .unwrap_err();
        assert!(
            matches!(&err, PassError::ChangedLayer { layer, position: 2, before, .. }
                if layer == "sum" && before == "f64 [] chunks ()"),
            "{err}"
        );
    }

    #[test]
    fn a_rule_keeping_metadata_is_applied() {
        let out = replace_source(|_| random(&[100], &[10], 2)).unwrap();
        let Layer::Reduction(r) = out[0].layer() else {
            panic!("the output stays a reduction")
        };
        assert!(matches!(
            r.input.inputs()[0].layer(),
            Layer::Random { seed: 2, .. }
        ));
        assert_eq!(out[0].meta(), graph()[0].meta());
    }
}
