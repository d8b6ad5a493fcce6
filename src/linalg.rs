//! Linear algebra on tall-and-skinny and short-and-fat chunked arrays: TSQR, QR, SVD and a
//! randomized truncated SVD (`svd_compressed`). Every in-chunk factorization runs in faer.
//!
//! **TSQR** (direct, as in Benson, Gleich and Demmel; Dask's `tsqr`): each row block is
//! factored, `A_i = Q_i R_i`; the `R_i` are stacked and factored again, in groups of at most
//! [`TSQR_FAN_IN`] (so the stacked factors never grow with the number of blocks: a tree of
//! levels); the final `Q` block `i` is `Q_i` times its slices of the group factors above it.
//!
//! ```
//! use chunkwise::{linalg, Array};
//! let a = Array::random_uniform(&[1000, 5], &[100, 5], 3).unwrap();
//! let (q, r) = linalg::tsqr(&a).unwrap();
//! let back = q.matmul(&r).unwrap().compute::<f64>().unwrap();
//! let orig = a.compute::<f64>().unwrap();
//! assert!(back.iter().zip(orig.iter()).all(|(x, y)| (x - y).abs() < 1e-12));
//! ```

use crate::delayed::{call1, call2, gather, try_call1, Delayed};
use crate::error::Result;
use crate::{Array, DType};
use chunkwise_ir::{DynArray, IrError};
use ndarray::{s, Array1, Array2, ArrayD, Ix2};
use std::sync::Arc;

/// Most `R` factors stacked and factored together in one TSQR step.
pub const TSQR_FAN_IN: usize = 16;

type Mat2 = Array2<f64>;

fn to_faer(a: &Mat2) -> faer::Mat<f64> {
    faer::Mat::from_fn(a.nrows(), a.ncols(), |i, j| a[[i, j]])
}

fn from_faer(m: faer::MatRef<'_, f64>) -> Mat2 {
    Array2::from_shape_fn((m.nrows(), m.ncols()), |(i, j)| m[(i, j)])
}

/// Thin QR of a block: `(Q, R)` with `Q` of shape `(n, min(n, k))`.
fn qr_block(a: &Mat2) -> (Mat2, Mat2) {
    let m = to_faer(a);
    let qr = m.qr();
    (
        from_faer(qr.compute_thin_Q().as_ref()),
        from_faer(qr.thin_R()),
    )
}

/// Thin SVD: `(U, s, Vt)`.
fn svd_block(a: &Mat2) -> std::result::Result<(Mat2, Array1<f64>, Mat2), String> {
    let m = to_faer(a);
    let svd = m
        .thin_svd()
        .map_err(|e| format!("the SVD did not converge: {e:?}"))?;
    let s = svd.S().column_vector();
    let s = Array1::from_shape_fn(s.nrows(), |i| s[i]);
    Ok((from_faer(svd.U()), s, from_faer(svd.V()).reversed_axes()))
}

fn block_2d(a: &DynArray) -> std::result::Result<Mat2, String> {
    a.as_typed::<f64>()
        .ok_or_else(|| format!("expected f64 data, got {}", a.dtype()))?
        .to_owned()
        .into_dimensionality::<Ix2>()
        .map_err(|e| e.to_string())
}

/// Row blocks of `a` (2-d, f64, one column chunk) as delayed matrices.
fn row_blocks(a: &Array) -> Result<Vec<Delayed<Mat2>>> {
    Ok(a.to_delayed_blocks()?
        .iter()
        .map(|b| try_call1("block", block_2d, b))
        .collect())
}

/// `a` as f64 with all its columns in one chunk; an error unless 2-d.
fn tall(a: &Array, what: &str) -> Result<Array> {
    let a = a.f64_matrix(what)?;
    let rows = a.chunks()?.axis(0).lengths();
    let cols = a.shape()[1];
    if a.chunks()?.axis(1).num_blocks() == 1 {
        return Ok(a);
    }
    a.rechunk_explicit(&[rows, vec![cols]])
}

/// One TSQR level: the Q transforms (one per input factor, mapping its rows) and the R of the
/// level above, recursively. Returns per input factor the matrix its Q must be multiplied by,
/// and the final R.
fn tsqr_tree(rs: Vec<Delayed<Mat2>>) -> (Vec<Delayed<Mat2>>, Delayed<Mat2>) {
    if rs.len() == 1 {
        let r = rs.into_iter().next().expect("one factor");
        let eye = call1("identity", |r: &Mat2| Mat2::eye(r.nrows()), &r);
        return (vec![eye], r);
    }
    // Factor each group of stacked Rs.
    let mut group_q = Vec::new();
    let mut group_r = Vec::new();
    for group in rs.chunks(TSQR_FAN_IN) {
        let qr = call1(
            "qr-stacked",
            |parts: &Vec<Arc<Mat2>>| {
                let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
                let stacked = ndarray::concatenate(ndarray::Axis(0), &views).expect("equal widths");
                let (q, r) = qr_block(&stacked);
                let rows: Vec<usize> = parts.iter().map(|p| p.nrows()).collect();
                (q, r, rows)
            },
            gather("stack", group),
        );
        group_q.push(qr.clone());
        group_r.push(call1("r", |x: &(Mat2, Mat2, Vec<usize>)| x.1.clone(), &qr));
    }
    let (above, r) = tsqr_tree(group_r);
    // Each factor's transform: its slice of the group Q times the group's transform above.
    let mut out = Vec::with_capacity(rs.len());
    for (g, (qr, t)) in group_q.iter().zip(&above).enumerate() {
        let members = rs.len().min((g + 1) * TSQR_FAN_IN) - g * TSQR_FAN_IN;
        for m in 0..members {
            out.push(call2(
                "q-slice",
                move |qr: &(Mat2, Mat2, Vec<usize>), t: &Mat2| {
                    let start: usize = qr.2[..m].iter().sum();
                    qr.0.slice(s![start..start + qr.2[m], ..]).dot(t)
                },
                qr,
                t,
            ));
        }
    }
    (out, r)
}

/// Direct TSQR of a tall-and-skinny array (rows chunked; columns are gathered into one
/// chunk): `a = q r` with `q` (same row chunks as `a`, orthonormal columns) and `r` upper
/// triangular, square when every row block has at least as many rows as `a` has columns.
pub fn tsqr(a: &Array) -> Result<(Array, Array)> {
    let a = tall(a, "tsqr")?;
    let k = a.shape()[1];
    let blocks = row_blocks(&a)?;
    let leaf: Vec<Delayed<(Mat2, Mat2)>> =
        blocks.iter().map(|b| call1("qr", qr_block, b)).collect();
    let rs: Vec<Delayed<Mat2>> = leaf
        .iter()
        .map(|f| call1("r", |x: &(Mat2, Mat2)| x.1.clone(), f))
        .collect();
    let (transforms, r) = tsqr_tree(rs);
    let q_parts: Vec<Delayed<ArrayD<f64>>> = leaf
        .iter()
        .zip(&transforms)
        .map(|(f, t)| {
            call2(
                "q",
                |f: &(Mat2, Mat2), t: &Mat2| f.0.dot(t).into_dyn(),
                f,
                t,
            )
        })
        .collect();
    // Q has min(n, k) columns (row blocks shorter than k are fine: their factors are short).
    let rank = k.min(a.shape()[0]);
    let rows = a.chunks()?.axis(0).lengths();
    let q = Array::from_delayed(&q_parts, &[rows, vec![rank]])?;
    let r_part = call1("r-final", |r: &Mat2| r.clone().into_dyn(), &r);
    let r = Array::from_delayed(&[r_part], &[vec![rank], vec![k]])?;
    Ok((q, r))
}

/// QR of a tall-and-skinny array; see [`tsqr`].
pub fn qr(a: &Array) -> Result<(Array, Array)> {
    tsqr(a)
}

/// Thin SVD `a = u diag(s) vt` of a tall-and-skinny (TSQR, then the SVD of `R`) or
/// short-and-fat array (the same on the transpose). Singular values come in nonincreasing
/// order; `u` keeps `a`'s row chunks.
pub fn svd(a: &Array) -> Result<(Array, Array, Array)> {
    let a = a.f64_matrix("svd")?;
    let (n, k) = (a.shape()[0], a.shape()[1]);
    if n < k {
        // Short and fat: a^T = v s u^T.
        let at = a.t()?;
        let rows = at.chunks()?.axis(0).lengths();
        let at = at.rechunk_explicit(&[rows, vec![n]])?;
        let (u, s, vt) = svd(&at)?;
        return Ok((vt.t()?, s, u.t()?));
    }
    let (q, r) = tsqr(&a)?;
    let f = try_call1(
        "svd",
        |r: &DynArray| svd_block(&block_2d(r)?),
        r.to_delayed()?,
    );
    let m = r.shape()[0];
    let ur = call1(
        "u-r",
        |f: &(Mat2, Array1<f64>, Mat2)| f.0.clone().into_dyn(),
        &f,
    );
    let s = call1(
        "s",
        |f: &(Mat2, Array1<f64>, Mat2)| f.1.clone().into_dyn(),
        &f,
    );
    let vt = call1(
        "vt",
        |f: &(Mat2, Array1<f64>, Mat2)| f.2.clone().into_dyn(),
        &f,
    );
    let ur = Array::from_delayed(&[ur], &[vec![m], vec![m.min(k)]])?;
    let u = q.matmul(&ur)?;
    let s = Array::from_delayed(&[s], &[vec![m.min(k)]])?;
    let vt = Array::from_delayed(&[vt], &[vec![m.min(k)], vec![k]])?;
    Ok((u, s, vt))
}

/// Options of [`svd_compressed`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CompressedSvd {
    /// Power iterations (each one more pass over the input each way; 2 is usual).
    pub n_power_iter: usize,
    /// Extra sampled directions beyond `k` (10 is usual).
    pub n_oversamples: usize,
    /// Seed of the random test matrix.
    pub seed: u64,
    /// Recompute the input in every pass (each pass is its own run, streaming through the
    /// input block by block) instead of computing it once and holding it in memory between
    /// passes. For inputs larger than memory, that are cheap to recompute or read again.
    pub recompute_input: bool,
}

impl Default for CompressedSvd {
    fn default() -> Self {
        CompressedSvd {
            n_power_iter: 2,
            n_oversamples: 10,
            seed: 0,
            recompute_input: false,
        }
    }
}

/// A block as f64 (cast inside the task, so the input may stay in a smaller type).
fn block_f64(b: &DynArray) -> std::result::Result<Mat2, String> {
    let b = if b.dtype() == DType::F64 {
        b.clone()
    } else {
        chunkwise_ir::with_array!(b, a => DynArray::new(a.mapv(|v| chunkwise_ir::Element::to_scalar(v).as_f64())))
    };
    block_2d(&b)
}

/// A faer view of a standard-layout matrix (no copy).
pub(crate) fn view<'a>(x: &'a ndarray::CowArray<'_, f64, Ix2>) -> faer::MatRef<'a, f64> {
    faer::MatRef::from_row_major_slice(x.as_slice().expect("standard layout"), x.nrows(), x.ncols())
}

/// `out = alpha lhs rhs` (or `out += ...` with `add`), by faer, sequential: the matrix
/// routines call it inside tasks that already run in parallel.
pub(crate) fn matmul_into(
    out: &mut Mat2,
    lhs: faer::MatRef<'_, f64>,
    rhs: faer::MatRef<'_, f64>,
    alpha: f64,
    add: bool,
) {
    let (r, c) = out.dim();
    let dst =
        faer::MatMut::from_row_major_slice_mut(out.as_slice_mut().expect("standard layout"), r, c);
    let accum = if add {
        faer::Accum::Add
    } else {
        faer::Accum::Replace
    };
    faer::linalg::matmul::matmul(dst, accum, lhs, rhs, alpha, faer::Par::Seq);
}

/// `x^T y` for `x` (rows r) and `y` (rows r).
fn xt_y(x: &Mat2, y: &Mat2) -> Mat2 {
    let (x, y) = (x.as_standard_layout(), y.as_standard_layout());
    let mut out = Mat2::zeros((x.ncols(), y.ncols()));
    matmul_into(&mut out, view(&x).transpose(), view(&y), 1.0, false);
    out
}

/// `x y`.
fn x_y(x: &Mat2, y: &Mat2) -> Mat2 {
    let (x, y) = (x.as_standard_layout(), y.as_standard_layout());
    let mut out = Mat2::zeros((x.nrows(), y.ncols()));
    matmul_into(&mut out, view(&x), view(&y), 1.0, false);
    out
}

/// One pass of the randomized SVD over the row blocks of `a`: `A M` (row blocks, as an
/// array with `a`'s row chunks) for an in-memory `M`.
fn times_small(a: &Array, m: &Arc<Mat2>) -> Result<Array> {
    let blocks = a.to_delayed_blocks()?;
    let parts: Vec<Delayed<ArrayD<f64>>> = blocks
        .iter()
        .map(|b| {
            let m = m.clone();
            try_call1(
                "a-times-m",
                move |b: &DynArray| Ok::<_, String>(x_y(&block_f64(b)?, &m).into_dyn()),
                b,
            )
        })
        .collect();
    let rows = a.chunks()?.axis(0).lengths();
    Array::from_delayed(&parts, &[rows, vec![m.ncols() as u64]])
}

/// `A^T Q` for an in-memory `Q` with `a`'s rows: per row block `A_i^T Q_i`, summed by a
/// tree of tasks (no task holds more than one block of `A`).
fn t_times(a: &Array, q: &Mat2) -> Result<Mat2> {
    let rows = a.chunks()?.axis(0).lengths();
    let blocks = a.to_delayed_blocks()?;
    let mut start = 0usize;
    let mut parts: Vec<Delayed<Mat2>> = Vec::with_capacity(blocks.len());
    for (b, &len) in blocks.iter().zip(&rows) {
        let qi = Arc::new(q.slice(s![start..start + len as usize, ..]).to_owned());
        start += len as usize;
        parts.push(try_call1(
            "at-q",
            move |b: &DynArray| Ok::<_, String>(xt_y(&block_f64(b)?, &qi)),
            b,
        ));
    }
    while parts.len() > 1 {
        parts = parts
            .chunks(4)
            .map(|c| {
                call1(
                    "sum",
                    |v: &Vec<Arc<Mat2>>| {
                        v.iter()
                            .skip(1)
                            .fold(v[0].as_ref().clone(), |acc, m| acc + m.as_ref())
                    },
                    gather("products", c),
                )
            })
            .collect();
    }
    Ok(parts[0].compute()?.as_ref().clone())
}

/// Orthonormal basis of the columns of a tall array (TSQR), in memory.
fn orth(y: &Array) -> Result<Mat2> {
    let q = tsqr(y)?.0.compute::<f64>()?;
    q.into_dimensionality::<Ix2>()
        .map_err(|e| IrError::InvalidArgument(e.to_string()).into())
}

/// Randomized truncated SVD (Halko, Martinsson and Tropp; Dask's `svd_compressed`): the top
/// `k` singular triplets of a tall array from `Y = A Omega` (Gaussian `Omega`), power
/// iterations `Y = A (A^T Q)` with re-orthonormalization (TSQR for the tall factors)
/// between products, and the SVD of the small `Q^T A`.
///
/// Every product with `A` is a pass over its row blocks in which each task reads one block
/// (cast to f64 inside the task) and small in-memory factors; `A^T Q` sums per-block
/// products by a tree. With [`CompressedSvd::recompute_input`], each pass is its own run,
/// so the input is recomputed (or re-read) block by block and never held whole; otherwise
/// the input is computed once and kept in memory for all passes.
pub fn svd_compressed(a: &Array, k: usize, opts: CompressedSvd) -> Result<(Array, Array, Array)> {
    if a.ndim() != 2 || k == 0 {
        return Err(IrError::InvalidArgument(format!(
            "svd_compressed takes a 2-d array and k >= 1 (shape {:?}, k {k})",
            a.shape()
        ))
        .into());
    }
    let (n, m) = (a.shape()[0], a.shape()[1]);
    if (k as u64) > n.min(m) {
        return Err(IrError::InvalidArgument(format!(
            "k = {k} is larger than the smaller side of shape {:?}",
            a.shape()
        ))
        .into());
    }
    // All columns in one chunk, so a row block is a full set of rows.
    let rows = a.chunks()?.axis(0).lengths();
    let a = if a.chunks()?.axis(1).num_blocks() == 1 {
        a.clone()
    } else {
        a.rechunk_explicit(&[rows.clone(), vec![m]])?
    };
    let a = if opts.recompute_input {
        a
    } else {
        let held = a.compute_dyn()?;
        Array::from_dyn(held, &[rows.iter().copied().max().unwrap_or(1), m])?
            .rechunk_explicit(&[rows.clone(), vec![m]])?
    };
    let l = (k + opts.n_oversamples).min(n.min(m) as usize);
    let omega =
        Array::random_normal(&[m, l as u64], &[m, l as u64], opts.seed)?.compute::<f64>()?;
    let omega = Arc::new(omega.into_dimensionality::<Ix2>().expect("2-d"));
    let mut q = orth(&times_small(&a, &omega)?)?;
    for _ in 0..opts.n_power_iter {
        let z = t_times(&a, &q)?;
        let (qz, _) = qr_block(&z);
        q = orth(&times_small(&a, &Arc::new(qz))?)?;
    }
    // B = Q^T A is l x m (small); its SVD gives the factors.
    let b = t_times(&a, &q)?.reversed_axes();
    let (ub, s_all, vt_all) = svd_block(&b).map_err(IrError::InvalidArgument)?;
    let u = x_y(&q, &ub.slice(s![.., ..k]).to_owned());
    let u = Array::from_ndarray(u, &[rows.iter().copied().max().unwrap_or(1), k as u64])?
        .rechunk_explicit(&[rows, vec![k as u64]])?;
    let s = Array::from_ndarray(s_all.slice(s![..k]).to_owned(), &[k as u64])?;
    let vt = Array::from_ndarray(vt_all.slice(s![..k, ..]).to_owned(), &[k as u64, m])?;
    Ok((u, s, vt))
}
