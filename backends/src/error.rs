use chunkwise_ir::StoreError;
use thiserror::Error;

/// A kernel failure; the runtime adds the layer and block it happened in.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum KernelError {
    /// A kernel received inputs it cannot use (wrong dtype, shape or value kind).
    #[error("{0}")]
    BadInput(String),
    /// A user kernel (map_blocks closure) returned an error.
    #[error("kernel {name:?} failed: {message}")]
    User {
        /// Kernel name.
        name: String,
        /// Its message.
        message: String,
    },
    /// Reading a stored array failed (names the store and chunk).
    #[error(transparent)]
    Store(Box<StoreError>),
    /// An allocation the system refused (the memory an array needs is not available).
    #[error("cannot allocate {bytes} bytes for {what}")]
    OutOfMemory {
        /// What the memory was for.
        what: &'static str,
        /// The bytes asked for.
        bytes: u64,
    },
}

impl From<StoreError> for KernelError {
    fn from(e: StoreError) -> Self {
        KernelError::Store(Box::new(e))
    }
}
