//! The two views of "which input blocks does a block need" agree, for every layer kind: for
//! a random box of a layer's output blocks, the bounding box (per input) of the block-level
//! mapping ([`Stage::for_each_input`] over every block of the box, through every stage of
//! a reduction) equals the box-level mapping ([`input_boxes`]).

use chunkwise_ir::delayed::{TaskArg, TaskFn};
use chunkwise_ir::mapping::{input_boxes, BlockBox, Scratch};
use chunkwise_ir::program::{BinaryOp, ProgramBuilder};
use chunkwise_ir::slice::{normalize, SliceArg, SliceItem};
use chunkwise_ir::task::{odometer, plan_stages, StageOp};
use chunkwise_ir::{
    AxisChunks, Blockwise, ChunkGrid, DType, Distribution, DynArray, Kernel, Layer, Node, ReduceOp,
    RegionReader, Scalar, Stage, StoreError, Stored, Sym,
};
use proptest::prelude::*;
use std::ops::Range;
use std::sync::Arc;

// ---- Building layers ------------------------------------------------------------------

/// Chunk lengths of one axis: 0 to 4 chunks of 1 to 3 elements (no chunk: an empty axis).
fn axis_lengths() -> impl Strategy<Value = Vec<u64>> {
    prop::collection::vec(1u64..=3, 0..=4)
}

fn grid_of(lengths: &[Vec<u64>]) -> ChunkGrid {
    ChunkGrid::new(
        lengths
            .iter()
            .map(|l| AxisChunks::from_lengths(l))
            .collect(),
    )
}

fn full(grid: ChunkGrid) -> Node {
    Node::full(grid, DType::F64, Scalar::F64(1.0)).unwrap()
}

/// A source of any kind on `lengths` (`kind` picks it).
fn source(kind: u8, lengths: &[Vec<u64>]) -> Node {
    let grid = grid_of(lengths);
    match kind % 3 {
        0 => full(grid),
        1 => Node::random(
            grid,
            DType::F64,
            7,
            Distribution::Uniform {
                low: 0.0,
                high: 1.0,
            },
        )
        .unwrap(),
        _ => Node::inline(full(grid)).unwrap(),
    }
}

/// `inputs[0] + inputs[1] + ...` over F64 inputs.
fn sum_program(n: usize) -> Kernel {
    let mut b = ProgramBuilder::new(vec![DType::F64; n]);
    let mut acc = b.input(0);
    for i in 1..n as u32 {
        let x = b.input(i);
        acc = b.binary(BinaryOp::Add, acc, x).unwrap();
    }
    Kernel::Program(Arc::new(b.finish(acc)))
}

fn sym(i: usize) -> Sym {
    b'a' + i as u8
}

/// One input of an elementwise layer: which output axes it has (in its own order) and
/// whether each of them is broadcast (length 1).
#[derive(Clone, Debug)]
struct EwInput {
    axes: Vec<usize>,
    broadcast: Vec<bool>,
    kind: u8,
}

fn ew_input(ndim: usize) -> impl Strategy<Value = EwInput> {
    (
        Just((0..ndim).collect::<Vec<_>>()).prop_shuffle(),
        0..=ndim,
        prop::collection::vec(any::<bool>(), ndim),
        any::<u8>(),
    )
        .prop_map(|(perm, k, broadcast, kind)| EwInput {
            axes: perm[..k].to_vec(),
            broadcast,
            kind,
        })
}

/// An elementwise layer with broadcasting, permuted input axes and maybe a new axis.
fn elementwise() -> impl Strategy<Value = Node> {
    (1usize..=3)
        .prop_flat_map(|nd| {
            (
                prop::collection::vec(axis_lengths(), nd),
                prop::collection::vec(ew_input(nd), 1..=3),
                prop::option::of(0..=nd),
            )
        })
        .prop_map(|(lengths, mut inputs, new_axis)| {
            let nd = lengths.len();
            // Every output axis is in some input.
            for a in 0..nd {
                if !inputs.iter().any(|i| i.axes.contains(&a)) {
                    inputs[0].axes.push(a);
                }
            }
            let inputs: Vec<(Node, Vec<Sym>)> = inputs
                .iter()
                .map(|i| {
                    let ls: Vec<Vec<u64>> = i
                        .axes
                        .iter()
                        .map(|&a| {
                            if i.broadcast[a] {
                                vec![1]
                            } else {
                                lengths[a].clone()
                            }
                        })
                        .collect();
                    (
                        source(i.kind, &ls),
                        i.axes.iter().map(|&a| sym(a)).collect(),
                    )
                })
                .collect();
            let mut out_ind: Vec<Sym> = (0..nd).map(sym).collect();
            let mut new_axes = vec![];
            if let Some(p) = new_axis {
                out_ind.insert(p, b'z');
                new_axes.push((b'z', 1));
            }
            let kernel = sum_program(inputs.len());
            Node::blockwise(Blockwise {
                out_ind,
                inputs,
                new_axes,
                kernel,
            })
            .unwrap()
        })
}

/// A contraction of two inputs (matmul, batched matmul, tensordot over several axes).
fn contraction() -> impl Strategy<Value = Node> {
    (1usize..=2, 1usize..=2)
        .prop_flat_map(|(no, nc)| {
            let n = no + nc;
            (
                prop::collection::vec(axis_lengths(), n),
                Just((0..n).collect::<Vec<_>>()).prop_shuffle(),
                Just((0..n).collect::<Vec<_>>()).prop_shuffle(),
                prop::collection::vec(0u8..3, no),
                Just(no),
            )
        })
        .prop_map(|(lengths, perm_a, perm_b, owner, no)| {
            // Symbols 0..no are output axes, the rest contracted. An output axis is in input
            // a (owner 0), b (1) or both (2); contracted axes are in both.
            let has = |k: u8, s: usize| s >= no || owner[s] == k || owner[s] == 2;
            let input = |k: u8, perm: &[usize]| {
                let axes: Vec<usize> = perm.iter().copied().filter(|&s| has(k, s)).collect();
                let ls: Vec<Vec<u64>> = axes.iter().map(|&s| lengths[s].clone()).collect();
                (full(grid_of(&ls)), axes.iter().map(|&s| sym(s)).collect())
            };
            Node::blockwise(Blockwise {
                out_ind: (0..no).map(sym).collect(),
                inputs: vec![input(0, &perm_a), input(1, &perm_b)],
                new_axes: vec![],
                kernel: Kernel::Contract,
            })
            .unwrap()
        })
}

fn reduction() -> impl Strategy<Value = Node> {
    (1usize..=3)
        .prop_flat_map(|nd| {
            (
                prop::collection::vec(axis_lengths(), nd),
                prop::collection::vec(any::<bool>(), nd),
                any::<bool>(),
                2u64..=6,
                any::<u8>(),
            )
        })
        .prop_map(|(lengths, reduced, keepdims, split, kind)| {
            let axes: Vec<usize> = (0..lengths.len()).filter(|&a| reduced[a]).collect();
            Node::reduction(
                source(kind, &lengths),
                ReduceOp::Sum,
                &axes,
                keepdims,
                split,
            )
            .unwrap()
        })
}

/// One user slice argument, made valid for an axis of length `len`.
fn slice_arg(raw: (u8, i64, i64, i64), len: u64) -> SliceArg {
    let (kind, a, b, step) = raw;
    let step = if step == 0 { 1 } else { step };
    match kind % 4 {
        0 if len > 0 => SliceArg::Index(a.rem_euclid(len as i64)),
        1 => SliceArg::Range {
            start: Some(a),
            stop: Some(b),
            step: Some(step),
        },
        2 => SliceArg::Range {
            start: None,
            stop: None,
            step: Some(step),
        },
        _ => SliceArg::ALL,
    }
}

/// A slice with indices, ranges of any step sign and new axes.
fn slice() -> impl Strategy<Value = Node> {
    (1usize..=3)
        .prop_flat_map(|nd| {
            (
                prop::collection::vec(axis_lengths(), nd),
                prop::collection::vec((any::<u8>(), -12i64..12, -12i64..12, -4i64..=4), nd),
                prop::collection::vec(0..=nd, 0..=2),
                any::<u8>(),
            )
        })
        .prop_map(|(lengths, raw, new_axes, kind)| {
            let x = source(kind, &lengths);
            let shape = x.shape();
            let mut args: Vec<SliceArg> = raw
                .iter()
                .zip(&shape)
                .map(|(&r, &len)| slice_arg(r, len))
                .collect();
            for &p in new_axes.iter().rev() {
                args.insert(p.min(args.len()), SliceArg::NewAxis);
            }
            let items = normalize(&shape, &args).unwrap();
            Node::slice(x, items).unwrap()
        })
}

/// Splits `len` into chunks of the (cycled) lengths `pattern`.
fn partition(len: u64, pattern: &[u64]) -> Vec<u64> {
    let mut out = vec![];
    let mut left = len;
    for &p in pattern.iter().cycle() {
        if left == 0 {
            break;
        }
        out.push(p.min(left));
        left -= p.min(left);
    }
    out
}

fn rechunk() -> impl Strategy<Value = Node> {
    (1usize..=3)
        .prop_flat_map(|nd| {
            (
                prop::collection::vec(axis_lengths(), nd),
                prop::collection::vec(prop::collection::vec(1u64..=4, 1..=3), nd),
                any::<u8>(),
            )
        })
        .prop_map(|(lengths, patterns, kind)| {
            let x = source(kind, &lengths);
            let target: Vec<Vec<u64>> = x
                .shape()
                .iter()
                .zip(&patterns)
                .map(|(&l, p)| partition(l, p))
                .collect();
            Node::rechunk(x, grid_of(&target)).unwrap()
        })
        .prop_filter("a rechunk layer (not the same grid)", |n| {
            matches!(n.layer(), Layer::Rechunk { .. })
        })
}

fn transpose() -> impl Strategy<Value = Node> {
    (1usize..=4)
        .prop_flat_map(|nd| {
            (
                prop::collection::vec(axis_lengths(), nd),
                Just((0..nd).collect::<Vec<_>>()).prop_shuffle(),
                any::<u8>(),
            )
        })
        .prop_map(|(lengths, perm, kind)| Node::transpose(source(kind, &lengths), perm).unwrap())
}

fn concatenate() -> impl Strategy<Value = Node> {
    (1usize..=3)
        .prop_flat_map(|nd| {
            (
                prop::collection::vec(axis_lengths(), nd),
                0..nd,
                // Inputs may be empty along the axis (no chunk): they are left out.
                prop::collection::vec((prop::collection::vec(1u64..=3, 0..=4), any::<u8>()), 1..=4),
            )
        })
        .prop_map(|(lengths, axis, parts)| {
            let inputs = parts
                .iter()
                .map(|(l, kind)| {
                    let mut ls = lengths.clone();
                    ls[axis] = l.clone();
                    source(*kind, &ls)
                })
                .collect();
            Node::concatenate(inputs, axis).unwrap()
        })
}

fn inline() -> impl Strategy<Value = Node> {
    (elementwise(), prop::collection::vec(axis_lengths(), 0..=3)).prop_map(|(e, lengths)| {
        let program = matches!(e.layer(), Layer::Blockwise(b) if b.new_axes.is_empty());
        Node::inline(if program { e } else { full(grid_of(&lengths)) }).unwrap()
    })
}

struct NoStore;

impl RegionReader for NoStore {
    fn read(&self, _: &[Range<u64>]) -> Result<DynArray, StoreError> {
        unreachable!("the mapping reads nothing")
    }
}

/// The sources that `source` does not make.
fn other_source() -> impl Strategy<Value = Node> {
    (0u8..3, prop::collection::vec(axis_lengths(), 0..=3)).prop_map(|(kind, lengths)| {
        let grid = grid_of(&lengths);
        match kind {
            0 => {
                let shape: Vec<usize> = grid.shape().iter().map(|&s| s as usize).collect();
                let data = DynArray::full(DType::F64, &shape, Scalar::F64(2.0));
                Node::from_array(data, grid).unwrap()
            }
            1 => {
                let grid = ChunkGrid::new(vec![grid
                    .axes()
                    .first()
                    .cloned()
                    .unwrap_or_else(|| AxisChunks::from_lengths(&[2, 3]))]);
                Node::arange(grid, DType::F64, 0.0, 1.0).unwrap()
            }
            _ => {
                let source = Stored {
                    location: "nowhere".into(),
                    format: "none".into(),
                    shape: grid.shape(),
                    store_chunks: grid.axes().iter().map(|c| c.max_chunk()).collect(),
                    dtype: DType::F64,
                    reader: Arc::new(NoStore),
                };
                Node::read(grid, source, None).unwrap()
            }
        }
    })
}

fn task_fn() -> TaskFn {
    TaskFn {
        name: "f".into(),
        f: Arc::new(|_| Ok(Arc::new(0u8))),
    }
}

/// A task reading whole arrays and other tasks, or an array made of tasks.
fn delayed() -> impl Strategy<Value = Node> {
    (
        any::<bool>(),
        prop::collection::vec(axis_lengths(), 0..=3),
        prop::collection::vec(any::<bool>(), 0..=3),
    )
        .prop_map(|(from_delayed, lengths, args)| {
            let grid = grid_of(&lengths);
            if from_delayed {
                let parts = (0..grid.total_blocks())
                    .map(|_| Node::task(task_fn(), vec![]))
                    .collect();
                return Node::from_delayed(parts, grid, DType::F64).unwrap();
            }
            let args = args
                .iter()
                .map(|&array| {
                    TaskArg::Node(if array {
                        full(grid.clone())
                    } else {
                        Node::task(task_fn(), vec![TaskArg::Value(Arc::new(1u8))])
                    })
                })
                .chain([TaskArg::Value(Arc::new(2u8))])
                .collect();
            Node::task(task_fn(), args)
        })
}

// ---- The two views --------------------------------------------------------------------

/// A box of `nb` from per-axis picks: `lo..=hi` between two picked blocks.
fn pick_box(nb: &[u64], picks: &[(u64, u64)]) -> BlockBox {
    nb.iter()
        .zip(picks)
        .map(|(&n, &(a, b))| {
            let (a, b) = (a % n, b % n);
            a.min(b)..a.max(b) + 1
        })
        .collect()
}

/// `None` for a box without blocks.
fn nonempty(b: BlockBox) -> Option<BlockBox> {
    b.iter().all(|r| r.start < r.end).then_some(b)
}

/// The box-level mapping of box `b` of `n`, per input of `n` (`None`: no block of it).
fn box_level(n: &Node, b: &[Range<u64>]) -> Vec<Option<BlockBox>> {
    let inputs = n.inputs();
    let mut out = vec![None; inputs.len()];
    // Entries are in input order (for from_delayed, a subsequence).
    let mut next = 0;
    for (m, mb) in input_boxes(n, b) {
        let k = (next..inputs.len())
            .find(|&k| inputs[k].id() == m.id())
            .expect("input_boxes names inputs in order");
        out[k] = nonempty(mb);
        next = k + 1;
    }
    out
}

/// The stages of `n`, as lowering makes them (input stage ids are placeholders).
fn stages(n: &Node) -> Vec<Stage> {
    let mut out: Vec<Stage> = vec![];
    for (op, nblocks) in plan_stages(n).stages {
        let (inputs, input_nblocks) = match out.last() {
            None => {
                let deps = n.dep_nodes();
                let nb = deps.iter().map(|m| m.chunks().num_blocks()).collect();
                ((0..deps.len() as u32).collect(), nb)
            }
            Some(prev) => (vec![0], vec![prev.nblocks.clone()]),
        };
        out.push(Stage::new(n.clone(), op, nblocks, inputs, input_nblocks));
    }
    out
}

fn blocks_of(b: &[Range<u64>]) -> Vec<Vec<u64>> {
    let mut out = vec![];
    odometer(b, &mut vec![], |c| out.push(c.to_vec()));
    out
}

fn grow(bbox: &mut Option<BlockBox>, c: &[u64]) {
    match bbox {
        None => *bbox = Some(c.iter().map(|&x| x..x + 1).collect()),
        Some(b) => {
            for (r, &x) in b.iter_mut().zip(c) {
                *r = r.start.min(x)..r.end.max(x + 1);
            }
        }
    }
}

/// Per direct input of `stage`: the bounding box of the blocks that `blocks` read.
fn block_level(stage: &Stage, ninputs: usize, blocks: &[Vec<u64>]) -> Vec<Option<BlockBox>> {
    let mut out = vec![None; ninputs];
    let mut scratch = Scratch::default();
    for c in blocks {
        stage.for_each_input(c, &mut scratch, |slot, ic| grow(&mut out[slot], ic));
    }
    out
}

/// The blocks of the previous stage that `blocks` of `stage` read (one input).
fn step_down(stage: &Stage, blocks: &[Vec<u64>]) -> Vec<Vec<u64>> {
    let mut out = std::collections::BTreeSet::new();
    let mut scratch = Scratch::default();
    for c in blocks {
        stage.for_each_input(c, &mut scratch, |slot, ic| {
            assert_eq!(slot, 0, "a reduction step reads one input");
            out.insert(ic.to_vec());
        });
    }
    out.into_iter().collect()
}

/// The element range of blocks `r` of `c` (empty for empty blocks).
fn elements(c: &AxisChunks, r: &Range<u64>) -> Range<u64> {
    c.range(r.start).start..c.range(r.end - 1).end
}

/// The blocks of `c` holding the positions `ps` (`None`: no position).
fn blocks_holding(c: &AxisChunks, ps: impl IntoIterator<Item = u64>) -> Option<Range<u64>> {
    ps.into_iter().map(|p| c.block_of(p)).fold(None, |acc, b| {
        Some(acc.map_or(b..b + 1, |r: Range<u64>| r.start.min(b)..r.end.max(b + 1)))
    })
}

/// A third view, from elements: per input, per axis, the blocks holding the input elements
/// that the elements of box `b` read, written from the layers' definitions without either
/// mapping. `None` where it has nothing to say: other layer kinds, or a box with an axis
/// of no element.
fn element_level(n: &Node, b: &[Range<u64>]) -> Option<Vec<Option<BlockBox>>> {
    let out: Vec<Range<u64>> = n
        .chunks()
        .axes()
        .iter()
        .zip(b)
        .map(|(c, r)| elements(c, r))
        .collect();
    if out.iter().any(|r| r.is_empty()) {
        return None;
    }
    // An input is read when every axis of it is.
    let whole = |axes: Vec<Option<Range<u64>>>| -> Option<BlockBox> { axes.into_iter().collect() };
    let boxes = match n.layer() {
        Layer::Blockwise(bw) => bw
            .inputs
            .iter()
            .map(|(m, ind)| {
                whole(
                    ind.iter()
                        .zip(m.chunks().axes())
                        .map(|(s, c)| match bw.out_ind.iter().position(|t| t == s) {
                            // Broadcast: the one element.
                            Some(_) if c.len() == 1 => Some(0..1),
                            Some(p) => blocks_holding(c, out[p].clone()),
                            // Contracted: every element.
                            None => Some(0..c.num_blocks()),
                        })
                        .collect(),
                )
            })
            .collect(),
        Layer::Reduction(r) => {
            let kept: Vec<usize> = (0..r.input.ndim())
                .filter(|a| r.keepdims || !r.axes.contains(a))
                .collect();
            let axes = r.input.chunks().axes().iter().enumerate().map(|(a, c)| {
                if r.axes.contains(&a) {
                    Some(0..c.num_blocks())
                } else {
                    let o = kept.iter().position(|&k| k == a).unwrap();
                    blocks_holding(c, out[o].clone())
                }
            });
            vec![whole(axes.collect())]
        }
        Layer::Slice { input, items } => {
            let mut axes = vec![];
            let mut o = 0;
            for item in items {
                let c = || input.chunks().axis(axes.len());
                match *item {
                    SliceItem::NewAxis => o += 1,
                    SliceItem::Index { index } => axes.push(blocks_holding(c(), [index])),
                    SliceItem::Range { start, step, .. } => {
                        let ps = out[o]
                            .clone()
                            .map(|e| (start as i64 + step * e as i64) as u64);
                        axes.push(blocks_holding(c(), ps));
                        o += 1;
                    }
                }
            }
            vec![whole(axes)]
        }
        Layer::Rechunk { input } => {
            let axes = input.chunks().axes().iter().zip(&out);
            vec![whole(
                axes.map(|(c, r)| blocks_holding(c, r.clone())).collect(),
            )]
        }
        Layer::Transpose { input, perm } => {
            let mut axes = vec![None; perm.len()];
            for (i, &p) in perm.iter().enumerate() {
                axes[p] = blocks_holding(input.chunks().axis(p), out[i].clone());
            }
            vec![whole(axes)]
        }
        Layer::Concatenate { inputs, axis } => {
            let mut offset = 0;
            inputs
                .iter()
                .map(|m| {
                    let len = m.chunks().axis(*axis).len();
                    let axes = m.chunks().axes().iter().enumerate().map(|(a, c)| {
                        let r = &out[a];
                        if a == *axis {
                            let mine = r.start.max(offset)..r.end.min(offset + len);
                            blocks_holding(c, mine.map(|e| e - offset))
                        } else {
                            blocks_holding(c, r.clone())
                        }
                    });
                    let b = whole(axes.collect());
                    offset += len;
                    b
                })
                .collect()
        }
        _ => return None,
    };
    Some(boxes)
}

/// Checks both views on box `b` of `n`: through every stage of `n`, down to the stage that
/// reads its inputs.
fn check(n: &Node, picks: &[(u64, u64)]) -> Result<(), TestCaseError> {
    let b = pick_box(&n.chunks().num_blocks(), picks);
    let expected = box_level(n, &b);
    let stages = stages(n);
    let (first, rest) = stages.split_first().expect("a layer has a stage");
    let mut blocks = blocks_of(&b);
    for s in rest.iter().rev() {
        blocks = step_down(s, &blocks);
    }
    if !rest.is_empty() {
        // The reduction tree reads every block of the input box (not only its corners).
        let want = expected[0].as_ref().map_or(0, |ib| blocks_of(ib).len());
        prop_assert_eq!(blocks.len(), want, "{} box {:?}", n.label(), b);
    }
    let got = block_level(first, n.inputs().len(), &blocks);
    prop_assert_eq!(
        &got,
        &expected,
        "{} ({:?}) box {:?}",
        n.label(),
        first.op,
        b
    );
    if let Some(spec) = element_level(n, &b) {
        prop_assert_eq!(&expected, &spec, "{} box {:?}: elements", n.label(), b);
    }
    Ok(())
}

fn picks() -> impl Strategy<Value = Vec<(u64, u64)>> {
    prop::collection::vec((any::<u64>(), any::<u64>()), 8)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn sources(n in other_source(), p in picks()) {
        check(&n, &p)?;
    }

    #[test]
    fn random_full_inline_sources(kind in any::<u8>(), l in prop::collection::vec(axis_lengths(), 0..=3), p in picks()) {
        check(&source(kind, &l), &p)?;
    }

    #[test]
    fn elementwise_with_broadcasting(n in elementwise(), p in picks()) {
        check(&n, &p)?;
    }

    #[test]
    fn contractions(n in contraction(), p in picks()) {
        check(&n, &p)?;
    }

    #[test]
    fn reductions(n in reduction(), p in picks()) {
        check(&n, &p)?;
    }

    /// The per-chunk step of a reduction reads the input block of its own block.
    #[test]
    fn reduce_chunk_stage(n in reduction(), p in picks()) {
        let Layer::Reduction(r) = n.layer() else { unreachable!() };
        let stages = stages(&n);
        prop_assert_eq!(stages[0].op, StageOp::ReduceChunk);
        let b = pick_box(&r.input.chunks().num_blocks(), &p);
        let got = block_level(&stages[0], 1, &blocks_of(&b));
        prop_assert_eq!(got, vec![Some(b)]);
    }

    #[test]
    fn slices(n in slice(), p in picks()) {
        check(&n, &p)?;
    }

    #[test]
    fn rechunks(n in rechunk(), p in picks()) {
        check(&n, &p)?;
    }

    #[test]
    fn transposes(n in transpose(), p in picks()) {
        check(&n, &p)?;
    }

    #[test]
    fn concatenations(n in concatenate(), p in picks()) {
        check(&n, &p)?;
    }

    #[test]
    fn inlined(n in inline(), p in picks()) {
        check(&n, &p)?;
    }

    #[test]
    fn tasks_and_from_delayed(n in delayed(), p in picks()) {
        check(&n, &p)?;
    }
}

/// An input with no element along the axis has one (empty) block, which the joined grid
/// does not have (it drops empty chunks): `Node::concatenate` leaves such inputs out, so the
/// mappings never count that block (they once read every later block one block off).
#[test]
#[allow(clippy::single_range_in_vec_init)] // one axis: a box of one range
fn concatenate_leaves_out_inputs_empty_along_the_axis() {
    let e = full(grid_of(&[vec![]]));
    let x = full(grid_of(&[vec![2, 3]]));
    let n = Node::concatenate(vec![e.clone(), x, e], 0).unwrap();
    assert_eq!(n.chunks().num_blocks(), vec![2]);
    assert_eq!(n.inputs().len(), 1);
    let b = vec![1..2];
    let (spec, boxes) = (element_level(&n, &b).unwrap(), box_level(&n, &b));
    assert_eq!(spec, vec![Some(vec![1..2])]);
    assert_eq!(boxes, spec);
}
