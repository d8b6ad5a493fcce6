//! # chunkwise-passes
//!
//! Rewrites of the layer graph and its lowering to a task graph.
//!
//! Every optimization is a [`Pass`] in its own module, with a before/after example in its
//! documentation; the [`PassManager`] runs them in phases and records per-pass statistics.
//! The pipeline: [`PassManager::standard`] → [`lower()`].
//!
//! | pass | module |
//! |---|---|
//! | common-subexpression elimination | [`cse`] |
//! | slice of slice, identity slices | [`slice_fusion`] |
//! | transpose of transpose | [`transpose_fusion`] |
//! | transposes read through blockwise index notation | [`transpose_blockwise`] |
//! | slice pushdown into elementwise work and sources | [`slice_pushdown`] |
//! | linear and diamond blockwise fusion | [`blockwise_fusion`] |
//! | sources computed in their consumer's task | [`root_fusion`] |
//! | elementwise work computed in a reduction's chunk step | [`reduction_fusion`] |
//! | linear chains of delayed calls as one task | [`task_fusion`] |
//!
//! Culling is the block-demand analysis of [`cull`], applied by lowering.

#![warn(missing_docs)]

pub mod blockwise_fusion;
#[cfg(test)]
mod blockwise_fusion_tests;
pub mod cse;
pub mod cull;
pub mod lower;
pub mod manager;
pub mod pass;
pub mod reduction_fusion;
pub mod root_fusion;
pub mod slice_fusion;
pub mod slice_pushdown;
pub mod stats;
pub mod task_fusion;
#[cfg(test)]
mod testing;
pub mod transpose_blockwise;
pub mod transpose_fusion;

pub use lower::{lower, lower_blocks, lower_limited, LowerError};
pub use manager::{Optimized, PassManager, PassRecord, Report};
pub use pass::{Pass, PassError};
pub use stats::Stats;
