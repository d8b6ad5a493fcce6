//! The lazy, chunked [`Array`].

mod constructors;
mod contraction;
mod elementwise;
mod manipulation;
mod reductions;
mod shape;

pub use elementwise::broadcast_shapes;
pub use manipulation::Repeats;
pub use reductions::SPLIT_EVERY;
pub use shape::{s, SliceArgWrap};

use crate::compute::{compute_nodes, ComputeOptions};
use crate::error::{Error, Result};
use chunkwise_ir::TaskGraph;
use chunkwise_ir::{ChunkGrid, DType, DynArray, Element, IrError, Node, Scalar};
use chunkwise_passes::{PassManager, Report};
use ndarray::ArrayD;
use std::fmt;
use std::sync::Arc;

/// A lazy n-dimensional array cut into chunks. Operations build a graph; nothing runs until
/// [`Array::compute`].
///
/// Operators (`+ - * / %`) cannot return errors, so an operator on arrays whose shapes do not
/// broadcast gives an array that carries the error: every later operation returns it, and
/// so does `compute`. The `try_*` and named methods return errors immediately.
///
/// ```
/// use chunkwise::Array;
/// let x = Array::random_uniform(&[1000, 1000], &[250, 250], 42).unwrap();
/// let y = (&x * 2.0 + 1.0).exp();
/// let total = y.sum(None, false).unwrap().compute::<f64>().unwrap();
/// assert!(total.first().unwrap() > &0.0);
/// ```
#[derive(Clone)]
pub struct Array {
    node: std::result::Result<Node, Arc<IrError>>,
}

impl fmt::Debug for Array {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.node {
            Ok(n) => write!(
                f,
                "Array<{}, shape={:?}, chunks={}, layer={}>",
                n.dtype(),
                n.shape(),
                n.chunks(),
                n.label()
            ),
            Err(e) => write!(f, "Array<error: {e}>"),
        }
    }
}

fn grid(shape: &[u64], chunks: &[u64]) -> Result<ChunkGrid> {
    Ok(ChunkGrid::regular(shape, chunks)?)
}

fn norm_axis(a: isize, ndim: usize) -> Result<usize> {
    let n = ndim as isize;
    let b = if a < 0 { a + n } else { a };
    if b < 0 || b >= n.max(0) {
        return Err(IrError::InvalidAxis(format!(
            "axis {a} is out of bounds for an array of dimension {ndim}"
        ))
        .into());
    }
    Ok(b as usize)
}

const SYMS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// Where a Rust scalar or an array enters an elementwise operation.
#[derive(Clone, Debug)]
pub enum Operand {
    /// An array.
    Array(Array),
    /// A scalar (weakly typed, see [`DType::promote_scalar`]).
    Scalar(Scalar),
}

impl From<&Array> for Operand {
    fn from(a: &Array) -> Operand {
        Operand::Array(a.clone())
    }
}
impl From<Array> for Operand {
    fn from(a: Array) -> Operand {
        Operand::Array(a)
    }
}
macro_rules! operand_scalar {
    ($($t:ty),*) => {$(
        impl From<$t> for Operand {
            fn from(v: $t) -> Operand { Operand::Scalar(Scalar::from(v)) }
        }
    )*};
}
use chunkwise_ir::{Complex32, Complex64};
operand_scalar!(bool, i8, u8, i16, u16, i32, u32, i64, u64, f32, f64, Complex32, Complex64);

impl Array {
    /// Wraps a node of the layer graph.
    pub fn from_node(node: Node) -> Array {
        Array { node: Ok(node) }
    }

    fn err(e: Error) -> Array {
        let e = match e {
            Error::Graph(g) => g,
            other => IrError::InvalidArgument(other.to_string()),
        };
        Array {
            node: Err(Arc::new(e)),
        }
    }

    /// The layer graph node, or the error this array carries.
    pub fn node(&self) -> Result<&Node> {
        self.node.as_ref().map_err(|e| Error::Graph((**e).clone()))
    }

    /// Shape (empty for an array that carries an error).
    pub fn shape(&self) -> Vec<u64> {
        self.node.as_ref().map(|n| n.shape()).unwrap_or_default()
    }

    /// Number of dimensions.
    pub fn ndim(&self) -> usize {
        self.node.as_ref().map(|n| n.ndim()).unwrap_or(0)
    }

    /// Element type (`f64` for an array that carries an error).
    pub fn dtype(&self) -> DType {
        self.node.as_ref().map(|n| n.dtype()).unwrap_or(DType::F64)
    }

    /// The chunk grid.
    pub fn chunks(&self) -> Result<&ChunkGrid> {
        Ok(self.node()?.chunks())
    }

    /// Computes the array into memory as an `ndarray` of `T` (which must be the dtype).
    pub fn compute<T: Element>(&self) -> Result<ArrayD<T>> {
        self.compute_with::<T>(&ComputeOptions::default())
    }

    /// [`Array::compute`] with options (threads, progress callback, cancellation).
    pub fn compute_with<T: Element>(&self, opts: &ComputeOptions<'_>) -> Result<ArrayD<T>> {
        let d = self.compute_dyn_with(opts)?;
        let a = d
            .as_typed::<T>()
            .ok_or(Error::DTypeMismatch {
                actual: d.dtype(),
                requested: T::DTYPE,
            })?
            .clone();
        // The result's last other handle goes first, so `into_owned` takes the buffer
        // without copying it (a shared buffer would be copied: 1 GiB for a 1 GiB result).
        drop(d);
        let owned = a.into_owned();
        if !owned.is_standard_layout() {
            return Ok(owned.as_standard_layout().into_owned());
        }
        // A result that is a view into a larger buffer (a slice of one block) is copied
        // out, so it does not keep the whole buffer alive.
        let (dim, n) = (owned.raw_dim(), owned.len());
        let (mut v, off) = owned.into_raw_vec_and_offset();
        let off = off.unwrap_or(0);
        if off != 0 || v.len() != n {
            v = v[off..off + n].to_vec();
        }
        Ok(ArrayD::from_shape_vec(dim, v).expect("a standard-layout array's elements"))
    }

    /// Computes into memory, whatever the dtype.
    pub fn compute_dyn(&self) -> Result<DynArray> {
        self.compute_dyn_with(&ComputeOptions::default())
    }

    /// [`Array::compute_dyn`] with options.
    pub fn compute_dyn_with(&self, opts: &ComputeOptions<'_>) -> Result<DynArray> {
        let n = self.node()?.clone();
        Ok(compute_nodes(&[n], opts)?.pop().expect("one output"))
    }

    /// This array's graph rewritten by the standard optimization passes (equal values;
    /// see [`PassManager`]). Computing does this itself; use it to inspect the result.
    ///
    /// ```
    /// use chunkwise::Array;
    /// let x = Array::random_uniform(&[1000], &[100], 1).unwrap();
    /// let y = (x.exp() - 1.0 / &x).sum(None, false).unwrap();
    /// // 10 fused tasks (random + exp + div + sub + chunk sum) and the combine tree.
    /// assert_eq!(y.plan().unwrap().len(), 10 + 3 + 1);
    /// assert_eq!(y.optimize().unwrap().num_layers().unwrap(), 1);
    /// ```
    pub fn optimize(&self) -> Result<Array> {
        let n = self.node()?.clone();
        Ok(Array::from_node(
            crate::compute::optimize(&[n], None)?.outputs.remove(0),
        ))
    }

    /// Number of layers that run tasks in this array's graph (inlined layers not counted).
    pub fn num_layers(&self) -> Result<usize> {
        Ok(chunkwise_ir::layer::dep_order(&[self.node()?.clone()]).len())
    }

    /// The optimization report: per-pass statistics and the graph after each pass.
    pub fn explain(&self) -> Result<Report> {
        let n = self.node()?.clone();
        let pm = PassManager::standard().with_stats(true).with_dumps(true);
        Ok(crate::compute::optimize(&[n], Some(&pm))?.report)
    }

    /// The task graph that computing this array runs (optimized, then lowered).
    pub fn plan(&self) -> Result<TaskGraph> {
        crate::compute::plan(&[self.node()?.clone()], None)
    }

    /// The task graph of this array as built, without optimization.
    pub fn plan_unoptimized(&self) -> Result<TaskGraph> {
        crate::compute::plan(&[self.node()?.clone()], Some(&PassManager::none()))
    }

    /// Computes and writes a `.npy` file (atomically: no partial file on failure).
    pub fn to_npy(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        let d = self.compute_dyn()?;
        crate::npy::write_npy(path, &d)?;
        Ok(())
    }
}

/// Optimizes several arrays' graphs together (as `dask.optimize` does): shared work stays
/// shared, and a layer that one array needs whole is not fused away from another.
///
/// ```
/// use chunkwise::{optimize, Array};
/// let x = Array::random_uniform(&[100], &[10], 1).unwrap();
/// let y = &x + 1.0;
/// let (a, b) = (y.sum(None, false).unwrap(), &y * 2.0);
/// let opt = optimize(&[&a, &b]).unwrap();
/// assert_eq!(opt.len(), 2);
/// // y is read by both: it stays one layer that both read.
/// assert_eq!(chunkwise::plan_all(&[&a, &b]).unwrap().len(), 10 + 10 + 10 + 3 + 1);
/// ```
pub fn optimize(arrays: &[&Array]) -> Result<Vec<Array>> {
    let nodes = arrays
        .iter()
        .map(|a| a.node().cloned())
        .collect::<Result<Vec<_>>>()?;
    Ok(crate::compute::optimize(&nodes, None)?
        .outputs
        .into_iter()
        .map(Array::from_node)
        .collect())
}

/// The task graph that computing several arrays together runs (optimized, then lowered).
pub fn plan_all(arrays: &[&Array]) -> Result<TaskGraph> {
    let nodes = arrays
        .iter()
        .map(|a| a.node().cloned())
        .collect::<Result<Vec<_>>>()?;
    crate::compute::plan(&nodes, None)
}

/// Computes several arrays at once, sharing common work.
pub fn compute_all(arrays: &[&Array], opts: &ComputeOptions<'_>) -> Result<Vec<DynArray>> {
    let nodes = arrays
        .iter()
        .map(|a| a.node().cloned())
        .collect::<Result<Vec<_>>>()?;
    compute_nodes(&nodes, opts)
}
