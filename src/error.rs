use crate::npy::NpyError;
use chunkwise_backends::KernelError;
use chunkwise_ir::{DType, IrError, StoreError};
use chunkwise_passes::{LowerError, PassError};
use thiserror::Error;

/// Any chunkwise error. Every variant names the problem; task failures name the layer and
/// the block.
#[derive(Debug, Error)]
pub enum Error {
    /// Building the graph failed (shape or chunk mismatch, bad slice, bad axis, dtype...).
    #[error(transparent)]
    Graph(#[from] IrError),
    /// Lowering failed.
    #[error(transparent)]
    Lower(#[from] LowerError),
    /// An optimization pass failed.
    #[error(transparent)]
    Pass(#[from] PassError),
    /// A task failed while running.
    #[error("task {layer} block {block:?} failed: {source}{}", inputs_text(inputs))]
    Task {
        /// Label of the failing layer (and reduction step); for a delayed call, its key
        /// `name-key`.
        layer: String,
        /// Block coordinates.
        block: Vec<u64>,
        /// Labels of the layers (or delayed calls) the task read.
        inputs: Vec<String>,
        /// What went wrong.
        #[source]
        source: KernelError,
    },
    /// A task panicked (a bug in a kernel or a user closure); the run was stopped cleanly.
    #[error(
        "task {layer} block {block:?} panicked: {message}{}",
        inputs_text(inputs)
    )]
    Panicked {
        /// Label of the failing layer.
        layer: String,
        /// Block coordinates.
        block: Vec<u64>,
        /// Labels of the layers (or delayed calls) the task read.
        inputs: Vec<String>,
        /// The panic message.
        message: String,
    },
    /// A task of the graph is projected to need more memory than the limit
    /// ([`crate::ComputeOptions::memory_limit`]); nothing was run.
    #[error(
        "layer {layer} needs about {projected} bytes per task (inputs, output and \
         temporaries, and the arrays results computed to memory are assembled into), over \
         the memory limit of {limit} bytes: use smaller chunks"
    )]
    MemoryLimit {
        /// Label of the layer.
        layer: String,
        /// Projected bytes of one of its tasks (for results computed to memory, plus the
        /// arrays they are assembled into, which the run holds beside it).
        projected: u64,
        /// The limit.
        limit: u64,
    },
    /// The requested outputs alone take more memory than the limit: the arrays results
    /// computed to memory are assembled into, or the blocks a run that returns blocks
    /// holds until it ends; nothing was run.
    #[error(
        "the outputs need about {projected} bytes held at once ({what}), over the memory \
         limit of {limit} bytes: request fewer or smaller outputs, or write them to Zarr"
    )]
    OutputsOverMemoryLimit {
        /// What is counted: the assembled arrays, or the blocks.
        what: &'static str,
        /// Projected bytes.
        projected: u64,
        /// The limit.
        limit: u64,
    },
    /// The task graph handed to the runtime is malformed (bad CSR shape, an id out of
    /// range, a cycle): a bug in whatever built it, since lowering makes valid graphs.
    #[error("invalid task graph: {0}")]
    InvalidGraph(String),
    /// The run was cancelled.
    #[error("the computation was cancelled")]
    Cancelled,
    /// An engine plan was used wrongly (an engine task that does not exist, a value
    /// missing or not expected, bad options; [`crate::engine`]).
    #[error("engine plan: {0}")]
    Engine(String),
    /// The result's dtype is not the requested Rust type.
    #[error("the array is {actual}, not {requested} (use astype first)")]
    DTypeMismatch {
        /// The array's type.
        actual: DType,
        /// The type asked for.
        requested: DType,
    },
    /// Reading or writing a .npy file failed.
    #[error(transparent)]
    Npy(#[from] NpyError),
    /// Opening, reading or writing a stored (Zarr) array failed; names the store and chunk.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Reading or writing a graph file failed.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
}

fn inputs_text(inputs: &[String]) -> String {
    if inputs.is_empty() {
        String::new()
    } else {
        format!(" (inputs: {})", inputs.join(", "))
    }
}

impl Error {
    /// The storage failure behind this error, if any: raised directly, while building a
    /// graph, or by a task that read a chunk.
    pub fn store_error(&self) -> Option<&StoreError> {
        match self {
            Error::Store(e) | Error::Graph(IrError::Store(e)) => Some(e),
            Error::Task {
                source: KernelError::Store(e),
                ..
            } => Some(e.as_ref()),
            _ => None,
        }
    }
}

/// `Result` with [`enum@Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
