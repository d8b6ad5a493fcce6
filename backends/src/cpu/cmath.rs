//! The C library's inverse hyperbolic functions, which Rust's standard library does not
//! call: its own `acosh` and `asinh` overflow to infinity above about 1e154 (they square
//! the argument) and lose digits near 1, where the C library (and so NumPy) is within an
//! ulp. `std` links the C math library on every platform it supports, so these symbols are
//! always there.

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
