//! # chunkwise
//!
//! A graph compiler and runtime for chunked (out-of-core, multi-core) array computing, in
//! the spirit of Dask, in Rust.
//!
//! Collections ([`Array`]) build *layers* of a high-level graph ([`chunkwise_ir`]); the graph
//! is lowered to a compact task graph ([`chunkwise_passes`]) and run in parallel with a
//! memory-friendly static order ([`chunkwise_runtime`]) on the CPU backend
//! ([`chunkwise_backends`]). The whole pipeline is [`compute::compute_nodes`].
//!
//! ```
//! use chunkwise::{Array, s};
//! // A 4000 x 4000 random array in 16 chunks; nothing is computed yet.
//! let x = Array::random_uniform(&[4000, 4000], &[1000, 1000], 7).unwrap();
//! let y = (&x - 0.5) * 2.0;
//! let col_means = y.mean(Some(&[0]), false).unwrap();
//! let first = col_means.slice(&[s(..3)]).unwrap().compute::<f64>().unwrap();
//! assert_eq!(first.shape(), &[3]);
//! assert!(first.iter().all(|m| m.abs() < 0.1));
//! ```

#![warn(missing_docs)]

pub mod array;
pub mod compute;
pub mod delayed;
pub mod distance;
pub mod engine;
mod error;
pub mod linalg;
pub mod npy;
mod spill;
pub mod trace;
pub mod visualize;
pub mod zarr;

pub use array::{compute_all, optimize, plan_all, s, Array, Operand, Repeats};
pub use chunkwise_backends::Value;
pub use chunkwise_ir::program::{BinaryOp, CmpOp, UnaryOp};
pub use chunkwise_ir::slice::SliceArg;
pub use chunkwise_ir::{
    DType, Distribution, DynArray, Element, ReduceOp, Scalar, StoreError, StoreErrorKind,
};
pub use chunkwise_passes::{PassManager, Report, Stats};
pub use chunkwise_runtime::Progress;
pub use compute::ComputeOptions;
pub use error::{Error, Result};
pub use trace::{TaskEvent, Trace};
