//! Root fusion: a source (random, full, arange, from-array) read by exactly one elementwise
//! layer or reduction is computed inside that consumer's tasks ([`Layer::Inline`]), so the
//! source has no tasks and its blocks are never held between tasks.
//!
//! ```text
//! before:
//! %0 = random-uniform() seed=1 Uniform { low: 0.0, high: 1.0 } : f64 [100] chunks (100/10)
//! %1 = exp(%0) a<-a {exp(x0)} : f64 [100] chunks (100/10)
//! outputs: %1
//!
//! after root-fusion:
//! %0 = random-uniform() seed=1 Uniform { low: 0.0, high: 1.0 } : f64 [100] chunks (100/10)
//! %1 = inline random-uniform(%0) : f64 [100] chunks (100/10)
//! %2 = exp(%1) a<-a {exp(x0)} : f64 [100] chunks (100/10)
//! outputs: %2
//! ```
//!
//! A source is inlined only when every one of its blocks is read by one consumer task (no
//! broadcast axis spread over several output blocks), except `full`, which costs nothing to
//! repeat. A source read by two layers (`exp(x) - 1 / x` before blockwise fusion) stays.

use crate::pass::{rewrite, Consumers, Pass, PassError};
use chunkwise_ir::{IrError, Kernel, Layer, Node};

/// See the [module documentation](self).
#[derive(Debug, Default, Clone, Copy)]
pub struct RootFusion;

/// Whether every block of input `m` of `user` is read by at most one task of `user`.
pub(crate) fn read_once(m: &Node, user: &Node) -> bool {
    match user.layer() {
        Layer::Reduction(_) => true,
        Layer::Blockwise(b) => {
            let out = user.chunks().num_blocks();
            b.inputs
                .iter()
                .filter(|(x, _)| x.id() == m.id())
                .all(|(x, ind)| {
                    let nb = x.chunks().num_blocks();
                    b.out_ind.iter().enumerate().all(|(p, s)| {
                        let ax = ind.iter().position(|t| t == s);
                        out[p] == 1 || ax.is_some_and(|ax| nb[ax] == out[p])
                    })
                })
        }
        _ => false,
    }
}

/// Whether `user` computes inlined inputs (an elementwise program or a reduction).
pub(crate) fn takes_inline(user: &Node) -> bool {
    match user.layer() {
        Layer::Blockwise(b) => matches!(b.kernel, Kernel::Program(_)),
        Layer::Reduction(_) => true,
        _ => false,
    }
}

/// Rebuilds `n` (original `orig`) with the inputs accepted by `inline_it` inlined.
pub(crate) fn with_inlined_inputs(
    orig: &Node,
    n: &Node,
    mut inline_it: impl FnMut(&Node) -> bool,
) -> Result<Option<Node>, IrError> {
    if !takes_inline(n) {
        return Ok(None);
    }
    let mut changed = false;
    let inputs: Vec<Node> = orig
        .inputs()
        .into_iter()
        .zip(n.inputs())
        .map(|(o, m)| {
            if inline_it(o) && !matches!(m.layer(), Layer::Inline { .. }) {
                changed = true;
                Node::inline(m.clone())
            } else {
                Ok(m.clone())
            }
        })
        .collect::<Result<_, _>>()?;
    if !changed {
        return Ok(None);
    }
    n.with_inputs(&inputs).map(Some)
}

impl Pass for RootFusion {
    fn name(&self) -> &'static str {
        "root-fusion"
    }

    fn run(&self, outputs: &[Node]) -> Result<Vec<Node>, PassError> {
        let consumers = Consumers::of(outputs);
        rewrite(self.name(), outputs, |orig, n, _| {
            with_inlined_inputs(orig, &n, |m| {
                m.is_source()
                    && consumers.only_user(m, orig)
                    && (matches!(m.layer(), Layer::Full { .. }) || read_once(m, orig))
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{assert_documented, before_after, exp_minus_reciprocal, random, unary};
    use chunkwise_ir::program::UnaryOp;

    #[test]
    fn a_source_read_by_one_layer_is_inlined() {
        let y = unary(UnaryOp::Exp, &random(&[100], &[10], 1));
        let text = before_after("root-fusion", &[y]);
        insta::assert_snapshot!("root_fusion_single_consumer", text);
        assert_documented(include_str!("root_fusion.rs"), &text);
    }

    #[test]
    fn a_source_read_by_two_layers_stays() {
        let y = exp_minus_reciprocal(&random(&[100], &[10], 1));
        insta::assert_snapshot!(
            "root_fusion_shared_source_stays",
            before_after("root-fusion", &[y])
        );
    }
}
