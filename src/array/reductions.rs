//! Reductions: sum, mean, variance, min/max, any/all and arg-reductions over axes.

use super::{norm_axis, Array};
use crate::error::Result;
use chunkwise_ir::{Node, ReduceOp};

/// Dask's default: blocks combined per reduction tree node.
pub const SPLIT_EVERY: u64 = 4;

impl Array {
    /// A reduction over `axes` (`None`: all axes; negative axes count from the end).
    pub fn reduce(
        &self,
        op: ReduceOp,
        axes: Option<&[isize]>,
        keepdims: bool,
        split_every: u64,
    ) -> Result<Array> {
        let n = self.node()?;
        let axes: Vec<usize> = match axes {
            None => (0..n.ndim()).collect(),
            Some(a) => a
                .iter()
                .map(|&x| norm_axis(x, n.ndim()))
                .collect::<Result<_>>()?,
        };
        Ok(Array::from_node(Node::reduction(
            n.clone(),
            op,
            &axes,
            keepdims,
            split_every,
        )?))
    }

    /// Sum (integers and bool give i64).
    pub fn sum(&self, axes: Option<&[isize]>, keepdims: bool) -> Result<Array> {
        self.reduce(ReduceOp::Sum, axes, keepdims, SPLIT_EVERY)
    }
    /// Product.
    pub fn prod(&self, axes: Option<&[isize]>, keepdims: bool) -> Result<Array> {
        self.reduce(ReduceOp::Prod, axes, keepdims, SPLIT_EVERY)
    }
    /// Mean.
    pub fn mean(&self, axes: Option<&[isize]>, keepdims: bool) -> Result<Array> {
        self.reduce(ReduceOp::Mean, axes, keepdims, SPLIT_EVERY)
    }
    /// Variance with `ddof` delta degrees of freedom.
    pub fn var(&self, axes: Option<&[isize]>, keepdims: bool, ddof: u32) -> Result<Array> {
        self.reduce(ReduceOp::Var { ddof }, axes, keepdims, SPLIT_EVERY)
    }
    /// Standard deviation with `ddof` delta degrees of freedom.
    pub fn std(&self, axes: Option<&[isize]>, keepdims: bool, ddof: u32) -> Result<Array> {
        self.reduce(ReduceOp::Std { ddof }, axes, keepdims, SPLIT_EVERY)
    }
    /// Minimum (NaN propagates; an empty axis is an error).
    pub fn min(&self, axes: Option<&[isize]>, keepdims: bool) -> Result<Array> {
        self.reduce(ReduceOp::Min, axes, keepdims, SPLIT_EVERY)
    }
    /// Maximum (NaN propagates; an empty axis is an error).
    pub fn max(&self, axes: Option<&[isize]>, keepdims: bool) -> Result<Array> {
        self.reduce(ReduceOp::Max, axes, keepdims, SPLIT_EVERY)
    }
    /// Whether any element is nonzero.
    pub fn any(&self, axes: Option<&[isize]>, keepdims: bool) -> Result<Array> {
        self.reduce(ReduceOp::Any, axes, keepdims, SPLIT_EVERY)
    }
    /// Whether all elements are nonzero.
    pub fn all(&self, axes: Option<&[isize]>, keepdims: bool) -> Result<Array> {
        self.reduce(ReduceOp::All, axes, keepdims, SPLIT_EVERY)
    }
    /// Index of the minimum along `axis`, or in the flattened array for `None` (NumPy).
    pub fn argmin(&self, axis: Option<isize>) -> Result<Array> {
        self.arg(ReduceOp::ArgMin, axis)
    }
    /// Index of the maximum along `axis`, or in the flattened array for `None` (NumPy).
    pub fn argmax(&self, axis: Option<isize>) -> Result<Array> {
        self.arg(ReduceOp::ArgMax, axis)
    }
    fn arg(&self, op: ReduceOp, axis: Option<isize>) -> Result<Array> {
        match axis {
            None => self.reduce(op, None, false, SPLIT_EVERY),
            Some(a) => self.reduce(op, Some(&[a]), false, SPLIT_EVERY),
        }
    }
}
