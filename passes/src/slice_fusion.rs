//! Slice fusion: a slice of a slice becomes one slice; a slice that selects everything
//! disappears.
//!
//! ```text
//! before:  %1 = slice(%0) [0:+100:1]        after:  %1 = slice(%0) [5]
//!          %2 = slice(%1) [5]
//! ```
//!
//! Composition covers every item kind ([`chunkwise_ir::slice::compose`]): steps of both
//! signs multiply, an index taken on a range becomes an index of the input, new axes pass
//! through. An identity slice (every axis `0:+len:1`, same chunks) is replaced by its input.
//! The inner slice is left in place for its other consumers: slices compute nothing, so
//! sharing it saves no work.

use crate::pass::{rewrite, Pass, PassError};
use chunkwise_ir::slice::compose;
use chunkwise_ir::{Layer, Node};

/// See the [module documentation](self).
#[derive(Debug, Default, Clone, Copy)]
pub struct SliceFusion;

impl Pass for SliceFusion {
    fn name(&self) -> &'static str {
        "slice-fusion"
    }

    fn run(&self, outputs: &[Node]) -> Result<Vec<Node>, PassError> {
        rewrite(self.name(), outputs, |_, n, _| {
            let Layer::Slice { input, items } = n.layer() else {
                return Ok(None);
            };
            if let Layer::Slice {
                input: inner_input,
                items: inner,
            } = input.layer()
            {
                if let Some(items) = compose(inner, items) {
                    let fused = Node::slice(inner_input.clone(), items)?;
                    return Ok(Some(simplify(fused)));
                }
            }
            Ok(Some(simplify(n.clone())))
        })
    }
}

/// `n` itself, or its input when `n` is a slice that selects all of it with equal chunks.
fn simplify(n: Node) -> Node {
    match n.layer() {
        Layer::Slice { input, items }
            if input.meta() == n.meta()
                && items
                    .iter()
                    .zip(input.shape())
                    .all(|(i, len)| i.is_identity(len))
                && items.len() == input.ndim() =>
        {
            input.clone()
        }
        _ => n,
    }
}
