//! The memory model: how many bytes a task's value holds and how many bytes a task needs
//! while it runs, from layer metadata alone.
//!
//! This module is the one home of those figures. Lowering records them per stage
//! ([`crate::Stage::memory`]), so the run half of the pipeline (the memory limit's
//! admission check, the runtime's back-pressure) reads them from the [`crate::TaskGraph`]
//! and never goes back to the layers; the passes' cost model and fusion limits call the same
//! functions on layers.
//!
//! * **Value bytes** ([`value_bytes`]): what the finished task hands to its consumers. A
//!   block of the layer's largest chunk; a reduction's per-chunk and combine steps hand a
//!   *state* ([`state_bytes_per_element`] bytes per element of the reduced block: `(sum,
//!   count)` for a mean, `(count, mean, M2)` for var/std, ...); a delayed call counts 0 (not
//!   an array).
//! * **Task peak** ([`task_peak`], Cubed's model, conservative): the output block, plus the
//!   input blocks the task holds (an inlined input counting its own inputs; a contraction
//!   every block along the contracted axes), plus one decoded store chunk when the task
//!   reads a stored array itself ([`task_peak_bytes`] adds the three).
//!
//! ```
//! use chunkwise_ir::{memory, ChunkGrid, DType, Node, ReduceOp, Scalar};
//! let x = Node::full(ChunkGrid::regular(&[100, 100], &[10, 100]).unwrap(), DType::F64, Scalar::F64(1.0)).unwrap();
//! assert_eq!(memory::block_bytes(&x), 10 * 100 * 8);
//! assert_eq!(memory::task_peak(&x), 10 * 100 * 8);
//! // A variance state is three f64 arrays: count, mean and M2.
//! assert_eq!(memory::state_bytes_per_element(ReduceOp::Var { ddof: 0 }, DType::F32), 24);
//! ```

use crate::task::StageOp;
use crate::{DType, Kernel, Layer, Node, ReduceOp};

/// The memory figures of one stage, recorded by lowering.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StageMemory {
    /// Bytes of the value one task of the stage hands on ([`value_bytes`]).
    pub value_bytes: u64,
    /// Projected peak bytes of one task while it runs ([`task_peak`]).
    pub task_peak: u64,
}

impl StageMemory {
    /// The figures of stage `op` of layer `node`.
    pub fn of(node: &Node, op: StageOp) -> StageMemory {
        StageMemory {
            value_bytes: value_bytes(node, op),
            task_peak: task_peak(node),
        }
    }
}

/// Bytes of the largest block of `n`.
pub fn block_bytes(n: &Node) -> u64 {
    let elems = n
        .chunks()
        .axes()
        .iter()
        .fold(1u64, |a, c| a.saturating_mul(c.max_chunk()));
    elems.saturating_mul(n.dtype().size() as u64)
}

/// Bytes per element of the reduced block held by the state of `op` over an input of
/// `dtype`: the sum of its components' item sizes. The CPU backend's states
/// (`chunkwise_backends::cpu::reduce`) are, per element:
///
/// | op | components |
/// |---|---|
/// | sum, prod | one i64 or f64 accumulator |
/// | mean | sum (f64), count (i64) |
/// | var, std | count (f64), mean (f64), M2 (f64) |
/// | min, max | one value of the input dtype |
/// | argmin, argmax | value (input dtype), global flat index (i64) |
/// | any, all | one bool |
pub fn state_bytes_per_element(op: ReduceOp, dtype: DType) -> u64 {
    let item = dtype.size() as u64;
    // Complex sums accumulate in complex128 (16 bytes), real ones in i64 or f64.
    let acc = if dtype.is_complex() { 16 } else { 8 };
    match op {
        ReduceOp::Sum | ReduceOp::Prod => acc,
        ReduceOp::Mean => acc + 8,
        ReduceOp::Var { .. } | ReduceOp::Std { .. } => 24,
        ReduceOp::Min | ReduceOp::Max => item,
        ReduceOp::ArgMin | ReduceOp::ArgMax => item + 8,
        ReduceOp::Any | ReduceOp::All => 1,
    }
}

/// Bytes of the value one task of stage `op` of `n` hands on: a block of `n`; for a
/// reduction's per-chunk and combine steps, the state of the largest reduced block; 0 for
/// a delayed call (its value is not an array).
pub fn value_bytes(n: &Node, op: StageOp) -> u64 {
    match (n.layer(), op) {
        (Layer::Task(_), _) => 0,
        (Layer::Reduction(r), StageOp::ReduceChunk | StageOp::ReduceCombine { .. }) => {
            let grid = r.input.chunks();
            (0..grid.ndim())
                .filter(|a| !r.axes.contains(a))
                .fold(state_bytes_per_element(r.op, r.input.dtype()), |acc, a| {
                    acc.saturating_mul(grid.axis(a).max_chunk())
                })
        }
        _ => block_bytes(n),
    }
}

/// The projection of one task's peak: its output block, the input blocks it holds and one
/// decoded store chunk (each in bytes, saturating). Every projection of the model, the
/// Zarr rechunk planner's included, is this sum.
pub fn task_peak_bytes(output: u64, inputs: u64, decode: u64) -> u64 {
    output.saturating_add(inputs).saturating_add(decode)
}

/// The projected peak bytes of one task of `n` (Cubed's model, conservative): its output
/// block, the input blocks it holds (an inlined input counting its own inputs), and the
/// decode buffer of one store chunk when it reads a stored array itself.
pub fn task_peak(n: &Node) -> u64 {
    let inputs = n
        .inputs()
        .iter()
        .map(|m| input_bytes(n, m))
        .fold(0, u64::saturating_add);
    task_peak_bytes(block_bytes(n), inputs, decode_bytes(n))
}

/// Bytes of one decoded store chunk, if `n` (or an input inlined into it) reads a stored
/// array.
fn decode_bytes(n: &Node) -> u64 {
    match n.layer() {
        Layer::Read { source, .. } => source
            .store_chunks
            .iter()
            .fold(source.dtype.size() as u64, |a, &c| a.saturating_mul(c)),
        Layer::Inline { input } => decode_bytes(input),
        _ => n
            .inputs()
            .iter()
            .filter(|m| matches!(m.layer(), Layer::Inline { .. }))
            .map(|m| decode_bytes(m))
            .max()
            .unwrap_or(0),
    }
}

/// Bytes one task of `n` holds for input `m` (inlined inputs count their own inputs).
fn input_bytes(n: &Node, m: &Node) -> u64 {
    let own = match m.layer() {
        Layer::Inline { input } => input
            .inputs()
            .iter()
            .map(|x| input_bytes(input, x))
            .fold(0, u64::saturating_add),
        _ => 0,
    };
    let per_block = block_bytes(m);
    let blocks = match n.layer() {
        // A contraction reads every block along the contracted axes.
        Layer::Blockwise(b) if matches!(b.kernel, Kernel::Contract) => b
            .inputs
            .iter()
            .filter(|(x, _)| x.id() == m.id())
            .map(|(x, ind)| {
                ind.iter()
                    .zip(x.chunks().num_blocks())
                    .filter(|(s, _)| !b.out_ind.contains(s))
                    .map(|(_, nb)| nb)
                    .product::<u64>()
            })
            .sum(),
        _ => 1,
    };
    own.saturating_add(per_block.saturating_mul(blocks))
}
