//! The lazy, chunked [`Array`].

use crate::compute::{compute_nodes, ComputeOptions};
use crate::error::{Error, Result};
use chunkwise_ir::program::{BinaryOp, CmpOp, ProgramBuilder, UnaryOp};
use chunkwise_ir::slice::{normalize, SliceArg};
use chunkwise_ir::TaskGraph;
use chunkwise_ir::{
    register_kernel, AxisChunks, Blockwise, ChunkGrid, DType, Distribution, DynArray, Element,
    IrError, Kernel, KernelCall, Node, ReduceOp, Scalar, Sym,
};
use chunkwise_passes::{PassManager, Report};
use ndarray::{ArrayD, Dimension};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Dask's default: blocks combined per reduction tree node.
pub const SPLIT_EVERY: u64 = 4;

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
operand_scalar!(bool, u8, i32, i64, f32, f64);

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

    // ----- constructors -----

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

    // ----- elementwise -----

    /// Builds an elementwise layer over `operands` (arrays broadcast NumPy-style, chunks
    /// unified by rechunking to common boundaries; scalars are weakly typed constants).
    /// `build` receives the program builder and one instruction per operand.
    pub fn elementwise(
        operands: &[Operand],
        build: impl FnOnce(&mut ProgramBuilder, &[u32]) -> std::result::Result<u32, IrError>,
    ) -> Result<Array> {
        let arrays: Vec<&Node> = operands
            .iter()
            .filter_map(|o| match o {
                Operand::Array(a) => Some(a.node()),
                Operand::Scalar(_) => None,
            })
            .collect::<Result<_>>()?;
        if arrays.is_empty() {
            return Err(
                IrError::InvalidArgument("an elementwise operation needs an array".into()).into(),
            );
        }
        let shape = broadcast_shapes(&arrays.iter().map(|n| n.shape()).collect::<Vec<_>>())?;
        let nd = shape.len();
        if nd > SYMS.len() {
            return Err(IrError::InvalidArgument(format!("{nd} dimensions are too many")).into());
        }
        let out_ind: Vec<Sym> = SYMS[..nd].to_vec();
        // Common chunks per output axis among the inputs that are not broadcast along it.
        let mut target: Vec<Option<AxisChunks>> = vec![None; nd];
        for n in &arrays {
            let off = nd - n.ndim();
            for (ax, c) in n.chunks().axes().iter().enumerate() {
                if c.len() == 1 && shape[off + ax] != 1 {
                    continue;
                }
                let t = &mut target[off + ax];
                *t = Some(match t.take() {
                    None => c.clone(),
                    Some(prev) => common_chunks(&prev, c),
                });
            }
        }
        let mut inputs = Vec::with_capacity(arrays.len());
        let mut dtypes = Vec::new();
        for n in &arrays {
            let off = nd - n.ndim();
            let mut axes = n.chunks().axes().to_vec();
            for (ax, c) in axes.iter_mut().enumerate() {
                if let Some(t) = &target[off + ax] {
                    if !(c.len() == 1 && shape[off + ax] != 1) {
                        *c = t.clone();
                    }
                }
            }
            let node = Node::rechunk((*n).clone(), ChunkGrid::new(axes))?;
            dtypes.push(node.dtype());
            inputs.push((node, out_ind[off..].to_vec()));
        }
        let mut b = ProgramBuilder::new(dtypes);
        // Scalars take the type of the arrays they meet (NEP 50 weak promotion).
        let array_dtype = inputs
            .iter()
            .map(|(n, _)| n.dtype())
            .reduce(DType::promote)
            .expect("at least one array");
        let mut k = 0;
        let mut ins = Vec::with_capacity(operands.len());
        for o in operands {
            ins.push(match o {
                Operand::Array(_) => {
                    k += 1;
                    b.input(k as u32 - 1)
                }
                Operand::Scalar(s) => {
                    let dt = array_dtype.promote_scalar(s.dtype().kind());
                    b.constant(s.cast(dt))
                }
            });
        }
        let out = build(&mut b, &ins)?;
        let p = b.finish(out);
        Ok(Array::from_node(Node::blockwise(Blockwise {
            out_ind,
            inputs,
            new_axes: vec![],
            kernel: Kernel::Program(Arc::new(p)),
        })?))
    }

    fn binop(&self, other: impl Into<Operand>, f: BinaryOp) -> Result<Array> {
        Array::elementwise(&[self.into(), other.into()], |b, x| b.binary(f, x[0], x[1]))
    }

    fn rbinop(&self, other: impl Into<Operand>, f: BinaryOp) -> Result<Array> {
        Array::elementwise(&[other.into(), self.into()], |b, x| b.binary(f, x[0], x[1]))
    }

    /// Applies a binary operation (with broadcasting and promotion).
    pub fn binary(&self, other: impl Into<Operand>, f: BinaryOp) -> Result<Array> {
        self.binop(other, f)
    }

    /// `self + other`.
    pub fn try_add(&self, other: impl Into<Operand>) -> Result<Array> {
        self.binop(other, BinaryOp::Add)
    }
    /// `self - other`.
    pub fn try_sub(&self, other: impl Into<Operand>) -> Result<Array> {
        self.binop(other, BinaryOp::Sub)
    }
    /// `self * other`.
    pub fn try_mul(&self, other: impl Into<Operand>) -> Result<Array> {
        self.binop(other, BinaryOp::Mul)
    }
    /// `self / other` (true division: the result is a float).
    pub fn try_div(&self, other: impl Into<Operand>) -> Result<Array> {
        self.binop(other, BinaryOp::Div)
    }
    /// `self // other` (floor division).
    pub fn floor_div(&self, other: impl Into<Operand>) -> Result<Array> {
        self.binop(other, BinaryOp::FloorDiv)
    }
    /// `self % other` (NumPy remainder: sign of the divisor).
    pub fn try_rem(&self, other: impl Into<Operand>) -> Result<Array> {
        self.binop(other, BinaryOp::Rem)
    }
    /// `self ** other`.
    pub fn pow(&self, other: impl Into<Operand>) -> Result<Array> {
        self.binop(other, BinaryOp::Pow)
    }
    /// Elementwise minimum (NaN propagates).
    pub fn minimum(&self, other: impl Into<Operand>) -> Result<Array> {
        self.binop(other, BinaryOp::Minimum)
    }
    /// Elementwise maximum (NaN propagates).
    pub fn maximum(&self, other: impl Into<Operand>) -> Result<Array> {
        self.binop(other, BinaryOp::Maximum)
    }
    /// Logical/bitwise and.
    pub fn and(&self, other: impl Into<Operand>) -> Result<Array> {
        self.binop(other, BinaryOp::And)
    }
    /// Logical/bitwise or.
    pub fn or(&self, other: impl Into<Operand>) -> Result<Array> {
        self.binop(other, BinaryOp::Or)
    }
    /// Logical/bitwise xor.
    pub fn xor(&self, other: impl Into<Operand>) -> Result<Array> {
        self.binop(other, BinaryOp::Xor)
    }
    /// `atan2(self, other)`.
    pub fn arctan2(&self, other: impl Into<Operand>) -> Result<Array> {
        self.binop(other, BinaryOp::Arctan2)
    }

    /// A comparison; the result is bool.
    pub fn compare(&self, other: impl Into<Operand>, f: CmpOp) -> Result<Array> {
        Array::elementwise(&[self.into(), other.into()], |b, x| {
            Ok(b.compare(f, x[0], x[1]))
        })
    }
    /// `self == other`.
    pub fn eq(&self, other: impl Into<Operand>) -> Result<Array> {
        self.compare(other, CmpOp::Eq)
    }
    /// `self != other`.
    pub fn ne(&self, other: impl Into<Operand>) -> Result<Array> {
        self.compare(other, CmpOp::Ne)
    }
    /// `self < other`.
    pub fn lt(&self, other: impl Into<Operand>) -> Result<Array> {
        self.compare(other, CmpOp::Lt)
    }
    /// `self <= other`.
    pub fn le(&self, other: impl Into<Operand>) -> Result<Array> {
        self.compare(other, CmpOp::Le)
    }
    /// `self > other`.
    pub fn gt(&self, other: impl Into<Operand>) -> Result<Array> {
        self.compare(other, CmpOp::Gt)
    }
    /// `self >= other`.
    pub fn ge(&self, other: impl Into<Operand>) -> Result<Array> {
        self.compare(other, CmpOp::Ge)
    }

    /// `where(cond, a, b)`: elements of `a` where `cond` is true, else of `b`.
    pub fn where_(
        cond: impl Into<Operand>,
        a: impl Into<Operand>,
        b: impl Into<Operand>,
    ) -> Result<Array> {
        Array::elementwise(&[cond.into(), a.into(), b.into()], |bld, x| {
            Ok(bld.where_(x[0], x[1], x[2]))
        })
    }

    /// Converts to `dtype` (NumPy `astype`).
    pub fn astype(&self, dtype: DType) -> Result<Array> {
        if self.node()?.dtype() == dtype {
            return Ok(self.clone());
        }
        Array::elementwise(&[self.into()], |b, x| Ok(b.cast(x[0], dtype)))
    }

    /// This array as f64, or an error naming `what` unless it is 2-d (for matrix routines).
    pub(crate) fn f64_matrix(&self, what: &str) -> Result<Array> {
        if self.ndim() != 2 {
            return Err(IrError::ShapeMismatch(format!(
                "{what} takes a 2-d array, not shape {:?}",
                self.shape()
            ))
            .into());
        }
        self.astype(DType::F64)
    }

    /// Applies a unary operation.
    pub fn unary(&self, f: UnaryOp) -> Result<Array> {
        Array::elementwise(&[self.into()], |b, x| b.unary(f, x[0]))
    }

    // ----- reductions -----

    /// A reduction over `axes` (`None`: all axes; negative axes count from the end).
    pub fn reduce(
        &self,
        op: ReduceOp,
        axes: Option<&[isize]>,
        keepdims: bool,
        split_every: u64,
    ) -> Result<Array> {
        let n = self.node()?;
        let axes: Vec<usize> = match axes {
            None => (0..n.ndim()).collect(),
            Some(a) => a
                .iter()
                .map(|&x| norm_axis(x, n.ndim()))
                .collect::<Result<_>>()?,
        };
        Ok(Array::from_node(Node::reduction(
            n.clone(),
            op,
            &axes,
            keepdims,
            split_every,
        )?))
    }

    /// Sum (integers and bool give i64).
    pub fn sum(&self, axes: Option<&[isize]>, keepdims: bool) -> Result<Array> {
        self.reduce(ReduceOp::Sum, axes, keepdims, SPLIT_EVERY)
    }
    /// Product.
    pub fn prod(&self, axes: Option<&[isize]>, keepdims: bool) -> Result<Array> {
        self.reduce(ReduceOp::Prod, axes, keepdims, SPLIT_EVERY)
    }
    /// Mean.
    pub fn mean(&self, axes: Option<&[isize]>, keepdims: bool) -> Result<Array> {
        self.reduce(ReduceOp::Mean, axes, keepdims, SPLIT_EVERY)
    }
    /// Variance with `ddof` delta degrees of freedom.
    pub fn var(&self, axes: Option<&[isize]>, keepdims: bool, ddof: u32) -> Result<Array> {
        self.reduce(ReduceOp::Var { ddof }, axes, keepdims, SPLIT_EVERY)
    }
    /// Standard deviation with `ddof` delta degrees of freedom.
    pub fn std(&self, axes: Option<&[isize]>, keepdims: bool, ddof: u32) -> Result<Array> {
        self.reduce(ReduceOp::Std { ddof }, axes, keepdims, SPLIT_EVERY)
    }
    /// Minimum (NaN propagates; an empty axis is an error).
    pub fn min(&self, axes: Option<&[isize]>, keepdims: bool) -> Result<Array> {
        self.reduce(ReduceOp::Min, axes, keepdims, SPLIT_EVERY)
    }
    /// Maximum (NaN propagates; an empty axis is an error).
    pub fn max(&self, axes: Option<&[isize]>, keepdims: bool) -> Result<Array> {
        self.reduce(ReduceOp::Max, axes, keepdims, SPLIT_EVERY)
    }
    /// Whether any element is nonzero.
    pub fn any(&self, axes: Option<&[isize]>, keepdims: bool) -> Result<Array> {
        self.reduce(ReduceOp::Any, axes, keepdims, SPLIT_EVERY)
    }
    /// Whether all elements are nonzero.
    pub fn all(&self, axes: Option<&[isize]>, keepdims: bool) -> Result<Array> {
        self.reduce(ReduceOp::All, axes, keepdims, SPLIT_EVERY)
    }
    /// Index of the minimum along `axis`, or in the flattened array for `None` (NumPy).
    pub fn argmin(&self, axis: Option<isize>) -> Result<Array> {
        self.arg(ReduceOp::ArgMin, axis)
    }
    /// Index of the maximum along `axis`, or in the flattened array for `None` (NumPy).
    pub fn argmax(&self, axis: Option<isize>) -> Result<Array> {
        self.arg(ReduceOp::ArgMax, axis)
    }
    fn arg(&self, op: ReduceOp, axis: Option<isize>) -> Result<Array> {
        match axis {
            None => self.reduce(op, None, false, SPLIT_EVERY),
            Some(a) => self.reduce(op, Some(&[a]), false, SPLIT_EVERY),
        }
    }

    // ----- structure -----

    /// Basic indexing with NumPy semantics (see [`SliceArg`]).
    ///
    /// ```
    /// use chunkwise::{Array, SliceArg};
    /// let x = Array::arange(0.0, 10.0, 1.0, 3).unwrap();
    /// let y = x.slice(&[SliceArg::Range { start: Some(8), stop: None, step: Some(-3) }]).unwrap();
    /// assert_eq!(y.compute::<i64>().unwrap().into_raw_vec_and_offset().0, vec![8, 5, 2]);
    /// ```
    pub fn slice(&self, args: &[SliceArg]) -> Result<Array> {
        let n = self.node()?;
        let items = normalize(&n.shape(), args)?;
        if items.len() == n.ndim()
            && items
                .iter()
                .zip(n.shape())
                .all(|(i, len)| i.is_identity(len))
        {
            return Ok(self.clone());
        }
        Ok(Array::from_node(Node::slice(n.clone(), items)?))
    }

    /// The same array in chunks of `chunks` (one size per axis).
    pub fn rechunk(&self, chunks: &[u64]) -> Result<Array> {
        let n = self.node()?;
        Ok(Array::from_node(Node::rechunk(
            n.clone(),
            grid(&n.shape(), chunks)?,
        )?))
    }

    /// The same array in the given explicit chunks (lengths per axis).
    pub fn rechunk_explicit(&self, chunks: &[Vec<u64>]) -> Result<Array> {
        let n = self.node()?;
        Ok(Array::from_node(Node::rechunk(
            n.clone(),
            ChunkGrid::explicit(&n.shape(), chunks)?,
        )?))
    }

    /// Axes permuted: output axis `i` is input axis `perm[i]`.
    pub fn transpose(&self, perm: &[usize]) -> Result<Array> {
        let n = self.node()?;
        Ok(Array::from_node(Node::transpose(n.clone(), perm.to_vec())?))
    }

    /// Axes reversed (`x.T`).
    pub fn t(&self) -> Result<Array> {
        let perm: Vec<usize> = (0..self.node()?.ndim()).rev().collect();
        self.transpose(&perm)
    }

    /// Contracts `axes_a` of `self` with `axes_b` of `b` (NumPy `tensordot`): the result has
    /// the remaining axes of `self` then those of `b`.
    pub fn tensordot(&self, b: &Array, axes_a: &[usize], axes_b: &[usize]) -> Result<Array> {
        let (na, nb) = (self.node()?, b.node()?);
        if axes_a.len() != axes_b.len() {
            return Err(IrError::ShapeMismatch(format!(
                "tensordot: {} axes of a against {} axes of b",
                axes_a.len(),
                axes_b.len()
            ))
            .into());
        }
        let ia: Vec<Sym> = SYMS[..na.ndim()].to_vec();
        let mut ib: Vec<Sym> = SYMS[na.ndim()..na.ndim() + nb.ndim()].to_vec();
        for (i, (&x, &y)) in axes_a.iter().zip(axes_b).enumerate() {
            if x >= na.ndim() || y >= nb.ndim() {
                return Err(
                    IrError::InvalidAxis(format!("tensordot axes {x}/{y} out of range")).into(),
                );
            }
            if axes_a[..i].contains(&x) || axes_b[..i].contains(&y) {
                return Err(IrError::InvalidAxis("tensordot axes repeat".into()).into());
            }
            ib[y] = ia[x];
        }
        let contracted: Vec<Sym> = axes_a.iter().map(|&x| ia[x]).collect();
        let out: Vec<Sym> = ia
            .iter()
            .chain(&ib)
            .filter(|s| !contracted.contains(s))
            .copied()
            .collect();
        contract(na, &ia, nb, &ib, out)
    }

    /// Matrix product with NumPy `matmul` semantics for 1-d and 2-d operands, and stacks of
    /// matrices with equal leading dimensions.
    pub fn matmul(&self, b: &Array) -> Result<Array> {
        let (na, nb) = (self.node()?, b.node()?);
        let (da, db) = (na.ndim(), nb.ndim());
        if da == 0 || db == 0 {
            return Err(IrError::ShapeMismatch(
                "matmul: operands must have at least one dimension".into(),
            )
            .into());
        }
        let k = b'k';
        let (ia, ib, out): (Vec<Sym>, Vec<Sym>, Vec<Sym>) = match (da, db) {
            (1, 1) => (vec![k], vec![k], vec![]),
            (1, 2) => (vec![k], vec![k, b'j'], vec![b'j']),
            (2, 1) => (vec![b'i', k], vec![k], vec![b'i']),
            _ if da == db => {
                let batch: Vec<Sym> = SYMS[..da - 2].to_vec();
                if na.shape()[..da - 2] != nb.shape()[..db - 2] {
                    return Err(IrError::ShapeMismatch(format!(
                        "matmul: stack dimensions {:?} and {:?} differ (broadcasting stacks is not supported)",
                        &na.shape()[..da - 2],
                        &nb.shape()[..db - 2]
                    ))
                    .into());
                }
                let (i, j, kk) = (b'I', b'J', b'K');
                let mut ia = batch.clone();
                ia.extend([i, kk]);
                let mut ib = batch.clone();
                ib.extend([kk, j]);
                let mut out = batch;
                out.extend([i, j]);
                (ia, ib, out)
            }
            _ => {
                return Err(IrError::ShapeMismatch(format!(
                    "matmul of {da}-d and {db}-d arrays is not supported"
                ))
                .into())
            }
        };
        contract(na, &ia, nb, &ib, out)
    }

    /// Joins arrays along an existing `axis` (dtypes promoted, chunks of other axes unified).
    pub fn concatenate(arrays: &[Array], axis: isize) -> Result<Array> {
        let nodes: Vec<&Node> = arrays.iter().map(Array::node).collect::<Result<_>>()?;
        let Some(first) = nodes.first() else {
            return Err(
                IrError::InvalidArgument("need at least one array to concatenate".into()).into(),
            );
        };
        let axis = norm_axis(axis, first.ndim())?;
        let dtype = nodes
            .iter()
            .map(|n| n.dtype())
            .reduce(DType::promote)
            .expect("nonempty");
        let mut out = Vec::with_capacity(nodes.len());
        for (k, n) in nodes.iter().enumerate() {
            if n.ndim() != first.ndim() {
                return Err(IrError::ShapeMismatch(format!(
                    "concatenate: array {k} has {} dimensions, array 0 has {}",
                    n.ndim(),
                    first.ndim()
                ))
                .into());
            }
            let mut axes = n.chunks().axes().to_vec();
            for (a, c) in axes.iter_mut().enumerate() {
                if a != axis {
                    if c.len() != first.chunks().axis(a).len() {
                        return Err(IrError::ShapeMismatch(format!(
                            "concatenate: array {k} has length {} on axis {a}, array 0 has {}",
                            c.len(),
                            first.chunks().axis(a).len()
                        ))
                        .into());
                    }
                    *c = first.chunks().axis(a).clone();
                }
            }
            let x = Array::from_node(Node::rechunk((*n).clone(), ChunkGrid::new(axes))?)
                .astype(dtype)?;
            out.push(x.node()?.clone());
        }
        Ok(Array::from_node(Node::concatenate(out, axis)?))
    }

    /// Joins arrays of equal shape along a new `axis`.
    pub fn stack(arrays: &[Array], axis: isize) -> Result<Array> {
        let Some(first) = arrays.first() else {
            return Err(IrError::InvalidArgument("need at least one array to stack".into()).into());
        };
        let nd = first.node()?.ndim() + 1;
        let axis = norm_axis(axis, nd)?;
        let mut args = vec![SliceArg::ALL; axis];
        args.push(SliceArg::NewAxis);
        let expanded = arrays
            .iter()
            .map(|a| a.slice(&args))
            .collect::<Result<Vec<_>>>()?;
        Array::concatenate(&expanded, axis as isize)
    }

    /// Applies a Rust function to every block (like Dask's `map_blocks`): `f` gets the block
    /// and returns a block of the same shape, of type `U`.
    ///
    /// ```
    /// use chunkwise::Array;
    /// let x = Array::arange(0.0, 6.0, 1.0, 4).unwrap();
    /// let y = x.map_blocks("cumsum", |b: ndarray::ArrayViewD<i64>| {
    ///     let mut acc = 0;
    ///     b.mapv(|v| { acc += v; acc })
    /// }).unwrap();
    /// assert_eq!(y.compute::<i64>().unwrap().into_raw_vec_and_offset().0, vec![0, 1, 3, 6, 4, 9]);
    /// ```
    pub fn map_blocks<T: Element, U: Element>(
        &self,
        name: &str,
        f: impl Fn(ndarray::ArrayViewD<'_, T>) -> ArrayD<U> + Send + Sync + 'static,
    ) -> Result<Array> {
        let n = self.node()?;
        if n.dtype() != T::DTYPE {
            return Err(Error::DTypeMismatch {
                actual: n.dtype(),
                requested: T::DTYPE,
            });
        }
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let unique = format!("{name}-{}", COUNTER.fetch_add(1, Ordering::Relaxed));
        let k = register_kernel(&unique, U::DTYPE, move |call: &KernelCall<'_>| {
            let x = call.inputs[0]
                .as_typed::<T>()
                .ok_or_else(|| format!("expects a {} block", T::DTYPE))?;
            Ok(DynArray::new(f(x.view())))
        });
        let ind: Vec<Sym> = SYMS[..n.ndim()].to_vec();
        Ok(Array::from_node(Node::blockwise(Blockwise {
            out_ind: ind.clone(),
            inputs: vec![(n.clone(), ind)],
            new_axes: vec![],
            kernel: Kernel::Named(k),
        })?))
    }

    // ----- evaluation -----

    /// Computes the array into memory as an `ndarray` of `T` (which must be the dtype).
    pub fn compute<T: Element>(&self) -> Result<ArrayD<T>> {
        self.compute_with::<T>(&ComputeOptions::default())
    }

    /// [`Array::compute`] with options (threads, progress callback, cancellation).
    pub fn compute_with<T: Element>(&self, opts: &ComputeOptions<'_>) -> Result<ArrayD<T>> {
        let d = self.compute_dyn_with(opts)?;
        let a = d.as_typed::<T>().ok_or(Error::DTypeMismatch {
            actual: d.dtype(),
            requested: T::DTYPE,
        })?;
        Ok(a.clone().into_owned())
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

fn contract(na: &Node, ia: &[Sym], nb: &Node, ib: &[Sym], out: Vec<Sym>) -> Result<Array> {
    // Contracted and batch axes of b take a's chunks.
    let mut axes = nb.chunks().axes().to_vec();
    for (j, s) in ib.iter().enumerate() {
        if let Some(i) = ia.iter().position(|t| t == s) {
            let (ca, cb) = (na.chunks().axis(i), nb.chunks().axis(j));
            if ca.len() != cb.len() {
                return Err(IrError::ShapeMismatch(format!(
                    "contracted axes differ in length: {} (axis {i} of a) vs {} (axis {j} of b); shapes {:?} and {:?}",
                    ca.len(),
                    cb.len(),
                    na.shape(),
                    nb.shape()
                ))
                .into());
            }
            axes[j] = ca.clone();
        }
    }
    let b2 = Node::rechunk(nb.clone(), ChunkGrid::new(axes))?;
    Ok(Array::from_node(Node::blockwise(Blockwise {
        out_ind: out,
        inputs: vec![(na.clone(), ia.to_vec()), (b2, ib.to_vec())],
        new_axes: vec![],
        kernel: Kernel::Contract,
    })?))
}

/// NumPy broadcasting of shapes.
pub fn broadcast_shapes(shapes: &[Vec<u64>]) -> Result<Vec<u64>> {
    let nd = shapes.iter().map(Vec::len).max().unwrap_or(0);
    let mut out = vec![1u64; nd];
    for s in shapes {
        let off = nd - s.len();
        for (i, &len) in s.iter().enumerate() {
            let o = &mut out[off + i];
            if *o == 1 {
                *o = len;
            } else if len != 1 && len != *o {
                return Err(IrError::ShapeMismatch(format!(
                    "operands could not be broadcast together with shapes {}",
                    shapes
                        .iter()
                        .map(|s| format!("{s:?}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                ))
                .into());
            }
        }
    }
    Ok(out)
}

/// The common refinement of two chunkings of one axis (all boundaries of both).
fn common_chunks(a: &AxisChunks, b: &AxisChunks) -> AxisChunks {
    if a == b {
        return a.clone();
    }
    let (mut i, mut j) = (0u64, 0u64);
    let mut lens = Vec::new();
    let mut pos = 0;
    let len = a.len();
    while pos < len {
        let ea = a.range(i).end;
        let eb = b.range(j).end;
        let e = ea.min(eb);
        lens.push(e - pos);
        pos = e;
        if ea == e {
            i += 1;
        }
        if eb == e {
            j += 1;
        }
    }
    AxisChunks::from_lengths(&lens)
}

macro_rules! operator {
    ($tr:ident, $m:ident, $op:expr) => {
        impl<R: Into<Operand>> std::ops::$tr<R> for &Array {
            type Output = Array;
            fn $m(self, rhs: R) -> Array {
                self.binop(rhs, $op).unwrap_or_else(Array::err)
            }
        }
        impl<R: Into<Operand>> std::ops::$tr<R> for Array {
            type Output = Array;
            fn $m(self, rhs: R) -> Array {
                self.binop(rhs, $op).unwrap_or_else(Array::err)
            }
        }
        operator!(@scalar $tr, $m, $op, bool, u8, i32, i64, f32, f64);
    };
    (@scalar $tr:ident, $m:ident, $op:expr, $($t:ty),*) => {$(
        impl std::ops::$tr<&Array> for $t {
            type Output = Array;
            fn $m(self, rhs: &Array) -> Array {
                rhs.rbinop(self, $op).unwrap_or_else(Array::err)
            }
        }
        impl std::ops::$tr<Array> for $t {
            type Output = Array;
            fn $m(self, rhs: Array) -> Array {
                rhs.rbinop(self, $op).unwrap_or_else(Array::err)
            }
        }
    )*};
}
operator!(Add, add, BinaryOp::Add);
operator!(Sub, sub, BinaryOp::Sub);
operator!(Mul, mul, BinaryOp::Mul);
operator!(Div, div, BinaryOp::Div);
operator!(Rem, rem, BinaryOp::Rem);

impl std::ops::Neg for &Array {
    type Output = Array;
    fn neg(self) -> Array {
        self.unary(UnaryOp::Neg).unwrap_or_else(Array::err)
    }
}
impl std::ops::Neg for Array {
    type Output = Array;
    fn neg(self) -> Array {
        -&self
    }
}

macro_rules! unary_methods {
    ($($name:ident => $op:ident, $doc:literal;)*) => {
        impl Array {$(
            #[doc = $doc]
            pub fn $name(&self) -> Array {
                self.unary(UnaryOp::$op).unwrap_or_else(Array::err)
            }
        )*}
    };
}
unary_methods! {
    exp => Exp, "`e^x` (integers give floats).";
    expm1 => Expm1, "`e^x - 1`.";
    log => Log, "Natural logarithm.";
    log1p => Log1p, "`ln(1 + x)`.";
    log2 => Log2, "Base-2 logarithm.";
    log10 => Log10, "Base-10 logarithm.";
    sqrt => Sqrt, "Square root.";
    abs => Abs, "Absolute value.";
    sign => Sign, "Sign (-1, 0, 1).";
    square => Square, "`x * x`.";
    sin => Sin, "Sine.";
    cos => Cos, "Cosine.";
    tan => Tan, "Tangent.";
    arcsin => Arcsin, "Inverse sine.";
    arccos => Arccos, "Inverse cosine.";
    arctan => Arctan, "Inverse tangent.";
    sinh => Sinh, "Hyperbolic sine.";
    cosh => Cosh, "Hyperbolic cosine.";
    tanh => Tanh, "Hyperbolic tangent.";
    floor => Floor, "Round down.";
    ceil => Ceil, "Round up.";
    round => Round, "Round half to even.";
    not => Not, "Logical (bool) or bitwise (integer) not.";
    isnan => IsNan, "Whether each element is NaN.";
    isinf => IsInf, "Whether each element is infinite.";
    isfinite => IsFinite, "Whether each element is finite.";
}

impl From<std::ops::RangeFull> for SliceArgWrap {
    fn from(_: std::ops::RangeFull) -> Self {
        SliceArgWrap(SliceArg::ALL)
    }
}

/// Conversion helper so that slices can be written as `[s(..3), s(5), s(2..)]`.
#[derive(Clone, Copy, Debug)]
pub struct SliceArgWrap(pub SliceArg);

impl From<i64> for SliceArgWrap {
    fn from(i: i64) -> Self {
        SliceArgWrap(SliceArg::Index(i))
    }
}
impl From<std::ops::Range<i64>> for SliceArgWrap {
    fn from(r: std::ops::Range<i64>) -> Self {
        SliceArgWrap(SliceArg::Range {
            start: Some(r.start),
            stop: Some(r.end),
            step: None,
        })
    }
}
impl From<std::ops::RangeFrom<i64>> for SliceArgWrap {
    fn from(r: std::ops::RangeFrom<i64>) -> Self {
        SliceArgWrap(SliceArg::Range {
            start: Some(r.start),
            stop: None,
            step: None,
        })
    }
}
impl From<std::ops::RangeTo<i64>> for SliceArgWrap {
    fn from(r: std::ops::RangeTo<i64>) -> Self {
        SliceArgWrap(SliceArg::Range {
            start: None,
            stop: Some(r.end),
            step: None,
        })
    }
}

/// One slice item from a Rust range or integer: `s(..3)`, `s(2..)`, `s(1..7)`, `s(-1)`, `s(..)`.
/// Use [`SliceArg::Range`] directly for steps.
pub fn s(x: impl Into<SliceArgWrap>) -> SliceArg {
    x.into().0
}
