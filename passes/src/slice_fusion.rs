//! Slice fusion: a slice of a slice becomes one slice; a slice that selects everything
//! disappears.
//!
//! ```text
//! before:
//! %0 = random-uniform() seed=1 Uniform { low: 0.0, high: 1.0 } : f64 [1000] chunks (1000/100)
//! %1 = slice(%0) [0:+100:1] : f64 [100] chunks (100/100)
//! %2 = slice(%1) [5] : f64 [] chunks ()
//! outputs: %2
//!
//! after slice-fusion:
//! %0 = random-uniform() seed=1 Uniform { low: 0.0, high: 1.0 } : f64 [1000] chunks (1000/100)
//! %1 = slice(%0) [5] : f64 [] chunks ()
//! outputs: %1
//! ```
//!
//! Composition covers every item kind ([`chunkwise_ir::slice::compose`]): steps of both
//! signs multiply, an index taken on a range becomes an index of the input, new axes pass
//! through. An identity slice (every axis `0:+len:1`, same chunks) is replaced by its input.
//! Both slices stay when the one slice would be chunked otherwise (the chunks of a slice
//! follow its input's: `x[0:3][::2]` of chunks of 5 has chunks of 1, `x[0:3:2]` of 2).
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
                    // The chunks of a slice follow its input's: one slice can be chunked
                    // otherwise than two, and a pass keeps every layer's metadata.
                    if fused.meta() == n.meta() {
                        return Ok(Some(simplify(fused)));
                    }
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

#[cfg(test)]
mod tests {
    use crate::testing::{assert_documented, before_after, random, range, slice};
    use chunkwise_ir::slice::SliceArg;

    #[test]
    fn an_index_of_a_range_is_an_index_of_the_input() {
        let x = random(&[1000], &[100], 1);
        let y = slice(
            &slice(&x, &[range(None, Some(100), None)]),
            &[SliceArg::Index(5)],
        );
        let text = before_after("slice-fusion", &[y]);
        insta::assert_snapshot!("slice_fusion_index_of_range", text);
        assert_documented(include_str!("slice_fusion.rs"), &text);
    }

    #[test]
    fn a_negative_step_composes() {
        let x = random(&[1000], &[100], 1);
        let inner = slice(&x, &[range(Some(10), Some(50), None)]);
        let z = slice(&inner, &[range(None, None, Some(-2))]);
        insta::assert_snapshot!(
            "slice_fusion_negative_step",
            before_after("slice-fusion", &[z])
        );
    }

    #[test]
    fn slices_stay_when_one_slice_would_be_chunked_otherwise() {
        let x = random(&[12], &[5], 1);
        let y = slice(
            &slice(&x, &[range(None, Some(3), None)]),
            &[range(None, None, Some(2))],
        );
        assert_eq!(y.chunks().axis(0).lengths(), [1, 1]);
        let out = crate::Pass::run(&super::SliceFusion, std::slice::from_ref(&y)).unwrap();
        assert_eq!(out[0].id(), y.id());
    }

    #[test]
    fn an_identity_slice_vanishes() {
        let w = slice(&random(&[1000], &[100], 1), &[SliceArg::ALL]);
        insta::assert_snapshot!("slice_fusion_identity", before_after("slice-fusion", &[w]));
    }
}
