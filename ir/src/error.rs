//! Errors raised while building or reading a graph.

use crate::stored::StoreError;
use thiserror::Error;

/// An error in building, checking or reading a layer graph. Every variant names the problem.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum IrError {
    /// Chunk sizes that do not fit the shape.
    #[error("invalid chunks: {0}")]
    InvalidChunks(String),
    /// Shapes that cannot be combined (broadcasting, matmul, concatenate).
    #[error("shape mismatch: {0}")]
    ShapeMismatch(String),
    /// An axis number out of range, repeated, or a bad permutation.
    #[error("invalid axis: {0}")]
    InvalidAxis(String),
    /// A bad slice or index (out of range integer, zero step, too many indices).
    #[error("invalid slice: {0}")]
    InvalidSlice(String),
    /// An operation that does not accept the given element type.
    #[error("unsupported dtype: {0}")]
    UnsupportedDType(String),
    /// A dtype name that chunkwise does not know.
    #[error(
        "unknown dtype {0:?} (expected one of bool, i8, u8, i16, u16, i32, u32, i64, u64, f32, \
         f64, or the names int8, uint8, ..., float64)"
    )]
    UnknownDType(String),
    /// A blockwise layer whose index notation is inconsistent.
    #[error("invalid blockwise layer: {0}")]
    InvalidBlockwise(String),
    /// A named kernel that is not registered in this process.
    #[error("unknown kernel {0:?}: register it with chunkwise_ir::register_kernel before loading the graph")]
    UnknownKernel(String),
    /// A graph file that cannot be read.
    #[error("malformed graph file: {0}")]
    MalformedGraph(String),
    /// Any other invalid argument.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A stored array that cannot be opened (missing, unsupported dtype or codec...).
    #[error(transparent)]
    Store(#[from] StoreError),
}
