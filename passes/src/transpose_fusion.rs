//! Transpose fusion: a transpose of a transpose is one transpose; the identity permutation
//! disappears.
//!
//! ```text
//! before:  %1 = transpose(%0) perm=[1, 2, 0]     after:  %2 = transpose(%0) perm=[2, 0, 1]
//!          %2 = transpose(%1) perm=[1, 2, 0]
//! ```

use crate::pass::{rewrite, Pass, PassError};
use chunkwise_ir::{Layer, Node};

/// See the [module documentation](self).
#[derive(Debug, Default, Clone, Copy)]
pub struct TransposeFusion;

impl Pass for TransposeFusion {
    fn name(&self) -> &'static str {
        "transpose-fusion"
    }

    fn run(&self, outputs: &[Node]) -> Result<Vec<Node>, PassError> {
        rewrite(self.name(), outputs, |_, n, _| {
            let Layer::Transpose { input, perm } = n.layer() else {
                return Ok(None);
            };
            let (base, perm) = match input.layer() {
                // Output axis i is inner axis perm[i], which is base axis inner[perm[i]].
                Layer::Transpose {
                    input: base,
                    perm: inner,
                } => (base.clone(), perm.iter().map(|&p| inner[p]).collect()),
                _ => (input.clone(), perm.clone()),
            };
            if perm.iter().enumerate().all(|(i, &p)| i == p) {
                return Ok(Some(base));
            }
            Ok(Some(Node::transpose(base, perm)?))
        })
    }
}
