//! Common-subexpression elimination: an elementwise layer that reads the same (input,
//! index) pair twice reads it once.
//!
//! ```text
//! before:
//! %0 = random-uniform() seed=1 Uniform { low: 0.0, high: 1.0 } : f64 [100] chunks (100/10)
//! %1 = exp(%0) a<-a {exp(x0)} : f64 [100] chunks (100/10)
//! %2 = add(%1, %1) a<-a,a {x0 + x1} : f64 [100] chunks (100/10)
//! outputs: %2
//!
//! after cse:
//! %0 = random-uniform() seed=1 Uniform { low: 0.0, high: 1.0 } : f64 [100] chunks (100/10)
//! %1 = exp(%0) a<-a {exp(x0)} : f64 [100] chunks (100/10)
//! %2 = add(%1) a<-a {x0 + x0} : f64 [100] chunks (100/10)
//! outputs: %2
//! ```
//!
//! Nodes carry a content hash ([`Node::id`]), so equal sub-graphs are already one node to
//! the graph: building `exp(x)` twice gives two handles with one id, which dumps, statistics
//! and lowering count once, and every rewrite's memoized rebuild maps to one node. What is
//! left to merge is a layer reading one node through several program inputs, as `e + e`
//! above; merged, blockwise fusion treats `f(a) + f(a)` as one read. The same input read with
//! other indices (`x + x.T` after `transpose-blockwise`) stays two inputs.

use crate::pass::{rewrite, Pass, PassError};
use chunkwise_ir::program::{Instr, ProgramBuilder};
use chunkwise_ir::{Blockwise, Kernel, Layer, Node};
use std::sync::Arc;

/// See the [module documentation](self).
#[derive(Debug, Default, Clone, Copy)]
pub struct Cse;

impl Pass for Cse {
    fn name(&self) -> &'static str {
        "cse"
    }

    fn run(&self, outputs: &[Node]) -> Result<Vec<Node>, PassError> {
        rewrite(self.name(), outputs, |_, n, _| {
            let Layer::Blockwise(b) = n.layer() else {
                return Ok(None);
            };
            let Kernel::Program(p) = &b.kernel else {
                return Ok(None);
            };
            // First slot of each distinct (input, index) pair.
            let mut first = Vec::with_capacity(b.inputs.len());
            let mut inputs: Vec<(Node, Vec<u8>)> = Vec::new();
            for (m, ind) in &b.inputs {
                let k = match inputs
                    .iter()
                    .position(|(x, i)| x.id() == m.id() && i == ind)
                {
                    Some(k) => k,
                    None => {
                        inputs.push((m.clone(), ind.clone()));
                        inputs.len() - 1
                    }
                };
                first.push(k as u32);
            }
            if inputs.len() == b.inputs.len() {
                return Ok(None);
            }
            let mut builder = ProgramBuilder::new(inputs.iter().map(|(m, _)| m.dtype()).collect());
            let mut map = Vec::with_capacity(p.instrs().len());
            for ins in p.instrs() {
                let ins = match *ins {
                    Instr::Input { i } => Instr::Input {
                        i: first[i as usize],
                    },
                    other => chunkwise_ir::program::remap(other, |o| map[o as usize]),
                };
                map.push(builder.push_checked(ins)?);
            }
            let out = *map.last().expect("programs are not empty");
            Ok(Some(Node::blockwise(Blockwise {
                out_ind: b.out_ind.clone(),
                inputs,
                new_axes: b.new_axes.clone(),
                kernel: Kernel::Program(Arc::new(builder.finish(out))),
            })?))
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{arrays, assert_documented, before_after, random, unary};
    use chunkwise_ir::program::{BinaryOp, UnaryOp};

    #[test]
    fn a_program_reading_one_input_twice_reads_it_once() {
        let e = unary(UnaryOp::Exp, &random(&[100], &[10], 1));
        let text = before_after("cse", &[arrays(&e, BinaryOp::Add, &e)]);
        insta::assert_snapshot!("cse_duplicate_input", text);
        assert_documented(include_str!("cse.rs"), &text);
    }
}
