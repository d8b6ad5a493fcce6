//! Pairwise distances between the rows of chunked arrays, computed as a map-reduce over
//! column chunks (the sgkit method), so the feature axis may be far larger than memory.
//!
//! For every pair of row blocks (`x` block `i`, `y` block `j`), the metric's partial state
//! of each column chunk `k` comes from the two `(rows x chunk)` pieces (the *map*); a tree
//! of *combine* steps (4 states at a time) merges the states of all column chunks; a
//! *finalize* task turns the state into the block of distances. The map of 4 chunks and
//! their first combine run in one task (for GEMM metrics the products accumulate in place),
//! the upper levels are tasks of their own. The result is a chunked `Array` (row blocks of
//! `x` by row blocks of `y`) built from those tasks. For `x` against itself only the blocks
//! on and above the diagonal are computed (every metric is symmetric); a block below is the
//! transpose of its mirror image, so the result is exactly symmetric.
//!
//! States: sums of squared differences (euclidean, sqeuclidean: by GEMM, `|x|^2 + |y|^2 -
//! 2 x.y`), sums of `|x - y|` (cityblock), of `|x - y|^p` (minkowski), maxima (chebyshev),
//! dot products and squared norms (cosine; correlation is cosine of rows centred first, by
//! GEMM), counts of differing entries (hamming, jaccard), and the numerators and
//! denominators of braycurtis and canberra. GEMM paths clamp tiny negative sums from
//! cancellation to zero (and cosine and correlation to at most 2, as SciPy clips the
//! cosine), and the diagonal of `x` against itself is exactly zero for them (the other
//! metrics compute it exactly).
//!
//! Undefined values are NaN, as in SciPy's `cdist`: a NaN in a row makes NaN every
//! distance of that row (including its own diagonal entry) for the metrics whose formula
//! sums over the entries (all but chebyshev, hamming and jaccard, which compare entries),
//! cosine of a zero row and correlation of a constant row are 0 / 0, and braycurtis of two
//! zero rows is 0 / 0. A constant row is centred to exact zeros (its mean's rounding cannot
//! leave a tiny nonzero row whose correlation would be about 1, as happens in SciPy when
//! NumPy's mean of the row is inexact).
//!
//! ```
//! use chunkwise::{distance::{pairwise_distance, Metric}, Array};
//! let x = Array::from_ndarray(ndarray::array![[0.0, 0.0], [3.0, 4.0], [6.0, 8.0]], &[2, 1]).unwrap();
//! let d = pairwise_distance(&x, None, Metric::Euclidean).unwrap().compute::<f64>().unwrap();
//! assert_eq!(d[[0, 1]], 5.0);
//! assert_eq!(d[[2, 0]], 10.0);
//! assert_eq!(d[[1, 1]], 0.0);
//! ```

use crate::delayed::{call1, gather, try_call2, Delayed};
use crate::error::Result;
use crate::linalg::{matmul_into, view, view_mut};
use crate::Array;
use chunkwise_ir::{DType, DynArray, IrError};
use ndarray::{Array2, ArrayD, ArrayView2, Axis, Ix2};
use std::sync::Arc;

mod kernel;

/// States combined per tree node (and column chunks per map task).
const COMBINE: usize = 4;

/// A distance between two vectors (SciPy's definitions).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Metric {
    /// `sqrt(sum (x - y)^2)`.
    Euclidean,
    /// `sum (x - y)^2`.
    SqEuclidean,
    /// `sum |x - y|`.
    Cityblock,
    /// `(sum |x - y|^p)^(1/p)`, `p >= 1`.
    Minkowski(f64),
    /// `max |x - y|`.
    Chebyshev,
    /// `1 - x.y / (|x| |y|)`.
    Cosine,
    /// `1 - (x - mean x).(y - mean y) / (|x - mean x| |y - mean y|)`.
    Correlation,
    /// The fraction of entries that differ.
    Hamming,
    /// Entries as booleans (nonzero is true): among entries where either is true, the
    /// fraction where they differ.
    Jaccard,
    /// `sum |x - y| / sum |x + y|`.
    BrayCurtis,
    /// `sum |x - y| / (|x| + |y|)` (terms with both zero count 0).
    Canberra,
}

impl Metric {
    /// SciPy's name of the metric.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Euclidean => "euclidean",
            Metric::SqEuclidean => "sqeuclidean",
            Metric::Cityblock => "cityblock",
            Metric::Minkowski(_) => "minkowski",
            Metric::Chebyshev => "chebyshev",
            Metric::Cosine => "cosine",
            Metric::Correlation => "correlation",
            Metric::Hamming => "hamming",
            Metric::Jaccard => "jaccard",
            Metric::BrayCurtis => "braycurtis",
            Metric::Canberra => "canberra",
        }
    }

    /// The metric of SciPy's name (`minkowski` has SciPy's default `p = 2`), or `None`.
    pub fn from_name(name: &str) -> Option<Metric> {
        Some(match name {
            "euclidean" => Metric::Euclidean,
            "sqeuclidean" => Metric::SqEuclidean,
            "cityblock" => Metric::Cityblock,
            "minkowski" => Metric::Minkowski(2.0),
            "chebyshev" => Metric::Chebyshev,
            "cosine" => Metric::Cosine,
            "correlation" => Metric::Correlation,
            "hamming" => Metric::Hamming,
            "jaccard" => Metric::Jaccard,
            "braycurtis" => Metric::BrayCurtis,
            "canberra" => Metric::Canberra,
            _ => return None,
        })
    }

    /// Whether the metric's map step is a matrix product.
    pub fn uses_gemm(self) -> bool {
        matches!(
            self,
            Metric::Euclidean | Metric::SqEuclidean | Metric::Cosine | Metric::Correlation
        )
    }
}

/// The partial state of one pair of row blocks: per-pair sums (and, for some metrics,
/// per-row sums), as matrices.
#[derive(Clone, Debug)]
struct State(Vec<Array2<f64>>);

/// `out (+)= alpha x y^T` for `x` (rows a) and `y` (rows b), by faer, sequential (tasks
/// already run in parallel).
fn gemm_xyt_into(
    out: &mut Array2<f64>,
    x: ArrayView2<'_, f64>,
    y: ArrayView2<'_, f64>,
    alpha: f64,
    add: bool,
) {
    let (x, y) = (x.as_standard_layout(), y.as_standard_layout());
    matmul_into(view_mut(out), view(&x), view(&y).transpose(), alpha, add);
}

/// The state of several column chunks (`x` and `y` pieces, chunk by chunk): the map step
/// of those chunks fused with their first combine. f32 blocks stay f32 for the direct
/// metrics; the GEMM metrics compute in f64.
fn map_state(
    metric: Metric,
    xs: &[Arc<DynArray>],
    ys: &[Arc<DynArray>],
    symmetric: bool,
) -> std::result::Result<State, String> {
    if !metric.uses_gemm() && xs.iter().chain(ys).all(|b| b.dtype() == DType::F32) {
        return Ok(direct_state::<f32>(
            metric,
            &views(xs)?,
            &views(ys)?,
            symmetric,
        ));
    }
    let (xs, ys) = (views::<f64>(xs)?, views::<f64>(ys)?);
    Ok(if metric.uses_gemm() {
        gemm_state(metric, &xs, &ys, symmetric)
    } else {
        direct_state(metric, &xs, &ys, symmetric)
    })
}

/// The blocks as 2-d views of `T`.
fn views<T: chunkwise_ir::Element>(
    blocks: &[Arc<DynArray>],
) -> std::result::Result<Vec<ArrayView2<'_, T>>, String> {
    blocks
        .iter()
        .map(|a| {
            let t = a
                .as_typed::<T>()
                .ok_or_else(|| format!("expected {} data, got {}", T::DTYPE, a.dtype()))?;
            t.view()
                .into_dimensionality::<Ix2>()
                .map_err(|e| e.to_string())
        })
        .collect()
}

/// The GEMM metrics' state of several column chunks: the products accumulate in place
/// (only the lower triangle, mirrored, when `symmetric`: the pieces of `x` and `y` are the
/// same).
fn gemm_state(
    metric: Metric,
    xs: &[ArrayView2<'_, f64>],
    ys: &[ArrayView2<'_, f64>],
    symmetric: bool,
) -> State {
    let sq = |m: &ArrayView2<'_, f64>| m.map_axis(Axis(1), |r| r.dot(&r));
    let (a, b) = (xs[0].nrows(), ys[0].nrows());
    let norms = || {
        let mut nx = ndarray::Array1::<f64>::zeros(a);
        let mut ny = ndarray::Array1::<f64>::zeros(b);
        for (x, y) in xs.iter().zip(ys) {
            nx += &sq(x);
            ny += &sq(y);
        }
        (nx, ny)
    };
    let products = |alpha: f64| {
        let mut out = Array2::<f64>::zeros((a, b));
        if symmetric {
            // x against itself: the lower triangle by faer's triangular product (half the
            // work), mirrored.
            for (k, x) in xs.iter().enumerate() {
                let x = x.as_standard_layout();
                faer::linalg::matmul::triangular::matmul(
                    view_mut(&mut out),
                    faer::linalg::matmul::triangular::BlockStructure::TriangularLower,
                    if k > 0 {
                        faer::Accum::Add
                    } else {
                        faer::Accum::Replace
                    },
                    view(&x),
                    faer::linalg::matmul::triangular::BlockStructure::Rectangular,
                    view(&x).transpose(),
                    faer::linalg::matmul::triangular::BlockStructure::Rectangular,
                    alpha,
                    faer::Par::Seq,
                );
            }
            for i in 0..a {
                for j in i + 1..a {
                    out[[i, j]] = out[[j, i]];
                }
            }
        } else {
            for (k, (x, y)) in xs.iter().zip(ys).enumerate() {
                gemm_xyt_into(&mut out, x.view(), y.view(), alpha, k > 0);
            }
        }
        out
    };
    match metric {
        Metric::Euclidean | Metric::SqEuclidean => {
            // |x|^2 + |y|^2 - 2 x.y: products scaled in the GEMM, norms added in one pass.
            let mut s = products(-2.0);
            let (nx, ny) = norms();
            for (mut row, &p) in s.rows_mut().into_iter().zip(nx.iter()) {
                row.zip_mut_with(&ny, |v, &q| *v += p + q);
            }
            State(vec![s])
        }
        Metric::Cosine | Metric::Correlation => {
            let (nx, ny) = norms();
            State(vec![
                products(1.0),
                nx.insert_axis(Axis(1)),
                ny.insert_axis(Axis(1)),
            ])
        }
        _ => direct_state(metric, xs, ys, symmetric),
    }
}

/// The state of several column chunks for the metrics computed entry by entry, by the
/// micro-kernels of [`kernel`], merged in place chunk after chunk (the upper triangle only
/// when `symmetric`, mirrored).
fn direct_state<T: kernel::Real>(
    metric: Metric,
    xs: &[ArrayView2<'_, T>],
    ys: &[ArrayView2<'_, T>],
    symmetric: bool,
) -> State {
    let (a, b) = (xs[0].nrows(), ys[0].nrows());
    let mut out = vec![Array2::<f64>::zeros((a, b)); kernel::states(metric)];
    for (x, y) in xs.iter().zip(ys) {
        kernel::accumulate(metric, x.view(), y.view(), symmetric, &mut out);
    }
    State(out)
}

fn combine(metric: Metric, parts: &[Arc<State>]) -> State {
    let mut out = parts[0].as_ref().clone();
    for p in &parts[1..] {
        for (a, b) in out.0.iter_mut().zip(&p.0) {
            if metric == Metric::Chebyshev {
                a.zip_mut_with(b, |u, &v| *u = u.max(v));
            } else {
                *a += b;
            }
        }
    }
    out
}

/// `v`, with a negative value (rounding of a sum that cancels) made 0; NaN stays NaN
/// (`f64::max` would make it 0).
fn clamp_rounding(v: f64) -> f64 {
    if v < 0.0 {
        0.0
    } else {
        v
    }
}

fn finalize(metric: Metric, s: &State, features: usize, diagonal: bool) -> ArrayD<f64> {
    let c = &s.0;
    let mut d = match metric {
        Metric::SqEuclidean => c[0].mapv(clamp_rounding),
        Metric::Euclidean => c[0].mapv(|v| clamp_rounding(v).sqrt()),
        Metric::Cityblock | Metric::Chebyshev | Metric::Canberra => c[0].clone(),
        Metric::Minkowski(p) => c[0].mapv(|v| v.powf(1.0 / p)),
        Metric::Cosine | Metric::Correlation => {
            let mut d = c[0].clone();
            for ((i, j), v) in d.indexed_iter_mut() {
                // 0 / 0 (a zero row, or a constant row centred) and NaN entries give NaN;
                // `clamp` keeps NaN. SciPy clips the cosine to [-1, 1], so the distance to
                // [0, 2].
                *v = (1.0 - *v / (c[1][[i, 0]] * c[2][[j, 0]]).sqrt()).clamp(0.0, 2.0);
            }
            d
        }
        Metric::Hamming => c[0].mapv(|v| v / features as f64),
        Metric::Jaccard => {
            ndarray::Zip::from(&c[0])
                .and(&c[1])
                .map_collect(|&n, &t| if t == 0.0 { 0.0 } else { n / t })
        }
        Metric::BrayCurtis => ndarray::Zip::from(&c[0])
            .and(&c[1])
            .map_collect(|&n, &t| n / t),
    };
    if diagonal {
        // The GEMM's rounding noise on the diagonal of `x` against itself: exactly 0, where
        // the distance is defined (a NaN or, for cosine and correlation, a zero row keeps
        // its NaN, as in SciPy's `cdist(x, x)`).
        d.diag_mut()
            .mapv_inplace(|v| if v.is_nan() { v } else { 0.0 });
    }
    d.into_dyn()
}

/// Distances between the rows of `x` and the rows of `y` (`None`: `x` against itself), as an
/// `n x m` array chunked by `x`'s and `y`'s row blocks. Both must be 2-d with the same
/// number of columns; `y` takes `x`'s column chunks. The GEMM metrics cast the input to f64;
/// the direct metrics compute f32 input (both `x` and `y` f32) in f32 within a column panel
/// of 512 entries and sum the panels in f64 (about 1e-7 relative error), anything else in
/// f64.
pub fn pairwise_distance(x: &Array, y: Option<&Array>, metric: Metric) -> Result<Array> {
    if let Metric::Minkowski(p) = metric {
        if p.is_nan() || p < 1.0 {
            return Err(
                IrError::InvalidArgument(format!("minkowski needs p >= 1, not {p}")).into(),
            );
        }
    }
    // The direct metrics compute f32 input in f32 (twice the vector lanes); everything
    // else in f64.
    let dtype = if !metric.uses_gemm()
        && x.dtype() == DType::F32
        && y.is_none_or(|y| y.dtype() == DType::F32)
    {
        DType::F32
    } else {
        DType::F64
    };
    let prep = |a: &Array| -> Result<Array> {
        let a = a.real_matrix("pairwise_distance (rows are vectors)", dtype)?;
        if metric == Metric::Correlation {
            // Correlation is the cosine of rows centred on their means. A constant row
            // (min == max) is centred on its value, to exact zeros: its correlation is
            // 0 / 0, NaN, however the mean rounds.
            let mean = a.mean(Some(&[1]), true)?;
            let (lo, hi) = (a.min(Some(&[1]), true)?, a.max(Some(&[1]), true)?);
            let mean = Array::where_(lo.eq(&hi)?, &lo, &mean)?;
            return a.try_sub(&mean);
        }
        Ok(a)
    };
    let xa = prep(x)?;
    let ya = match y {
        None => xa.clone(),
        Some(y) => {
            let y = prep(y)?;
            if y.shape()[1] != xa.shape()[1] {
                return Err(IrError::ShapeMismatch(format!(
                    "x has {} columns, y has {}",
                    xa.shape()[1],
                    y.shape()[1]
                ))
                .into());
            }
            let xc = xa.chunks()?.axis(1).lengths();
            let yr = y.chunks()?.axis(0).lengths();
            y.rechunk_explicit(&[yr, xc])?
        }
    };
    let same = y.is_none();
    let features = xa.shape()[1] as usize;
    let xn = xa.chunks()?.num_blocks();
    let yn = ya.chunks()?.num_blocks();
    let mut parts: Vec<Delayed<ArrayD<f64>>> = Vec::with_capacity((xn[0] * yn[0]) as usize);
    for i in 0..xn[0] {
        for j in 0..yn[0] {
            if same && j < i {
                // Every metric is symmetric: below the diagonal, mirror the block above it.
                let above = parts[(j * yn[0] + i) as usize].clone();
                parts.push(call1(
                    "mirror",
                    |d: &ArrayD<f64>| d.t().as_standard_layout().into_owned(),
                    &above,
                ));
                continue;
            }
            // The map step, fused with the first combine level: one task per group of
            // COMBINE column chunks.
            let symmetric = same && i == j;
            let ks: Vec<u64> = (0..xn[1]).collect();
            let mut states: Vec<Delayed<State>> = ks
                .chunks(COMBINE)
                .map(|group| -> Result<Delayed<State>> {
                    let xb = group
                        .iter()
                        .map(|&k| xa.block(&[i, k]))
                        .collect::<Result<Vec<_>>>()?;
                    let yb = group
                        .iter()
                        .map(|&k| ya.block(&[j, k]))
                        .collect::<Result<Vec<_>>>()?;
                    Ok(try_call2(
                        metric.name(),
                        move |a: &Vec<Arc<DynArray>>,
                              b: &Vec<Arc<DynArray>>|
                              -> std::result::Result<State, String> {
                            map_state(metric, a, b, symmetric)
                        },
                        gather("x-chunks", &xb),
                        gather("y-chunks", &yb),
                    ))
                })
                .collect::<Result<_>>()?;
            while states.len() > 1 {
                states = states
                    .chunks(COMBINE)
                    .map(|c| {
                        if c.len() == 1 {
                            return c[0].clone();
                        }
                        call1(
                            "combine",
                            move |s: &Vec<Arc<State>>| combine(metric, s),
                            gather("states", c),
                        )
                    })
                    .collect();
            }
            // Only the GEMM metrics need the diagonal set (the others compute it exactly,
            // NaN where SciPy's cdist has NaN).
            let diagonal = same && i == j && metric.uses_gemm();
            parts.push(call1(
                "finalize",
                move |s: &State| finalize(metric, s, features, diagonal),
                &states[0],
            ));
        }
    }
    let rows_x = xa.chunks()?.axis(0).lengths();
    let rows_y = ya.chunks()?.axis(0).lengths();
    Array::from_delayed(&parts, &[rows_x, rows_y])
}

/// The condensed distance vector of `x` against itself (SciPy's `pdist`): the upper
/// triangle of [`pairwise_distance`] in row order, `n (n - 1) / 2` values.
pub fn pdist(x: &Array, metric: Metric) -> Result<ndarray::Array1<f64>> {
    let full = pairwise_distance(x, None, metric)?.compute::<f64>()?;
    let n = full.shape()[0];
    let mut out = Vec::with_capacity(n * n.saturating_sub(1) / 2);
    for i in 0..n {
        for j in i + 1..n {
            out.push(full[[i, j]]);
        }
    }
    Ok(ndarray::Array1::from(out))
}
