//! The CPU backend: chunks are `ndarray` arrays in host memory; one kernel per op family.
//!
//! [`execute`] computes one task (one block of one stage) from its input values, in the
//! order given by [`Stage::for_each_input`].

pub mod contract;
pub mod gather;
pub mod num;
pub mod program;
pub mod reduce;
pub mod sources;

use crate::{KernelError, Value};
use chunkwise_ir::grid::unravel_into;
use chunkwise_ir::slice::SliceItem;
use chunkwise_ir::task::{inline_inputs, Scratch};
use chunkwise_ir::{
    with_array, DynArray, Element, Kernel, KernelCall, Layer, Node, Stage, StageOp,
};
use ndarray::{Axis, IxDyn};
use std::cell::RefCell;
use std::sync::Arc;

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
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

/// The block at `coords` of a source layer (`None` for other layers).
fn source_block(node: &Node, coords: &[u64]) -> Option<DynArray> {
    let ranges = || node.chunks().block_ranges(coords);
    Some(match node.layer() {
        Layer::FromArray { data } => sources::from_array(data, &ranges()),
        Layer::Full { value } => {
            DynArray::full(node.dtype(), &node.chunks().block_shape(coords), *value)
        }
        Layer::Random { seed, dist, window } => {
            let counters = sources::Counters::new(&node.shape(), window.as_ref());
            sources::random(node.dtype(), *seed, *dist, &counters, &ranges())
        }
        Layer::Arange { start, step } => {
            sources::arange(node.dtype(), *start, *step, ranges()[0].clone())
        }
        _ => return None,
    })
}

/// Block `coords` of the inlined layer `n` ([`Layer::Inline`]), computed from the task's
/// dependencies `deps`, read from position `*cursor` on in [`Stage::for_each_dep`] order.
fn eval_inline(
    n: &Node,
    coords: &[u64],
    deps: &[Value],
    cursor: &mut usize,
) -> Result<DynArray, KernelError> {
    let Layer::Inline { input } = n.layer() else {
        let v = deps
            .get(*cursor)
            .ok_or_else(|| KernelError::BadInput("missing input block".into()))?;
        *cursor += 1;
        return array(v).cloned();
    };
    if let Some(block) = source_block(input, coords) {
        return Ok(block);
    }
    let Layer::Blockwise(b) = input.layer() else {
        return Err(KernelError::BadInput(format!(
            "cannot inline {}",
            input.label()
        )));
    };
    let Kernel::Program(p) = &b.kernel else {
        return Err(KernelError::BadInput(format!(
            "cannot inline {}",
            input.label()
        )));
    };
    let mut args = Vec::with_capacity(b.inputs.len());
    let mut err = None;
    inline_inputs(input, coords, |k, m, c| {
        if err.is_none() {
            match eval_inline(m, c, deps, cursor) {
                Ok(a) => args.push(align(&a, &b.inputs[k].1, &b.out_ind)),
                Err(e) => err = Some(e),
            }
        }
    });
    if let Some(e) = err {
        return Err(e);
    }
    program::eval(p, &args, &input.chunks().block_shape(coords))
}

/// The values of a stage's direct inputs (see [`Stage::for_each_input`]) from its
/// dependencies, computing inlined inputs in the task.
fn direct_inputs(stage: &Stage, coords: &[u64], deps: &[Value]) -> Result<Vec<Value>, KernelError> {
    let mut out = Vec::new();
    let mut cursor = 0;
    let mut err = None;
    let mut scratch = Scratch::default();
    stage.for_each_input(coords, &mut scratch, |slot, c| {
        if err.is_some() {
            return;
        }
        let r = match stage.inlined(slot) {
            Some(n) => eval_inline(n, c, deps, &mut cursor).map(Value::Array),
            None => {
                cursor += 1;
                deps.get(cursor - 1)
                    .cloned()
                    .ok_or_else(|| KernelError::BadInput("missing input block".into()))
            }
        };
        match r {
            Ok(v) => out.push(v),
            Err(e) => err = Some(e),
        }
    });
    match err {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// Computes block `block` (linear index in the stage grid) of `stage` from its dependencies
/// (in [`Stage::for_each_dep`] order).
pub fn execute(stage: &Stage, block: u64, deps: &[Value]) -> Result<Value, KernelError> {
    let mut coords = vec![0u64; stage.nblocks.len()];
    unravel_into(block, &stage.nblocks, &mut coords);
    let direct;
    let inputs = if stage.has_inline() {
        direct = direct_inputs(stage, &coords, deps)?;
        &direct[..]
    } else {
        deps
    };
    let node = &stage.node;
    let out_shape = || node.chunks().block_shape(&coords);
    if let Some(block) = source_block(node, &coords) {
        return Ok(Value::Array(block));
    }
    let arr = match (node.layer(), stage.op) {
        (
            Layer::FromArray { .. }
            | Layer::Full { .. }
            | Layer::Random { .. }
            | Layer::Arange { .. },
            _,
        ) => unreachable!("sources are computed above"),
        (Layer::Blockwise(b), _) => match &b.kernel {
            Kernel::Program(p) => {
                let aligned = b
                    .inputs
                    .iter()
                    .zip(inputs)
                    .map(|((_, ind), v)| Ok(align(array(v)?, ind, &b.out_ind)))
                    .collect::<Result<Vec<_>, KernelError>>()?;
                program::eval(p, &aligned, &out_shape())?
            }
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
            let split = r.split_per_axis();
            let counts: Vec<usize> = (0..prev.len())
                .map(|a| {
                    if !r.axes.contains(&a) {
                        1
                    } else if op == StageOp::ReduceAggregate {
                        prev[a] as usize
                    } else {
                        (((coords[a] + 1) * split).min(prev[a]) - coords[a] * split) as usize
                    }
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
