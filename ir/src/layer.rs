//! Layers and the layer graph.
//!
//! A [`Node`] is one layer of the high-level graph: an immutable, reference-counted value
//! holding its operation, its inputs (other nodes: building `y = x + 1` shares `x`, it does
//! not copy it) and its output metadata (shape, chunks, dtype). Every node has a content hash
//! ([`Node::id`]): two nodes built from equal operations on equal inputs have equal ids, which
//! lowering uses to compute equal sub-graphs once.
//!
//! Nodes are built by validating constructors (`Node::blockwise`, `Node::slice`, ...) that
//! return a typed [`IrError`] on bad input; a node that exists is consistent.

use crate::array::DynArray;
use crate::delayed::{TaskArg, TaskFn, TaskLayer};
use crate::dtype::{DType, Scalar};
use crate::error::IrError;
use crate::grid::{AxisChunks, ChunkGrid};
use crate::kernel::NamedKernel;
use crate::program::Program;
use crate::slice::{range_chunks, SliceItem};
use crate::stored::Stored;
use rustc_hash::FxHasher;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// An index symbol of blockwise index notation (`b'i'`, `b'j'`, ...).
pub type Sym = u8;

/// The content hash of a node.
pub type NodeId = u64;

/// Output metadata of a layer.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Meta {
    /// Chunk grid (and so the shape).
    pub chunks: ChunkGrid,
    /// Element type.
    pub dtype: DType,
}

impl Meta {
    /// The shape.
    pub fn shape(&self) -> Vec<u64> {
        self.chunks.shape()
    }

    /// Number of dimensions.
    pub fn ndim(&self) -> usize {
        self.chunks.ndim()
    }

    /// Number of elements (saturating).
    pub fn size(&self) -> u64 {
        self.shape().iter().fold(1u64, |a, &b| a.saturating_mul(b))
    }
}

/// Distribution of a random source.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Distribution {
    /// Uniform on `[low, high)`.
    Uniform {
        /// Lower bound.
        low: f64,
        /// Upper bound (exclusive).
        high: f64,
    },
    /// Normal with the given mean and standard deviation.
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        std: f64,
    },
}

/// The kernel of a blockwise layer.
#[derive(Clone, Debug, PartialEq)]
pub enum Kernel {
    /// An expression program over the inputs (elementwise with broadcasting).
    Program(Arc<Program>),
    /// Two inputs multiplied and summed over the contracted indices (einsum of two
    /// operands): matmul and tensordot.
    Contract,
    /// A registered Rust function.
    Named(NamedKernel),
}

/// A blockwise layer: Dask's index notation.
///
/// Each output axis has a symbol in `out_ind`; each input lists the symbol of each of its
/// axes. A symbol present in inputs but not in the output is contracted (summed over by the
/// kernel, which receives all blocks along it). An input axis of length 1 broadcasts against
/// a longer output axis. `new_axes` are output symbols of no input, with their length (one chunk).
#[derive(Clone, Debug, PartialEq)]
pub struct Blockwise {
    /// Symbols of the output axes.
    pub out_ind: Vec<Sym>,
    /// Inputs with the symbols of their axes.
    pub inputs: Vec<(Node, Vec<Sym>)>,
    /// Output axes that come from no input, with their lengths.
    pub new_axes: Vec<(Sym, u64)>,
    /// How a block is computed.
    pub kernel: Kernel,
}

impl Blockwise {
    /// Symbols that are contracted (in some input but not in the output), in first-seen order.
    pub fn contracted(&self) -> Vec<Sym> {
        let mut out = Vec::new();
        for (_, ind) in &self.inputs {
            for s in ind {
                if !self.out_ind.contains(s) && !out.contains(s) {
                    out.push(*s);
                }
            }
        }
        out
    }
}

/// Reduction operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum ReduceOp {
    /// Sum (integers accumulate in i64).
    Sum,
    /// Product (integers accumulate in i64).
    Prod,
    /// Arithmetic mean.
    Mean,
    /// Variance with `ddof` delta degrees of freedom.
    Var {
        /// Delta degrees of freedom.
        ddof: u32,
    },
    /// Standard deviation with `ddof` delta degrees of freedom.
    Std {
        /// Delta degrees of freedom.
        ddof: u32,
    },
    /// Minimum (NaN propagates).
    Min,
    /// Maximum (NaN propagates).
    Max,
    /// Position of the minimum (first one; NaN counts as smallest), as a C-order index over
    /// the reduced axes.
    ArgMin,
    /// Position of the maximum (first one; NaN counts as largest).
    ArgMax,
    /// Whether any element is nonzero.
    Any,
    /// Whether all elements are nonzero.
    All,
}

impl ReduceOp {
    /// The output type for an input of type `dt`.
    pub fn output_dtype(self, dt: DType) -> DType {
        match self {
            ReduceOp::Sum | ReduceOp::Prod => match dt {
                DType::F32 | DType::F64 => dt,
                _ => DType::I64,
            },
            ReduceOp::Mean | ReduceOp::Var { .. } | ReduceOp::Std { .. } => match dt {
                DType::F32 => DType::F32,
                _ => DType::F64,
            },
            ReduceOp::Min | ReduceOp::Max => dt,
            ReduceOp::ArgMin | ReduceOp::ArgMax => DType::I64,
            ReduceOp::Any | ReduceOp::All => DType::Bool,
        }
    }

    /// Whether the reduction of no element is an error (it has no identity).
    pub fn needs_elements(self) -> bool {
        matches!(
            self,
            ReduceOp::Min | ReduceOp::Max | ReduceOp::ArgMin | ReduceOp::ArgMax
        )
    }

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            ReduceOp::Sum => "sum",
            ReduceOp::Prod => "prod",
            ReduceOp::Mean => "mean",
            ReduceOp::Var { .. } => "var",
            ReduceOp::Std { .. } => "std",
            ReduceOp::Min => "min",
            ReduceOp::Max => "max",
            ReduceOp::ArgMin => "argmin",
            ReduceOp::ArgMax => "argmax",
            ReduceOp::Any => "any",
            ReduceOp::All => "all",
        }
    }
}

/// A tree reduction over some axes.
#[derive(Clone, Debug, PartialEq)]
pub struct Reduction {
    /// The reduced array.
    pub input: Node,
    /// The operation.
    pub op: ReduceOp,
    /// Reduced axes of the input, sorted, without repeats.
    pub axes: Vec<usize>,
    /// Whether reduced axes stay as length-1 axes.
    pub keepdims: bool,
    /// Blocks combined per tree node, in total over the reduced axes (Dask's `split_every`).
    pub split_every: u64,
}

impl Reduction {
    /// Blocks combined per tree node along each reduced axis: `max(2, floor(split^(1/k)))`
    /// for `k` reduced axes, as in Dask.
    pub fn split_per_axis(&self) -> u64 {
        let k = self.axes.len().max(1) as f64;
        ((self.split_every as f64).powf(1.0 / k) + 1e-9)
            .floor()
            .max(2.0) as u64
    }
}

/// The operation of a layer.
#[derive(Clone, Debug, PartialEq)]
pub enum Layer {
    /// An in-memory array cut into blocks.
    FromArray {
        /// The data.
        data: DynArray,
    },
    /// Every element equal to `value`.
    Full {
        /// The value (of the layer's dtype).
        value: Scalar,
    },
    /// Random numbers: element `i` (flat C-order position) is a function of `seed` and `i`
    /// alone, so any block can be computed independently and results do not depend on chunks.
    Random {
        /// Seed.
        seed: u64,
        /// Distribution.
        dist: Distribution,
        /// When set, this layer is a slice of a larger random array (slice pushdown): the
        /// values are those of the window's base array at the selected positions.
        window: Option<Window>,
    },
    /// An array read from storage (a Zarr array): any region is read on its own.
    Read {
        /// The stored array.
        source: Stored,
        /// When set, this layer is a slice of the stored array (slice pushdown): the values
        /// are those of the stored array at the selected positions, and only the chunks
        /// that hold them are read.
        window: Option<Window>,
    },
    /// A 1-d range: element `i` is `start + i * step`, cast to the dtype.
    Arange {
        /// First value.
        start: f64,
        /// Step.
        step: f64,
    },
    /// Blockwise computation (elementwise, broadcasting, contraction, map_blocks).
    Blockwise(Blockwise),
    /// Tree reduction.
    Reduction(Reduction),
    /// Basic indexing.
    Slice {
        /// The sliced array.
        input: Node,
        /// Normalized slice items, in output order.
        items: Vec<SliceItem>,
    },
    /// The same array with other chunks (the layer's meta holds the target grid).
    Rechunk {
        /// The array.
        input: Node,
    },
    /// Axes permuted: output axis `i` is input axis `perm[i]`.
    Transpose {
        /// The array.
        input: Node,
        /// The permutation.
        perm: Vec<usize>,
    },
    /// Inputs joined along an existing axis.
    Concatenate {
        /// The arrays.
        inputs: Vec<Node>,
        /// The axis.
        axis: usize,
    },
    /// The input computed inside the task of each consumer block that reads it (fusion):
    /// it has no tasks of its own. The input is a source or an elementwise program; a
    /// consumer reads the same block it would read from the input.
    Inline {
        /// The computation done in the consumer's task.
        input: Node,
    },
    /// One call of a Rust function on values of any type (the `delayed` API). Its meta is a
    /// 0-dimensional grid (one block); its value is not an array.
    Task(TaskLayer),
    /// An array whose blocks are the values of tasks (C order over the grid).
    FromDelayed {
        /// One task per block.
        parts: Vec<Node>,
    },
}

/// A window of a larger array: the selection `items` of an array of shape `base`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Window {
    /// Shape of the whole array.
    pub base: Vec<u64>,
    /// Normalized slice items over `base`.
    pub items: Vec<SliceItem>,
}

/// A layer with its metadata and content hash. Cloning is O(1).
#[derive(Clone)]
pub struct Node(Arc<NodeData>);

struct NodeData {
    id: NodeId,
    layer: Layer,
    meta: Meta,
}

impl PartialEq for Node {
    fn eq(&self, other: &Node) -> bool {
        self.id() == other.id()
    }
}

impl Eq for Node {}

impl Hash for Node {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.id());
    }
}

impl fmt::Debug for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Node({} {:016x})", self.label(), self.id())
    }
}

fn check_dims(shape: &[u64], what: &str) -> Result<(), IrError> {
    if shape.len() > 32 {
        return Err(IrError::InvalidArgument(format!(
            "{what}: {} dimensions (at most 32 are supported)",
            shape.len()
        )));
    }
    Ok(())
}

impl Node {
    fn make(layer: Layer, meta: Meta) -> Node {
        let mut h = FxHasher::default();
        hash_layer(&layer, &mut h);
        meta.hash(&mut h);
        Node(Arc::new(NodeData {
            id: h.finish(),
            layer,
            meta,
        }))
    }

    /// The content hash: equal for nodes built from equal operations on equal inputs.
    pub fn id(&self) -> NodeId {
        self.0.id
    }

    /// The operation.
    pub fn layer(&self) -> &Layer {
        &self.0.layer
    }

    /// Output metadata.
    pub fn meta(&self) -> &Meta {
        &self.0.meta
    }

    /// Chunk grid.
    pub fn chunks(&self) -> &ChunkGrid {
        &self.0.meta.chunks
    }

    /// Element type.
    pub fn dtype(&self) -> DType {
        self.0.meta.dtype
    }

    /// Shape.
    pub fn shape(&self) -> Vec<u64> {
        self.0.meta.shape()
    }

    /// Number of dimensions.
    pub fn ndim(&self) -> usize {
        self.0.meta.ndim()
    }

    /// Whether two handles point to the same allocation (not just equal content).
    pub fn ptr_eq(&self, other: &Node) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// The input nodes, in order.
    pub fn inputs(&self) -> Vec<&Node> {
        match self.layer() {
            Layer::FromArray { .. }
            | Layer::Full { .. }
            | Layer::Random { .. }
            | Layer::Read { .. }
            | Layer::Arange { .. } => vec![],
            Layer::Blockwise(b) => b.inputs.iter().map(|(n, _)| n).collect(),
            Layer::Reduction(r) => vec![&r.input],
            Layer::Slice { input, .. }
            | Layer::Rechunk { input }
            | Layer::Transpose { input, .. }
            | Layer::Inline { input } => vec![input],
            Layer::Concatenate { inputs, .. } => inputs.iter().collect(),
            Layer::Task(t) => t
                .args
                .iter()
                .filter_map(|a| match a {
                    TaskArg::Node(n) => Some(n),
                    TaskArg::Value(_) => None,
                })
                .collect(),
            Layer::FromDelayed { parts } => parts.iter().collect(),
        }
    }

    /// The nodes whose tasks the tasks of this layer depend on: the inputs, with each
    /// [`Layer::Inline`] input replaced by its own dependencies (recursively).
    pub fn dep_nodes(&self) -> Vec<Node> {
        let mut out = Vec::new();
        for m in self.inputs() {
            match m.layer() {
                Layer::Inline { input } => out.extend(input.dep_nodes()),
                _ => out.push(m.clone()),
            }
        }
        out
    }

    /// Whether this layer computes nothing itself (it is a source).
    pub fn is_source(&self) -> bool {
        matches!(
            self.layer(),
            Layer::FromArray { .. }
                | Layer::Full { .. }
                | Layer::Random { .. }
                | Layer::Read { .. }
                | Layer::Arange { .. }
        )
    }

    /// The same operation on new inputs (in [`Node::inputs`] order), rebuilt through the
    /// validating constructors. Returns `self` when the inputs are the same nodes.
    pub fn with_inputs(&self, new: &[Node]) -> Result<Node, IrError> {
        let old = self.inputs();
        if old.len() != new.len() {
            return Err(IrError::InvalidArgument(format!(
                "{} takes {} inputs, got {}",
                self.label(),
                old.len(),
                new.len()
            )));
        }
        if old.iter().zip(new).all(|(a, b)| a.ptr_eq(b)) {
            return Ok(self.clone());
        }
        let one = || new[0].clone();
        match self.layer() {
            Layer::FromArray { .. }
            | Layer::Full { .. }
            | Layer::Random { .. }
            | Layer::Read { .. }
            | Layer::Arange { .. } => Ok(self.clone()),
            Layer::Blockwise(b) => Node::blockwise(Blockwise {
                out_ind: b.out_ind.clone(),
                inputs: b
                    .inputs
                    .iter()
                    .zip(new)
                    .map(|((_, ind), n)| (n.clone(), ind.clone()))
                    .collect(),
                new_axes: b.new_axes.clone(),
                kernel: b.kernel.clone(),
            }),
            Layer::Reduction(r) => Node::reduction(one(), r.op, &r.axes, r.keepdims, r.split_every),
            Layer::Slice { items, .. } => Node::slice(one(), items.clone()),
            Layer::Rechunk { .. } => Node::rechunk(one(), self.chunks().clone()),
            Layer::Transpose { perm, .. } => Node::transpose(one(), perm.clone()),
            Layer::Concatenate { axis, .. } => Node::concatenate(new.to_vec(), *axis),
            Layer::Inline { .. } => Node::inline(one()),
            Layer::Task(t) => {
                let mut it = new.iter();
                let args = t
                    .args
                    .iter()
                    .map(|a| match a {
                        TaskArg::Node(_) => TaskArg::Node(it.next().expect("one per node").clone()),
                        TaskArg::Value(v) => TaskArg::Value(v.clone()),
                    })
                    .collect();
                Ok(Node::make(
                    Layer::Task(TaskLayer {
                        func: t.func.clone(),
                        args,
                        key: t.key,
                    }),
                    self.meta().clone(),
                ))
            }
            Layer::FromDelayed { .. } => {
                Node::from_delayed(new.to_vec(), self.chunks().clone(), self.dtype())
            }
        }
    }

    /// A short human-readable name of the operation (`add`, `sum`, `slice`, ...).
    pub fn label(&self) -> String {
        match self.layer() {
            Layer::FromArray { .. } => "from-array".into(),
            Layer::Full { value } => format!("full({value})"),
            Layer::Random { dist, .. } => match dist {
                Distribution::Uniform { .. } => "random-uniform".into(),
                Distribution::Normal { .. } => "random-normal".into(),
            },
            Layer::Arange { .. } => "arange".into(),
            Layer::Read { .. } => "read-zarr".into(),
            Layer::Blockwise(b) => match &b.kernel {
                Kernel::Program(p) => p.name(),
                Kernel::Contract => "contract".into(),
                Kernel::Named(k) => k.name.clone(),
            },
            Layer::Reduction(r) => r.op.name().into(),
            Layer::Slice { .. } => "slice".into(),
            Layer::Rechunk { .. } => "rechunk".into(),
            Layer::Transpose { .. } => "transpose".into(),
            Layer::Concatenate { .. } => "concatenate".into(),
            Layer::Inline { input } => format!("inline {}", input.label()),
            Layer::Task(t) => t.label(),
            Layer::FromDelayed { .. } => "from-delayed".into(),
        }
    }

    /// Whether this node is a task (its value is not an array).
    pub fn is_task(&self) -> bool {
        matches!(self.layer(), Layer::Task(_))
    }

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
        let mut lengths = Vec::new();
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
            lengths.extend(n.chunks().axis(axis).lengths());
        }
        let chunks = first
            .chunks()
            .clone()
            .with_axis(axis, AxisChunks::from_lengths(&lengths));
        let dtype = first.dtype();
        Ok(Node::make(
            Layer::Concatenate { inputs, axis },
            Meta { chunks, dtype },
        ))
    }
}

fn hash_layer(layer: &Layer, h: &mut FxHasher) {
    std::mem::discriminant(layer).hash(h);
    match layer {
        Layer::FromArray { data } => {
            data.dtype().hash(h);
            crate::with_array!(data, a => {
                a.shape().hash(h);
                for v in a.iter() {
                    h.write_u64(crate::array::Element::to_scalar(*v).hash_bits());
                }
            })
        }
        Layer::Full { value } => value.hash_bits().hash(h),
        Layer::Random { seed, dist, window } => {
            seed.hash(h);
            window.hash(h);
            match dist {
                Distribution::Uniform { low, high } => (0u8, low.to_bits(), high.to_bits()).hash(h),
                Distribution::Normal { mean, std } => (1u8, mean.to_bits(), std.to_bits()).hash(h),
            }
        }
        Layer::Arange { start, step } => (start.to_bits(), step.to_bits()).hash(h),
        Layer::Read { source, window } => {
            (&source.location, &source.shape, source.dtype).hash(h);
            window.hash(h);
        }
        Layer::Blockwise(b) => {
            b.out_ind.hash(h);
            for (n, ind) in &b.inputs {
                n.id().hash(h);
                ind.hash(h);
            }
            b.new_axes.hash(h);
            match &b.kernel {
                Kernel::Program(p) => serde_json::to_string(&**p)
                    .expect("programs serialize")
                    .hash(h),
                Kernel::Contract => 1u8.hash(h),
                Kernel::Named(k) => k.name.hash(h),
            }
        }
        Layer::Reduction(r) => {
            r.input.id().hash(h);
            r.op.hash(h);
            r.axes.hash(h);
            r.keepdims.hash(h);
            r.split_every.hash(h);
        }
        Layer::Slice { input, items } => {
            input.id().hash(h);
            items.hash(h);
        }
        Layer::Rechunk { input } => input.id().hash(h),
        Layer::Transpose { input, perm } => {
            input.id().hash(h);
            perm.hash(h);
        }
        Layer::Concatenate { inputs, axis } => {
            for n in inputs {
                n.id().hash(h);
            }
            axis.hash(h);
        }
        Layer::Inline { input } => input.id().hash(h),
        Layer::Task(t) => {
            t.func.name.hash(h);
            t.key.hash(h);
            for a in &t.args {
                match a {
                    TaskArg::Node(n) => n.id().hash(h),
                    TaskArg::Value(v) => (Arc::as_ptr(v) as *const () as usize).hash(h),
                }
            }
        }
        Layer::FromDelayed { parts } => {
            for p in parts {
                p.id().hash(h);
            }
        }
    }
}

/// All nodes reachable from `roots`, each once, inputs before the nodes that use them.
pub fn topo_order(roots: &[Node]) -> Vec<Node> {
    order_by(roots, |n| n.inputs().into_iter().cloned().collect())
}

/// The nodes that get tasks when `roots` are lowered, dependencies first: like
/// [`topo_order`] but following [`Node::dep_nodes`], so inlined layers are skipped.
pub fn dep_order(roots: &[Node]) -> Vec<Node> {
    order_by(roots, Node::dep_nodes)
}

fn order_by(roots: &[Node], inputs_of: impl Fn(&Node) -> Vec<Node>) -> Vec<Node> {
    let mut seen = rustc_hash::FxHashSet::default();
    let mut out = Vec::new();
    // Iterative DFS: (node, next input to visit).
    let mut stack: Vec<(Node, usize)> = Vec::new();
    for r in roots {
        if !seen.insert(r.id()) {
            continue;
        }
        stack.push((r.clone(), 0));
        while let Some((n, i)) = stack.last_mut() {
            let inputs = inputs_of(n);
            if *i < inputs.len() {
                let next = inputs[*i].clone();
                *i += 1;
                if seen.insert(next.id()) {
                    stack.push((next, 0));
                }
            } else {
                let (n, _) = stack.pop().expect("stack is not empty");
                out.push(n);
            }
        }
    }
    out
}
