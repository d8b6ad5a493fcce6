//! Graph statistics: estimates of what running a graph costs, computed from layer metadata
//! and the culled block boxes ([`crate::cull`]) without lowering.

pub use crate::blockwise_fusion::block_bytes;
use crate::cull::{box_blocks, input_boxes, needed_blocks};
use chunkwise_ir::layer::dep_order;
use chunkwise_ir::task::plan_stages;
use chunkwise_ir::{Kernel, Layer, Node};
use serde::Serialize;

/// Estimated cost of a graph.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Layers that run tasks (inlined layers are counted in their consumer).
    pub layers: usize,
    /// Tasks of the needed blocks (reduction trees included).
    pub tasks: u64,
    /// Bytes produced by sources for the needed blocks.
    pub bytes_read: u64,
    /// Bytes of blocks handed from one task to another (intermediates and outputs).
    pub bytes_moved: u64,
    /// Largest estimated memory of one task: its input blocks, inlined blocks and output.
    pub peak_task_bytes: u64,
}

/// What one task costs in the cost model, in bytes of memory traffic: about 10 µs of
/// scheduling at 10 GB/s.
pub const TASK_COST_BYTES: u64 = 100_000;

impl Stats {
    /// The cost model: bytes read from sources plus bytes handed between tasks plus
    /// [`TASK_COST_BYTES`] per task. Shared layers count once.
    pub fn cost(&self) -> u64 {
        self.bytes_read
            .saturating_add(self.bytes_moved)
            .saturating_add(self.tasks.saturating_mul(TASK_COST_BYTES))
    }
}

/// Statistics of the graph of `outputs` (all output blocks requested).
pub fn stats(outputs: &[Node]) -> Stats {
    let needed = needed_blocks(outputs);
    let mut s = Stats::default();
    for n in dep_order(outputs) {
        let Some(b) = needed.of(&n) else { continue };
        s.layers += 1;
        let itemsize = n.dtype().size() as u64;
        s.bytes_moved = s
            .bytes_moved
            .saturating_add(needed.elements(&n).saturating_mul(itemsize));
        s.tasks = s.tasks.saturating_add(tasks(&n, b));
        s.peak_task_bytes = s.peak_task_bytes.max(task_memory(&n));
    }
    for n in chunkwise_ir::topo_order(outputs) {
        if n.is_source() {
            let itemsize = n.dtype().size() as u64;
            s.bytes_read = s
                .bytes_read
                .saturating_add(needed.elements(&n).saturating_mul(itemsize));
        }
    }
    s
}

/// The projected peak bytes of one task of `n` (Cubed's model, conservative): its output
/// block, the input blocks it holds (an inlined input counting its own inputs), and the
/// decode buffer of one store chunk when it reads a stored array itself.
///
/// ```
/// use chunkwise_ir::{ChunkGrid, DType, Node, Scalar};
/// let x = Node::full(ChunkGrid::regular(&[100, 100], &[10, 100]).unwrap(), DType::F64, Scalar::F64(1.0)).unwrap();
/// assert_eq!(chunkwise_passes::stats::task_memory(&x), 10 * 100 * 8);
/// ```
pub fn task_memory(n: &Node) -> u64 {
    let inputs = n
        .inputs()
        .iter()
        .map(|m| input_bytes(n, m))
        .fold(0, u64::saturating_add);
    block_bytes(n)
        .saturating_add(inputs)
        .saturating_add(decode_bytes(n))
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

/// Tasks of the needed box `b` of `n`.
fn tasks(n: &Node, b: &[std::ops::Range<u64>]) -> u64 {
    let Layer::Reduction(r) = n.layer() else {
        return box_blocks(b);
    };
    let Some((_, ib)) = input_boxes(n, b).into_iter().next() else {
        return 0;
    };
    // Per-chunk states, then each tree level over the needed input box.
    let split = r.split_per_axis();
    let levels = plan_stages(n).stages.len() as u64 - 1;
    let mut extents: Vec<u64> = ib.iter().map(|r| r.end - r.start).collect();
    let mut total = box_blocks(&ib);
    for _ in 1..levels {
        for &a in &r.axes {
            extents[a] = extents[a].div_ceil(split);
        }
        total = total.saturating_add(extents.iter().product());
    }
    total.saturating_add(box_blocks(b))
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
