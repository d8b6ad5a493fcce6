//! Basic indexing: user slice arguments, their normalized form and the chunks they produce.
//!
//! NumPy semantics: ranges clamp to the axis (`x[5:100]` of 10 elements is `x[5:10]`),
//! negative starts and stops count from the end, steps may be negative, integers drop their
//! axis (and must be in range: `x[10]` of 10 elements is an error), `NewAxis` inserts an axis
//! of length 1, one `Ellipsis` stands for all axes not named.

use crate::error::IrError;
use crate::grid::AxisChunks;
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// One item of a user's index expression.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SliceArg {
    /// `start:stop:step`; `None` takes NumPy's defaults.
    Range {
        /// First position (negative counts from the end).
        start: Option<i64>,
        /// End position, exclusive (negative counts from the end).
        stop: Option<i64>,
        /// Step; must not be 0.
        step: Option<i64>,
    },
    /// A single position (negative counts from the end); drops the axis.
    Index(i64),
    /// `None` / `np.newaxis`: a new axis of length 1.
    NewAxis,
    /// `...`: as many full ranges as needed.
    Ellipsis,
}

impl SliceArg {
    /// The full range `:`.
    pub const ALL: SliceArg = SliceArg::Range {
        start: None,
        stop: None,
        step: None,
    };

    /// `start:stop`.
    pub fn range(start: i64, stop: i64) -> SliceArg {
        SliceArg::Range {
            start: Some(start),
            stop: Some(stop),
            step: None,
        }
    }
}

/// One item of a normalized slice, in output order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum SliceItem {
    /// `count` elements of the input axis: `start, start + step, ...` (`step != 0`).
    Range {
        /// First selected position (meaningless when `count == 0`).
        start: u64,
        /// Step between selected positions.
        step: i64,
        /// Number of selected positions.
        count: u64,
    },
    /// One position of the input axis; the axis is dropped.
    Index {
        /// The position.
        index: u64,
    },
    /// A new output axis of length 1.
    NewAxis,
}

impl SliceItem {
    /// The input position of the `o`-th selected element of a range.
    pub fn position(start: u64, step: i64, o: u64) -> u64 {
        (start as i128 + step as i128 * o as i128) as u64
    }

    /// Whether this item keeps the axis unchanged for an axis of length `len`.
    pub fn is_identity(&self, len: u64) -> bool {
        match *self {
            SliceItem::Range { start, step, count } => {
                count == len && (len == 0 || (start == 0 && step == 1))
            }
            _ => false,
        }
    }
}

/// Normalizes a user index expression against `shape` (NumPy rules, see the module docs).
///
/// ```
/// use chunkwise_ir::slice::{normalize, SliceArg, SliceItem};
/// let items = normalize(&[10, 4], &[SliceArg::Range { start: None, stop: None, step: Some(-3) }, SliceArg::Index(-1)]).unwrap();
/// assert_eq!(items, vec![SliceItem::Range { start: 9, step: -3, count: 4 }, SliceItem::Index { index: 3 }]);
/// assert!(normalize(&[10], &[SliceArg::Index(10)]).is_err());
/// ```
pub fn normalize(shape: &[u64], args: &[SliceArg]) -> Result<Vec<SliceItem>, IrError> {
    let n_ellipsis = args.iter().filter(|a| **a == SliceArg::Ellipsis).count();
    if n_ellipsis > 1 {
        return Err(IrError::InvalidSlice(
            "an index can only have a single ellipsis ('...')".into(),
        ));
    }
    let named = args
        .iter()
        .filter(|a| matches!(a, SliceArg::Range { .. } | SliceArg::Index(_)))
        .count();
    if named > shape.len() {
        return Err(IrError::InvalidSlice(format!(
            "too many indices: array is {}-dimensional, but {named} were indexed",
            shape.len()
        )));
    }
    let mut items = Vec::with_capacity(args.len() + shape.len());
    let mut axis = 0;
    for arg in args {
        match *arg {
            SliceArg::Ellipsis => {
                for _ in 0..shape.len() - named {
                    items.push(full(shape[axis]));
                    axis += 1;
                }
            }
            SliceArg::NewAxis => items.push(SliceItem::NewAxis),
            SliceArg::Index(i) => {
                let len = shape[axis];
                // In i128: an axis longer than i64::MAX must not wrap.
                let j = if i < 0 {
                    i as i128 + len as i128
                } else {
                    i as i128
                };
                if j < 0 || j >= len as i128 {
                    return Err(IrError::InvalidSlice(format!(
                        "index {i} is out of bounds for axis {axis} with size {len}"
                    )));
                }
                items.push(SliceItem::Index { index: j as u64 });
                axis += 1;
            }
            SliceArg::Range { start, stop, step } => {
                items.push(range_item(
                    shape[axis],
                    start,
                    stop,
                    step.unwrap_or(1),
                    axis,
                )?);
                axis += 1;
            }
        }
    }
    while axis < shape.len() {
        items.push(full(shape[axis]));
        axis += 1;
    }
    Ok(items)
}

fn full(len: u64) -> SliceItem {
    SliceItem::Range {
        start: 0,
        step: 1,
        count: len,
    }
}

/// NumPy's `slice.indices` followed by the element count.
fn range_item(
    len: u64,
    start: Option<i64>,
    stop: Option<i64>,
    step: i64,
    axis: usize,
) -> Result<SliceItem, IrError> {
    if step == 0 {
        return Err(IrError::InvalidSlice(format!(
            "slice step cannot be zero (axis {axis})"
        )));
    }
    let n = len as i128;
    let clamp = |v: Option<i64>, default: i128, lo: i128, hi: i128| -> i128 {
        match v {
            None => default,
            Some(v) => {
                let v = v as i128;
                let v = if v < 0 { v + n } else { v };
                v.clamp(lo, hi)
            }
        }
    };
    let (s, e) = if step > 0 {
        (clamp(start, 0, 0, n), clamp(stop, n, 0, n))
    } else {
        (clamp(start, n - 1, -1, n - 1), clamp(stop, -1, -1, n - 1))
    };
    let st = step as i128;
    let count = if step > 0 {
        if e > s {
            (e - s + st - 1) / st
        } else {
            0
        }
    } else if s > e {
        (s - e + (-st) - 1) / (-st)
    } else {
        0
    };
    Ok(SliceItem::Range {
        start: if count == 0 { 0 } else { s as u64 },
        step,
        count: count as u64,
    })
}

/// The chunks of the output axis made by a range item on an input axis.
///
/// Step ±1 keeps the input's chunk boundaries (reversed for -1); larger steps give uniform
/// chunks of `max(1, input_chunk / |step|)` elements, so metadata stays O(1) for uniform axes.
pub fn range_chunks(input: &AxisChunks, start: u64, step: i64, count: u64) -> AxisChunks {
    if count == 0 {
        return AxisChunks::from_lengths(&[]);
    }
    match step {
        1 => input.sub_range(start..start + count),
        -1 => input.sub_range(start + 1 - count..start + 1).reversed(),
        _ => {
            let c = (input.max_chunk() / step.unsigned_abs()).max(1);
            AxisChunks::regular(count, c).expect("chunk size is at least 1")
        }
    }
}

/// A piece of an output block read from one input block along one axis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Piece {
    /// The input block.
    pub in_block: u64,
    /// Position of the first element inside the input block.
    pub in_start: u64,
    /// Step between elements inside the input block.
    pub step: i64,
    /// The output positions filled, relative to the output block.
    pub out: Range<u64>,
}

/// Calls `f` for each input block that holds elements of the output range `out` of a range
/// item (`start`, `step`), in output order, with the piece it contributes. Blocks that hold
/// no selected element are skipped, so the count of calls is at most `min(out.len(), blocks spanned)`.
pub fn for_each_piece(
    input: &AxisChunks,
    start: u64,
    step: i64,
    out: Range<u64>,
    mut f: impl FnMut(Piece),
) {
    let mut o = out.start;
    while o < out.end {
        let pos = SliceItem::position(start, step, o);
        let b = input.block_of(pos);
        let r = input.range(b);
        // Number of selected positions from `o` that stay inside block b.
        let n = if step > 0 {
            (r.end - 1 - pos) / step as u64 + 1
        } else {
            (pos - r.start) / step.unsigned_abs() + 1
        };
        let n = n.min(out.end - o);
        f(Piece {
            in_block: b,
            in_start: pos - r.start,
            step,
            out: o - out.start..o - out.start + n,
        });
        o += n;
    }
}

/// The output shape of `items` applied to an array of `shape`, or why they do not fit.
pub fn output_shape(shape: &[u64], items: &[SliceItem]) -> Result<Vec<u64>, IrError> {
    let mut axis = 0;
    let mut out = Vec::new();
    for item in items {
        match *item {
            SliceItem::NewAxis => out.push(1),
            SliceItem::Index { index } => {
                if axis >= shape.len() || index >= shape[axis] {
                    return Err(IrError::InvalidSlice(format!(
                        "index {index} is out of bounds for axis {axis}"
                    )));
                }
                axis += 1;
            }
            SliceItem::Range { start, step, count } => {
                if axis >= shape.len() {
                    return Err(IrError::InvalidSlice("too many slice items".into()));
                }
                let len = shape[axis];
                // Exact: the last position `start + step * (count - 1)` in i128 (|step| <=
                // 2^63 and count - 1 < 2^64, so the product and the sum fit), compared with
                // the length without truncating it.
                let last = (count > 0)
                    .then(|| {
                        (step as i128)
                            .checked_mul(count as i128 - 1)?
                            .checked_add(start as i128)
                    })
                    .flatten();
                let fits = count == 0
                    || (start < len && matches!(last, Some(l) if l >= 0 && l < len as i128));
                if step == 0 || !fits {
                    return Err(IrError::InvalidSlice(format!(
                        "range start {start} step {step} count {count} does not fit axis {axis} of length {len}"
                    )));
                }
                out.push(count);
                axis += 1;
            }
        }
    }
    if axis != shape.len() {
        return Err(IrError::InvalidSlice(format!(
            "{} slice items for an array of dimension {}",
            axis,
            shape.len()
        )));
    }
    Ok(out)
}

/// The single slice equal to `outer` applied to the result of `inner` (slice of a slice), or
/// `None` when it has no single-slice form (an empty range taken on a new axis).
///
/// Steps multiply, starts compose (`inner.start + outer.start * inner.step`), an index taken
/// on a range becomes an index of the input, and new axes pass through.
///
/// ```
/// use chunkwise_ir::slice::{compose, SliceItem::*};
/// // x[10:50][::-2] == x[49:9:-2]
/// let inner = [Range { start: 10, step: 1, count: 40 }];
/// let outer = [Range { start: 39, step: -2, count: 20 }];
/// assert_eq!(compose(&inner, &outer), Some(vec![Range { start: 49, step: -2, count: 20 }]));
/// // x[:100][5] == x[5]
/// let inner = [Range { start: 0, step: 1, count: 100 }];
/// assert_eq!(compose(&inner, &[Index { index: 5 }]), Some(vec![Index { index: 5 }]));
/// ```
pub fn compose(inner: &[SliceItem], outer: &[SliceItem]) -> Option<Vec<SliceItem>> {
    let mut out = Vec::with_capacity(inner.len() + outer.len());
    let mut it = inner.iter().peekable();
    for o in outer {
        if *o == SliceItem::NewAxis {
            out.push(SliceItem::NewAxis);
            continue;
        }
        // Inner indices produce no output axis: they pass through.
        while let Some(&&SliceItem::Index { index }) = it.peek() {
            out.push(SliceItem::Index { index });
            it.next();
        }
        match (*it.next()?, *o) {
            (
                SliceItem::Range { start, step, .. },
                SliceItem::Range {
                    start: s2,
                    step: t2,
                    count,
                },
            ) => out.push(if count == 0 {
                SliceItem::Range {
                    start: 0,
                    step: 1,
                    count: 0,
                }
            } else {
                SliceItem::Range {
                    start: SliceItem::position(start, step, s2),
                    step: step.checked_mul(t2)?,
                    count,
                }
            }),
            (SliceItem::Range { start, step, .. }, SliceItem::Index { index }) => {
                out.push(SliceItem::Index {
                    index: SliceItem::position(start, step, index),
                })
            }
            (SliceItem::NewAxis, SliceItem::Range { count: 1, .. }) => out.push(SliceItem::NewAxis),
            (SliceItem::NewAxis, SliceItem::Index { .. }) => {}
            _ => return None,
        }
    }
    out.extend(it.copied());
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn numpy_indices(len: i64, start: Option<i64>, stop: Option<i64>, step: i64) -> Vec<i64> {
        // Straightforward reimplementation of Python's list(range(*slice.indices(len))).
        let (s, e) = if step > 0 {
            let s = start.map_or(0, |v| if v < 0 { (v + len).max(0) } else { v.min(len) });
            let e = stop.map_or(len, |v| if v < 0 { (v + len).max(0) } else { v.min(len) });
            (s, e)
        } else {
            let s = start.map_or(len - 1, |v| {
                if v < 0 {
                    (v + len).max(-1)
                } else {
                    v.min(len - 1)
                }
            });
            let e = stop.map_or(-1, |v| {
                if v < 0 {
                    (v + len).max(-1)
                } else {
                    v.min(len - 1)
                }
            });
            (s, e)
        };
        let mut out = vec![];
        let mut i = s;
        while (step > 0 && i < e) || (step < 0 && i > e) {
            out.push(i);
            i += step;
        }
        out
    }

    proptest! {
        #[test]
        fn ranges_match_python(len in 0i64..30, start in proptest::option::of(-40i64..40),
                               stop in proptest::option::of(-40i64..40),
                               step in prop_oneof![-7i64..-1, 1i64..8], chunk in 1u64..7) {
            let item = range_item(len as u64, start, stop, step, 0).unwrap();
            let SliceItem::Range { start: s, step: st, count } = item else { unreachable!() };
            let got: Vec<i64> = (0..count).map(|o| SliceItem::position(s, st, o) as i64).collect();
            prop_assert_eq!(&got, &numpy_indices(len, start, stop, step));
            // Pieces cover the output exactly and point at the right input elements.
            let axis = AxisChunks::regular(len as u64, chunk).unwrap();
            let out = range_chunks(&axis, s, st, count);
            prop_assert_eq!(out.len(), count);
            let mut seen = vec![];
            for ob in 0..out.num_blocks() {
                let r = out.range(ob);
                let mut next = 0;
                for_each_piece(&axis, s, st, r.clone(), |p| {
                    assert_eq!(p.out.start, next);
                    next = p.out.end;
                    let base = axis.range(p.in_block).start;
                    for k in 0..(p.out.end - p.out.start) {
                        let pos = base as i64 + p.in_start as i64 + k as i64 * p.step;
                        assert!(axis.range(p.in_block).contains(&(pos as u64)));
                        seen.push(pos);
                    }
                });
                prop_assert_eq!(next, r.end - r.start);
            }
            prop_assert_eq!(seen, got);
        }
    }

    #[test]
    fn errors_name_the_problem() {
        let e = normalize(
            &[3, 4],
            &[SliceArg::Index(0), SliceArg::Index(0), SliceArg::Index(0)],
        );
        assert!(e.unwrap_err().to_string().contains("too many indices"));
        let e = normalize(
            &[3],
            &[SliceArg::Range {
                start: None,
                stop: None,
                step: Some(0),
            }],
        );
        assert!(e.unwrap_err().to_string().contains("step cannot be zero"));
        let e = normalize(&[3], &[SliceArg::Ellipsis, SliceArg::Ellipsis]);
        assert!(e.is_err());
        let e = normalize(&[3], &[SliceArg::Index(-4)]);
        assert!(e
            .unwrap_err()
            .to_string()
            .contains("out of bounds for axis 0 with size 3"));
    }

    #[test]
    fn ranges_are_checked_without_truncation() {
        // 19 + 2 (2^63 - 1) = 2^64 + 17 is 17 when truncated to 64 bits: not on the axis.
        for (start, step, count) in [
            (19, i64::MAX, 2),
            (19, i64::MAX, 3),
            (0, i64::MIN, 2),
            (0, i64::MIN, 3),
            (5, i64::MAX, u64::MAX),
            (5, i64::MIN, u64::MAX),
        ] {
            let items = [SliceItem::Range { start, step, count }];
            let e = output_shape(&[20], &items).unwrap_err();
            assert!(e.to_string().contains("does not fit axis 0"), "{e}");
        }
        let items = [SliceItem::Range {
            start: 19,
            step: i64::MAX,
            count: 1,
        }];
        assert_eq!(output_shape(&[20], &items).unwrap(), vec![1]);
        // NumPy: x[19::2**63-1] is [x[19]].
        let arg = SliceArg::Range {
            start: Some(19),
            stop: None,
            step: Some(i64::MAX),
        };
        assert_eq!(normalize(&[20], &[arg]).unwrap(), items.to_vec());
        // Negative indices on axes longer than i64::MAX.
        let items = normalize(&[u64::MAX], &[SliceArg::Index(-1)]).unwrap();
        assert_eq!(
            items,
            vec![SliceItem::Index {
                index: u64::MAX - 1
            }]
        );
        let items = normalize(&[1 << 63], &[SliceArg::Index(-1)]).unwrap();
        assert_eq!(
            items,
            vec![SliceItem::Index {
                index: (1 << 63) - 1
            }]
        );
    }

    #[test]
    fn ellipsis_and_new_axes() {
        let items = normalize(
            &[2, 3, 4],
            &[SliceArg::NewAxis, SliceArg::Ellipsis, SliceArg::Index(1)],
        )
        .unwrap();
        assert_eq!(items.len(), 4);
        assert_eq!(items[0], SliceItem::NewAxis);
        assert_eq!(items[3], SliceItem::Index { index: 1 });
    }
}
