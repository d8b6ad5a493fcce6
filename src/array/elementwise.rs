//! Elementwise operations: operators, comparisons, casts, unary math and `map_blocks`.

use super::{Array, Operand, SYMS};
use crate::error::{Error, Result};
use chunkwise_ir::program::{BinaryOp, CmpOp, ProgramBuilder, UnaryOp};
use chunkwise_ir::{
    register_kernel, AxisChunks, Blockwise, ChunkGrid, DType, DynArray, Element, IrError, Kernel,
    KernelCall, Node, Sym,
};
use ndarray::ArrayD;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

impl Array {
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
    /// The magnitude of `self` with the sign bit of `other` (NumPy `copysign`; integers
    /// give floats).
    pub fn copysign(&self, other: impl Into<Operand>) -> Result<Array> {
        self.binop(other, BinaryOp::Copysign)
    }
    /// `sqrt(self^2 + other^2)` without undue overflow (NumPy `hypot`; infinite if either
    /// operand is, even with a NaN).
    pub fn hypot(&self, other: impl Into<Operand>) -> Result<Array> {
        self.binop(other, BinaryOp::Hypot)
    }
    /// `ln(e^self + e^other)`, computed without overflow (NumPy `logaddexp`).
    pub fn logaddexp(&self, other: impl Into<Operand>) -> Result<Array> {
        self.binop(other, BinaryOp::Logaddexp)
    }
    /// The next representable value after `self` toward `other`, in the result type's
    /// precision (NumPy `nextafter`: f32 steps are f32 steps).
    pub fn nextafter(&self, other: impl Into<Operand>) -> Result<Array> {
        self.binop(other, BinaryOp::Nextafter)
    }
    /// `self << other` (integers only; NumPy `left_shift`: a count outside `0..bits`,
    /// negative counts included, gives 0).
    pub fn shl(&self, other: impl Into<Operand>) -> Result<Array> {
        self.binop(other, BinaryOp::Shl)
    }
    /// `self >> other`, arithmetic for signed types (integers only; NumPy `right_shift`: a
    /// count outside `0..bits`, negative counts included, gives 0, or -1 where `self` is
    /// negative).
    pub fn shr(&self, other: impl Into<Operand>) -> Result<Array> {
        self.binop(other, BinaryOp::Shr)
    }

    /// A comparison; the result is bool.
    pub fn compare(&self, other: impl Into<Operand>, f: CmpOp) -> Result<Array> {
        Array::elementwise(&[self.into(), other.into()], |b, x| {
            b.compare(f, x[0], x[1])
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
        self.real_matrix(what, DType::F64)
    }

    /// This array as the real type `dtype`, or an error naming `what` unless it is a 2-d
    /// real array.
    pub(crate) fn real_matrix(&self, what: &str, dtype: DType) -> Result<Array> {
        if self.ndim() != 2 {
            return Err(IrError::ShapeMismatch(format!(
                "{what} takes a 2-d array, not shape {:?}",
                self.shape()
            ))
            .into());
        }
        let own = self.node()?.dtype();
        if own.is_complex() {
            return Err(IrError::UnsupportedDType(format!(
                "{what} takes a real matrix, not {own}"
            ))
            .into());
        }
        self.astype(dtype)
    }

    /// Applies a unary operation.
    pub fn unary(&self, f: UnaryOp) -> Result<Array> {
        Array::elementwise(&[self.into()], |b, x| b.unary(f, x[0]))
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

    /// `f` applied to the aligned blocks of `inputs` (all of one shape and chunking), for
    /// untyped and fallible functions: `f` receives the input blocks as [`DynArray`]s and
    /// must return a block of the call's `shape` and of type `dtype`; an `Err` fails the
    /// task with its message. This is what the Python `map_blocks` uses.
    ///
    /// ```
    /// use chunkwise::{Array, DType, DynArray};
    /// let x = Array::arange(0.0, 6.0, 1.0, 4).unwrap();
    /// let y = Array::map_blocks_dyn(&[&x, &x], "product", DType::I64, |call| {
    ///     let (a, b) = (call.inputs[0].as_typed::<i64>().ok_or("i64")?, call.inputs[1].as_typed::<i64>().ok_or("i64")?);
    ///     Ok(DynArray::new((a * b).into_owned()))
    /// }).unwrap();
    /// assert_eq!(y.compute::<i64>().unwrap().into_raw_vec_and_offset().0, vec![0, 1, 4, 9, 16, 25]);
    /// ```
    pub fn map_blocks_dyn(
        inputs: &[&Array],
        name: &str,
        dtype: DType,
        f: impl Fn(&KernelCall<'_>) -> std::result::Result<DynArray, String> + Send + Sync + 'static,
    ) -> Result<Array> {
        let nodes = inputs
            .iter()
            .map(|a| a.node().cloned())
            .collect::<Result<Vec<_>>>()?;
        let first = nodes.first().ok_or_else(|| {
            IrError::InvalidArgument("map_blocks needs at least one input".into())
        })?;
        if let Some(other) = nodes
            .iter()
            .find(|n| n.meta().chunks != first.meta().chunks)
        {
            return Err(IrError::InvalidChunks(format!(
                "map_blocks inputs must have the same shape and chunks: {:?} and {:?} \
                 (rechunk or broadcast them first)",
                first.meta().shape(),
                other.meta().shape()
            ))
            .into());
        }
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let unique = format!("{name}-{}", COUNTER.fetch_add(1, Ordering::Relaxed));
        let k = register_kernel(&unique, dtype, f);
        let ind: Vec<Sym> = SYMS[..first.ndim()].to_vec();
        Ok(Array::from_node(Node::blockwise(Blockwise {
            out_ind: ind.clone(),
            inputs: nodes.into_iter().map(|n| (n, ind.clone())).collect(),
            new_axes: vec![],
            kernel: Kernel::Named(k),
        })?))
    }
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
        operator!(@scalar $tr, $m, $op, bool, i8, u8, i16, u16, i32, u32, i64, u64, f32, f64,
            chunkwise_ir::Complex32, chunkwise_ir::Complex64);
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
    exp2 => Exp2, "`2^x` (integers give floats).";
    log => Log, "Natural logarithm.";
    log1p => Log1p, "`ln(1 + x)`.";
    log2 => Log2, "Base-2 logarithm.";
    log10 => Log10, "Base-10 logarithm.";
    sqrt => Sqrt, "Square root.";
    abs => Abs, "Absolute value (the modulus for complex numbers, of the component type).";
    sign => Sign, "Sign (-1, 0, 1; `z / |z|` for complex numbers, 0 at 0).";
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
    arcsinh => Arcsinh, "Inverse hyperbolic sine.";
    arccosh => Arccosh, "Inverse hyperbolic cosine (NaN below 1).";
    arctanh => Arctanh, "Inverse hyperbolic tangent (±inf at ±1, NaN beyond).";
    floor => Floor, "Round down.";
    ceil => Ceil, "Round up.";
    round => Round, "Round half to even.";
    trunc => Trunc, "Round toward zero (integers are unchanged).";
    not => Not, "Logical (bool) or bitwise (integer) not.";
    isnan => IsNan, "Whether each element is NaN.";
    isinf => IsInf, "Whether each element is infinite.";
    isfinite => IsFinite, "Whether each element is finite.";
    signbit => Signbit, "Whether each element's sign bit is set (true for -0.0 and negative NaNs; integers: `x < 0`; bool: false).";
    real => Real, "The real part (of the component type for complex arrays; real arrays are unchanged).";
    imag => Imag, "The imaginary part (of the component type for complex arrays; zeros for real arrays).";
    conj => Conj, "The complex conjugate (real arrays are unchanged).";
}
