//! Opaque named kernels: Rust closures used by `map_blocks` and custom blockwise layers.
//!
//! A named kernel computes one output block from its input blocks. It is registered in a
//! process-wide registry so that graph files can refer to it by name; loading a graph that
//! names an unregistered kernel is an error ([`crate::IrError::UnknownKernel`]).
//!
//! A kernel normally returns blocks of the shapes the layer's index notation gives (each
//! output axis chunked as the input axes of its symbol). A *reshaping* kernel
//! ([`register_reshaping_kernel`]) declares its output grid instead: the same number of
//! blocks along every output axis, of other lengths, or any number of blocks along an axis
//! where the index notation gives one (a broadcast input axis or a new axis: every output
//! block along it reads block 0). This is what a per-block reshape needs (`Array::reshape`,
//! planned as Dask's `reshape_rechunk`: a rechunk so that every output block is one input
//! block, then one kernel call per block) and a chunked `broadcast_to`; it is the only
//! difference: block-level mapping, culling and lowering read block indices, which agree.

use crate::array::DynArray;
use crate::dtype::DType;
use crate::grid::ChunkGrid;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, OnceLock, RwLock};

/// What a named kernel receives for one block.
#[derive(Debug)]
pub struct KernelCall<'a> {
    /// The input blocks, in the layer's input order (broadcast inputs are not expanded).
    pub inputs: &'a [DynArray],
    /// The output block's coordinates in the block grid.
    pub block: &'a [u64],
    /// The shape the output block must have.
    pub shape: &'a [usize],
}

/// The function type of a named kernel.
pub type KernelFn = dyn Fn(&KernelCall<'_>) -> Result<DynArray, String> + Send + Sync;

/// A kernel with its name and output type.
#[derive(Clone)]
pub struct NamedKernel {
    /// Registry name.
    pub name: String,
    /// Output element type.
    pub dtype: DType,
    /// The function.
    pub f: Arc<KernelFn>,
    /// The output chunks of a reshaping kernel ([`register_reshaping_kernel`]); `None`: the
    /// chunks follow from the inputs.
    pub chunks: Option<ChunkGrid>,
}

impl fmt::Debug for NamedKernel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NamedKernel({:?} -> {})", self.name, self.dtype)
    }
}

impl PartialEq for NamedKernel {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.dtype == other.dtype && self.chunks == other.chunks
    }
}

fn registry() -> &'static RwLock<HashMap<String, NamedKernel>> {
    static R: OnceLock<RwLock<HashMap<String, NamedKernel>>> = OnceLock::new();
    R.get_or_init(Default::default)
}

/// Registers (or replaces) a kernel under `name` and returns it.
///
/// ```
/// use chunkwise_ir::{register_kernel, lookup_kernel, DType, DynArray};
/// let k = register_kernel("double", DType::F64, |call| {
///     let x = call.inputs[0].as_typed::<f64>().ok_or("expects f64")?;
///     Ok(DynArray::new(x.map(|v| v * 2.0)))
/// });
/// assert_eq!(lookup_kernel("double").unwrap().name, k.name);
/// ```
pub fn register_kernel(
    name: &str,
    dtype: DType,
    f: impl Fn(&KernelCall<'_>) -> Result<DynArray, String> + Send + Sync + 'static,
) -> NamedKernel {
    insert(NamedKernel {
        name: name.to_string(),
        dtype,
        f: Arc::new(f),
        chunks: None,
    })
}

/// Registers (or replaces) a kernel under `name` whose blocks have the shapes of `chunks`
/// (see the module docs): a blockwise layer with this kernel has `chunks` as its grid,
/// which must have as many blocks along each output axis as its index notation gives, or
/// any number where that is one.
///
/// ```
/// use chunkwise_ir::{register_reshaping_kernel, ChunkGrid, DType};
/// let grid = ChunkGrid::regular(&[12], &[6]).unwrap();
/// let k = register_reshaping_kernel("flatten-2x6", DType::F64, grid.clone(), |call| {
///     Ok(call.inputs[0].clone())
/// });
/// assert_eq!(k.chunks, Some(grid));
/// ```
pub fn register_reshaping_kernel(
    name: &str,
    dtype: DType,
    chunks: ChunkGrid,
    f: impl Fn(&KernelCall<'_>) -> Result<DynArray, String> + Send + Sync + 'static,
) -> NamedKernel {
    insert(NamedKernel {
        name: name.to_string(),
        dtype,
        f: Arc::new(f),
        chunks: Some(chunks),
    })
}

fn insert(k: NamedKernel) -> NamedKernel {
    registry()
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .insert(k.name.clone(), k.clone());
    k
}

/// The kernel registered under `name`.
pub fn lookup_kernel(name: &str) -> Option<NamedKernel> {
    registry()
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(name)
        .cloned()
}
