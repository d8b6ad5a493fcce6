//! Element arithmetic with NumPy semantics, monomorphized per type so loops vectorize.

use chunkwise_ir::dtype::float_to_int_bits;
use chunkwise_ir::{Complex32, Complex64, DType, Element};

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
    /// As a complex128 (real types: imaginary part 0).
    fn to_c128(self) -> Complex64 {
        Complex64::new(self.to_f64(), 0.0)
    }
    /// From a complex128 (real types: the real part, converted as [`Num::from_f64`]).
    fn from_c128(v: Complex64) -> Self {
        Self::from_f64(v.re)
    }
    /// The complex conjugate (real types: the value).
    fn conj(self) -> Self {
        self
    }
    /// `self * self`.
    fn square(self) -> Self {
        self.mul(self)
    }
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

/// Complex numbers, component by component in their own precision. The operations
/// that need an order or bits (`floor_div`, `rem`, `minimum`, `maximum`, `and`, `or`, `xor`,
/// `not`, `signbit`) are refused for complex types by the program builder and never run;
/// they give NaN (`false` for `signbit`).
macro_rules! complex_num {
    ($($c:ty: $t:ty, $pow:ident);*) => {$(
        impl Num for $c {
            #[inline(always)] fn to_f64(self) -> f64 { self.re as f64 }
            #[inline(always)] fn to_i64(self) -> i64 { self.re as i64 }
            #[inline(always)] fn from_f64(v: f64) -> Self { <$c>::new(v as $t, 0.0) }
            #[inline(always)] fn from_i64(v: i64) -> Self { <$c>::new(v as $t, 0.0) }
            #[inline(always)] fn from_bool(v: bool) -> Self { <$c>::new(v as u8 as $t, 0.0) }
            #[inline(always)] fn to_c128(self) -> Complex64 { Complex64::new(self.re as f64, self.im as f64) }
            #[inline(always)] fn from_c128(v: Complex64) -> Self { <$c>::new(v.re as $t, v.im as $t) }
            #[inline(always)] fn conj(self) -> Self { <$c>::new(self.re, -self.im) }
            /// NumPy's complex `square`: the real part `re * re - im * im` with one rounding
            /// (a fused multiply-add, as NumPy's SIMD loop), so `1e300 + 1e300j` squares to
            /// `-inf + infj`.
            fn square(self) -> Self {
                let (r, i) = (self.re, self.im);
                <$c>::new(r.mul_add(r, -(i * i)), r * i + i * r)
            }
            #[inline(always)] fn nonzero(self) -> bool { self.re != 0.0 || self.im != 0.0 }
            #[inline(always)] fn add(self, b: Self) -> Self { self + b }
            #[inline(always)] fn sub(self, b: Self) -> Self { self - b }
            #[inline(always)] fn mul(self, b: Self) -> Self {
                <$c>::new(self.re * b.re - self.im * b.im, self.re * b.im + self.im * b.re)
            }
            #[inline(always)] fn div(self, b: Self) -> Self {
                // Smith's algorithm, as NumPy's complex division.
                let (ar, ai, br, bi) = (self.re, self.im, b.re, b.im);
                if br.abs() >= bi.abs() {
                    if br == 0.0 && bi == 0.0 {
                        return <$c>::new(ar / br.abs(), ai / br.abs());
                    }
                    let rat = bi / br;
                    let scl = 1.0 / (br + bi * rat);
                    <$c>::new((ar + ai * rat) * scl, (ai - ar * rat) * scl)
                } else {
                    let rat = br / bi;
                    let scl = 1.0 / (bi + br * rat);
                    <$c>::new((ar * rat + ai) * scl, (ai * rat - ar) * scl)
                }
            }
            fn floor_div(self, _b: Self) -> Self { <$c>::new(<$t>::NAN, <$t>::NAN) }
            fn rem(self, _b: Self) -> Self { <$c>::new(<$t>::NAN, <$t>::NAN) }
            fn pow(self, b: Self) -> Self {
                // NumPy's nc_pow: exact products for small integer exponents, else cpow.
                if b.re == 0.0 && b.im == 0.0 {
                    return <$c>::new(1.0, 0.0);
                }
                if self.re == 0.0 && self.im == 0.0 {
                    return if b.re > 0.0 && b.im == 0.0 {
                        <$c>::new(0.0, 0.0)
                    } else {
                        <$c>::new(<$t>::NAN, <$t>::NAN)
                    };
                }
                if b.im == 0.0 && b.re == b.re.trunc() && b.re.abs() < 100.0 {
                    let mut n = b.re.abs() as u32;
                    let (mut acc, mut p) = (<$c>::new(1.0, 0.0), self);
                    loop {
                        if n & 1 == 1 {
                            acc = acc.mul(p);
                        }
                        n >>= 1;
                        if n == 0 {
                            break;
                        }
                        p = p.mul(p);
                    }
                    if b.re > 0.0 {
                        return acc;
                    }
                    // NumPy's naive 1 / acc.
                    let d = acc.re * acc.re + acc.im * acc.im;
                    return <$c>::new(acc.re / d, -acc.im / d);
                }
                super::cmath::$pow(self, b)
            }
            fn minimum(self, _b: Self) -> Self { <$c>::new(<$t>::NAN, <$t>::NAN) }
            fn maximum(self, _b: Self) -> Self { <$c>::new(<$t>::NAN, <$t>::NAN) }
            fn and(self, _b: Self) -> Self { <$c>::new(<$t>::NAN, <$t>::NAN) }
            fn or(self, _b: Self) -> Self { <$c>::new(<$t>::NAN, <$t>::NAN) }
            fn xor(self, _b: Self) -> Self { <$c>::new(<$t>::NAN, <$t>::NAN) }
            fn signbit(self) -> bool { false }
            #[inline(always)] fn neg(self) -> Self { -self }
            /// `|z| + 0i` (the program evaluator writes `|z|` into a real tile instead).
            fn abs(self) -> Self { <$c>::new(self.re.hypot(self.im), 0.0) }
            fn sign(self) -> Self {
                // NumPy 2: z / |z|, 0 at 0, NaN for NaNs and for two infinite components.
                let (r, i) = (self.re, self.im);
                let m = r.hypot(i);
                let nan = <$c>::new(<$t>::NAN, <$t>::NAN);
                if m.is_nan() {
                    nan
                } else if m.is_infinite() {
                    match (r.is_infinite(), i.is_infinite()) {
                        (true, true) => nan,
                        (true, false) => <$c>::new(r.signum(), 0.0),
                        _ => <$c>::new(0.0, i.signum()),
                    }
                } else if m == 0.0 {
                    <$c>::new(0.0, 0.0)
                } else {
                    <$c>::new(r / m, i / m)
                }
            }
            fn not(self) -> Self { <$c>::new(<$t>::NAN, <$t>::NAN) }
            #[inline(always)] fn round(self) -> Self {
                <$c>::new(self.re.round_ties_even(), self.im.round_ties_even())
            }
            #[inline(always)] fn is_nan(self) -> bool { self.re.is_nan() || self.im.is_nan() }
            #[inline(always)] fn is_inf(self) -> bool { self.re.is_infinite() || self.im.is_infinite() }
        }
    )*};
}
complex_num!(Complex32: f32, cpow_c64; Complex64: f64, cpow_c128);

/// Converts `a` to `B` with NumPy `astype` semantics (complex to real types takes the real
/// part, real to complex has imaginary part 0).
#[inline(always)]
pub fn cast<A: Num, B: Num>(a: A) -> B {
    match B::DTYPE {
        DType::Bool => B::from_bool(a.nonzero()),
        DType::F32 | DType::F64 => B::from_f64(a.to_f64()),
        DType::C64 | DType::C128 => B::from_c128(a.to_c128()),
        _ => {
            if A::DTYPE.is_inexact() {
                B::from_f64(a.to_f64())
            } else {
                B::from_i64(a.to_i64())
            }
        }
    }
}
