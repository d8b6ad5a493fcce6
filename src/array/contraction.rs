//! Contractions: `tensordot` and `matmul`, lowered to one contracting blockwise layer.

use super::{Array, SYMS};
use crate::error::Result;
use chunkwise_ir::{Blockwise, ChunkGrid, IrError, Kernel, Node, Sym};

impl Array {
    /// Contracts `axes_a` of `self` with `axes_b` of `b` (NumPy `tensordot`): the result has
    /// the remaining axes of `self` then those of `b`.
    pub fn tensordot(&self, b: &Array, axes_a: &[usize], axes_b: &[usize]) -> Result<Array> {
        let (na, nb) = (self.node()?, b.node()?);
        if axes_a.len() != axes_b.len() {
            return Err(IrError::ShapeMismatch(format!(
                "tensordot: {} axes of a against {} axes of b",
                axes_a.len(),
                axes_b.len()
            ))
            .into());
        }
        let ia: Vec<Sym> = SYMS[..na.ndim()].to_vec();
        let mut ib: Vec<Sym> = SYMS[na.ndim()..na.ndim() + nb.ndim()].to_vec();
        for (i, (&x, &y)) in axes_a.iter().zip(axes_b).enumerate() {
            if x >= na.ndim() || y >= nb.ndim() {
                return Err(
                    IrError::InvalidAxis(format!("tensordot axes {x}/{y} out of range")).into(),
                );
            }
            if axes_a[..i].contains(&x) || axes_b[..i].contains(&y) {
                return Err(IrError::InvalidAxis("tensordot axes repeat".into()).into());
            }
            ib[y] = ia[x];
        }
        let contracted: Vec<Sym> = axes_a.iter().map(|&x| ia[x]).collect();
        let out: Vec<Sym> = ia
            .iter()
            .chain(&ib)
            .filter(|s| !contracted.contains(s))
            .copied()
            .collect();
        contract(na, &ia, nb, &ib, out)
    }

    /// Matrix product with NumPy `matmul` semantics for 1-d and 2-d operands, and stacks of
    /// matrices with equal leading dimensions.
    pub fn matmul(&self, b: &Array) -> Result<Array> {
        let (na, nb) = (self.node()?, b.node()?);
        let (da, db) = (na.ndim(), nb.ndim());
        if da == 0 || db == 0 {
            return Err(IrError::ShapeMismatch(
                "matmul: operands must have at least one dimension".into(),
            )
            .into());
        }
        let k = b'k';
        let (ia, ib, out): (Vec<Sym>, Vec<Sym>, Vec<Sym>) = match (da, db) {
            (1, 1) => (vec![k], vec![k], vec![]),
            (1, 2) => (vec![k], vec![k, b'j'], vec![b'j']),
            (2, 1) => (vec![b'i', k], vec![k], vec![b'i']),
            _ if da == db => {
                let batch: Vec<Sym> = SYMS[..da - 2].to_vec();
                if na.shape()[..da - 2] != nb.shape()[..db - 2] {
                    return Err(IrError::ShapeMismatch(format!(
                        "matmul: stack dimensions {:?} and {:?} differ (broadcasting stacks is not supported)",
                        &na.shape()[..da - 2],
                        &nb.shape()[..db - 2]
                    ))
                    .into());
                }
                let (i, j, kk) = (b'I', b'J', b'K');
                let mut ia = batch.clone();
                ia.extend([i, kk]);
                let mut ib = batch.clone();
                ib.extend([kk, j]);
                let mut out = batch;
                out.extend([i, j]);
                (ia, ib, out)
            }
            _ => {
                return Err(IrError::ShapeMismatch(format!(
                    "matmul of {da}-d and {db}-d arrays is not supported"
                ))
                .into())
            }
        };
        contract(na, &ia, nb, &ib, out)
    }
}

fn contract(na: &Node, ia: &[Sym], nb: &Node, ib: &[Sym], out: Vec<Sym>) -> Result<Array> {
    // Contracted and batch axes of b take a's chunks.
    let mut axes = nb.chunks().axes().to_vec();
    for (j, s) in ib.iter().enumerate() {
        if let Some(i) = ia.iter().position(|t| t == s) {
            let (ca, cb) = (na.chunks().axis(i), nb.chunks().axis(j));
            if ca.len() != cb.len() {
                return Err(IrError::ShapeMismatch(format!(
                    "contracted axes differ in length: {} (axis {i} of a) vs {} (axis {j} of b); shapes {:?} and {:?}",
                    ca.len(),
                    cb.len(),
                    na.shape(),
                    nb.shape()
                ))
                .into());
            }
            axes[j] = ca.clone();
        }
    }
    let b2 = Node::rechunk(nb.clone(), ChunkGrid::new(axes))?;
    Ok(Array::from_node(Node::blockwise(Blockwise {
        out_ind: out,
        inputs: vec![(na.clone(), ia.to_vec()), (b2, ib.to_vec())],
        new_axes: vec![],
        kernel: Kernel::Contract,
    })?))
}
