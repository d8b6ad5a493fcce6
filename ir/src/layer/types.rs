//! The layer types: [`Layer`] and its parts ([`Meta`], [`Blockwise`], [`Reduction`], ...).

use super::Node;
use crate::array::DynArray;
use crate::delayed::TaskLayer;
use crate::dtype::{DType, Scalar};
use crate::grid::ChunkGrid;
use crate::kernel::NamedKernel;
use crate::program::Program;
use crate::slice::SliceItem;
use crate::stored::Stored;
use serde::{Deserialize, Serialize};
use std::hash::Hash;
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
    /// One of every operation (var with `ddof` 0, std with `ddof` 1), for tests and
    /// examples that go over all of them.
    pub const EVERY_KIND: [ReduceOp; 11] = [
        ReduceOp::Sum,
        ReduceOp::Prod,
        ReduceOp::Mean,
        ReduceOp::Var { ddof: 0 },
        ReduceOp::Std { ddof: 1 },
        ReduceOp::Min,
        ReduceOp::Max,
        ReduceOp::ArgMin,
        ReduceOp::ArgMax,
        ReduceOp::Any,
        ReduceOp::All,
    ];

    /// The output type for an input of type `dt` (NumPy's): sum and prod of floats keep the
    /// type, of unsigned integers give `u64`, of signed integers and bool `i64`; mean, var
    /// and std give `f64` (`f32` for `f32`); min and max keep the type; argmin and argmax
    /// give `i64`. Sum, prod and mean of complex types keep the type.
    pub fn output_dtype(self, dt: DType) -> DType {
        match self {
            ReduceOp::Sum | ReduceOp::Prod | ReduceOp::Mean if dt.is_complex() => dt,
            ReduceOp::Sum | ReduceOp::Prod if dt.is_float() => dt,
            ReduceOp::Sum | ReduceOp::Prod if dt.is_unsigned() => DType::U64,
            ReduceOp::Sum | ReduceOp::Prod => DType::I64,
            ReduceOp::Mean | ReduceOp::Var { .. } | ReduceOp::Std { .. } => match dt {
                DType::F32 => DType::F32,
                _ => DType::F64,
            },
            ReduceOp::Min | ReduceOp::Max => dt,
            ReduceOp::ArgMin | ReduceOp::ArgMax => DType::I64,
            ReduceOp::Any | ReduceOp::All => DType::Bool,
        }
    }

    /// Whether the operation is defined for complex inputs: not the orderings (min, max,
    /// argmin, argmax) and not var and std (the standard requires them for real types only).
    pub fn takes_complex(self) -> bool {
        matches!(
            self,
            ReduceOp::Sum | ReduceOp::Prod | ReduceOp::Mean | ReduceOp::Any | ReduceOp::All
        )
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
