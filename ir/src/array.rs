//! In-memory typed arrays: the data of `from_array` sources and of chunks on the CPU.

use crate::dtype::{Complex32, Complex64, DType, Scalar};
use ndarray::{ArcArray, ArrayD, IxDyn};
use std::fmt::Debug;

/// A Rust element type that chunkwise arrays can hold.
///
/// Elements are not ordered in general (complex numbers have no order); kernels that compare
/// use [`Element::lt`] and [`Element::le`], which the program builder only lets real types
/// reach.
pub trait Element: Copy + Debug + PartialEq + Default + Send + Sync + 'static {
    /// The chunkwise type of `Self`.
    const DTYPE: DType;
    /// Wraps an array of `Self`.
    fn wrap(a: ArcArray<Self, IxDyn>) -> DynArray;
    /// Borrows the array if it holds `Self`.
    fn unwrap_ref(a: &DynArray) -> Option<&ArcArray<Self, IxDyn>>;
    /// Converts a scalar of any type to `Self` (NumPy `astype` rules).
    fn from_scalar(s: Scalar) -> Self;
    /// Wraps a value as a scalar.
    fn to_scalar(self) -> Scalar;
    /// `self < other` for real types; `false` for complex types, which have no order.
    fn lt(self, other: Self) -> bool;
    /// `self <= other` for real types; `self == other` for complex types.
    fn le(self, other: Self) -> bool;
}

macro_rules! element {
    (ordered: $($t:ty => $v:ident),*; unordered: $($c:ty => $cv:ident),*) => {
        $(element!(@impl $t => $v, |a: $t, b: $t| a < b, |a: $t, b: $t| a <= b);)*
        $(element!(@impl $c => $cv, |_: $c, _: $c| false, |a: $c, b: $c| a == b);)*
    };
    (@impl $t:ty => $v:ident, $lt:expr, $le:expr) => {
        impl Element for $t {
            const DTYPE: DType = DType::$v;
            fn wrap(a: ArcArray<Self, IxDyn>) -> DynArray { DynArray::$v(a) }
            fn unwrap_ref(a: &DynArray) -> Option<&ArcArray<Self, IxDyn>> {
                match a { DynArray::$v(x) => Some(x), _ => None }
            }
            fn from_scalar(s: Scalar) -> Self {
                match s.cast(DType::$v) { Scalar::$v(v) => v, _ => unreachable!("cast returns the requested type") }
            }
            fn to_scalar(self) -> Scalar { Scalar::$v(self) }
            #[inline(always)] fn lt(self, other: Self) -> bool { ($lt)(self, other) }
            #[inline(always)] fn le(self, other: Self) -> bool { ($le)(self, other) }
        }
    };
}
element!(ordered: bool => Bool, i8 => I8, u8 => U8, i16 => I16, u16 => U16, i32 => I32,
    u32 => U32, i64 => I64, u64 => U64, f32 => F32, f64 => F64;
    unordered: Complex32 => C64, Complex64 => C128);

/// An n-dimensional array of any of the element types, shared by reference counting
/// (cloning is O(1); views such as transposes share the data).
#[derive(Clone, Debug, PartialEq)]
pub enum DynArray {
    /// bool elements.
    Bool(ArcArray<bool, IxDyn>),
    /// i8 elements.
    I8(ArcArray<i8, IxDyn>),
    /// u8 elements.
    U8(ArcArray<u8, IxDyn>),
    /// i16 elements.
    I16(ArcArray<i16, IxDyn>),
    /// u16 elements.
    U16(ArcArray<u16, IxDyn>),
    /// i32 elements.
    I32(ArcArray<i32, IxDyn>),
    /// u32 elements.
    U32(ArcArray<u32, IxDyn>),
    /// i64 elements.
    I64(ArcArray<i64, IxDyn>),
    /// u64 elements.
    U64(ArcArray<u64, IxDyn>),
    /// f32 elements.
    F32(ArcArray<f32, IxDyn>),
    /// f64 elements.
    F64(ArcArray<f64, IxDyn>),
    /// complex64 elements.
    C64(ArcArray<Complex32, IxDyn>),
    /// complex128 elements.
    C128(ArcArray<Complex64, IxDyn>),
}

/// Runs `$body` with `$a` bound to the typed `ArcArray` inside a [`DynArray`].
///
/// With a last argument `complex => $other`, complex arrays give `$other` instead (for code
/// of real types only).
#[macro_export]
macro_rules! with_array {
    ($arr:expr, $a:ident => $body:expr) => {
        $crate::with_array!(@arms $arr, $a => $body, c64 => $body, c128 => $body)
    };
    ($arr:expr, $a:ident => $body:expr, complex => $other:expr) => {
        $crate::with_array!(@arms $arr, $a => $body, c64 => $other, c128 => $other)
    };
    (@arms $arr:expr, $a:ident => $body:expr, c64 => $c64:expr, c128 => $c128:expr) => {
        match $arr {
            $crate::DynArray::Bool($a) => $body,
            $crate::DynArray::I8($a) => $body,
            $crate::DynArray::U8($a) => $body,
            $crate::DynArray::I16($a) => $body,
            $crate::DynArray::U16($a) => $body,
            $crate::DynArray::I32($a) => $body,
            $crate::DynArray::U32($a) => $body,
            $crate::DynArray::I64($a) => $body,
            $crate::DynArray::U64($a) => $body,
            $crate::DynArray::F32($a) => $body,
            $crate::DynArray::F64($a) => $body,
            #[allow(unused_variables)]
            $crate::DynArray::C64($a) => $c64,
            #[allow(unused_variables)]
            $crate::DynArray::C128($a) => $c128,
        }
    };
}

/// Runs `$body` with the type alias `$t` set to the Rust element type of a [`DType`].
///
/// With a last argument `bool => $other`, a `bool` dtype gives `$other` instead (for kernels
/// that have no `bool` version, such as contractions). With `complex => $other`, the complex
/// dtypes give `$other` (for kernels of real types only, such as orderings).
#[macro_export]
macro_rules! with_dtype {
    ($dtype:expr, $t:ident => $body:expr) => {
        $crate::with_dtype!(@arms $dtype, $t => $body,
            bool => { type $t = bool; $body },
            c64 => { type $t = $crate::Complex32; $body },
            c128 => { type $t = $crate::Complex64; $body })
    };
    ($dtype:expr, $t:ident => $body:expr, bool => $other:expr) => {
        $crate::with_dtype!(@arms $dtype, $t => $body,
            bool => $other,
            c64 => { type $t = $crate::Complex32; $body },
            c128 => { type $t = $crate::Complex64; $body })
    };
    ($dtype:expr, $t:ident => $body:expr, complex => $other:expr) => {
        $crate::with_dtype!(@arms $dtype, $t => $body,
            bool => { type $t = bool; $body },
            c64 => $other,
            c128 => $other)
    };
    (@arms $dtype:expr, $t:ident => $body:expr,
        bool => $bool:expr, c64 => $c64:expr, c128 => $c128:expr) => {
        match $dtype {
            $crate::DType::Bool => $bool,
            $crate::DType::I8 => {
                type $t = i8;
                $body
            }
            $crate::DType::U8 => {
                type $t = u8;
                $body
            }
            $crate::DType::I16 => {
                type $t = i16;
                $body
            }
            $crate::DType::U16 => {
                type $t = u16;
                $body
            }
            $crate::DType::I32 => {
                type $t = i32;
                $body
            }
            $crate::DType::U32 => {
                type $t = u32;
                $body
            }
            $crate::DType::I64 => {
                type $t = i64;
                $body
            }
            $crate::DType::U64 => {
                type $t = u64;
                $body
            }
            $crate::DType::F32 => {
                type $t = f32;
                $body
            }
            $crate::DType::F64 => {
                type $t = f64;
                $body
            }
            $crate::DType::C64 => $c64,
            $crate::DType::C128 => $c128,
        }
    };
}

/// The dtype of a typed array (for [`DynArray::dtype`]).
fn element_dtype<T: Element>(_: &ArcArray<T, IxDyn>) -> DType {
    T::DTYPE
}

impl DynArray {
    /// Wraps an owned typed array.
    pub fn new<T: Element>(a: ArrayD<T>) -> DynArray {
        T::wrap(a.into_shared())
    }

    /// An array of `shape` filled with `value` cast to `dtype`.
    pub fn full(dtype: DType, shape: &[usize], value: Scalar) -> DynArray {
        with_dtype!(dtype, T => DynArray::new(ArrayD::<T>::from_elem(IxDyn(shape), T::from_scalar(value))))
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        with_array!(self, a => element_dtype(a))
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        with_array!(self, a => a.shape())
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        with_array!(self, a => a.len())
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes held by the elements.
    pub fn nbytes(&self) -> usize {
        self.len() * self.dtype().size()
    }

    /// The typed array, if it holds `T`.
    pub fn as_typed<T: Element>(&self) -> Option<&ArcArray<T, IxDyn>> {
        T::unwrap_ref(self)
    }

    /// Converts to another element type (NumPy `astype` rules: integers wrap, floats
    /// truncate toward zero, nonzero is `true`). Returns a shared clone when the type is equal.
    pub fn cast(&self, dtype: DType) -> DynArray {
        if dtype == self.dtype() {
            return self.clone();
        }
        with_array!(self, a => with_dtype!(dtype, T => DynArray::new(a.map(|&v| T::from_scalar(v.to_scalar())))))
    }

    /// The element at a flat C-order position, as a scalar.
    pub fn get_flat(&self, i: usize) -> Option<Scalar> {
        with_array!(self, a => a.iter().nth(i).map(|v| v.to_scalar()))
    }
}
