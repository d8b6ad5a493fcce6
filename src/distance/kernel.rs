//! Register-tiled vector micro-kernels for the metrics computed entry by entry (cityblock,
//! minkowski, chebyshev, hamming, jaccard, braycurtis, canberra).
//!
//! A GEMM micro-kernel keeps a tile of the output in registers and reuses every load across
//! the tile; these kernels do the same with the metric's step in place of the multiply-add.
//! For a tile of `R` rows of `x` and `C` rows of `y` and a run of `L` columns (one vector
//! register), the kernel loads `R + C` vectors and updates `R * C` vector accumulators
//! (`acc[r][c][lane] = step(acc, x[r][k + lane], y[c][k + lane])`); the lanes and the pairs
//! are summed (or, for chebyshev, maximized) when the run of columns ends. Columns go in
//! panels of [`PANEL`] bytes so the panel of `y`'s rows stays in the L2 cache while every
//! tile of `x` passes over it; a panel's state is merged into the f64 output state.
//!
//! The loops are written over fixed-size arrays (`[[T; L]; R]`) with no calls or branches,
//! so the compiler keeps the accumulators in registers and turns the lane loops into vector
//! instructions; [`accumulate`] compiles them three times and picks one at run time: AVX-512
//! (`L` = 8 f64 or 16 f32 lanes, 32 registers: 4 x 4 tiles), AVX2 (4 or 8 lanes, 16 registers:
//! 4 x 2 tiles) and the baseline (SSE2). Tiles at the edges of the blocks repeat the last row
//! and drop the extra results.
//!
//! f32 input is computed in f32 within a panel (twice the lanes) and merged in f64.
//!
//! NaN semantics are SciPy's `cdist` (the reference implementation of the definitions):
//! every step that adds a NaN makes the sum NaN; chebyshev's maximum skips NaN (`d > max` is
//! false), hamming counts a NaN entry as differing from everything, and jaccard counts it as
//! nonzero.

use super::Metric;
use ndarray::{Array2, ArrayView2};
use std::ops::{Add, Div, Mul, Sub};

/// Bytes of one row per column panel.
const PANEL: usize = 2048;

/// A floating-point element the kernels compute in (f32 or f64).
pub(super) trait Real:
    Copy
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Send
    + Sync
    + 'static
{
    const ZERO: Self;
    const ONE: Self;
    fn abs(self) -> Self;
    fn powf(self, p: f64) -> Self;
    fn to_f64(self) -> f64;
    fn to_f32(self) -> f32;
    fn from_f32(v: f32) -> Self;
    /// [`run`] with this type's lane counts.
    fn run<K: Step>(
        k: K,
        x: Rows<'_, Self>,
        y: Rows<'_, Self>,
        symmetric: bool,
        out: &mut [Array2<f64>],
    );
}

impl Real for f64 {
    const ZERO: f64 = 0.0;
    const ONE: f64 = 1.0;
    #[inline(always)]
    fn abs(self) -> f64 {
        f64::abs(self)
    }
    #[inline(always)]
    fn powf(self, p: f64) -> f64 {
        f64::powf(self, p)
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn to_f32(self) -> f32 {
        self as f32
    }
    #[inline(always)]
    fn from_f32(v: f32) -> f64 {
        v as f64
    }
    fn run<K: Step>(
        k: K,
        x: Rows<'_, f64>,
        y: Rows<'_, f64>,
        symmetric: bool,
        out: &mut [Array2<f64>],
    ) {
        run::<f64, K, 8, 4, 2>(k, x, y, symmetric, out)
    }
}

impl Real for f32 {
    const ZERO: f32 = 0.0;
    const ONE: f32 = 1.0;
    #[inline(always)]
    fn abs(self) -> f32 {
        f32::abs(self)
    }
    #[inline(always)]
    fn powf(self, p: f64) -> f32 {
        f32::powf(self, p as f32)
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn to_f32(self) -> f32 {
        self
    }
    #[inline(always)]
    fn from_f32(v: f32) -> f32 {
        v
    }
    fn run<K: Step>(
        k: K,
        x: Rows<'_, f32>,
        y: Rows<'_, f32>,
        symmetric: bool,
        out: &mut [Array2<f64>],
    ) {
        run::<f32, K, 16, 8, 4>(k, x, y, symmetric, out)
    }
}

#[inline(always)]
fn count<T: Real>(b: bool) -> T {
    if b {
        T::ONE
    } else {
        T::ZERO
    }
}

/// One metric's step, as a type so each kernel is compiled for it: `step` updates the (at
/// most two) sums of a pair with one entry of each row; `merge` combines two partial sums.
pub(super) trait Step: Copy {
    /// Sums per pair (1 or 2).
    const STATES: usize;
    /// Whether partial sums combine by maximum (else by addition).
    const MAX: bool = false;
    /// Whether the step needs many registers of its own (small tiles then).
    const HEAVY: bool = false;
    fn step<T: Real>(self, s: &mut [T; 2], a: T, b: T);
    #[inline(always)]
    fn merge<T: Real>(a: T, b: T) -> T {
        if Self::MAX {
            if b > a {
                b
            } else {
                a
            }
        } else {
            a + b
        }
    }
}

#[derive(Clone, Copy)]
pub(super) struct Cityblock;
impl Step for Cityblock {
    const STATES: usize = 1;
    #[inline(always)]
    fn step<T: Real>(self, s: &mut [T; 2], a: T, b: T) {
        s[0] = s[0] + (a - b).abs();
    }
}

/// `|x - y|^P` by multiplication, for the integer powers 2 to 4.
#[derive(Clone, Copy)]
pub(super) struct MinkowskiInt<const P: u32>;
impl<const P: u32> Step for MinkowskiInt<P> {
    const STATES: usize = 1;
    #[inline(always)]
    fn step<T: Real>(self, s: &mut [T; 2], a: T, b: T) {
        let d = (a - b).abs();
        let d2 = d * d;
        let t = match P {
            2 => d2,
            3 => d2 * d,
            _ => d2 * d2,
        };
        s[0] = s[0] + t;
    }
}

/// `|x - y|^p` for any other `p` (one `pow` call per entry).
#[derive(Clone, Copy)]
pub(super) struct MinkowskiPow(f64);
impl Step for MinkowskiPow {
    const STATES: usize = 1;
    #[inline(always)]
    fn step<T: Real>(self, s: &mut [T; 2], a: T, b: T) {
        s[0] = s[0] + (a - b).abs().powf(self.0);
    }
}

#[derive(Clone, Copy)]
pub(super) struct Chebyshev;
impl Step for Chebyshev {
    const STATES: usize = 1;
    const MAX: bool = true;
    #[inline(always)]
    fn step<T: Real>(self, s: &mut [T; 2], a: T, b: T) {
        let d = (a - b).abs();
        // A NaN difference compares false and is skipped, as in SciPy.
        if d > s[0] {
            s[0] = d;
        }
    }
}

#[derive(Clone, Copy)]
pub(super) struct Hamming;
impl Step for Hamming {
    const STATES: usize = 1;
    #[inline(always)]
    fn step<T: Real>(self, s: &mut [T; 2], a: T, b: T) {
        s[0] = s[0] + count::<T>(a != b);
    }
}

/// Entries as booleans (nonzero is true): differing entries, and entries where either is
/// true.
#[derive(Clone, Copy)]
pub(super) struct Jaccard;
impl Step for Jaccard {
    const STATES: usize = 2;
    #[inline(always)]
    fn step<T: Real>(self, s: &mut [T; 2], a: T, b: T) {
        let (na, nb) = (a != T::ZERO, b != T::ZERO);
        s[0] = s[0] + count::<T>(na != nb);
        s[1] = s[1] + count::<T>(na | nb);
    }
}

#[derive(Clone, Copy)]
pub(super) struct BrayCurtis;
impl Step for BrayCurtis {
    const STATES: usize = 2;
    #[inline(always)]
    fn step<T: Real>(self, s: &mut [T; 2], a: T, b: T) {
        s[0] = s[0] + (a - b).abs();
        s[1] = s[1] + (a + b).abs();
    }
}

/// Canberra's term `|x - y| / (|x| + |y|)` by an exact division (the divider's throughput,
/// a quarter of the other vector operations', bounds it).
#[derive(Clone, Copy)]
pub(super) struct Canberra;
impl Step for Canberra {
    const STATES: usize = 1;
    #[inline(always)]
    fn step<T: Real>(self, s: &mut [T; 2], a: T, b: T) {
        let den = a.abs() + b.abs();
        let t = (a - b).abs() / den;
        // Terms with both entries zero (0 / 0) count 0; a NaN entry keeps its NaN.
        s[0] = s[0] + if den == T::ZERO { T::ZERO } else { t };
    }
}

/// Canberra's term without a vector division: the reciprocal of the denominator from an f32
/// division (eight or sixteen lanes per divider step, 2^-24 relative error), refined by two
/// Newton steps in `T` (`r + r (1 - d r)`: 2^-48, then rounding), times the numerator: within
/// 2 ulp of the exact quotient. Only for entries whose magnitudes lie in [`FAST_RANGE`] (or
/// are 0), where `d` and `1 / d` are normal f32 values.
#[derive(Clone, Copy)]
pub(super) struct CanberraFast;
impl Step for CanberraFast {
    const STATES: usize = 1;
    const HEAVY: bool = true;
    #[inline(always)]
    fn step<T: Real>(self, s: &mut [T; 2], a: T, b: T) {
        let den = a.abs() + b.abs();
        let mut r = T::from_f32(1.0 / den.to_f32());
        r = r + r * (T::ONE - den * r);
        r = r + r * (T::ONE - den * r);
        let t = (a - b).abs() * r;
        s[0] = s[0] + if den == T::ZERO { T::ZERO } else { t };
    }
}

/// The magnitudes for which [`CanberraFast`] is exact to 2 ulp: `[2^-60, 2^60]`.
const FAST_RANGE: std::ops::RangeInclusive<f64> = 8.673617379884035e-19..=1.152921504606847e18;

/// Whether every entry is 0 or of a magnitude in [`FAST_RANGE`] (so finite, not NaN).
fn in_fast_range<T: Real>(m: &[T]) -> bool {
    m.iter().all(|&v| {
        let a = v.abs().to_f64();
        a == 0.0 || FAST_RANGE.contains(&a)
    })
}

/// The sums of one `R x C` tile over one run of columns: `xs` and `ys` are the rows'
/// pieces, all of the same length.
#[inline(always)]
fn tile<T: Real, K: Step, const R: usize, const C: usize, const L: usize>(
    k: K,
    xs: [&[T]; R],
    ys: [&[T]; C],
) -> [[[T; 2]; C]; R] {
    let n = xs[0].len();
    let full = n - n % L;
    // One array of accumulators per state (the second unused by one-state steps), indexed
    // by constants only once the loops unroll, so they live in registers.
    let two = K::STATES > 1;
    let mut acc0 = [[[T::ZERO; L]; C]; R];
    let mut acc1 = [[[T::ZERO; L]; C]; R];
    let mut j = 0;
    while j < full {
        let xv: [[T; L]; R] = std::array::from_fn(|r| xs[r][j..j + L].try_into().unwrap());
        let yv: [[T; L]; C] = std::array::from_fn(|c| ys[c][j..j + L].try_into().unwrap());
        for r in 0..R {
            for c in 0..C {
                for l in 0..L {
                    let mut s = [acc0[r][c][l], if two { acc1[r][c][l] } else { T::ZERO }];
                    k.step(&mut s, xv[r][l], yv[c][l]);
                    acc0[r][c][l] = s[0];
                    if two {
                        acc1[r][c][l] = s[1];
                    }
                }
            }
        }
        j += L;
    }
    let mut out = [[[T::ZERO; 2]; C]; R];
    for r in 0..R {
        for c in 0..C {
            let mut s = [
                lanes::<T, K, L>(acc0[r][c]),
                if two {
                    lanes::<T, K, L>(acc1[r][c])
                } else {
                    T::ZERO
                },
            ];
            // The columns after the last full run, one at a time.
            for j in full..n {
                k.step(&mut s, xs[r][j], ys[c][j]);
            }
            out[r][c] = s;
        }
    }
    out
}

/// The lanes of one accumulator merged, pairwise by halves (constant indices).
#[inline(always)]
fn lanes<T: Real, K: Step, const L: usize>(mut v: [T; L]) -> T {
    let mut w = L;
    while w > 1 {
        w /= 2;
        for i in 0..w {
            v[i] = K::merge(v[i], v[i + w]);
        }
    }
    v[0]
}

/// Rows of a matrix: `n` rows of `cols` contiguous entries.
#[derive(Clone, Copy)]
pub(super) struct Rows<'a, T> {
    data: &'a [T],
    n: usize,
    cols: usize,
}

impl<'a, T> Rows<'a, T> {
    /// The rows of a matrix in standard layout.
    fn of(m: &'a ndarray::CowArray<'_, T, ndarray::Ix2>) -> Self {
        Rows {
            // Standard layout: the rows are contiguous.
            data: m.as_slice().unwrap_or_default(),
            n: m.nrows(),
            cols: m.ncols(),
        }
    }

    /// Row `i` (the last row for `i` past the end: edge tiles repeat it), entries `range`.
    #[inline(always)]
    fn row(self, i: usize, range: &std::ops::Range<usize>) -> &'a [T] {
        let start = i.min(self.n - 1) * self.cols;
        &self.data[start + range.start..start + range.end]
    }
}

/// Merges the sums of every tile of `x`'s and `y`'s rows over the columns `cols` into
/// `out` (one matrix per state); for `symmetric` (the rows of `x` and `y` are the same),
/// only tiles that reach the upper triangle.
#[inline(always)]
fn panel<T: Real, K: Step, const R: usize, const C: usize, const L: usize>(
    k: K,
    x: Rows<'_, T>,
    y: Rows<'_, T>,
    cols: std::ops::Range<usize>,
    symmetric: bool,
    out: &mut [Array2<f64>],
) {
    for i0 in (0..x.n).step_by(R) {
        let xs: [&[T]; R] = std::array::from_fn(|r| x.row(i0 + r, &cols));
        let first = if symmetric { i0 - i0 % C } else { 0 };
        for j0 in (first..y.n).step_by(C) {
            let ys: [&[T]; C] = std::array::from_fn(|c| y.row(j0 + c, &cols));
            let sums = tile::<T, K, R, C, L>(k, xs, ys);
            for (r, sr) in sums.iter().enumerate().take(x.n - i0) {
                for (c, s) in sr.iter().enumerate().take(y.n - j0) {
                    for (st, o) in out.iter_mut().enumerate().take(K::STATES) {
                        let v = &mut o[[i0 + r, j0 + c]];
                        *v = K::merge(*v, s[st].to_f64());
                    }
                }
            }
        }
    }
}

/// The whole block: every column panel, then (for `symmetric`) the lower triangle mirrored
/// from the upper one.
#[inline(always)]
fn block<T: Real, K: Step, const R: usize, const C: usize, const L: usize>(
    k: K,
    x: Rows<'_, T>,
    y: Rows<'_, T>,
    symmetric: bool,
    out: &mut [Array2<f64>],
) {
    let width = (PANEL / std::mem::size_of::<T>()).max(1);
    let mut start = 0;
    while start < x.cols {
        let end = (start + width).min(x.cols);
        panel::<T, K, R, C, L>(k, x, y, start..end, symmetric, out);
        start = end;
    }
    if symmetric {
        for o in out.iter_mut().take(K::STATES) {
            for i in 0..o.nrows() {
                for j in 0..i {
                    o[[i, j]] = o[[j, i]];
                }
            }
        }
    }
}

/// Runs the kernel of `K` compiled for the best instruction set of this CPU, with `L512`,
/// `L256` and `L128` lanes of `T` per AVX-512, AVX2 and SSE2 register.
fn run<T: Real, K: Step, const L512: usize, const L256: usize, const L128: usize>(
    k: K,
    x: Rows<'_, T>,
    y: Rows<'_, T>,
    symmetric: bool,
    out: &mut [Array2<f64>],
) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F (checked just above).
            return unsafe { block_avx512::<T, K, L512>(k, x, y, symmetric, out) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            return unsafe { block_avx2::<T, K, L256>(k, x, y, symmetric, out) };
        }
    }
    block_narrow::<T, K, L128>(k, x, y, symmetric, out)
}

/// 32 registers: tiles of 16 accumulators (4 x 4, or 4 x 2 pairs of two states).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn block_avx512<T: Real, K: Step, const L: usize>(
    k: K,
    x: Rows<'_, T>,
    y: Rows<'_, T>,
    symmetric: bool,
    out: &mut [Array2<f64>],
) {
    if K::HEAVY {
        block::<T, K, 2, 2, L>(k, x, y, symmetric, out)
    } else if K::STATES == 1 {
        block::<T, K, 4, 4, L>(k, x, y, symmetric, out)
    } else {
        block::<T, K, 4, 2, L>(k, x, y, symmetric, out)
    }
}

/// 16 registers: the narrow tiles.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn block_avx2<T: Real, K: Step, const L: usize>(
    k: K,
    x: Rows<'_, T>,
    y: Rows<'_, T>,
    symmetric: bool,
    out: &mut [Array2<f64>],
) {
    block_narrow::<T, K, L>(k, x, y, symmetric, out)
}

/// Tiles of 8 accumulators (4 x 2, or 2 x 2 pairs of two states), for 16 registers.
#[inline(always)]
fn block_narrow<T: Real, K: Step, const L: usize>(
    k: K,
    x: Rows<'_, T>,
    y: Rows<'_, T>,
    symmetric: bool,
    out: &mut [Array2<f64>],
) {
    if K::STATES == 1 {
        block::<T, K, 4, 2, L>(k, x, y, symmetric, out)
    } else {
        block::<T, K, 2, 2, L>(k, x, y, symmetric, out)
    }
}

/// The number of state matrices of a direct metric.
pub(super) fn states(metric: Metric) -> usize {
    match metric {
        Metric::Jaccard | Metric::BrayCurtis => 2,
        _ => 1,
    }
}

/// A use of a metric's step: the kernels are generic over it, so [`with_step`] picks the
/// step type for a [`Metric`] value and hands it over.
trait WithStep {
    fn with<K: Step>(self, k: K);
}

/// Calls `w` with the step of a direct metric (minkowski's integer powers multiply; `p = 1`
/// is cityblock; canberra divides exactly unless `fast_canberra`); the GEMM metrics do
/// nothing.
fn with_step(metric: Metric, fast_canberra: bool, w: impl WithStep) {
    match metric {
        Metric::Cityblock => w.with(Cityblock),
        Metric::Minkowski(1.0) => w.with(Cityblock),
        Metric::Minkowski(2.0) => w.with(MinkowskiInt::<2>),
        Metric::Minkowski(3.0) => w.with(MinkowskiInt::<3>),
        Metric::Minkowski(4.0) => w.with(MinkowskiInt::<4>),
        Metric::Minkowski(p) => w.with(MinkowskiPow(p)),
        Metric::Chebyshev => w.with(Chebyshev),
        Metric::Hamming => w.with(Hamming),
        Metric::Jaccard => w.with(Jaccard),
        Metric::BrayCurtis => w.with(BrayCurtis),
        Metric::Canberra if fast_canberra => w.with(CanberraFast),
        Metric::Canberra => w.with(Canberra),
        Metric::Euclidean | Metric::SqEuclidean | Metric::Cosine | Metric::Correlation => {}
    }
}

/// The kernel for the best instruction set of this CPU on one block.
struct Best<'a, 'o, T> {
    x: Rows<'a, T>,
    y: Rows<'a, T>,
    symmetric: bool,
    out: &'o mut [Array2<f64>],
}

impl<T: Real> WithStep for Best<'_, '_, T> {
    fn with<K: Step>(self, k: K) {
        T::run(k, self.x, self.y, self.symmetric, self.out)
    }
}

/// Merges the state of a direct metric over the columns of `x` and `y` into `out` ([`states`]
/// matrices of `x.nrows() x y.nrows()`; `symmetric`: `x` and `y` are the same rows, and only
/// the upper triangle is computed, then mirrored). The GEMM metrics do not come here (they
/// leave `out` as it is).
pub(super) fn accumulate<T: Real>(
    metric: Metric,
    x: ArrayView2<'_, T>,
    y: ArrayView2<'_, T>,
    symmetric: bool,
    out: &mut [Array2<f64>],
) {
    if x.nrows() == 0 || y.nrows() == 0 {
        return;
    }
    let (xc, yc) = (x.as_standard_layout(), y.as_standard_layout());
    let (x, y) = (Rows::of(&xc), Rows::of(&yc));
    // Canberra's fast reciprocal holds for entries in its range (checked in one pass).
    let fast = metric == Metric::Canberra && in_fast_range(x.data) && in_fast_range(y.data);
    with_step(
        metric,
        fast,
        Best {
            x,
            y,
            symmetric,
            out,
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    const METRICS: [Metric; 11] = [
        Metric::Cityblock,
        Metric::Minkowski(1.0),
        Metric::Minkowski(2.0),
        Metric::Minkowski(3.0),
        Metric::Minkowski(4.0),
        Metric::Minkowski(2.5),
        Metric::Chebyshev,
        Metric::Hamming,
        Metric::Jaccard,
        Metric::BrayCurtis,
        Metric::Canberra,
    ];

    /// The states of one pair, entry by entry in f64 (the definitions, no tiling).
    fn reference(metric: Metric, a: &[f64], b: &[f64]) -> [f64; 2] {
        let mut s = [0.0; 2];
        for (&u, &v) in a.iter().zip(b) {
            let d = (u - v).abs();
            match metric {
                Metric::Cityblock => s[0] += d,
                Metric::Minkowski(p) => s[0] += d.powf(p),
                Metric::Chebyshev => s[0] = if d > s[0] { d } else { s[0] },
                Metric::Hamming => s[0] += f64::from(u != v),
                Metric::Jaccard => {
                    s[0] += f64::from((u != 0.0) != (v != 0.0));
                    s[1] += f64::from(u != 0.0 || v != 0.0);
                }
                Metric::BrayCurtis => {
                    s[0] += d;
                    s[1] += (u + v).abs();
                }
                Metric::Canberra => {
                    let den = u.abs() + v.abs();
                    s[0] += if den == 0.0 { 0.0 } else { d / den };
                }
                _ => unreachable!("not a direct metric"),
            }
        }
        s
    }

    /// Data with repeated values and zeros (so hamming, jaccard and canberra's 0 / 0 have
    /// something to count), deterministic.
    fn data(rows: usize, cols: usize, seed: u64) -> Array2<f64> {
        let mut z = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        Array2::from_shape_fn((rows, cols), |_| {
            z ^= z << 13;
            z ^= z >> 7;
            z ^= z << 17;
            match z % 7 {
                0 => 0.0,
                1 => 1.0,
                _ => (z >> 11) as f64 / (1u64 << 53) as f64 * 4.0 - 2.0,
            }
        })
    }

    /// Checks `run_block` (a kernel of one instruction set) against [`reference`] for every
    /// metric, general and symmetric, on sizes that leave partial tiles and panels.
    fn check<T: Real>(
        cast: impl Fn(f64) -> T,
        tol: f64,
        run_block: impl Fn(Metric, ArrayView2<'_, T>, ArrayView2<'_, T>, bool, &mut [Array2<f64>]),
    ) {
        let width = PANEL / std::mem::size_of::<T>();
        for &(nx, ny, cols) in &[
            (1, 1, 1),
            (3, 5, 7),
            (9, 6, width + 3),
            (5, 11, 2 * width),
            (17, 4, 37),
        ] {
            let (x64, y64) = (data(nx, cols, 1), data(ny, cols, 2));
            // The reference sees the values the kernel sees (rounded to T).
            let round = |m: &Array2<f64>| m.mapv(|v| cast(v).to_f64());
            let (x64, y64) = (round(&x64), round(&y64));
            let (x, y) = (x64.mapv(&cast), y64.mapv(&cast));
            for metric in METRICS {
                for symmetric in [false, true] {
                    let (x, x64) = (x.view(), x64.view());
                    let (y, y64) = if symmetric {
                        (x, x64)
                    } else {
                        (y.view(), y64.view())
                    };
                    let mut out = vec![Array2::zeros((x.nrows(), y.nrows())); states(metric)];
                    run_block(metric, x, y, symmetric, &mut out);
                    for i in 0..x.nrows() {
                        for j in 0..y.nrows() {
                            let want = reference(
                                metric,
                                x64.row(i).as_slice().unwrap(),
                                y64.row(j).as_slice().unwrap(),
                            );
                            for (st, o) in out.iter().enumerate() {
                                let got = o[[i, j]];
                                assert!(
                                    (got - want[st]).abs() <= tol * want[st].abs().max(1.0),
                                    "{metric:?} {nx}x{ny}x{cols} symmetric={symmetric} \
                                     [{i},{j}] state {st}: {got} != {}",
                                    want[st]
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn kernels_match_the_definitions_f64() {
        check(|v| v, 1e-12, |m, x, y, s, o| accumulate(m, x, y, s, o));
    }

    #[test]
    fn kernels_match_the_definitions_f32() {
        check(
            |v| v as f32,
            2e-5,
            |m, x, y, s, o| accumulate(m, x, y, s, o),
        );
    }

    /// The kernels for 16 registers with `L` lanes.
    struct Narrow<'a, 'o, T, const L: usize>(Best<'a, 'o, T>);

    impl<T: Real, const L: usize> WithStep for Narrow<'_, '_, T, L> {
        fn with<K: Step>(self, k: K) {
            let b = self.0;
            block_narrow::<T, K, L>(k, b.x, b.y, b.symmetric, b.out)
        }
    }

    fn narrow<T: Real, const L: usize, const FAST: bool>(
        metric: Metric,
        x: ArrayView2<'_, T>,
        y: ArrayView2<'_, T>,
        symmetric: bool,
        out: &mut [Array2<f64>],
    ) {
        let (xc, yc) = (x.as_standard_layout(), y.as_standard_layout());
        let (x, y) = (Rows::of(&xc), Rows::of(&yc));
        let best = Best {
            x,
            y,
            symmetric,
            out,
        };
        with_step(metric, FAST, Narrow::<T, L>(best));
    }

    #[test]
    fn narrow_kernels_match_the_definitions() {
        // The tiles for 16 registers (AVX2, SSE2), whatever this CPU picks at run time.
        check(|v| v, 1e-12, narrow::<f64, 4, false>);
        check(|v| v, 1e-12, narrow::<f64, 4, true>);
        check(|v| v as f32, 2e-5, narrow::<f32, 8, false>);
        check(|v| v as f32, 2e-5, narrow::<f32, 8, true>);
    }

    /// The distance between two f64 values in units in the last place.
    fn ulps(a: f64, b: f64) -> u64 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs()
    }

    #[test]
    fn fast_canberra_terms_are_within_2_ulp() {
        let mut worst = 0;
        let v = data(1, 200_000, 7);
        let w = data(1, 200_000, 8);
        // Magnitudes across the whole fast range, both signs.
        let scale = |k: usize| 2f64.powi((k % 121) as i32 - 60);
        for (k, (&a, &b)) in v.iter().zip(w.iter()).enumerate() {
            let (a, b) = (a * scale(k), b * scale(k / 121 + 3));
            if !(in_fast_range(&[a]) && in_fast_range(&[b])) {
                continue;
            }
            let (mut fast, mut exact) = ([0.0; 2], [0.0; 2]);
            CanberraFast.step(&mut fast, a, b);
            Canberra.step(&mut exact, a, b);
            worst = worst.max(ulps(fast[0], exact[0]));
        }
        assert!(worst <= 2, "{worst} ulp");
    }

    #[test]
    fn canberra_outside_the_fast_range_divides_exactly() {
        // Subnormal, huge and infinite entries: exact division, as SciPy.
        let x = ndarray::array![
            [1e-310, 1.0, 3.0],
            [1e300, -1e308, 2.0],
            [f64::INFINITY, 1.0, 0.0]
        ];
        let y = ndarray::array![[3e-310, 2.0, 0.0], [1e-300, 1e308, 1.0]];
        let mut out = vec![Array2::zeros((3, 2))];
        accumulate(Metric::Canberra, x.view(), y.view(), false, &mut out);
        for i in 0..3 {
            for j in 0..2 {
                let want = reference(
                    Metric::Canberra,
                    x.row(i).as_slice().unwrap(),
                    y.row(j).as_slice().unwrap(),
                )[0];
                let got = out[0][[i, j]];
                assert!(
                    got == want || (got.is_nan() && want.is_nan()),
                    "[{i},{j}] {got} != {want}"
                );
            }
        }
        assert!(out[0][[2, 0]].is_nan(), "inf / inf");
    }

    #[test]
    fn nan_follows_scipy() {
        let x = ndarray::array![[1.0, f64::NAN, 3.0], [1.0, 2.0, 3.0]];
        let y = ndarray::array![[1.0, 5.0, 3.0]];
        let run = |metric| {
            let mut out = vec![Array2::zeros((2, 1)); states(metric)];
            accumulate(metric, x.view(), y.view(), false, &mut out);
            out
        };
        // Sums take the NaN; chebyshev skips it; hamming counts it as differing.
        assert!(run(Metric::Cityblock)[0][[0, 0]].is_nan());
        assert!(run(Metric::Canberra)[0][[0, 0]].is_nan());
        assert_eq!(run(Metric::Chebyshev)[0][[0, 0]], 0.0);
        assert_eq!(run(Metric::Chebyshev)[0][[1, 0]], 3.0);
        assert_eq!(run(Metric::Hamming)[0][[0, 0]], 1.0);
    }
}
