//! Vector math from glibc's libmvec: the unary float functions of the programs (and `pow`,
//! `arctan2`, `hypot`) four f64 or eight f32 lanes per call, where `std` calls libm one
//! element at a time.
//!
//! libmvec is the vector half of glibc's math library (x86-64, glibc 2.22+; the inverse and
//! hyperbolic functions, `log1p`, `expm1`, `exp2`, `log2`, `log10`, `tan`, `atan2` and
//! `hypot` since 2.35). Its functions follow the x86-64 vector function ABI: the AVX2
//! variant of `sin` is `_ZGVdN4v_sin`, taking and returning a `__m256d` in `ymm0`. It is
//! loaded at run time with `dlopen` rather than linked, so a binary built here runs on a
//! C library without it (musl, an older glibc, another OS): every function it lacks, and
//! every function on a CPU without AVX2 and FMA, keeps the scalar libm loop. Setting
//! `CHUNKWISE_NO_MVEC` (to anything) disables it, for comparing against libm.
//!
//! Accuracy, measured in `tests` over edge values (±0, ±inf, NaN, subnormals, the ends of
//! each domain, sin / cos / tan of arguments up to 1e300) and wide random samples: every
//! f64 function within 4 ulp of glibc's scalar libm (itself within an ulp of the exact
//! value), every f32 function within 4 ulp of the exact value rounded to f32 (computed in
//! f64 with libm), with the same NaN, infinity and signed-zero results as libm. glibc states
//! its own bounds per function in its manual ("Errors in Math Functions"); the largest of
//! the AVX2 variants is 4 ulp. Only the AVX2 variants are used: the AVX-512 ones (`_ZGVe`)
//! would double the lanes on CPUs that have it, but no machine here has it to test them on.

use chunkwise_ir::program::{BinaryOp, UnaryOp};
use std::marker::PhantomData;
use std::sync::OnceLock;

/// The unary functions libmvec provides, with the symbol stem of each (the f32 symbol adds
/// an `f`). The program evaluator takes `exp` of f64 from [`super::vmath::exp_f64`] first.
const UNARY: [(UnaryOp, &str); 19] = [
    (UnaryOp::Exp, "exp"),
    (UnaryOp::Expm1, "expm1"),
    (UnaryOp::Exp2, "exp2"),
    (UnaryOp::Log, "log"),
    (UnaryOp::Log1p, "log1p"),
    (UnaryOp::Log2, "log2"),
    (UnaryOp::Log10, "log10"),
    (UnaryOp::Sin, "sin"),
    (UnaryOp::Cos, "cos"),
    (UnaryOp::Tan, "tan"),
    (UnaryOp::Arcsin, "asin"),
    (UnaryOp::Arccos, "acos"),
    (UnaryOp::Arctan, "atan"),
    (UnaryOp::Sinh, "sinh"),
    (UnaryOp::Cosh, "cosh"),
    (UnaryOp::Tanh, "tanh"),
    (UnaryOp::Arcsinh, "asinh"),
    (UnaryOp::Arccosh, "acosh"),
    (UnaryOp::Arctanh, "atanh"),
];

/// The binary functions libmvec provides.
const BINARY: [(BinaryOp, &str); 3] = [
    (BinaryOp::Pow, "pow"),
    (BinaryOp::Arctan2, "atan2"),
    (BinaryOp::Hypot, "hypot"),
];

/// The addresses of the loaded functions, indexed like [`UNARY`] and [`BINARY`].
struct Table {
    unary_f64: [Option<usize>; UNARY.len()],
    unary_f32: [Option<usize>; UNARY.len()],
    binary_f64: [Option<usize>; BINARY.len()],
    binary_f32: [Option<usize>; BINARY.len()],
}

/// The table, loaded on first use; `None` where libmvec or AVX2 + FMA is missing.
fn table() -> Option<&'static Table> {
    static TABLE: OnceLock<Option<Table>> = OnceLock::new();
    TABLE.get_or_init(load).as_ref()
}

/// Whether libmvec was loaded (and the CPU has AVX2 + FMA).
pub(super) fn loaded() -> bool {
    table().is_some()
}

fn load() -> Option<Table> {
    if std::env::var_os("CHUNKWISE_NO_MVEC").is_some()
        || !std::arch::is_x86_feature_detected!("avx2")
        || !std::arch::is_x86_feature_detected!("fma")
    {
        return None;
    }
    // SAFETY: dlopen of a C library by name; libmvec has no initialisers with
    // preconditions. The handle is never closed, so the addresses stay valid.
    let lib = unsafe { libc::dlopen(c"libmvec.so.1".as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    if lib.is_null() {
        return None;
    }
    let sym = |name: String| -> Option<usize> {
        let name = std::ffi::CString::new(name).ok()?;
        // SAFETY: `lib` is a live handle and `name` a NUL-terminated string.
        let p = unsafe { libc::dlsym(lib, name.as_ptr()) };
        (!p.is_null()).then_some(p as usize)
    };
    Some(Table {
        unary_f64: UNARY.map(|(_, s)| sym(format!("_ZGVdN4v_{s}"))),
        unary_f32: UNARY.map(|(_, s)| sym(format!("_ZGVdN8v_{s}f"))),
        binary_f64: BINARY.map(|(_, s)| sym(format!("_ZGVdN4vv_{s}"))),
        binary_f32: BINARY.map(|(_, s)| sym(format!("_ZGVdN8vv_{s}f"))),
    })
}

/// The element types libmvec has vectors of.
pub(crate) trait Lane: Copy {
    /// Whether this is f32 (the `_ZGVdN8*f` variants) rather than f64 (`_ZGVdN4*`).
    const F32: bool;
}
impl Lane for f64 {
    const F32: bool = false;
}
impl Lane for f32 {
    const F32: bool = true;
}

/// A libmvec function of `K` vectors of `T`, found for one operation.
#[derive(Clone, Copy)]
pub(crate) struct Vector<T, const K: usize> {
    addr: usize,
    lane: PhantomData<T>,
}

/// libmvec's `f` for `T`, if this machine has it.
pub(crate) fn unary<T: Lane>(f: UnaryOp) -> Option<Vector<T, 1>> {
    let t = table()?;
    let i = UNARY.iter().position(|&(op, _)| op == f)?;
    let addr = if T::F32 {
        t.unary_f32[i]
    } else {
        t.unary_f64[i]
    }?;
    Some(Vector {
        addr,
        lane: PhantomData,
    })
}

/// libmvec's `f` for `T`, if this machine has it.
pub(crate) fn binary<T: Lane>(f: BinaryOp) -> Option<Vector<T, 2>> {
    let t = table()?;
    let i = BINARY.iter().position(|&(op, _)| op == f)?;
    let addr = if T::F32 {
        t.binary_f32[i]
    } else {
        t.binary_f64[i]
    }?;
    Some(Vector {
        addr,
        lane: PhantomData,
    })
}

// SAFETY (all four): a `Vector<T, K>` is made only by `unary` / `binary`, from the table's
// entry for `T` and `K` arguments, which exists only with AVX2 and FMA present.
impl Vector<f64, 1> {
    /// `o[i] = f(x[i])`.
    pub(crate) fn apply(self, x: &[f64], o: &mut [f64]) {
        unsafe { avx2::unary_f64(self.addr, x, o) }
    }
}
impl Vector<f32, 1> {
    /// `o[i] = f(x[i])`.
    pub(crate) fn apply(self, x: &[f32], o: &mut [f32]) {
        unsafe { avx2::unary_f32(self.addr, x, o) }
    }
}
impl Vector<f64, 2> {
    /// `o[i] = f(x[i], y[i])`.
    pub(crate) fn apply(self, x: &[f64], y: &[f64], o: &mut [f64]) {
        unsafe { avx2::binary_f64(self.addr, x, y, o) }
    }
}
impl Vector<f32, 2> {
    /// `o[i] = f(x[i], y[i])`.
    pub(crate) fn apply(self, x: &[f32], y: &[f32], o: &mut [f32]) {
        unsafe { avx2::binary_f32(self.addr, x, y, o) }
    }
}

/// The loops: whole vectors straight from the slices, the tail through buffers padded with
/// each input's last element (so every lane computes a value of the input's own range).
mod avx2 {
    use std::arch::x86_64::*;

    // The x86-64 vector function ABI passes and returns `__m256d`/`__m256` in ymm registers,
    // exactly as rustc does for these types in an `extern "C"` fn compiled with AVX enabled
    // (every caller below is `#[target_feature(enable = "avx2,fma")]`); the lint cannot see
    // that the types have a defined C ABI there.
    #[allow(improper_ctypes_definitions)]
    type F64x1 = unsafe extern "C" fn(__m256d) -> __m256d;
    #[allow(improper_ctypes_definitions)]
    type F32x1 = unsafe extern "C" fn(__m256) -> __m256;
    #[allow(improper_ctypes_definitions)]
    type F64x2 = unsafe extern "C" fn(__m256d, __m256d) -> __m256d;
    #[allow(improper_ctypes_definitions)]
    type F32x2 = unsafe extern "C" fn(__m256, __m256) -> __m256;

    /// Calls `f(inputs, output)` with pointers to `L` elements of each input and of `o`,
    /// over all of `o` (every input at least as long).
    #[inline(always)]
    fn vectors<T: Copy, const L: usize, const K: usize>(
        ins: [&[T]; K],
        o: &mut [T],
        mut f: impl FnMut([*const T; K], *mut T),
    ) {
        let n = o.len();
        let whole = n / L * L;
        for i in (0..whole).step_by(L) {
            f(ins.map(|s| s[i..i + L].as_ptr()), o[i..i + L].as_mut_ptr());
        }
        if whole < n {
            let tail = n - whole;
            let bufs = ins.map(|s| {
                let mut b = [s[n - 1]; L];
                b[..tail].copy_from_slice(&s[whole..n]);
                b
            });
            let mut out = [o[0]; L];
            f(bufs.each_ref().map(|b| b.as_ptr()), out.as_mut_ptr());
            o[whole..n].copy_from_slice(&out[..tail]);
        }
    }

    /// # Safety
    /// AVX2 and FMA must be present and `p` must be a libmvec `_ZGVdN4v_*` function.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn unary_f64(p: usize, x: &[f64], o: &mut [f64]) {
        // SAFETY: the caller guarantees `p` has this signature.
        let f = unsafe { std::mem::transmute::<usize, F64x1>(p) };
        // SAFETY: `vectors` passes pointers to 4 valid elements.
        vectors::<f64, 4, 1>([x], o, |[a], out| unsafe {
            _mm256_storeu_pd(out, f(_mm256_loadu_pd(a)))
        });
    }

    /// # Safety
    /// AVX2 and FMA must be present and `p` must be a libmvec `_ZGVdN8v_*f` function.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn unary_f32(p: usize, x: &[f32], o: &mut [f32]) {
        // SAFETY: the caller guarantees `p` has this signature.
        let f = unsafe { std::mem::transmute::<usize, F32x1>(p) };
        // SAFETY: `vectors` passes pointers to 8 valid elements.
        vectors::<f32, 8, 1>([x], o, |[a], out| unsafe {
            _mm256_storeu_ps(out, f(_mm256_loadu_ps(a)))
        });
    }

    /// # Safety
    /// AVX2 and FMA must be present and `p` must be a libmvec `_ZGVdN4vv_*` function.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn binary_f64(p: usize, x: &[f64], y: &[f64], o: &mut [f64]) {
        // SAFETY: the caller guarantees `p` has this signature.
        let f = unsafe { std::mem::transmute::<usize, F64x2>(p) };
        // SAFETY: `vectors` passes pointers to 4 valid elements.
        vectors::<f64, 4, 2>([x, y], o, |[a, b], out| unsafe {
            _mm256_storeu_pd(out, f(_mm256_loadu_pd(a), _mm256_loadu_pd(b)))
        });
    }

    /// # Safety
    /// AVX2 and FMA must be present and `p` must be a libmvec `_ZGVdN8vv_*f` function.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn binary_f32(p: usize, x: &[f32], y: &[f32], o: &mut [f32]) {
        // SAFETY: the caller guarantees `p` has this signature.
        let f = unsafe { std::mem::transmute::<usize, F32x2>(p) };
        // SAFETY: `vectors` passes pointers to 8 valid elements.
        vectors::<f32, 8, 2>([x, y], o, |[a, b], out| unsafe {
            _mm256_storeu_ps(out, f(_mm256_loadu_ps(a), _mm256_loadu_ps(b)))
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::program::Math;

    /// Distance in representable values, with -0 and +0 one apart (so a wrong zero sign
    /// counts); 0 for two NaNs, `u64::MAX` for a NaN against a number.
    fn ulps64(a: f64, b: f64) -> u64 {
        let key = |v: f64| {
            let b = v.to_bits() as i64;
            if b < 0 {
                -(b & i64::MAX) - 1
            } else {
                b
            }
        };
        match (a.is_nan(), b.is_nan()) {
            (true, true) => 0,
            (false, false) => (key(a) as i128 - key(b) as i128).unsigned_abs() as u64,
            _ => u64::MAX,
        }
    }

    fn ulps32(a: f32, b: f32) -> u64 {
        let key = |v: f32| {
            let b = v.to_bits() as i32;
            if b < 0 {
                -(b & i32::MAX) as i64 - 1
            } else {
                b as i64
            }
        };
        match (a.is_nan(), b.is_nan()) {
            (true, true) => 0,
            (false, false) => (key(a) - key(b)).unsigned_abs(),
            _ => u64::MAX,
        }
    }

    /// The bound every function is held to.
    const MAX_ULPS: u64 = 4;

    fn vectors_expected() -> bool {
        std::env::var_os("CHUNKWISE_NO_MVEC").is_none()
            && std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
            && std::path::Path::new("/lib/x86_64-linux-gnu/libmvec.so.1").exists()
    }

    /// A deterministic stream of uniform numbers in [0, 1).
    fn uniform(seed: u64) -> impl FnMut() -> f64 {
        let mut z = seed;
        move || {
            z = z
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (z >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// Edge values, then random values: both signs of magnitudes spread evenly over the
    /// exponents (1e-320 to 1e308), and uniform ones in the ranges where the functions
    /// change fastest.
    fn inputs_f64() -> Vec<f64> {
        let mut xs = vec![
            0.0,
            -0.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            -f64::NAN,
            5e-324,
            -5e-324,
            1e-310,
            -1e-310,
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE,
            f64::MAX,
            f64::MIN,
            f64::EPSILON,
            1.0,
            -1.0,
            1.0 + f64::EPSILON,
            1.0 - f64::EPSILON / 2.0,
            -1.0 + f64::EPSILON / 2.0,
            0.5,
            -0.5,
            2.0,
            std::f64::consts::PI,
            std::f64::consts::FRAC_PI_2,
            -std::f64::consts::FRAC_PI_2,
            1e22,
            1e300,
            -1e300,
            709.78,
            710.0,
            -745.1,
            -746.0,
            1023.99,
            1024.0,
            -1074.0,
            -1075.0,
            19.0,
            -19.0,
            22.0,
        ];
        let mut u = uniform(0x5eed_1234_abcd_ef01);
        for _ in 0..40_000 {
            let mag = 10f64.powf(u() * 628.0 - 320.0);
            xs.push(if u() < 0.5 { mag } else { -mag });
            xs.push(u() * 20.0 - 10.0);
            xs.push(u() * 2.0 - 1.0);
            xs.push(u() * 1500.0 - 750.0);
        }
        xs
    }

    fn inputs_f32() -> Vec<f32> {
        let mut xs: Vec<f32> = inputs_f64().iter().map(|&v| v as f32).collect();
        xs.extend([
            1e-45,
            -1e-45,
            1e-40,
            f32::MIN_POSITIVE,
            f32::MAX,
            88.72,
            89.0,
            -103.9,
            127.99,
            128.0,
            -150.0,
        ]);
        xs
    }

    /// The worst distance and its argument, over `xs`.
    fn worst<T: Copy>(
        xs: &[T],
        got: &[T],
        want: impl Fn(T) -> T,
        ulps: impl Fn(T, T) -> u64,
    ) -> (u64, T) {
        xs.iter()
            .zip(got)
            .map(|(&x, &g)| (ulps(g, want(x)), x))
            .max_by_key(|p| p.0)
            .expect("inputs")
    }

    #[test]
    fn unary_functions_are_within_four_ulps() {
        if !vectors_expected() {
            eprintln!("libmvec with AVX2 + FMA is not available here: its tests are skipped");
            return;
        }
        assert!(table().is_some(), "libmvec.so.1 exists but did not load");
        let (x64, x32) = (inputs_f64(), inputs_f32());
        let mut report = Vec::new();
        for (f, name) in UNARY {
            let v64 = unary::<f64>(f).unwrap_or_else(|| panic!("no f64 {name} in libmvec"));
            let mut o64 = vec![0.0; x64.len()];
            v64.apply(&x64, &mut o64);
            let (e64, at64) = worst(&x64, &o64, |x| f64::math(f, x), ulps64);
            let v32 = unary::<f32>(f).unwrap_or_else(|| panic!("no f32 {name} in libmvec"));
            let mut o32 = vec![0.0; x32.len()];
            v32.apply(&x32, &mut o32);
            let (e32, at32) = worst(&x32, &o32, |x| f64::math(f, x as f64) as f32, ulps32);
            report.push(format!(
                "{name}: f64 {e64} ulp (at {at64:e}), f32 {e32} ulp (at {at32:e})"
            ));
            assert!(e64 <= MAX_ULPS && e32 <= MAX_ULPS, "{}", report.join("\n"));
        }
        eprintln!("{}", report.join("\n"));
    }

    #[test]
    fn binary_functions_are_within_four_ulps() {
        if !vectors_expected() {
            eprintln!("libmvec with AVX2 + FMA is not available here: its tests are skipped");
            return;
        }
        let x = inputs_f64();
        let mut y = x.clone();
        y.rotate_left(7);
        // Pairs of every edge value with every other, then the rotated random values.
        let edges = &x[..40];
        let (mut a, mut b): (Vec<f64>, Vec<f64>) = edges
            .iter()
            .flat_map(|&p| edges.iter().map(move |&q| (p, q)))
            .unzip();
        a.extend(&x);
        b.extend(&y);
        // pow on moderate bases and exponents too, where its results are neither 0 nor inf.
        let mut u = uniform(42);
        for _ in 0..40_000 {
            a.push(u() * 10.0);
            b.push(u() * 60.0 - 30.0);
        }
        let (a32, b32): (Vec<f32>, Vec<f32>) = a
            .iter()
            .zip(&b)
            .map(|(&p, &q)| (p as f32, q as f32))
            .unzip();
        let reference = |f: BinaryOp, p: f64, q: f64| match f {
            BinaryOp::Pow => p.powf(q),
            _ => f64::math2(f, p, q),
        };
        for (f, name) in BINARY {
            let mut o = vec![0.0; a.len()];
            binary::<f64>(f).expect(name).apply(&a, &b, &mut o);
            let mut o32 = vec![0.0f32; a.len()];
            binary::<f32>(f).expect(name).apply(&a32, &b32, &mut o32);
            for i in 0..a.len() {
                let e = ulps64(o[i], reference(f, a[i], b[i]));
                assert!(e <= MAX_ULPS, "{name}({:e}, {:e}) f64: {e} ulp", a[i], b[i]);
                let want = reference(f, a32[i] as f64, b32[i] as f64) as f32;
                let e = ulps32(o32[i], want);
                assert!(
                    e <= MAX_ULPS,
                    "{name}({:e}, {:e}) f32: {e} ulp",
                    a32[i],
                    b32[i]
                );
            }
        }
    }

    /// Every length, so the padded tail is covered: each element as if computed alone.
    #[test]
    fn tails_match_whole_vectors() {
        let (Some(s64), Some(s32), Some(p64)) = (
            unary::<f64>(UnaryOp::Sin),
            unary::<f32>(UnaryOp::Log),
            binary::<f64>(BinaryOp::Pow),
        ) else {
            assert!(!vectors_expected(), "libmvec expected but not loaded");
            eprintln!("libmvec with AVX2 + FMA is not available here: its tests are skipped");
            return;
        };
        let x: Vec<f64> = (0..19).map(|i| 0.37 * i as f64 + 0.1).collect();
        let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        let mut full = vec![0.0; 19];
        s64.apply(&x, &mut full);
        let mut full32 = vec![0.0f32; 19];
        s32.apply(&x32, &mut full32);
        let mut fullp = vec![0.0; 19];
        p64.apply(&x, &x, &mut fullp);
        for n in 0..=19 {
            let mut o = vec![f64::NAN; n];
            s64.apply(&x[19 - n..], &mut o);
            assert_eq!(o, full[19 - n..], "sin, length {n}");
            let mut o = vec![f32::NAN; n];
            s32.apply(&x32[19 - n..], &mut o);
            assert_eq!(o, full32[19 - n..], "logf, length {n}");
            let mut o = vec![f64::NAN; n];
            p64.apply(&x[19 - n..], &x[19 - n..], &mut o);
            assert_eq!(o, fullp[19 - n..], "pow, length {n}");
        }
    }
}
