//! The CPU backend: chunks are `ndarray` arrays in host memory; one kernel per op family.
//!
//! [`execute`] computes one task (one block of one stage) from its input values, in the
//! order given by [`Stage::for_each_input`].

mod cmath;
pub mod contract;
pub mod gather;
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
mod mvec;
pub mod num;
pub mod program;
pub mod reduce;
pub mod sources;
pub mod vmath;

use crate::{Backend, KernelError, Location, MemoryInfo, Value};
use chunkwise_ir::delayed::{AnyValue, TaskArg, TaskLayer};
use chunkwise_ir::grid::unravel_into;
use chunkwise_ir::slice::SliceItem;
use chunkwise_ir::task::{inline_inputs, Scratch};
use chunkwise_ir::{
    with_array, DynArray, Element, Kernel, KernelCall, Layer, Node, Stage, StageOp,
};
use ndarray::{Axis, IxDyn};
use std::cell::RefCell;
use std::ops::Range;
use std::sync::Arc;

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// The vector math the unary float functions (other than `exp` of f64, `sqrt` and `abs`,
/// always vectorized) use on this machine: `"libmvec (AVX2)"` where glibc's libmvec loaded
/// and the CPU has AVX2 and FMA, else `"scalar libm"`. For labelling benchmark results.
///
/// ```
/// let math = chunkwise_backends::cpu::vector_math();
/// assert!(math == "libmvec (AVX2)" || math == "scalar libm");
/// ```
pub fn vector_math() -> &'static str {
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    if mvec::loaded() {
        return "libmvec (AVX2)";
    }
    "scalar libm"
}

fn array(v: &Value) -> Result<&DynArray, KernelError> {
    v.as_array()
        .ok_or_else(|| KernelError::BadInput(format!("expected an array chunk, got {v:?}")))
}

fn state(v: &Value) -> Result<&[DynArray], KernelError> {
    match v {
        Value::State(s) => Ok(s),
        other => Err(KernelError::BadInput(format!(
            "expected a reduction state, got {other:?}"
        ))),
    }
}

/// Aligns an input block to the output axes of a blockwise layer: axes permuted into output
/// order, length-1 axes inserted for output symbols the input lacks.
fn align(x: &DynArray, ind: &[u8], out_ind: &[u8]) -> DynArray {
    with_array!(x, a => {
        let perm: Vec<usize> = out_ind
            .iter()
            .filter_map(|s| ind.iter().position(|t| t == s))
            .collect();
        let mut v = a.clone().permuted_axes(IxDyn(&perm));
        for (k, s) in out_ind.iter().enumerate() {
            if !ind.contains(s) {
                v.insert_axis_inplace(Axis(k));
            }
        }
        Element::wrap(v)
    })
}

/// A part of a block: elements `range` along axis `axis` (relative to the block's start).
type Part = Option<(usize, Range<usize>)>;

/// The block at `coords` of a source layer (`None` for other layers), or only `part` of it.
fn source_block(node: &Node, coords: &[u64], part: &Part) -> Result<Option<DynArray>, KernelError> {
    let ranges = || {
        let mut r = node.chunks().block_ranges(coords);
        if let Some((ax, sub)) = part {
            let start = r[*ax].start;
            r[*ax] = start + sub.start as u64..start + sub.end as u64;
        }
        r
    };
    Ok(Some(match node.layer() {
        Layer::FromArray { data } => sources::from_array(data, &ranges()),
        Layer::Full { value } => {
            let shape: Vec<usize> = ranges()
                .iter()
                .map(|r| (r.end - r.start) as usize)
                .collect();
            DynArray::full(node.dtype(), &shape, *value)
        }
        Layer::Random { seed, dist, window } => {
            let counters = sources::Counters::new(&node.shape(), window.as_ref());
            sources::random(node.dtype(), *seed, *dist, &counters, &ranges())
        }
        Layer::Read { source, window } => sources::read(source, window.as_ref(), &ranges())?,
        Layer::Arange { start, step } => {
            sources::arange(node.dtype(), *start, *step, ranges()[0].clone())
        }
        _ => return Ok(None),
    }))
}

/// `part` of a block of `x` (a view).
fn part_of(x: &DynArray, part: &Part) -> DynArray {
    match part {
        None => x.clone(),
        Some((ax, r)) => with_array!(x, a => {
            let mut v = a.clone();
            v.slice_axis_inplace(Axis(*ax), ndarray::Slice::from(r.clone()));
            Element::wrap(v)
        }),
    }
}

/// The part of a blockwise layer's input (indices `ind`, shape `in_shape`) that `part` of the
/// layer's block (indices `out_ind`, shape `out_shape`) reads: the same range along the same
/// axis, unless the input is broadcast along it.
fn input_part(
    part: &Part,
    ind: &[u8],
    out_ind: &[u8],
    in_shape: &[u64],
    out_shape: &[u64],
) -> Part {
    let (ax, r) = part.as_ref()?;
    let at = ind.iter().position(|s| *s == out_ind[*ax])?;
    (in_shape[at] > 1 || out_shape[*ax] <= 1).then(|| (at, r.clone()))
}

/// Block `coords` of the inlined layer `n` ([`Layer::Inline`]), or only `part` of it,
/// computed from the task's dependencies `deps`, read from position `*cursor` on in
/// [`Stage::for_each_dep`] order.
fn eval_inline(
    n: &Node,
    coords: &[u64],
    part: &Part,
    deps: &[Value],
    cursor: &mut usize,
) -> Result<DynArray, KernelError> {
    let Layer::Inline { input } = n.layer() else {
        let v = deps
            .get(*cursor)
            .ok_or_else(|| KernelError::BadInput("missing input block".into()))?;
        *cursor += 1;
        return Ok(part_of(array(v)?, part));
    };
    if let Some(block) = source_block(input, coords, part)? {
        return Ok(block);
    }
    let cannot = || KernelError::BadInput(format!("cannot inline {}", input.label()));
    let Layer::Blockwise(b) = input.layer() else {
        return Err(cannot());
    };
    let Kernel::Program(p) = &b.kernel else {
        return Err(cannot());
    };
    let mut args = Vec::with_capacity(b.inputs.len());
    let mut err = None;
    inline_inputs(input, coords, |k, m, c| {
        if err.is_some() {
            return;
        }
        let ind = &b.inputs[k].1;
        let sub = input_part(part, ind, &b.out_ind, &m.shape(), &input.shape());
        match eval_inline(m, c, &sub, deps, cursor) {
            Ok(a) => args.push(align(&a, ind, &b.out_ind)),
            Err(e) => err = Some(e),
        }
    });
    if let Some(e) = err {
        return Err(e);
    }
    let mut shape = input.chunks().block_shape(coords);
    if let Some((ax, r)) = part {
        shape[*ax] = r.len();
    }
    program::eval(p, &args, &shape)
}

/// The values of a stage's direct inputs (see [`Stage::for_each_input`]) from its
/// dependencies, computing inlined inputs in the task.
fn direct_inputs(
    stage: &Stage,
    coords: &[u64],
    part: &Part,
    deps: &[Value],
) -> Result<Vec<Value>, KernelError> {
    let mut out = Vec::new();
    let mut cursor = 0;
    let mut err = None;
    // The thread's scratch buffers, taken for the walk (inlined layers do not use them).
    let mut scratch = SCRATCH.with(|s| std::mem::take(&mut *s.borrow_mut()));
    stage.for_each_input(coords, &mut scratch, |slot, c| {
        if err.is_some() {
            return;
        }
        // Parts are only asked of blockwise stages, where `slot` is the input's position.
        let sub = match (part, stage.node.layer()) {
            (Some(_), Layer::Blockwise(b)) => {
                let (m, ind) = &b.inputs[slot];
                input_part(part, ind, &b.out_ind, &m.shape(), &stage.node.shape())
            }
            _ => None,
        };
        let r = match stage.inlined(slot) {
            Some(n) => eval_inline(n, c, &sub, deps, &mut cursor).map(Value::Array),
            None => {
                cursor += 1;
                let v = deps
                    .get(cursor - 1)
                    .ok_or_else(|| KernelError::BadInput("missing input block".into()));
                match (v, &sub) {
                    (Ok(v), Some(_)) => array(v).map(|a| Value::Array(part_of(a, &sub))),
                    (v, _) => v.cloned(),
                }
            }
        };
        match r {
            Ok(v) => out.push(v),
            Err(e) => err = Some(e),
        }
    });
    SCRATCH.with(|s| *s.borrow_mut() = scratch);
    match err {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// Whether computing the inlined node `n` reads a stored array. Such inputs are not split
/// into slabs: a slab of a stored chunk costs the decoding of the whole chunk.
fn reads_storage(n: &Node) -> bool {
    match n.layer() {
        Layer::Read { .. } => true,
        _ => n.inputs().into_iter().any(reads_storage),
    }
}

/// A blockwise layer's input blocks, aligned to its output's axes.
fn aligned(b: &chunkwise_ir::Blockwise, inputs: &[Value]) -> Result<Vec<DynArray>, KernelError> {
    b.inputs
        .iter()
        .zip(inputs)
        .map(|((_, ind), v)| Ok(align(array(v)?, ind, &b.out_ind)))
        .collect()
}

/// A program stage with inlined inputs (root or elementwise fusion) whose block spans more
/// than two [`SLAB_BYTES`] slabs along axis 0: computes its inputs slab by slab into one
/// output block, so no whole block of an inlined input (a source's block, say, before a
/// cast) is ever allocated. `None` for other stages.
fn sliced_program(
    stage: &Stage,
    coords: &[u64],
    deps: &[Value],
) -> Result<Option<DynArray>, KernelError> {
    let Layer::Blockwise(b) = stage.node.layer() else {
        return Ok(None);
    };
    let Kernel::Program(p) = &b.kernel else {
        return Ok(None);
    };
    let shape = stage.node.chunks().block_shape(coords);
    let Some(&len) = shape.first() else {
        return Ok(None);
    };
    let rows = (SLAB_BYTES / (shape[1..].iter().product::<usize>().max(1) * 8)).max(1);
    if 2 * rows > len || stage.direct_inlined().any(reads_storage) {
        return Ok(None);
    }
    program::eval_slabs(p, &shape, rows, |r| {
        aligned(b, &direct_inputs(stage, coords, &Some((0, r)), deps)?)
    })
    .map(Some)
}

/// The CPU backend: values in host memory, every stage computed by [`execute`].
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuBackend;

impl Backend for CpuBackend {
    fn name(&self) -> &'static str {
        "cpu"
    }

    fn execute(&self, stage: &Stage, block: u64, inputs: &[Value]) -> Result<Value, KernelError> {
        execute(stage, block, inputs)
    }

    /// Host memory; its size and free bytes from `/proc/meminfo` where there is one.
    fn memory(&self) -> MemoryInfo {
        let info = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let field = |name: &str| {
            info.lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|rest| {
                    rest.trim()
                        .trim_end_matches("kB")
                        .trim()
                        .parse::<u64>()
                        .ok()
                })
                .map(|kb| kb.saturating_mul(1024))
        };
        MemoryInfo {
            location: Location::Host,
            total: field("MemTotal:"),
            available: field("MemAvailable:"),
        }
    }

    /// Every CPU value already is in host memory.
    fn to_host(&self, value: Value) -> Result<Value, KernelError> {
        Ok(value)
    }
}

/// Computes block `block` (linear index in the stage grid) of `stage` from its dependencies
/// (in [`Stage::for_each_dep`] order).
pub fn execute(stage: &Stage, block: u64, deps: &[Value]) -> Result<Value, KernelError> {
    let mut coords = vec![0u64; stage.nblocks.len()];
    unravel_into(block, &stage.nblocks, &mut coords);
    if let Some(state) = sliced_reduce_chunk(stage, &coords, deps)? {
        return Ok(state);
    }
    let direct;
    let inputs = if stage.has_inline() {
        if let Some(arr) = sliced_program(stage, &coords, deps)? {
            return Ok(Value::Array(arr));
        }
        direct = direct_inputs(stage, &coords, &None, deps)?;
        &direct[..]
    } else {
        deps
    };
    let node = &stage.node;
    let out_shape = || node.chunks().block_shape(&coords);
    if let Some(block) = source_block(node, &coords, &None)? {
        return Ok(Value::Array(block));
    }
    let arr = match (node.layer(), stage.op) {
        (
            Layer::FromArray { .. }
            | Layer::Full { .. }
            | Layer::Random { .. }
            | Layer::Read { .. }
            | Layer::Arange { .. },
            _,
        ) => unreachable!("sources are computed above"),
        (Layer::Blockwise(b), _) => match &b.kernel {
            Kernel::Program(p) => program::eval(p, &aligned(b, inputs)?, &out_shape())?,
            Kernel::Contract => {
                let pairs = inputs
                    .chunks(2)
                    .map(|c| match c {
                        [a, b] => Ok((array(a)?, array(b)?)),
                        _ => Err(KernelError::BadInput(
                            "contraction inputs come in pairs".into(),
                        )),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                contract::contract(
                    node.dtype(),
                    &pairs,
                    &b.inputs[0].1,
                    &b.inputs[1].1,
                    &b.out_ind,
                    &out_shape(),
                )?
            }
            Kernel::Named(k) => {
                let arrays = inputs
                    .iter()
                    .map(|v| array(v).cloned())
                    .collect::<Result<Vec<_>, _>>()?;
                let shape = out_shape();
                let r = (k.f)(&KernelCall {
                    inputs: &arrays,
                    block: &coords,
                    shape: &shape,
                })
                .map_err(|message| KernelError::User {
                    name: k.name.clone(),
                    message,
                })?;
                if r.shape() != shape.as_slice() || r.dtype() != k.dtype {
                    return Err(KernelError::User {
                        name: k.name.clone(),
                        message: format!(
                            "returned a {} block of shape {:?}, expected {} {:?}",
                            r.dtype(),
                            r.shape(),
                            k.dtype,
                            shape
                        ),
                    });
                }
                r
            }
        },
        (Layer::Reduction(r), op) => return reduction(stage, r, op, &coords, inputs),
        (Layer::Task(t), _) => return call_task(t, inputs).map(Value::Any),
        (Layer::FromDelayed { parts }, _) => {
            let v = first(inputs)?;
            let part = &parts[chunkwise_ir::grid::ravel(&coords, &stage.nblocks) as usize];
            delayed_block(v, node.dtype(), &out_shape()).map_err(|message| KernelError::User {
                name: part.label(),
                message,
            })?
        }
        (Layer::Slice { .. } | Layer::Rechunk { .. }, _) => {
            let ins = inputs.iter().map(array).collect::<Result<Vec<_>, _>>()?;
            SCRATCH.with(|s| {
                let mut s = s.borrow_mut();
                stage.gather_pieces(&coords, &mut s);
                let pieces = stage.pieces(&s);
                let in_shape: Vec<usize> = pieces
                    .iter()
                    .map(|p| {
                        p.iter()
                            .map(|pc| (pc.out.end - pc.out.start) as usize)
                            .sum()
                    })
                    .collect();
                gather::gather(pieces, &ins, node.dtype(), &in_shape, |a| {
                    finish_slice(node.layer(), a)
                })
            })?
        }
        (Layer::Transpose { perm, .. }, _) => {
            let x = array(first(inputs)?)?;
            with_array!(x, a => Element::wrap(a.clone().permuted_axes(IxDyn(perm))))
        }
        (Layer::Concatenate { .. } | Layer::Inline { .. }, _) => array(first(inputs)?)?.clone(),
    };
    Ok(Value::Array(arr))
}

/// Calls a task's function on its arguments: plain values as they are, task results as
/// they are, arrays assembled from their blocks (dependencies in `for_each_input` order).
fn call_task(t: &TaskLayer, deps: &[Value]) -> Result<AnyValue, KernelError> {
    let mut it = deps.iter();
    let mut missing = || KernelError::BadInput(format!("{}: missing input", t.label()));
    let mut args: Vec<AnyValue> = Vec::with_capacity(t.args.len());
    for a in &t.args {
        args.push(match a {
            TaskArg::Value(v) => v.clone(),
            TaskArg::Node(m) if m.is_task() => match it.next().ok_or_else(&mut missing)? {
                Value::Any(v) => v.clone(),
                Value::Array(x) => Arc::new(x.clone()),
                Value::State(_) | Value::Spilled(_) => return Err(missing()),
            },
            TaskArg::Node(m) => {
                let n = m.chunks().total_blocks() as usize;
                let blocks = it
                    .by_ref()
                    .take(n)
                    .map(|v| array(v).cloned())
                    .collect::<Result<Vec<_>, _>>()?;
                Arc::new(gather::assemble(m.chunks(), m.dtype(), blocks)?)
            }
        });
    }
    (t.func.f)(&args).map_err(|message| KernelError::User {
        name: t.label(),
        message,
    })
}

/// A block of a `from_delayed` array from its task's value: a `DynArray` or an `ndarray`
/// array of the array's element type, of the block's shape.
fn delayed_block(
    v: &Value,
    dtype: chunkwise_ir::DType,
    shape: &[usize],
) -> Result<DynArray, String> {
    let block = match v {
        Value::Array(a) => a.clone(),
        Value::Any(any) => match any.downcast_ref::<DynArray>() {
            Some(a) => a.clone(),
            None => {
                chunkwise_ir::with_dtype!(dtype, T => match any.downcast_ref::<ndarray::ArrayD<T>>() {
                    Some(a) => DynArray::new(a.clone()),
                    None => return Err(format!("returned a value that is not a {dtype} array")),
                })
            }
        },
        Value::State(_) => return Err("returned a reduction state".into()),
        Value::Spilled(_) => return Err("received a spilled chunk that was not read back".into()),
    };
    if block.dtype() != dtype || block.shape() != shape {
        return Err(format!(
            "returned a {} block of shape {:?}, expected {dtype} {shape:?}",
            block.dtype(),
            block.shape()
        ));
    }
    Ok(block)
}

fn first(inputs: &[Value]) -> Result<&Value, KernelError> {
    inputs
        .first()
        .ok_or_else(|| KernelError::BadInput("missing input block".into()))
}

/// Drops integer-indexed axes and inserts new axes of a slice result.
fn finish_slice(layer: &Layer, a: DynArray) -> DynArray {
    let Layer::Slice { items, .. } = layer else {
        return a;
    };
    with_array!(a, v => {
        let mut v = v;
        let mut ax = 0;
        for item in items {
            match item {
                SliceItem::Index { .. } => v.index_axis_inplace(Axis(ax), 0),
                SliceItem::NewAxis => {
                    v.insert_axis_inplace(Axis(ax));
                    ax += 1;
                }
                SliceItem::Range { .. } => ax += 1,
            }
        }
        Element::wrap(v)
    })
}

/// Bytes of an inlined block computed at once by a fused reduction step: small enough to
/// stay in cache and to be served from the allocator's free lists (a fresh 64 MiB block
/// costs more in page faults than the arithmetic).
const SLAB_BYTES: usize = 1 << 20;

/// A reduction's per-chunk step whose input is inlined and whose first axis is reduced:
/// computes the input in slabs along that axis and combines their states, so no whole
/// input block is ever held. `None` when the stage is not of that kind.
fn sliced_reduce_chunk(
    stage: &Stage,
    coords: &[u64],
    deps: &[Value],
) -> Result<Option<Value>, KernelError> {
    let (Layer::Reduction(r), StageOp::ReduceChunk, Some(n)) =
        (stage.node.layer(), stage.op, stage.inlined(0))
    else {
        return Ok(None);
    };
    let shape = r.input.chunks().block_shape(coords);
    if r.axes.first() != Some(&0) || shape.is_empty() {
        return Ok(None);
    }
    let row: usize = shape[1..].iter().product::<usize>().max(1) * 8;
    let rows = (SLAB_BYTES / row).max(1);
    if rows >= shape[0] || reads_storage(n) {
        return Ok(None);
    }
    let in_grid = r.input.chunks();
    let lens: Vec<u64> = r.axes.iter().map(|&a| in_grid.axis(a).len()).collect();
    let mut counts = vec![1usize; shape.len()];
    counts[0] = 2;
    let mut state: Option<Vec<DynArray>> = None;
    for start in (0..shape[0]).step_by(rows) {
        let part = Some((0, start..(start + rows).min(shape[0])));
        let x = eval_inline(n, coords, &part, deps, &mut 0)?;
        let offsets: Vec<u64> = r
            .axes
            .iter()
            .map(|&a| {
                in_grid.axis(a).range(coords[a]).start + if a == 0 { start as u64 } else { 0 }
            })
            .collect();
        let pos = reduce::ArgPosition {
            offsets: &offsets,
            full_lens: &lens,
        };
        let s = reduce::chunk_state(r.op, &x, &r.axes, Some(&pos))?;
        state = Some(match state {
            None => s,
            Some(prev) => reduce::combine_states(r.op, &[&prev, &s], &counts, &r.axes)?,
        });
    }
    Ok(state.map(|s| Value::State(Arc::from(s))))
}

fn reduction(
    stage: &Stage,
    r: &chunkwise_ir::Reduction,
    op: StageOp,
    coords: &[u64],
    inputs: &[Value],
) -> Result<Value, KernelError> {
    let in_grid = r.input.chunks();
    match op {
        StageOp::ReduceChunk | StageOp::Layer => {
            let x = array(first(inputs)?)?;
            let offsets: Vec<u64> = r
                .axes
                .iter()
                .map(|&a| in_grid.axis(a).range(coords[a]).start)
                .collect();
            let lens: Vec<u64> = r.axes.iter().map(|&a| in_grid.axis(a).len()).collect();
            let pos = reduce::ArgPosition {
                offsets: &offsets,
                full_lens: &lens,
            };
            let s = reduce::chunk_state(r.op, x, &r.axes, Some(&pos))?;
            Ok(Value::State(Arc::from(s)))
        }
        StageOp::ReduceCombine { .. } | StageOp::ReduceAggregate => {
            let parts = inputs.iter().map(state).collect::<Result<Vec<_>, _>>()?;
            let prev = &stage.input_nblocks[0];
            // The states read per axis, as the stage's input mapping lists them.
            let counts: Vec<usize> = (0..prev.len())
                .map(|a| {
                    let range = chunkwise_ir::mapping::reduction_step_range(r, op, prev, coords, a);
                    (range.end - range.start) as usize
                })
                .collect();
            let s = reduce::combine_states(r.op, &parts, &counts, &r.axes)?;
            if op == StageOp::ReduceAggregate {
                let out = reduce::finalize(r.op, &s, &r.axes, r.keepdims, r.input.dtype())?;
                Ok(Value::Array(out))
            } else {
                Ok(Value::State(Arc::from(s)))
            }
        }
    }
}
