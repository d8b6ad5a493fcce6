//! Culling at the layer level: for the requested output blocks, which blocks of every layer
//! are needed.
//!
//! Each layer maps a box of its own blocks (a block range per axis) to a box of each
//! input's blocks, in O(dimensions) ([`chunkwise_ir::mapping::input_boxes`]): elementwise
//! layers keep the box (broadcast axes read block 0), reductions widen it over the reduced
//! axes, slices and rechunks map element ranges, transposes permute it, concatenation splits
//! it between inputs. Boxes from several consumers are joined (their bounding box). Nothing
//! is enumerated per block, so `x[:100][5]` on an array of 10^9 chunks costs the same as on
//! 10 chunks:
//!
//! ```
//! use chunkwise_ir::{slice::SliceItem, ChunkGrid, DType, Node, Scalar};
//! use chunkwise_passes::cull::needed_blocks;
//! let x = Node::full(ChunkGrid::regular(&[1 << 40], &[1000]).unwrap(), DType::F64, Scalar::F64(1.0)).unwrap();
//! let y = Node::slice(x.clone(), vec![SliceItem::Index { index: 123_456 }]).unwrap();
//! let needed = needed_blocks(&[y]);
//! assert_eq!(needed.of(&x), Some(&[123..124][..]));
//! ```
//!
//! Lowering applies the same mapping block by block ([`chunkwise_ir::Stage::for_each_input`],
//! written next to the box-level one in [`chunkwise_ir::mapping`]) and visits only needed
//! blocks; this analysis gives the per-layer picture (statistics, `explain`) without
//! lowering. Layer edges are never removed: a culled layer keeps its inputs, it just needs
//! fewer of their blocks.

pub use chunkwise_ir::mapping::{box_blocks, box_elements, full_box, input_boxes, BlockBox};
use chunkwise_ir::{topo_order, Node, NodeId};
use rustc_hash::FxHashMap;
use std::ops::Range;

/// The needed blocks of every layer of a graph.
#[derive(Debug, Default)]
pub struct Needed {
    boxes: FxHashMap<NodeId, BlockBox>,
}

impl Needed {
    /// The needed box of `n` (`None`: no block of it is needed).
    pub fn of(&self, n: &Node) -> Option<&[Range<u64>]> {
        self.boxes.get(&n.id()).map(Vec::as_slice)
    }

    /// Number of needed blocks of `n`.
    pub fn blocks(&self, n: &Node) -> u64 {
        self.of(n).map_or(0, box_blocks)
    }

    /// Number of needed elements of `n`.
    pub fn elements(&self, n: &Node) -> u64 {
        self.of(n).map_or(0, |b| box_elements(n, b))
    }
}

/// Needed blocks of every layer when all blocks of `outputs` are requested.
pub fn needed_blocks(outputs: &[Node]) -> Needed {
    let mut needed = Needed::default();
    for o in outputs {
        join(&mut needed.boxes, o, full_box(o));
    }
    for n in topo_order(outputs).iter().rev() {
        // Boxes are never empty (`join` drops empty ones).
        let Some(b) = needed.boxes.get(&n.id()).cloned() else {
            continue;
        };
        for (m, mb) in input_boxes(n, &b) {
            join(&mut needed.boxes, &m, mb);
        }
    }
    needed
}

fn join(boxes: &mut FxHashMap<NodeId, BlockBox>, n: &Node, b: BlockBox) {
    if b.iter().any(|r| r.start >= r.end) {
        return;
    }
    match boxes.get_mut(&n.id()) {
        None => {
            boxes.insert(n.id(), b);
        }
        Some(old) => {
            for (o, r) in old.iter_mut().zip(b) {
                *o = o.start.min(r.start)..o.end.max(r.end);
            }
        }
    }
}
