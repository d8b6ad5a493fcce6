//! The Array API standard's manipulation functions (2023.12): reshape, squeeze,
//! expand_dims, broadcast_to, broadcast_arrays, flip, roll, moveaxis, permute_dims,
//! repeat, tile and unstack, with NumPy's semantics.
//!
//! Everything is lazy and built from the existing layers: slices (flip, squeeze,
//! expand_dims, unstack, the pieces of roll and repeat), concatenations (roll, repeat with
//! one count per element), transposes (moveaxis) and two blockwise layers whose named
//! kernel declares its own output grid (a *reshaping* kernel,
//! [`chunkwise_ir::register_reshaping_kernel`]): the per-block reshape and the chunked
//! broadcast. `tile` and `repeat` by a count are a broadcast then a reshape, so the graph
//! has a few layers whatever the counts.
//!
//! **Reshape** is planned as Dask's `reshape_rechunk`: the axes are cut into groups whose
//! lengths have equal products on both sides (`(6, 4, 5) -> (24, 5)`: `(6, 4) -> (24)` and
//! `(5) -> (5)`). In a group, every input axis but the first and every output axis but the
//! first are made one chunk; the first input axis keeps its chunks, rounded to multiples of
//! `lcm(Q, R) / Q` (`Q`, `R`: the products of the other input, output axes) and split so
//! that a block holds no more of the group than the largest input block did. Then every
//! input block is a contiguous run of the group's C-order positions, and so is one output
//! block: a rechunk, then one reshape per block, with the output grid (the first output
//! axis chunked as the first input axis, scaled by `Q / R`).

use super::{broadcast_shapes, norm_axis, Array, SYMS};
use crate::error::Result;
use chunkwise_ir::grid::checked_product;
use chunkwise_ir::slice::SliceArg;
use chunkwise_ir::{
    register_reshaping_kernel, AxisChunks, Blockwise, ChunkGrid, DType, DynArray, IrError, Kernel,
    KernelCall, Node, Sym,
};
use ndarray::{IxDyn, Order};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::ops::Range;

/// Symbols beyond the letters, for a reshape between two arrays of many dimensions.
const MORE_SYMS: &[u8] = b"0123456789!#$%&*+-/<=>?@^~";

/// The most arrays [`Array::unstack`] returns.
const MAX_UNSTACK: u64 = 1 << 24;

/// The elements a broadcast block grows to along broadcast axes (unless the input's blocks
/// are larger).
const BROADCAST_BLOCK_ELEMENTS: u64 = 1 << 20;

/// The counts of [`Array::repeat`]: one for every element, or one per element of the axis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Repeats {
    /// Every element `n` times.
    Each(i64),
    /// Element `i` `counts[i]` times (one count per element of the axis, or one for all).
    PerElement(Vec<i64>),
}

impl From<i64> for Repeats {
    fn from(n: i64) -> Repeats {
        Repeats::Each(n)
    }
}
impl From<Vec<i64>> for Repeats {
    fn from(v: Vec<i64>) -> Repeats {
        Repeats::PerElement(v)
    }
}
impl From<&[i64]> for Repeats {
    fn from(v: &[i64]) -> Repeats {
        Repeats::PerElement(v.to_vec())
    }
}

fn invalid(msg: String) -> crate::error::Error {
    IrError::InvalidArgument(msg).into()
}

/// `n` distinct index symbols.
fn syms(n: usize) -> Result<Vec<Sym>> {
    let pool = SYMS.iter().chain(MORE_SYMS);
    if n > SYMS.len() + MORE_SYMS.len() {
        return Err(invalid(format!("{n} dimensions are too many")));
    }
    Ok(pool.take(n).copied().collect())
}

/// Axes normalized against `ndim`, refusing repeats.
fn norm_axes(axes: &[isize], ndim: usize, what: &str) -> Result<Vec<usize>> {
    let mut out = Vec::with_capacity(axes.len());
    for &a in axes {
        let b = norm_axis(a, ndim)?;
        if out.contains(&b) {
            return Err(IrError::InvalidAxis(format!("{what}: axis {a} is repeated")).into());
        }
        out.push(b);
    }
    Ok(out)
}

/// A registry name for a reshaping kernel: its operation, dtype and grid (so equal
/// operations share one kernel and graph files find the right one).
fn kernel_name(op: &str, dtype: DType, grid: &ChunkGrid) -> String {
    let mut h = DefaultHasher::new();
    (dtype, grid).hash(&mut h);
    format!("{op}-{:016x}", h.finish())
}

/// Each input block reshaped (C order) to the output block's shape.
fn reshape_block(call: &KernelCall<'_>) -> std::result::Result<DynArray, String> {
    let x = call.inputs.first().ok_or("reshape takes one input")?;
    chunkwise_ir::with_array!(x, a => {
        let b = a
            .to_shape((IxDyn(call.shape), Order::RowMajor))
            .map_err(|e| format!("block of shape {:?} to {:?}: {e}", a.shape(), call.shape))?;
        Ok(DynArray::new(b.into_owned()))
    })
}

/// Each input block broadcast to the output block's shape.
fn broadcast_block(call: &KernelCall<'_>) -> std::result::Result<DynArray, String> {
    let x = call.inputs.first().ok_or("broadcast_to takes one input")?;
    chunkwise_ir::with_array!(x, a => {
        let b = a.broadcast(IxDyn(call.shape)).ok_or_else(|| {
            format!("block of shape {:?} does not broadcast to {:?}", a.shape(), call.shape)
        })?;
        Ok(DynArray::new(b.to_owned()))
    })
}

/// NumPy's shape inference: at most one `-1`, the other lengths non-negative, the product
/// equal to `size`.
fn infer_shape(in_shape: &[u64], shape: &[i64]) -> Result<Vec<u64>> {
    let fail = || {
        crate::error::Error::from(IrError::ShapeMismatch(format!(
            "cannot reshape array of shape {in_shape:?} into shape {shape:?}"
        )))
    };
    let size = checked_product(in_shape).ok_or_else(fail)?;
    if shape.iter().filter(|&&l| l == -1).count() > 1 || shape.iter().any(|&l| l < -1) {
        return Err(invalid(format!(
            "reshape to {shape:?}: lengths must be non-negative, with at most one -1"
        )));
    }
    let known: Vec<u64> = shape
        .iter()
        .filter(|&&l| l >= 0)
        .map(|&l| l as u64)
        .collect();
    let known_size = checked_product(&known).ok_or_else(fail)?;
    let inferred = if known.len() < shape.len() {
        if known_size == 0 || size % known_size != 0 {
            return Err(fail());
        }
        size / known_size
    } else if known_size != size {
        return Err(fail());
    } else {
        0
    };
    Ok(shape
        .iter()
        .map(|&l| if l < 0 { inferred } else { l as u64 })
        .collect())
}

/// The groups of a reshape between shapes of no zero length: pairs of input and output axis
/// ranges with equal products, an axis of length 1 alone in its group.
fn groups(a: &[u64], b: &[u64]) -> Vec<(Range<usize>, Range<usize>)> {
    let (mut i, mut o) = (0, 0);
    let mut out = Vec::new();
    while i < a.len() || o < b.len() {
        if a.get(i) == Some(&1) {
            out.push((i..i + 1, o..o));
            i += 1;
        } else if b.get(o) == Some(&1) {
            out.push((i..i, o..o + 1));
            o += 1;
        } else {
            // Equal total products: both sides have an axis longer than 1 left.
            let (i0, o0) = (i, o);
            let (mut p, mut q) = (a[i], b[o]);
            (i, o) = (i + 1, o + 1);
            while p != q {
                if p < q {
                    p *= a[i];
                    i += 1;
                } else {
                    q *= b[o];
                    o += 1;
                }
            }
            out.push((i0..i, o0..o));
        }
    }
    out
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// The chunks of a group's first input axis: boundaries at multiples of `step`, blocks of
/// at most `cap` rows where that does not list too many chunks (`cap` is a multiple of
/// `step`, and `step` divides the axis length).
fn fit_axis(a: &AxisChunks, step: u64, cap: u64) -> Result<AxisChunks> {
    let len = a.len();
    let snap = |x: u64| (x / step * step).max(step);
    Ok(match *a {
        AxisChunks::Uniform { chunk, first, .. } => {
            let c = snap(chunk.min(cap));
            AxisChunks::uniform(len, c, snap(first.min(c)))?
        }
        AxisChunks::Explicit { ref offsets } => {
            let mut bounds: Vec<u64> = offsets[1..]
                .iter()
                .map(|&o| if o == len { len } else { o / step * step })
                .collect();
            bounds.dedup();
            let mut lens = Vec::with_capacity(bounds.len());
            let mut prev = 0;
            for b in bounds.into_iter().filter(|&b| b > 0) {
                lens.push(b - prev);
                prev = b;
            }
            let pieces: u64 = lens.iter().map(|l| l.div_ceil(cap)).sum();
            if pieces <= chunkwise_ir::grid::MAX_LISTED_CHUNKS {
                lens = lens
                    .iter()
                    .flat_map(|&l| {
                        let n = l.div_ceil(cap);
                        (0..n).map(move |k| if k + 1 < n { cap } else { l - k * cap })
                    })
                    .collect();
            }
            AxisChunks::try_from_lengths(&lens)?
        }
    })
}

/// `a`'s chunks with every length times `q / r` (exact: each is a multiple of `r / gcd`).
fn scale_axis(a: &AxisChunks, q: u64, r: u64) -> Result<AxisChunks> {
    let s = |x: u64| (x as u128 * q as u128 / r as u128) as u64;
    Ok(match *a {
        AxisChunks::Uniform { len, chunk, first } => {
            AxisChunks::uniform(s(len), s(chunk).max(1), s(first).max(1))?
        }
        AxisChunks::Explicit { .. } => {
            let lens: Vec<u64> = a.lengths().into_iter().map(s).collect();
            AxisChunks::try_from_lengths(&lens)?
        }
    })
}

/// The reshape plan: the input's grid after the rechunk, the output grid, and for each
/// output axis the input axis whose blocks it follows (the first axes of the groups).
struct Plan {
    in_grid: ChunkGrid,
    out_grid: ChunkGrid,
    follows: Vec<Option<usize>>,
}

fn plan_reshape(chunks: &ChunkGrid, out: &[u64]) -> Result<Plan> {
    let a = chunks.shape();
    let whole = |len: u64| AxisChunks::from_lengths(&[len]);
    if a.contains(&0) || out.contains(&0) {
        return Ok(Plan {
            in_grid: ChunkGrid::new(a.iter().map(|&l| whole(l)).collect()),
            out_grid: ChunkGrid::new(out.iter().map(|&l| whole(l)).collect()),
            follows: vec![None; out.len()],
        });
    }
    let mut in_axes: Vec<AxisChunks> = a.iter().map(|&l| whole(l)).collect();
    let mut out_axes: Vec<AxisChunks> = out.iter().map(|&l| whole(l)).collect();
    let mut follows = vec![None; out.len()];
    for (gi, go) in groups(&a, out) {
        if gi.is_empty() || go.is_empty() {
            continue; // an axis of length 1: one chunk
        }
        let (i0, o0) = (gi.start, go.start);
        let q: u64 = a[i0 + 1..gi.end].iter().product();
        let r: u64 = out[o0 + 1..go.end].iter().product();
        let step = r / gcd(q, r); // lcm(q, r) / q
        let largest = gi
            .clone()
            .map(|k| chunks.axis(k).max_chunk())
            .fold(1u64, u64::saturating_mul);
        let cap = ((largest / q) / step * step).max(step);
        let lead = fit_axis(chunks.axis(i0), step, cap)?;
        out_axes[o0] = scale_axis(&lead, q, r)?;
        in_axes[i0] = lead;
        follows[o0] = Some(i0);
    }
    Ok(Plan {
        in_grid: ChunkGrid::new(in_axes),
        out_grid: ChunkGrid::new(out_axes),
        follows,
    })
}

impl Array {
    /// The same elements in another shape (C order), as NumPy's `reshape`: one length may
    /// be `-1`, inferred from the others. Planned as Dask's (see the module docs): a
    /// rechunk so that every output block is one input block, then one reshape per block;
    /// adding or removing axes of length 1 is a slice.
    ///
    /// ```
    /// use chunkwise::Array;
    /// let x = Array::arange(0.0, 12.0, 1.0, 5).unwrap();
    /// let y = x.reshape(&[3, -1]).unwrap();
    /// assert_eq!(y.shape(), vec![3, 4]);
    /// let v = y.compute::<i64>().unwrap();
    /// assert_eq!(v[[2, 1]], 9);
    /// assert!(x.reshape(&[5, -1]).is_err());
    /// ```
    pub fn reshape(&self, shape: &[i64]) -> Result<Array> {
        let n = self.node()?;
        let in_shape = n.shape();
        let out = infer_shape(&in_shape, shape)?;
        if out == in_shape {
            return Ok(self.clone());
        }
        let not_one = |s: &[u64]| s.iter().copied().filter(|&l| l != 1).collect::<Vec<_>>();
        if not_one(&in_shape) == not_one(&out) {
            // Only axes of length 1 come or go.
            let dropped: Vec<SliceArg> = in_shape
                .iter()
                .map(|&l| {
                    if l == 1 {
                        SliceArg::Index(0)
                    } else {
                        SliceArg::ALL
                    }
                })
                .collect();
            let added: Vec<SliceArg> = out
                .iter()
                .map(|&l| {
                    if l == 1 {
                        SliceArg::NewAxis
                    } else {
                        SliceArg::ALL
                    }
                })
                .collect();
            return self.slice(&dropped)?.slice(&added);
        }
        let plan = plan_reshape(n.chunks(), &out)?;
        let input = Node::rechunk(n.clone(), plan.in_grid)?;
        let s = syms(in_shape.len() + out.len())?;
        let (in_ind, out_syms) = s.split_at(in_shape.len());
        let mut new_axes = Vec::new();
        let out_ind: Vec<Sym> = plan
            .follows
            .iter()
            .enumerate()
            .map(|(o, f)| match f {
                Some(i) => in_ind[*i],
                None => {
                    new_axes.push((out_syms[o], out[o]));
                    out_syms[o]
                }
            })
            .collect();
        let name = kernel_name("reshape", n.dtype(), &plan.out_grid);
        let k = register_reshaping_kernel(&name, n.dtype(), plan.out_grid, reshape_block);
        Ok(Array::from_node(Node::blockwise(Blockwise {
            out_ind,
            inputs: vec![(input, in_ind.to_vec())],
            new_axes,
            kernel: Kernel::Named(k),
        })?))
    }

    /// Removes the given axes, each of length 1 (negative axes count from the end).
    ///
    /// ```
    /// use chunkwise::Array;
    /// let x = Array::zeros(&[1, 3, 1], &[1, 2, 1], chunkwise::DType::F64).unwrap();
    /// assert_eq!(x.squeeze(&[0, -1]).unwrap().shape(), vec![3]);
    /// assert!(x.squeeze(&[1]).is_err());
    /// ```
    pub fn squeeze(&self, axes: &[isize]) -> Result<Array> {
        let shape = self.node()?.shape();
        let axes = norm_axes(axes, shape.len(), "squeeze")?;
        if let Some(&a) = axes.iter().find(|&&a| shape[a] != 1) {
            return Err(IrError::ShapeMismatch(format!(
                "cannot squeeze axis {a} of length {} (shape {shape:?})",
                shape[a]
            ))
            .into());
        }
        let args: Vec<SliceArg> = (0..shape.len())
            .map(|a| {
                if axes.contains(&a) {
                    SliceArg::Index(0)
                } else {
                    SliceArg::ALL
                }
            })
            .collect();
        self.slice(&args)
    }

    /// A new axis of length 1 at position `axis` of the result (`-1`: last).
    ///
    /// ```
    /// use chunkwise::Array;
    /// let x = Array::arange(0.0, 4.0, 1.0, 2).unwrap();
    /// assert_eq!(x.expand_dims(0).unwrap().shape(), vec![1, 4]);
    /// assert_eq!(x.expand_dims(-1).unwrap().shape(), vec![4, 1]);
    /// ```
    pub fn expand_dims(&self, axis: isize) -> Result<Array> {
        let nd = self.node()?.ndim();
        let axis = norm_axis(axis, nd + 1)?;
        let mut args = vec![SliceArg::ALL; axis];
        args.push(SliceArg::NewAxis);
        self.slice(&args)
    }

    /// This array broadcast to `shape` (NumPy rules: axes of length 1 stretch, new axes
    /// come first). Lazy: one blockwise layer; the stretched and new axes are cut into
    /// chunks so that a block has about as many elements as the input's largest block, or
    /// 2^20.
    ///
    /// ```
    /// use chunkwise::Array;
    /// let x = Array::arange(0.0, 3.0, 1.0, 2).unwrap();
    /// let y = x.broadcast_to(&[2, 3]).unwrap();
    /// assert_eq!(y.compute::<i64>().unwrap().into_raw_vec_and_offset().0, vec![0, 1, 2, 0, 1, 2]);
    /// assert!(x.broadcast_to(&[4]).is_err());
    /// ```
    pub fn broadcast_to(&self, shape: &[u64]) -> Result<Array> {
        let n = self.node()?;
        let in_shape = n.shape();
        let off = shape.len().checked_sub(in_shape.len());
        let fits = off.is_some_and(|off| {
            in_shape
                .iter()
                .zip(&shape[off..])
                .all(|(&a, &b)| a == b || a == 1)
        });
        let Some(off) = off.filter(|_| fits) else {
            return Err(IrError::ShapeMismatch(format!(
                "cannot broadcast shape {in_shape:?} to {shape:?}"
            ))
            .into());
        };
        if shape == in_shape.as_slice() {
            return Ok(self.clone());
        }
        let stretched = |j: usize| j < off || (in_shape[j - off] == 1 && shape[j] != 1);
        let mut block = (0..in_shape.len())
            .map(|k| n.chunks().axis(k).max_chunk())
            .fold(1u64, u64::saturating_mul);
        let budget = block.max(BROADCAST_BLOCK_ELEMENTS);
        let mut axes: Vec<AxisChunks> = (0..shape.len())
            .map(|j| {
                if j < off {
                    AxisChunks::from_lengths(&[shape[j]])
                } else {
                    n.chunks().axis(j - off).clone()
                }
            })
            .collect();
        for j in (0..shape.len()).rev().filter(|&j| stretched(j)) {
            let c = (budget / block.max(1)).clamp(1, shape[j].max(1));
            block = block.saturating_mul(c);
            axes[j] = AxisChunks::regular(shape[j], c)?;
        }
        let grid = ChunkGrid::new(axes);
        let s = syms(shape.len())?;
        let new_axes = (0..off).map(|j| (s[j], shape[j])).collect();
        let name = kernel_name("broadcast_to", n.dtype(), &grid);
        let k = register_reshaping_kernel(&name, n.dtype(), grid, broadcast_block);
        Ok(Array::from_node(Node::blockwise(Blockwise {
            out_ind: s.clone(),
            inputs: vec![(n.clone(), s[off..].to_vec())],
            new_axes,
            kernel: Kernel::Named(k),
        })?))
    }

    /// The arrays broadcast against each other (NumPy's `broadcast_arrays`).
    ///
    /// ```
    /// use chunkwise::Array;
    /// let a = Array::arange(0.0, 3.0, 1.0, 2).unwrap();
    /// let b = Array::zeros(&[2, 1], &[1, 1], chunkwise::DType::F64).unwrap();
    /// let out = Array::broadcast_arrays(&[a, b]).unwrap();
    /// assert_eq!(out[0].shape(), vec![2, 3]);
    /// assert_eq!(out[1].shape(), vec![2, 3]);
    /// ```
    pub fn broadcast_arrays(arrays: &[Array]) -> Result<Vec<Array>> {
        let shapes = arrays
            .iter()
            .map(|a| Ok(a.node()?.shape()))
            .collect::<Result<Vec<_>>>()?;
        let shape = broadcast_shapes(&shapes)?;
        arrays.iter().map(|a| a.broadcast_to(&shape)).collect()
    }

    /// The elements in reverse order along `axes` (`None`: every axis).
    ///
    /// ```
    /// use chunkwise::Array;
    /// let x = Array::arange(0.0, 5.0, 1.0, 2).unwrap();
    /// let y = x.flip(None).unwrap();
    /// assert_eq!(y.compute::<i64>().unwrap().into_raw_vec_and_offset().0, vec![4, 3, 2, 1, 0]);
    /// ```
    pub fn flip(&self, axes: Option<&[isize]>) -> Result<Array> {
        let nd = self.node()?.ndim();
        let axes = match axes {
            Some(a) => norm_axes(a, nd, "flip")?,
            None => (0..nd).collect(),
        };
        let reversed = SliceArg::Range {
            start: None,
            stop: None,
            step: Some(-1),
        };
        let args: Vec<SliceArg> = (0..nd)
            .map(|a| {
                if axes.contains(&a) {
                    reversed
                } else {
                    SliceArg::ALL
                }
            })
            .collect();
        self.slice(&args)
    }

    /// The elements shifted by `shift` positions along `axes`, those that leave at one
    /// end coming back at the other (NumPy's `roll`). `axes = None`: the array is rolled
    /// as if flattened (then `shift` has one entry); otherwise `shift` has one entry per
    /// axis or one for all, and an axis named twice is shifted by the sum.
    ///
    /// ```
    /// use chunkwise::Array;
    /// let x = Array::arange(0.0, 5.0, 1.0, 2).unwrap();
    /// let y = x.roll(&[2], None).unwrap();
    /// assert_eq!(y.compute::<i64>().unwrap().into_raw_vec_and_offset().0, vec![3, 4, 0, 1, 2]);
    /// let z = x.roll(&[-6], Some(&[0])).unwrap();
    /// assert_eq!(z.compute::<i64>().unwrap().into_raw_vec_and_offset().0, vec![1, 2, 3, 4, 0]);
    /// ```
    pub fn roll(&self, shift: &[i64], axes: Option<&[isize]>) -> Result<Array> {
        let shape = self.node()?.shape();
        let Some(axes) = axes else {
            if shift.len() != 1 {
                return Err(invalid(format!(
                    "roll without axes takes one shift, got {shift:?}"
                )));
            }
            let dims: Vec<i64> = shape.iter().map(|&l| l as i64).collect();
            return self.reshape(&[-1])?.roll(shift, Some(&[0]))?.reshape(&dims);
        };
        if shift.len() != axes.len() && shift.len() != 1 {
            return Err(invalid(format!(
                "roll: {} shifts for {} axes",
                shift.len(),
                axes.len()
            )));
        }
        let mut total = vec![0i128; shape.len()];
        for (k, &a) in axes.iter().enumerate() {
            total[norm_axis(a, shape.len())?] +=
                shift[if shift.len() == 1 { 0 } else { k }] as i128;
        }
        let mut x = self.clone();
        for (a, t) in total.into_iter().enumerate() {
            let len = shape[a] as i128;
            if len == 0 || t.rem_euclid(len) == 0 {
                continue;
            }
            let cut = (len - t.rem_euclid(len)) as i64;
            let part = |start: Option<i64>, stop: Option<i64>| {
                let mut args = vec![SliceArg::ALL; a];
                args.push(SliceArg::Range {
                    start,
                    stop,
                    step: None,
                });
                x.slice(&args)
            };
            x = Array::concatenate(
                &[part(Some(cut), None)?, part(None, Some(cut))?],
                a as isize,
            )?;
        }
        Ok(x)
    }

    /// Axes moved: axis `source[i]` becomes axis `destination[i]`, the others keep their
    /// order (NumPy's `moveaxis`).
    ///
    /// ```
    /// use chunkwise::Array;
    /// let x = Array::zeros(&[2, 3, 4], &[1, 1, 1], chunkwise::DType::F64).unwrap();
    /// assert_eq!(x.moveaxis(&[0], &[-1]).unwrap().shape(), vec![3, 4, 2]);
    /// ```
    pub fn moveaxis(&self, source: &[isize], destination: &[isize]) -> Result<Array> {
        let nd = self.node()?.ndim();
        if source.len() != destination.len() {
            return Err(invalid(format!(
                "moveaxis: {} source axes but {} destinations",
                source.len(),
                destination.len()
            )));
        }
        let src = norm_axes(source, nd, "moveaxis source")?;
        let dst = norm_axes(destination, nd, "moveaxis destination")?;
        let mut perm: Vec<usize> = (0..nd).filter(|a| !src.contains(a)).collect();
        let mut moves: Vec<(usize, usize)> = dst.into_iter().zip(src).collect();
        moves.sort_unstable();
        for (d, s) in moves {
            perm.insert(d, s);
        }
        self.transpose(&perm)
    }

    /// The standard's name for [`Array::transpose`]: output axis `i` is input axis
    /// `axes[i]`.
    ///
    /// ```
    /// use chunkwise::Array;
    /// let x = Array::zeros(&[2, 3], &[1, 1], chunkwise::DType::F64).unwrap();
    /// assert_eq!(x.permute_dims(&[1, 0]).unwrap().shape(), vec![3, 2]);
    /// ```
    pub fn permute_dims(&self, axes: &[usize]) -> Result<Array> {
        self.transpose(axes)
    }

    /// Each element repeated along `axis` (`None`: of the flattened array), as NumPy's
    /// `repeat`: every element the same number of times ([`Repeats::Each`], an `i64`), or
    /// element `i` `counts[i]` times ([`Repeats::PerElement`], a `Vec<i64>`). A count is
    /// a broadcast and a reshape (a few layers, whatever the count); one count per element
    /// adds a slice and a concatenation input per run of equal counts.
    ///
    /// ```
    /// use chunkwise::Array;
    /// let x = Array::arange(0.0, 3.0, 1.0, 2).unwrap();
    /// let y = x.repeat(2, None).unwrap();
    /// assert_eq!(y.compute::<i64>().unwrap().into_raw_vec_and_offset().0, vec![0, 0, 1, 1, 2, 2]);
    /// let z = x.repeat(vec![1, 0, 3], Some(0)).unwrap();
    /// assert_eq!(z.compute::<i64>().unwrap().into_raw_vec_and_offset().0, vec![0, 2, 2, 2]);
    /// assert!(x.repeat(-1, None).is_err());
    /// ```
    pub fn repeat(&self, repeats: impl Into<Repeats>, axis: Option<isize>) -> Result<Array> {
        let repeats = repeats.into();
        let counts = match &repeats {
            Repeats::Each(c) => std::slice::from_ref(c),
            Repeats::PerElement(v) => v.as_slice(),
        };
        if let Some(c) = counts.iter().find(|&&c| c < 0) {
            return Err(invalid(format!("repeat: negative count {c}")));
        }
        let Some(axis) = axis else {
            return self.reshape(&[-1])?.repeat(repeats, Some(0));
        };
        let shape = self.node()?.shape();
        let axis = norm_axis(axis, shape.len())?;
        let len = shape[axis];
        if counts.len() as u64 != len && counts.len() != 1 {
            return Err(IrError::ShapeMismatch(format!(
                "repeat: {} counts for an axis of length {len}",
                counts.len()
            ))
            .into());
        }
        if counts.len() == 1 {
            let c = counts[0] as u64;
            let size = checked_product(&shape).and_then(|s| s.checked_mul(c));
            if size.is_none_or(|s| s > i64::MAX as u64) {
                return Err(invalid(format!(
                    "repeat: {c} copies of each element of shape {shape:?} overflow"
                )));
            }
            let out_len = len * c;
            if c == 1 {
                return Ok(self.clone());
            }
            let mut args = vec![SliceArg::ALL; axis + 1];
            args.push(SliceArg::NewAxis);
            let mut wide = shape.clone();
            wide.insert(axis + 1, c);
            let mut out: Vec<i64> = shape.iter().map(|&l| l as i64).collect();
            out[axis] = out_len as i64;
            return self.slice(&args)?.broadcast_to(&wide)?.reshape(&out);
        }
        // Runs of equal counts, each a slice repeated by its count.
        let mut pieces = Vec::new();
        let mut start = 0;
        for (i, &c) in counts.iter().enumerate() {
            if counts.get(i + 1) == Some(&c) {
                continue;
            }
            if c > 0 {
                let mut args = vec![SliceArg::ALL; axis];
                args.push(SliceArg::Range {
                    start: Some(start as i64),
                    stop: Some(i as i64 + 1),
                    step: None,
                });
                pieces.push(self.slice(&args)?.repeat(c, Some(axis as isize))?);
            }
            start = i + 1;
        }
        match pieces.len() {
            0 => {
                let mut args = vec![SliceArg::ALL; axis];
                args.push(SliceArg::Range {
                    start: Some(0),
                    stop: Some(0),
                    step: None,
                });
                self.slice(&args)
            }
            1 => Ok(pieces.remove(0)),
            _ => Array::concatenate(&pieces, axis as isize),
        }
    }

    /// This array repeated `reps[i]` times along axis `i` (NumPy's `tile`: the shorter of
    /// the shape and `reps` is padded with leading 1s). A broadcast and a reshape: a few
    /// layers, whatever the counts.
    ///
    /// ```
    /// use chunkwise::Array;
    /// let x = Array::arange(0.0, 3.0, 1.0, 2).unwrap();
    /// let y = x.tile(&[2, 2]).unwrap();
    /// assert_eq!(y.shape(), vec![2, 6]);
    /// assert_eq!(y.compute::<i64>().unwrap().into_raw_vec_and_offset().0,
    ///            vec![0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2]);
    /// ```
    pub fn tile(&self, reps: &[u64]) -> Result<Array> {
        let shape = self.node()?.shape();
        let nd = shape.len().max(reps.len());
        let pad = |v: &[u64]| {
            let mut p = vec![1u64; nd - v.len()];
            p.extend_from_slice(v);
            p
        };
        let (dims, reps) = (pad(&shape), pad(reps));
        let out: Vec<u64> = dims
            .iter()
            .zip(&reps)
            .map(|(&d, &r)| d.checked_mul(r))
            .collect::<Option<_>>()
            .filter(|o: &Vec<u64>| checked_product(o).is_some_and(|s| s <= i64::MAX as u64))
            .ok_or_else(|| invalid(format!("tile: shape {shape:?} times {reps:?} overflows")))?;
        let x = self.reshape(&dims.iter().map(|&d| d as i64).collect::<Vec<_>>())?;
        if reps.iter().all(|&r| r == 1) {
            return Ok(x);
        }
        // (d0, d1, ...) -> (1, d0, 1, d1, ...) -> (r0, d0, r1, d1, ...) -> (r0 d0, r1 d1, ...).
        let args: Vec<SliceArg> = (0..nd)
            .flat_map(|_| [SliceArg::NewAxis, SliceArg::ALL])
            .collect();
        let wide: Vec<u64> = reps.iter().zip(&dims).flat_map(|(&r, &d)| [r, d]).collect();
        x.slice(&args)?
            .broadcast_to(&wide)?
            .reshape(&out.iter().map(|&o| o as i64).collect::<Vec<_>>())
    }

    /// The arrays along `axis`: element `i` is the slice at position `i` of that axis
    /// (the inverse of [`Array::stack`]).
    ///
    /// ```
    /// use chunkwise::Array;
    /// let x = Array::zeros(&[2, 3], &[1, 2], chunkwise::DType::F64).unwrap();
    /// let parts = x.unstack(-1).unwrap();
    /// assert_eq!(parts.len(), 3);
    /// assert_eq!(parts[0].shape(), vec![2]);
    /// ```
    pub fn unstack(&self, axis: isize) -> Result<Vec<Array>> {
        let shape = self.node()?.shape();
        let axis = norm_axis(axis, shape.len())?;
        if shape[axis] > MAX_UNSTACK {
            return Err(invalid(format!(
                "unstack: axis {axis} has {} elements, more than the {MAX_UNSTACK} arrays \
                 unstack returns",
                shape[axis]
            )));
        }
        (0..shape[axis] as i64)
            .map(|i| {
                let mut args = vec![SliceArg::ALL; axis];
                args.push(SliceArg::Index(i));
                self.slice(&args)
            })
            .collect()
    }
}
