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
//!
//! [`IrError`]: crate::error::IrError

mod build;
mod node;
mod types;

pub use build::MAX_BLOCK_ELEMENTS;
pub use node::{dep_order, topo_order, Node};
pub use types::{
    Blockwise, Distribution, Kernel, Layer, Meta, NodeId, ReduceOp, Reduction, Sym, Window,
};
