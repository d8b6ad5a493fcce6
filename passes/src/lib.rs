//! # chunkwise-passes
//!
//! Rewrites of the layer graph and its lowering to a task graph. This release has the
//! lowering ([`lower()`]); optimization passes (culling, fusion, slice pushdown, CSE) build
//! on the same [`chunkwise_ir::Stage`] block mappings.

#![warn(missing_docs)]

pub mod lower;

pub use lower::{lower, lower_blocks, LowerError};
