//! Contraction kernel (matmul, tensordot): two inputs multiplied and summed over the
//! contracted indices, with batch indices (in both inputs and the output) looped over.
//! Floats and complex numbers use `ndarray`'s GEMM (matrixmultiply's `sgemm`/`dgemm` and
//! `cgemm`/`zgemm`: complex products are not conjugated, as NumPy's `matmul`); integers a
//! wrapping loop.

use super::num::Num;
use crate::KernelError;
use chunkwise_ir::{with_dtype, DType, DynArray, Element, Sym};
use ndarray::{Array2, ArrayD, ArrayView2, Axis, IxDyn};

struct Plan {
    batch: Vec<Sym>,
    free_a: Vec<Sym>,
    free_b: Vec<Sym>,
    contr: Vec<Sym>,
}

fn plan(a: &[Sym], b: &[Sym], out: &[Sym]) -> Result<Plan, KernelError> {
    let mut p = Plan {
        batch: vec![],
        free_a: vec![],
        free_b: vec![],
        contr: vec![],
    };
    for &s in a {
        match (b.contains(&s), out.contains(&s)) {
            (true, true) => p.batch.push(s),
            (false, true) => p.free_a.push(s),
            (true, false) => p.contr.push(s),
            (false, false) => {
                return Err(KernelError::BadInput(format!(
                    "index {:?} of the first input is neither kept nor contracted",
                    s as char
                )))
            }
        }
    }
    for &s in b {
        match (a.contains(&s), out.contains(&s)) {
            (false, true) => p.free_b.push(s),
            (false, false) => {
                return Err(KernelError::BadInput(format!(
                    "index {:?} of the second input is neither kept nor contracted",
                    s as char
                )))
            }
            _ => {}
        }
    }
    Ok(p)
}

fn perm_of(ind: &[Sym], order: &[&[Sym]]) -> Vec<usize> {
    order
        .iter()
        .flat_map(|g| g.iter())
        .map(|s| {
            ind.iter()
                .position(|t| t == s)
                .expect("symbol belongs to input")
        })
        .collect()
}

fn matmul<T: Num + ndarray::LinalgScalar>(a: ArrayView2<T>, b: ArrayView2<T>) -> Array2<T> {
    if T::DTYPE.is_inexact() {
        return a.dot(&b);
    }
    let (m, k) = a.dim();
    let n = b.ncols();
    let mut c = Array2::<T>::zeros((m, n));
    for i in 0..m {
        for p in 0..k {
            let x = a[[i, p]];
            for j in 0..n {
                c[[i, j]] = Num::add(c[[i, j]], Num::mul(x, b[[p, j]]));
            }
        }
    }
    c
}

fn contract_typed<T: Num + ndarray::LinalgScalar>(
    pairs: &[(&DynArray, &DynArray)],
    ind_a: &[Sym],
    ind_b: &[Sym],
    out: &[Sym],
    out_shape: &[usize],
) -> Result<DynArray, KernelError> {
    let p = plan(ind_a, ind_b, out)?;
    let mut acc: Option<ArrayD<T>> = None;
    for (a, b) in pairs {
        let a = a.cast(T::DTYPE);
        let b = b.cast(T::DTYPE);
        let a = a.as_typed::<T>().expect("cast to T");
        let b = b.as_typed::<T>().expect("cast to T");
        let size = |arr: &ndarray::ArcArray<T, IxDyn>, ind: &[Sym], g: &[Sym]| -> usize {
            g.iter()
                .map(|s| arr.shape()[ind.iter().position(|t| t == s).expect("symbol belongs")])
                .product()
        };
        let nb = size(a, ind_a, &p.batch);
        let m = size(a, ind_a, &p.free_a);
        let k = size(a, ind_a, &p.contr);
        let k2 = size(b, ind_b, &p.contr);
        let n = size(b, ind_b, &p.free_b);
        if k != k2 {
            return Err(KernelError::BadInput(format!(
                "contracted lengths differ: {k} vs {k2}"
            )));
        }
        let pa = perm_of(ind_a, &[&p.batch, &p.free_a, &p.contr]);
        let pb = perm_of(ind_b, &[&p.batch, &p.contr, &p.free_b]);
        let av = a.view().permuted_axes(IxDyn(&pa));
        let bv = b.view().permuted_axes(IxDyn(&pb));
        let av = av.as_standard_layout();
        let bv = bv.as_standard_layout();
        let av = av
            .view()
            .into_shape_with_order((nb, m, k))
            .map_err(|e| KernelError::BadInput(e.to_string()))?;
        let bv = bv
            .view()
            .into_shape_with_order((nb, k, n))
            .map_err(|e| KernelError::BadInput(e.to_string()))?;
        let mut c = ndarray::Array3::<T>::zeros((nb, m, n));
        for i in 0..nb {
            c.index_axis_mut(Axis(0), i).assign(&matmul(
                av.index_axis(Axis(0), i),
                bv.index_axis(Axis(0), i),
            ));
        }
        // (batch, free_a, free_b) in their own shapes, then permuted to the output order.
        let mut dims: Vec<usize> = Vec::new();
        let mut syms: Vec<Sym> = Vec::new();
        for (g, arr, ind) in [
            (&p.batch, a, ind_a),
            (&p.free_a, a, ind_a),
            (&p.free_b, b, ind_b),
        ] {
            for s in g.iter() {
                dims.push(arr.shape()[ind.iter().position(|t| t == s).expect("symbol belongs")]);
                syms.push(*s);
            }
        }
        let c = c
            .into_shape_with_order(IxDyn(&dims))
            .map_err(|e| KernelError::BadInput(e.to_string()))?;
        let perm: Vec<usize> = out
            .iter()
            .map(|s| {
                syms.iter()
                    .position(|t| t == s)
                    .expect("output symbol is kept")
            })
            .collect();
        let c = c.permuted_axes(IxDyn(&perm));
        match &mut acc {
            None => acc = Some(c.as_standard_layout().into_owned()),
            Some(x) => x.zip_mut_with(&c, |x, &y| *x = Num::add(*x, y)),
        }
    }
    let acc = acc.unwrap_or_else(|| ArrayD::zeros(IxDyn(out_shape)));
    if acc.shape() != out_shape {
        return Err(KernelError::BadInput(format!(
            "contraction produced {:?}, expected {out_shape:?}",
            acc.shape()
        )));
    }
    Ok(Element::wrap(acc.into_shared()))
}

/// Sums `a_i · b_i` over the given pairs of blocks (one pair per block of the contracted
/// axes), in type `dtype`.
pub fn contract(
    dtype: DType,
    pairs: &[(&DynArray, &DynArray)],
    ind_a: &[Sym],
    ind_b: &[Sym],
    out: &[Sym],
    out_shape: &[usize],
) -> Result<DynArray, KernelError> {
    with_dtype!(dtype, T => contract_typed::<T>(pairs, ind_a, ind_b, out, out_shape),
        bool => Err(KernelError::BadInput("contraction of bool arrays".into())))
}
