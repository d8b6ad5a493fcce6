//! Element arithmetic with NumPy semantics, monomorphized per type so loops vectorize.

use chunkwise_ir::dtype::float_to_int_bits;
use chunkwise_ir::Element;

/// Arithmetic on one element type; every method follows NumPy for that type.
pub trait Num: Element {
    /// `self as f64`.
    fn to_f64(self) -> f64;
    /// `self as i64` (floats truncate, saturating; NaN gives 0).
    fn to_i64(self) -> i64;
    /// From f64 (integers truncate and wrap like NumPy's astype on in-range values; see
    /// [`chunkwise_ir::dtype::float_to_int_bits`]).
    fn from_f64(v: f64) -> Self;
    /// From i64 (wrapping for narrower integers).
    fn from_i64(v: i64) -> Self;
    /// From bool (0 or 1).
    fn from_bool(v: bool) -> Self;
    /// Whether the value is nonzero (NaN is nonzero).
    fn nonzero(self) -> bool;
    /// `a + b`.
    fn add(self, b: Self) -> Self;
    /// `a - b`.
    fn sub(self, b: Self) -> Self;
    /// `a * b`.
    fn mul(self, b: Self) -> Self;
    /// True division (floats only).
    fn div(self, b: Self) -> Self;
    /// Floor division.
    fn floor_div(self, b: Self) -> Self;
    /// Remainder with the divisor's sign.
    fn rem(self, b: Self) -> Self;
    /// Power.
    fn pow(self, b: Self) -> Self;
    /// NaN-propagating minimum.
    fn minimum(self, b: Self) -> Self;
    /// NaN-propagating maximum.
    fn maximum(self, b: Self) -> Self;
    /// Bitwise / logical and.
    fn and(self, b: Self) -> Self;
    /// Bitwise / logical or.
    fn or(self, b: Self) -> Self;
    /// Bitwise / logical xor.
    fn xor(self, b: Self) -> Self;
    /// Left shift (integers; NumPy: a count outside `0..bits`, negative included, gives 0).
    /// Other types never get here (the program builder refuses them); they return `self`.
    fn shl(self, _b: Self) -> Self {
        self
    }
    /// Right shift, arithmetic for signed types (integers; NumPy: a count outside
    /// `0..bits`, negative included, gives 0, or -1 for a negative value). Other types
    /// never get here; they return `self`.
    fn shr(self, _b: Self) -> Self {
        self
    }
    /// Whether the sign bit is set (floats: -0.0 and negative NaNs too; bool: false).
    fn signbit(self) -> bool;
    /// Negation.
    fn neg(self) -> Self;
    /// Absolute value.
    fn abs(self) -> Self;
    /// Sign.
    fn sign(self) -> Self;
    /// Bitwise / logical not.
    fn not(self) -> Self;
    /// Round half to even.
    fn round(self) -> Self;
    /// NaN test.
    fn is_nan(self) -> bool;
    /// Infinity test.
    fn is_inf(self) -> bool;
    /// `1 / self` when it is exact and dividing by `self` equals multiplying by it bit for
    /// bit (floats that are powers of two with normal reciprocals); `None` otherwise.
    fn exact_recip(self) -> Option<Self> {
        None
    }
}

macro_rules! int_num {
    ($($t:ty),*) => {$(
        impl Num for $t {
            #[inline(always)] fn to_f64(self) -> f64 { self as f64 }
            #[inline(always)] fn to_i64(self) -> i64 { self as i64 }
            #[inline(always)] fn from_f64(v: f64) -> Self { float_to_int_bits(v, Self::DTYPE) as $t }
            #[inline(always)] fn from_i64(v: i64) -> Self { v as $t }
            #[inline(always)] fn from_bool(v: bool) -> Self { v as $t }
            #[inline(always)] fn nonzero(self) -> bool { self != 0 }
            #[inline(always)] fn add(self, b: Self) -> Self { self.wrapping_add(b) }
            #[inline(always)] fn sub(self, b: Self) -> Self { self.wrapping_sub(b) }
            #[inline(always)] fn mul(self, b: Self) -> Self { self.wrapping_mul(b) }
            #[inline(always)] fn div(self, b: Self) -> Self { self.floor_div(b) }
            #[inline(always)] fn floor_div(self, b: Self) -> Self {
                if b == 0 { return 0; }
                let q = self.wrapping_div(b);
                #[allow(unused_comparisons)]
                let adjust = (self.wrapping_rem(b) != 0) && ((self < 0) != (b < 0));
                if adjust { q.wrapping_sub(1) } else { q }
            }
            #[inline(always)] fn rem(self, b: Self) -> Self {
                if b == 0 { return 0; }
                let r = self.wrapping_rem(b);
                #[allow(unused_comparisons)]
                let adjust = r != 0 && ((r < 0) != (b < 0));
                if adjust { r.wrapping_add(b) } else { r }
            }
            #[inline(always)] fn pow(self, b: Self) -> Self {
                #[allow(unused_comparisons)]
                if b < 0 { return 0; }
                let mut base = self;
                let mut e = b as u64;
                let mut acc: $t = 1;
                while e > 0 {
                    if e & 1 == 1 { acc = acc.wrapping_mul(base); }
                    base = base.wrapping_mul(base);
                    e >>= 1;
                }
                acc
            }
            #[inline(always)] fn minimum(self, b: Self) -> Self { if b < self { b } else { self } }
            #[inline(always)] fn maximum(self, b: Self) -> Self { if b > self { b } else { self } }
            #[inline(always)] fn and(self, b: Self) -> Self { self & b }
            #[inline(always)] fn or(self, b: Self) -> Self { self | b }
            #[inline(always)] fn xor(self, b: Self) -> Self { self ^ b }
            #[inline(always)] fn shl(self, b: Self) -> Self {
                // A negative count sign-extends to a huge one, as NumPy's `(size_t)b`.
                if (b as u64) < <$t>::BITS as u64 { self.wrapping_shl(b as u32) } else { 0 }
            }
            #[inline(always)] fn shr(self, b: Self) -> Self {
                #[allow(unused_comparisons)]
                let fill = if self < 0 { !0 } else { 0 };
                if (b as u64) < <$t>::BITS as u64 { self.wrapping_shr(b as u32) } else { fill }
            }
            #[inline(always)] fn signbit(self) -> bool {
                #[allow(unused_comparisons)]
                let negative = self < 0;
                negative
            }
            #[inline(always)] fn neg(self) -> Self { (0 as $t).wrapping_sub(self) }
            #[inline(always)] fn abs(self) -> Self {
                #[allow(unused_comparisons)]
                if self < 0 { self.neg() } else { self }
            }
            #[inline(always)] fn sign(self) -> Self {
                #[allow(unused_comparisons)]
                if self < 0 { (0 as $t).wrapping_sub(1) } else if self > 0 { 1 } else { 0 }
            }
            #[inline(always)] fn not(self) -> Self { !self }
            #[inline(always)] fn round(self) -> Self { self }
            #[inline(always)] fn is_nan(self) -> bool { false }
            #[inline(always)] fn is_inf(self) -> bool { false }
        }
    )*};
}
int_num!(i8, u8, i16, u16, i32, u32, i64, u64);

macro_rules! float_num {
    ($($t:ty),*) => {$(
        impl Num for $t {
            #[inline(always)] fn to_f64(self) -> f64 { self as f64 }
            #[inline(always)] fn to_i64(self) -> i64 { self as i64 }
            #[inline(always)] fn from_f64(v: f64) -> Self { v as $t }
            #[inline(always)] fn from_i64(v: i64) -> Self { v as $t }
            #[inline(always)] fn from_bool(v: bool) -> Self { v as u8 as $t }
            #[inline(always)] fn nonzero(self) -> bool { self != 0.0 }
            #[inline(always)] fn add(self, b: Self) -> Self { self + b }
            #[inline(always)] fn sub(self, b: Self) -> Self { self - b }
            #[inline(always)] fn mul(self, b: Self) -> Self { self * b }
            #[inline(always)] fn div(self, b: Self) -> Self { self / b }
            fn exact_recip(self) -> Option<Self> {
                // Both x / 2^k and x * 2^-k are the correctly rounded value of the same real.
                let r = 1.0 / self;
                let mantissa = (1 << (<$t>::MANTISSA_DIGITS - 1)) - 1;
                (self.is_normal() && r.is_normal() && self.to_bits() & mantissa == 0).then_some(r)
            }
            #[inline(always)] fn floor_div(self, b: Self) -> Self {
                // NumPy: floor((a - a % b) / b) with the remainder's sign fixed.
                if b == 0.0 { return self / b; }
                let m = self % b;
                let mut d = (self - m) / b;
                if m != 0.0 && ((b < 0.0) != (m < 0.0)) { d -= 1.0; }
                if d == 0.0 { (0.0 as $t).copysign(self / b) } else {
                    let f = d.floor();
                    if d - f > 0.5 { f + 1.0 } else { f }
                }
            }
            #[inline(always)] fn rem(self, b: Self) -> Self {
                if b == 0.0 { return <$t>::NAN; }
                let m = self % b;
                if m != 0.0 && ((b < 0.0) != (m < 0.0)) { m + b } else if m == 0.0 { (0.0 as $t).copysign(b) } else { m }
            }
            #[inline(always)] fn pow(self, b: Self) -> Self { self.powf(b) }
            #[inline(always)] fn minimum(self, b: Self) -> Self {
                if self.is_nan() || b.is_nan() { <$t>::NAN } else if b < self { b } else { self }
            }
            #[inline(always)] fn maximum(self, b: Self) -> Self {
                if self.is_nan() || b.is_nan() { <$t>::NAN } else if b > self { b } else { self }
            }
            #[inline(always)] fn and(self, _b: Self) -> Self { <$t>::NAN }
            #[inline(always)] fn or(self, _b: Self) -> Self { <$t>::NAN }
            #[inline(always)] fn xor(self, _b: Self) -> Self { <$t>::NAN }
            #[inline(always)] fn signbit(self) -> bool { self.is_sign_negative() }
            #[inline(always)] fn neg(self) -> Self { -self }
            #[inline(always)] fn abs(self) -> Self { <$t>::abs(self) }
            #[inline(always)] fn sign(self) -> Self {
                if self > 0.0 { 1.0 } else if self < 0.0 { -1.0 } else { self }
            }
            #[inline(always)] fn not(self) -> Self { <$t>::NAN }
            #[inline(always)] fn round(self) -> Self { self.round_ties_even() }
            #[inline(always)] fn is_nan(self) -> bool { <$t>::is_nan(self) }
            #[inline(always)] fn is_inf(self) -> bool { <$t>::is_infinite(self) }
        }
    )*};
}
float_num!(f32, f64);

impl Num for bool {
    fn to_f64(self) -> f64 {
        self as u8 as f64
    }
    fn to_i64(self) -> i64 {
        self as i64
    }
    fn from_f64(v: f64) -> Self {
        v != 0.0
    }
    fn from_i64(v: i64) -> Self {
        v != 0
    }
    fn from_bool(v: bool) -> Self {
        v
    }
    fn nonzero(self) -> bool {
        self
    }
    fn add(self, b: Self) -> Self {
        self | b
    }
    fn sub(self, b: Self) -> Self {
        self ^ b
    }
    fn mul(self, b: Self) -> Self {
        self & b
    }
    fn div(self, b: Self) -> Self {
        self & b
    }
    fn floor_div(self, b: Self) -> Self {
        self & b
    }
    fn rem(self, _b: Self) -> Self {
        false
    }
    fn pow(self, b: Self) -> Self {
        self | !b
    }
    fn minimum(self, b: Self) -> Self {
        self & b
    }
    fn maximum(self, b: Self) -> Self {
        self | b
    }
    fn and(self, b: Self) -> Self {
        self & b
    }
    fn or(self, b: Self) -> Self {
        self | b
    }
    fn xor(self, b: Self) -> Self {
        self ^ b
    }
    fn signbit(self) -> bool {
        false
    }
    fn neg(self) -> Self {
        self
    }
    fn abs(self) -> Self {
        self
    }
    fn sign(self) -> Self {
        self
    }
    fn not(self) -> Self {
        !self
    }
    fn round(self) -> Self {
        self
    }
    fn is_nan(self) -> bool {
        false
    }
    fn is_inf(self) -> bool {
        false
    }
}

/// Converts `a` to `B` with NumPy `astype` semantics.
#[inline(always)]
pub fn cast<A: Num, B: Num>(a: A) -> B {
    match B::DTYPE {
        chunkwise_ir::DType::Bool => B::from_bool(a.nonzero()),
        chunkwise_ir::DType::F32 | chunkwise_ir::DType::F64 => B::from_f64(a.to_f64()),
        _ => {
            if A::DTYPE.is_float() {
                B::from_f64(a.to_f64())
            } else {
                B::from_i64(a.to_i64())
            }
        }
    }
}
