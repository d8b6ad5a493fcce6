//! Arrays read from storage (Zarr): the [`RegionReader`] a read layer calls, and the typed
//! [`StoreError`] every storage failure is reported with.
//!
//! The IR knows a stored array only through its reader, so it does not depend on any
//! storage crate: the `chunkwise` crate opens Zarr stores (with `zarrs`) and hands the IR a
//! reader. Any region can be read on its own, so read layers cull, slice and fuse like the
//! other sources.

use crate::array::DynArray;
use crate::dtype::DType;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

/// What went wrong with a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StoreErrorKind {
    /// No array at that path (no store, or no array metadata).
    Missing,
    /// The metadata cannot be read (malformed, or an array the reader does not support).
    BadMetadata,
    /// The array's data type is not one of chunkwise's dtypes.
    UnsupportedDtype,
    /// A codec of the array is not supported.
    UnsupportedCodec,
    /// A chunk could not be decoded.
    CorruptChunk,
    /// Reading or writing the storage failed.
    Io,
    /// A write was refused (the target exists, or its chunks do not align with the blocks).
    Refused,
}

/// A storage failure, naming the store and, where one is involved, the chunk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreError {
    /// The kind of failure.
    pub kind: StoreErrorKind,
    /// The store (its path).
    pub store: String,
    /// Grid coordinates of the chunk involved, if any.
    pub chunk: Option<Vec<u64>>,
    /// Details.
    pub message: String,
}

impl StoreError {
    /// A failure of `kind` in `store`.
    pub fn new(kind: StoreErrorKind, store: impl Into<String>, message: impl Into<String>) -> Self {
        StoreError {
            kind,
            store: store.into(),
            chunk: None,
            message: message.into(),
        }
    }

    /// The same failure, at chunk `chunk`.
    pub fn at_chunk(mut self, chunk: &[u64]) -> Self {
        self.chunk = Some(chunk.to_vec());
        self
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            StoreErrorKind::Missing => "no array",
            StoreErrorKind::BadMetadata => "bad metadata",
            StoreErrorKind::UnsupportedDtype => "unsupported data type",
            StoreErrorKind::UnsupportedCodec => "unsupported codec",
            StoreErrorKind::CorruptChunk => "corrupt chunk",
            StoreErrorKind::Io => "storage error",
            StoreErrorKind::Refused => "write refused",
        };
        write!(f, "{what} in store {}", self.store)?;
        if let Some(c) = &self.chunk {
            write!(f, ", chunk {c:?}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for StoreError {}

/// Reads regions of a stored array.
pub trait RegionReader: Send + Sync {
    /// Reads `ranges` (one per axis, in the stored array's coordinates, within its shape)
    /// as an array of the stored dtype and of the ranges' shape. Missing chunks read as the
    /// array's fill value.
    fn read(&self, ranges: &[Range<u64>]) -> Result<DynArray, StoreError>;
}

/// A stored array: where it is, its shape and dtype, its chunks in the store, and the reader
/// of its regions. Two stored arrays are equal when they name the same array.
#[derive(Clone)]
pub struct Stored {
    /// The store path (and the array's path inside it, when not the root).
    pub location: String,
    /// Format and codecs, for display (`zarr v3, zstd`).
    pub format: String,
    /// Shape of the stored array.
    pub shape: Vec<u64>,
    /// Chunk shape in the store (shards for sharded arrays).
    pub store_chunks: Vec<u64>,
    /// Element type.
    pub dtype: DType,
    /// The reader.
    pub reader: Arc<dyn RegionReader>,
}

impl PartialEq for Stored {
    fn eq(&self, other: &Stored) -> bool {
        (&self.location, &self.shape, self.dtype) == (&other.location, &other.shape, other.dtype)
    }
}

impl fmt::Debug for Stored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stored")
            .field("location", &self.location)
            .field("format", &self.format)
            .field("shape", &self.shape)
            .field("store_chunks", &self.store_chunks)
            .field("dtype", &self.dtype)
            .finish()
    }
}
