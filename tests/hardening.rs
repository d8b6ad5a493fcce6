//! Hostile inputs (issue 15, item 1): sizes that overflow, huge grids and steps. Each one
//! must give a typed error naming the problem (or the right answer), never a panic, an
//! abort or unbounded work before the sizes are checked.

use chunkwise::compute::{compute_nodes, ComputeOptions};
use chunkwise::{Error, PassManager};
use chunkwise_ir::program::{BinaryOp, Program};
use chunkwise_ir::slice::SliceItem;
use chunkwise_ir::{serial, Blockwise, ChunkGrid, DType, IrError, Kernel, Node, Scalar};
use chunkwise_passes::LowerError;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn arange(len: u64, chunk: u64) -> Node {
    Node::arange(
        ChunkGrid::regular(&[len], &[chunk]).unwrap(),
        DType::F64,
        0.0,
        1.0,
    )
    .unwrap()
}

fn no_passes() -> ComputeOptions<'static> {
    static NONE: std::sync::OnceLock<PassManager> = std::sync::OnceLock::new();
    ComputeOptions {
        passes: Some(NONE.get_or_init(PassManager::none)),
        ..ComputeOptions::default()
    }
}

fn add1(x: Node, out_ind: &[u8], ind: &[u8], new_axes: Vec<(u8, u64)>) -> Result<Node, IrError> {
    let p = Program::build(vec![DType::F64], |b, i| {
        let one = b.constant(1.0f64.into());
        b.binary(BinaryOp::Add, i[0], one)
    })
    .unwrap();
    Node::blockwise(Blockwise {
        out_ind: out_ind.to_vec(),
        inputs: vec![(x, ind.to_vec())],
        new_axes,
        kernel: Kernel::Program(Arc::new(p)),
    })
}

// ----- 1. more tasks than u32 ids -----

#[test]
fn lowering_2_pow_62_tasks_is_refused_with_the_count() {
    let x = arange(u64::MAX, 4);
    let start = Instant::now();
    let e = chunkwise_passes::lower(std::slice::from_ref(&x)).unwrap_err();
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert!(
        matches!(e, LowerError::TooManyTasks { tasks, .. } if tasks == 1 << 62),
        "{e:?}"
    );
    let msg = e.to_string();
    assert!(msg.contains(&(1u64 << 62).to_string()), "{msg}");
    assert!(
        msg.contains(&chunkwise_passes::lower::DEFAULT_MAX_TASKS.to_string()),
        "{msg}"
    );
    assert!(msg.contains("larger chunks"), "{msg}");
    // Through the facade: a typed error, not a panic.
    let e = compute_nodes(&[x], &no_passes()).unwrap_err();
    assert!(
        matches!(e, Error::Lower(LowerError::TooManyTasks { .. })),
        "{e}"
    );
}

#[test]
fn last_block_of_an_axis_ending_at_u64_max_has_the_right_range() {
    let g = ChunkGrid::regular(&[u64::MAX], &[4]).unwrap();
    let a = g.axis(0);
    assert_eq!(a.num_blocks(), 1 << 62);
    assert_eq!(a.range((1 << 62) - 1), u64::MAX - 3..u64::MAX);
    let g = ChunkGrid::regular(&[u64::MAX], &[1 << 63]).unwrap();
    assert_eq!(g.axis(0).range(1), 1 << 63..u64::MAX);
}

// ----- 2. slices with huge steps -----

#[test]
fn huge_step_slice_that_wraps_around_is_refused() {
    let x = arange(20, 4);
    // 19, 19 + (2^63 - 1), 19 + 2 (2^63 - 1) = 2^64 + 17: only the first is on the axis
    // (the last one "fits" when truncated to 64 bits).
    for count in [2, 3] {
        let e = Node::slice(
            x.clone(),
            vec![SliceItem::Range {
                start: 19,
                step: i64::MAX,
                count,
            }],
        )
        .unwrap_err();
        assert!(matches!(e, IrError::InvalidSlice(_)), "{e}");
        assert!(
            e.to_string().contains("does not fit axis 0 of length 20"),
            "{e}"
        );
    }
    // The same through a graph file.
    let json = r#"{"format": "chunkwise-graph", "version": 1, "nodes": [
        {"op": "arange", "dtype": "f64", "shape": [20], "chunks": [4], "start": 0.0, "step": 1.0},
        {"op": "slice", "input": 0, "items": [{"kind": "range", "start": 19, "step": 9223372036854775807, "count": 3}]}],
        "outputs": [1]}"#;
    let e = serial::from_json(json).unwrap_err();
    assert!(e.to_string().contains("does not fit axis 0"), "{e}");
    // Large negative steps too: 0 - 2 * 2^63 wraps to 0.
    let e = Node::slice(
        x,
        vec![SliceItem::Range {
            start: 0,
            step: i64::MIN,
            count: 3,
        }],
    )
    .unwrap_err();
    assert!(matches!(e, IrError::InvalidSlice(_)), "{e}");
}

#[test]
fn huge_step_slice_is_computed_like_numpy() {
    // x[19::2**63-1] is [x[19]]; x[0::-(2**63)] is [x[0]]; x[19::-(2**63)] is [x[19]].
    let x = chunkwise::Array::arange(0.0, 20.0, 1.0, 4).unwrap();
    for (start, step, want) in [(19, i64::MAX, 19), (0, i64::MIN, 0), (19, i64::MIN, 19)] {
        let arg = chunkwise::SliceArg::Range {
            start: Some(start),
            stop: None,
            step: Some(step),
        };
        let y = x.slice(&[arg]).unwrap();
        let v = y.compute::<i64>().unwrap();
        assert_eq!(
            v.iter().copied().collect::<Vec<_>>(),
            vec![want],
            "{start} {step}"
        );
    }
}

// ----- 3. a new axis too long for one block -----

#[test]
fn huge_new_axis_is_refused_at_construction() {
    let x = Node::full(
        ChunkGrid::regular(&[1], &[1]).unwrap(),
        DType::F64,
        Scalar::F64(0.0),
    )
    .unwrap();
    let x4 = Node::full(
        ChunkGrid::regular(&[4], &[4]).unwrap(),
        DType::F64,
        Scalar::F64(0.0),
    )
    .unwrap();
    // 2^64 - 1 elements; 4 x (2^64 - 1), which overflows a 64-bit count; 2^62 elements.
    for (x, len) in [(x.clone(), u64::MAX), (x4, u64::MAX), (x, 1 << 62)] {
        let e = add1(x, b"ij", b"i", vec![(b'j', len)]).unwrap_err();
        assert!(matches!(e, IrError::InvalidBlockwise(_)), "{e}");
        let msg = e.to_string();
        assert!(msg.contains(&format!("'j' of length {len}")), "{msg}");
        assert!(msg.contains("elements"), "{msg}");
    }
    // Through a graph file.
    let json = r#"{"format": "chunkwise-graph", "version": 1, "nodes": [
        {"op": "full", "dtype": "f64", "shape": [1], "chunks": [1], "value": 1.0},
        {"op": "blockwise", "out_ind": "ij", "inputs": [[0, "i"]], "new_axes": [["j", 18446744073709551615]],
         "kernel": {"program": {"inputs": ["f64"], "instrs": [{"op": "input", "i": 0}, {"op": "unary", "f": "exp", "a": 0}]}}}],
        "outputs": [1]}"#;
    let e = serial::from_json(json).unwrap_err();
    assert!(e.to_string().contains("node 1"), "{e}");
}

#[test]
fn block_too_large_to_allocate_is_a_task_error() {
    // Within the IR's bound (2^60 - 1 elements), but 2^63 - 8 bytes: no allocator gives
    // that, and the task fails with an error (no panic, no abort), with or without passes.
    let x = Node::full(
        ChunkGrid::regular(&[1], &[1]).unwrap(),
        DType::F64,
        Scalar::F64(0.0),
    )
    .unwrap();
    let y = add1(x, b"ij", b"i", vec![(b'j', (1 << 60) - 1)]).unwrap();
    for opts in [no_passes(), ComputeOptions::default()] {
        let e = compute_nodes(std::slice::from_ref(&y), &opts).unwrap_err();
        assert!(matches!(e, Error::Task { .. }), "{e}");
        assert!(e.to_string().contains("too large to allocate"), "{e}");
    }
}

// ----- 4. chunk lengths that overflow when summed -----

#[test]
fn chunk_lengths_that_overflow_are_refused() {
    let json = r#"{"format": "chunkwise-graph", "version": 1, "nodes": [
        {"op": "full", "dtype": "f64", "shape": [5], "chunks": [[18446744073709551615, 6]], "value": 1.0}],
        "outputs": [0]}"#;
    let e = serial::from_json(json).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("node 0") && msg.contains("axis 0"), "{msg}");
    assert!(msg.contains("overflow"), "{msg}");
    let e = ChunkGrid::explicit(&[5], &[vec![u64::MAX, 6]]).unwrap_err();
    assert!(matches!(e, IrError::InvalidChunks(_)), "{e}");
    assert!(e.to_string().contains("overflow"), "{e}");
    // A from_array whose shape's product overflows.
    let json = r#"{"format": "chunkwise-graph", "version": 1, "nodes": [
        {"op": "from_array", "dtype": "f64", "shape": [4294967296, 4294967296, 2], "chunks": [1, 1, 1], "data": [1.0, 2.0]}],
        "outputs": [0]}"#;
    let e = serial::from_json(json).unwrap_err();
    assert!(e.to_string().contains("node 0"), "{e}");
}

// ----- 5. concatenating inputs of huge chunk counts -----

#[test]
fn concatenating_huge_uniform_inputs_stays_uniform() {
    // ~3e14 chunks per input: the joined axis must not list its chunks.
    let len = 3_000_000_000_000_000u64;
    let a = arange(len, 10);
    let start = Instant::now();
    let c = Node::concatenate(vec![a.clone(), a.clone()], 0).unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(c.shape(), vec![2 * len]);
    assert_eq!(c.chunks().axis(0).num_blocks(), 2 * len / 10);
    assert_eq!(c.chunks(), &ChunkGrid::regular(&[2 * len], &[10]).unwrap());
    // Ragged last chunks in the middle: the joined axis is irregular, and too long to list.
    let b = arange(len + 3, 10);
    let e = Node::concatenate(vec![b.clone(), a.clone()], 0).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains(&(len / 10 * 2 + 1).to_string()), "{msg}");
    // A ragged last chunk at the end is fine.
    let c = Node::concatenate(vec![a.clone(), b], 0).unwrap();
    assert_eq!(c.chunks().axis(0).num_blocks(), len / 10 * 2 + 1);
    // Lengths that overflow the axis.
    let big = arange(u64::MAX / 2 + 1, 1 << 40);
    let e = Node::concatenate(vec![big.clone(), big], 0).unwrap_err();
    assert!(e.to_string().contains("overflow"), "{e}");
    // Through a graph file (as `chunkwise dump` reads it).
    let json = r#"{"format": "chunkwise-graph", "version": 1, "nodes": [
        {"op": "arange", "dtype": "f64", "shape": [3000000000000000], "chunks": [10], "start": 0.0, "step": 1.0},
        {"op": "concatenate", "inputs": [0, 0, 0], "axis": 0}],
        "outputs": [1]}"#;
    let out = serial::from_json(json).unwrap();
    assert_eq!(out[0].shape(), vec![3 * len]);
}

#[test]
fn concatenate_keeps_the_old_chunks_for_small_inputs() {
    let g = |l: &[u64]| {
        Node::full(
            ChunkGrid::explicit(&[l.iter().sum()], &[l.to_vec()]).unwrap(),
            DType::F64,
            Scalar::F64(0.0),
        )
        .unwrap()
    };
    let c = Node::concatenate(vec![g(&[2, 5, 5]), g(&[0]), g(&[5, 3])], 0).unwrap();
    assert_eq!(c.chunks().axis(0).lengths(), vec![2, 5, 5, 5, 3]);
    assert_eq!(
        c.chunks(),
        &ChunkGrid::explicit(&[20], &[vec![2, 5, 5, 5, 3]]).unwrap()
    );
    let c = Node::concatenate(vec![g(&[5, 2]), g(&[5])], 0).unwrap();
    assert_eq!(c.chunks().axis(0).lengths(), vec![5, 2, 5]);
}

// ----- 2. no unbounded work before the first check -----

#[test]
fn a_graph_of_too_many_tasks_is_refused_from_its_estimate_before_lowering() {
    use chunkwise::Array;
    // 2^40 chunks summed: about 1.5 * 2^40 tasks, refused in well under a second.
    let x = Array::zeros(&[1 << 50], &[1 << 10], DType::F64).unwrap();
    let y = x.sum(None, false).unwrap();
    let t = Instant::now();
    match y.compute::<f64>() {
        Err(Error::Lower(LowerError::TooManyTasks { tasks, limit, .. })) => {
            assert!(tasks > 1 << 40, "{tasks}");
            assert_eq!(limit, chunkwise_passes::lower::DEFAULT_MAX_TASKS);
        }
        other => panic!("expected TooManyTasks, got {other:?}"),
    }
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    // The limit is the caller's to set.
    let small = Array::zeros(&[100], &[10], DType::F64)
        .unwrap()
        .sum(None, false)
        .unwrap();
    let opts = ComputeOptions {
        max_tasks: Some(5),
        ..ComputeOptions::default()
    };
    let e = small.compute_with::<f64>(&opts).unwrap_err();
    assert!(e.to_string().contains("more than the limit of 5"), "{e}");
    assert_eq!(small.compute::<f64>().unwrap()[[]], 0.0);
}

#[test]
fn the_cost_model_counts_reduction_trees_over_huge_axes_without_overflow() {
    // Found by tests/fuzz_graphs.rs: the tree levels' block counts were multiplied
    // unchecked ("attempt to multiply with overflow" in stats::tasks).
    let json = r#"{"format":"chunkwise-graph","version":1,"nodes":[{"op":"random","dtype":"f64","shape":[3,4,18446744073709551615],"chunks":[1,2,2],"seed":8,"dist":{"kind":"uniform","low":0.0,"high":1.0}},{"op":"reduction","input":0,"reduce":{"op":"all"},"axes":[0,2],"keepdims":true,"split_every":5}],"outputs":[1]}"#;
    let nodes = serial::from_json(json).unwrap();
    let s = chunkwise_passes::stats::stats(&nodes);
    assert_eq!(s.tasks, u64::MAX);
    assert!(matches!(
        chunkwise_passes::lower(&nodes),
        Err(LowerError::TooManyTasks { .. })
    ));
}
