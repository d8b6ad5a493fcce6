//! Which input blocks a block needs: the one home of every layer's block mapping.
//!
//! The mapping has two views, written side by side per layer kind:
//!
//! - **box level**, [`input_boxes`]: a box of a layer's blocks (a block range per axis) to a
//!   box of each input's blocks, in O(dimensions). Culling and the cost model of
//!   `chunkwise-passes` use it, so `x[:100][5]` on an array of 10^9 chunks costs what it
//!   costs on 10 chunks.
//! - **block level**, [`Stage::for_each_input`] (with [`Stage::gather_pieces`] for slices
//!   and rechunks): the input blocks one block of a stage reads, in the order its kernel
//!   receives them. Lowering builds dependencies from it and backends place data with it.
//!
//! Per layer kind, the facts both views need are written once, below: the blockwise index
//! mapping (an input axis reads block 0, the block of an output axis, or every block of a
//! contracted symbol), the output axis each input axis of a reduction keeps, where each
//! input of a concatenation starts, the transpose permutation, and the axes slice items map
//! (a rechunk is an identity slice). The box of a box is the bounding box of the blocks of
//! its blocks: `ir/tests/mapping.rs` checks that for every layer kind.
//!
//! ```
//! use chunkwise_ir::mapping::input_boxes;
//! use chunkwise_ir::{ChunkGrid, DType, Node, Scalar};
//! let x = Node::full(ChunkGrid::regular(&[100, 100], &[10, 10]).unwrap(), DType::F64, Scalar::F64(1.0)).unwrap();
//! let t = Node::transpose(x.clone(), vec![1, 0]).unwrap();
//! let boxes = input_boxes(&t, &[0..2, 5..6]);
//! assert_eq!(boxes, vec![(x, vec![5..6, 0..2])]);
//! ```

use crate::grid::{ravel, unravel_into, AxisChunks};
use crate::layer::{Layer, Node, Reduction, Sym};
use crate::slice::{for_each_piece, Piece, SliceItem};
use crate::task::{odometer, Stage, StageOp};
use std::ops::Range;

/// A block range per axis.
pub type BlockBox = Vec<Range<u64>>;

/// Reusable buffers for [`Stage::for_each_input`] (avoids allocation per task).
#[derive(Default, Debug)]
pub struct Scratch {
    coords: Vec<u64>,
    odo: Vec<u64>,
    ranges: Vec<Range<u64>>,
    pieces: Vec<Vec<Piece>>,
}

/// Blocks in a box (saturating).
pub fn box_blocks(b: &[Range<u64>]) -> u64 {
    b.iter()
        .fold(1u64, |a, r| a.saturating_mul(r.end.saturating_sub(r.start)))
}

/// Elements of `n` in a box of its blocks (saturating).
pub fn box_elements(n: &Node, b: &[Range<u64>]) -> u64 {
    n.chunks().axes().iter().zip(b).fold(1u64, |a, (c, r)| {
        a.saturating_mul(elements_of(c, r).map_or(0, |(e0, e1)| e1 - e0))
    })
}

/// The whole block grid of `n`.
pub fn full_box(n: &Node) -> BlockBox {
    n.chunks().num_blocks().into_iter().map(|b| 0..b).collect()
}

/// The element range `(start, end)` of blocks `r` of `c`, if it holds any element.
pub fn elements_of(c: &AxisChunks, r: &Range<u64>) -> Option<(u64, u64)> {
    if r.start >= r.end {
        return None;
    }
    let (e0, e1) = (c.range(r.start).start, c.range(r.end - 1).end);
    (e0 < e1).then_some((e0, e1))
}

/// Blocks of `c` holding the elements `lo..=hi`.
pub fn covering(c: &AxisChunks, lo: u64, hi: u64) -> Range<u64> {
    c.block_of(lo)..c.block_of(hi) + 1
}

// ---- Facts shared by both views -------------------------------------------------------

/// Where an input axis of a blockwise layer takes its block from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BlockwiseAxis {
    /// Block 0: the axis has one block (broadcast, or the output axis has one block too).
    First,
    /// The block of output axis `p`.
    Output(usize),
    /// Every block: the symbol is contracted (the kernel receives all blocks along it).
    Contracted,
}

/// How an input axis with symbol `s` and `nb` blocks maps to the output `out_ind`.
pub(crate) fn blockwise_axis(out_ind: &[Sym], s: Sym, nb: u64) -> BlockwiseAxis {
    if nb == 1 {
        BlockwiseAxis::First
    } else if let Some(p) = out_ind.iter().position(|&t| t == s) {
        BlockwiseAxis::Output(p)
    } else {
        BlockwiseAxis::Contracted
    }
}

/// The output axis that input axis `a` of a reduction keeps, or `None` when `a` is reduced
/// (every block along it is read).
fn reduction_kept_axis(r: &Reduction, a: usize) -> Option<usize> {
    if r.axes.contains(&a) {
        None
    } else if r.keepdims {
        Some(a)
    } else {
        Some(a - r.axes.iter().filter(|&&x| x < a).count())
    }
}

/// The blocks along input axis `a` that block `block` of reduction step `op` reads from
/// the previous step, whose grid is `prev` blocks per axis (the input's for the per-chunk
/// step): one block per chunk; up to `split` blocks along a reduced axis per combine
/// level; every remaining block along a reduced axis for the aggregate step. The CPU
/// backend sizes its combination from the same ranges.
pub fn reduction_step_range(
    r: &Reduction,
    op: StageOp,
    prev: &[u64],
    block: &[u64],
    a: usize,
) -> Range<u64> {
    let split = r.split_per_axis();
    match (op, reduction_kept_axis(r, a)) {
        (StageOp::ReduceChunk | StageOp::Layer, _) => block[a]..block[a] + 1,
        (StageOp::ReduceCombine { .. }, None) => {
            block[a] * split..((block[a] + 1) * split).min(prev[a])
        }
        (StageOp::ReduceCombine { .. }, Some(_)) => block[a]..block[a] + 1,
        (StageOp::ReduceAggregate, None) => 0..prev[a],
        (StageOp::ReduceAggregate, Some(o)) => block[o]..block[o] + 1,
    }
}

/// The first block, along `axis`, of each input of a concatenation.
pub fn concat_starts(inputs: &[Node], axis: usize) -> Vec<u64> {
    inputs
        .iter()
        .scan(0, |acc, n| {
            let s = *acc;
            *acc += n.chunks().axis(axis).num_blocks();
            Some(s)
        })
        .collect()
}

/// The input holding block `j` (along the axis) of a concatenation whose inputs start at
/// [`concat_starts`], and the block's number in that input.
fn concat_locate(starts: &[u64], j: u64) -> (usize, u64) {
    let k = starts.partition_point(|&s| s <= j) - 1;
    (k, j - starts[k])
}

/// Output coordinates (blocks or block ranges) of a transpose written as input
/// coordinates: output axis `i` is input axis `perm[i]`.
fn transpose_to_input<T: Clone>(perm: &[usize], out: &[T], input: &mut [T]) {
    for (i, &p) in perm.iter().enumerate() {
        input[p] = out[i].clone();
    }
}

/// A slice item with the input axis it reads and the output axis it fills.
enum SliceAxis {
    /// One position of input axis `in_ax` (no output axis).
    Index { in_ax: usize, index: u64 },
    /// A range of input axis `in_ax` filling output axis `out_ax`.
    Range {
        in_ax: usize,
        out_ax: usize,
        start: u64,
        step: i64,
    },
}

/// The input of a slice or rechunk layer.
fn slice_input(node: &Node) -> Option<&Node> {
    match node.layer() {
        Layer::Slice { input, .. } | Layer::Rechunk { input } => Some(input),
        _ => None,
    }
}

/// Calls `f` for each item of a slice (new axes skipped) with the axes it maps; a rechunk
/// is the identity slice (only the output grid differs). Nothing for other layers.
fn for_each_slice_axis(node: &Node, mut f: impl FnMut(SliceAxis)) {
    match node.layer() {
        Layer::Slice { items, .. } => {
            let (mut in_ax, mut out_ax) = (0, 0);
            for item in items {
                match *item {
                    SliceItem::NewAxis => out_ax += 1,
                    SliceItem::Index { index } => {
                        f(SliceAxis::Index { in_ax, index });
                        in_ax += 1;
                    }
                    SliceItem::Range { start, step, .. } => {
                        f(SliceAxis::Range {
                            in_ax,
                            out_ax,
                            start,
                            step,
                        });
                        in_ax += 1;
                        out_ax += 1;
                    }
                }
            }
        }
        Layer::Rechunk { input } => {
            for a in 0..input.ndim() {
                f(SliceAxis::Range {
                    in_ax: a,
                    out_ax: a,
                    start: 0,
                    step: 1,
                });
            }
        }
        _ => {}
    }
}

// ---- Box level ------------------------------------------------------------------------

/// The box of each input that box `b` of `n` reads (one entry per input, in order; for
/// [`Layer::FromDelayed`], only the parts whose block is in the box).
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
                    unravel_into(*k as u64, &nb, &mut coords);
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
                    .map(|(&s, nb)| match blockwise_axis(&bw.out_ind, s, nb) {
                        BlockwiseAxis::First => 0..1,
                        BlockwiseAxis::Output(p) => b[p].clone(),
                        BlockwiseAxis::Contracted => 0..nb,
                    })
                    .collect();
                (m.clone(), mb)
            })
            .collect(),
        Layer::Reduction(r) => {
            let mb = r
                .input
                .chunks()
                .num_blocks()
                .into_iter()
                .enumerate()
                .map(|(a, nb)| match reduction_kept_axis(r, a) {
                    None => 0..nb,
                    Some(o) => b[o].clone(),
                })
                .collect();
            vec![(r.input.clone(), mb)]
        }
        Layer::Slice { input, .. } | Layer::Rechunk { input } => {
            let mut mb = vec![0..0; input.ndim()];
            for_each_slice_axis(n, |ax| match ax {
                SliceAxis::Index { in_ax, index } => {
                    mb[in_ax] = covering(input.chunks().axis(in_ax), index, index);
                }
                SliceAxis::Range {
                    in_ax,
                    out_ax,
                    start,
                    step,
                } => {
                    if let Some((e0, e1)) = elements_of(n.chunks().axis(out_ax), &b[out_ax]) {
                        let p0 = SliceItem::position(start, step, e0);
                        let p1 = SliceItem::position(start, step, e1 - 1);
                        let c = input.chunks().axis(in_ax);
                        mb[in_ax] = covering(c, p0.min(p1), p0.max(p1));
                    }
                }
            });
            vec![(input.clone(), mb)]
        }
        Layer::Transpose { input, perm } => {
            let mut mb = vec![0..0; perm.len()];
            transpose_to_input(perm, b, &mut mb);
            vec![(input.clone(), mb)]
        }
        Layer::Concatenate { inputs, axis } => {
            let r = &b[*axis];
            let starts = concat_starts(inputs, *axis);
            inputs
                .iter()
                .zip(starts)
                .map(|(m, s)| {
                    let (lo, hi) = (
                        r.start.max(s),
                        r.end.min(s + m.chunks().axis(*axis).num_blocks()),
                    );
                    let mut mb = b.to_vec();
                    mb[*axis] = if lo < hi { lo - s..hi - s } else { 0..0 };
                    (m.clone(), mb)
                })
                .collect()
        }
    }
}

// ---- Block level ----------------------------------------------------------------------

impl Stage {
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
                        for (ax, &s) in ind.iter().enumerate() {
                            let nb = self.direct_nblocks[k][ax];
                            coords.push(match blockwise_axis(&b.out_ind, s, nb) {
                                BlockwiseAxis::First => 0,
                                BlockwiseAxis::Output(p) => block[p],
                                BlockwiseAxis::Contracted => {
                                    combo[contracted.iter().position(|&t| t == s).unwrap_or(0)]
                                }
                            });
                        }
                        f(k, &coords);
                    }
                });
                scratch.coords = coords;
                scratch.ranges = ranges;
            }
            (Layer::Reduction(r), op) => {
                let prev = &self.direct_nblocks[0];
                scratch.ranges.clear();
                for a in 0..r.input.ndim() {
                    scratch
                        .ranges
                        .push(reduction_step_range(r, op, prev, block, a));
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
                transpose_to_input(perm, block, &mut scratch.coords);
                f(0, &scratch.coords);
            }
            (Layer::Concatenate { axis, .. }, _) => {
                let (k, local) = concat_locate(&self.concat_starts, block[*axis]);
                scratch.coords.clear();
                scratch.coords.extend_from_slice(block);
                scratch.coords[*axis] = local;
                f(k, &scratch.coords);
            }
        }
    }

    /// For slice and rechunk stages: per input axis, the pieces of input blocks that fill
    /// output block `block` (in output order). Dependencies are the C-order product of the
    /// per-axis piece lists. Read the lists with [`Stage::pieces`].
    pub fn gather_pieces(&self, block: &[u64], scratch: &mut Scratch) {
        let Some(input) = slice_input(&self.node) else {
            return;
        };
        let out_grid = self.node.chunks();
        let pieces = &mut scratch.pieces;
        pieces.resize_with(input.ndim(), Vec::new);
        for_each_slice_axis(&self.node, |ax| match ax {
            SliceAxis::Index { in_ax, index } => {
                let c = input.chunks().axis(in_ax);
                let b = c.block_of(index);
                let p = &mut pieces[in_ax];
                p.clear();
                p.push(Piece {
                    in_block: b,
                    in_start: index - c.range(b).start,
                    step: 1,
                    out: 0..1,
                });
            }
            SliceAxis::Range {
                in_ax,
                out_ax,
                start,
                step,
            } => {
                let out = out_grid.axis(out_ax).range(block[out_ax]);
                let p = &mut pieces[in_ax];
                p.clear();
                for_each_piece(input.chunks().axis(in_ax), start, step, out, |pc| {
                    p.push(pc)
                });
            }
        });
    }

    /// The pieces computed by the last [`Stage::gather_pieces`] call.
    pub fn pieces<'s>(&self, scratch: &'s Scratch) -> &'s [Vec<Piece>] {
        &scratch.pieces[..self.node.layer_input_ndim()]
    }
}

/// Calls `f(k, input_k, coords)` for each input block that block `coords` of an inlined
/// layer `inner` reads (none for sources; for an elementwise program, the same block with
/// broadcast axes at block 0).
pub fn inline_inputs(inner: &Node, coords: &[u64], mut f: impl FnMut(usize, &Node, &[u64])) {
    if let Layer::Blockwise(b) = inner.layer() {
        // Layers have at most 32 dimensions: no allocation per task.
        let mut c = [0u64; 32];
        for (k, (m, ind)) in b.inputs.iter().enumerate() {
            for (ax, &s) in ind.iter().enumerate() {
                let nb = m.chunks().axis(ax).num_blocks();
                c[ax] = match blockwise_axis(&b.out_ind, s, nb) {
                    BlockwiseAxis::Output(p) => coords[p],
                    // An inlined program contracts nothing.
                    BlockwiseAxis::First | BlockwiseAxis::Contracted => 0,
                };
            }
            f(k, m, &c[..ind.len()]);
        }
    }
}
