//! The [`Pass`] trait and the helpers every rewrite shares: consumer counts and a memoized
//! bottom-up rebuild of the layer graph.

use chunkwise_ir::{topo_order, IrError, Node, NodeId};
use rustc_hash::{FxHashMap, FxHashSet};
use thiserror::Error;

/// Why a pass failed. Passes only fail on graphs that were invalid to begin with (a rewrite
/// that cannot be rebuilt is skipped, never half-applied).
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
/// version. A replacement whose metadata differs from the original is ignored, so a faulty
/// rule cannot change results' shapes. Each node is visited once (memoized by id).
pub fn rewrite(
    pass: &'static str,
    outputs: &[Node],
    mut rule: impl FnMut(&Node, Node, &Rewritten) -> Result<Option<Node>, IrError>,
) -> Result<Vec<Node>, PassError> {
    let err = |source| PassError::Ir { pass, source };
    let mut new = Rewritten::default();
    for n in topo_order(outputs) {
        let inputs: Vec<Node> = n.inputs().iter().map(|m| new[&m.id()].clone()).collect();
        let rebuilt = n.with_inputs(&inputs).map_err(err)?;
        let out = match rule(&n, rebuilt.clone(), &new).map_err(err)? {
            Some(r) if r.meta() == n.meta() => r,
            _ => rebuilt,
        };
        new.insert(n.id(), out);
    }
    let out: Vec<Node> = outputs.iter().map(|o| new[&o.id()].clone()).collect();
    for (k, (a, b)) in outputs.iter().zip(&out).enumerate() {
        if a.meta() != b.meta() {
            return Err(PassError::ChangedOutput { pass, output: k });
        }
    }
    Ok(out)
}
