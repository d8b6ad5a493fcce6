//! Graph statistics: estimates of what running a graph costs, computed from layer metadata
//! and the culled block boxes ([`crate::cull`]) without lowering.

use crate::cull::{box_blocks, input_boxes, needed_blocks};
use chunkwise_ir::layer::dep_order;
use chunkwise_ir::memory::task_peak;
use chunkwise_ir::task::plan_stages;
use chunkwise_ir::{Layer, Node};
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
    /// Largest estimated memory of one task ([`chunkwise_ir::memory::task_peak`]).
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
        s.peak_task_bytes = s.peak_task_bytes.max(task_peak(&n));
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
        total = total.saturating_add(extents.iter().fold(1u64, |a, &e| a.saturating_mul(e)));
    }
    total.saturating_add(box_blocks(b))
}
