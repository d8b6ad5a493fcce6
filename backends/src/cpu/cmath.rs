//! The C library's inverse hyperbolic functions, which Rust's standard library does not
//! call: its own `acosh` and `asinh` overflow to infinity above about 1e154 (they square
//! the argument) and lose digits near 1, where the C library (and so NumPy) is within an
//! ulp. `std` links the C math library on every platform it supports, so these symbols are
//! always there.
//!
//! The complex functions are the C library's too (C99 `<complex.h>`: `csqrt`, `cexp`,
//! `clog`, the trigonometric and hyperbolic functions and their inverses, `cpow`), which
//! NumPy calls on Linux; `expm1`, `log1p`, `exp2`, `log2` and `log10` of complex numbers are
//! NumPy's own formulas over them. `Complex<T>` is `#[repr(C)]` with two fields, which the C
//! calling conventions of the 64-bit targets (System V x86-64, AArch64, Windows x64, whose
//! C library declares its complex types as such structs) pass and return as they do C's
//! `_Complex` types.

use chunkwise_ir::program::UnaryOp;
use chunkwise_ir::{Complex32, Complex64};

mod ffi {
    extern "C" {
        pub fn asinh(x: f64) -> f64;
        pub fn acosh(x: f64) -> f64;
        pub fn atanh(x: f64) -> f64;
        pub fn asinhf(x: f32) -> f32;
        pub fn acoshf(x: f32) -> f32;
        pub fn atanhf(x: f32) -> f32;
    }
}

macro_rules! wrap {
    ($($name:ident => $c:ident: $t:ty),*) => {$(
        #[doc = concat!("C's `", stringify!($c), "`.")]
        #[inline]
        pub fn $name(x: $t) -> $t {
            // SAFETY: a pure C math function of one number (no pointers, no global state
            // besides errno).
            unsafe { ffi::$c(x) }
        }
    )*};
}
wrap!(asinh => asinh: f64, acosh => acosh: f64, atanh => atanh: f64,
    asinh_f32 => asinhf: f32, acosh_f32 => acoshf: f32, atanh_f32 => atanhf: f32);

mod cffi {
    use chunkwise_ir::{Complex32, Complex64};
    extern "C" {
        pub fn csqrt(z: Complex64) -> Complex64;
        pub fn cexp(z: Complex64) -> Complex64;
        pub fn clog(z: Complex64) -> Complex64;
        pub fn csin(z: Complex64) -> Complex64;
        pub fn ccos(z: Complex64) -> Complex64;
        pub fn ctan(z: Complex64) -> Complex64;
        pub fn csinh(z: Complex64) -> Complex64;
        pub fn ccosh(z: Complex64) -> Complex64;
        pub fn ctanh(z: Complex64) -> Complex64;
        pub fn casin(z: Complex64) -> Complex64;
        pub fn cacos(z: Complex64) -> Complex64;
        pub fn catan(z: Complex64) -> Complex64;
        pub fn casinh(z: Complex64) -> Complex64;
        pub fn cacosh(z: Complex64) -> Complex64;
        pub fn catanh(z: Complex64) -> Complex64;
        pub fn cpow(a: Complex64, b: Complex64) -> Complex64;
        pub fn csqrtf(z: Complex32) -> Complex32;
        pub fn cexpf(z: Complex32) -> Complex32;
        pub fn clogf(z: Complex32) -> Complex32;
        pub fn csinf(z: Complex32) -> Complex32;
        pub fn ccosf(z: Complex32) -> Complex32;
        pub fn ctanf(z: Complex32) -> Complex32;
        pub fn csinhf(z: Complex32) -> Complex32;
        pub fn ccoshf(z: Complex32) -> Complex32;
        pub fn ctanhf(z: Complex32) -> Complex32;
        pub fn casinf(z: Complex32) -> Complex32;
        pub fn cacosf(z: Complex32) -> Complex32;
        pub fn catanf(z: Complex32) -> Complex32;
        pub fn casinhf(z: Complex32) -> Complex32;
        pub fn cacoshf(z: Complex32) -> Complex32;
        pub fn catanhf(z: Complex32) -> Complex32;
        pub fn cpowf(a: Complex32, b: Complex32) -> Complex32;
    }
}

macro_rules! complex_math {
    ($($name:ident, $pow:ident, $t:ident, $c:ty: $sqrt:ident, $exp:ident, $log:ident,
        $sin:ident, $cos:ident, $tan:ident, $sinh:ident, $cosh:ident, $tanh:ident,
        $asin:ident, $acos:ident, $atan:ident, $asinh:ident, $acosh:ident, $atanh:ident,
        $cpow:ident);*) => {$(
        #[doc = concat!("A math function of a `", stringify!($c), "` in its own precision \
            (NumPy's: the C library's, or NumPy's formula over it); operations that are not \
            complex math functions give NaN (the program builder does not let them reach here).")]
        pub fn $name(f: UnaryOp, z: $c) -> $c {
            use std::$t::consts::{LN_2, LOG10_E, LOG2_E};
            // SAFETY: pure C math functions of numbers passed by value (see the module docs
            // for the calling convention); no pointers, no global state besides errno.
            unsafe {
                match f {
                    UnaryOp::Sqrt => cffi::$sqrt(z),
                    UnaryOp::Exp => cffi::$exp(z),
                    UnaryOp::Exp2 => cffi::$exp(z * LN_2),
                    UnaryOp::Expm1 => {
                        let (x, y) = (z.re, z.im);
                        if y == 0.0 {
                            // The real line (and NaN + 0j) keeps an exact zero imaginary
                            // part: expm1(+inf + 0j) is +inf + 0j, not inf * sin(0) = NaN;
                            // expm1(-0 + 0j) is +0 + 0j, as the Array API says.
                            <$c>::new(if x == 0.0 { 0.0 } else { x.exp_m1() }, y)
                        } else if x == <$t>::NEG_INFINITY {
                            // exp(-inf) is 0 in every direction: -1, with the sign of
                            // the zero from the direction when there is one.
                            let im = if y.is_finite() { 0.0 * y.sin() } else { 0.0 };
                            <$c>::new(-1.0, im)
                        } else if x == <$t>::INFINITY && !y.is_finite() {
                            <$c>::new(<$t>::INFINITY, <$t>::NAN)
                        } else {
                            // NumPy's formula: exact near 0 (no cancellation in the real
                            // part); non-finite imaginary parts give NaN + NaN j.
                            let a = (y / 2.0).sin();
                            <$c>::new(x.exp_m1() * y.cos() - 2.0 * a * a, x.exp() * y.sin())
                        }
                    }
                    UnaryOp::Log => cffi::$log(z),
                    UnaryOp::Log1p => {
                        let l = (z.re + 1.0).hypot(z.im);
                        <$c>::new(l.ln(), z.im.atan2(z.re + 1.0))
                    }
                    UnaryOp::Log2 => cffi::$log(z) * LOG2_E,
                    UnaryOp::Log10 => cffi::$log(z) * LOG10_E,
                    UnaryOp::Sin => cffi::$sin(z),
                    UnaryOp::Cos => cffi::$cos(z),
                    UnaryOp::Tan => cffi::$tan(z),
                    UnaryOp::Sinh => cffi::$sinh(z),
                    UnaryOp::Cosh => cffi::$cosh(z),
                    // C99 gives tanh(+inf + iy) the zero of sign sin(2y); the Array API
                    // (and tanh(conj z) == conj(tanh z)) wants the sign of y.
                    UnaryOp::Tanh if z.re.is_infinite() && z.im.is_finite() => {
                        <$c>::new((1.0 as $t).copysign(z.re), (0.0 as $t).copysign(z.im))
                    }
                    UnaryOp::Tanh => cffi::$tanh(z),
                    UnaryOp::Arcsin => cffi::$asin(z),
                    UnaryOp::Arccos => cffi::$acos(z),
                    UnaryOp::Arctan => cffi::$atan(z),
                    UnaryOp::Arcsinh => cffi::$asinh(z),
                    UnaryOp::Arccosh => cffi::$acosh(z),
                    UnaryOp::Arctanh => cffi::$atanh(z),
                    _ => <$c>::new(<$t>::NAN, <$t>::NAN),
                }
            }
        }

        #[doc = concat!("C's `", stringify!($cpow), "`.")]
        pub fn $pow(a: $c, b: $c) -> $c {
            // SAFETY: as above.
            unsafe { cffi::$cpow(a, b) }
        }
    )*};
}
complex_math!(
    math_c64, cpow_c64, f32, Complex32: csqrtf, cexpf, clogf, csinf, ccosf, ctanf, csinhf,
        ccoshf, ctanhf, casinf, cacosf, catanf, casinhf, cacoshf, catanhf, cpowf;
    math_c128, cpow_c128, f64, Complex64: csqrt, cexp, clog, csin, ccos, ctan, csinh, ccosh,
        ctanh, casin, cacos, catan, casinh, cacosh, catanh, cpow
);
