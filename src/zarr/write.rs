//! Writing: [`ZarrWrite`] options and [`Array::to_zarr`]: a task per block, metadata last.

use super::{array_error, create_error, store_name, ZArray};
use crate::delayed::{try_call1, Delayed};
use crate::error::{Error, Result};
use crate::{Array, ComputeOptions};
use chunkwise_ir::{DType, DynArray, StoreError, StoreErrorKind};
use serde_json::json;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use zarrs::array::{ArrayMetadata, ArraySubset, CodecOptions};
use zarrs::filesystem::FilesystemStore;

/// The Zarr format version to write.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ZarrFormat {
    /// Zarr V2 (`.zarray`).
    V2,
    /// Zarr V3 (`zarr.json`).
    #[default]
    V3,
}

/// The blosc compressor inside [`Codec::Blosc`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BloscCompressor {
    /// LZ4.
    Lz4,
    /// Zstandard.
    Zstd,
}

/// The compression codec of a written array.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Codec {
    /// Uncompressed.
    None,
    /// Zstandard at `level` (1 to 22).
    Zstd {
        /// Compression level.
        level: i32,
    },
    /// Gzip at `level` (0 to 9).
    Gzip {
        /// Compression level.
        level: u32,
    },
    /// Blosc with byte shuffling.
    Blosc {
        /// Inner compressor.
        cname: BloscCompressor,
        /// Compression level (0 to 9).
        clevel: u8,
    },
}

/// Options of [`Array::to_zarr`].
#[derive(Clone, Debug, PartialEq)]
pub struct ZarrWrite {
    /// Format version (V3 by default).
    pub format: ZarrFormat,
    /// Compression (zstd level 3 by default).
    pub codec: Codec,
    /// Chunk shape in the store; by default the array's (regular) compute chunks. Each
    /// compute block must cover whole store chunks (or shards).
    pub chunks: Option<Vec<u64>>,
    /// V3 only: write sharded, with shards of this shape (each a whole number of
    /// `chunks`, which are then the inner chunks).
    pub shards: Option<Vec<u64>>,
    /// Replace an existing Zarr array at the path (never anything that is not one).
    pub overwrite: bool,
    /// V3 only (on by default): end each chunk's codec chain with the `crc32c` checksum
    /// codec, so a chunk whose stored bytes changed reads as a `CorruptChunk` store error
    /// naming it instead of as wrong data. Ignored for V2: numcodecs' `crc32c` would have to
    /// be a V2 filter, which zarrs (the reader here) cannot decode there.
    pub checksum: bool,
}

impl Default for ZarrWrite {
    fn default() -> Self {
        ZarrWrite {
            format: ZarrFormat::V3,
            codec: Codec::Zstd { level: 3 },
            chunks: None,
            shards: None,
            overwrite: false,
            checksum: true,
        }
    }
}

impl Array {
    /// Computes this array and writes it as a Zarr array at `path`, block by block, in
    /// parallel; the metadata is written last (see the [`zarr`](crate::zarr) module).
    pub fn to_zarr(&self, path: impl AsRef<Path>, opts: &ZarrWrite) -> Result<()> {
        self.to_zarr_with(path, opts, &ComputeOptions::default())
    }

    /// [`Array::to_zarr`] with the run's options: threads, progress, cancellation, trace,
    /// memory limit.
    pub fn to_zarr_with(
        &self,
        path: impl AsRef<Path>,
        opts: &ZarrWrite,
        run: &ComputeOptions<'_>,
    ) -> Result<()> {
        let writer = ZarrWriter::create(self, path, opts)?;
        let result = crate::compute_all(&[writer.writes()], run).and_then(|_| writer.finish());
        if result.is_err() {
            writer.abort();
        }
        result
    }
}

/// A Zarr write in three steps, for engines that compute elsewhere (a Dask cluster):
/// [`ZarrWriter::create`] checks the options and prepares the directory,
/// [`ZarrWriter::writes`] is an array whose computation stores every block (whole store
/// chunks, so computing a block again rewrites the same bytes), and
/// [`ZarrWriter::finish`] writes the metadata, last, once every block is in: a store
/// whose writes did not all finish never reads as complete. [`Array::to_zarr_with`] is the
/// three steps run locally.
///
/// ```
/// use chunkwise::zarr::{ZarrWrite, ZarrWriter};
/// use chunkwise::Array;
/// let dir = tempfile::tempdir().unwrap();
/// let x = Array::from_ndarray(ndarray::Array1::from_iter(0..10i64), &[5]).unwrap();
/// let path = dir.path().join("x.zarr");
/// let w = ZarrWriter::create(&x, &path, &ZarrWrite::default()).unwrap();
/// // The marker array: one element per block, 1 once the block is stored.
/// assert_eq!(w.writes().compute::<u8>().unwrap().iter().copied().collect::<Vec<u8>>(), vec![1, 1]);
/// assert!(Array::from_zarr(&path).is_err(), "no metadata yet");
/// w.finish().unwrap();
/// assert_eq!(Array::from_zarr(&path).unwrap().compute::<i64>().unwrap(), x.compute::<i64>().unwrap());
/// ```
pub struct ZarrWriter {
    plan: WritePlan,
    writes: Array,
}

impl ZarrWriter {
    /// Checks `opts` against `a` and prepares the directory at `path` (refusing a path
    /// that holds anything but a Zarr array; removing one with `overwrite`).
    pub fn create(a: &Array, path: impl AsRef<Path>, opts: &ZarrWrite) -> Result<ZarrWriter> {
        let writer = ZarrWriter::describe(a, path, opts)?;
        prepare_dir(&writer.plan.path, opts.overwrite)?;
        Ok(writer)
    }

    /// [`ZarrWriter::create`] without touching the directory: the same writes array, for a
    /// process that computes blocks of a write another process prepared.
    pub fn describe(a: &Array, path: impl AsRef<Path>, opts: &ZarrWrite) -> Result<ZarrWriter> {
        let plan = WritePlan::new(a, path.as_ref(), opts)?;
        let writes = plan.writes(a)?;
        Ok(ZarrWriter { plan, writes })
    }

    /// The array (`u8`, one element per block of the written array, in C order) whose
    /// computation stores the blocks; its value is 1 per stored block.
    pub fn writes(&self) -> &Array {
        &self.writes
    }

    /// Writes the metadata (to a temporary file, renamed into place): call it once every
    /// block is stored.
    pub fn finish(&self) -> Result<()> {
        self.plan.finish()
    }

    /// Removes the directory of a write that failed.
    pub fn abort(&self) {
        let _ = std::fs::remove_dir_all(&self.plan.path);
    }
}

/// Refuses a path holding anything but a Zarr array (or nothing); with `overwrite`, removes
/// an existing array. Creates the directory.
fn prepare_dir(path: &Path, overwrite: bool) -> Result<()> {
    let name = store_name(path);
    let refuse = |m: &str| Error::Store(StoreError::new(StoreErrorKind::Refused, &name, m));
    if path.exists() {
        let is_array = path.join("zarr.json").is_file() || path.join(".zarray").is_file();
        let empty = path
            .read_dir()
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        if !empty {
            if !is_array {
                return Err(refuse("the path exists and is not a Zarr array"));
            }
            if !overwrite {
                return Err(refuse("a Zarr array exists there (set overwrite)"));
            }
            std::fs::remove_dir_all(path).map_err(|e| refuse(&e.to_string()))?;
        }
    }
    std::fs::create_dir_all(path)
        .map_err(|e| Error::Store(StoreError::new(StoreErrorKind::Io, &name, e.to_string())))
}

/// A checked write: the array metadata to store last, and the store array to write into.
struct WritePlan {
    metadata: serde_json::Value,
    store: String,
    path: PathBuf,
}

fn fill(d: DType) -> serde_json::Value {
    match d {
        DType::Bool => json!(false),
        DType::F32 | DType::F64 => json!(0.0),
        DType::C64 | DType::C128 => json!([0.0, 0.0]),
        _ => json!(0),
    }
}

fn blosc_name(c: BloscCompressor) -> &'static str {
    match c {
        BloscCompressor::Lz4 => "lz4",
        BloscCompressor::Zstd => "zstd",
    }
}

impl WritePlan {
    fn new(a: &Array, path: &Path, opts: &ZarrWrite) -> Result<WritePlan> {
        let store = store_name(path);
        let refuse = |m: String| Error::Store(StoreError::new(StoreErrorKind::Refused, &store, m));
        let grid = a.chunks()?;
        let shape = a.shape();
        let dtype = a.dtype();
        let chunks = match &opts.chunks {
            Some(c) => c.clone(),
            None => (0..shape.len())
                .map(|ax| {
                    let axis = grid.axis(ax);
                    let lens = axis.lengths();
                    let c = lens.first().copied().unwrap_or(1).max(1);
                    // Regular: all but the last equal.
                    if lens.iter().rev().skip(1).any(|&l| l != c) {
                        return Err(refuse(format!(
                            "axis {ax} has irregular chunks {lens:?}: give ZarrWrite::chunks \
                             or rechunk"
                        )));
                    }
                    Ok(c)
                })
                .collect::<Result<Vec<u64>>>()?,
        };
        if chunks.len() != shape.len() || chunks.contains(&0) {
            return Err(refuse(format!(
                "chunks {chunks:?} do not fit the shape {shape:?}"
            )));
        }
        let unit = match (&opts.shards, opts.format) {
            (Some(_), ZarrFormat::V2) => {
                return Err(refuse("sharding needs Zarr V3".to_string()));
            }
            (Some(s), ZarrFormat::V3) => {
                if s.len() != shape.len()
                    || s.iter().zip(&chunks).any(|(&s, &c)| s == 0 || s % c != 0)
                {
                    return Err(refuse(format!(
                        "shards {s:?} are not whole numbers of chunks {chunks:?}"
                    )));
                }
                s.clone()
            }
            (None, _) => chunks.clone(),
        };
        // Every compute block must cover whole write units, so no two tasks write one.
        for (ax, &u) in unit.iter().enumerate() {
            let axis = grid.axis(ax);
            for b in 0..axis.num_blocks() {
                let r = axis.range(b);
                if r.start % u != 0 || (r.end % u != 0 && r.end != shape[ax]) {
                    return Err(refuse(format!(
                        "compute block {b} of axis {ax} ({r:?}) does not cover whole store \
                         chunks of {u}: rechunk to a multiple of {u}"
                    )));
                }
            }
        }
        let compressor_v3 = |itemsize: usize| match opts.codec {
            Codec::None => None,
            Codec::Zstd { level } => {
                Some(json!({"name": "zstd", "configuration": {"level": level, "checksum": false}}))
            }
            Codec::Gzip { level } => {
                Some(json!({"name": "gzip", "configuration": {"level": level}}))
            }
            Codec::Blosc { cname, clevel } => Some(json!({"name": "blosc", "configuration": {
                "cname": blosc_name(cname), "clevel": clevel, "shuffle": "shuffle",
                "typesize": itemsize, "blocksize": 0}})),
        };
        let itemsize = dtype.size();
        let bytes = if itemsize == 1 {
            json!({"name": "bytes"})
        } else {
            json!({"name": "bytes", "configuration": {"endian": "little"}})
        };
        let metadata = match opts.format {
            ZarrFormat::V2 => {
                let compressor = match opts.codec {
                    Codec::None => serde_json::Value::Null,
                    Codec::Zstd { level } => json!({"id": "zstd", "level": level}),
                    Codec::Gzip { level } => json!({"id": "gzip", "level": level}),
                    Codec::Blosc { cname, clevel } => json!({"id": "blosc",
                        "cname": blosc_name(cname), "clevel": clevel, "shuffle": 1, "blocksize": 0}),
                };
                json!({"zarr_format": 2, "shape": shape, "chunks": chunks,
                    "dtype": dtype.numpy_str(), "compressor": compressor, "fill_value": fill(dtype),
                    "order": "C", "filters": null})
            }
            ZarrFormat::V3 => {
                let mut inner = vec![bytes];
                inner.extend(compressor_v3(itemsize));
                if opts.checksum {
                    // Last, so it covers the bytes as stored (compressed).
                    inner.push(json!({"name": "crc32c"}));
                }
                let codecs = match &opts.shards {
                    None => inner,
                    Some(_) => vec![json!({"name": "sharding_indexed", "configuration": {
                        "chunk_shape": chunks, "codecs": inner,
                        "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}},
                                         {"name": "crc32c"}],
                        "index_location": "end"}})],
                };
                json!({"zarr_format": 3, "node_type": "array", "shape": shape,
                    "data_type": dtype.name(),
                    "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": unit}},
                    "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
                    "fill_value": fill(dtype), "codecs": codecs, "attributes": {}})
            }
        };
        Ok(WritePlan {
            metadata,
            store,
            path: path.to_path_buf(),
        })
    }

    /// The store array (nothing written yet).
    fn array(&self) -> Result<ZArray> {
        let store = FilesystemStore::new(&self.path).map_err(|e| {
            Error::Store(StoreError::new(
                StoreErrorKind::Io,
                &self.store,
                e.to_string(),
            ))
        })?;
        let metadata: ArrayMetadata =
            serde_json::from_value(self.metadata.clone()).map_err(|e| {
                Error::Store(StoreError::new(
                    StoreErrorKind::BadMetadata,
                    &self.store,
                    e.to_string(),
                ))
            })?;
        ZArray::new_with_metadata(Arc::new(store), "/", metadata)
            .map_err(|e| Error::Store(create_error(&self.store, e)))
    }

    /// The marker array whose blocks store the blocks of `a` (one task per block).
    fn writes(&self, a: &Array) -> Result<Array> {
        let array = Arc::new(self.array()?);
        let grid = a.chunks()?.clone();
        let writes: Vec<Delayed<ndarray::ArrayD<u8>>> = a
            .to_delayed_blocks()?
            .iter()
            .enumerate()
            .map(|(i, block)| {
                let mut coords = vec![0u64; grid.ndim()];
                chunkwise_ir::grid::unravel_into(i as u64, &grid.num_blocks(), &mut coords);
                let ranges = grid.block_ranges(&coords);
                let (array, store) = (array.clone(), self.store.clone());
                try_call1(
                    "write-zarr",
                    move |b: &DynArray| {
                        write_block(&array, &store, &ranges, b)
                            .map(|()| ndarray::arr1(&[1u8]).into_dyn())
                    },
                    block,
                )
            })
            .collect();
        let n = writes.len() as u64;
        Array::from_delayed(&writes, &[vec![1; n as usize]])
    }

    /// The metadata, last: written whole to a temporary file, then renamed into place (in
    /// the long form zarr-python reads: zarrs would shorten `{"name": "bytes"}`).
    fn finish(&self) -> Result<()> {
        let file = if self.metadata["zarr_format"] == 2 {
            ".zarray"
        } else {
            "zarr.json"
        };
        let io = |e: std::io::Error| {
            Error::Store(StoreError::new(
                StoreErrorKind::Io,
                &self.store,
                e.to_string(),
            ))
        };
        let tmp = self.path.join(format!("{file}.partial"));
        let text = serde_json::to_string_pretty(&self.metadata).expect("metadata serializes");
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, self.path.join(file)).map_err(io)
    }
}

/// Stores one computed block at `ranges`.
fn write_block(
    array: &ZArray,
    store: &str,
    ranges: &[Range<u64>],
    b: &DynArray,
) -> std::result::Result<(), StoreError> {
    let subset = ArraySubset::new_with_ranges(ranges);
    let opts = CodecOptions::default().with_concurrent_target(1);
    chunkwise_ir::with_array!(b, a => {
        let result = match a.as_slice() {
            Some(data) => array.store_array_subset_opt(&subset, data, &opts),
            None => array.store_array_subset_opt(&subset, a.as_standard_layout().into_owned(), &opts),
        };
        result.map_err(|e| array_error(store, e))
    })
}
