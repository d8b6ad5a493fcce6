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
use crate::Array;
use chunkwise_ir::DynArray;
use ndarray::{s, Array1, Array2, ArrayD, Ix2};
use std::sync::Arc;

mod compressed;
pub use compressed::{svd_compressed, CompressedSvd};

/// Most `R` factors stacked and factored together in one TSQR step.
pub const TSQR_FAN_IN: usize = 16;

type Mat2 = Array2<f64>;

fn from_faer(m: faer::MatRef<'_, f64>) -> Mat2 {
    Array2::from_shape_fn((m.nrows(), m.ncols()), |(i, j)| m[(i, j)])
}

/// Thin QR of a block: `(Q, R)` with `Q` of shape `(n, min(n, k))`.
fn qr_block(a: &Mat2) -> (Mat2, Mat2) {
    let m = compressed::to_real::<f64>(a.view());
    let qr = m.qr();
    (
        from_faer(qr.compute_thin_Q().as_ref()),
        from_faer(qr.thin_R()),
    )
}

/// Thin SVD: `(U, s, Vt)`.
fn svd_block(a: &Mat2) -> std::result::Result<(Mat2, Array1<f64>, Mat2), String> {
    let m = compressed::to_real::<f64>(a.view());
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

/// A faer view of a standard-layout matrix (no copy).
pub(crate) fn view<'a>(x: &'a ndarray::CowArray<'_, f64, Ix2>) -> faer::MatRef<'a, f64> {
    faer::MatRef::from_row_major_slice(x.as_slice().expect("standard layout"), x.nrows(), x.ncols())
}

/// A mutable faer view of an owned (standard-layout) matrix.
pub(crate) fn view_mut(x: &mut Mat2) -> faer::MatMut<'_, f64> {
    let (r, c) = x.dim();
    faer::MatMut::from_row_major_slice_mut(x.as_slice_mut().expect("standard layout"), r, c)
}

/// `dst = alpha lhs rhs` (or `dst += ...` with `add`), by faer, sequential: the matrix
/// routines call it inside tasks that already run in parallel.
pub(crate) fn matmul_into(
    dst: faer::MatMut<'_, f64>,
    lhs: faer::MatRef<'_, f64>,
    rhs: faer::MatRef<'_, f64>,
    alpha: f64,
    add: bool,
) {
    let accum = if add {
        faer::Accum::Add
    } else {
        faer::Accum::Replace
    };
    faer::linalg::matmul::matmul(dst, accum, lhs, rhs, alpha, faer::Par::Seq);
}
