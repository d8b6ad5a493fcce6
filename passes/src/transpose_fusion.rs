//! Transpose fusion: a transpose of a transpose is one transpose; the identity permutation
//! disappears.
//!
//! ```text
//! before:
//! %0 = random-uniform() seed=1 Uniform { low: 0.0, high: 1.0 } : f64 [4, 6, 8] chunks (4/2, 6/3, 8/4)
//! %1 = transpose(%0) perm=[1, 2, 0] : f64 [6, 8, 4] chunks (6/3, 8/4, 4/2)
//! %2 = transpose(%1) perm=[1, 2, 0] : f64 [8, 4, 6] chunks (8/4, 4/2, 6/3)
//! %3 = transpose(%0) perm=[2, 0, 1] : f64 [8, 4, 6] chunks (8/4, 4/2, 6/3)
//! %4 = transpose(%3) perm=[1, 2, 0] : f64 [4, 6, 8] chunks (4/2, 6/3, 8/4)
//! outputs: %2, %4
//!
//! after transpose-fusion:
//! %0 = random-uniform() seed=1 Uniform { low: 0.0, high: 1.0 } : f64 [4, 6, 8] chunks (4/2, 6/3, 8/4)
//! %1 = transpose(%0) perm=[2, 0, 1] : f64 [8, 4, 6] chunks (8/4, 4/2, 6/3)
//! outputs: %1, %0
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

#[cfg(test)]
mod tests {
    use crate::testing::{assert_documented, before_after, random, transpose};

    #[test]
    fn transposes_of_transposes_compose_and_the_identity_vanishes() {
        let x = random(&[4, 6, 8], &[2, 3, 4], 1);
        let y = transpose(&transpose(&x, &[1, 2, 0]), &[1, 2, 0]);
        let back = transpose(&transpose(&x, &[2, 0, 1]), &[1, 2, 0]);
        let text = before_after("transpose-fusion", &[y, back]);
        insta::assert_snapshot!("transpose_fusion", text);
        assert_documented(include_str!("transpose_fusion.rs"), &text);
    }
}
