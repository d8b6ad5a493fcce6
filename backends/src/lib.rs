//! # chunkwise-backends
//!
//! Chunk storage and kernels behind one seam, the [`Backend`] trait: a backend computes a
//! task (stage + input values -> value) and says where its values live ([`Location`]) and
//! how much memory it has ([`MemoryInfo`]). The [`cpu`] backend ([`cpu::CpuBackend`])
//! keeps chunks as `ndarray` arrays in host memory and evaluates every stage of a task
//! graph; a CUDA backend will add device-resident chunks as another [`Value`] variant.

#![warn(missing_docs)]

mod backend;
pub mod cpu;
mod error;
mod value;

pub use backend::{Backend, Location, MemoryInfo};
pub use cpu::gather::assemble;
pub use error::KernelError;
pub use value::{SpillFile, Value};
