//! Slice and rechunk kernels: an output block assembled from pieces of input blocks.

use crate::KernelError;
use chunkwise_ir::slice::Piece;
use chunkwise_ir::{with_array, DType, DynArray, Element, Scalar};
use ndarray::{ArrayD, Axis, IxDyn, Slice};

fn piece_slice(p: &Piece) -> Slice {
    let n = (p.out.end - p.out.start) as isize;
    let s = p.in_start as isize;
    if p.step > 0 {
        Slice::new(s, Some(s + (n - 1) * p.step as isize + 1), p.step as isize)
    } else {
        Slice::new(s + (n - 1) * p.step as isize, Some(s + 1), p.step as isize)
    }
}

/// Assembles an output block. `pieces[ax]` lists, per input axis, the pieces along that
/// axis; `inputs` are the input blocks for the C-order product of the piece lists; `items`
/// tells which input axes are dropped (integer index) and where new axes go.
pub fn gather(
    pieces: &[Vec<Piece>],
    inputs: &[&DynArray],
    dtype: DType,
    out_shape_in_axes: &[usize],
    finish: impl Fn(DynArray) -> DynArray,
) -> Result<DynArray, KernelError> {
    let expected: usize = pieces.iter().map(Vec::len).product();
    if inputs.len() != expected {
        return Err(KernelError::BadInput(format!(
            "gather expects {expected} input blocks, got {}",
            inputs.len()
        )));
    }
    // An empty output block reads nothing.
    let Some(&first) = inputs.first() else {
        return Ok(finish(DynArray::full(
            dtype,
            out_shape_in_axes,
            Scalar::I64(0),
        )));
    };
    // One input: a (strided) view of it, no copy.
    if expected == 1 {
        return with_array!(first, a => {
            let mut v = a.clone();
            for (ax, p) in pieces.iter().enumerate() {
                v.slice_axis_inplace(Axis(ax), piece_slice(&p[0]));
            }
            Ok(finish(Element::wrap(v)))
        });
    }
    with_array!(first, a0 => {
        let mut out = ArrayD::from_elem(IxDyn(out_shape_in_axes), a0.first().copied().unwrap_or_default());
        let mut idx = vec![0usize; pieces.len()];
        for input in inputs.iter() {
            let src = Element::unwrap_ref(input).ok_or_else(|| {
                KernelError::BadInput("gather inputs differ in dtype".into())
            })?;
            let mut s = src.view();
            let mut d = out.view_mut();
            for (ax, p) in pieces.iter().enumerate() {
                let pc = &p[idx[ax]];
                s.slice_axis_inplace(Axis(ax), piece_slice(pc));
                d.slice_axis_inplace(Axis(ax), Slice::from(pc.out.start as usize..pc.out.end as usize));
            }
            if s.shape() != d.shape() {
                return Err(KernelError::BadInput(format!(
                    "gather piece of shape {:?} does not fit {:?}",
                    s.shape(),
                    d.shape()
                )));
            }
            d.assign(&s);
            // Next piece combination, C order.
            for ax in (0..pieces.len()).rev() {
                idx[ax] += 1;
                if idx[ax] < pieces[ax].len() {
                    break;
                }
                idx[ax] = 0;
            }
        }
        Ok(finish(Element::wrap(out.into_shared())))
    })
}

/// Joins the blocks of an array cut into `grid` (all blocks, C order) into one array.
pub fn assemble(
    grid: &chunkwise_ir::ChunkGrid,
    dtype: DType,
    blocks: Vec<DynArray>,
) -> Result<DynArray, KernelError> {
    if blocks.len() as u64 != grid.total_blocks() {
        return Err(KernelError::BadInput(format!(
            "{} blocks for a grid of {}",
            blocks.len(),
            grid.total_blocks()
        )));
    }
    if blocks.len() == 1 {
        return Ok(blocks.into_iter().next().expect("one block"));
    }
    let nb = grid.num_blocks();
    let shape: Vec<usize> = grid.shape().iter().map(|&s| s as usize).collect();
    let mut coords = vec![0u64; nb.len()];
    chunkwise_ir::with_dtype!(dtype, T => {
        let mut out = ArrayD::<T>::default(IxDyn(&shape));
        for (i, b) in blocks.iter().enumerate() {
            chunkwise_ir::grid::unravel_into(i as u64, &nb, &mut coords);
            let src = T::unwrap_ref(b).ok_or_else(|| {
                KernelError::BadInput(format!("a {} block in a {dtype} array", b.dtype()))
            })?;
            let mut view = out.view_mut();
            for (ax, r) in grid.block_ranges(&coords).iter().enumerate() {
                view.slice_axis_inplace(Axis(ax), Slice::from(r.start as usize..r.end as usize));
            }
            view.assign(src);
        }
        Ok(DynArray::new(out))
    })
}
