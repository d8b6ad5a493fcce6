//! Constructors: arrays from memory, `.npy` files, constants, random numbers and ranges.

use super::{grid, Array};
use crate::error::Result;
use chunkwise_ir::{DType, Distribution, DynArray, Element, IrError, Node, Scalar};
use ndarray::Dimension;

impl Array {
    /// An in-memory array cut into chunks of `chunks` (one size per axis).
    ///
    /// ```
    /// let a = ndarray::Array2::<f64>::ones((4, 6));
    /// let x = chunkwise::Array::from_ndarray(a, &[2, 3]).unwrap();
    /// assert_eq!(x.chunks().unwrap().num_blocks(), vec![2, 2]);
    /// ```
    pub fn from_ndarray<T: Element, D: Dimension>(
        a: ndarray::Array<T, D>,
        chunks: &[u64],
    ) -> Result<Array> {
        Self::from_dyn(DynArray::new(a.into_dyn()), chunks)
    }

    /// An in-memory [`DynArray`] cut into chunks.
    pub fn from_dyn(a: DynArray, chunks: &[u64]) -> Result<Array> {
        let shape: Vec<u64> = a.shape().iter().map(|&s| s as u64).collect();
        Ok(Array::from_node(Node::from_array(
            a,
            grid(&shape, chunks)?,
        )?))
    }

    /// Reads a `.npy` file and cuts it into chunks.
    pub fn from_npy(path: impl AsRef<std::path::Path>, chunks: &[u64]) -> Result<Array> {
        Self::from_dyn(crate::npy::read_npy(path)?, chunks)
    }

    /// Every element equal to `value` (its type is the array's dtype).
    pub fn full(shape: &[u64], chunks: &[u64], value: impl Into<Scalar>) -> Result<Array> {
        let v = value.into();
        Ok(Array::from_node(Node::full(
            grid(shape, chunks)?,
            v.dtype(),
            v,
        )?))
    }

    /// Zeros of `dtype`.
    pub fn zeros(shape: &[u64], chunks: &[u64], dtype: DType) -> Result<Array> {
        Ok(Array::from_node(Node::full(
            grid(shape, chunks)?,
            dtype,
            Scalar::I64(0),
        )?))
    }

    /// Ones of `dtype`.
    pub fn ones(shape: &[u64], chunks: &[u64], dtype: DType) -> Result<Array> {
        Ok(Array::from_node(Node::full(
            grid(shape, chunks)?,
            dtype,
            Scalar::I64(1),
        )?))
    }

    /// Uniform f64 numbers in [0, 1). Element values depend only on `seed` and their
    /// position, so they do not change with the chunking.
    pub fn random_uniform(shape: &[u64], chunks: &[u64], seed: u64) -> Result<Array> {
        Self::random(
            shape,
            chunks,
            seed,
            DType::F64,
            Distribution::Uniform {
                low: 0.0,
                high: 1.0,
            },
        )
    }

    /// Standard normal f64 numbers (see [`Array::random_uniform`]).
    pub fn random_normal(shape: &[u64], chunks: &[u64], seed: u64) -> Result<Array> {
        Self::random(
            shape,
            chunks,
            seed,
            DType::F64,
            Distribution::Normal {
                mean: 0.0,
                std: 1.0,
            },
        )
    }

    /// Random numbers of a float `dtype` from `dist`.
    pub fn random(
        shape: &[u64],
        chunks: &[u64],
        seed: u64,
        dtype: DType,
        dist: Distribution,
    ) -> Result<Array> {
        Ok(Array::from_node(Node::random(
            grid(shape, chunks)?,
            dtype,
            seed,
            dist,
        )?))
    }

    /// `start, start + step, ...` below `stop` (NumPy's `arange`), in chunks of `chunk`.
    /// The dtype is i64 when all three are integers, else f64.
    pub fn arange(start: f64, stop: f64, step: f64, chunk: u64) -> Result<Array> {
        if step == 0.0 || !step.is_finite() || !start.is_finite() || !stop.is_finite() {
            return Err(IrError::InvalidArgument(format!(
                "arange({start}, {stop}, {step}): step must be finite and nonzero"
            ))
            .into());
        }
        let n = ((stop - start) / step).ceil().max(0.0) as u64;
        let ints = [start, stop, step].iter().all(|v| v.fract() == 0.0);
        let dtype = if ints { DType::I64 } else { DType::F64 };
        Ok(Array::from_node(Node::arange(
            grid(&[n], &[chunk])?,
            dtype,
            start,
            step,
        )?))
    }
}
