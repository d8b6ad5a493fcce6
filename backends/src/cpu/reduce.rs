//! Tree-reduction kernels: per-block states ([`chunk_state`]), their combination
//! ([`combine_states`]) and the final output block ([`finalize`]).
//!
//! A state is a list of arrays shaped like the block with the reduced axes of length 1:
//!
//! | op | components |
//! | --- | --- |
//! | sum, prod | accumulator: `i64` (bool and integer inputs, wrapping; the output of unsigned inputs is its `u64` bits), `f64` (float inputs) or `c128` (complex inputs) |
//! | mean | sum `f64` (`c128` for complex inputs), count `i64` |
//! | var, std | count `i64`, mean `f64`, M2 `f64` (merged with Chan et al.'s formula) |
//! | min, max | value, in the input type |
//! | argmin, argmax | value in the input type, C-order index `i64` over the reduced axes of the whole array |
//! | any, all | `bool` |
//!
//! Kernels are monomorphized over the element type. A block is seen as a C-contiguous
//! `[outer, reduced, inner]` array (no copy when the block is C-contiguous and its reduced axes
//! are consecutive; otherwise one copy with the reduced axes moved last). Rows (`inner == 1`)
//! are folded with several independent accumulators; otherwise whole rows of `inner` elements
//! are accumulated into the output row, which vectorizes.

use super::num::Num;
use crate::KernelError;
use chunkwise_ir::{with_array, with_dtype, Complex64, DType, DynArray, Element, ReduceOp};
use ndarray::{ArcArray, ArrayD, ArrayViewD, Axis, CowArray, IxDyn, Zip};

/// Where a block sits, for arg-reductions: for each reduced axis (same order as `axes`),
/// the block's start offset along that axis and the full length of that axis in the whole array.
pub struct ArgPosition<'a> {
    /// Start of the block along each reduced axis.
    pub offsets: &'a [u64],
    /// Length of each reduced axis in the whole array.
    pub full_lens: &'a [u64],
}

fn bad(msg: impl Into<String>) -> KernelError {
    KernelError::BadInput(msg.into())
}

/// Number of state components of `op`.
fn n_components(op: ReduceOp) -> usize {
    match op {
        ReduceOp::Sum | ReduceOp::Prod => 1,
        ReduceOp::Mean => 2,
        ReduceOp::Var { .. } | ReduceOp::Std { .. } => 3,
        ReduceOp::Min | ReduceOp::Max => 1,
        ReduceOp::ArgMin | ReduceOp::ArgMax => 2,
        ReduceOp::Any | ReduceOp::All => 1,
    }
}

/// Checks that `axes` are sorted, distinct and `< ndim`.
fn check_axes(ndim: usize, axes: &[usize]) -> Result<(), KernelError> {
    for (i, &ax) in axes.iter().enumerate() {
        if ax >= ndim {
            return Err(bad(format!(
                "reduction axis {ax} out of range for {ndim}-d block"
            )));
        }
        if i > 0 && axes[i - 1] >= ax {
            return Err(bad(format!(
                "reduction axes {axes:?} are not sorted and distinct"
            )));
        }
    }
    Ok(())
}

/// `x` as a C-contiguous array, copying only if needed.
fn standard<T: Element>(v: ArrayViewD<'_, T>) -> CowArray<'_, T, IxDyn> {
    if v.is_standard_layout() {
        CowArray::from(v)
    } else {
        CowArray::from(v.as_standard_layout().into_owned())
    }
}

/// A block seen as a C-contiguous `[a, r, b]` array: `a` outer groups, `r` reduced elements
/// (C order over the reduced axes), `b` inner groups. Output index of `(a_i, b_i)` is
/// `a_i * b + b_i`, the C-order position in `out_shape`.
struct Blocked<'a, T> {
    data: CowArray<'a, T, IxDyn>,
    a: usize,
    r: usize,
    b: usize,
    out_shape: Vec<usize>,
    red_lens: Vec<usize>,
}

impl<'a, T: Element> Blocked<'a, T> {
    fn new(x: &'a ArcArray<T, IxDyn>, axes: &[usize]) -> Result<Self, KernelError> {
        let shape = x.shape();
        let ndim = shape.len();
        check_axes(ndim, axes)?;
        let mut out_shape = shape.to_vec();
        for &ax in axes {
            out_shape[ax] = 1;
        }
        let red_lens: Vec<usize> = axes.iter().map(|&ax| shape[ax]).collect();
        let r: usize = red_lens.iter().product();
        let (data, a, b) = match (axes.first(), axes.last()) {
            (None, _) | (_, None) => (standard(x.view()), 1, x.len()),
            (Some(&first), Some(&last)) if last - first + 1 == axes.len() => {
                let a = shape[..first].iter().product();
                let b = shape[last + 1..].iter().product();
                (standard(x.view()), a, b)
            }
            _ => {
                let perm: Vec<usize> = (0..ndim)
                    .filter(|i| !axes.contains(i))
                    .chain(axes.iter().copied())
                    .collect();
                let a = (0..ndim)
                    .filter(|i| !axes.contains(i))
                    .map(|i| shape[i])
                    .product();
                (standard(x.view().permuted_axes(IxDyn(&perm))), a, 1)
            }
        };
        let blocked = Blocked {
            data,
            a,
            r,
            b,
            out_shape,
            red_lens,
        };
        // Internal invariant, checked so that slicing can never panic.
        if blocked.data.as_slice().map(|s| s.len()) != Some(a * r * b) {
            return Err(bad("internal error: block layout"));
        }
        Ok(blocked)
    }

    fn slice(&self) -> &[T] {
        self.data.as_slice().unwrap_or(&[])
    }

    /// Number of output elements.
    fn n_out(&self) -> usize {
        self.a * self.b
    }
}

const LANES: usize = 8;
/// Elements of a row folded by one set of lanes before the partial results are summed
/// pairwise (like NumPy's pairwise summation: error grows with log n, not n).
const ROW_BLOCK: usize = 1024;
/// Rows accumulated into one partial output row before partials are merged pairwise.
const ROW_GROUP: usize = 128;
/// Columns processed together, so the partial output row stays in cache.
const TILE: usize = 8192;

/// Pairwise (cascade) merging of a sequence of partial results, in order.
struct Cascade<S> {
    stack: Vec<(u32, S)>,
}

impl<S> Cascade<S> {
    fn new() -> Self {
        Cascade { stack: Vec::new() }
    }

    fn push(&mut self, mut s: S, merge: &impl Fn(S, S) -> S) {
        let mut level = 0;
        while self.stack.last().is_some_and(|&(l, _)| l == level) {
            if let Some((_, t)) = self.stack.pop() {
                s = merge(t, s);
            }
            level += 1;
        }
        self.stack.push((level, s));
    }

    fn finish(self, merge: &impl Fn(S, S) -> S) -> Option<S> {
        let mut it = self.stack.into_iter().rev();
        let (_, mut acc) = it.next()?;
        for (_, t) in it {
            acc = merge(t, acc);
        }
        Some(acc)
    }
}

/// Folds each group of `data` (seen as `[a, r, b]`, reducing the middle axis) with `f`, called
/// as `f(state, element, reduced_index)` in increasing `reduced_index` order within one
/// accumulator. Groups are split across several accumulators started at `init(o)` and joined
/// with `merge` (earlier part first), so `init(o)` must be neutral for `merge` (an identity,
/// or an element of the group for idempotent folds).
fn fold<T: Copy, S: Copy>(
    data: &[T],
    a: usize,
    r: usize,
    b: usize,
    init: impl Fn(usize) -> S,
    f: impl Fn(S, T, usize) -> S,
    merge: impl Fn(S, S) -> S,
) -> Vec<S> {
    let ctx = vec![(); a * b];
    fold_ctx(data, a, r, b, &ctx, init, |s, x, i, ()| f(s, x, i), merge)
}

/// [`fold`] with a per-output context value passed to `f` (`ctx.len() == a * b`).
#[allow(clippy::too_many_arguments)]
fn fold_ctx<T: Copy, S: Copy, C: Copy>(
    data: &[T],
    a: usize,
    r: usize,
    b: usize,
    ctx: &[C],
    init: impl Fn(usize) -> S,
    f: impl Fn(S, T, usize, C) -> S,
    merge: impl Fn(S, S) -> S,
) -> Vec<S> {
    let mut out: Vec<S> = (0..a * b).map(&init).collect();
    if a * b == 0 || r == 0 || data.len() != a * r * b || ctx.len() != a * b {
        return out;
    }
    if b == 1 {
        for ((o, row), &c) in out.iter_mut().zip(data.chunks_exact(r)).zip(ctx) {
            let f = |s, x, i| f(s, x, i, c);
            if r <= ROW_BLOCK {
                *o = fold_row(row, 0, *o, &f, &merge);
            } else {
                let mut cas = Cascade::new();
                for (i, part) in row.chunks(ROW_BLOCK).enumerate() {
                    cas.push(fold_row(part, i * ROW_BLOCK, *o, &f, &merge), &merge);
                }
                *o = cas.finish(&merge).unwrap_or(*o);
            }
        }
        return out;
    }
    let merge_rows = |mut p: Vec<S>, q: Vec<S>| {
        for (x, &y) in p.iter_mut().zip(&q) {
            *x = merge(*x, y);
        }
        p
    };
    for (ai, ((orow, block), crow)) in out
        .chunks_exact_mut(b)
        .zip(data.chunks_exact(r * b))
        .zip(ctx.chunks_exact(b))
        .enumerate()
    {
        let mut t = 0;
        while t < b {
            let te = (t + TILE).min(b);
            let ot = &mut orow[t..te];
            let ct = &crow[t..te];
            let rows = block.chunks_exact(b).enumerate();
            if r <= ROW_GROUP {
                for (ri, row) in rows {
                    for ((o, &x), &c) in ot.iter_mut().zip(&row[t..te]).zip(ct) {
                        *o = f(*o, x, ri, c);
                    }
                }
            } else {
                let mut cas = Cascade::new();
                let mut part: Vec<S> = Vec::new();
                for (ri, row) in rows {
                    if ri % ROW_GROUP == 0 {
                        if ri > 0 {
                            cas.push(std::mem::take(&mut part), &merge_rows);
                        }
                        part = (ai * b + t..ai * b + te).map(&init).collect();
                    }
                    for ((o, &x), &c) in part.iter_mut().zip(&row[t..te]).zip(ct) {
                        *o = f(*o, x, ri, c);
                    }
                }
                cas.push(part, &merge_rows);
                if let Some(res) = cas.finish(&merge_rows) {
                    ot.copy_from_slice(&res);
                }
            }
            t = te;
        }
    }
    out
}

#[inline(always)]
fn fold_row<T: Copy, S: Copy>(
    row: &[T],
    base: usize,
    s0: S,
    f: &impl Fn(S, T, usize) -> S,
    merge: &impl Fn(S, S) -> S,
) -> S {
    if row.len() < 4 * LANES {
        let mut s = s0;
        for (i, &x) in row.iter().enumerate() {
            s = f(s, x, base + i);
        }
        return s;
    }
    let mut lanes = [s0; LANES];
    let chunks = row.chunks_exact(LANES);
    let rem = chunks.remainder();
    for (ci, c) in chunks.enumerate() {
        if let Ok(c) = <&[T; LANES]>::try_from(c) {
            let cb = base + ci * LANES;
            for l in 0..LANES {
                lanes[l] = f(lanes[l], c[l], cb + l);
            }
        }
    }
    let rb = base + row.len() - rem.len();
    for (j, &x) in rem.iter().enumerate() {
        lanes[j] = f(lanes[j], x, rb + j);
    }
    // Pairwise over the lanes.
    let mut w = LANES;
    while w > 1 {
        w /= 2;
        for l in 0..w {
            lanes[l] = merge(lanes[l], lanes[l + w]);
        }
    }
    lanes[0]
}

fn to_dyn<S: Element>(shape: &[usize], v: Vec<S>) -> Result<DynArray, KernelError> {
    ArrayD::from_shape_vec(IxDyn(shape), v)
        .map(DynArray::new)
        .map_err(|e| bad(format!("internal error: state shape: {e}")))
}

/// Whether `x` beats `y` for argmin (`MIN`) or argmax: strictly smaller/larger, or NaN
/// against a number.
#[inline(always)]
fn better<T: Num, const MIN: bool>(x: T, y: T) -> bool {
    (if MIN { x.lt(y) } else { y.lt(x) }) || (x.is_nan() && !y.is_nan())
}

/// NaN-propagating min (`MIN`) or max.
#[inline(always)]
fn pick<T: Num, const MIN: bool>(s: T, x: T) -> T {
    if (if MIN { x.lt(s) } else { s.lt(x) }) || x.is_nan() {
        x
    } else {
        s
    }
}

/// Whether the arg-state `(vb, ib)` wins over `(va, ia)`: better value, or equal-ranked
/// value at a smaller index.
#[inline(always)]
fn arg_takes<T: Num, const MIN: bool, I: PartialOrd>(va: T, ia: I, vb: T, ib: I) -> bool {
    better::<T, MIN>(vb, va) || (!better::<T, MIN>(va, vb) && ib < ia)
}

fn sum_f64<T: Num>(bl: &Blocked<'_, T>) -> Vec<f64> {
    fold(
        bl.slice(),
        bl.a,
        bl.r,
        bl.b,
        |_| 0.0f64,
        |s, x, _| s + x.to_f64(),
        |p, q| p + q,
    )
}

/// The complex128 sum (`SUM`) or product of each group.
fn complex_fold<T: Num, const SUM: bool>(bl: &Blocked<'_, T>) -> Vec<Complex64> {
    let init = Complex64::new(if SUM { 0.0 } else { 1.0 }, 0.0);
    let op = |p: Complex64, q: Complex64| if SUM { p + q } else { p.mul(q) };
    fold(
        bl.slice(),
        bl.a,
        bl.r,
        bl.b,
        |_| init,
        |s, x, _| op(s, x.to_c128()),
        op,
    )
}

fn minmax_state<T: Num, const MIN: bool>(bl: &Blocked<'_, T>) -> Result<DynArray, KernelError> {
    let (data, a, r, b) = (bl.slice(), bl.a, bl.r, bl.b);
    if r == 0 && a * b > 0 {
        return Err(bad("min/max of an empty block"));
    }
    let v = fold(
        data,
        a,
        r,
        b,
        |o| data[(o / b) * r * b + o % b],
        |s, x, _| pick::<T, MIN>(s, x),
        |p, q| pick::<T, MIN>(p, q),
    );
    to_dyn(&bl.out_shape, v)
}

fn arg_state<T: Num, const MIN: bool>(
    bl: &Blocked<'_, T>,
    pos: Option<&ArgPosition<'_>>,
) -> Result<Vec<DynArray>, KernelError> {
    let (data, a, r, b) = (bl.slice(), bl.a, bl.r, bl.b);
    if r == 0 && a * b > 0 {
        return Err(bad("argmin/argmax of an empty block"));
    }
    let pos = pos.ok_or_else(|| bad("argmin/argmax need the block position"))?;
    let k = bl.red_lens.len();
    if pos.offsets.len() != k || pos.full_lens.len() != k {
        return Err(bad(format!(
            "argmin/argmax position has {} offsets and {} lengths for {k} reduced axes",
            pos.offsets.len(),
            pos.full_lens.len()
        )));
    }
    let mut total: u64 = 1;
    for j in 0..k {
        let end = pos.offsets[j].checked_add(bl.red_lens[j] as u64);
        if end.is_none_or(|e| e > pos.full_lens[j]) {
            return Err(bad("argmin/argmax block lies outside the array"));
        }
        total = total
            .checked_mul(pos.full_lens[j])
            .ok_or_else(|| bad("argmin/argmax index overflows"))?;
    }
    if total > i64::MAX as u64 {
        return Err(bad("argmin/argmax index overflows"));
    }
    let mut gstrides = vec![0u64; k];
    let mut s = 1u64;
    for j in (0..k).rev() {
        gstrides[j] = s;
        s = s.wrapping_mul(pos.full_lens[j]);
    }
    let st = fold(
        data,
        a,
        r,
        b,
        |o| (data[(o / b) * r * b + o % b], 0usize),
        |(v, i), x, ri| {
            if better::<T, MIN>(x, v) {
                (x, ri)
            } else {
                (v, i)
            }
        },
        |(va, ia), (vb, ib)| {
            if arg_takes::<T, MIN, usize>(va, ia, vb, ib) {
                (vb, ib)
            } else {
                (va, ia)
            }
        },
    );
    let mut vals = Vec::with_capacity(st.len());
    let mut idx = Vec::with_capacity(st.len());
    for (v, li) in st {
        let mut li = li as u64;
        let mut g = 0u64;
        for j in (0..k).rev() {
            let len = (bl.red_lens[j] as u64).max(1);
            let c = li % len;
            li /= len;
            g = g.wrapping_add((pos.offsets[j] + c).wrapping_mul(gstrides[j]));
        }
        vals.push(v);
        idx.push(g as i64);
    }
    Ok(vec![
        to_dyn(&bl.out_shape, vals)?,
        to_dyn(&bl.out_shape, idx)?,
    ])
}

fn chunk_state_t<T: Num>(
    op: ReduceOp,
    x: &ArcArray<T, IxDyn>,
    axes: &[usize],
    pos: Option<&ArgPosition<'_>>,
) -> Result<Vec<DynArray>, KernelError> {
    let bl = Blocked::new(x, axes)?;
    let (data, a, r, b) = (bl.slice(), bl.a, bl.r, bl.b);
    let shape = &bl.out_shape;
    match op {
        ReduceOp::Sum if T::DTYPE.is_complex() => {
            Ok(vec![to_dyn(shape, complex_fold::<T, true>(&bl))?])
        }
        ReduceOp::Prod if T::DTYPE.is_complex() => {
            Ok(vec![to_dyn(shape, complex_fold::<T, false>(&bl))?])
        }
        ReduceOp::Mean if T::DTYPE.is_complex() => {
            let n = vec![r as i64; bl.n_out()];
            Ok(vec![
                to_dyn(shape, complex_fold::<T, true>(&bl))?,
                to_dyn(shape, n)?,
            ])
        }
        ReduceOp::Sum | ReduceOp::Prod => {
            let sum = matches!(op, ReduceOp::Sum);
            let s = match (T::DTYPE.is_float(), sum) {
                (true, true) => to_dyn(shape, sum_f64(&bl))?,
                (true, false) => to_dyn(
                    shape,
                    fold(
                        data,
                        a,
                        r,
                        b,
                        |_| 1.0f64,
                        |s, x, _| s * x.to_f64(),
                        |p, q| p * q,
                    ),
                )?,
                (false, true) => to_dyn(
                    shape,
                    fold(
                        data,
                        a,
                        r,
                        b,
                        |_| 0i64,
                        |s, x, _| s.wrapping_add(x.to_i64()),
                        |p, q| p.wrapping_add(q),
                    ),
                )?,
                (false, false) => to_dyn(
                    shape,
                    fold(
                        data,
                        a,
                        r,
                        b,
                        |_| 1i64,
                        |s, x, _| s.wrapping_mul(x.to_i64()),
                        |p, q| p.wrapping_mul(q),
                    ),
                )?,
            };
            Ok(vec![s])
        }
        ReduceOp::Mean => {
            let s = sum_f64(&bl);
            let n = vec![r as i64; bl.n_out()];
            Ok(vec![to_dyn(shape, s)?, to_dyn(shape, n)?])
        }
        ReduceOp::Var { .. } | ReduceOp::Std { .. } => {
            let s = sum_f64(&bl);
            let means: Vec<f64> = if r == 0 {
                vec![0.0; s.len()]
            } else {
                s.iter().map(|v| v / r as f64).collect()
            };
            let m2 = fold_ctx(
                data,
                a,
                r,
                b,
                &means,
                |_| 0.0f64,
                |q, x, _, m| {
                    let d = x.to_f64() - m;
                    q + d * d
                },
                |p, q| p + q,
            );
            let n = vec![r as i64; bl.n_out()];
            Ok(vec![
                to_dyn(shape, n)?,
                to_dyn(shape, means)?,
                to_dyn(shape, m2)?,
            ])
        }
        ReduceOp::Min => Ok(vec![minmax_state::<T, true>(&bl)?]),
        ReduceOp::Max => Ok(vec![minmax_state::<T, false>(&bl)?]),
        ReduceOp::ArgMin => arg_state::<T, true>(&bl, pos),
        ReduceOp::ArgMax => arg_state::<T, false>(&bl, pos),
        ReduceOp::Any => {
            let v = fold(
                data,
                a,
                r,
                b,
                |_| false,
                |s, x, _| s | x.nonzero(),
                |p, q| p | q,
            );
            Ok(vec![to_dyn(shape, v)?])
        }
        ReduceOp::All => {
            let v = fold(
                data,
                a,
                r,
                b,
                |_| true,
                |s, x, _| s & x.nonzero(),
                |p, q| p & q,
            );
            Ok(vec![to_dyn(shape, v)?])
        }
    }
}

/// Step 1: reduces block `x` over `axes` (sorted, distinct, < x.ndim()), keeping them as length-1 axes.
/// `pos` is required for ArgMin/ArgMax (else ignored).
pub fn chunk_state(
    op: ReduceOp,
    x: &DynArray,
    axes: &[usize],
    pos: Option<&ArgPosition<'_>>,
) -> Result<Vec<DynArray>, KernelError> {
    with_array!(x, a => chunk_state_t(op, a, axes, pos))
}

/// Checks the shape of a state: `op`'s number of components, all of one shape, reduced axes
/// of length 1.
fn check_state(op: ReduceOp, state: &[DynArray], axes: &[usize]) -> Result<(), KernelError> {
    let n = n_components(op);
    if state.len() != n {
        return Err(bad(format!(
            "{} state has {} components, expected {n}",
            op.name(),
            state.len()
        )));
    }
    let shape = state[0].shape();
    check_axes(shape.len(), axes)?;
    if let Some(&ax) = axes.iter().find(|&&ax| shape[ax] != 1) {
        return Err(bad(format!(
            "{} state of shape {shape:?} has length != 1 on reduced axis {ax}",
            op.name()
        )));
    }
    if state[1..].iter().any(|c| c.shape() != shape) {
        return Err(bad(format!(
            "{} state components differ in shape",
            op.name()
        )));
    }
    Ok(())
}

fn typed<T: Element>(x: &DynArray) -> Result<&ArcArray<T, IxDyn>, KernelError> {
    x.as_typed::<T>().ok_or_else(|| {
        bad(format!(
            "reduction state of type {:?}, expected {:?}",
            x.dtype(),
            T::DTYPE
        ))
    })
}

/// Merges component `k` of all parts elementwise with `f`.
fn merge_each<T: Element>(
    parts: &[&[DynArray]],
    k: usize,
    f: impl Fn(T, T) -> T,
) -> Result<DynArray, KernelError> {
    let mut acc: ArrayD<T> = typed::<T>(&parts[0][k])?.to_owned();
    for p in &parts[1..] {
        let b = typed::<T>(&p[k])?;
        Zip::from(&mut acc)
            .and(b.view())
            .for_each(|x, &y| *x = f(*x, y));
    }
    Ok(DynArray::new(acc))
}

fn merge_arg<T: Num, const MIN: bool>(parts: &[&[DynArray]]) -> Result<Vec<DynArray>, KernelError> {
    let mut v: ArrayD<T> = typed::<T>(&parts[0][0])?.to_owned();
    let mut i: ArrayD<i64> = typed::<i64>(&parts[0][1])?.to_owned();
    for p in &parts[1..] {
        let (pv, pi) = (typed::<T>(&p[0])?, typed::<i64>(&p[1])?);
        Zip::from(&mut v)
            .and(&mut i)
            .and(pv.view())
            .and(pi.view())
            .for_each(|va, ia, &vb, &ib| {
                if arg_takes::<T, MIN, i64>(*va, *ia, vb, ib) {
                    *va = vb;
                    *ia = ib;
                }
            });
    }
    Ok(vec![DynArray::new(v), DynArray::new(i)])
}

/// Chan et al.'s merge of two (count, mean, M2) triples.
#[inline(always)]
fn chan(na: i64, ma: f64, qa: f64, nb: i64, mb: f64, qb: f64) -> (i64, f64, f64) {
    if nb == 0 {
        return (na, ma, qa);
    }
    if na == 0 {
        return (nb, mb, qb);
    }
    let n = na.saturating_add(nb);
    let (fa, fb, fnn) = (na as f64, nb as f64, n as f64);
    let d = mb - ma;
    (n, ma + d * (fb / fnn), qa + qb + d * d * (fa * (fb / fnn)))
}

fn merge_var(parts: &[&[DynArray]]) -> Result<Vec<DynArray>, KernelError> {
    let mut n: ArrayD<i64> = typed::<i64>(&parts[0][0])?.to_owned();
    let mut m: ArrayD<f64> = typed::<f64>(&parts[0][1])?.to_owned();
    let mut q: ArrayD<f64> = typed::<f64>(&parts[0][2])?.to_owned();
    for p in &parts[1..] {
        let (pn, pm, pq) = (
            typed::<i64>(&p[0])?,
            typed::<f64>(&p[1])?,
            typed::<f64>(&p[2])?,
        );
        Zip::from(&mut n)
            .and(&mut m)
            .and(&mut q)
            .and(pn.view())
            .and(pm.view())
            .and(pq.view())
            .for_each(|na, ma, qa, &nb, &mb, &qb| {
                (*na, *ma, *qa) = chan(*na, *ma, *qa, nb, mb, qb);
            });
    }
    Ok(vec![DynArray::new(n), DynArray::new(m), DynArray::new(q)])
}

/// Step 2: combines states. `parts` are the states of a sub-grid of blocks, in C order over that
/// sub-grid, whose extent along each axis of the array is `counts` (counts.len() == ndim; 1 on
/// non-reduced axes). Returns one state (reduced axes length 1).
pub fn combine_states(
    op: ReduceOp,
    parts: &[&[DynArray]],
    counts: &[usize],
    axes: &[usize],
) -> Result<Vec<DynArray>, KernelError> {
    let first = *parts
        .first()
        .ok_or_else(|| bad(format!("{}: no states to combine", op.name())))?;
    check_state(op, first, axes)?;
    let shape = first[0].shape();
    if counts.len() != shape.len() {
        return Err(bad(format!(
            "{}: block counts {counts:?} do not match {}-d states",
            op.name(),
            shape.len()
        )));
    }
    if let Some(i) = (0..counts.len()).find(|&i| counts[i] != 1 && !axes.contains(&i)) {
        return Err(bad(format!(
            "{}: {} blocks along non-reduced axis {i}",
            op.name(),
            counts[i]
        )));
    }
    let total = counts.iter().try_fold(1usize, |acc, &c| acc.checked_mul(c));
    if total != Some(parts.len()) {
        return Err(bad(format!(
            "{}: {} states for a block grid of {counts:?}",
            op.name(),
            parts.len()
        )));
    }
    for p in &parts[1..] {
        check_state(op, p, axes)?;
        if p.iter()
            .zip(first.iter())
            .any(|(c, f)| c.shape() != shape || c.dtype() != f.dtype())
        {
            return Err(bad(format!(
                "{}: states differ in shape or type",
                op.name()
            )));
        }
    }
    if parts.len() == 1 {
        return Ok(first.to_vec());
    }
    match op {
        ReduceOp::Sum => Ok(vec![match first[0].dtype() {
            DType::F64 => merge_each::<f64>(parts, 0, |p, q| p + q)?,
            DType::C128 => merge_each::<Complex64>(parts, 0, |p, q| p + q)?,
            _ => merge_each::<i64>(parts, 0, |p, q| p.wrapping_add(q))?,
        }]),
        ReduceOp::Prod => Ok(vec![match first[0].dtype() {
            DType::F64 => merge_each::<f64>(parts, 0, |p, q| p * q)?,
            DType::C128 => merge_each::<Complex64>(parts, 0, Num::mul)?,
            _ => merge_each::<i64>(parts, 0, |p, q| p.wrapping_mul(q))?,
        }]),
        ReduceOp::Mean => Ok(vec![
            match first[0].dtype() {
                DType::C128 => merge_each::<Complex64>(parts, 0, |p, q| p + q)?,
                _ => merge_each::<f64>(parts, 0, |p, q| p + q)?,
            },
            merge_each::<i64>(parts, 1, |p, q| p.wrapping_add(q))?,
        ]),
        ReduceOp::Var { .. } | ReduceOp::Std { .. } => merge_var(parts),
        ReduceOp::Min => Ok(vec![with_dtype!(first[0].dtype(), T => {
            merge_each::<T>(parts, 0, pick::<T, true>)?
        })]),
        ReduceOp::Max => Ok(vec![with_dtype!(first[0].dtype(), T => {
            merge_each::<T>(parts, 0, pick::<T, false>)?
        })]),
        ReduceOp::ArgMin => with_dtype!(first[0].dtype(), T => merge_arg::<T, true>(parts)),
        ReduceOp::ArgMax => with_dtype!(first[0].dtype(), T => merge_arg::<T, false>(parts)),
        ReduceOp::Any => Ok(vec![merge_each::<bool>(parts, 0, |p, q| p | q)?]),
        ReduceOp::All => Ok(vec![merge_each::<bool>(parts, 0, |p, q| p & q)?]),
    }
}

/// Checks that a state component has type `expected`.
fn expect_dtype(op: ReduceOp, c: &DynArray, expected: DType) -> Result<(), KernelError> {
    if c.dtype() != expected {
        return Err(bad(format!(
            "{} state of type {:?}, expected {expected:?}",
            op.name(),
            c.dtype()
        )));
    }
    Ok(())
}

fn to_out_float(v: ArrayD<f64>, input_dtype: DType) -> DynArray {
    if input_dtype == DType::F32 {
        DynArray::new(v.mapv(|x| x as f32))
    } else {
        DynArray::new(v)
    }
}

/// Step 3: turns a state into the output block of dtype `op.output_dtype(input_dtype)`;
/// with keepdims=false the reduced axes (length 1) are removed.
pub fn finalize(
    op: ReduceOp,
    state: &[DynArray],
    axes: &[usize],
    keepdims: bool,
    input_dtype: DType,
) -> Result<DynArray, KernelError> {
    check_state(op, state, axes)?;
    let float_in = matches!(input_dtype, DType::F32 | DType::F64);
    let out = match op {
        ReduceOp::Sum | ReduceOp::Prod if input_dtype.is_complex() => {
            expect_dtype(op, &state[0], DType::C128)?;
            state[0].cast(input_dtype)
        }
        ReduceOp::Mean if input_dtype.is_complex() => {
            let (s, n) = (typed::<Complex64>(&state[0])?, typed::<i64>(&state[1])?);
            let v = Zip::from(s.view())
                .and(n.view())
                .map_collect(|&s, &n| s / n as f64);
            DynArray::new(v).cast(input_dtype)
        }
        ReduceOp::Sum | ReduceOp::Prod => {
            let s = &state[0];
            if float_in {
                let v = typed::<f64>(s)?;
                if input_dtype == DType::F32 {
                    DynArray::new(v.mapv(|x| x as f32))
                } else {
                    s.clone()
                }
            } else {
                expect_dtype(op, s, DType::I64)?;
                // Unsigned inputs give u64: the same wrapped bits.
                s.cast(op.output_dtype(input_dtype))
            }
        }
        ReduceOp::Mean => {
            let (s, n) = (typed::<f64>(&state[0])?, typed::<i64>(&state[1])?);
            let v = Zip::from(s.view())
                .and(n.view())
                .map_collect(|&s, &n| s / n as f64);
            to_out_float(v, input_dtype)
        }
        ReduceOp::Var { ddof } | ReduceOp::Std { ddof } => {
            let is_std = matches!(op, ReduceOp::Std { .. });
            let (n, q) = (typed::<i64>(&state[0])?, typed::<f64>(&state[2])?);
            expect_dtype(op, &state[1], DType::F64)?;
            let v = Zip::from(n.view()).and(q.view()).map_collect(|&n, &q| {
                let d = n.saturating_sub(ddof as i64).max(0) as f64;
                let var = q / d;
                if is_std {
                    var.sqrt()
                } else {
                    var
                }
            });
            to_out_float(v, input_dtype)
        }
        ReduceOp::Min | ReduceOp::Max => {
            expect_dtype(op, &state[0], input_dtype)?;
            state[0].clone()
        }
        ReduceOp::ArgMin | ReduceOp::ArgMax => {
            expect_dtype(op, &state[0], input_dtype)?;
            expect_dtype(op, &state[1], DType::I64)?;
            state[1].clone()
        }
        ReduceOp::Any | ReduceOp::All => {
            expect_dtype(op, &state[0], DType::Bool)?;
            state[0].clone()
        }
    };
    if keepdims {
        return Ok(out);
    }
    // Reduced axes have length 1 (checked by check_state), so removing them cannot fail.
    Ok(with_array!(out, a => {
        let mut v = a;
        for &ax in axes.iter().rev() {
            v = v.remove_axis(Axis(ax));
        }
        Element::wrap(v)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Slice;

    /// SplitMix64.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
        fn unit(&mut self) -> f64 {
            (self.next() >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    const ALL_OPS: [ReduceOp; 14] = [
        ReduceOp::Sum,
        ReduceOp::Prod,
        ReduceOp::Mean,
        ReduceOp::Var { ddof: 0 },
        ReduceOp::Var { ddof: 1 },
        ReduceOp::Std { ddof: 0 },
        ReduceOp::Std { ddof: 1 },
        ReduceOp::Var { ddof: 3 },
        ReduceOp::Min,
        ReduceOp::Max,
        ReduceOp::ArgMin,
        ReduceOp::ArgMax,
        ReduceOp::Any,
        ReduceOp::All,
    ];

    /// Random array; `ties` draws from few values, `nan` sprinkles NaNs into floats, `prod`
    /// keeps floats near 1, and integers stay below 2^44 unless `op` accumulates exactly.
    fn gen(
        rng: &mut Rng,
        dtype: DType,
        shape: &[usize],
        ties: bool,
        nan: bool,
        op: ReduceOp,
    ) -> DynArray {
        let prod = matches!(op, ReduceOp::Prod);
        // Mean/var accumulate in f64: keep integer sums exact there.
        let min_shift = match op {
            ReduceOp::Mean | ReduceOp::Var { .. } | ReduceOp::Std { .. } => 20,
            _ => 0,
        };
        let n: usize = shape.iter().product();
        let f: Vec<f64> = (0..n)
            .map(|_| {
                if nan && rng.below(8) == 0 {
                    return f64::NAN;
                }
                match (prod, ties) {
                    (true, _) => 0.5 + rng.unit(),
                    (false, true) => rng.below(5) as f64 - 2.0,
                    (false, false) => rng.unit() * 20.0 - 10.0,
                }
            })
            .collect();
        let ints: Vec<i64> = (0..n)
            .map(|_| {
                if ties {
                    rng.below(4) as i64 - 1
                } else {
                    rng.next() as i64 >> (min_shift + rng.below(64 - min_shift))
                }
            })
            .collect();
        let sh = IxDyn(shape);
        match dtype {
            DType::Bool => DynArray::new(
                ArrayD::from_shape_vec(sh, ints.iter().map(|&v| v & 1 == 1).collect()).unwrap(),
            ),
            DType::F32 => DynArray::new(
                ArrayD::from_shape_vec(sh, f.iter().map(|&v| v as f32).collect()).unwrap(),
            ),
            DType::F64 => DynArray::new(ArrayD::from_shape_vec(sh, f).unwrap()),
            // Complex: the floats as real parts, reversed as imaginary parts.
            DType::C64 | DType::C128 => {
                let z = f.iter().zip(f.iter().rev());
                let z = z.map(|(&re, &im)| Complex64::new(re, im)).collect();
                DynArray::new(ArrayD::from_shape_vec(sh, z).unwrap()).cast(dtype)
            }
            int => DynArray::new(ArrayD::from_shape_vec(sh, ints).unwrap()).cast(int),
        }
    }

    /// Neumaier-compensated sum (the reference must be more accurate than the kernels).
    fn ksum(it: impl Iterator<Item = f64>) -> f64 {
        let (mut s, mut c) = (0.0f64, 0.0f64);
        for x in it {
            let t = s + x;
            if s.abs() >= x.abs() {
                c += (s - t) + x;
            } else {
                c += (x - t) + s;
            }
            s = t;
        }
        s + c
    }

    /// Direct reduction of the whole array, row by row (rows = reduced elements in C order).
    fn reference(op: ReduceOp, x: &DynArray, axes: &[usize], keepdims: bool) -> Option<DynArray> {
        with_array!(x, a => reference_t(op, a, axes, keepdims))
    }

    fn reference_t<T: Num>(
        op: ReduceOp,
        x: &ArcArray<T, IxDyn>,
        axes: &[usize],
        keepdims: bool,
    ) -> Option<DynArray> {
        let nd = x.ndim();
        let keep: Vec<usize> = (0..nd).filter(|i| !axes.contains(i)).collect();
        let perm: Vec<usize> = keep.iter().copied().chain(axes.iter().copied()).collect();
        let flat: Vec<T> = x
            .view()
            .permuted_axes(IxDyn(&perm))
            .iter()
            .copied()
            .collect();
        let nrows: usize = keep.iter().map(|&i| x.shape()[i]).product();
        let r: usize = axes.iter().map(|&i| x.shape()[i]).product();
        let rows: Vec<&[T]> = (0..nrows).map(|i| &flat[i * r..(i + 1) * r]).collect();
        let shape: Vec<usize> = if keepdims {
            (0..nd)
                .map(|i| if axes.contains(&i) { 1 } else { x.shape()[i] })
                .collect()
        } else {
            keep.iter().map(|&i| x.shape()[i]).collect()
        };
        let outf = |v: Vec<f64>| -> DynArray {
            if T::DTYPE == DType::F32 {
                DynArray::new(
                    ArrayD::from_shape_vec(IxDyn(&shape), v.iter().map(|&x| x as f32).collect())
                        .unwrap(),
                )
            } else {
                DynArray::new(ArrayD::from_shape_vec(IxDyn(&shape), v).unwrap())
            }
        };
        fn mk<E: Element>(shape: &[usize], v: Vec<E>) -> DynArray {
            DynArray::new(ArrayD::from_shape_vec(IxDyn(shape), v).unwrap())
        }

        if op.needs_elements() && r == 0 && nrows > 0 {
            return None;
        }
        let mean = |row: &[T]| ksum(row.iter().map(|v| v.to_f64())) / row.len() as f64;
        // Complex sums: each component compensated; products in order.
        let csum = |row: &[T]| {
            Complex64::new(
                ksum(row.iter().map(|v| v.to_c128().re)),
                ksum(row.iter().map(|v| v.to_c128().im)),
            )
        };
        let outc = |v: Vec<Complex64>| mk(&shape, v).cast(T::DTYPE);
        Some(match op {
            ReduceOp::Sum if T::DTYPE.is_complex() => outc(rows.iter().map(|r| csum(r)).collect()),
            ReduceOp::Mean if T::DTYPE.is_complex() => {
                outc(rows.iter().map(|r| csum(r) / r.len() as f64).collect())
            }
            ReduceOp::Prod if T::DTYPE.is_complex() => outc(
                rows.iter()
                    .map(|r| {
                        r.iter()
                            .fold(Complex64::new(1.0, 0.0), |p, v| p.mul(v.to_c128()))
                    })
                    .collect(),
            ),
            ReduceOp::Sum if T::DTYPE.is_float() => outf(
                rows.iter()
                    .map(|row| ksum(row.iter().map(|v| v.to_f64())))
                    .collect(),
            ),
            ReduceOp::Sum => mk(
                &shape,
                rows.iter()
                    .map(|row| row.iter().fold(0i64, |s, v| s.wrapping_add(v.to_i64())))
                    .collect::<Vec<i64>>(),
            )
            .cast(op.output_dtype(T::DTYPE)),
            ReduceOp::Prod if T::DTYPE.is_float() => outf(
                rows.iter()
                    .map(|row| row.iter().map(|v| v.to_f64()).product())
                    .collect(),
            ),
            ReduceOp::Prod => mk(
                &shape,
                rows.iter()
                    .map(|row| row.iter().fold(1i64, |s, v| s.wrapping_mul(v.to_i64())))
                    .collect::<Vec<i64>>(),
            )
            .cast(op.output_dtype(T::DTYPE)),
            ReduceOp::Mean => outf(rows.iter().map(|row| mean(row)).collect()),
            ReduceOp::Var { ddof } | ReduceOp::Std { ddof } => outf(
                rows.iter()
                    .map(|row| {
                        let m = mean(row);
                        let q = ksum(row.iter().map(|v| (v.to_f64() - m) * (v.to_f64() - m)));
                        let q = if row.is_empty() { 0.0 } else { q };
                        let var = q / (row.len() as f64 - ddof as f64).max(0.0);
                        if matches!(op, ReduceOp::Std { .. }) {
                            var.sqrt()
                        } else {
                            var
                        }
                    })
                    .collect(),
            ),
            ReduceOp::Min | ReduceOp::Max => mk(
                &shape,
                rows.iter()
                    .map(|row| {
                        if let Some(n) = row.iter().find(|v| v.is_nan()) {
                            return *n;
                        }
                        let mut m = row[0];
                        for &v in row.iter() {
                            if (matches!(op, ReduceOp::Min) && v.lt(m))
                                || (matches!(op, ReduceOp::Max) && m.lt(v))
                            {
                                m = v;
                            }
                        }
                        m
                    })
                    .collect::<Vec<T>>(),
            ),
            ReduceOp::ArgMin | ReduceOp::ArgMax => mk(
                &shape,
                rows.iter()
                    .map(|row| {
                        if let Some(i) = row.iter().position(|v| v.is_nan()) {
                            return i as i64;
                        }
                        let mut m = 0;
                        for (i, &v) in row.iter().enumerate() {
                            if (matches!(op, ReduceOp::ArgMin) && v.lt(row[m]))
                                || (matches!(op, ReduceOp::ArgMax) && row[m].lt(v))
                            {
                                m = i;
                            }
                        }
                        m as i64
                    })
                    .collect::<Vec<i64>>(),
            ),
            ReduceOp::Any => mk(
                &shape,
                rows.iter()
                    .map(|row| row.iter().any(|v| v.nonzero()))
                    .collect::<Vec<bool>>(),
            ),
            ReduceOp::All => mk(
                &shape,
                rows.iter()
                    .map(|row| row.iter().all(|v| v.nonzero()))
                    .collect::<Vec<bool>>(),
            ),
        })
    }

    /// Random split of `len` into non-empty pieces (one empty piece if `len == 0`).
    fn split(rng: &mut Rng, len: usize) -> Vec<(usize, usize)> {
        if len == 0 {
            return vec![(0, 0)];
        }
        let mut cuts: Vec<usize> = (0..rng.below(4))
            .map(|_| 1 + rng.below(len))
            .filter(|&c| c < len)
            .collect();
        cuts.push(0);
        cuts.push(len);
        cuts.sort();
        cuts.dedup();
        cuts.windows(2).map(|w| (w[0], w[1])).collect()
    }

    fn unravel(mut i: usize, dims: &[usize]) -> Vec<usize> {
        let mut out = vec![0; dims.len()];
        for d in (0..dims.len()).rev() {
            out[d] = i % dims[d];
            i /= dims[d];
        }
        out
    }

    fn ravel(idx: &[usize], dims: &[usize]) -> usize {
        idx.iter().zip(dims).fold(0, |acc, (&i, &d)| acc * d + i)
    }

    /// Cuts a block out of `x`, in one of several memory layouts.
    fn block_of(rng: &mut Rng, x: &DynArray, ranges: &[(usize, usize)]) -> DynArray {
        with_array!(x, a => {
            let mut v = a.clone();
            for (ax, &(s, e)) in ranges.iter().enumerate() {
                v.slice_axis_inplace(Axis(ax), Slice::from(s..e));
            }
            match rng.below(3) {
                // A strided view into the parent's data.
                0 => Element::wrap(v),
                // Fortran order.
                1 => Element::wrap(v.t().to_owned().reversed_axes().into_shared()),
                _ => Element::wrap(v.as_standard_layout().into_owned().into_shared()),
            }
        })
    }

    /// Blocks `x` randomly along the reduced axes, then runs the three steps with a random tree.
    fn chunked(
        rng: &mut Rng,
        op: ReduceOp,
        x: &DynArray,
        axes: &[usize],
        keepdims: bool,
    ) -> Result<DynArray, KernelError> {
        let nd = x.shape().len();
        let pieces: Vec<Vec<(usize, usize)>> = (0..nd)
            .map(|i| {
                if axes.contains(&i) {
                    split(rng, x.shape()[i])
                } else {
                    vec![(0, x.shape()[i])]
                }
            })
            .collect();
        let mut dims: Vec<usize> = pieces.iter().map(|p| p.len()).collect();
        let nblocks: usize = dims.iter().product();
        let full_lens: Vec<u64> = axes.iter().map(|&i| x.shape()[i] as u64).collect();
        let mut states = Vec::new();
        for bi in 0..nblocks {
            let idx = unravel(bi, &dims);
            let ranges: Vec<(usize, usize)> = (0..nd).map(|i| pieces[i][idx[i]]).collect();
            let block = block_of(rng, x, &ranges);
            let offsets: Vec<u64> = axes.iter().map(|&i| ranges[i].0 as u64).collect();
            let pos = ArgPosition {
                offsets: &offsets,
                full_lens: &full_lens,
            };
            states.push(chunk_state(op, &block, axes, Some(&pos))?);
        }
        loop {
            let sp = 2 + rng.below(3);
            let new_dims: Vec<usize> = dims.iter().map(|&d| d.div_ceil(sp)).collect();
            let mut new_states = Vec::new();
            for ci in 0..new_dims.iter().product() {
                let cell = unravel(ci, &new_dims);
                let ext: Vec<usize> = (0..nd).map(|i| sp.min(dims[i] - cell[i] * sp)).collect();
                let parts: Vec<&[DynArray]> = (0..ext.iter().product())
                    .map(|si| {
                        let sub = unravel(si, &ext);
                        let g: Vec<usize> = (0..nd).map(|i| cell[i] * sp + sub[i]).collect();
                        states[ravel(&g, &dims)].as_slice()
                    })
                    .collect();
                new_states.push(combine_states(op, &parts, &ext, axes)?);
            }
            states = new_states;
            dims = new_dims;
            if states.len() == 1 {
                break;
            }
        }
        finalize(op, &states[0], axes, keepdims, x.dtype())
    }

    fn assert_close(got: &DynArray, exp: &DynArray, ctx: &str) {
        assert_eq!(got.dtype(), exp.dtype(), "{ctx}");
        assert_eq!(got.shape(), exp.shape(), "{ctx}");
        let close = |g: f64, e: f64, tol: f64| {
            (g.is_nan() && e.is_nan()) || g == e || (g - e).abs() <= tol * e.abs().max(1.0)
        };
        match (got, exp) {
            (DynArray::F64(g), DynArray::F64(e)) => {
                for (a, b) in g.iter().zip(e.iter()) {
                    assert!(close(*a, *b, 1e-12), "{ctx}: got {g} expected {e}");
                }
            }
            (DynArray::F32(g), DynArray::F32(e)) => {
                for (a, b) in g.iter().zip(e.iter()) {
                    assert!(
                        close(*a as f64, *b as f64, 1e-6),
                        "{ctx}: got {g} expected {e}"
                    );
                }
            }
            (DynArray::C64(_) | DynArray::C128(_), _) => {
                let tol = if got.dtype() == DType::C64 {
                    1e-6
                } else {
                    1e-12
                };
                let (g, e) = (got.cast(DType::C128), exp.cast(DType::C128));
                let (g, e) = (g.as_typed::<Complex64>(), e.as_typed::<Complex64>());
                for (a, b) in g.unwrap().iter().zip(e.unwrap().iter()) {
                    // Relative to the modulus: a product's small component is cancellation.
                    let both_nan = a.is_nan() && b.is_nan();
                    let ok = both_nan || a == b || (a - b).norm() <= tol * b.norm().max(1.0);
                    assert!(ok, "{ctx}: got {a} expected {b}");
                }
            }
            _ => assert_eq!(got, exp, "{ctx}"),
        }
    }

    fn run_random(seed: u64, iters: usize, max_len: usize, max_nd: usize) {
        run_random_of(&DType::ALL[..11], seed, iters, max_len, max_nd);
    }

    fn run_random_of(dtypes: &[DType], seed: u64, iters: usize, max_len: usize, max_nd: usize) {
        let mut rng = Rng(seed);
        for it in 0..iters {
            let nd = rng.below(max_nd + 1);
            let shape: Vec<usize> = (0..nd)
                .map(|_| {
                    if rng.below(12) == 0 {
                        0
                    } else {
                        1 + rng.below(max_len)
                    }
                })
                .collect();
            let axes: Vec<usize> = (0..nd).filter(|_| rng.below(2) == 0).collect();
            let dtype = dtypes[rng.below(dtypes.len())];
            let ties = rng.below(2) == 0;
            let nan = rng.below(3) == 0;
            for op in ALL_OPS {
                if dtype.is_complex() && !op.takes_complex() {
                    continue;
                }
                let x = gen(&mut rng, dtype, &shape, ties, nan, op);
                let keepdims = rng.below(2) == 0;
                let ctx = format!(
                    "iter {it}: {op:?} {dtype:?} shape {shape:?} axes {axes:?} keepdims {keepdims}"
                );
                let exp = reference(op, &x, &axes, keepdims);
                let got = chunked(&mut rng, op, &x, &axes, keepdims);
                match exp {
                    None => assert!(got.is_err(), "{ctx}: expected an error"),
                    Some(e) => {
                        assert_close(&got.unwrap_or_else(|err| panic!("{ctx}: {err}")), &e, &ctx)
                    }
                }
            }
        }
    }

    #[test]
    fn random_small() {
        run_random(1, 300, 6, 3);
    }

    #[test]
    fn random_complex() {
        run_random_of(&[DType::C64, DType::C128], 4, 200, 6, 3);
        run_random_of(&[DType::C64, DType::C128], 5, 30, 1500, 2);
    }

    #[test]
    fn random_long_rows() {
        // Rows long enough for the multi-accumulator path and inner runs longer than a tile.
        run_random(2, 40, 1500, 2);
        run_random(3, 60, 70, 3);
    }

    fn f64s(shape: &[usize], v: Vec<f64>) -> DynArray {
        DynArray::new(ArrayD::from_shape_vec(IxDyn(shape), v).unwrap())
    }

    fn whole(op: ReduceOp, x: &DynArray, axes: &[usize]) -> DynArray {
        let full: Vec<u64> = axes.iter().map(|&i| x.shape()[i] as u64).collect();
        let off = vec![0u64; axes.len()];
        let st = chunk_state(
            op,
            x,
            axes,
            Some(&ArgPosition {
                offsets: &off,
                full_lens: &full,
            }),
        )
        .unwrap();
        let counts = vec![1; x.shape().len()];
        let st = combine_states(op, &[&st], &counts, axes).unwrap();
        finalize(op, &st, axes, false, x.dtype()).unwrap()
    }

    #[test]
    fn nan_and_ties() {
        let x = f64s(
            &[2, 4],
            vec![1.0, f64::NAN, 0.0, f64::NAN, 3.0, 1.0, 1.0, 3.0],
        );
        let get = |op| match whole(op, &x, &[1]) {
            DynArray::F64(a) => a.iter().copied().collect::<Vec<f64>>(),
            DynArray::I64(a) => a.iter().map(|&v| v as f64).collect(),
            DynArray::Bool(a) => a.iter().map(|&v| v as u8 as f64).collect(),
            other => panic!("{other:?}"),
        };
        let s = get(ReduceOp::Min);
        assert!(s[0].is_nan() && s[1] == 1.0);
        let s = get(ReduceOp::Max);
        assert!(s[0].is_nan() && s[1] == 3.0);
        assert!(get(ReduceOp::Sum)[0].is_nan());
        assert_eq!(get(ReduceOp::ArgMin), vec![1.0, 1.0]);
        assert_eq!(get(ReduceOp::ArgMax), vec![1.0, 0.0]);
        assert_eq!(get(ReduceOp::Any), vec![1.0, 1.0]);
        assert_eq!(get(ReduceOp::All), vec![0.0, 1.0]);
        // Ties across blocks: the global first occurrence wins, whatever the combine order.
        let y = f64s(&[6], vec![2.0, 1.0, 5.0, 1.0, 1.0, 0.5 + 0.5]);
        for (a, b) in [(1usize, 2usize), (2, 4), (1, 5), (3, 5)] {
            let mk = |s: usize, e: usize| {
                let blk = y
                    .as_typed::<f64>()
                    .unwrap()
                    .slice_axis(Axis(0), Slice::from(s..e));
                let blk = DynArray::new(blk.to_owned());
                let pos = ArgPosition {
                    offsets: &[s as u64],
                    full_lens: &[6],
                };
                chunk_state(ReduceOp::ArgMin, &blk, &[0], Some(&pos)).unwrap()
            };
            let (p, q, r) = (mk(0, a), mk(a, b), mk(b, 6));
            // Parts deliberately out of order: global indices make the merge order-independent.
            let parts: Vec<&[DynArray]> = vec![&r, &q, &p];
            let st = combine_states(ReduceOp::ArgMin, &parts, &[3], &[0]).unwrap();
            let out = finalize(ReduceOp::ArgMin, &st, &[0], false, DType::F64).unwrap();
            assert_eq!(out, DynArray::new(ArrayD::from_elem(IxDyn(&[]), 1i64)));
        }
    }

    #[test]
    fn empty_arrays() {
        let x = f64s(&[0, 3], vec![]);
        assert_eq!(whole(ReduceOp::Sum, &x, &[0]), f64s(&[3], vec![0.0; 3]));
        assert_eq!(whole(ReduceOp::Prod, &x, &[0]), f64s(&[3], vec![1.0; 3]));
        match whole(ReduceOp::Mean, &x, &[0, 1]) {
            DynArray::F64(a) => assert!(a.shape().is_empty() && a.iter().all(|v| v.is_nan())),
            o => panic!("{o:?}"),
        }
        match whole(ReduceOp::Var { ddof: 1 }, &x, &[0]) {
            DynArray::F64(a) => assert!(a.len() == 3 && a.iter().all(|v| v.is_nan())),
            o => panic!("{o:?}"),
        }
        let b = DynArray::new(ArrayD::<bool>::from_elem(IxDyn(&[2, 0]), true));
        assert_eq!(
            whole(ReduceOp::Any, &b, &[1]),
            DynArray::new(ArrayD::from_elem(IxDyn(&[2]), false))
        );
        assert_eq!(
            whole(ReduceOp::All, &b, &[1]),
            DynArray::new(ArrayD::from_elem(IxDyn(&[2]), true))
        );
        assert_eq!(
            whole(ReduceOp::Sum, &b, &[1]),
            DynArray::new(ArrayD::from_elem(IxDyn(&[2]), 0i64))
        );
        assert!(chunk_state(ReduceOp::Min, &x, &[0], None).is_err());
        // Min over the non-empty axis of an empty array is an empty result.
        assert_eq!(whole(ReduceOp::Min, &x, &[1]).shape(), &[0]);
    }

    #[test]
    fn var_known_values() {
        // numpy: np.var([1, 2, 3, 4], ddof=1) == 1.6666666666666667, np.std(..., ddof=0) == 1.118033988749895
        let x = DynArray::new(ArrayD::from_shape_vec(IxDyn(&[4]), vec![1i32, 2, 3, 4]).unwrap());
        let v = whole(ReduceOp::Var { ddof: 1 }, &x, &[0]);
        assert_close(&v, &f64s(&[], vec![1.6666666666666667]), "var");
        let s = whole(ReduceOp::Std { ddof: 0 }, &x, &[0]);
        assert_close(&s, &f64s(&[], vec![1.118033988749895]), "std");
        // ddof == count: 0/0 is nan for constant data, x/0 is inf otherwise.
        let c = f64s(&[2], vec![5.0, 5.0]);
        match whole(ReduceOp::Var { ddof: 2 }, &c, &[0]) {
            DynArray::F64(a) => assert!(a.iter().all(|v| v.is_nan())),
            o => panic!("{o:?}"),
        }
        assert_eq!(
            whole(ReduceOp::Var { ddof: 2 }, &f64s(&[2], vec![1.0, 2.0]), &[0]),
            f64s(&[], vec![f64::INFINITY])
        );
        // Large offset: stable (no sum of squares).
        let big = f64s(&[4], vec![1e9 + 4.0, 1e9 + 7.0, 1e9 + 13.0, 1e9 + 16.0]);
        assert_close(
            &whole(ReduceOp::Var { ddof: 0 }, &big, &[0]),
            &f64s(&[], vec![22.5]),
            "big",
        );
    }

    #[test]
    fn f32_output_types() {
        let x = DynArray::new(
            ArrayD::from_shape_vec(IxDyn(&[2, 2]), vec![1.0f32, 2.0, 3.0, 4.0]).unwrap(),
        );
        for op in ALL_OPS {
            assert_eq!(
                whole(op, &x, &[0]).dtype(),
                op.output_dtype(DType::F32),
                "{op:?}"
            );
        }
        let u = DynArray::new(ArrayD::from_shape_vec(IxDyn(&[3]), vec![200u8, 100, 255]).unwrap());
        assert_eq!(
            whole(ReduceOp::Sum, &u, &[0]),
            DynArray::new(ArrayD::from_elem(IxDyn(&[]), 555u64))
        );
        // NumPy: sums and products of signed integers are i64, of unsigned ones u64
        // (wrapping), min and max keep the type.
        let i =
            DynArray::new(ArrayD::from_shape_vec(IxDyn(&[3]), vec![-100i8, -100, 127]).unwrap());
        assert_eq!(
            whole(ReduceOp::Sum, &i, &[0]),
            DynArray::new(ArrayD::from_elem(IxDyn(&[]), -73i64))
        );
        assert_eq!(
            whole(ReduceOp::Min, &i, &[0]),
            DynArray::new(ArrayD::from_elem(IxDyn(&[]), -100i8))
        );
        let big = DynArray::new(ArrayD::from_shape_vec(IxDyn(&[2]), vec![u64::MAX, 3]).unwrap());
        assert_eq!(
            whole(ReduceOp::Sum, &big, &[0]),
            DynArray::new(ArrayD::from_elem(IxDyn(&[]), 2u64))
        );
        assert_eq!(
            whole(ReduceOp::Prod, &big, &[0]),
            DynArray::new(ArrayD::from_elem(IxDyn(&[]), u64::MAX - 2))
        );
        assert_eq!(
            whole(ReduceOp::Max, &big, &[0]),
            DynArray::new(ArrayD::from_elem(IxDyn(&[]), u64::MAX))
        );
        assert_eq!(
            whole(ReduceOp::Max, &u, &[0]),
            DynArray::new(ArrayD::from_elem(IxDyn(&[]), 255u8))
        );
    }

    #[test]
    fn bad_inputs_are_errors() {
        let x = f64s(&[2, 3], vec![1.0; 6]);
        assert!(chunk_state(ReduceOp::Sum, &x, &[2], None).is_err());
        assert!(chunk_state(ReduceOp::Sum, &x, &[1, 0], None).is_err());
        assert!(chunk_state(ReduceOp::ArgMin, &x, &[1], None).is_err());
        assert!(chunk_state(
            ReduceOp::ArgMin,
            &x,
            &[1],
            Some(&ArgPosition {
                offsets: &[5],
                full_lens: &[6]
            })
        )
        .is_err());
        let a = chunk_state(ReduceOp::Var { ddof: 0 }, &x, &[1], None).unwrap();
        let b = chunk_state(ReduceOp::Var { ddof: 0 }, &x, &[0], None).unwrap();
        assert!(combine_states(ReduceOp::Var { ddof: 0 }, &[&a, &b], &[1, 2], &[1]).is_err());
        assert!(combine_states(ReduceOp::Var { ddof: 0 }, &[&a, &a], &[1, 3], &[1]).is_err());
        assert!(combine_states(ReduceOp::Var { ddof: 0 }, &[&a, &a], &[2, 1], &[1]).is_err());
        assert!(combine_states(ReduceOp::Var { ddof: 0 }, &[], &[1, 1], &[1]).is_err());
        let s = chunk_state(ReduceOp::Sum, &x, &[1], None).unwrap();
        assert!(combine_states(ReduceOp::Sum, &[&a[..1], &s], &[1, 2], &[1]).is_err());
        assert!(finalize(ReduceOp::Sum, &s, &[1], false, DType::I32).is_err());
        assert!(finalize(ReduceOp::Mean, &s, &[1], false, DType::F64).is_err());
        assert!(finalize(ReduceOp::Sum, &s, &[0], false, DType::F64).is_err());
    }
}
