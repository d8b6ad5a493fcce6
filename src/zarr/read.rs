//! Reading: [`open`] a store, [`Array::from_zarr`]; tasks read their regions chunk by chunk.

use super::{array_error, create_error, store_name, ZArray};
use crate::error::Result;
use crate::Array;
use chunkwise_ir::{
    with_dtype, ChunkGrid, DType, DynArray, Element, Node, RegionReader, StoreError,
    StoreErrorKind, Stored,
};
use ndarray::{ArrayD, IxDyn, SliceInfoElem};
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use zarrs::array::{data_type, ArrayError, ArrayMetadata, ArraySubset, CodecOptions};
use zarrs::filesystem::FilesystemStore;

/// The chunkwise dtype of a Zarr data type.
fn dtype_of(store: &str, a: &ZArray) -> std::result::Result<DType, StoreError> {
    let t = a.data_type();
    // The zarrs data type of each chunkwise dtype, in `DType::ALL` order.
    let is = [
        t.is::<data_type::BoolDataType>(),
        t.is::<data_type::Int8DataType>(),
        t.is::<data_type::UInt8DataType>(),
        t.is::<data_type::Int16DataType>(),
        t.is::<data_type::UInt16DataType>(),
        t.is::<data_type::Int32DataType>(),
        t.is::<data_type::UInt32DataType>(),
        t.is::<data_type::Int64DataType>(),
        t.is::<data_type::UInt64DataType>(),
        t.is::<data_type::Float32DataType>(),
        t.is::<data_type::Float64DataType>(),
        t.is::<data_type::Complex64DataType>(),
        t.is::<data_type::Complex128DataType>(),
    ];
    DType::ALL
        .into_iter()
        .zip(is)
        .find_map(|(d, is)| is.then_some(d))
        .ok_or_else(|| {
            let names: Vec<&str> = DType::ALL.iter().map(|d| d.name()).collect();
            StoreError::new(
                StoreErrorKind::UnsupportedDtype,
                store,
                format!("data type {t} (chunkwise reads {})", names.join(", ")),
            )
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
}
