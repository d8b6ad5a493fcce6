//! Reduction fusion: the per-chunk step of a reduction computes the elementwise layer before
//! it in the same task ([`Layer::Inline`]), so `sum(exp(x) - 1 / x)` runs one task per block
//! (read, compute, reduce) plus the combine tree.
//!
//! ```text
//! before:
//! %0 = random-uniform() seed=1 Uniform { low: 0.0, high: 1.0 } : f64 [100] chunks (100/10)
//! %1 = exp(%0) a<-a {exp(x0)} : f64 [100] chunks (100/10)
//! %2 = div(%0) a<-a {1.0 / x0} : f64 [100] chunks (100/10)
//! %3 = sub(%1, %2) a<-a,a {x0 - x1} : f64 [100] chunks (100/10)
//! %4 = sum(%3) axes=[0] keepdims=false split_every=4 : f64 [] chunks ()
//! outputs: %4
//!
//! after reduction-fusion:
//! %0 = random-uniform() seed=1 Uniform { low: 0.0, high: 1.0 } : f64 [100] chunks (100/10)
//! %1 = exp(%0) a<-a {exp(x0)} : f64 [100] chunks (100/10)
//! %2 = div(%0) a<-a {1.0 / x0} : f64 [100] chunks (100/10)
//! %3 = sub(%1, %2) a<-a,a {x0 - x1} : f64 [100] chunks (100/10)
//! %4 = inline sub(%3) : f64 [100] chunks (100/10)
//! %5 = sum(%4) axes=[0] keepdims=false split_every=4 : f64 [] chunks ()
//! outputs: %5
//! ```
//!
//! Only when the reduction is the elementwise layer's sole consumer and the layer is not a
//! requested output (its blocks then exist only inside the reduction's tasks). Run after
//! blockwise fusion, so the inlined layer is a whole fused group: alone, as above, the pass
//! inlines only `sub`, where in the standard pipeline `exp`, `div` and `sub` are by then one
//! layer (and the source is inlined into it by root fusion).

use crate::pass::{rewrite, Consumers, Pass, PassError};
use crate::root_fusion::with_inlined_inputs;
use chunkwise_ir::{Kernel, Layer, Node};

/// See the [module documentation](self).
#[derive(Debug, Default, Clone, Copy)]
pub struct ReductionFusion;

impl Pass for ReductionFusion {
    fn name(&self) -> &'static str {
        "reduction-fusion"
    }

    fn run(&self, outputs: &[Node]) -> Result<Vec<Node>, PassError> {
        let consumers = Consumers::of(outputs);
        rewrite(self.name(), outputs, |orig, n, _| {
            if !matches!(n.layer(), Layer::Reduction(_)) {
                return Ok(None);
            }
            with_inlined_inputs(orig, &n, |m| {
                let elementwise = matches!(m.layer(), Layer::Blockwise(b)
                    if matches!(b.kernel, Kernel::Program(_)) && b.new_axes.is_empty());
                (elementwise || m.is_source()) && consumers.only_user(m, orig)
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{assert_documented, before_after, exp_minus_reciprocal, random, reduce};
    use chunkwise_ir::ReduceOp;

    #[test]
    fn the_layer_before_a_sum_is_inlined() {
        let y = exp_minus_reciprocal(&random(&[100], &[10], 1));
        let text = before_after("reduction-fusion", &[reduce(&y, ReduceOp::Sum, &[0])]);
        insta::assert_snapshot!("reduction_fusion", text);
        assert_documented(include_str!("reduction_fusion.rs"), &text);
    }
}
