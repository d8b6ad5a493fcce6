//! Blockwise fusion, linear and diamond: groups of elementwise blockwise layers become one
//! blockwise layer whose kernel is one expression program, so a block is computed in one
//! loop with no intermediate arrays.
//!
//! ```text
//! before:
//! %0 = random-uniform() seed=1 Uniform { low: 0.0, high: 1.0 } : f64 [100] chunks (100/10)
//! %1 = add(%0) a<-a {x0 + 1.0} : f64 [100] chunks (100/10)
//! %2 = mul(%1) a<-a {x0 * 2.0} : f64 [100] chunks (100/10)
//! %3 = mul(%1) a<-a {x0 * 3.0} : f64 [100] chunks (100/10)
//! %4 = add(%2, %3) a<-a,a {x0 + x1} : f64 [100] chunks (100/10)
//! outputs: %4
//!
//! after blockwise-fusion:
//! %0 = random-uniform() seed=1 Uniform { low: 0.0, high: 1.0 } : f64 [100] chunks (100/10)
//! %1 = add(%0) a<-a {((x0 + 1.0) * 2.0) + ((x0 + 1.0) * 3.0)} : f64 [100] chunks (100/10)
//! outputs: %1
//! ```
//!
//! The rule (Dask's, restated): walking from the outputs, an elementwise layer joins the
//! group of its consumers when *all* of its consumers are elementwise layers of one group,
//! it is not a requested output, and it is not broadcast by a consumer (which would repeat
//! its work for every broadcast element). So diamonds (`d = f(a(y), b(y))`) collapse into
//! one layer, while a layer also used by a reduction, a slice or an output stays
//! materialized. Contractions, named kernels and layers with new axes are never fused.
//! Identical (input, index) pairs of a group become one program input; the same input read
//! with different index orders (`x + x.T`) stays two inputs.
//!
//! Memory bound: a group stops growing when the fused task would read more than
//! [`FusionLimits::max_inputs`] input blocks or hold more than
//! [`FusionLimits::max_task_bytes`] (input blocks plus the output block).

use crate::pass::{Consumers, Pass, PassError};
use chunkwise_ir::memory::block_bytes;
use chunkwise_ir::program::{remap, Instr, ProgramBuilder};
use chunkwise_ir::{topo_order, Blockwise, IrError, Kernel, Layer, Node, NodeId, Sym};
use rustc_hash::{FxHashMap, FxHashSet};
use std::sync::Arc;

/// Bounds on what one fused task may hold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FusionLimits {
    /// Most distinct input arrays of a fused layer.
    pub max_inputs: usize,
    /// Most bytes of input and output blocks of one fused task.
    pub max_task_bytes: u64,
}

impl Default for FusionLimits {
    /// 16 inputs, 2 GiB per task.
    fn default() -> Self {
        FusionLimits {
            max_inputs: 16,
            max_task_bytes: 2 << 30,
        }
    }
}

/// See the [module documentation](self).
#[derive(Debug, Default, Clone, Copy)]
pub struct BlockwiseFusion {
    /// Memory bounds of a fused task.
    pub limits: FusionLimits,
}

/// Whether `n` is an elementwise layer that can join a group.
fn fusable(n: &Node) -> Option<&Blockwise> {
    match n.layer() {
        Layer::Blockwise(b) if matches!(b.kernel, Kernel::Program(_)) && b.new_axes.is_empty() => {
            Some(b)
        }
        _ => None,
    }
}

/// Whether consumer `c` broadcasts input `n` (an axis of length 1 against a longer one).
fn broadcast_by(n: &Node, c: &Node, b: &Blockwise) -> bool {
    let out = c.shape();
    b.inputs
        .iter()
        .filter(|(m, _)| m.id() == n.id())
        .any(|(m, ind)| {
            ind.iter().enumerate().any(|(ax, s)| {
                let pos = b.out_ind.iter().position(|t| t == s);
                m.shape()[ax] == 1 && pos.is_some_and(|p| out[p] != 1)
            })
        })
}

struct Group {
    /// Distinct input arrays read from outside the group.
    external: FxHashSet<NodeId>,
    bytes: u64,
}

impl Pass for BlockwiseFusion {
    fn name(&self) -> &'static str {
        "blockwise-fusion"
    }

    fn run(&self, outputs: &[Node]) -> Result<Vec<Node>, PassError> {
        let err = |source| PassError::Ir {
            pass: "blockwise-fusion",
            source,
        };
        let consumers = Consumers::of(outputs);
        let order = topo_order(outputs);
        // Group of each elementwise layer (the id of its root), outputs first.
        let mut group_of: FxHashMap<NodeId, NodeId> = FxHashMap::default();
        let mut groups: FxHashMap<NodeId, Group> = FxHashMap::default();
        for n in order.iter().rev() {
            let Some(b) = fusable(n) else { continue };
            let users = consumers.users(n);
            let target = if consumers.is_output(n) || users.is_empty() {
                None
            } else {
                let g = group_of.get(&users[0].id()).copied();
                let same = users.iter().all(|u| {
                    fusable(u).is_some_and(|ub| !broadcast_by(n, u, ub))
                        && group_of.get(&u.id()).copied() == g
                });
                g.filter(|_| same)
            };
            let joined = target.and_then(|g| {
                let grp = &groups[&g];
                let mut ext = grp.external.clone();
                ext.remove(&n.id());
                let mut bytes = grp.bytes.saturating_sub(block_bytes(n));
                for (m, _) in &b.inputs {
                    if ext.insert(m.id()) {
                        bytes = bytes.saturating_add(block_bytes(m));
                    }
                }
                (ext.len() <= self.limits.max_inputs && bytes <= self.limits.max_task_bytes)
                    .then_some((g, ext, bytes))
            });
            match joined {
                Some((g, external, bytes)) => {
                    group_of.insert(n.id(), g);
                    groups.insert(g, Group { external, bytes });
                }
                None => {
                    let external: FxHashSet<NodeId> =
                        b.inputs.iter().map(|(m, _)| m.id()).collect();
                    let bytes = b
                        .inputs
                        .iter()
                        .map(|(m, _)| block_bytes(m))
                        .fold(block_bytes(n), u64::saturating_add);
                    group_of.insert(n.id(), n.id());
                    groups.insert(n.id(), Group { external, bytes });
                }
            }
        }
        let mut members: FxHashMap<NodeId, usize> = FxHashMap::default();
        for g in group_of.values() {
            *members.entry(*g).or_default() += 1;
        }
        // Rebuild, inputs first; group members other than the root are absorbed.
        let mut new: FxHashMap<NodeId, Node> = FxHashMap::default();
        for n in &order {
            let root = group_of.get(&n.id()).copied();
            if root.is_some_and(|r| r != n.id()) {
                continue;
            }
            let rebuilt = if root.is_some_and(|r| members[&r] > 1) {
                fuse(n, &group_of, &new).map_err(err)?
            } else {
                let inputs: Vec<Node> = n.inputs().iter().map(|m| new[&m.id()].clone()).collect();
                n.with_inputs(&inputs).map_err(err)?
            };
            new.insert(n.id(), rebuilt);
        }
        Ok(outputs.iter().map(|o| new[&o.id()].clone()).collect())
    }
}

/// Builds the one program of the group rooted at `root`.
struct Fuser<'a> {
    root: NodeId,
    group_of: &'a FxHashMap<NodeId, NodeId>,
    new: &'a FxHashMap<NodeId, Node>,
    /// External inputs (rebuilt node, indices in root symbols).
    inputs: Vec<(Node, Vec<Sym>)>,
    instrs: Vec<Instr>,
    /// Value numbering: equal instructions are emitted once.
    seen: FxHashMap<String, u32>,
    /// A member already emitted under a symbol mapping.
    done: FxHashMap<(NodeId, Vec<Sym>), u32>,
}

impl Fuser<'_> {
    fn push(&mut self, ins: Instr) -> u32 {
        let key = format!("{ins:?}");
        if let Some(&i) = self.seen.get(&key) {
            return i;
        }
        self.instrs.push(ins);
        let i = self.instrs.len() as u32 - 1;
        self.seen.insert(key, i);
        i
    }

    /// Emits member `m`, whose output axes carry root symbols `syms`; returns its result.
    fn emit(&mut self, m: &Node, syms: &[Sym]) -> u32 {
        if let Some(&i) = self.done.get(&(m.id(), syms.to_vec())) {
            return i;
        }
        let b = fusable(m).expect("group members are elementwise");
        let Kernel::Program(p) = &b.kernel else {
            unreachable!("fusable layers have programs")
        };
        let mut local = Vec::with_capacity(p.instrs().len());
        for ins in p.instrs() {
            let g = match *ins {
                Instr::Input { i } => {
                    let (x, ind) = &b.inputs[i as usize];
                    let mapped: Vec<Sym> = ind
                        .iter()
                        .map(|s| syms[b.out_ind.iter().position(|t| t == s).unwrap_or(0)])
                        .collect();
                    if self.group_of.get(&x.id()) == Some(&self.root) {
                        self.emit(x, &mapped)
                    } else {
                        let x = self.new[&x.id()].clone();
                        let k = match self
                            .inputs
                            .iter()
                            .position(|(y, yi)| y.id() == x.id() && *yi == mapped)
                        {
                            Some(k) => k,
                            None => {
                                self.inputs.push((x, mapped));
                                self.inputs.len() - 1
                            }
                        };
                        self.push(Instr::Input { i: k as u32 })
                    }
                }
                other => self.push(remap(other, |o| local[o as usize])),
            };
            local.push(g);
        }
        let out = *local.last().expect("programs are not empty");
        self.done.insert((m.id(), syms.to_vec()), out);
        out
    }
}

fn fuse(
    root: &Node,
    group_of: &FxHashMap<NodeId, NodeId>,
    new: &FxHashMap<NodeId, Node>,
) -> Result<Node, IrError> {
    let b = fusable(root).expect("group roots are elementwise");
    let mut f = Fuser {
        root: root.id(),
        group_of,
        new,
        inputs: Vec::new(),
        instrs: Vec::new(),
        seen: FxHashMap::default(),
        done: FxHashMap::default(),
    };
    let out = f.emit(root, &b.out_ind);
    let mut builder = ProgramBuilder::new(f.inputs.iter().map(|(x, _)| x.dtype()).collect());
    let mut map = Vec::with_capacity(f.instrs.len());
    for ins in &f.instrs {
        map.push(builder.push_checked(remap(*ins, |o| map[o as usize]))?);
    }
    let program = builder.finish(map[out as usize]);
    Node::blockwise(Blockwise {
        out_ind: b.out_ind.clone(),
        inputs: f.inputs,
        new_axes: vec![],
        kernel: Kernel::Program(Arc::new(program)),
    })
}
