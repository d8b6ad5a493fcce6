//! Element types and the promotion rules between them.
//!
//! chunkwise has six element types. Binary operations between arrays promote both
//! operands to a common type, following NumPy's `result_type` for these types:
//!
//! | `a` \ `b` | bool | u8  | i32 | i64 | f32 | f64 |
//! |-----------|------|-----|-----|-----|-----|-----|
//! | **bool**  | bool | u8  | i32 | i64 | f32 | f64 |
//! | **u8**    | u8   | u8  | i32 | i64 | f32 | f64 |
//! | **i32**   | i32  | i32 | i32 | i64 | f64 | f64 |
//! | **i64**   | i64  | i64 | i64 | i64 | f64 | f64 |
//! | **f32**   | f32  | f32 | f64 | f64 | f32 | f64 |
//! | **f64**   | f64  | f64 | f64 | f64 | f64 | f64 |
//!
//! A Rust scalar combined with an array is *weak* (NumPy's NEP 50): it takes the array's
//! type when its kind (bool < integer < float) is not higher, so `f32_array + 1.5` stays `f32`
//! and `i32_array * 2` stays `i32`; `i32_array + 0.5` becomes `f64`. See [`DType::promote_scalar`].

use serde::{Deserialize, Serialize};
use std::fmt;

/// The element type of an array.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DType {
    /// Booleans (one byte each).
    Bool,
    /// Unsigned 8-bit integers.
    U8,
    /// Signed 32-bit integers.
    I32,
    /// Signed 64-bit integers.
    I64,
    /// 32-bit IEEE floats.
    F32,
    /// 64-bit IEEE floats.
    F64,
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
}

impl DType {
    /// All element types, in promotion order.
    pub const ALL: [DType; 6] = [
        DType::Bool,
        DType::U8,
        DType::I32,
        DType::I64,
        DType::F32,
        DType::F64,
    ];

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            DType::Bool | DType::U8 => 1,
            DType::I32 | DType::F32 => 4,
            DType::I64 | DType::F64 => 8,
        }
    }

    /// The kind of this type.
    pub fn kind(self) -> Kind {
        match self {
            DType::Bool => Kind::Bool,
            DType::U8 | DType::I32 | DType::I64 => Kind::Int,
            DType::F32 | DType::F64 => Kind::Float,
        }
    }

    /// Whether this is a float type.
    pub fn is_float(self) -> bool {
        self.kind() == Kind::Float
    }

    /// The common type of two array types (see the module table).
    ///
    /// ```
    /// use chunkwise_ir::DType;
    /// assert_eq!(DType::I32.promote(DType::F32), DType::F64);
    /// assert_eq!(DType::U8.promote(DType::F32), DType::F32);
    /// assert_eq!(DType::Bool.promote(DType::I64), DType::I64);
    /// ```
    pub fn promote(self, other: DType) -> DType {
        use DType::*;
        let (a, b) = if self <= other {
            (self, other)
        } else {
            (other, self)
        };
        match (a, b) {
            (I32 | I64, F32) => F64,
            _ => b,
        }
    }

    /// The type of `array op scalar` where the scalar has kind `scalar`: the array's type
    /// unless the scalar's kind is higher, then the default type of that kind
    /// (`i64` for integers, `f64` for floats).
    ///
    /// ```
    /// use chunkwise_ir::{DType, Kind};
    /// assert_eq!(DType::F32.promote_scalar(Kind::Float), DType::F32);
    /// assert_eq!(DType::I32.promote_scalar(Kind::Float), DType::F64);
    /// assert_eq!(DType::Bool.promote_scalar(Kind::Int), DType::I64);
    /// ```
    pub fn promote_scalar(self, scalar: Kind) -> DType {
        if scalar <= self.kind() {
            self
        } else {
            match scalar {
                Kind::Bool => DType::Bool,
                Kind::Int => DType::I64,
                Kind::Float => DType::F64,
            }
        }
    }

    /// The float type that math functions (`exp`, `sqrt`, true division, mean) return for
    /// this type: `f32` stays `f32`, `bool` and `u8` become `f32` (NumPy would use `f16`,
    /// which chunkwise does not have), `i32` and `i64` become `f64`.
    pub fn float_result(self) -> DType {
        match self {
            DType::Bool | DType::U8 | DType::F32 => DType::F32,
            DType::I32 | DType::I64 | DType::F64 => DType::F64,
        }
    }

    /// The NumPy type string (`"<f8"`, `"|b1"`, ...) of this type in little-endian order.
    pub fn numpy_str(self) -> &'static str {
        match self {
            DType::Bool => "|b1",
            DType::U8 => "|u1",
            DType::I32 => "<i4",
            DType::I64 => "<i8",
            DType::F32 => "<f4",
            DType::F64 => "<f8",
        }
    }

    /// Parses a name such as `"f64"`, `"float64"`, `"int32"`, `"uint8"` or `"bool"`.
    pub fn parse(name: &str) -> Option<DType> {
        Some(match name {
            "bool" => DType::Bool,
            "u8" | "uint8" => DType::U8,
            "i32" | "int32" => DType::I32,
            "i64" | "int64" => DType::I64,
            "f32" | "float32" => DType::F32,
            "f64" | "float64" => DType::F64,
            _ => return None,
        })
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DType::Bool => "bool",
            DType::U8 => "u8",
            DType::I32 => "i32",
            DType::I64 => "i64",
            DType::F32 => "f32",
            DType::F64 => "f64",
        })
    }
}

/// A scalar value of one of the six element types.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dtype", content = "value", rename_all = "lowercase")]
pub enum Scalar {
    /// A bool.
    Bool(bool),
    /// A u8.
    U8(u8),
    /// An i32.
    I32(i32),
    /// An i64.
    I64(i64),
    /// An f32.
    F32(f32),
    /// An f64.
    F64(f64),
}

impl Scalar {
    /// The scalar's type.
    pub fn dtype(self) -> DType {
        match self {
            Scalar::Bool(_) => DType::Bool,
            Scalar::U8(_) => DType::U8,
            Scalar::I32(_) => DType::I32,
            Scalar::I64(_) => DType::I64,
            Scalar::F32(_) => DType::F32,
            Scalar::F64(_) => DType::F64,
        }
    }

    /// The value as f64 (exact for every type but large i64).
    pub fn as_f64(self) -> f64 {
        match self {
            Scalar::Bool(v) => v as u8 as f64,
            Scalar::U8(v) => v as f64,
            Scalar::I32(v) => v as f64,
            Scalar::I64(v) => v as f64,
            Scalar::F32(v) => v as f64,
            Scalar::F64(v) => v,
        }
    }

    /// The value as i64 (floats truncate toward zero, saturating, NaN to 0: Rust `as`).
    pub fn as_i64(self) -> i64 {
        match self {
            Scalar::Bool(v) => v as i64,
            Scalar::U8(v) => v as i64,
            Scalar::I32(v) => v as i64,
            Scalar::I64(v) => v,
            Scalar::F32(v) => v as i64,
            Scalar::F64(v) => v as i64,
        }
    }

    /// Converts to `dtype` with NumPy's `astype` semantics for these types
    /// (integers wrap, floats to integers truncate, anything nonzero is `true`).
    pub fn cast(self, dtype: DType) -> Scalar {
        let truthy = match self {
            Scalar::F32(v) => v != 0.0,
            Scalar::F64(v) => v != 0.0,
            other => other.as_i64() != 0,
        };
        match dtype {
            DType::Bool => Scalar::Bool(truthy),
            DType::U8 => Scalar::U8(self.as_i64() as u8),
            DType::I32 => Scalar::I32(self.as_i64() as i32),
            DType::I64 => Scalar::I64(self.as_i64()),
            DType::F32 => Scalar::F32(self.as_f64() as f32),
            DType::F64 => Scalar::F64(self.as_f64()),
        }
    }

    /// Bits that identify the value exactly (for hashing; NaNs with equal payloads hash equal).
    pub fn hash_bits(self) -> u64 {
        match self {
            Scalar::F32(v) => v.to_bits() as u64,
            Scalar::F64(v) => v.to_bits(),
            other => other.as_i64() as u64,
        }
    }
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Bool(v) => write!(f, "{v}"),
            Scalar::U8(v) => write!(f, "{v}u8"),
            Scalar::I32(v) => write!(f, "{v}i32"),
            Scalar::I64(v) => write!(f, "{v}"),
            Scalar::F32(v) => write!(f, "{v:?}f32"),
            Scalar::F64(v) => write!(f, "{v:?}"),
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
scalar_from!(bool => Bool, u8 => U8, i32 => I32, i64 => I64, f32 => F32, f64 => F64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn promotion_is_symmetric_and_matches_numpy() {
        use DType::*;
        // Rows of NumPy's np.result_type for the six types (checked with NumPy 2).
        let expect = [
            [Bool, U8, I32, I64, F32, F64],
            [U8, U8, I32, I64, F32, F64],
            [I32, I32, I32, I64, F64, F64],
            [I64, I64, I64, I64, F64, F64],
            [F32, F32, F64, F64, F32, F64],
            [F64, F64, F64, F64, F64, F64],
        ];
        for (i, a) in DType::ALL.iter().enumerate() {
            for (j, b) in DType::ALL.iter().enumerate() {
                assert_eq!(a.promote(*b), expect[i][j], "{a} + {b}");
                assert_eq!(a.promote(*b), b.promote(*a));
            }
        }
    }

    #[test]
    fn casts_follow_numpy() {
        assert_eq!(Scalar::F64(-1.7).cast(DType::I32), Scalar::I32(-1));
        assert_eq!(Scalar::I64(300).cast(DType::U8), Scalar::U8(44));
        assert_eq!(Scalar::F32(0.5).cast(DType::Bool), Scalar::Bool(true));
        assert_eq!(Scalar::Bool(true).cast(DType::F64), Scalar::F64(1.0));
    }
}
