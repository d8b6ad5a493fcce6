//! Transposes into blockwise index notation: a blockwise layer that reads a transposed
//! array reads the array itself with its indices permuted, so the transpose needs no tasks
//! and `x + x.T` is one layer.
//!
//! ```text
//! before:
//! %0 = random-uniform() seed=2 Uniform { low: 0.0, high: 1.0 } : f64 [6, 6] chunks (6/3, 6/3)
//! %1 = transpose(%0) perm=[1, 0] : f64 [6, 6] chunks (6/3, 6/3)
//! %2 = add(%0, %1) ab<-ab,ab {x0 + x1} : f64 [6, 6] chunks (6/3, 6/3)
//! outputs: %2
//!
//! after transpose-blockwise:
//! %0 = random-uniform() seed=2 Uniform { low: 0.0, high: 1.0 } : f64 [6, 6] chunks (6/3, 6/3)
//! %1 = add(%0, %0) ab<-ab,ba {x0 + x1} : f64 [6, 6] chunks (6/3, 6/3)
//! outputs: %1
//! ```
//!
//! Output axis `i` of the transpose is axis `perm[i]` of its input, so an input read with
//! indices `ind` through the transpose is read directly with `ind'[perm[i]] = ind[i]`.
//! Applies to expression programs and contractions (they read blocks by index); named
//! kernels receive blocks in the layout they were written for and are left alone. The
//! transpose stays in the graph for any other consumer.

use crate::pass::{rewrite, Pass, PassError};
use chunkwise_ir::{Blockwise, Kernel, Layer, Node};

/// See the [module documentation](self).
#[derive(Debug, Default, Clone, Copy)]
pub struct TransposeBlockwise;

impl Pass for TransposeBlockwise {
    fn name(&self) -> &'static str {
        "transpose-blockwise"
    }

    fn run(&self, outputs: &[Node]) -> Result<Vec<Node>, PassError> {
        rewrite(self.name(), outputs, |_, n, _| {
            let Layer::Blockwise(b) = n.layer() else {
                return Ok(None);
            };
            if matches!(b.kernel, Kernel::Named(_))
                || !b
                    .inputs
                    .iter()
                    .any(|(m, _)| matches!(m.layer(), Layer::Transpose { .. }))
            {
                return Ok(None);
            }
            let inputs = b
                .inputs
                .iter()
                .map(|(m, ind)| match m.layer() {
                    Layer::Transpose { input, perm } => {
                        let mut direct = ind.clone();
                        for (i, &p) in perm.iter().enumerate() {
                            direct[p] = ind[i];
                        }
                        (input.clone(), direct)
                    }
                    _ => (m.clone(), ind.clone()),
                })
                .collect();
            Ok(Some(Node::blockwise(Blockwise {
                inputs,
                ..b.clone()
            })?))
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{assert_documented, before_after, matmul, random, t, x_plus_xt};

    #[test]
    fn x_plus_its_transpose_reads_x_twice() {
        let text = before_after("transpose-blockwise", &[x_plus_xt()]);
        insta::assert_snapshot!("transpose_blockwise_x_plus_xt", text);
        assert_documented(include_str!("transpose_blockwise.rs"), &text);
    }

    #[test]
    fn a_contraction_reads_through_the_transpose() {
        let m = random(&[6, 6], &[3, 3], 2);
        insta::assert_snapshot!(
            "transpose_blockwise_matmul",
            before_after("transpose-blockwise", &[matmul(&t(&m), &m)])
        );
    }
}
