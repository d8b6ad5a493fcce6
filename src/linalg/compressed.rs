//! The randomized truncated SVD ([`svd_compressed`]) and its passes over the input.
//!
//! Every product with the input `A` is one pass over its rows. A task reads one *piece* of
//! rows ([`Pieces`]) and multiplies it, slab by slab ([`for_each_row_slab`]), with a
//! small in-memory factor, in f32 for f32 inputs (as NumPy and Dask do) and in f64
//! otherwise; the small factorizations between passes are in f64.

use super::{matmul_into, qr_block, svd_block, tsqr, view, view_mut, Mat2};
use crate::delayed::{call1, compute_many, gather, try_call1, value, Delayed};
use crate::error::Result;
use crate::{Array, DType, SliceArg};
use chunkwise_ir::{DynArray, IrError};
use ndarray::{s, Array2, ArrayD, Ix2, ShapeBuilder};
use std::sync::Arc;

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
    /// input piece by piece) instead of computing it once and holding it in memory between
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

/// Bytes of one row slab read by [`for_each_row_slab`] in the passes: small enough to stay in cache, large
/// enough for an efficient matrix product.
const SLAB_BYTES: usize = 4 << 20;

/// Bytes (counted as f64) of the row pieces that the passes read when the input is cheap
/// to slice (see [`Pieces::of`]).
const PIECE_BYTES: u64 = 8 << 20;

/// Element types read as floats by the passes (NumPy's `astype`).
pub(super) trait AsF64: Copy {
    fn as_f64(self) -> f64;
}

macro_rules! as_f64 {
    ($($t:ty),*) => {$(
        impl AsF64 for $t {
            #[inline(always)]
            fn as_f64(self) -> f64 {
                self as f64
            }
        }
    )*};
}
as_f64!(i8, u8, i16, u16, i32, u32, i64, u64, f32, f64);

impl AsF64 for bool {
    #[inline(always)]
    fn as_f64(self) -> f64 {
        f64::from(u8::from(self))
    }
}

/// The float types that products with the input are computed in.
pub(super) trait Real: AsF64 + chunkwise_ir::Element + faer::traits::ComplexField {
    fn of(v: f64) -> Self;
}

impl Real for f32 {
    #[inline(always)]
    fn of(v: f64) -> f32 {
        v as f32
    }
}

impl Real for f64 {
    #[inline(always)]
    fn of(v: f64) -> f64 {
        v
    }
}

/// Calls `f(first_row, slab)` for consecutive row slabs of a 2-d block of any dtype, each as a
/// row-major matrix of `T` of at most `slab_bytes` (at least one row). A block of `T` in standard layout is
/// read in place; any other block is cast slab by slab into one reused buffer, so a task
/// never allocates a cast copy of its whole block.
fn for_each_row_slab<T: Real>(
    b: &DynArray,
    slab_bytes: usize,
    mut f: impl FnMut(usize, faer::MatRef<'_, T>),
) -> std::result::Result<(), String> {
    let &[rows, cols] = b.shape() else {
        return Err(format!("expected a 2-d block, got shape {:?}", b.shape()));
    };
    let slab = (slab_bytes / std::mem::size_of::<T>() / cols.max(1)).clamp(1, rows.max(1));
    if let Some(s) = b.as_typed::<T>().and_then(|a| a.as_slice()) {
        for r0 in (0..rows).step_by(slab) {
            let r1 = (r0 + slab).min(rows);
            f(
                r0,
                faer::MatRef::from_row_major_slice(&s[r0 * cols..r1 * cols], r1 - r0, cols),
            );
        }
        return Ok(());
    }
    let mut buf = vec![T::of(0.0); slab * cols];
    chunkwise_ir::with_array!(b, a => {
        for r0 in (0..rows).step_by(slab) {
            let r1 = (r0 + slab).min(rows);
            let part = a.slice_axis(ndarray::Axis(0), ndarray::Slice::from(r0..r1));
            let out = &mut buf[..(r1 - r0) * cols];
            match part.as_slice() {
                Some(src) => out.iter_mut().zip(src).for_each(|(o, &v)| *o = T::of(v.as_f64())),
                None => out.iter_mut().zip(part.iter()).for_each(|(o, &v)| *o = T::of(v.as_f64())),
            }
            f(r0, faer::MatRef::from_row_major_slice(out, r1 - r0, cols));
        }
    }, complex => return Err(format!("a {} block is not a real matrix", b.dtype())));
    Ok(())
}

/// A matrix of `T` from an f64 one.
pub(super) fn to_real<T: Real>(m: ndarray::ArrayView2<'_, f64>) -> faer::Mat<T> {
    faer::Mat::from_fn(m.nrows(), m.ncols(), |i, j| T::of(m[[i, j]]))
}

/// A `rows x cols` product of `T`, computed by `f` into a zeroed column-major matrix (which
/// `f` may accumulate into: faer's kernels run best on a tall column-major destination),
/// returned as f64.
fn product<T: Real>(
    rows: usize,
    cols: usize,
    f: impl FnOnce(faer::MatMut<'_, T>) -> std::result::Result<(), String>,
) -> std::result::Result<Mat2, String> {
    let mut out = faer::Mat::<T>::zeros(rows, cols);
    f(out.as_mut())?;
    let data = (0..cols)
        .flat_map(|j| out.col_as_slice(j).iter().map(|v| v.as_f64()))
        .collect();
    Ok(Array2::from_shape_vec((rows, cols).f(), data).expect("length matches shape"))
}

/// `x m` for a piece `x` of the input (rows, any dtype).
fn piece_times<T: Real>(
    x: &DynArray,
    m: &faer::Mat<T>,
    slab_bytes: usize,
) -> std::result::Result<Mat2, String> {
    let rows = x.shape().first().copied().unwrap_or(0);
    product::<T>(rows, m.ncols(), |mut dst| {
        for_each_row_slab::<T>(x, slab_bytes, |r0, slab| {
            let dst = dst.as_mut().subrows_mut(r0, slab.nrows());
            faer::linalg::matmul::matmul(
                dst,
                faer::Accum::Replace,
                slab,
                m.as_ref(),
                T::of(1.0),
                faer::Par::Seq,
            );
        })
    })
}

/// `x^T q` for a piece `x` of the input and `q`, its rows of an in-memory matrix.
fn piece_t_times<T: Real>(
    x: &DynArray,
    q: &faer::Mat<T>,
    slab_bytes: usize,
) -> std::result::Result<Mat2, String> {
    let cols = x.shape().get(1).copied().unwrap_or(0);
    product::<T>(cols, q.ncols(), |mut dst| {
        for_each_row_slab::<T>(x, slab_bytes, |r0, slab| {
            faer::linalg::matmul::matmul(
                dst.as_mut(),
                faer::Accum::Add,
                slab.transpose(),
                q.as_ref().subrows(r0, slab.nrows()),
                T::of(1.0),
                faer::Par::Seq,
            );
        })
    })
}

/// Rows `start..start + len` of the input, as a delayed block.
struct Piece {
    start: usize,
    len: usize,
    rows: Delayed<DynArray>,
}

/// The input of the passes as delayed pieces of rows, grouped by row block.
struct Pieces {
    /// Per row block, its pieces.
    blocks: Vec<Vec<Piece>>,
    /// Rows per block.
    rows: Vec<u64>,
    dtype: DType,
}

impl Pieces {
    /// The pieces of a 2-d array with one column chunk. Held (`hold`), they are its blocks,
    /// computed once now. Otherwise each pass computes them again: a piece is a whole
    /// block, unless a slice of the array is computed by one layer from sources alone (a
    /// generated or held input, the slice pushed into its sources), so that a piece costs
    /// only its share of a block; then blocks are split in pieces of about
    /// [`PIECE_BYTES`], and no task allocates a whole block.
    fn of(a: &Array, hold: bool) -> Result<Pieces> {
        let rows = a.chunks()?.axis(0).lengths();
        let per = (PIECE_BYTES / (8 * a.shape()[1].max(1))).max(1);
        let rows_of =
            |r0: u64, r1: u64| a.slice(&[SliceArg::range(r0 as i64, r1 as i64), SliceArg::ALL]);
        let split = !hold
            && rows.iter().any(|&r| r > per)
            && rows_of(0, per.min(rows[0]))?.optimize()?.num_layers()? == 1;
        let blocks: Vec<Delayed<DynArray>> = if hold {
            compute_many(&a.to_delayed_blocks()?, &Default::default())?
                .into_iter()
                .map(|b| value("block", b.as_ref().clone()))
                .collect()
        } else if split {
            Vec::new()
        } else {
            a.to_delayed_blocks()?
        };
        let mut out = Vec::with_capacity(rows.len());
        let mut start = 0u64;
        for (i, &len) in rows.iter().enumerate() {
            let mut pieces = Vec::new();
            if split {
                for off in (0..len).step_by(per as usize) {
                    let end = (off + per).min(len);
                    pieces.push(Piece {
                        start: (start + off) as usize,
                        len: (end - off) as usize,
                        rows: rows_of(start + off, start + end)?.to_delayed()?,
                    });
                }
            } else {
                pieces.push(Piece {
                    start: start as usize,
                    len: len as usize,
                    rows: blocks[i].clone(),
                });
            }
            start += len;
            out.push(pieces);
        }
        Ok(Pieces {
            blocks: out,
            rows,
            dtype: a.dtype(),
        })
    }
}

/// One pass: `A M` (as an array with `a`'s row chunks) for an in-memory `M`.
fn times_small(a: &Pieces, m: &Mat2) -> Result<Array> {
    fn run<T: Real>(a: &Pieces, m: &Mat2) -> Vec<Delayed<ArrayD<f64>>> {
        let m = Arc::new(to_real::<T>(m.view()));
        a.blocks
            .iter()
            .map(|pieces| {
                let products: Vec<Delayed<Mat2>> = pieces
                    .iter()
                    .map(|p| {
                        let m = m.clone();
                        try_call1(
                            "a-times-m",
                            move |b: &DynArray| piece_times(b, &m, SLAB_BYTES),
                            &p.rows,
                        )
                    })
                    .collect();
                call1(
                    "stack",
                    |v: &Vec<Arc<Mat2>>| {
                        let views: Vec<_> = v.iter().map(|m| m.view()).collect();
                        ndarray::concatenate(ndarray::Axis(0), &views)
                            .expect("pieces of one block have equal widths")
                            .into_dyn()
                    },
                    gather("products", &products),
                )
            })
            .collect()
    }
    let parts = match a.dtype {
        DType::F32 => run::<f32>(a, m),
        _ => run::<f64>(a, m),
    };
    Array::from_delayed(&parts, &[a.rows.clone(), vec![m.ncols() as u64]])
}

/// One pass: `A^T Q` for an in-memory `Q` with `a`'s rows: per piece `A_i^T Q_i`, summed by
/// a tree of tasks.
fn t_times(a: &Pieces, q: &Mat2) -> Result<Mat2> {
    fn run<T: Real>(a: &Pieces, q: &Mat2) -> Vec<Delayed<Mat2>> {
        let mut parts = Vec::new();
        for p in a.blocks.iter().flatten() {
            let qi = to_real::<T>(q.slice(s![p.start..p.start + p.len, ..]));
            parts.push(try_call1(
                "at-q",
                move |b: &DynArray| piece_t_times(b, &qi, SLAB_BYTES),
                &p.rows,
            ));
        }
        parts
    }
    let mut parts = match a.dtype {
        DType::F32 => run::<f32>(a, q),
        _ => run::<f64>(a, q),
    };
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

/// `x y`.
fn x_y(x: &Mat2, y: &Mat2) -> Mat2 {
    let (x, y) = (x.as_standard_layout(), y.as_standard_layout());
    let mut out = Mat2::zeros((x.nrows(), y.ncols()));
    matmul_into(view_mut(&mut out), view(&x), view(&y), 1.0, false);
    out
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
/// Every product with `A` is a pass over its rows in which each task reads one piece of
/// rows and small in-memory factors; `A^T Q` sums per-piece products by a tree. A piece is a
/// row block, or a part of one when the input is generated or held in memory (a slice of it
/// is then as cheap as its share of a block). f32 inputs are multiplied in f32, as NumPy
/// and Dask do; all other inputs in f64. With [`CompressedSvd::recompute_input`], each pass
/// is its own run, so the input is recomputed (or re-read) piece by piece and never held
/// whole; otherwise the input is computed once and kept in memory for all passes.
///
/// ```
/// use chunkwise::{linalg::{svd_compressed, CompressedSvd}, Array};
/// let a = Array::random_uniform(&[2000, 30], &[500, 30], 1).unwrap();
/// let (u, s, vt) = svd_compressed(&a, 5, CompressedSvd::default()).unwrap();
/// assert_eq!((u.shape(), s.shape(), vt.shape()), (vec![2000, 5], vec![5], vec![5, 30]));
/// ```
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
    let a = Pieces::of(&a, !opts.recompute_input)?;
    let l = (k + opts.n_oversamples).min(n.min(m) as usize);
    let omega =
        Array::random_normal(&[m, l as u64], &[m, l as u64], opts.seed)?.compute::<f64>()?;
    let omega = omega.into_dimensionality::<Ix2>().expect("2-d");
    let mut q = orth(&times_small(&a, &omega)?)?;
    for _ in 0..opts.n_power_iter {
        let z = t_times(&a, &q)?;
        let (qz, _) = qr_block(&z);
        q = orth(&times_small(&a, &qz)?)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Products by slabs (of 1, 2 and all rows), of every input dtype and layout, equal
    /// plain f64 products.
    #[test]
    fn piece_products_match_f64_products() {
        let x = Array2::from_shape_fn((37, 5), |(i, j)| ((i * 7 + j * 3) % 11) as f64);
        let m = Array2::from_shape_fn((5, 3), |(i, j)| (i as f64) - 0.5 * j as f64);
        let q = Array2::from_shape_fn((37, 2), |(i, j)| ((i + j) % 5) as f64 * 0.25);
        let (xm, xtq) = (x.dot(&m), x.t().dot(&q));
        let inputs = [
            DynArray::new(x.clone().into_dyn()),
            DynArray::new(x.t().to_owned().reversed_axes().into_dyn()),
            DynArray::new(x.mapv(|v| v as f32).into_dyn()),
            DynArray::new(x.mapv(|v| v as u8).into_dyn()),
            DynArray::new(x.mapv(|v| v as i64).into_dyn()),
        ];
        for b in &inputs {
            for slab in [1, 80, SLAB_BYTES] {
                let what = format!("{} slab {slab}", b.dtype());
                let got = piece_times::<f64>(b, &to_real(m.view()), slab).unwrap();
                assert_eq!(got, xm, "{what}");
                let got = piece_times::<f32>(b, &to_real(m.view()), slab).unwrap();
                assert_eq!(got, xm, "{what} in f32");
                let got = piece_t_times::<f64>(b, &to_real(q.view()), slab).unwrap();
                assert_eq!(got, xtq, "{what}");
                let got = piece_t_times::<f32>(b, &to_real(q.view()), slab).unwrap();
                assert_eq!(got, xtq, "{what} in f32");
            }
        }
        let bad = DynArray::new(ndarray::ArrayD::<f64>::zeros(ndarray::IxDyn(&[2, 2, 2])));
        let err = piece_times::<f64>(&bad, &to_real(m.view()), SLAB_BYTES).unwrap_err();
        assert!(err.contains("2-d"), "{err}");
    }

    /// A generated input is split in pieces within its blocks; a held input, or one whose
    /// slices are not computed by one layer from sources, is read by whole blocks.
    #[test]
    fn pieces_split_generated_inputs_only() {
        let per = PIECE_BYTES / (8 * 10);
        let x = Array::random_uniform(&[3 * per + 5, 10], &[2 * per, 10], 1).unwrap();
        let counts = |p: &Pieces| p.blocks.iter().map(Vec::len).collect::<Vec<_>>();
        let split = Pieces::of(&x, false).unwrap();
        assert_eq!(counts(&split), vec![2, 2]);
        let spans: Vec<(usize, usize)> = split
            .blocks
            .iter()
            .flatten()
            .map(|p| (p.start, p.len))
            .collect();
        let per = per as usize;
        assert_eq!(
            spans,
            vec![(0, per), (per, per), (2 * per, per), (3 * per, 5)]
        );
        assert_eq!(counts(&Pieces::of(&x, true).unwrap()), vec![1, 1]);
        let centred = x.try_sub(x.mean(Some(&[0]), true).unwrap()).unwrap();
        assert_eq!(counts(&Pieces::of(&centred, false).unwrap()), vec![1, 1]);
    }

    /// With as many sampled directions as columns the range finder is exact, so held and
    /// recomputed (split) inputs, f64 and f32, give the singular values of the exact SVD.
    #[test]
    fn held_and_split_inputs_give_the_exact_singular_values() {
        let per = PIECE_BYTES / (8 * 10);
        let x = Array::random_uniform(&[3 * per + 5, 10], &[2 * per, 10], 7).unwrap();
        let exact = super::super::svd(&x).unwrap().1.compute::<f64>().unwrap();
        for (input, tol) in [(x.clone(), 1e-10), (x.astype(DType::F32).unwrap(), 1e-5)] {
            for recompute_input in [false, true] {
                let opts = CompressedSvd {
                    recompute_input,
                    ..CompressedSvd::default()
                };
                let s = svd_compressed(&input, 4, opts)
                    .unwrap()
                    .1
                    .compute::<f64>()
                    .unwrap();
                for (g, w) in s.iter().zip(exact.iter()) {
                    assert!(
                        (g - w).abs() <= tol * w,
                        "{g} vs {w} ({}, recompute {recompute_input})",
                        input.dtype()
                    );
                }
            }
        }
    }
}
