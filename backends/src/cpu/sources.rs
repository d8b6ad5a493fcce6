//! Source kernels: from-array blocks, constants, counter-based random numbers, ranges.

use chunkwise_ir::slice::SliceItem;
use chunkwise_ir::{
    with_array, with_dtype, DType, Distribution, DynArray, Element, StoreError, Stored, Window,
};
use ndarray::{ArrayD, IxDyn, Slice};
use std::mem::MaybeUninit;
use std::ops::Range;

use super::num::Num;

/// The block `ranges` of a stored array (or of its `window`): reads the bounding box of the
/// selected elements in the stored array, then applies what remains of the window in memory
/// (steps, dropped and new axes).
pub fn read(
    source: &Stored,
    window: Option<&Window>,
    ranges: &[Range<u64>],
) -> Result<DynArray, StoreError> {
    let Some(w) = window else {
        return source.reader.read(ranges);
    };
    if ranges.iter().any(|r| r.is_empty()) {
        let shape: Vec<usize> = ranges.iter().map(|r| (r.end - r.start) as usize).collect();
        return Ok(
            with_dtype!(source.dtype, T => DynArray::new(ArrayD::<T>::from_elem(IxDyn(&shape), T::default()))),
        );
    }
    // Per stored axis: the range to read and the step within it; per output axis whether it
    // is new.
    let mut boxes = Vec::with_capacity(w.base.len());
    let mut steps = Vec::with_capacity(w.base.len());
    let mut dropped = Vec::new();
    let mut new_axes = Vec::new();
    let mut out_ax = 0;
    for item in &w.items {
        match *item {
            SliceItem::Range { start, step, .. } => {
                let r = &ranges[out_ax];
                let first = SliceItem::position(start, step, r.start);
                let last = SliceItem::position(start, step, r.end - 1);
                boxes.push(first.min(last)..first.max(last) + 1);
                steps.push(step as isize);
                out_ax += 1;
            }
            SliceItem::Index { index } => {
                dropped.push(boxes.len());
                boxes.push(index..index + 1);
                steps.push(1);
            }
            SliceItem::NewAxis => {
                new_axes.push(out_ax);
                out_ax += 1;
            }
        }
    }
    let block = source.reader.read(&boxes)?;
    Ok(with_array!(block, a => {
        let mut v = a.clone();
        for (ax, &step) in steps.iter().enumerate() {
            if step != 1 {
                v.slice_axis_inplace(ndarray::Axis(ax), Slice::new(0, None, step));
            }
        }
        for &ax in dropped.iter().rev() {
            v.index_axis_inplace(ndarray::Axis(ax), 0);
        }
        for &ax in &new_axes {
            v.insert_axis_inplace(ndarray::Axis(ax));
        }
        Element::wrap(v)
    }))
}

/// The block of `data` covering `ranges` (shares the data: no copy).
pub fn from_array(data: &DynArray, ranges: &[Range<u64>]) -> DynArray {
    with_array!(data, a => {
        let mut v = a.clone();
        for (ax, r) in ranges.iter().enumerate() {
            v.slice_axis_inplace(ndarray::Axis(ax), Slice::from(r.start as usize..r.end as usize));
        }
        Element::wrap(v)
    })
}

/// SplitMix64's finalizer: a bijective mix of 64 bits.
#[inline(always)]
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

/// A uniform double in [0, 1) from 64 random bits (the top 52 become the mantissa).
#[inline(always)]
fn unit(h: u64) -> f64 {
    f64::from_bits(0x3ff0_0000_0000_0000 | (h >> 12)) - 1.0
}

/// Fills `out[k]` with the value at counter `g0 + k * step` (wrapping): uniform values come
/// from `mix(mix(seed ^ GOLDEN) + g * GOLDEN)`, normal ones by Box-Muller on the counters
/// `2g` and `2g + 1`.
#[inline(always)]
fn fill(seed: u64, dist: Distribution, g0: u64, step: u64, out: &mut [MaybeUninit<f64>]) {
    let key = mix(seed ^ GOLDEN);
    match dist {
        Distribution::Uniform { low, high } => {
            let span = high - low;
            let (mut h, inc) = (
                key.wrapping_add(g0.wrapping_mul(GOLDEN)),
                step.wrapping_mul(GOLDEN),
            );
            for o in out.iter_mut() {
                o.write(low + span * unit(mix(h)));
                h = h.wrapping_add(inc);
            }
        }
        Distribution::Normal { mean, std } => {
            let mut g = g0;
            for o in out.iter_mut() {
                let u1 = 1.0 - unit(mix(key.wrapping_add((2 * g).wrapping_mul(GOLDEN))));
                let u2 = unit(mix(key.wrapping_add((2 * g + 1).wrapping_mul(GOLDEN))));
                o.write(mean + std * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos());
                g = g.wrapping_add(step);
            }
        }
    }
}

/// [`fill`] with the widest vector instructions the CPU has (detected at run time; the
/// values are the same bits whichever path runs: integer mixing and one multiply-add per
/// element, no fused operations).
fn fill_fast(seed: u64, dist: Distribution, g0: u64, step: u64, out: &mut [MaybeUninit<f64>]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512dq") {
            // SAFETY: the CPU supports AVX-512 F and DQ (checked just above).
            return unsafe { fill_avx512(seed, dist, g0, step, out) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            return unsafe { fill_avx2(seed, dist, g0, step, out) };
        }
    }
    fill(seed, dist, g0, step, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq")]
unsafe fn fill_avx512(
    seed: u64,
    dist: Distribution,
    g0: u64,
    step: u64,
    out: &mut [MaybeUninit<f64>],
) {
    fill(seed, dist, g0, step, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn fill_avx2(
    seed: u64,
    dist: Distribution,
    g0: u64,
    step: u64,
    out: &mut [MaybeUninit<f64>],
) {
    fill(seed, dist, g0, step, out)
}

/// Where the elements of a random layer sit in the counter space of its base array: the
/// counter of the element at output position `p` is `offset + sum(p[ax] * deltas[ax])`.
#[derive(Clone, Debug, PartialEq)]
pub struct Counters {
    /// Counter of the first element.
    pub offset: i128,
    /// Counter step per output axis.
    pub deltas: Vec<i128>,
}

impl Counters {
    /// The counters of a random layer of `shape`, optionally a window of a larger array.
    pub fn new(shape: &[u64], window: Option<&Window>) -> Counters {
        let strides = |shape: &[u64]| {
            let mut st = vec![0i128; shape.len()];
            let mut acc = 1i128;
            for ax in (0..shape.len()).rev() {
                st[ax] = acc;
                acc *= shape[ax] as i128;
            }
            st
        };
        let Some(w) = window else {
            return Counters {
                offset: 0,
                deltas: strides(shape),
            };
        };
        let st = strides(&w.base);
        let (mut offset, mut deltas, mut ax) = (0i128, Vec::new(), 0);
        for item in &w.items {
            match *item {
                SliceItem::NewAxis => deltas.push(0),
                SliceItem::Index { index } => {
                    offset += index as i128 * st[ax];
                    ax += 1;
                }
                SliceItem::Range { start, step, .. } => {
                    offset += start as i128 * st[ax];
                    deltas.push(step as i128 * st[ax]);
                    ax += 1;
                }
            }
        }
        Counters { offset, deltas }
    }
}

/// Random block: the element at counter `g` (its flat C-order position in the base array, see
/// [`Counters`]) is a function of `(seed, g)` only, so any block (or any part of one) can be
/// generated alone and the values do not depend on the chunking.
pub fn random(
    dtype: DType,
    seed: u64,
    dist: Distribution,
    counters: &Counters,
    ranges: &[Range<u64>],
) -> DynArray {
    let shape: Vec<usize> = ranges.iter().map(|r| (r.end - r.start) as usize).collect();
    let total: usize = shape.iter().product();
    // Filled without zeroing first: every element is written below.
    let mut vals: Vec<f64> = Vec::with_capacity(total);
    let nd = ranges.len();
    if total == 0 {
        return finish(dtype, vals, &shape);
    }
    // Rows of the last axis; the counter of a row start is computed once.
    let row = if nd == 0 { 1 } else { shape[nd - 1] };
    let step = if nd == 0 {
        0
    } else {
        counters.deltas[nd - 1] as u64
    };
    let mut idx: Vec<u64> = ranges.iter().map(|r| r.start).collect();
    for out in vals.spare_capacity_mut()[..total].chunks_mut(row) {
        let g0 = idx
            .iter()
            .zip(&counters.deltas)
            .fold(counters.offset, |acc, (&i, &d)| acc + i as i128 * d) as u64;
        fill_fast(seed, dist, g0, step, out);
        // Advance the row odometer over all axes but the last.
        for ax in (0..nd.saturating_sub(1)).rev() {
            idx[ax] += 1;
            if idx[ax] < ranges[ax].end {
                break;
            }
            idx[ax] = ranges[ax].start;
        }
    }
    // SAFETY: the rows above cover the first `total` elements of the spare capacity, and
    // `fill_fast` writes every element of the row it is given.
    unsafe { vals.set_len(total) };
    finish(dtype, vals, &shape)
}

fn finish(dtype: DType, vals: Vec<f64>, shape: &[usize]) -> DynArray {
    with_dtype!(dtype, T => DynArray::new(
        ArrayD::from_shape_vec(IxDyn(shape), vals.into_iter().map(<T as Num>::from_f64).collect())
            .expect("length matches shape")
    ))
}

/// Block `range` of `start + i * step` as `dtype`.
pub fn arange(dtype: DType, start: f64, step: f64, range: Range<u64>) -> DynArray {
    let vals: Vec<f64> = range.clone().map(|i| start + i as f64 * step).collect();
    finish(dtype, vals, &[(range.end - range.start) as usize])
}
