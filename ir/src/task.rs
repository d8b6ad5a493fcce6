//! Stages and the task graph.
//!
//! Lowering turns every layer into one or more *stages* (a reduction becomes a per-chunk
//! stage, combine levels and an aggregate stage; every other layer is one stage). A stage
//! has a block grid; a *task* is one block of one stage. [`Stage::for_each_input`] gives the
//! input blocks a task needs, in the order its kernel receives them: it is the single
//! source of truth used by lowering (to build dependencies) and by backends (to place data).
//!
//! The [`TaskGraph`] is a struct of flat arrays: per task its stage and linear block index,
//! dependencies in CSR form with `u32` task ids. Per task it costs 12 bytes plus 4 bytes per
//! dependency; kernels and metadata are shared by the stages.

use crate::grid::{ravel, unravel_into, AxisChunks};
use crate::layer::{Layer, Node};
use crate::slice::{for_each_piece, Piece, SliceItem};
use std::fmt;
use std::ops::Range;

/// Which part of a layer a stage computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StageOp {
    /// The whole layer (every layer but reductions).
    Layer,
    /// Reduction: the state of one input block.
    ReduceChunk,
    /// Reduction: states of up to `split` blocks per reduced axis combined into one.
    ReduceCombine {
        /// Tree level, from 1.
        level: u32,
    },
    /// Reduction: the remaining states combined and finalized into an output block.
    ReduceAggregate,
}

/// One stage of a lowered layer.
#[derive(Clone, Debug)]
pub struct Stage {
    /// The layer.
    pub node: Node,
    /// What part of it.
    pub op: StageOp,
    /// Blocks per axis of this stage's grid.
    pub nblocks: Vec<u64>,
    /// Input stages, as ids into the task graph's stage list (set by lowering). Inlined
    /// inputs ([`Layer::Inline`]) are replaced by their own input stages.
    pub inputs: Vec<u32>,
    /// Blocks per axis of each input stage.
    pub input_nblocks: Vec<Vec<u64>>,
    /// Blocks per axis of each direct input (the layer's inputs, inlined ones included; for
    /// reduction combine steps, the previous step).
    direct_nblocks: Vec<Vec<u64>>,
    /// Per direct input: the inlined node, if it is inlined.
    direct_inline: Vec<Option<Node>>,
    /// Per direct input: its first position in `inputs`.
    direct_base: Vec<usize>,
    /// For concatenation: first output block of each input along the axis.
    concat_starts: Vec<u64>,
    /// For blockwise layers: the contracted symbols (computed once, not per task).
    contracted: Vec<crate::layer::Sym>,
}

/// Reusable buffers for [`Stage::for_each_input`] (avoids allocation per task).
#[derive(Default, Debug)]
pub struct Scratch {
    coords: Vec<u64>,
    odo: Vec<u64>,
    ranges: Vec<Range<u64>>,
    pieces: Vec<Vec<Piece>>,
}

/// How the stages of one layer are laid out.
#[derive(Debug)]
pub struct StagePlan {
    /// Grid and op of each stage of the layer, in dependency order (the last is the layer's
    /// output stage). Input stage lists refer to the node's inputs for the first stage and
    /// to the previous stage for the others.
    pub stages: Vec<(StageOp, Vec<u64>)>,
}

/// The stages of a node: one for most layers, `1 + levels + 1` for reductions.
pub fn plan_stages(node: &Node) -> StagePlan {
    match node.layer() {
        Layer::Reduction(r) => {
            let split = r.split_per_axis();
            let mut nb = r.input.chunks().num_blocks();
            let mut stages = vec![(StageOp::ReduceChunk, nb.clone())];
            let mut level = 0;
            while r.axes.iter().any(|&a| nb[a] > split) {
                level += 1;
                for &a in &r.axes {
                    nb[a] = nb[a].div_ceil(split);
                }
                stages.push((StageOp::ReduceCombine { level }, nb.clone()));
            }
            stages.push((StageOp::ReduceAggregate, node.chunks().num_blocks()));
            StagePlan { stages }
        }
        _ => StagePlan {
            stages: vec![(StageOp::Layer, node.chunks().num_blocks())],
        },
    }
}

impl Stage {
    /// A stage; `inputs` and `input_nblocks` describe the input stages.
    pub fn new(
        node: Node,
        op: StageOp,
        nblocks: Vec<u64>,
        inputs: Vec<u32>,
        input_nblocks: Vec<Vec<u64>>,
    ) -> Stage {
        let concat_starts = match node.layer() {
            Layer::Concatenate { inputs, axis } => {
                let mut acc = 0;
                inputs
                    .iter()
                    .map(|n| {
                        let s = acc;
                        acc += n.chunks().axis(*axis).num_blocks();
                        s
                    })
                    .collect()
            }
            _ => vec![],
        };
        let contracted = match node.layer() {
            Layer::Blockwise(b) => b.contracted(),
            _ => vec![],
        };
        let direct: Vec<Node> = match (node.layer(), op) {
            (Layer::Reduction(r), StageOp::ReduceChunk) => vec![r.input.clone()],
            (Layer::Reduction(_), _) => vec![],
            _ => node.inputs().into_iter().cloned().collect(),
        };
        let (direct_nblocks, direct_inline, direct_base) = if direct.is_empty() {
            (
                input_nblocks.clone(),
                vec![None; inputs.len()],
                (0..inputs.len()).collect(),
            )
        } else {
            let mut base = 0;
            let mut bases = Vec::with_capacity(direct.len());
            for m in &direct {
                bases.push(base);
                base += dep_width(m);
            }
            (
                direct.iter().map(|m| m.chunks().num_blocks()).collect(),
                direct
                    .iter()
                    .map(|m| matches!(m.layer(), Layer::Inline { .. }).then(|| m.clone()))
                    .collect(),
                bases,
            )
        };
        Stage {
            node,
            op,
            nblocks,
            inputs,
            input_nblocks,
            direct_nblocks,
            direct_inline,
            direct_base,
            concat_starts,
            contracted,
        }
    }

    /// The inlined node read by direct input `slot` of [`Stage::for_each_input`], if any.
    pub fn inlined(&self, slot: usize) -> Option<&Node> {
        self.direct_inline.get(slot).and_then(|n| n.as_ref())
    }

    /// The inlined direct inputs (computed inside this stage's tasks).
    pub fn direct_inlined(&self) -> impl Iterator<Item = &Node> {
        self.direct_inline.iter().flatten()
    }

    /// Whether some input is computed inside this stage's tasks.
    pub fn has_inline(&self) -> bool {
        self.direct_inline.iter().any(Option::is_some)
    }

    /// Calls `f(dep_slot, coords)` for every block of an input *stage* that block `block`
    /// reads, in the order a task receives its dependencies: like
    /// [`Stage::for_each_input`], with every inlined input replaced by the blocks it reads.
    /// `dep_slot` indexes [`Stage::inputs`].
    pub fn for_each_dep(
        &self,
        block: &[u64],
        scratch: &mut Scratch,
        mut f: impl FnMut(usize, &[u64]),
    ) {
        if !self.has_inline() {
            return self.for_each_input(block, scratch, f);
        }
        self.for_each_input(block, scratch, |slot, c| match &self.direct_inline[slot] {
            None => f(self.direct_base[slot], c),
            Some(n) => emit_inline(n, c, self.direct_base[slot], &mut f),
        });
    }

    /// Total number of blocks (saturating).
    pub fn total_blocks(&self) -> u64 {
        self.nblocks.iter().fold(1u64, |a, &b| a.saturating_mul(b))
    }

    /// A readable name: the layer label plus the reduction step.
    pub fn label(&self) -> String {
        match self.op {
            StageOp::Layer => self.node.label(),
            StageOp::ReduceChunk => format!("{}-chunk", self.node.label()),
            StageOp::ReduceCombine { level } => format!("{}-combine-{level}", self.node.label()),
            StageOp::ReduceAggregate => format!("{}-aggregate", self.node.label()),
        }
    }

    /// Calls `f(input_slot, input_block_coords)` for every input block that block `block`
    /// of this stage reads, in the order the kernel receives them. `input_slot` indexes
    /// [`Stage::inputs`].
    pub fn for_each_input(
        &self,
        block: &[u64],
        scratch: &mut Scratch,
        mut f: impl FnMut(usize, &[u64]),
    ) {
        let node = &self.node;
        match (node.layer(), self.op) {
            (
                Layer::FromArray { .. }
                | Layer::Full { .. }
                | Layer::Random { .. }
                | Layer::Read { .. }
                | Layer::Arange { .. },
                _,
            ) => {}
            (Layer::Blockwise(b), _) => {
                let contracted = &self.contracted;
                // Blocks along each contracted symbol.
                scratch.ranges.clear();
                for s in contracted {
                    let n = b
                        .inputs
                        .iter()
                        .enumerate()
                        .find_map(|(k, (_, ind))| {
                            ind.iter()
                                .position(|t| t == s)
                                .map(|ax| self.direct_nblocks[k][ax])
                        })
                        .unwrap_or(1);
                    scratch.ranges.push(0..n);
                }
                let ranges = std::mem::take(&mut scratch.ranges);
                let mut coords = std::mem::take(&mut scratch.coords);
                odometer(&ranges, &mut scratch.odo, |combo| {
                    for (k, (_, ind)) in b.inputs.iter().enumerate() {
                        coords.clear();
                        for (ax, s) in ind.iter().enumerate() {
                            let c = if self.direct_nblocks[k][ax] == 1 {
                                0
                            } else if let Some(p) = b.out_ind.iter().position(|t| t == s) {
                                block[p]
                            } else {
                                let p = contracted.iter().position(|t| t == s).unwrap_or(0);
                                combo[p]
                            };
                            coords.push(c);
                        }
                        f(k, &coords);
                    }
                });
                scratch.coords = coords;
                scratch.ranges = ranges;
            }
            (Layer::Reduction(r), op) => {
                let nd = r.input.ndim();
                let split = r.split_per_axis();
                let prev = &self.direct_nblocks[0];
                scratch.ranges.clear();
                let mut out_ax = 0;
                for a in 0..nd {
                    let reduced = r.axes.contains(&a);
                    let range = match op {
                        StageOp::ReduceChunk | StageOp::Layer => block[a]..block[a] + 1,
                        StageOp::ReduceCombine { .. } if reduced => {
                            block[a] * split..((block[a] + 1) * split).min(prev[a])
                        }
                        StageOp::ReduceCombine { .. } => block[a]..block[a] + 1,
                        StageOp::ReduceAggregate if reduced => 0..prev[a],
                        StageOp::ReduceAggregate => block[out_ax]..block[out_ax] + 1,
                    };
                    if !reduced || r.keepdims {
                        out_ax += 1;
                    }
                    scratch.ranges.push(range);
                }
                let ranges = std::mem::take(&mut scratch.ranges);
                odometer(&ranges, &mut scratch.odo, |c| f(0, c));
                scratch.ranges = ranges;
            }
            (Layer::Slice { .. } | Layer::Rechunk { .. }, _) => {
                self.gather_pieces(block, scratch);
                let mut coords = std::mem::take(&mut scratch.coords);
                let pieces = std::mem::take(&mut scratch.pieces);
                scratch.ranges.clear();
                for p in &pieces {
                    scratch.ranges.push(0..p.len() as u64);
                }
                let ranges = std::mem::take(&mut scratch.ranges);
                odometer(&ranges, &mut scratch.odo, |idx| {
                    coords.clear();
                    for (ax, &i) in idx.iter().enumerate() {
                        coords.push(pieces[ax][i as usize].in_block);
                    }
                    f(0, &coords);
                });
                scratch.ranges = ranges;
                scratch.pieces = pieces;
                scratch.coords = coords;
            }
            (Layer::Inline { .. }, _) => f(0, block),
            // Every block of every node argument, arguments in order, blocks in C order.
            (Layer::Task(_), _) => {
                for (k, nb) in self.direct_nblocks.iter().enumerate() {
                    scratch.ranges.clear();
                    scratch.ranges.extend(nb.iter().map(|&n| 0..n));
                    let ranges = std::mem::take(&mut scratch.ranges);
                    odometer(&ranges, &mut scratch.odo, |c| f(k, c));
                    scratch.ranges = ranges;
                }
            }
            (Layer::FromDelayed { .. }, _) => {
                let lin = ravel(block, &self.nblocks);
                f(lin as usize, &[]);
            }
            (Layer::Transpose { perm, .. }, _) => {
                scratch.coords.clear();
                scratch.coords.resize(perm.len(), 0);
                for (i, &p) in perm.iter().enumerate() {
                    scratch.coords[p] = block[i];
                }
                f(0, &scratch.coords);
            }
            (Layer::Concatenate { axis, .. }, _) => {
                let j = block[*axis];
                let k = self.concat_starts.partition_point(|&s| s <= j) - 1;
                scratch.coords.clear();
                scratch.coords.extend_from_slice(block);
                scratch.coords[*axis] = j - self.concat_starts[k];
                f(k, &scratch.coords);
            }
        }
    }

    /// For slice and rechunk stages: per input axis, the pieces of input blocks that fill
    /// output block `block` (in output order). Dependencies are the C-order product of the
    /// per-axis piece lists. Read the lists with [`Stage::pieces`].
    pub fn gather_pieces(&self, block: &[u64], scratch: &mut Scratch) {
        let (input, items_owned);
        let items: &[SliceItem] = match self.node.layer() {
            Layer::Slice { input: i, items } => {
                input = i;
                items
            }
            Layer::Rechunk { input: i } => {
                input = i;
                items_owned = i
                    .shape()
                    .iter()
                    .map(|&len| SliceItem::Range {
                        start: 0,
                        step: 1,
                        count: len,
                    })
                    .collect::<Vec<_>>();
                &items_owned
            }
            _ => return,
        };
        let out_grid = self.node.chunks();
        let nd_in = input.ndim();
        scratch.pieces.resize_with(nd_in, Vec::new);
        let mut in_ax = 0;
        let mut out_ax = 0;
        for item in items {
            match *item {
                SliceItem::NewAxis => out_ax += 1,
                SliceItem::Index { index } => {
                    let c: &AxisChunks = input.chunks().axis(in_ax);
                    let b = c.block_of(index);
                    let p = &mut scratch.pieces[in_ax];
                    p.clear();
                    p.push(Piece {
                        in_block: b,
                        in_start: index - c.range(b).start,
                        step: 1,
                        out: 0..1,
                    });
                    in_ax += 1;
                }
                SliceItem::Range { start, step, .. } => {
                    let out = out_grid.axis(out_ax).range(block[out_ax]);
                    let p = &mut scratch.pieces[in_ax];
                    p.clear();
                    for_each_piece(input.chunks().axis(in_ax), start, step, out, |pc| {
                        p.push(pc)
                    });
                    in_ax += 1;
                    out_ax += 1;
                }
            }
        }
    }

    /// The pieces computed by the last [`Stage::gather_pieces`] call.
    pub fn pieces<'s>(&self, scratch: &'s Scratch) -> &'s [Vec<Piece>] {
        &scratch.pieces[..self.node.layer_input_ndim()]
    }
}

impl Node {
    /// Number of dimensions of the first input (0 for sources).
    pub fn layer_input_ndim(&self) -> usize {
        self.inputs().first().map_or(0, |n| n.ndim())
    }
}

/// Number of dependency slots a direct input takes: its inlined inputs' slots if it is
/// inlined, else one.
fn dep_width(n: &Node) -> usize {
    match n.layer() {
        Layer::Inline { input } => input.inputs().into_iter().map(dep_width).sum(),
        _ => 1,
    }
}

fn emit_inline(n: &Node, coords: &[u64], base: usize, f: &mut dyn FnMut(usize, &[u64])) {
    let Layer::Inline { input } = n.layer() else {
        return f(base, coords);
    };
    let mut off = base;
    inline_inputs(input, coords, |_, m, c| {
        if matches!(m.layer(), Layer::Inline { .. }) {
            emit_inline(m, c, off, f);
        } else {
            f(off, c);
        }
        off += dep_width(m);
    });
}

/// Calls `f(k, input_k, coords)` for each input block that block `coords` of an inlined
/// layer `inner` reads (none for sources; for an elementwise program, the same block with
/// broadcast axes at block 0).
pub fn inline_inputs(inner: &Node, coords: &[u64], mut f: impl FnMut(usize, &Node, &[u64])) {
    if let Layer::Blockwise(b) = inner.layer() {
        // Layers have at most 32 dimensions: no allocation per task.
        let mut c = [0u64; 32];
        for (k, (m, ind)) in b.inputs.iter().enumerate() {
            for (ax, s) in ind.iter().enumerate() {
                let p = b.out_ind.iter().position(|t| t == s);
                let nb = m.chunks().axis(ax).num_blocks();
                c[ax] = match p {
                    Some(p) if nb > 1 => coords[p],
                    _ => 0,
                };
            }
            f(k, m, &c[..ind.len()]);
        }
    }
}

/// Calls `f` for each point of the product of `ranges`, in C order (once, with an empty
/// slice, when there are no ranges; never when a range is empty).
pub fn odometer(ranges: &[Range<u64>], cur: &mut Vec<u64>, mut f: impl FnMut(&[u64])) {
    cur.clear();
    cur.extend(ranges.iter().map(|r| r.start));
    if ranges.iter().any(|r| r.start >= r.end) {
        return;
    }
    loop {
        f(cur);
        let mut ax = ranges.len();
        loop {
            if ax == 0 {
                return;
            }
            ax -= 1;
            cur[ax] += 1;
            if cur[ax] < ranges[ax].end {
                break;
            }
            cur[ax] = ranges[ax].start;
        }
    }
}

/// A requested output of a task graph.
#[derive(Clone, Debug)]
pub struct GraphOutput {
    /// The stage computing the output layer.
    pub stage: u32,
    /// Requested blocks (linear indices in the stage grid), in C order.
    pub blocks: Vec<u64>,
    /// The task computing each requested block.
    pub tasks: Vec<u32>,
}

/// A lowered graph: tasks in flat arrays, dependencies in CSR form.
#[derive(Clone, Debug, Default)]
pub struct TaskGraph {
    /// Stages, inputs before the stages that read them.
    pub stages: Vec<Stage>,
    /// Stage of each task.
    pub task_stage: Vec<u32>,
    /// Linear block index (C order in the stage grid) of each task.
    pub task_block: Vec<u64>,
    /// `deps[dep_offsets[t]..dep_offsets[t + 1]]` are the dependencies of task `t`, in
    /// the order of [`Stage::for_each_input`].
    pub dep_offsets: Vec<u32>,
    /// Dependency task ids.
    pub deps: Vec<u32>,
    /// Requested outputs.
    pub outputs: Vec<GraphOutput>,
}

impl TaskGraph {
    /// Number of tasks.
    pub fn len(&self) -> usize {
        self.task_stage.len()
    }

    /// Whether there are no tasks.
    pub fn is_empty(&self) -> bool {
        self.task_stage.is_empty()
    }

    /// Dependencies of task `t`.
    pub fn deps_of(&self, t: u32) -> &[u32] {
        &self.deps[self.dep_offsets[t as usize] as usize..self.dep_offsets[t as usize + 1] as usize]
    }

    /// Block coordinates of task `t`.
    pub fn block_of(&self, t: u32) -> Vec<u64> {
        let s = &self.stages[self.task_stage[t as usize] as usize];
        let mut c = vec![0; s.nblocks.len()];
        unravel_into(self.task_block[t as usize], &s.nblocks, &mut c);
        c
    }

    /// Tasks per stage.
    pub fn tasks_per_stage(&self) -> Vec<u64> {
        let mut n = vec![0u64; self.stages.len()];
        for &s in &self.task_stage {
            n[s as usize] += 1;
        }
        n
    }

    /// Approximate heap bytes used by the task arrays.
    pub fn nbytes(&self) -> usize {
        self.task_stage.len() * 4
            + self.task_block.len() * 8
            + self.dep_offsets.len() * 4
            + self.deps.len() * 4
    }
}

impl fmt::Display for TaskGraph {
    /// One line per stage (tasks, dependencies) and, for graphs of at most 64 tasks, one
    /// line per task.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "task graph: {} tasks, {} dependencies, {} stages",
            self.len(),
            self.deps.len(),
            self.stages.len()
        )?;
        let counts = self.tasks_per_stage();
        for (i, s) in self.stages.iter().enumerate() {
            let ins: Vec<String> = s.inputs.iter().map(|i| format!("s{i}")).collect();
            writeln!(
                f,
                "  s{i} {} grid {:?}: {} tasks <- [{}]",
                s.label(),
                s.nblocks,
                counts[i],
                ins.join(", ")
            )?;
        }
        if self.len() <= 64 {
            for t in 0..self.len() as u32 {
                let s = self.task_stage[t as usize];
                let deps: Vec<String> = self.deps_of(t).iter().map(|d| format!("t{d}")).collect();
                writeln!(
                    f,
                    "  t{t} = s{s}{:?} <- [{}]",
                    self.block_of(t),
                    deps.join(", ")
                )?;
            }
        }
        for o in &self.outputs {
            writeln!(f, "  output s{}: {} blocks", o.stage, o.blocks.len())?;
        }
        Ok(())
    }
}

/// Linear index of `coords` in the grid of `stage`.
pub fn linear_block(stage: &Stage, coords: &[u64]) -> u64 {
    ravel(coords, &stage.nblocks)
}
