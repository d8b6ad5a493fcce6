//! The validating constructors of [`Node`] (`Node::blockwise`, `Node::slice`, ...).

use super::{Blockwise, Distribution, Kernel, Layer, Meta, Node, ReduceOp, Reduction, Sym, Window};
use crate::array::DynArray;
use crate::delayed::{TaskArg, TaskFn, TaskLayer};
use crate::dtype::{DType, Scalar};
use crate::error::IrError;
use crate::grid::{AxisChunks, ChunkGrid};
use crate::kernel::NamedKernel;
use crate::slice::{range_chunks, SliceItem};
use crate::stored::Stored;

fn check_dims(shape: &[u64], what: &str) -> Result<(), IrError> {
    if shape.len() > 32 {
        return Err(IrError::InvalidArgument(format!(
            "{what}: {} dimensions (at most 32 are supported)",
            shape.len()
        )));
    }
    Ok(())
}

/// The most elements a block of a blockwise layer may have: 2^60 - 1, so that its bytes
/// (8 per element at most) stay within `isize::MAX`, the most any allocation can hold.
pub const MAX_BLOCK_ELEMENTS: u64 = (isize::MAX as u64) / 8;

/// An error unless the largest block of a blockwise layer with output `axes` has at most
/// [`MAX_BLOCK_ELEMENTS`] elements (counted without overflow): a new axis of 2^64 - 1
/// elements is refused here, not when its block is allocated.
fn check_block_elements(axes: &[AxisChunks], b: &Blockwise) -> Result<(), IrError> {
    let dims: Vec<u64> = axes.iter().map(AxisChunks::max_chunk).collect();
    let n = crate::grid::checked_product(&dims);
    if n.is_some_and(|n| n <= MAX_BLOCK_ELEMENTS) {
        return Ok(());
    }
    let count = n.map_or("more than 2^64 - 1".to_string(), |n| n.to_string());
    let new_axes: Vec<String> = b
        .new_axes
        .iter()
        .map(|(s, l)| format!("{:?} of length {l}", *s as char))
        .collect();
    let new_axes = if new_axes.is_empty() {
        String::new()
    } else {
        format!(" (new axes {})", new_axes.join(", "))
    };
    Err(IrError::InvalidBlockwise(format!(
        "blocks of shape {dims:?}{new_axes} have {count} elements, more than the \
         {MAX_BLOCK_ELEMENTS} a block can hold: use smaller chunks or shorter new axes"
    )))
}

impl Node {
    /// A task: `func` called on `args` (see [`Layer::Task`]).
    pub fn task(func: TaskFn, args: Vec<TaskArg>) -> Node {
        let meta = Meta {
            chunks: ChunkGrid::new(vec![]),
            dtype: DType::Bool,
        };
        Node::make(
            Layer::Task(TaskLayer {
                func,
                args,
                key: crate::delayed::next_key(),
            }),
            meta,
        )
    }

    /// A task layer rebuilt by a pass (task fusion), keeping its key and meta.
    pub fn fused_task(t: TaskLayer, meta: Meta) -> Node {
        Node::make(Layer::Task(t), meta)
    }

    /// An array of `dtype` cut into `chunks` whose blocks are the values of `parts` (tasks,
    /// one per block in C order). Each task must produce a block of the right shape and
    /// dtype; a task that does not fails with an error naming it.
    pub fn from_delayed(
        parts: Vec<Node>,
        chunks: ChunkGrid,
        dtype: DType,
    ) -> Result<Node, IrError> {
        check_dims(&chunks.shape(), "from_delayed")?;
        if parts.len() as u64 != chunks.total_blocks() {
            return Err(IrError::InvalidChunks(format!(
                "{} delayed parts for a grid of {} blocks",
                parts.len(),
                chunks.total_blocks()
            )));
        }
        if let Some(p) = parts.iter().find(|p| !p.is_task()) {
            return Err(IrError::InvalidArgument(format!(
                "from_delayed parts must be tasks, {} is not",
                p.label()
            )));
        }
        Ok(Node::make(
            Layer::FromDelayed { parts },
            Meta { chunks, dtype },
        ))
    }

    /// A source of in-memory data cut into `chunks` (one size per axis).
    pub fn from_array(data: DynArray, chunks: ChunkGrid) -> Result<Node, IrError> {
        let shape: Vec<u64> = data.shape().iter().map(|&s| s as u64).collect();
        check_dims(&shape, "from_array")?;
        if chunks.shape() != shape {
            return Err(IrError::InvalidChunks(format!(
                "chunks {chunks} do not fit the data's shape {shape:?}"
            )));
        }
        let dtype = data.dtype();
        Ok(Node::make(
            Layer::FromArray { data },
            Meta { chunks, dtype },
        ))
    }

    /// A source of one repeated value.
    pub fn full(chunks: ChunkGrid, dtype: DType, value: Scalar) -> Result<Node, IrError> {
        check_dims(&chunks.shape(), "full")?;
        Ok(Node::make(
            Layer::Full {
                value: value.cast(dtype),
            },
            Meta { chunks, dtype },
        ))
    }

    /// A source of seeded random floats.
    pub fn random(
        chunks: ChunkGrid,
        dtype: DType,
        seed: u64,
        dist: Distribution,
    ) -> Result<Node, IrError> {
        check_dims(&chunks.shape(), "random")?;
        if !dtype.is_float() {
            return Err(IrError::UnsupportedDType(format!(
                "random arrays are float, not {dtype}"
            )));
        }
        Ok(Node::make(
            Layer::Random {
                seed,
                dist,
                window: None,
            },
            Meta { chunks, dtype },
        ))
    }

    /// The window `window` of a random array with `seed` and `dist`, cut into `chunks`
    /// (which must have the window's shape). Equal to slicing [`Node::random`] of the base
    /// shape, without computing the rest.
    pub fn random_window(
        chunks: ChunkGrid,
        dtype: DType,
        seed: u64,
        dist: Distribution,
        window: Window,
    ) -> Result<Node, IrError> {
        let shape = crate::slice::output_shape(&window.base, &window.items)?;
        if shape != chunks.shape() {
            return Err(IrError::InvalidChunks(format!(
                "chunks {chunks} do not fit the window's shape {shape:?}"
            )));
        }
        let random = Node::random(chunks, dtype, seed, dist)?;
        let Layer::Random { seed, dist, .. } = *random.layer() else {
            unreachable!("Node::random makes a random layer")
        };
        Ok(Node::make(
            Layer::Random {
                seed,
                dist,
                window: Some(window),
            },
            random.meta().clone(),
        ))
    }

    /// The stored array `source` cut into `chunks` (any grid of its shape), or its
    /// `window` (then `chunks` must have the window's shape).
    pub fn read(
        chunks: ChunkGrid,
        source: Stored,
        window: Option<Window>,
    ) -> Result<Node, IrError> {
        let shape = match &window {
            Some(w) if w.base != source.shape => {
                return Err(IrError::InvalidArgument(format!(
                    "a window of shape {:?} over stored array {} of shape {:?}",
                    w.base, source.location, source.shape
                )))
            }
            Some(w) => crate::slice::output_shape(&w.base, &w.items)?,
            None => source.shape.clone(),
        };
        check_dims(&shape, "read")?;
        if shape != chunks.shape() {
            return Err(IrError::InvalidChunks(format!(
                "chunks {chunks} do not fit the shape {shape:?} read from {}",
                source.location
            )));
        }
        let dtype = source.dtype;
        Ok(Node::make(
            Layer::Read { source, window },
            Meta { chunks, dtype },
        ))
    }

    /// `input` computed inside its consumers' tasks ([`Layer::Inline`]); the input must be a
    /// source or an elementwise program blockwise layer.
    pub fn inline(input: Node) -> Result<Node, IrError> {
        let ok = input.is_source()
            || matches!(input.layer(), Layer::Blockwise(b) if matches!(b.kernel, Kernel::Program(_)) && b.new_axes.is_empty());
        if !ok {
            return Err(IrError::InvalidArgument(format!(
                "only sources and elementwise programs can be inlined, not {}",
                input.label()
            )));
        }
        let meta = input.meta().clone();
        Ok(Node::make(Layer::Inline { input }, meta))
    }

    /// A 1-d source `start, start + step, ...` of `chunks.shape()[0]` elements.
    pub fn arange(chunks: ChunkGrid, dtype: DType, start: f64, step: f64) -> Result<Node, IrError> {
        if chunks.ndim() != 1 {
            return Err(IrError::InvalidArgument("arange is 1-dimensional".into()));
        }
        Ok(Node::make(
            Layer::Arange { start, step },
            Meta { chunks, dtype },
        ))
    }

    /// A blockwise layer (see [`Blockwise`]); checks the notation and the chunks.
    pub fn blockwise(b: Blockwise) -> Result<Node, IrError> {
        let err = |m: String| Err(IrError::InvalidBlockwise(m));
        for (i, s) in b.out_ind.iter().enumerate() {
            if b.out_ind[..i].contains(s) {
                return err(format!("output index {:?} repeats", *s as char));
            }
        }
        if b.inputs.is_empty() {
            return err("a blockwise layer needs at least one input".into());
        }
        check_dims(&vec![0; b.out_ind.len()], "blockwise")?;
        for (k, (node, ind)) in b.inputs.iter().enumerate() {
            if ind.len() != node.ndim() {
                return err(format!(
                    "input {k} has {} dimensions but {} indices",
                    node.ndim(),
                    ind.len()
                ));
            }
            for (i, s) in ind.iter().enumerate() {
                if ind[..i].contains(s) {
                    return err(format!("input {k} repeats index {:?}", *s as char));
                }
            }
        }
        // The chunks of every symbol: from the inputs where the axis is not broadcast.
        let mut sym_chunks: Vec<(Sym, AxisChunks)> = Vec::new();
        let contracted = b.contracted();
        for (k, (node, ind)) in b.inputs.iter().enumerate() {
            for (ax, s) in ind.iter().enumerate() {
                let c = node.chunks().axis(ax);
                let broadcastable = c.len() == 1 && !contracted.contains(s);
                match sym_chunks.iter_mut().find(|(t, _)| t == s) {
                    None => sym_chunks.push((*s, c.clone())),
                    Some((_, prev)) => {
                        if broadcastable {
                            continue;
                        }
                        if prev.len() == 1 && !contracted.contains(s) {
                            *prev = c.clone();
                        } else if prev != c {
                            if prev.len() != c.len() {
                                return Err(IrError::ShapeMismatch(format!(
                                    "index {:?}: input {k} has length {} where another input has {}",
                                    *s as char,
                                    c.len(),
                                    prev.len()
                                )));
                            }
                            return err(format!(
                                "index {:?}: input {k} is chunked {c} where another input is chunked {prev} (rechunk first)",
                                *s as char
                            ));
                        }
                    }
                }
            }
        }
        let mut axes = Vec::with_capacity(b.out_ind.len());
        for s in &b.out_ind {
            if let Some((_, c)) = sym_chunks.iter().find(|(t, _)| t == s) {
                if b.new_axes.iter().any(|(t, _)| t == s) {
                    return err(format!("new axis {:?} is also an input index", *s as char));
                }
                axes.push(c.clone());
            } else if let Some((_, len)) = b.new_axes.iter().find(|(t, _)| t == s) {
                axes.push(AxisChunks::from_lengths(&[*len]));
            } else {
                return err(format!(
                    "output index {:?} is in no input and not a new axis",
                    *s as char
                ));
            }
        }
        if let Kernel::Named(NamedKernel {
            chunks: Some(grid),
            name,
            ..
        }) = &b.kernel
        {
            // A reshaping kernel: its grid, if it has the blocks the index notation gives
            // (any number along an axis where that is one: every block reads block 0).
            let nblocks: Vec<u64> = axes.iter().map(AxisChunks::num_blocks).collect();
            let fits = grid.ndim() == nblocks.len()
                && grid
                    .num_blocks()
                    .iter()
                    .zip(&nblocks)
                    .all(|(g, n)| g == n || *n == 1);
            if !fits {
                return err(format!(
                    "kernel {name:?} makes a grid of {:?} blocks where the inputs give {nblocks:?}",
                    grid.num_blocks()
                ));
            }
            axes = grid.axes().to_vec();
        }
        check_block_elements(&axes, &b)?;
        let dtype = match &b.kernel {
            Kernel::Program(p) => {
                if !contracted.is_empty() {
                    return err("an elementwise program cannot contract indices".into());
                }
                if p.inputs().len() != b.inputs.len() {
                    return err(format!(
                        "program takes {} inputs, layer has {}",
                        p.inputs().len(),
                        b.inputs.len()
                    ));
                }
                for (k, ((n, _), dt)) in b.inputs.iter().zip(p.inputs()).enumerate() {
                    if n.dtype() != *dt {
                        return err(format!(
                            "program expects {dt} for input {k}, which is {}",
                            n.dtype()
                        ));
                    }
                }
                p.output_dtype()
            }
            Kernel::Contract => {
                if b.inputs.len() != 2 {
                    return err("a contraction takes two inputs".into());
                }
                let (a, c) = (b.inputs[0].0.dtype(), b.inputs[1].0.dtype());
                let dt = a.promote(c);
                if dt == DType::Bool {
                    return Err(IrError::UnsupportedDType(
                        "matmul/tensordot of bool arrays (convert with astype first)".into(),
                    ));
                }
                dt
            }
            Kernel::Named(k) => k.dtype,
        };
        Ok(Node::make(
            Layer::Blockwise(b),
            Meta {
                chunks: ChunkGrid::new(axes),
                dtype,
            },
        ))
    }

    /// A reduction over `axes` (any order; repeats and out-of-range axes are errors).
    pub fn reduction(
        input: Node,
        op: ReduceOp,
        axes: &[usize],
        keepdims: bool,
        split_every: u64,
    ) -> Result<Node, IrError> {
        let nd = input.ndim();
        let mut sorted = axes.to_vec();
        sorted.sort_unstable();
        for (i, &a) in sorted.iter().enumerate() {
            if a >= nd {
                return Err(IrError::InvalidAxis(format!(
                    "axis {a} is out of bounds for an array of dimension {nd}"
                )));
            }
            if i > 0 && sorted[i - 1] == a {
                return Err(IrError::InvalidAxis(format!("axis {a} repeats")));
            }
        }
        if split_every < 2 {
            return Err(IrError::InvalidArgument(format!(
                "split_every must be at least 2, not {split_every}"
            )));
        }
        if input.dtype().is_complex() && !op.takes_complex() {
            return Err(IrError::UnsupportedDType(format!(
                "{} is not defined for {} arrays",
                op.name(),
                input.dtype()
            )));
        }
        if op.needs_elements() {
            let shape = input.shape();
            if let Some(&a) = sorted.iter().find(|&&a| shape[a] == 0) {
                return Err(IrError::InvalidArgument(format!(
                    "{} of an empty axis ({a}) has no identity",
                    op.name()
                )));
            }
        }
        if matches!(op, ReduceOp::ArgMin | ReduceOp::ArgMax) && keepdims && sorted.len() > 1 {
            return Err(IrError::InvalidArgument(format!(
                "{} over several axes returns a flat index: keepdims is not supported",
                op.name()
            )));
        }
        let mut out_axes = Vec::new();
        for (a, c) in input.chunks().axes().iter().enumerate() {
            if sorted.contains(&a) {
                if keepdims {
                    out_axes.push(AxisChunks::from_lengths(&[1]));
                }
            } else {
                out_axes.push(c.clone());
            }
        }
        let dtype = op.output_dtype(input.dtype());
        Ok(Node::make(
            Layer::Reduction(Reduction {
                input,
                op,
                axes: sorted,
                keepdims,
                split_every,
            }),
            Meta {
                chunks: ChunkGrid::new(out_axes),
                dtype,
            },
        ))
    }

    /// Basic indexing with normalized items (see [`crate::slice::normalize`]).
    pub fn slice(input: Node, items: Vec<SliceItem>) -> Result<Node, IrError> {
        crate::slice::output_shape(&input.shape(), &items)?;
        let mut axis = 0;
        let mut out = Vec::new();
        for item in &items {
            match *item {
                SliceItem::NewAxis => out.push(AxisChunks::from_lengths(&[1])),
                SliceItem::Index { .. } => axis += 1,
                SliceItem::Range { start, step, count } => {
                    out.push(range_chunks(input.chunks().axis(axis), start, step, count));
                    axis += 1;
                }
            }
        }
        let dtype = input.dtype();
        Ok(Node::make(
            Layer::Slice { input, items },
            Meta {
                chunks: ChunkGrid::new(out),
                dtype,
            },
        ))
    }

    /// The same array cut into `chunks`.
    pub fn rechunk(input: Node, chunks: ChunkGrid) -> Result<Node, IrError> {
        if chunks.shape() != input.shape() {
            return Err(IrError::InvalidChunks(format!(
                "rechunk target {chunks} does not fit shape {:?}",
                input.shape()
            )));
        }
        if &chunks == input.chunks() {
            return Ok(input);
        }
        let dtype = input.dtype();
        Ok(Node::make(Layer::Rechunk { input }, Meta { chunks, dtype }))
    }

    /// Axes permuted: output axis `i` is input axis `perm[i]`.
    pub fn transpose(input: Node, perm: Vec<usize>) -> Result<Node, IrError> {
        let nd = input.ndim();
        let mut seen = vec![false; nd];
        if perm.len() != nd
            || perm
                .iter()
                .any(|&p| p >= nd || std::mem::replace(&mut seen[p], true))
        {
            return Err(IrError::InvalidAxis(format!(
                "{perm:?} is not a permutation of the {nd} axes"
            )));
        }
        let axes = perm
            .iter()
            .map(|&p| input.chunks().axis(p).clone())
            .collect();
        let dtype = input.dtype();
        Ok(Node::make(
            Layer::Transpose { input, perm },
            Meta {
                chunks: ChunkGrid::new(axes),
                dtype,
            },
        ))
    }

    /// Inputs joined along `axis`; the other axes must have equal shapes and chunks, and
    /// the dtypes must be equal (front-ends cast first).
    pub fn concatenate(inputs: Vec<Node>, axis: usize) -> Result<Node, IrError> {
        let Some(first) = inputs.first() else {
            return Err(IrError::InvalidArgument(
                "need at least one array to concatenate".into(),
            ));
        };
        let nd = first.ndim();
        if axis >= nd {
            return Err(IrError::InvalidAxis(format!(
                "axis {axis} is out of bounds for an array of dimension {nd}"
            )));
        }
        for (k, n) in inputs.iter().enumerate() {
            if n.ndim() != nd {
                return Err(IrError::ShapeMismatch(format!(
                    "concatenate: input {k} has {} dimensions, input 0 has {nd}",
                    n.ndim()
                )));
            }
            if n.dtype() != first.dtype() {
                return Err(IrError::UnsupportedDType(format!(
                    "concatenate: input {k} is {}, input 0 is {}",
                    n.dtype(),
                    first.dtype()
                )));
            }
            for a in 0..nd {
                if a != axis && n.chunks().axis(a) != first.chunks().axis(a) {
                    return Err(IrError::ShapeMismatch(format!(
                        "concatenate: input {k} axis {a} is {} where input 0 has {}",
                        n.chunks().axis(a),
                        first.chunks().axis(a)
                    )));
                }
            }
        }
        // Joined without listing the chunks of uniform inputs (bounded memory for inputs
        // of 10^14 chunks); an irregular join of too many chunks is refused.
        let parts: Vec<&AxisChunks> = inputs.iter().map(|n| n.chunks().axis(axis)).collect();
        let joined = AxisChunks::concat(&parts).map_err(|e| match e {
            IrError::InvalidChunks(m) => {
                IrError::InvalidChunks(format!("concatenate along axis {axis}: {m}"))
            }
            other => other,
        })?;
        // An input with no elements along the axis adds nothing, and its one empty block
        // is not in the joined grid (`from_lengths` drops empty chunks): it is left out, so
        // every block of the result reads the input that holds it.
        let first = first.clone();
        let mut inputs: Vec<Node> = inputs;
        if inputs.iter().any(|n| n.shape()[axis] > 0) {
            inputs.retain(|n| n.shape()[axis] > 0);
        } else {
            inputs.truncate(1);
        }
        let chunks = first.chunks().clone().with_axis(axis, joined);
        let dtype = first.dtype();
        Ok(Node::make(
            Layer::Concatenate { inputs, axis },
            Meta { chunks, dtype },
        ))
    }
}
