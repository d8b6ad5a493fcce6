//! Lowering: layer graph -> task graph.
//!
//! 1. The layers reachable from the outputs are listed inputs-first; equal layers (equal
//!    content hash) appear once, so equal sub-graphs are computed once.
//! 2. Each layer becomes its stages ([`chunkwise_ir::task::plan_stages`]).
//! 3. Walking stages from the outputs back, each stage marks the input blocks its needed
//!    blocks read ([`Stage::for_each_input`]). Only needed blocks are ever visited, so
//!    `x[0]` of an array of 10^9 chunks visits a handful of blocks (culling by construction).
//! 4. Tasks get ids stage by stage, and dependencies are written in CSR form.
//!
//! Nothing is allocated per task beyond the task records: a block marker per stage is a
//! dense `u32` array when the stage is mostly needed and a hash map when it is sparse.

use chunkwise_ir::grid::{ravel, unravel_into};
use chunkwise_ir::layer::dep_order;
use chunkwise_ir::task::{plan_stages, Scratch};
use chunkwise_ir::{GraphOutput, Node, Stage, TaskGraph};
use rustc_hash::FxHashMap;
use thiserror::Error;

/// Why a graph cannot be lowered.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum LowerError {
    /// A requested block does not exist.
    #[error("output {output} has {blocks} blocks; block {block} was requested")]
    BlockOutOfRange {
        /// Output number.
        output: usize,
        /// Its number of blocks.
        blocks: u64,
        /// The requested block.
        block: u64,
    },
    /// More tasks or dependencies than 32-bit ids can number.
    #[error(
        "the task graph needs more than 2^32 - 1 {0}; request fewer blocks or use larger chunks"
    )]
    TooLarge(&'static str),
    /// A layer has more blocks than 64-bit block indices can number.
    #[error("layer {0} has more than 2^64 blocks")]
    GridTooLarge(String),
    /// More tasks than the limit ([`DEFAULT_MAX_TASKS`], [`lower_limited`]; never more than
    /// the task graph's 32-bit ids can number, [`MAX_TASKS`]), found before allocating them.
    #[error(
        "{what}: the task graph would need at least {tasks} tasks, more than the limit of \
         {limit}; request fewer blocks or use larger chunks"
    )]
    TooManyTasks {
        /// Where the tasks come from (an output and its layer, or the layers lowered).
        what: String,
        /// The number of tasks needed (a lower bound when the count stopped early).
        tasks: u64,
        /// The limit.
        limit: u64,
    },
}

/// The most tasks a [`TaskGraph`] can hold: its task ids are `u32`, and `u32::MAX` is
/// reserved.
pub const MAX_TASKS: u64 = u32::MAX as u64 - 1;

/// The most tasks [`lower`] makes unless told otherwise ([`lower_limited`]): 10^8 tasks
/// take about 2 GB of task graph (12 bytes per task, 4 per dependency, the needed-block
/// markers), more than any sensible chunking needs.
pub const DEFAULT_MAX_TASKS: u64 = 100_000_000;

const SPARSE_TO_DENSE: usize = 4096;
const DENSE_MAX_BLOCKS: u64 = 1 << 28;

/// Block -> index in the stage's needed list.
enum Marker {
    Sparse(FxHashMap<u64, u32>),
    Dense(Vec<u32>),
}

struct StageNeeds {
    marker: Marker,
    blocks: Vec<u64>,
    total: u64,
}

impl StageNeeds {
    fn new(total: u64) -> StageNeeds {
        StageNeeds {
            marker: Marker::Sparse(FxHashMap::default()),
            blocks: Vec::new(),
            total,
        }
    }

    #[inline]
    fn get(&self, b: u64) -> Option<u32> {
        match &self.marker {
            Marker::Dense(v) => {
                let i = v[b as usize];
                (i != u32::MAX).then_some(i)
            }
            Marker::Sparse(m) => m.get(&b).copied(),
        }
    }

    /// Marks block `b` as needed (idempotent); whether it was newly marked.
    #[inline]
    fn mark(&mut self, b: u64) -> Result<bool, LowerError> {
        let next = u32::try_from(self.blocks.len()).map_err(|_| LowerError::TooLarge("tasks"))?;
        match &mut self.marker {
            Marker::Dense(v) => {
                let slot = &mut v[b as usize];
                if *slot != u32::MAX {
                    return Ok(false);
                }
                *slot = next;
            }
            Marker::Sparse(m) => {
                if m.contains_key(&b) {
                    return Ok(false);
                }
                m.insert(b, next);
                if m.len() > SPARSE_TO_DENSE && self.total <= DENSE_MAX_BLOCKS {
                    let mut v = vec![u32::MAX; self.total as usize];
                    for (&k, &i) in m.iter() {
                        v[k as usize] = i;
                    }
                    self.marker = Marker::Dense(v);
                }
            }
        }
        self.blocks.push(b);
        Ok(true)
    }
}

/// Lowers all blocks of `outputs`.
pub fn lower(outputs: &[Node]) -> Result<TaskGraph, LowerError> {
    lower_limited(outputs, None, DEFAULT_MAX_TASKS)
}

/// Lowers the given blocks (as [`lower_blocks`]) into at most `max_tasks` tasks (capped at
/// [`MAX_TASKS`]). When every block is requested, the task count is first estimated from the
/// layers ([`crate::stats::stats`]: culled block boxes, reduction trees included, in time
/// proportional to the layers, not the blocks), so a graph of 10^12 tasks is refused before
/// any block is marked; the count is then checked again as blocks are marked.
pub fn lower_limited(
    outputs: &[Node],
    blocks: Option<&[Vec<u64>]>,
    max_tasks: u64,
) -> Result<TaskGraph, LowerError> {
    let limit = max_tasks.min(MAX_TASKS);
    if blocks.is_none() {
        let estimate = crate::stats::stats(outputs).tasks;
        if estimate > limit {
            return Err(LowerError::TooManyTasks {
                what: format!(
                    "{} layers (estimated from their needed blocks)",
                    dep_order(outputs).len()
                ),
                tasks: estimate,
                limit,
            });
        }
    }
    lower_counted(outputs, blocks, limit)
}

/// Lowers the given blocks (linear C-order indices, per output) of `outputs`; `None`
/// requests every block of every output.
pub fn lower_blocks(
    outputs: &[Node],
    blocks: Option<&[Vec<u64>]>,
) -> Result<TaskGraph, LowerError> {
    lower_counted(outputs, blocks, MAX_TASKS)
}

/// [`lower_blocks`], refusing more than `limit` tasks as they are counted.
fn lower_counted(
    outputs: &[Node],
    blocks: Option<&[Vec<u64>]>,
    limit: u64,
) -> Result<TaskGraph, LowerError> {
    // Stages, inputs first.
    let nodes = dep_order(outputs);
    let mut final_stage: FxHashMap<u64, u32> = FxHashMap::default();
    let mut stages: Vec<Stage> = Vec::new();
    for n in &nodes {
        if n.chunks().total_blocks() == u64::MAX {
            return Err(LowerError::GridTooLarge(n.label()));
        }
        let plan = plan_stages(n);
        let mut prev: Option<u32> = None;
        for (op, nblocks) in plan.stages {
            let inputs: Vec<u32> = match prev {
                None => n.dep_nodes().iter().map(|m| final_stage[&m.id()]).collect(),
                Some(p) => vec![p],
            };
            let input_nblocks = inputs
                .iter()
                .map(|&i| stages[i as usize].nblocks.clone())
                .collect();
            stages.push(Stage::new(n.clone(), op, nblocks, inputs, input_nblocks));
            prev = Some(stages.len() as u32 - 1);
        }
        final_stage.insert(n.id(), prev.expect("every layer has a stage"));
    }

    // Needed blocks, from the outputs back.
    let mut needs: Vec<StageNeeds> = stages
        .iter()
        .map(|s| StageNeeds::new(s.total_blocks()))
        .collect();
    let mut out_blocks: Vec<Vec<u64>> = Vec::with_capacity(outputs.len());
    // Tasks marked so far, all stages: checked as they are marked, so that a graph of too
    // many tasks is refused before it is listed.
    let mut marked: u64 = 0;
    let too_many = |what: String, tasks: u64| LowerError::TooManyTasks { what, tasks, limit };
    for (k, o) in outputs.iter().enumerate() {
        let s = final_stage[&o.id()] as usize;
        let total = stages[s].total_blocks();
        let list: Vec<u64> = match blocks {
            Some(b) => b.get(k).cloned().unwrap_or_default(),
            // Every block is a task: count them before listing them.
            None if total > limit => {
                return Err(too_many(
                    format!("output {k} ({}) has {total} blocks", o.label()),
                    total,
                ))
            }
            None => (0..total).collect(),
        };
        for &b in &list {
            if b >= total {
                return Err(LowerError::BlockOutOfRange {
                    output: k,
                    blocks: total,
                    block: b,
                });
            }
            if needs[s].mark(b)? {
                marked += 1;
                if marked > limit {
                    return Err(too_many(format!("the {} outputs", outputs.len()), marked));
                }
            }
        }
        out_blocks.push(list);
    }
    let mut scratch = Scratch::default();
    let mut coords: Vec<u64> = Vec::new();
    for s in (0..stages.len()).rev() {
        let stage = &stages[s];
        if stage.inputs.is_empty() {
            continue;
        }
        let (before, rest) = needs.split_at_mut(s);
        let mine = &rest[0];
        let mut err = None;
        for &b in &mine.blocks {
            coords.resize(stage.nblocks.len(), 0);
            unravel_into(b, &stage.nblocks, &mut coords);
            stage.for_each_dep(&coords, &mut scratch, |slot, c| {
                if err.is_some() {
                    return;
                }
                let i = stage.inputs[slot] as usize;
                let lin = ravel(c, &stage.input_nblocks[slot]);
                match before[i].mark(lin) {
                    Ok(true) => {
                        marked += 1;
                        if marked > limit {
                            err =
                                Some(too_many(format!("the inputs of {}", stage.label()), marked));
                        }
                    }
                    Ok(false) => {}
                    Err(e) => err = Some(e),
                }
            });
            if err.is_some() {
                break;
            }
        }
        if let Some(e) = err {
            return Err(e);
        }
    }

    // Task ids and CSR dependencies.
    let mut base = Vec::with_capacity(stages.len());
    let mut total: u64 = 0;
    for n in &needs {
        base.push(total);
        total += n.blocks.len() as u64;
    }
    if total >= u32::MAX as u64 {
        return Err(LowerError::TooLarge("tasks"));
    }
    let n_tasks = total as usize;
    let mut g = TaskGraph {
        task_stage: Vec::with_capacity(n_tasks),
        task_block: Vec::with_capacity(n_tasks),
        dep_offsets: Vec::with_capacity(n_tasks + 1),
        deps: Vec::with_capacity(n_tasks),
        ..TaskGraph::default()
    };
    g.dep_offsets.push(0);
    for (s, stage) in stages.iter().enumerate() {
        for &b in &needs[s].blocks {
            g.task_stage.push(s as u32);
            g.task_block.push(b);
            coords.resize(stage.nblocks.len(), 0);
            unravel_into(b, &stage.nblocks, &mut coords);
            stage.for_each_dep(&coords, &mut scratch, |slot, c| {
                let i = stage.inputs[slot] as usize;
                let lin = ravel(c, &stage.input_nblocks[slot]);
                let local = needs[i].get(lin).expect("input blocks were marked");
                g.deps.push((base[i] + local as u64) as u32);
            });
            let n =
                u32::try_from(g.deps.len()).map_err(|_| LowerError::TooLarge("dependencies"))?;
            g.dep_offsets.push(n);
        }
    }
    for (k, o) in outputs.iter().enumerate() {
        let s = final_stage[&o.id()];
        let tasks = out_blocks[k]
            .iter()
            .map(|&b| {
                (base[s as usize] + needs[s as usize].get(b).expect("outputs are marked") as u64)
                    as u32
            })
            .collect();
        g.outputs.push(GraphOutput {
            stage: s,
            blocks: std::mem::take(&mut out_blocks[k]),
            tasks,
        });
    }
    g.stages = stages;
    Ok(g)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chunkwise_ir::program::{BinaryOp, Program};
    use chunkwise_ir::slice::SliceItem;
    use chunkwise_ir::{Blockwise, ChunkGrid, DType, Kernel, ReduceOp, Scalar};
    use std::sync::Arc;

    fn full(shape: &[u64], chunks: &[u64]) -> Node {
        Node::full(
            ChunkGrid::regular(shape, chunks).unwrap(),
            DType::F64,
            Scalar::F64(1.0),
        )
        .unwrap()
    }

    fn add1(x: Node) -> Node {
        let ind: Vec<u8> = b"abcdefgh"[..x.ndim()].to_vec();
        let p = Program::build(vec![DType::F64], |b, i| {
            let one = b.constant(1.0f64.into());
            b.binary(BinaryOp::Add, i[0], one)
        })
        .unwrap();
        Node::blockwise(Blockwise {
            out_ind: ind.clone(),
            inputs: vec![(x, ind)],
            new_axes: vec![],
            kernel: Kernel::Program(Arc::new(p)),
        })
        .unwrap()
    }

    #[test]
    fn chain_and_sum_task_counts() {
        // 10 blocks, 3 elementwise layers, a sum with split_every 4: 10 + 3*10 + 10 chunk
        // states + ceil(10/4) = 3 combine + 1 aggregate.
        let mut y = full(&[100], &[10]);
        for _ in 0..3 {
            y = add1(y);
        }
        let s = Node::reduction(y, ReduceOp::Sum, &[0], false, 4).unwrap();
        let g = lower(&[s]).unwrap();
        assert_eq!(g.len(), 10 + 30 + 10 + 3 + 1);
        assert_eq!(g.deps.len(), 30 + 10 + 10 + 3);
        assert_eq!(g.outputs[0].tasks.len(), 1);
    }

    #[test]
    fn slice_of_a_billion_chunks_touches_one_block() {
        let x = add1(full(&[1_000_000_000_000], &[1000]));
        let first = Node::slice(x.clone(), vec![SliceItem::Index { index: 5 }]).unwrap();
        let g = lower(&[first]).unwrap();
        assert_eq!(g.len(), 3, "{g}");
        let last = Node::slice(
            x,
            vec![SliceItem::Range {
                start: 999_999_999_999,
                step: -1,
                count: 3,
            }],
        )
        .unwrap();
        let g = lower(&[last]).unwrap();
        assert_eq!(g.len(), 3, "{g}");
    }

    #[test]
    fn too_many_tasks_are_refused_before_they_are_listed() {
        // 2^62 blocks: counted, not listed (was a "capacity overflow" panic).
        let x = Node::arange(
            ChunkGrid::regular(&[u64::MAX], &[4]).unwrap(),
            DType::F64,
            0.0,
            1.0,
        )
        .unwrap();
        let e = lower(std::slice::from_ref(&x)).unwrap_err();
        assert_eq!(
            e,
            LowerError::TooManyTasks {
                what: "1 layers (estimated from their needed blocks)".into(),
                tasks: 1 << 62,
                limit: DEFAULT_MAX_TASKS,
            }
        );
        assert!(e.to_string().contains("use larger chunks"), "{e}");
        // Without the estimate, the count of the output's blocks refuses it before listing.
        let e = lower_blocks(std::slice::from_ref(&x), None).unwrap_err();
        assert_eq!(
            e,
            LowerError::TooManyTasks {
                what: format!("output 0 ({}) has {} blocks", x.label(), 1u64 << 62),
                tasks: 1 << 62,
                limit: MAX_TASKS,
            }
        );
        // One block more than the limit.
        let y = full(&[MAX_TASKS + 1], &[1]);
        assert!(matches!(
            lower_blocks(&[y], None),
            Err(LowerError::TooManyTasks { tasks, .. }) if tasks == MAX_TASKS + 1
        ));
        // A sum over 2^40 chunks: the tree's tasks are estimated and refused before any block
        // is marked (was: marking ~4 * 10^9 blocks first).
        let big = full(&[1 << 50], &[1 << 10]);
        let sum = Node::reduction(big, chunkwise_ir::ReduceOp::Sum, &[0], false, 4).unwrap();
        let t = std::time::Instant::now();
        assert!(matches!(
            lower(&[sum]),
            Err(LowerError::TooManyTasks { tasks, limit: DEFAULT_MAX_TASKS, .. }) if tasks > 1 << 40
        ));
        assert!(t.elapsed().as_secs() < 2, "{:?}", t.elapsed());
        // A custom limit: 10 source tasks and 10 of the addition.
        let small = add1(full(&[100], &[10]));
        assert_eq!(
            lower_limited(std::slice::from_ref(&small), None, 20)
                .unwrap()
                .len(),
            20
        );
        assert!(matches!(
            lower_limited(&[small], None, 19),
            Err(LowerError::TooManyTasks {
                tasks: 20,
                limit: 19,
                ..
            })
        ));
        // A few requested blocks of it lower fine.
        let g = lower_blocks(std::slice::from_ref(&x), Some(&[vec![0, (1 << 62) - 1]])).unwrap();
        assert_eq!(g.len(), 2);
    }

    #[test]
    fn equal_subgraphs_are_lowered_once() {
        let x = full(&[8], &[4]);
        let (a, b) = (add1(x.clone()), add1(x));
        assert_eq!(a.id(), b.id());
        let g = lower(&[a, b]).unwrap();
        assert_eq!(g.len(), 4);
        assert_eq!(g.outputs[0].tasks, g.outputs[1].tasks);
    }

    #[test]
    fn requested_blocks_cull_the_rest() {
        let y = add1(full(&[100, 100], &[10, 10]));
        let g = lower_blocks(std::slice::from_ref(&y), Some(&[vec![0, 99]])).unwrap();
        assert_eq!(g.len(), 4);
        assert!(matches!(
            lower_blocks(&[y], Some(&[vec![100]])),
            Err(LowerError::BlockOutOfRange { block: 100, .. })
        ));
    }
}
