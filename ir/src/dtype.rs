//! Element types and the promotion rules between them.
//!
//! chunkwise has the thirteen element types of the Python Array API standard (2023.12):
//! `bool`, the signed integers `i8`, `i16`, `i32`, `i64`, the unsigned integers `u8`,
//! `u16`, `u32`, `u64`, the floats `f32`, `f64` and the complex types `c64` (`complex64`,
//! two `f32`) and `c128` (`complex128`, two `f64`).
//! Binary operations between arrays promote both operands to a common type, NumPy 2's
//! `result_type` (checked pairwise against NumPy in this module's tests; the complex rows
//! are below the table):
//!
//! | `a` \ `b` | bool | i8   | u8   | i16  | u16  | i32  | u32  | i64  | u64  | f32  | f64  |
//! |-----------|------|------|------|------|------|------|------|------|------|------|------|
//! | **bool**  | bool | i8   | u8   | i16  | u16  | i32  | u32  | i64  | u64  | f32  | f64  |
//! | **i8**    | i8   | i8   | i16  | i16  | i32  | i32  | i64  | i64  | f64  | f32  | f64  |
//! | **u8**    | u8   | i16  | u8   | i16  | u16  | i32  | u32  | i64  | u64  | f32  | f64  |
//! | **i16**   | i16  | i16  | i16  | i16  | i32  | i32  | i64  | i64  | f64  | f32  | f64  |
//! | **u16**   | u16  | i32  | u16  | i32  | u16  | i32  | u32  | i64  | u64  | f32  | f64  |
//! | **i32**   | i32  | i32  | i32  | i32  | i32  | i32  | i64  | i64  | f64  | f64  | f64  |
//! | **u32**   | u32  | i64  | u32  | i64  | u32  | i64  | u32  | i64  | u64  | f64  | f64  |
//! | **i64**   | i64  | i64  | i64  | i64  | i64  | i64  | i64  | i64  | f64  | f64  | f64  |
//! | **u64**   | u64  | f64  | u64  | f64  | u64  | f64  | u64  | f64  | u64  | f64  | f64  |
//! | **f32**   | f32  | f32  | f32  | f32  | f32  | f64  | f64  | f64  | f64  | f32  | f64  |
//! | **f64**   | f64  | f64  | f64  | f64  | f64  | f64  | f64  | f64  | f64  | f64  | f64  |
//!
//! Within one kind this is the standard's table: two signed or two unsigned integers give
//! the larger, a signed and an unsigned integer the smallest signed type holding both
//! (`u8` with `i8` is `i16`, `u32` with `i32` is `i64`), two floats the larger. Where the
//! standard leaves the result unspecified chunkwise follows NumPy: `u64` with any signed
//! integer gives `f64`, and an integer with a float gives `f32` for `i8`, `u8`, `i16`, `u16`
//! with `f32` and `f64` otherwise (the smallest float holding every value of both, as far as
//! `f32` can; `i32`, `u32`, `i64`, `u64` with `f32` give `f64`). `bool` with any type gives
//! that type.
//!
//! A complex type with a real type gives the complex type whose components hold the
//! real type's promotion with the component type: `c64` with `bool`, `i8`, `u8`, `i16`,
//! `u16` or `f32` stays `c64`; `c64` with `i32`, `u32`, `i64`, `u64` or `f64` gives `c128`;
//! `c128` with anything gives `c128`.
//!
//! A Rust scalar combined with an array is *weak* (NumPy's NEP 50): it takes the array's
//! type when its kind (bool < integer < float < complex) is not higher, so `f32_array + 1.5`
//! stays `f32` and `i8_array * 2` stays `i8`; `i32_array + 0.5` becomes `f64`. A complex
//! scalar with a real array gives the complex type of the array's float precision
//! (`f32_array * 1j` is `c64`, `f64` and integer arrays give `c128`). See [`DType::promote_scalar`].

use num_complex::Complex;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A `complex64` element: two `f32`.
pub type Complex32 = Complex<f32>;
/// A `complex128` element: two `f64`.
pub type Complex64 = Complex<f64>;

/// The element type of an array.
///
/// The order of the variants is NumPy's order of its type codes (`?bBhHiIlLfd`):
/// bool, then the integers by size (signed before unsigned), then the floats, then the
/// complex types (`?bBhHiIlLfdFD`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DType {
    /// Booleans (one byte each).
    Bool,
    /// Signed 8-bit integers.
    I8,
    /// Unsigned 8-bit integers.
    U8,
    /// Signed 16-bit integers.
    I16,
    /// Unsigned 16-bit integers.
    U16,
    /// Signed 32-bit integers.
    I32,
    /// Unsigned 32-bit integers.
    U32,
    /// Signed 64-bit integers.
    I64,
    /// Unsigned 64-bit integers.
    U64,
    /// 32-bit IEEE floats.
    F32,
    /// 64-bit IEEE floats.
    F64,
    /// Complex numbers of two 32-bit floats (`complex64`; `num_complex::Complex<f32>`).
    #[serde(alias = "complex64")]
    C64,
    /// Complex numbers of two 64-bit floats (`complex128`; `num_complex::Complex<f64>`).
    #[serde(alias = "complex128")]
    C128,
}

/// The kind of a type or scalar: the NEP 50 ordering used for weak scalars.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// bool.
    Bool,
    /// Any integer type.
    Int,
    /// Any float type.
    Float,
    /// Any complex type.
    Complex,
}

impl DType {
    /// All element types, in promotion order (the order of the variants).
    pub const ALL: [DType; 13] = [
        DType::Bool,
        DType::I8,
        DType::U8,
        DType::I16,
        DType::U16,
        DType::I32,
        DType::U32,
        DType::I64,
        DType::U64,
        DType::F32,
        DType::F64,
        DType::C64,
        DType::C128,
    ];

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            DType::Bool | DType::I8 | DType::U8 => 1,
            DType::I16 | DType::U16 => 2,
            DType::I32 | DType::U32 | DType::F32 => 4,
            DType::I64 | DType::U64 | DType::F64 | DType::C64 => 8,
            DType::C128 => 16,
        }
    }

    /// The kind of this type.
    pub fn kind(self) -> Kind {
        match self {
            DType::Bool => Kind::Bool,
            DType::F32 | DType::F64 => Kind::Float,
            DType::C64 | DType::C128 => Kind::Complex,
            _ => Kind::Int,
        }
    }

    /// Whether this is a float type.
    pub fn is_float(self) -> bool {
        self.kind() == Kind::Float
    }

    /// Whether this is a complex type.
    pub fn is_complex(self) -> bool {
        self.kind() == Kind::Complex
    }

    /// Whether this is a float or complex type (the types of true division and math
    /// functions).
    pub fn is_inexact(self) -> bool {
        self.is_float() || self.is_complex()
    }

    /// The real type of the components: `f32` for `c64`, `f64` for `c128`, the type itself
    /// for real types (the type of `abs`, `real` and `imag`).
    ///
    /// ```
    /// use chunkwise_ir::DType;
    /// assert_eq!(DType::C64.real_dtype(), DType::F32);
    /// assert_eq!(DType::I16.real_dtype(), DType::I16);
    /// ```
    pub fn real_dtype(self) -> DType {
        match self {
            DType::C64 => DType::F32,
            DType::C128 => DType::F64,
            d => d,
        }
    }

    /// The complex type whose components are `self`'s promotion with `f32` (`c64` for
    /// `f32` and the types promoting with it to `f32`, `c128` otherwise); complex types are
    /// themselves.
    ///
    /// ```
    /// use chunkwise_ir::DType;
    /// assert_eq!(DType::F32.complex_dtype(), DType::C64);
    /// assert_eq!(DType::I32.complex_dtype(), DType::C128);
    /// ```
    pub fn complex_dtype(self) -> DType {
        match self {
            DType::C64 | DType::C128 => self,
            d if d.promote(DType::F32) == DType::F32 => DType::C64,
            _ => DType::C128,
        }
    }

    /// Whether this is an unsigned integer type.
    pub fn is_unsigned(self) -> bool {
        matches!(self, DType::U8 | DType::U16 | DType::U32 | DType::U64)
    }

    /// The common type of two array types (see the module table).
    ///
    /// ```
    /// use chunkwise_ir::DType;
    /// assert_eq!(DType::I32.promote(DType::F32), DType::F64);
    /// assert_eq!(DType::U8.promote(DType::F32), DType::F32);
    /// assert_eq!(DType::Bool.promote(DType::I64), DType::I64);
    /// assert_eq!(DType::U8.promote(DType::I8), DType::I16);
    /// assert_eq!(DType::U64.promote(DType::I64), DType::F64);
    /// assert_eq!(DType::C64.promote(DType::F64), DType::C128);
    /// assert_eq!(DType::C64.promote(DType::I16), DType::C64);
    /// ```
    pub fn promote(self, other: DType) -> DType {
        use DType::*;
        let (a, b) = if self <= other {
            (self, other)
        } else {
            (other, self)
        };
        match (a.kind(), b.kind()) {
            // Complex: the component type is the promotion of the real parts.
            (_, Kind::Complex) => match a.real_dtype().promote(b.real_dtype()) {
                F32 => C64,
                _ => C128,
            },
            // Equal types, bool with anything, two floats: the later type.
            _ if a == b || a == Bool => b,
            (Kind::Float, _) => b,
            (Kind::Int, Kind::Float) if b == F32 && a.size() <= 2 => F32,
            (Kind::Int, Kind::Float) => F64,
            // Two integers of one signedness: the later (larger) type.
            _ if a.is_unsigned() == b.is_unsigned() => b,
            _ => {
                let (u, s) = if a.is_unsigned() { (a, b) } else { (b, a) };
                if s.size() > u.size() {
                    s
                } else {
                    match u {
                        U8 => I16,
                        U16 => I32,
                        U32 => I64,
                        _ => F64,
                    }
                }
            }
        }
    }

    /// The type of `array op scalar` where the scalar has kind `scalar`: the array's type
    /// unless the scalar's kind is higher, then the default type of that kind
    /// (`i64` for integers, `f64` for floats); a complex scalar with a real array gives
    /// `c64` for an `f32` array and `c128` for any other (the standard's rule, and NumPy's).
    ///
    /// ```
    /// use chunkwise_ir::{DType, Kind};
    /// assert_eq!(DType::F32.promote_scalar(Kind::Float), DType::F32);
    /// assert_eq!(DType::I32.promote_scalar(Kind::Float), DType::F64);
    /// assert_eq!(DType::U16.promote_scalar(Kind::Int), DType::U16);
    /// assert_eq!(DType::Bool.promote_scalar(Kind::Int), DType::I64);
    /// assert_eq!(DType::F32.promote_scalar(Kind::Complex), DType::C64);
    /// assert_eq!(DType::I8.promote_scalar(Kind::Complex), DType::C128);
    /// assert_eq!(DType::C64.promote_scalar(Kind::Float), DType::C64);
    /// ```
    pub fn promote_scalar(self, scalar: Kind) -> DType {
        if scalar <= self.kind() {
            self
        } else {
            match scalar {
                Kind::Bool => DType::Bool,
                Kind::Int => DType::I64,
                Kind::Float => DType::F64,
                Kind::Complex if self == DType::F32 => DType::C64,
                Kind::Complex => DType::C128,
            }
        }
    }

    /// The float type that math functions (`exp`, `sqrt`, `arctan2`) return for this type:
    /// floats keep their type, other types give their promotion with `f32` (NumPy's rule,
    /// except that `bool`, `i8` and `u8` give `f32` where NumPy gives `f16`, which chunkwise
    /// does not have): `f32` for `bool`, `i8`, `u8`, `i16`, `u16`; `f64` for `i32`, `u32`,
    /// `i64`, `u64`. True division and mean of integers give `f64` instead (NumPy). Complex
    /// types keep their type.
    pub fn float_result(self) -> DType {
        if self.is_inexact() {
            self
        } else {
            self.promote(DType::F32)
        }
    }

    /// The short name (`"i8"`, `"u16"`, `"f64"`, `"bool"`; what [`fmt::Display`] and serde
    /// write) and the Array API / NumPy name (`"int8"`, `"uint16"`, `"float64"`, `"bool"`;
    /// [`DType::name`]).
    fn names(self) -> (&'static str, &'static str) {
        match self {
            DType::Bool => ("bool", "bool"),
            DType::I8 => ("i8", "int8"),
            DType::U8 => ("u8", "uint8"),
            DType::I16 => ("i16", "int16"),
            DType::U16 => ("u16", "uint16"),
            DType::I32 => ("i32", "int32"),
            DType::U32 => ("u32", "uint32"),
            DType::I64 => ("i64", "int64"),
            DType::U64 => ("u64", "uint64"),
            DType::F32 => ("f32", "float32"),
            DType::F64 => ("f64", "float64"),
            DType::C64 => ("c64", "complex64"),
            DType::C128 => ("c128", "complex128"),
        }
    }

    /// The name of this type in the Array API standard and NumPy (`"int8"`, `"uint64"`,
    /// `"float32"`, `"complex64"`, `"bool"`), which is also the Zarr V3 `data_type` name.
    pub fn name(self) -> &'static str {
        self.names().1
    }

    /// The NumPy type string (`"<f8"`, `"|b1"`, `"|i1"`, `"<u2"`, ...) of this type in
    /// little-endian order (also the Zarr V2 `dtype`).
    pub fn numpy_str(self) -> &'static str {
        match self {
            DType::Bool => "|b1",
            DType::I8 => "|i1",
            DType::U8 => "|u1",
            DType::I16 => "<i2",
            DType::U16 => "<u2",
            DType::I32 => "<i4",
            DType::U32 => "<u4",
            DType::I64 => "<i8",
            DType::U64 => "<u8",
            DType::F32 => "<f4",
            DType::F64 => "<f8",
            DType::C64 => "<c8",
            DType::C128 => "<c16",
        }
    }

    /// Parses a short name such as `"f64"`, `"i8"`, `"u16"` or an Array API name such as
    /// `"float64"`, `"int8"`, `"uint16"`; `"bool"` is both.
    ///
    /// ```
    /// use chunkwise_ir::DType;
    /// assert_eq!(DType::parse("uint32"), Some(DType::U32));
    /// assert_eq!(DType::parse("i16"), Some(DType::I16));
    /// assert_eq!(DType::parse("complex64"), Some(DType::C64));
    /// assert_eq!(DType::parse("float16"), None);
    /// ```
    pub fn parse(name: &str) -> Option<DType> {
        DType::ALL.into_iter().find(|d| {
            let (short, long) = d.names();
            name == short || name == long
        })
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.names().0)
    }
}

/// The integer that a float converts to on the way to the integer type `to`, as the bits of
/// an `i64` (the target then keeps the low bits, so values wrap as integer casts do):
/// truncation toward zero, saturating at the limits of `i64` (of `u64` when `to` is `u64`),
/// NaN giving 0 (Rust `as`). In the range of `to` this is NumPy's `astype`; negative values
/// cast to unsigned types wrap (`-1.7` to `u8` is `255`) as NumPy's do on x86-64. Beyond the
/// range of the target NumPy's C casts are undefined behaviour (x86-64 gives the "integer
/// indefinite" value, `i64::MIN` for `i64`), chunkwise's are this rule.
pub fn float_to_int_bits(v: f64, to: DType) -> i64 {
    if to == DType::U64 && v >= 0.0 {
        v as u64 as i64
    } else {
        v as i64
    }
}

/// A scalar value of one of the element types.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dtype", content = "value", rename_all = "lowercase")]
pub enum Scalar {
    /// A bool.
    Bool(bool),
    /// An i8.
    I8(i8),
    /// A u8.
    U8(u8),
    /// An i16.
    I16(i16),
    /// A u16.
    U16(u16),
    /// An i32.
    I32(i32),
    /// A u32.
    U32(u32),
    /// An i64.
    I64(i64),
    /// A u64.
    U64(u64),
    /// An f32.
    F32(f32),
    /// An f64.
    F64(f64),
    /// A complex64 (serialized as `[re, im]`).
    #[serde(with = "complex_serde")]
    C64(Complex32),
    /// A complex128 (serialized as `[re, im]`).
    #[serde(with = "complex_serde")]
    C128(Complex64),
}

/// Serde of complex scalars as `[re, im]`.
mod complex_serde {
    use num_complex::Complex;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<T: Serialize + Copy, S: Serializer>(
        v: &Complex<T>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        [v.re, v.im].serialize(s)
    }

    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Complex<T>, D::Error> {
        let (re, im) = <(T, T)>::deserialize(d)?;
        Ok(Complex::new(re, im))
    }
}

/// Runs `$body` with `$v` bound to the value of an integer [`Scalar`] converted with `as`
/// to `$to`; the other variants give `$other`.
macro_rules! int_scalar_as {
    ($s:expr, $v:ident => $to:ty, $other:expr) => {
        match $s {
            Scalar::I8($v) => $v as $to,
            Scalar::U8($v) => $v as $to,
            Scalar::I16($v) => $v as $to,
            Scalar::U16($v) => $v as $to,
            Scalar::I32($v) => $v as $to,
            Scalar::U32($v) => $v as $to,
            Scalar::I64($v) => $v as $to,
            Scalar::U64($v) => $v as $to,
            _ => $other,
        }
    };
}

impl Scalar {
    /// The scalar's type.
    pub fn dtype(self) -> DType {
        match self {
            Scalar::Bool(_) => DType::Bool,
            Scalar::I8(_) => DType::I8,
            Scalar::U8(_) => DType::U8,
            Scalar::I16(_) => DType::I16,
            Scalar::U16(_) => DType::U16,
            Scalar::I32(_) => DType::I32,
            Scalar::U32(_) => DType::U32,
            Scalar::I64(_) => DType::I64,
            Scalar::U64(_) => DType::U64,
            Scalar::F32(_) => DType::F32,
            Scalar::F64(_) => DType::F64,
            Scalar::C64(_) => DType::C64,
            Scalar::C128(_) => DType::C128,
        }
    }

    /// The value as a complex128 (real types with imaginary part 0).
    pub fn as_complex(self) -> Complex64 {
        match self {
            Scalar::C64(v) => Complex::new(v.re as f64, v.im as f64),
            Scalar::C128(v) => v,
            real => Complex::new(real.as_f64(), 0.0),
        }
    }

    /// The value as f64 (exact for every type but large i64 and u64; the real part of a
    /// complex value).
    pub fn as_f64(self) -> f64 {
        match self {
            Scalar::Bool(v) => v as u8 as f64,
            Scalar::F32(v) => v as f64,
            Scalar::F64(v) => v,
            Scalar::C64(v) => v.re as f64,
            Scalar::C128(v) => v.re,
            int => int_scalar_as!(int, v => f64, unreachable!("integer scalars are matched")),
        }
    }

    /// The value as i64 (floats truncate toward zero, saturating, NaN to 0: Rust `as`; a
    /// u64 above `i64::MAX` keeps its bits, so it wraps to a negative value; complex values
    /// convert their real part).
    pub fn as_i64(self) -> i64 {
        match self {
            Scalar::Bool(v) => v as i64,
            Scalar::F32(v) => v as i64,
            Scalar::F64(v) | Scalar::C128(Complex { re: v, .. }) => v as i64,
            Scalar::C64(v) => v.re as i64,
            int => int_scalar_as!(int, v => i64, unreachable!("integer scalars are matched")),
        }
    }

    /// Converts to `dtype` with NumPy's `astype` semantics (integers wrap, floats to
    /// integers truncate as [`float_to_int_bits`] says, anything nonzero is `true`; complex
    /// to real types takes the real part, real to complex has imaginary part 0).
    pub fn cast(self, dtype: DType) -> Scalar {
        let (truthy, bits) = match self {
            Scalar::F32(v) => (v != 0.0, float_to_int_bits(v as f64, dtype)),
            Scalar::F64(v) => (v != 0.0, float_to_int_bits(v, dtype)),
            Scalar::C64(_) | Scalar::C128(_) => {
                let c = self.as_complex();
                (c.re != 0.0 || c.im != 0.0, float_to_int_bits(c.re, dtype))
            }
            other => (other.as_i64() != 0, other.as_i64()),
        };
        match dtype {
            DType::Bool => Scalar::Bool(truthy),
            DType::I8 => Scalar::I8(bits as i8),
            DType::U8 => Scalar::U8(bits as u8),
            DType::I16 => Scalar::I16(bits as i16),
            DType::U16 => Scalar::U16(bits as u16),
            DType::I32 => Scalar::I32(bits as i32),
            DType::U32 => Scalar::U32(bits as u32),
            DType::I64 => Scalar::I64(bits),
            DType::U64 => Scalar::U64(bits as u64),
            DType::F32 => Scalar::F32(self.as_f64() as f32),
            DType::F64 => Scalar::F64(self.as_f64()),
            DType::C64 => {
                let c = self.as_complex();
                Scalar::C64(Complex::new(c.re as f32, c.im as f32))
            }
            DType::C128 => Scalar::C128(self.as_complex()),
        }
    }

    /// Bits that identify the value exactly (for hashing; NaNs with equal payloads hash equal).
    pub fn hash_bits(self) -> u64 {
        match self {
            Scalar::F32(v) => v.to_bits() as u64,
            Scalar::F64(v) => v.to_bits(),
            Scalar::C64(v) => ((v.re.to_bits() as u64) << 32) | v.im.to_bits() as u64,
            Scalar::C128(v) => v.re.to_bits() ^ v.im.to_bits().rotate_left(29),
            other => other.as_i64() as u64,
        }
    }
}

impl fmt::Display for Scalar {
    /// `i64` values plainly, `f64` values in Rust's round-trip form, the other types with
    /// their type as a suffix (`3u8`, `-1i16`, `0.5f32`), complex values as
    /// `(re+imj)` with their type (`(1.0+2.0j)c64`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Bool(v) => write!(f, "{v}"),
            Scalar::I64(v) => write!(f, "{v}"),
            Scalar::F32(v) => write!(f, "{v:?}f32"),
            Scalar::F64(v) => write!(f, "{v:?}"),
            Scalar::C64(_) | Scalar::C128(_) => {
                let c = self.as_complex();
                let sign = if c.im.is_sign_negative() { "" } else { "+" };
                write!(f, "({:?}{sign}{:?}j){}", c.re, c.im, self.dtype())
            }
            int => write!(
                f,
                "{}{}",
                int_scalar_as!(*int, v => i128, unreachable!("integer scalars are matched")),
                int.dtype()
            ),
        }
    }
}

macro_rules! scalar_from {
    ($($t:ty => $v:ident),*) => {$(
        impl From<$t> for Scalar {
            fn from(v: $t) -> Scalar { Scalar::$v(v) }
        }
    )*};
}
scalar_from!(bool => Bool, i8 => I8, u8 => U8, i16 => I16, u16 => U16, i32 => I32, u32 => U32,
    i64 => I64, u64 => U64, f32 => F32, f64 => F64, Complex32 => C64, Complex64 => C128);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn promotion_is_symmetric_and_matches_numpy() {
        use DType::*;
        // np.result_type(a, b) for every pair, rows and columns in DType::ALL order,
        // printed with NumPy 2.4.6 by:
        //
        //     import numpy as np
        //     names = ["bool", "int8", "uint8", "int16", "uint16", "int32", "uint32",
        //              "int64", "uint64", "float32", "float64", "complex64", "complex128"]
        //     def s(n):
        //         return "Bool" if n == "bool" else (
        //             "U" if n.startswith("u") else n[0].upper()) + n.lstrip("uintfloatcomplex")
        //     for a in names:
        //         print("[" + ", ".join(s(str(np.result_type(a, b))) for b in names) + "],")
        #[rustfmt::skip]
        let expect = [
            [Bool, I8, U8, I16, U16, I32, U32, I64, U64, F32, F64, C64, C128],
            [I8, I8, I16, I16, I32, I32, I64, I64, F64, F32, F64, C64, C128],
            [U8, I16, U8, I16, U16, I32, U32, I64, U64, F32, F64, C64, C128],
            [I16, I16, I16, I16, I32, I32, I64, I64, F64, F32, F64, C64, C128],
            [U16, I32, U16, I32, U16, I32, U32, I64, U64, F32, F64, C64, C128],
            [I32, I32, I32, I32, I32, I32, I64, I64, F64, F64, F64, C128, C128],
            [U32, I64, U32, I64, U32, I64, U32, I64, U64, F64, F64, C128, C128],
            [I64, I64, I64, I64, I64, I64, I64, I64, F64, F64, F64, C128, C128],
            [U64, F64, U64, F64, U64, F64, U64, F64, U64, F64, F64, C128, C128],
            [F32, F32, F32, F32, F32, F64, F64, F64, F64, F32, F64, C64, C128],
            [F64, F64, F64, F64, F64, F64, F64, F64, F64, F64, F64, C128, C128],
            [C64, C64, C64, C64, C64, C128, C128, C128, C128, C64, C128, C64, C128],
            [C128, C128, C128, C128, C128, C128, C128, C128, C128, C128, C128, C128, C128],
        ];
        for (i, a) in DType::ALL.iter().enumerate() {
            for (j, b) in DType::ALL.iter().enumerate() {
                assert_eq!(a.promote(*b), expect[i][j], "{a} + {b}");
                assert_eq!(a.promote(*b), b.promote(*a));
            }
        }
    }

    #[test]
    fn complex_scalars_follow_the_standard() {
        use DType::*;
        // NEP 50: a Python complex with a real array takes the array's float precision.
        for (d, c) in [
            (Bool, C128),
            (I8, C128),
            (I64, C128),
            (F32, C64),
            (F64, C128),
        ] {
            assert_eq!(d.promote_scalar(Kind::Complex), c, "{d}");
        }
        for k in [Kind::Bool, Kind::Int, Kind::Float, Kind::Complex] {
            assert_eq!(C64.promote_scalar(k), C64);
        }
        let z = Scalar::C128(Complex::new(1.5, -2.0));
        assert_eq!(z.cast(F64), Scalar::F64(1.5));
        assert_eq!(z.cast(I8), Scalar::I8(1));
        assert_eq!(z.cast(Bool), Scalar::Bool(true));
        assert_eq!(
            Scalar::C64(Complex::new(0.0, -0.5)).cast(Bool),
            Scalar::Bool(true)
        );
        assert_eq!(
            Scalar::I32(3).cast(C64),
            Scalar::C64(Complex::new(3.0, 0.0))
        );
        assert_eq!(z.to_string(), "(1.5-2.0j)c128");
        let json = serde_json::to_string(&z).unwrap();
        assert_eq!(json, r#"{"dtype":"c128","value":[1.5,-2.0]}"#);
        assert_eq!(serde_json::from_str::<DType>("\"complex64\"").unwrap(), C64);
    }

    #[test]
    fn names_round_trip() {
        for d in DType::ALL {
            assert_eq!(DType::parse(&d.to_string()), Some(d));
            assert_eq!(DType::parse(d.name()), Some(d));
            let json = serde_json::to_string(&d).unwrap();
            assert_eq!(json, format!("\"{d}\""));
            assert_eq!(serde_json::from_str::<DType>(&json).unwrap(), d);
            let s = Scalar::I64(1).cast(d);
            assert_eq!(s.dtype(), d);
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(serde_json::from_str::<Scalar>(&json).unwrap(), s, "{json}");
            assert_eq!(d.numpy_str()[2..].parse::<usize>().unwrap(), d.size());
        }
        assert_eq!(Scalar::I16(-3).to_string(), "-3i16");
        assert_eq!(Scalar::U64(u64::MAX).to_string(), "18446744073709551615u64");
    }

    #[test]
    fn float_results_follow_numpy_without_f16() {
        use DType::*;
        for (d, f) in [
            (Bool, F32),
            (I8, F32),
            (U8, F32),
            (I16, F32),
            (U16, F32),
            (I32, F64),
            (U32, F64),
            (I64, F64),
            (U64, F64),
            (F32, F32),
            (F64, F64),
            (C64, C64),
            (C128, C128),
        ] {
            assert_eq!(d.float_result(), f, "{d}");
        }
    }

    #[test]
    fn casts_follow_numpy() {
        assert_eq!(Scalar::F64(-1.7).cast(DType::I32), Scalar::I32(-1));
        assert_eq!(Scalar::I64(300).cast(DType::U8), Scalar::U8(44));
        assert_eq!(Scalar::F32(0.5).cast(DType::Bool), Scalar::Bool(true));
        assert_eq!(Scalar::Bool(true).cast(DType::F64), Scalar::F64(1.0));
        // NumPy 2 on x86-64: np.array(x).astype(t) for these in-range or wrapping cases.
        assert_eq!(Scalar::I64(200).cast(DType::I8), Scalar::I8(-56));
        assert_eq!(Scalar::I64(-1).cast(DType::U16), Scalar::U16(65535));
        assert_eq!(Scalar::I64(70000).cast(DType::I16), Scalar::I16(4464));
        assert_eq!(Scalar::I64(-1).cast(DType::U32), Scalar::U32(u32::MAX));
        assert_eq!(Scalar::I64(-1).cast(DType::U64), Scalar::U64(u64::MAX));
        assert_eq!(Scalar::U64(u64::MAX).cast(DType::I64), Scalar::I64(-1));
        assert_eq!(
            Scalar::U64(u64::MAX).cast(DType::F64),
            Scalar::F64(1.8446744073709552e19)
        );
        assert_eq!(Scalar::F64(-1.7).cast(DType::U8), Scalar::U8(255));
        assert_eq!(Scalar::F64(-129.0).cast(DType::U16), Scalar::U16(65407));
        assert_eq!(
            Scalar::F64(-1e10).cast(DType::U64),
            Scalar::U64(18446744063709551616)
        );
        assert_eq!(
            Scalar::F64(1e19).cast(DType::U64),
            Scalar::U64(10_000_000_000_000_000_000)
        );
        assert_eq!(Scalar::F64(2.9).cast(DType::U32), Scalar::U32(2));
        // Out of the target's range: Rust `as` through i64 (NumPy's C casts are undefined).
        assert_eq!(Scalar::F64(1e19).cast(DType::I64), Scalar::I64(i64::MAX));
        assert_eq!(Scalar::F64(f64::NAN).cast(DType::U64), Scalar::U64(0));
    }
}
