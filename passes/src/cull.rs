//! Culling at the layer level: for the requested output blocks, which blocks of every layer
//! are needed.
//!
//! Each layer maps a box of its own blocks (a block range per axis) to a box of each
//! input's blocks, in O(dimensions): elementwise layers keep the box (broadcast axes read
//! block 0), reductions widen it over the reduced axes, slices and rechunks map element
//! ranges, transposes permute it, concatenation splits it between inputs. Boxes from several
//! consumers are joined (their bounding box). Nothing is enumerated per block, so
//! `x[:100][5]` on an array of 10^9 chunks costs the same as on 10 chunks:
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
//! Lowering applies the same mapping block by block ([`chunkwise_ir::Stage::for_each_input`])
//! and visits only needed blocks; this analysis gives the per-layer picture (statistics,
//! `explain`) without lowering. Layer edges are never removed: a culled layer keeps its
//! inputs, it just needs fewer of their blocks.

use chunkwise_ir::slice::SliceItem;
use chunkwise_ir::{topo_order, AxisChunks, Layer, Node, NodeId};
use rustc_hash::FxHashMap;
use std::ops::Range;

/// A block range per axis.
pub type BlockBox = Vec<Range<u64>>;

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

/// Blocks in a box (saturating).
pub fn box_blocks(b: &[Range<u64>]) -> u64 {
    b.iter()
        .fold(1u64, |a, r| a.saturating_mul(r.end.saturating_sub(r.start)))
}

/// Elements of `n` in a box of its blocks (saturating).
pub fn box_elements(n: &Node, b: &[Range<u64>]) -> u64 {
    n.chunks()
        .axes()
        .iter()
        .zip(b)
        .fold(1u64, |a, (c, r)| a.saturating_mul(elems(c, r)))
}

fn elems(c: &AxisChunks, r: &Range<u64>) -> u64 {
    elements_of(c, r).map_or(0, |(e0, e1)| e1 - e0)
}

/// The whole block grid of `n`.
pub fn full_box(n: &Node) -> BlockBox {
    n.chunks().num_blocks().into_iter().map(|b| 0..b).collect()
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

/// The element range `(start, end)` of blocks `r` of `c`, if it holds any element.
fn elements_of(c: &AxisChunks, r: &Range<u64>) -> Option<(u64, u64)> {
    if r.start >= r.end {
        return None;
    }
    let (e0, e1) = (c.range(r.start).start, c.range(r.end - 1).end);
    (e0 < e1).then_some((e0, e1))
}

/// Blocks of `c` holding the elements `lo..=hi`.
fn covering(c: &AxisChunks, lo: u64, hi: u64) -> Range<u64> {
    c.block_of(lo)..c.block_of(hi) + 1
}

/// The box of each input that box `b` of `n` reads.
pub fn input_boxes(n: &Node, b: &[Range<u64>]) -> Vec<(Node, BlockBox)> {
    match n.layer() {
        Layer::FromArray { .. }
        | Layer::Full { .. }
        | Layer::Random { .. }
        | Layer::Read { .. }
        | Layer::Arange { .. } => vec![],
        Layer::Inline { input } => vec![(input.clone(), b.to_vec())],
        // A task reads every block of its node arguments.
        Layer::Task(_) => n
            .inputs()
            .into_iter()
            .map(|m| (m.clone(), full_box(m)))
            .collect(),
        Layer::FromDelayed { parts } => {
            let nb = n.chunks().num_blocks();
            let mut coords = vec![0; nb.len()];
            parts
                .iter()
                .enumerate()
                .filter(|(k, _)| {
                    chunkwise_ir::grid::unravel_into(*k as u64, &nb, &mut coords);
                    coords.iter().zip(b).all(|(c, r)| r.contains(c))
                })
                .map(|(_, p)| (p.clone(), vec![]))
                .collect()
        }
        Layer::Blockwise(bw) => bw
            .inputs
            .iter()
            .map(|(m, ind)| {
                let mb = ind
                    .iter()
                    .zip(m.chunks().num_blocks())
                    .map(|(s, nb)| match bw.out_ind.iter().position(|t| t == s) {
                        _ if nb == 1 => 0..1,
                        Some(p) => b[p].clone(),
                        None => 0..nb,
                    })
                    .collect();
                (m.clone(), mb)
            })
            .collect(),
        Layer::Reduction(r) => {
            let mut out_ax = 0;
            let mb = r
                .input
                .chunks()
                .num_blocks()
                .into_iter()
                .enumerate()
                .map(|(a, nb)| {
                    let reduced = r.axes.contains(&a);
                    let range = if reduced { 0..nb } else { b[out_ax].clone() };
                    if !reduced || r.keepdims {
                        out_ax += 1;
                    }
                    range
                })
                .collect();
            vec![(r.input.clone(), mb)]
        }
        Layer::Slice { input, items } => {
            let mut mb = Vec::with_capacity(input.ndim());
            let mut out_ax = 0;
            for item in items {
                match *item {
                    SliceItem::NewAxis => out_ax += 1,
                    SliceItem::Index { index } => {
                        let c = input.chunks().axis(mb.len());
                        mb.push(covering(c, index, index));
                    }
                    SliceItem::Range { start, step, .. } => {
                        let c = input.chunks().axis(mb.len());
                        let oc = n.chunks().axis(out_ax);
                        mb.push(match elements_of(oc, &b[out_ax]) {
                            None => 0..0,
                            Some((e0, e1)) => {
                                let p0 = SliceItem::position(start, step, e0);
                                let p1 = SliceItem::position(start, step, e1 - 1);
                                covering(c, p0.min(p1), p0.max(p1))
                            }
                        });
                        out_ax += 1;
                    }
                }
            }
            vec![(input.clone(), mb)]
        }
        Layer::Rechunk { input } => {
            let mb = (0..n.ndim())
                .map(|a| {
                    let (oc, ic) = (n.chunks().axis(a), input.chunks().axis(a));
                    match elements_of(oc, &b[a]) {
                        None => 0..0,
                        Some((e0, e1)) => covering(ic, e0, e1 - 1),
                    }
                })
                .collect();
            vec![(input.clone(), mb)]
        }
        Layer::Transpose { input, perm } => {
            let mut mb = vec![0..0; perm.len()];
            for (i, &p) in perm.iter().enumerate() {
                mb[p] = b[i].clone();
            }
            vec![(input.clone(), mb)]
        }
        Layer::Concatenate { inputs, axis } => {
            let mut start = 0;
            inputs
                .iter()
                .map(|m| {
                    let nb = m.chunks().axis(*axis).num_blocks();
                    let r = &b[*axis];
                    let lo = r.start.max(start);
                    let hi = r.end.min(start + nb);
                    let mut mb = b.to_vec();
                    mb[*axis] = if lo < hi {
                        lo - start..hi - start
                    } else {
                        0..0
                    };
                    start += nb;
                    (m.clone(), mb)
                })
                .collect()
        }
    }
}
