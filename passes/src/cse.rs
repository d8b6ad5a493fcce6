//! Common-subexpression elimination: equal sub-graphs become one node, and an elementwise
//! layer that reads the same (input, index) pair twice reads it once.
//!
//! ```text
//! before:  %0 = random-uniform() seed=1                after:  %0 = random-uniform() seed=1
//!          %1 = exp(%0) i<-i {exp(x0)}                         %1 = exp(%0) i<-i {exp(x0)}
//!          %2 = exp(%0) i<-i {exp(x0)}    (equal to %1)        %3 = add(%1) i<-i {x0 + x0}
//!          %3 = add(%1, %2) i<-i,i {x0 + x1}
//! ```
//!
//! Nodes carry a content hash, so equal sub-graphs already have equal ids; this pass makes
//! them one shared node (so statistics and dumps count them once) and merges duplicate
//! program inputs, which lets blockwise fusion treat `f(a) + f(a)` as one read.

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
