//! `RawArray`: a lazy chunkwise [`Array`] held by Python. The public `chunkwise.Array`
//! class (py/python/chunkwise/_array.py) wraps it and adds the Array API's Python protocol.

use crate::convert::{dtype, operand, slice_arg};
use crate::error::{IntoPyResult, PyResult};
use chunkwise::{Array, BinaryOp, CmpOp, ReduceOp, UnaryOp};
use chunkwise_ir::dump;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// The most chunk lengths `RawArray::chunks` lists (all axes together): ten million, far
/// more than any computable array has, few enough to list without exhausting memory.
pub const MAX_LISTED_CHUNKS: u64 = 10_000_000;

/// A lazy chunked array: nothing runs until `chunkwise.compute`.
#[pyclass(module = "chunkwise._core", name = "RawArray", frozen)]
#[derive(Clone)]
pub struct RawArray {
    /// The graph node.
    pub inner: Array,
}

impl From<Array> for RawArray {
    fn from(inner: Array) -> RawArray {
        RawArray { inner }
    }
}

/// An operation of the program language from its name (the names of graph files:
/// `"exp"`, `"floordiv"`, `"lt"`, ...).
fn op<T: serde::de::DeserializeOwned>(kind: &str, name: &str) -> PyResult<T> {
    serde_json::from_value(serde_json::Value::String(name.to_owned()))
        .map_err(|_| PyValueError::new_err(format!("chunkwise has no {kind} operation {name:?}")))
}

/// A reduction from its name and `ddof` (for var and std).
fn reduce_op(name: &str, ddof: u32) -> PyResult<ReduceOp> {
    Ok(match name {
        "sum" => ReduceOp::Sum,
        "prod" => ReduceOp::Prod,
        "mean" => ReduceOp::Mean,
        "var" => ReduceOp::Var { ddof },
        "std" => ReduceOp::Std { ddof },
        "min" => ReduceOp::Min,
        "max" => ReduceOp::Max,
        "any" => ReduceOp::Any,
        "all" => ReduceOp::All,
        _ => return Err(PyValueError::new_err(format!("no reduction {name:?}"))),
    })
}

#[pymethods]
impl RawArray {
    /// The shape.
    #[getter]
    fn shape(&self) -> Vec<u64> {
        self.inner.shape()
    }

    /// The NumPy name of the element type.
    #[getter]
    fn dtype(&self) -> String {
        self.inner.dtype().name().to_string()
    }

    /// The chunk lengths along each axis; a `ValueError` when the axes have more than
    /// [`MAX_LISTED_CHUNKS`] chunks together (an array of 2^60 chunks is a valid lazy
    /// array, but its lengths cannot be listed).
    #[getter]
    fn chunks(&self) -> PyResult<Vec<Vec<u64>>> {
        let grid = self.inner.chunks().py()?;
        let total = grid
            .axes()
            .iter()
            .fold(0u64, |n, a| n.saturating_add(a.num_blocks()));
        if total > MAX_LISTED_CHUNKS {
            return Err(PyValueError::new_err(format!(
                "the array has {:?} chunks along its axes, more than {MAX_LISTED_CHUNKS} to \
                 list (numblocks gives the counts)",
                grid.num_blocks()
            )));
        }
        Ok(grid.axes().iter().map(|a| a.lengths()).collect())
    }

    /// The number of chunks along each axis (never lists them).
    #[getter]
    fn numblocks(&self) -> PyResult<Vec<u64>> {
        Ok(self.inner.chunks().py()?.num_blocks())
    }

    /// `op(x)` for a unary operation of the program language.
    fn unary(&self, name: &str) -> PyResult<RawArray> {
        Ok(self.inner.unary(op::<UnaryOp>("unary", name)?).py()?.into())
    }

    /// `op(x, other)`, or `op(other, x)` when `reflected`.
    fn binary(&self, other: &Bound<'_, PyAny>, name: &str, reflected: bool) -> PyResult<RawArray> {
        let f = op::<BinaryOp>("binary", name)?;
        let other = operand(other)?;
        let r = if reflected {
            Array::elementwise(&[other, (&self.inner).into()], |b, x| {
                b.binary(f, x[0], x[1])
            })
        } else {
            self.inner.binary(other, f)
        };
        Ok(r.py()?.into())
    }

    /// A comparison `x op other`.
    fn compare(&self, other: &Bound<'_, PyAny>, name: &str) -> PyResult<RawArray> {
        let f = op::<CmpOp>("comparison", name)?;
        Ok(self.inner.compare(operand(other)?, f).py()?.into())
    }

    /// Conversion to `dtype` (NumPy's `astype`).
    fn astype(&self, dtype_name: &str) -> PyResult<RawArray> {
        Ok(self.inner.astype(dtype(dtype_name)?).py()?.into())
    }

    /// A tree reduction over `axes` (`None`: all).
    #[pyo3(signature = (name, axes, keepdims, ddof=0, split_every=chunkwise::array::SPLIT_EVERY))]
    fn reduce(
        &self,
        name: &str,
        axes: Option<Vec<isize>>,
        keepdims: bool,
        ddof: u32,
        split_every: u64,
    ) -> PyResult<RawArray> {
        let f = reduce_op(name, ddof)?;
        Ok(self
            .inner
            .reduce(f, axes.as_deref(), keepdims, split_every)
            .py()?
            .into())
    }

    /// `argmin` (`largest = false`) or `argmax` along `axis` (`None`: the flattened array).
    fn argreduce(&self, largest: bool, axis: Option<isize>) -> PyResult<RawArray> {
        let r = if largest {
            self.inner.argmax(axis)
        } else {
            self.inner.argmin(axis)
        };
        Ok(r.py()?.into())
    }

    /// Basic indexing with a tuple of slices, integers, `None` and `...`.
    fn getitem(&self, key: Vec<Bound<'_, PyAny>>) -> PyResult<RawArray> {
        let args = key.iter().map(slice_arg).collect::<PyResult<Vec<_>>>()?;
        Ok(self.inner.slice(&args).py()?.into())
    }

    /// The same array in chunks of the given lengths along each axis.
    fn rechunk(&self, chunks: Vec<Vec<u64>>) -> PyResult<RawArray> {
        Ok(self.inner.rechunk_explicit(&chunks).py()?.into())
    }

    /// Axes permuted: output axis `i` is input axis `perm[i]`.
    fn transpose(&self, perm: Vec<usize>) -> PyResult<RawArray> {
        Ok(self.inner.transpose(&perm).py()?.into())
    }

    /// Matrix product with NumPy's `matmul` rules.
    fn matmul(&self, other: &RawArray) -> PyResult<RawArray> {
        Ok(self.inner.matmul(&other.inner).py()?.into())
    }

    /// Sum of products over `axes_a` of `self` and `axes_b` of `other`.
    fn tensordot(
        &self,
        other: &RawArray,
        axes_a: Vec<usize>,
        axes_b: Vec<usize>,
    ) -> PyResult<RawArray> {
        Ok(self
            .inner
            .tensordot(&other.inner, &axes_a, &axes_b)
            .py()?
            .into())
    }

    /// `x` with a new shape (C order; one length may be -1): rechunked so that each output
    /// block comes from one input block, then reshaped block by block.
    fn reshape(&self, shape: Vec<i64>) -> PyResult<RawArray> {
        Ok(self.inner.reshape(&shape).py()?.into())
    }

    /// `x` without the named axes (each of length 1).
    fn squeeze(&self, axes: Vec<isize>) -> PyResult<RawArray> {
        Ok(self.inner.squeeze(&axes).py()?.into())
    }

    /// `x` with a new axis of length 1 at `axis`.
    fn expand_dims(&self, axis: isize) -> PyResult<RawArray> {
        Ok(self.inner.expand_dims(axis).py()?.into())
    }

    /// `x` broadcast to `shape`.
    fn broadcast_to(&self, shape: Vec<u64>) -> PyResult<RawArray> {
        Ok(self.inner.broadcast_to(&shape).py()?.into())
    }

    /// `x` reversed along `axes` (`None`: all).
    #[pyo3(signature = (axes=None))]
    fn flip(&self, axes: Option<Vec<isize>>) -> PyResult<RawArray> {
        Ok(self.inner.flip(axes.as_deref()).py()?.into())
    }

    /// Elements shifted along `axes` (`None`: the flattened array), wrapping around.
    #[pyo3(signature = (shift, axes=None))]
    fn roll(&self, shift: Vec<i64>, axes: Option<Vec<isize>>) -> PyResult<RawArray> {
        Ok(self.inner.roll(&shift, axes.as_deref()).py()?.into())
    }

    /// Axes moved from `source` to `destination`.
    fn moveaxis(&self, source: Vec<isize>, destination: Vec<isize>) -> PyResult<RawArray> {
        Ok(self.inner.moveaxis(&source, &destination).py()?.into())
    }

    /// Each element repeated (one count for all, or one per element) along `axis`
    /// (`None`: the flattened array).
    #[pyo3(signature = (repeats, axis=None))]
    fn repeat(&self, repeats: Vec<i64>, axis: Option<isize>) -> PyResult<RawArray> {
        let r = match repeats.as_slice() {
            [n] => chunkwise::array::Repeats::Each(*n),
            _ => chunkwise::array::Repeats::PerElement(repeats),
        };
        Ok(self.inner.repeat(r, axis).py()?.into())
    }

    /// `x` repeated `reps[i]` times along each axis.
    fn tile(&self, reps: Vec<u64>) -> PyResult<RawArray> {
        Ok(self.inner.tile(&reps).py()?.into())
    }

    /// The slices of `x` along `axis`.
    fn unstack(&self, axis: isize) -> PyResult<Vec<RawArray>> {
        Ok(self
            .inner
            .unstack(axis)
            .py()?
            .into_iter()
            .map(RawArray::from)
            .collect())
    }

    /// The optimization report: the layers as built, the pass-by-pass table and the
    /// optimized layers.
    fn explain(&self) -> PyResult<String> {
        let node = self.inner.node().py()?.clone();
        let report = self.inner.explain().py()?;
        let optimized = self.inner.optimize().py()?;
        Ok(format!(
            "layers as built:\n{}\n{}\noptimized layers:\n{}",
            dump::layers_text(std::slice::from_ref(&node)),
            report.table(),
            dump::layers_text(std::slice::from_ref(optimized.node().py()?)),
        ))
    }

    /// Number of layers that run tasks (after optimization when `optimized`).
    fn num_layers(&self, optimized: bool) -> PyResult<usize> {
        if optimized {
            self.inner.optimize().py()?.num_layers().py()
        } else {
            self.inner.num_layers().py()
        }
    }

    /// The data of an in-memory source (`from_numpy`) as a NumPy array sharing it (read
    /// only); `None` for any other array. Pickling uses it, so a recorded `from_numpy` call
    /// does not keep the caller's array alive.
    fn source_array<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let node = self.inner.node().py()?;
        Ok(match node.layer() {
            chunkwise_ir::Layer::FromArray { data } => {
                Some(crate::convert::to_numpy(py, data.clone()))
            }
            _ => None,
        })
    }

    /// Number of tasks of the optimized, lowered graph.
    fn num_tasks(&self) -> PyResult<usize> {
        Ok(self.inner.plan().py()?.len())
    }

    fn __repr__(&self) -> String {
        let chunks = self
            .chunks()
            .map(|c| format!("{c:?}"))
            .unwrap_or_else(|e| e.to_string());
        format!(
            "RawArray(shape={:?}, dtype={}, chunks={chunks})",
            self.inner.shape(),
            self.inner.dtype()
        )
    }
}
