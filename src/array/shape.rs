//! Structure: slicing, rechunking, transposing, concatenating and stacking.

use super::{grid, norm_axis, Array};
use crate::error::Result;
use chunkwise_ir::slice::{normalize, SliceArg};
use chunkwise_ir::{ChunkGrid, DType, IrError, Node};

impl Array {
    /// Basic indexing with NumPy semantics (see [`SliceArg`]).
    ///
    /// ```
    /// use chunkwise::{Array, SliceArg};
    /// let x = Array::arange(0.0, 10.0, 1.0, 3).unwrap();
    /// let y = x.slice(&[SliceArg::Range { start: Some(8), stop: None, step: Some(-3) }]).unwrap();
    /// assert_eq!(y.compute::<i64>().unwrap().into_raw_vec_and_offset().0, vec![8, 5, 2]);
    /// ```
    pub fn slice(&self, args: &[SliceArg]) -> Result<Array> {
        let n = self.node()?;
        let items = normalize(&n.shape(), args)?;
        if items.len() == n.ndim()
            && items
                .iter()
                .zip(n.shape())
                .all(|(i, len)| i.is_identity(len))
        {
            return Ok(self.clone());
        }
        Ok(Array::from_node(Node::slice(n.clone(), items)?))
    }

    /// The same array in chunks of `chunks` (one size per axis).
    pub fn rechunk(&self, chunks: &[u64]) -> Result<Array> {
        let n = self.node()?;
        Ok(Array::from_node(Node::rechunk(
            n.clone(),
            grid(&n.shape(), chunks)?,
        )?))
    }

    /// The same array in the given explicit chunks (lengths per axis).
    pub fn rechunk_explicit(&self, chunks: &[Vec<u64>]) -> Result<Array> {
        let n = self.node()?;
        Ok(Array::from_node(Node::rechunk(
            n.clone(),
            ChunkGrid::explicit(&n.shape(), chunks)?,
        )?))
    }

    /// Axes permuted: output axis `i` is input axis `perm[i]`.
    pub fn transpose(&self, perm: &[usize]) -> Result<Array> {
        let n = self.node()?;
        Ok(Array::from_node(Node::transpose(n.clone(), perm.to_vec())?))
    }

    /// Axes reversed (`x.T`).
    pub fn t(&self) -> Result<Array> {
        let perm: Vec<usize> = (0..self.node()?.ndim()).rev().collect();
        self.transpose(&perm)
    }

    /// Joins arrays along an existing `axis` (dtypes promoted, chunks of other axes unified).
    pub fn concatenate(arrays: &[Array], axis: isize) -> Result<Array> {
        let nodes: Vec<&Node> = arrays.iter().map(Array::node).collect::<Result<_>>()?;
        let Some(first) = nodes.first() else {
            return Err(
                IrError::InvalidArgument("need at least one array to concatenate".into()).into(),
            );
        };
        let axis = norm_axis(axis, first.ndim())?;
        let dtype = nodes
            .iter()
            .map(|n| n.dtype())
            .reduce(DType::promote)
            .expect("nonempty");
        let mut out = Vec::with_capacity(nodes.len());
        for (k, n) in nodes.iter().enumerate() {
            if n.ndim() != first.ndim() {
                return Err(IrError::ShapeMismatch(format!(
                    "concatenate: array {k} has {} dimensions, array 0 has {}",
                    n.ndim(),
                    first.ndim()
                ))
                .into());
            }
            let mut axes = n.chunks().axes().to_vec();
            for (a, c) in axes.iter_mut().enumerate() {
                if a != axis {
                    if c.len() != first.chunks().axis(a).len() {
                        return Err(IrError::ShapeMismatch(format!(
                            "concatenate: array {k} has length {} on axis {a}, array 0 has {}",
                            c.len(),
                            first.chunks().axis(a).len()
                        ))
                        .into());
                    }
                    *c = first.chunks().axis(a).clone();
                }
            }
            let x = Array::from_node(Node::rechunk((*n).clone(), ChunkGrid::new(axes))?)
                .astype(dtype)?;
            out.push(x.node()?.clone());
        }
        Ok(Array::from_node(Node::concatenate(out, axis)?))
    }

    /// Joins arrays of equal shape along a new `axis`.
    pub fn stack(arrays: &[Array], axis: isize) -> Result<Array> {
        let Some(first) = arrays.first() else {
            return Err(IrError::InvalidArgument("need at least one array to stack".into()).into());
        };
        let nd = first.node()?.ndim() + 1;
        let axis = norm_axis(axis, nd)?;
        let mut args = vec![SliceArg::ALL; axis];
        args.push(SliceArg::NewAxis);
        let expanded = arrays
            .iter()
            .map(|a| a.slice(&args))
            .collect::<Result<Vec<_>>>()?;
        Array::concatenate(&expanded, axis as isize)
    }
}

impl From<std::ops::RangeFull> for SliceArgWrap {
    fn from(_: std::ops::RangeFull) -> Self {
        SliceArgWrap(SliceArg::ALL)
    }
}

/// Conversion helper so that slices can be written as `[s(..3), s(5), s(2..)]`.
#[derive(Clone, Copy, Debug)]
pub struct SliceArgWrap(pub SliceArg);

impl From<i64> for SliceArgWrap {
    fn from(i: i64) -> Self {
        SliceArgWrap(SliceArg::Index(i))
    }
}
impl From<std::ops::Range<i64>> for SliceArgWrap {
    fn from(r: std::ops::Range<i64>) -> Self {
        SliceArgWrap(SliceArg::Range {
            start: Some(r.start),
            stop: Some(r.end),
            step: None,
        })
    }
}
impl From<std::ops::RangeFrom<i64>> for SliceArgWrap {
    fn from(r: std::ops::RangeFrom<i64>) -> Self {
        SliceArgWrap(SliceArg::Range {
            start: Some(r.start),
            stop: None,
            step: None,
        })
    }
}
impl From<std::ops::RangeTo<i64>> for SliceArgWrap {
    fn from(r: std::ops::RangeTo<i64>) -> Self {
        SliceArgWrap(SliceArg::Range {
            start: None,
            stop: Some(r.end),
            step: None,
        })
    }
}

/// One slice item from a Rust range or integer: `s(..3)`, `s(2..)`, `s(1..7)`, `s(-1)`, `s(..)`.
/// Use [`SliceArg::Range`] directly for steps.
pub fn s(x: impl Into<SliceArgWrap>) -> SliceArg {
    x.into().0
}
