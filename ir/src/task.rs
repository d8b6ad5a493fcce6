//! Stages and the task graph.
//!
//! Lowering turns every layer into one or more *stages* (a reduction becomes a per-chunk
//! stage, combine levels and an aggregate stage; every other layer is one stage). A stage
//! has a block grid; a *task* is one block of one stage. [`Stage::for_each_input`] gives the
//! input blocks a task needs, in the order its kernel receives them: it is the single
//! source of truth used by lowering (to build dependencies) and by backends (to place data).
//! It lives in [`crate::mapping`], next to the box-level mapping culling uses.
//!
//! The [`TaskGraph`] is a struct of flat arrays: per task its stage and linear block index,
//! dependencies in CSR form with `u32` task ids. Per task it costs 12 bytes plus 4 bytes per
//! dependency; kernels and metadata are shared by the stages.

use crate::grid::{ravel, unravel_into};
use crate::layer::{Layer, Node};
use crate::memory::StageMemory;
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
    /// Bytes of one task's value and its projected peak ([`crate::memory`]), computed once
    /// here, at lowering.
    pub memory: StageMemory,
    /// Blocks per axis of each direct input (the layer's inputs, inlined ones included; for
    /// reduction combine steps, the previous step).
    pub(crate) direct_nblocks: Vec<Vec<u64>>,
    /// Per direct input: the inlined node, if it is inlined.
    direct_inline: Vec<Option<Node>>,
    /// Per direct input: its first position in `inputs`.
    direct_base: Vec<usize>,
    /// For concatenation: first output block of each input along the axis.
    pub(crate) concat_starts: Vec<u64>,
    /// For blockwise layers: the contracted symbols (computed once, not per task).
    pub(crate) contracted: Vec<crate::layer::Sym>,
}

pub use crate::mapping::{inline_inputs, Scratch};

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
            Layer::Concatenate { inputs, axis } => crate::mapping::concat_starts(inputs, *axis),
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
            memory: StageMemory::of(&node, op),
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

    /// Checks what the run half indexes without the runtime's own validation: one stage and
    /// one block per task, stage ids in range, a dependency offset per task, and output
    /// task ids in range. The error names the first problem.
    pub fn check(&self) -> Result<(), String> {
        let n = self.task_stage.len();
        if self.task_block.len() != n || self.dep_offsets.len() != n + 1 {
            return Err(format!(
                "{n} tasks but {} blocks and {} dependency offsets",
                self.task_block.len(),
                self.dep_offsets.len()
            ));
        }
        if let Some(t) = self
            .task_stage
            .iter()
            .position(|&s| s as usize >= self.stages.len())
        {
            return Err(format!(
                "task {t} has stage {} of {}",
                self.task_stage[t],
                self.stages.len()
            ));
        }
        for (k, o) in self.outputs.iter().enumerate() {
            if o.stage as usize >= self.stages.len() {
                return Err(format!(
                    "output {k} has stage {} of {}",
                    o.stage,
                    self.stages.len()
                ));
            }
            if let Some(&t) = o.tasks.iter().find(|&&t| t as usize >= n) {
                return Err(format!("output {k} names task {t} of {n}"));
            }
        }
        Ok(())
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

    /// Bytes of each task's value ([`StageMemory::value_bytes`] of its stage), by task id:
    /// what the runtime's memory bound counts while the value is held.
    pub fn task_value_bytes(&self) -> Vec<u64> {
        self.task_stage
            .iter()
            .map(|&s| self.stages[s as usize].memory.value_bytes)
            .collect()
    }

    /// The largest projected task peak of any stage ([`StageMemory::task_peak`]; 0 without
    /// stages).
    pub fn max_task_peak(&self) -> u64 {
        self.stages
            .iter()
            .map(|s| s.memory.task_peak)
            .max()
            .unwrap_or(0)
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
