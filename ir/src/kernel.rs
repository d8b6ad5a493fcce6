//! Opaque named kernels: Rust closures used by `map_blocks` and custom blockwise layers.
//!
//! A named kernel computes one output block from its input blocks. It is registered in a
//! process-wide registry so that graph files can refer to it by name; loading a graph that
//! names an unregistered kernel is an error ([`crate::IrError::UnknownKernel`]).

use crate::array::DynArray;
use crate::dtype::DType;
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
}

impl fmt::Debug for NamedKernel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NamedKernel({:?} -> {})", self.name, self.dtype)
    }
}

impl PartialEq for NamedKernel {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.dtype == other.dtype
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
    let k = NamedKernel {
        name: name.to_string(),
        dtype,
        f: Arc::new(f),
    };
    registry()
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .insert(name.to_string(), k.clone());
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
