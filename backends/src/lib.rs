//! # chunkwise-backends
//!
//! Chunk storage and kernels. The [`cpu`] backend keeps chunks as `ndarray` arrays and
//! evaluates every stage of a task graph; a CUDA backend will add device-resident chunks as
//! another [`Value`] variant.

#![warn(missing_docs)]

pub mod cpu;
mod error;
mod value;

pub use error::KernelError;
pub use value::{SpillFile, Value};
