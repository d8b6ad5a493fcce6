//! Zarr in and out, through the `zarrs` crate: [`Array::from_zarr`] and [`Array::to_zarr`].
//!
//! **Reading.** A Zarr array (V2 or V3, on a local filesystem store; dtypes bool, int8 to
//! int64, uint8 to uint64, float32, float64, complex64, complex128; codecs blosc, zstd, gzip, zlib, sharding)
//! becomes a `read-zarr` source layer. Its compute chunks may differ from the store's
//! chunks: each task reads exactly its region, decoding only the chunks (or, in sharded
//! arrays, the inner chunks) that hold it.
//! Slices are pushed into the read (only the selected region is read) and the read runs in
//! the task of the blockwise work after it (root fusion: read, decode and compute in one
//! task). Missing chunks read as the fill value.
//!
//! **Writing.** [`Array::to_zarr`] is a graph sink: one task per block encodes and stores
//! that block's chunks as soon as the block is computed, so blocks are never collected. The
//! compute blocks must cover whole store chunks (shards), so that no two tasks write one
//! chunk.
//!
//! **The completeness rule.** The array's metadata (`zarr.json`, or `.zarray` for V2) is
//! written *last*, after every chunk has been stored; a Zarr reader does not see an array
//! without it. A write that fails removes the directory it created; one that is killed
//! leaves a directory without metadata, which no reader takes for an array. A store that
//! reads back is therefore always complete.
//!
//! **Errors** are [`StoreError`]s (wrapped in [`Error::Store`], or in [`Error::Task`] when a
//! chunk fails while a graph runs) that name the store and the chunk: missing store,
//! unsupported dtype or codec, corrupt chunk, storage failure.
//!
//! ```
//! use chunkwise::{Array, zarr::{ZarrWrite, Codec}};
//! let dir = std::env::temp_dir().join(format!("cw-doc-{}.zarr", std::process::id()));
//! let x = Array::random_uniform(&[100, 40], &[25, 40], 1).unwrap();
//! x.to_zarr(&dir, &ZarrWrite { codec: Codec::Zstd { level: 3 }, ..ZarrWrite::default() }).unwrap();
//! let back = Array::from_zarr(&dir).unwrap();
//! assert_eq!(back.compute::<f64>().unwrap(), x.compute::<f64>().unwrap());
//! std::fs::remove_dir_all(&dir).unwrap();
//! ```
//!
//! [`Array::from_zarr`]: crate::Array::from_zarr
//! [`Array::to_zarr`]: crate::Array::to_zarr
//! [`StoreError`]: chunkwise_ir::StoreError
//! [`Error::Store`]: crate::Error::Store
//! [`Error::Task`]: crate::Error::Task

mod read;
mod rechunk;
mod write;

pub use read::open;
pub use rechunk::{plan_rechunk, rechunk_zarr, RechunkPlan, RechunkStage};
pub use write::{BloscCompressor, Codec, ZarrFormat, ZarrWrite, ZarrWriter};

use chunkwise_ir::{StoreError, StoreErrorKind};
use std::path::Path;
use zarrs::array::{ArrayCreateError, ArrayError};
use zarrs::filesystem::FilesystemStore;

type ZArray = zarrs::array::Array<FilesystemStore>;

fn store_name(path: &Path) -> String {
    path.display().to_string()
}

/// The kind of an error raised while opening an array.
fn create_error(store: &str, e: ArrayCreateError) -> StoreError {
    let kind = match &e {
        ArrayCreateError::MissingMetadata => StoreErrorKind::Missing,
        ArrayCreateError::DataTypeCreateError(_) => StoreErrorKind::UnsupportedDtype,
        ArrayCreateError::CodecsCreateError(_) => StoreErrorKind::UnsupportedCodec,
        ArrayCreateError::UnsupportedZarrV2Array(m) => {
            let m = m.to_lowercase();
            if m.contains("data type") || m.contains("dtype") {
                StoreErrorKind::UnsupportedDtype
            } else if m.contains("codec") || m.contains("compressor") || m.contains("filter") {
                StoreErrorKind::UnsupportedCodec
            } else {
                StoreErrorKind::BadMetadata
            }
        }
        ArrayCreateError::StorageError(_) => StoreErrorKind::Io,
        _ => StoreErrorKind::BadMetadata,
    };
    StoreError::new(kind, store, e.to_string())
}

/// The kind of an error raised while reading or writing chunks.
fn array_error(store: &str, e: ArrayError) -> StoreError {
    let kind = match &e {
        ArrayError::StorageError(_) => StoreErrorKind::Io,
        _ => StoreErrorKind::CorruptChunk,
    };
    StoreError::new(kind, store, e.to_string())
}
