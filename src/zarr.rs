//! Zarr in and out, through the `zarrs` crate: [`Array::from_zarr`] and [`Array::to_zarr`].
//!
//! **Reading.** A Zarr array (V2 or V3, on a local filesystem store; dtypes bool, u8, i32,
//! i64, f32, f64; codecs blosc, zstd, gzip, zlib, sharding) becomes a `read-zarr` source
//! layer. Its compute chunks may differ from the store's chunks: each task reads exactly its
//! region, decoding only the chunks (or, in sharded arrays, the inner chunks) that hold it.
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

use crate::delayed::{compute_many, try_call1, Delayed};
use crate::error::{Error, Result};
use crate::{Array, ComputeOptions};
use chunkwise_ir::{
    with_dtype, ChunkGrid, DType, DynArray, Element, Node, RegionReader, StoreError,
    StoreErrorKind, Stored,
};
use ndarray::{ArrayD, IxDyn, SliceInfoElem};
use serde_json::json;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use zarrs::array::{
    data_type, ArrayCreateError, ArrayError, ArrayMetadata, ArraySubset, CodecOptions,
};
use zarrs::filesystem::FilesystemStore;

type ZArray = zarrs::array::Array<FilesystemStore>;

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
}

impl Default for ZarrWrite {
    fn default() -> Self {
        ZarrWrite {
            format: ZarrFormat::V3,
            codec: Codec::Zstd { level: 3 },
            chunks: None,
            shards: None,
            overwrite: false,
        }
    }
}

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

/// The chunkwise dtype of a Zarr data type.
fn dtype_of(store: &str, a: &ZArray) -> std::result::Result<DType, StoreError> {
    let t = a.data_type();
    Ok(if t.is::<data_type::BoolDataType>() {
        DType::Bool
    } else if t.is::<data_type::UInt8DataType>() {
        DType::U8
    } else if t.is::<data_type::Int32DataType>() {
        DType::I32
    } else if t.is::<data_type::Int64DataType>() {
        DType::I64
    } else if t.is::<data_type::Float32DataType>() {
        DType::F32
    } else if t.is::<data_type::Float64DataType>() {
        DType::F64
    } else {
        return Err(StoreError::new(
            StoreErrorKind::UnsupportedDtype,
            store,
            format!("data type {t} (chunkwise reads bool, u8, i32, i64, f32 and f64)"),
        ));
    })
}

/// Opens the Zarr array at the root of the store `path`.
fn open_array(path: &Path) -> std::result::Result<ZArray, StoreError> {
    let name = store_name(path);
    if !path.is_dir() {
        return Err(StoreError::new(
            StoreErrorKind::Missing,
            &name,
            "no such directory",
        ));
    }
    let store = FilesystemStore::new(path)
        .map_err(|e| StoreError::new(StoreErrorKind::Io, &name, e.to_string()))?;
    ZArray::open(Arc::new(store), "/").map_err(|e| create_error(&name, e))
}

/// Reads regions of a Zarr array chunk by chunk, naming the chunk that fails.
struct ZarrReader {
    store: String,
    array: ZArray,
    dtype: DType,
}

impl ZarrReader {
    fn read_typed<T: Element + zarrs::array::ElementOwned>(
        &self,
        ranges: &[Range<u64>],
    ) -> std::result::Result<DynArray, StoreError> {
        let opts = CodecOptions::default().with_concurrent_target(1);
        let subset = ArraySubset::new_with_ranges(ranges);
        let err = |e: ArrayError| array_error(&self.store, e);
        let chunks = self
            .array
            .chunks_in_array_subset(&subset)
            .map_err(|e| StoreError::new(StoreErrorKind::BadMetadata, &self.store, e.to_string()))?
            .ok_or_else(|| {
                StoreError::new(
                    StoreErrorKind::BadMetadata,
                    &self.store,
                    format!("region {ranges:?} is outside the chunk grid"),
                )
            })?;
        let shape: Vec<usize> = ranges.iter().map(|r| (r.end - r.start) as usize).collect();
        let mut out: Option<ArrayD<T>> = None;
        for idx in &chunks.indices() {
            let chunk = self.array.chunk_subset(&idx).map_err(err)?;
            let overlap = subset.overlap(&chunk).map_err(|e| {
                StoreError::new(StoreErrorKind::BadMetadata, &self.store, e.to_string())
            })?;
            let within = |origin: &[u64]| -> Vec<Range<u64>> {
                overlap
                    .start()
                    .iter()
                    .zip(overlap.shape())
                    .zip(origin)
                    .map(|((&s, &n), &o)| s - o..s - o + n)
                    .collect()
            };
            let part: ArrayD<T> = self
                .array
                .retrieve_chunk_subset_opt(
                    &idx,
                    &ArraySubset::new_with_ranges(&within(chunk.start())),
                    &opts,
                )
                .map_err(|e| err(e).at_chunk(&idx))?;
            let dst = within(subset.start());
            if dst
                .iter()
                .zip(&shape)
                .all(|(r, &n)| r.start == 0 && r.end == n as u64)
            {
                // The region lies in one chunk.
                return Ok(DynArray::new(part));
            }
            let out = out.get_or_insert_with(|| ArrayD::from_elem(IxDyn(&shape), T::default()));
            let info: Vec<SliceInfoElem> = dst
                .iter()
                .map(|r| SliceInfoElem::from(r.start as usize..r.end as usize))
                .collect();
            out.slice_mut(info.as_slice()).assign(&part);
        }
        Ok(DynArray::new(out.unwrap_or_else(|| {
            ArrayD::from_elem(IxDyn(&shape), T::default())
        })))
    }
}

impl RegionReader for ZarrReader {
    fn read(&self, ranges: &[Range<u64>]) -> std::result::Result<DynArray, StoreError> {
        with_dtype!(self.dtype, T => self.read_typed::<T>(ranges))
    }
}

/// Opens the Zarr array at the root of the store `path` for reading.
pub fn open(path: impl AsRef<Path>) -> std::result::Result<Stored, StoreError> {
    let path = path.as_ref();
    let store = store_name(path);
    let array = open_array(path)?;
    let dtype = dtype_of(&store, &array)?;
    let shape = array.shape().to_vec();
    let zero = vec![0u64; shape.len()];
    let store_chunks = array
        .chunk_shape(&zero)
        .map_err(|e| array_error(&store, e))?
        .iter()
        .map(|c| c.get())
        .collect();
    let format = match array.metadata() {
        ArrayMetadata::V2(_) => "zarr v2",
        ArrayMetadata::V3(_) => "zarr v3",
    }
    .to_string();
    Ok(Stored {
        location: store.clone(),
        format,
        shape,
        store_chunks,
        dtype,
        reader: Arc::new(ZarrReader {
            store,
            array,
            dtype,
        }),
    })
}

impl Array {
    /// Reads the Zarr array at the root of the store `path` (V2 or V3), in the store's
    /// chunks. See the [`zarr`](crate::zarr) module for what is read when.
    pub fn from_zarr(path: impl AsRef<Path>) -> Result<Array> {
        let source = open(path)?;
        let chunks = source.store_chunks.clone();
        Array::from_zarr_source(source, &chunks)
    }

    /// Reads the Zarr array at `path` in compute chunks of shape `chunks` (any shape: a
    /// task reads exactly its region from the store's chunks).
    pub fn from_zarr_chunks(path: impl AsRef<Path>, chunks: &[u64]) -> Result<Array> {
        Array::from_zarr_source(open(path)?, chunks)
    }

    fn from_zarr_source(source: Stored, chunks: &[u64]) -> Result<Array> {
        let chunks: Vec<u64> = chunks
            .iter()
            .zip(&source.shape)
            .map(|(&c, &n)| c.min(n).max(1))
            .collect();
        let g = ChunkGrid::regular(&source.shape, &chunks)?;
        Ok(Array::from_node(Node::read(g, source, None)?))
    }

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
        let path = path.as_ref();
        let plan = WritePlan::new(self, path, opts)?;
        prepare_dir(path, opts.overwrite)?;
        let result = plan.run(self, run);
        if result.is_err() {
            let _ = std::fs::remove_dir_all(path);
        }
        result
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

fn v2_dtype(d: DType) -> &'static str {
    match d {
        DType::Bool => "|b1",
        DType::U8 => "|u1",
        DType::I32 => "<i4",
        DType::I64 => "<i8",
        DType::F32 => "<f4",
        DType::F64 => "<f8",
    }
}

fn v3_dtype(d: DType) -> &'static str {
    match d {
        DType::Bool => "bool",
        DType::U8 => "uint8",
        DType::I32 => "int32",
        DType::I64 => "int64",
        DType::F32 => "float32",
        DType::F64 => "float64",
    }
}

fn fill(d: DType) -> serde_json::Value {
    match d {
        DType::Bool => json!(false),
        DType::F32 | DType::F64 => json!(0.0),
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
                    "dtype": v2_dtype(dtype), "compressor": compressor, "fill_value": fill(dtype),
                    "order": "C", "filters": null})
            }
            ZarrFormat::V3 => {
                let mut inner = vec![bytes];
                inner.extend(compressor_v3(itemsize));
                let codecs = match &opts.shards {
                    None => inner,
                    Some(_) => vec![json!({"name": "sharding_indexed", "configuration": {
                        "chunk_shape": chunks, "codecs": inner,
                        "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}},
                                         {"name": "crc32c"}],
                        "index_location": "end"}})],
                };
                json!({"zarr_format": 3, "node_type": "array", "shape": shape,
                    "data_type": v3_dtype(dtype),
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

    /// Computes and stores every block (one task per block), then the metadata.
    fn run(&self, a: &Array, run: &ComputeOptions<'_>) -> Result<()> {
        let array = Arc::new(self.array()?);
        let grid = a.chunks()?.clone();
        let writes: Vec<Delayed<()>> = a
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
                    move |b: &DynArray| write_block(&array, &store, &ranges, b),
                    block,
                )
            })
            .collect();
        compute_many(&writes, run)?;
        // The metadata, last: written whole to a temporary file, then renamed into place (in
        // the long form zarr-python reads: zarrs would shorten `{"name": "bytes"}`).
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

/// One stage of a [`RechunkPlan`]: read in blocks of `read`, write chunks of `write`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RechunkStage {
    /// Compute blocks (each reads its region of the stage's source).
    pub read: Vec<u64>,
    /// Chunks written.
    pub write: Vec<u64>,
    /// Projected bytes of one task: its block twice (computed and encoded) and one
    /// decoded source chunk.
    pub task_bytes: u64,
}

/// How [`rechunk_zarr`] moves an array from one chunking to another under a memory limit
/// (Dask's `plan_rechunk` and rechunker's rule).
///
/// The direct plan reads each target block from the source chunks it overlaps. When that
/// reads the source many times over (more than 4 x (source chunks + target chunks) chunk
/// reads, Dask's threshold), the data goes through an intermediate store whose chunks are
/// the per-axis minimum of source and target chunks (their greatest common divisor when
/// the smaller does not divide the larger) of stage 1's read blocks and the target chunks:
/// stage 1 reads whole source chunks and writes intermediate chunks, stage 2 reads whole
/// intermediate chunks and writes target chunks.
/// Every chunk is then read once per stage, whatever the two chunkings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RechunkPlan {
    /// The stages, in order (one or two).
    pub stages: Vec<RechunkStage>,
    /// Source chunk reads of the direct plan.
    pub direct_reads: u64,
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Chunks of `chunk` along an axis of length `n` overlapped by the blocks of `block`.
fn overlaps(n: u64, chunk: u64, block: u64) -> u64 {
    (0..n.div_ceil(block))
        .map(|j| {
            let (lo, hi) = (j * block, ((j + 1) * block).min(n));
            (hi - 1) / chunk - lo / chunk + 1
        })
        .sum()
}

/// Plans the rechunking of an array of `shape` and `itemsize` from `source` chunks to
/// `target` chunks for `workers` parallel tasks; an error when a stage's task would not
/// fit in `memory_limit`. Stage 1 of a two-stage plan reads as many whole source chunks per
/// task as `workers` such tasks fit in the limit.
pub fn plan_rechunk(
    shape: &[u64],
    itemsize: u64,
    source: &[u64],
    target: &[u64],
    memory_limit: u64,
    workers: usize,
) -> Result<RechunkPlan> {
    if source.len() != shape.len() || target.len() != shape.len() || target.contains(&0) {
        return Err(chunkwise_ir::IrError::InvalidChunks(format!(
            "cannot rechunk shape {shape:?} from {source:?} to {target:?}"
        ))
        .into());
    }
    let bytes = |c: &[u64]| {
        c.iter()
            .zip(shape)
            .fold(itemsize, |a, (&c, &n)| a.saturating_mul(c.min(n).max(1)))
    };
    let stage = |read: &[u64], write: &[u64], decoded: &[u64]| RechunkStage {
        read: read.to_vec(),
        write: write.to_vec(),
        task_bytes: bytes(read).saturating_mul(2).saturating_add(bytes(decoded)),
    };
    let direct_reads: u64 = (0..shape.len())
        .map(|a| overlaps(shape[a], source[a], target[a]))
        .fold(1, u64::saturating_mul);
    let blocks = |c: &[u64]| -> u64 { c.iter().zip(shape).map(|(&c, &n)| n.div_ceil(c)).product() };
    let stages = if direct_reads <= 4 * (blocks(source) + blocks(target)) {
        vec![stage(target, target, source)]
    } else {
        // Stage 1 reads whole source chunks, several at a time along the axes where the
        // target's chunks are longer, as long as the workers' tasks fit in the limit
        // together: fewer, larger intermediate chunks.
        let budget = memory_limit / workers.max(1) as u64;
        let mut read = source.to_vec();
        for a in 0..shape.len() {
            while target[a] > read[a] && read[a] < shape[a] && target[a].is_multiple_of(2 * read[a])
            {
                read[a] *= 2;
                if stage(&read, &read, source).task_bytes > budget {
                    read[a] /= 2;
                    break;
                }
            }
        }
        let inter: Vec<u64> = read
            .iter()
            .zip(target)
            .map(|(&s, &t)| {
                let (lo, hi) = (s.min(t), s.max(t));
                if hi.is_multiple_of(lo) {
                    lo
                } else {
                    gcd(s, t)
                }
            })
            .collect();
        vec![stage(&read, &inter, source), stage(target, target, &inter)]
    };
    for (i, st) in stages.iter().enumerate() {
        if st.task_bytes > memory_limit {
            return Err(Error::MemoryLimit {
                layer: format!("rechunk stage {} (blocks {:?})", i + 1, st.read),
                projected: st.task_bytes,
                limit: memory_limit,
            });
        }
    }
    Ok(RechunkPlan {
        stages,
        direct_reads,
    })
}

/// Rechunks the Zarr array at `src` into a new Zarr array at `dst` with chunks `target`,
/// writing with `opts`' format and codec, each stage run with `run` under
/// `run.memory_limit` (required). Arrays larger than memory go through an intermediate
/// store next to `dst` (`<dst>.rechunk-tmp`, uncompressed, removed at the end) when
/// [`plan_rechunk`] says so. Returns the plan.
pub fn rechunk_zarr(
    src: impl AsRef<Path>,
    dst: impl AsRef<Path>,
    target: &[u64],
    opts: &ZarrWrite,
    run: &ComputeOptions<'_>,
) -> Result<RechunkPlan> {
    let (src, dst) = (src.as_ref(), dst.as_ref());
    let limit = run.memory_limit.ok_or_else(|| {
        Error::Store(StoreError::new(
            StoreErrorKind::Refused,
            store_name(dst),
            "rechunk_zarr needs ComputeOptions::memory_limit",
        ))
    })?;
    let source = open(src)?;
    let workers = match run.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        t => t,
    };
    let plan = plan_rechunk(
        &source.shape,
        source.dtype.size() as u64,
        &source.store_chunks,
        target,
        limit,
        workers,
    )?;
    let tmp = dst.with_extension("rechunk-tmp");
    let mut from = src.to_path_buf();
    for (i, st) in plan.stages.iter().enumerate() {
        let last = i + 1 == plan.stages.len();
        let to = if last { dst.to_path_buf() } else { tmp.clone() };
        let write = if last {
            ZarrWrite {
                chunks: Some(st.write.clone()),
                shards: None,
                ..opts.clone()
            }
        } else {
            ZarrWrite {
                format: ZarrFormat::V3,
                codec: Codec::None,
                chunks: Some(st.write.clone()),
                shards: None,
                overwrite: true,
            }
        };
        let result =
            Array::from_zarr_chunks(&from, &st.read).and_then(|a| a.to_zarr_with(&to, &write, run));
        if let Err(e) = result {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
        from = to;
    }
    if plan.stages.len() > 1 {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    Ok(plan)
}
