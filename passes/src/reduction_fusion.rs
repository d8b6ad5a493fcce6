//! Reduction fusion: the per-chunk step of a reduction computes the elementwise layer before
//! it in the same task ([`Layer::Inline`]), so `sum(exp(x) - 1 / x)` runs one task per block
//! (read, compute, reduce) plus the combine tree.
//!
//! ```text
//! before:  %1 = sub(%0) i<-i {exp(x0) - 1.0 / x0}     after:  %1 = sub(%0) i<-i {exp(x0) - 1.0 / x0}
//!          %2 = sum(%1) axes=[0]                              %2 = inline sub(%1)
//!                                                             %3 = sum(%2) axes=[0]
//! ```
//!
//! Only when the reduction is the elementwise layer's sole consumer and the layer is not a
//! requested output (its blocks then exist only inside the reduction's tasks). Run after
//! blockwise fusion, so the inlined layer is a whole fused group.

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
