//! # chunkwise-ir
//!
//! The intermediate representation of chunkwise: element types ([`DType`]), chunk grids
//! ([`ChunkGrid`]), layers of the high-level graph ([`Node`], [`Layer`]), expression
//! programs ([`program::Program`]), the lowered [`TaskGraph`], and their serialization
//! ([`serial`]). Nothing here executes or optimizes; see `chunkwise-passes` and
//! `chunkwise-runtime`.
//!
//! ```
//! use chunkwise_ir::{ChunkGrid, DType, Node, Scalar};
//! let grid = ChunkGrid::regular(&[1_000_000, 1_000_000], &[1000, 1000]).unwrap();
//! let ones = Node::full(grid, DType::F64, Scalar::F64(1.0)).unwrap();
//! assert_eq!(ones.chunks().total_blocks(), 1_000_000);
//! ```

#![warn(missing_docs)]

pub mod array;
pub mod delayed;
pub mod dtype;
pub mod dump;
pub mod error;
pub mod grid;
pub mod kernel;
pub mod layer;
pub mod mapping;
pub mod memory;
pub mod program;
pub mod serial;
pub mod slice;
pub mod stored;
pub mod task;

pub use array::{DynArray, Element};
pub use dtype::{Complex32, Complex64, DType, Kind, Scalar};
pub use error::IrError;
pub use grid::{AxisChunks, ChunkGrid};
pub use kernel::{
    lookup_kernel, register_kernel, register_reshaping_kernel, KernelCall, NamedKernel,
};
pub use layer::{
    topo_order, Blockwise, Distribution, Kernel, Layer, Meta, Node, NodeId, ReduceOp, Reduction,
    Sym, Window,
};
pub use stored::{RegionReader, StoreError, StoreErrorKind, Stored};
pub use task::{GraphOutput, Stage, StageOp, TaskGraph};
