//! Source kernels: from-array blocks, constants, counter-based random numbers, ranges.

use chunkwise_ir::slice::SliceItem;
use chunkwise_ir::{with_array, with_dtype, DType, Distribution, DynArray, Element, Window};
use ndarray::{ArrayD, IxDyn, Slice};
use std::ops::Range;

use super::num::Num;

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

/// A uniform double in [0, 1) for stream `seed` at counter `i`.
#[inline(always)]
fn uniform01(seed: u64, i: u64) -> f64 {
    let h =
        mix(mix(seed ^ 0x9e37_79b9_7f4a_7c15).wrapping_add(i.wrapping_mul(0x9e37_79b9_7f4a_7c15)));
    (h >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
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
    let mut vals = Vec::with_capacity(total);
    let nd = ranges.len();
    if total > 0 {
        // Iterate rows of the last axis; the counter of a row start is computed once.
        let mut idx: Vec<u64> = ranges.iter().map(|r| r.start).collect();
        let row = if nd == 0 { 1 } else { shape[nd - 1] };
        let step = if nd == 0 {
            0
        } else {
            counters.deltas[nd - 1] as u64
        };
        loop {
            let g0 = idx
                .iter()
                .zip(&counters.deltas)
                .fold(counters.offset, |acc, (&i, &d)| acc + i as i128 * d)
                as u64;
            for k in 0..row as u64 {
                let g = g0.wrapping_add(k.wrapping_mul(step));
                let v = match dist {
                    Distribution::Uniform { low, high } => low + (high - low) * uniform01(seed, g),
                    Distribution::Normal { mean, std } => {
                        // Box-Muller on two independent counters.
                        let u1 = 1.0 - uniform01(seed, 2 * g);
                        let u2 = uniform01(seed, 2 * g + 1);
                        mean + std * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
                    }
                };
                vals.push(v);
            }
            // Advance the row odometer over all axes but the last.
            let mut ax = nd.saturating_sub(1);
            loop {
                if ax == 0 {
                    return finish(dtype, vals, &shape);
                }
                ax -= 1;
                idx[ax] += 1;
                if idx[ax] < ranges[ax].end {
                    break;
                }
                idx[ax] = ranges[ax].start;
            }
        }
    }
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
